/**
 * How each quote source spells a security. Canonical ids ("002116.SZ") are the only form used
 * inside SealGuard; the source spellings exist only in request URLs and response keys.
 */
import { tryParseSymbol } from '../domain/symbols.ts';
import type { Exchange, Security } from '../domain/types.ts';

const PREFIX: Record<Exchange, string> = { SH: 'sh', SZ: 'sz', BJ: 'bj' };
const EXCHANGE_OF_PREFIX: Record<string, Exchange> = { sh: 'SH', sz: 'SZ', bj: 'BJ' };

/** Tencent and Sina share the `sz002116` spelling. */
export function prefixedCode(sec: Security): string {
  return PREFIX[sec.exchange] + sec.code;
}

/**
 * EastMoney `secid`: market 1 is Shanghai, 0 is Shenzhen and also Beijing (quotes.md §3.1, §3.5.6).
 */
export function eastmoneySecid(sec: Security): string {
  return (sec.exchange === 'SH' ? '1.' : '0.') + sec.code;
}

// Response keys repeat every poll; resolving each one through the symbol rules once is enough.
const byPrefixed = new Map<string, Security | null>();

/** `sz002116` -> its Security, or null when the key is not a stock code SealGuard knows. */
export function securityFromPrefixed(key: string): Security | null {
  let sec = byPrefixed.get(key);
  if (sec === undefined) {
    const ex = EXCHANGE_OF_PREFIX[key.slice(0, 2)];
    const code = key.slice(2);
    sec = ex && /^\d{6}$/.test(code) ? tryParseSymbol(`${code}.${ex}`) : null;
    if (sec && sec.exchange !== ex) sec = null;
    if (byPrefixed.size > 50_000) byPrefixed.clear();
    byPrefixed.set(key, sec);
  }
  return sec;
}

const byId = new Map<string, Security | null>();

/** Canonical id -> Security (cached), or null when it is not a valid canonical id. */
export function securityOf(id: string): Security | null {
  let sec = byId.get(id);
  if (sec === undefined) {
    const parsed = tryParseSymbol(id);
    sec = parsed && parsed.id === id ? parsed : null;
    if (byId.size > 50_000) byId.clear();
    byId.set(id, sec);
  }
  return sec;
}
