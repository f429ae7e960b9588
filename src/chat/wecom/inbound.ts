/**
 * The boundary between the WeCom channel and the rest of SealGuard: the callback server turns
 * authenticated, de-duplicated WeCom deliveries into these calls; the command layer implements them.
 */
export interface WecomInbound {
  /** A text message from an allowed user, to be run as a command; returns the reply text ('' = no reply). */
  onText(userId: string, text: string): Promise<string>;
  /**
   * A template_card button click: taskId = pending action id, key = the button key ("sell" | "hold");
   * returns the text to put on the card (update_template_card replace_name).
   */
  onButton(userId: string, taskId: string, key: string): Promise<string>;
}
