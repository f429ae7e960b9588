/**
 * A chat channel (Telegram, WeCom app or robot, console). The hub hands it rendered
 * notifications; interactive channels also route users' commands and taps to the engine API.
 */
import type { Notification } from './notify.ts';

export interface Channel {
  readonly name: string;
  /** Whether the channel can show confirm buttons (else the text tells how to confirm). */
  readonly interactive: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Sends one notification; returns a reference to the sent message when it can be edited later. */
  send(n: Notification): Promise<string | undefined>;
  /** Shows a picture (a PNG seal chart) after a notification; channels without pictures omit it. */
  sendPhoto?(png: Uint8Array, caption: string, silent: boolean): Promise<void>;
  /** Replaces a confirm message (buttons removed) with the outcome text. */
  settleAction?(actionId: string, ref: string, text: string): Promise<void>;
}
