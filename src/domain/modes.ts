/**
 * The guard's vocabulary for what happens on a trigger, defined once: config, settings, chat and
 * the engine all import these, so adding or renaming a mode is one edit the compiler follows.
 */

/** auto sells, confirm asks first, alert only tells. */
export const MODES = ['auto', 'confirm', 'alert'] as const;
export type Mode = (typeof MODES)[number];

/** What a confirm that nobody answered in time does. */
export const CONFIRM_DEFAULTS = ['sell', 'hold'] as const;
export type ConfirmDefault = (typeof CONFIRM_DEFAULTS)[number];

export const DEFAULT_MODE: Mode = 'confirm';
// hold: a lapsed confirm means the user did not agree, and a sale cannot be undone (T+1: shares
// sold today cannot be bought back and sold again until tomorrow). Users who want the sale without
// answering choose DEFAULT_MODE=auto or CONFIRM_DEFAULT=sell knowingly.
export const DEFAULT_CONFIRM: ConfirmDefault = 'hold';

export function isMode(s: string): s is Mode {
  return (MODES as readonly string[]).includes(s);
}
