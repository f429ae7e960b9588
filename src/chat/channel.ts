/**
 * A chat channel (Telegram, WeCom app or robot, console). The hub hands it rendered
 * notifications; interactive channels also route users' commands and taps to the engine API.
 */
import type { Notification } from './notify.ts';

/**
 * What one recipient of a channel accepts, so the hub keeps its queue (where priorities apply)
 * instead of overrunning the platform (where a 429 would make everything wait, confirms included).
 */
export interface ChannelRate {
  /** Messages per second (Telegram: about 1 per chat). */
  perSecond?: number;
  /** Messages per minute (Telegram groups: 20; WeCom robot: 20). */
  perMinute?: number;
}

export interface Channel {
  readonly name: string;
  /** Whether the channel can show confirm buttons (else the text tells how to confirm). */
  readonly interactive: boolean;
  /** Limits per recipient; none means the hub sends as fast as the channel takes them. */
  rate?(target?: string): ChannelRate | undefined;
  /**
   * Recipients that fail and are limited independently (Telegram chats). The hub keeps one queue
   * per recipient, so a chat that blocked the bot or is being throttled delays nobody else.
   * Omitted: the channel is one recipient.
   */
  targets?(): string[];
  /** False while the channel cannot deliver at all (not connected yet): the hub holds its queues. */
  ready?(): boolean;
  /** Must not wait for the remote side: the guard starts without waiting for any channel. */
  start(): Promise<void>;
  /**
   * Stops taking commands and taps (the first step of a shutdown, before queued messages drain):
   * a stopping guard must not act on input any more. Telegram stops polling; WeCom closes its
   * callback server. stop() implies it.
   */
  stopReceiving?(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Sends one notification (to `target` when the channel has targets); returns a reference to the
   * sent message when it can be edited later. Rejects when it could not be delivered.
   */
  send(n: Notification, target?: string): Promise<string | undefined>;
  /** Shows a picture (a PNG seal chart) after a notification; channels without pictures omit it. */
  sendPhoto?(png: Uint8Array, caption: string, silent: boolean, target?: string): Promise<void>;
  /** Replaces a confirm message (buttons removed) with the outcome text. */
  settleAction?(actionId: string, ref: string, text: string): Promise<void>;
}
