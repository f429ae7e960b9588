import { createHash, randomBytes } from 'node:crypto';

/**
 * The client order id is a pure function of (trading day, account, symbol, seal segment): however
 * often a trigger repeats, a confirm is tapped, or the process restarts, a segment can only ever
 * produce this one id, and the broker side (bridge idempotency store, paper, easytrader map)
 * refuses a second order under it. Fits the bridge's [A-Za-z0-9_-]{8,32}.
 */
export function clientOrderId(day: string, account: string, symbol: string, segment: number): string {
  const acct = accountTag(account);
  const [code, ex] = symbol.split('.');
  return `sg${day.replaceAll('-', '')}${code}${(ex ?? 'X')[0]}s${segment}${acct}`;
}

/**
 * The account's 4 hex digits, hashed once per account. The id is built on the sell path, ahead
 * of the intent write and the POST, and runs there a few times a day, cold: a fresh sha256 Hash
 * (with node's deprecation-option check in its constructor) showed as 0.1-0.25 ms per sell in
 * the poll-to-POST profile (a sampling profile, which inflates cold code; issue 15 item 4).
 */
const accountTags = new Map<string, string>();
function accountTag(account: string): string {
  let tag = accountTags.get(account);
  if (tag === undefined) {
    tag = createHash('sha256').update(account).digest('hex').slice(0, 4);
    // A process serves one account or a few: the bound only keeps a bug from growing it.
    if (accountTags.size >= 64) accountTags.clear();
    accountTags.set(account, tag);
  }
  return tag;
}

/** Short ASCII ids for pending actions: they travel in Telegram callback_data (64 bytes max). */
export function newActionId(): string {
  return randomBytes(6).toString('base64url');
}
