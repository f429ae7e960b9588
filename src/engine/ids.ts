import { createHash, randomBytes } from 'node:crypto';

/**
 * The client order id is a pure function of (trading day, account, symbol, seal segment): however
 * often a trigger repeats, a confirm is tapped, or the process restarts, a segment can only ever
 * produce this one id, and the broker side (bridge idempotency store, paper, easytrader map)
 * refuses a second order under it. Fits the bridge's [A-Za-z0-9_-]{8,32}.
 */
export function clientOrderId(day: string, account: string, symbol: string, segment: number): string {
  const acct = createHash('sha256').update(account).digest('hex').slice(0, 4);
  const [code, ex] = symbol.split('.');
  return `sg${day.replaceAll('-', '')}${code}${(ex ?? 'X')[0]}s${segment}${acct}`;
}

/** Short ASCII ids for pending actions: they travel in Telegram callback_data (64 bytes max). */
export function newActionId(): string {
  return randomBytes(6).toString('base64url');
}
