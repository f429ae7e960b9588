/**
 * Is this snapshot a limit seal (封板), and how big is the seal (封单)? rules.md §3.2.
 *
 * The book test alone is not enough: call auctions show an indicative price with bid1 == ask1 and
 * cancellable orders, and an old or yesterday's quote says nothing about now. So the tradeable
 * predicates (`sealedUp`/`sealedDown`) also gate on the phase and on freshness.
 */
import { EXCHANGE_OFFSET_MS } from './time.ts';
import type { Level, Phase, Snapshot, Ticks, Yuan } from './types.ts';

/** A snapshot whose exchange time is this far ahead of the market clock is treated as bogus. */
const FUTURE_SKEW_MS = 5_000;
const DEFAULT_MAX_AGE_MS = 30_000;
const DAY_MS = 86_400_000;

// isFresh runs for every symbol on every poll; formatting a date string each time would dominate
// the step, so compare exchange day numbers and remember the last `today` parsed.
let memoToday = '';
let memoDay = NaN;
function dayNumber(today: string): number {
  if (today !== memoToday) {
    memoDay = Date.parse(`${today}T00:00:00Z`) / DAY_MS;
    memoToday = today;
  }
  return memoDay;
}

/**
 * Limit-up seal visible in the book: last == bid1 == limitUp, something on bid1, nothing offered.
 * In continuous trading a bid and an ask can never rest at the same price, so an empty ask side at
 * the limit is the whole test; `last` guards against the pre-first-trade zeros of some feeds.
 */
export function bookSealedUp(s: Snapshot, limitUp: Ticks): boolean {
  const bid1 = s.bids[0];
  return (
    s.status === 'normal' &&
    bid1 !== undefined &&
    s.last === limitUp &&
    bid1[0] === limitUp &&
    bid1[1] > 0 &&
    s.asks.length === 0
  );
}

/** Limit-down seal: last == ask1 == limitDown, something on ask1, nobody bidding. */
export function bookSealedDown(s: Snapshot, limitDown: Ticks): boolean {
  const ask1 = s.asks[0];
  return (
    s.status === 'normal' &&
    ask1 !== undefined &&
    s.last === limitDown &&
    ask1[0] === limitDown &&
    ask1[1] > 0 &&
    s.bids.length === 0
  );
}

/** floor(price × shares) in yuan. Integer maths: ticks × shares stays far below 2^53 for any real book. */
function levelAmount(level: Level | undefined, decimals: 2 | 3): Yuan {
  if (level === undefined) return 0;
  const raw = level[0] * level[1];
  const unit = decimals === 2 ? 100 : 1000;
  return (raw - (raw % unit)) / unit;
}

/** Seal amount on the buy side: bid1 price × bid1 shares, floored to the yuan; 0 with no bid. */
export function sealAmountUp(s: Snapshot): Yuan {
  return levelAmount(s.bids[0], s.decimals);
}

/** Seal amount on the sell side (limit-down): ask1 price × ask1 shares; 0 with no ask. */
export function sealAmountDown(s: Snapshot): Yuan {
  return levelAmount(s.asks[0], s.decimals);
}

export interface SealGate {
  /** Market-clock now, epoch ms. */
  now: number;
  /** Phase at `now`. */
  phase: Phase;
  /** Today's trading date in exchange time, YYYY-MM-DD. */
  today: string;
  /** Oldest acceptable snapshot age by the market clock; default 30 s. */
  maxAgeMs?: number;
}

/** Dated today (exchange time), not older than maxAgeMs, and not from the future beyond a small skew. */
export function isFresh(s: Snapshot, gate: SealGate): boolean {
  const age = gate.now - s.ts;
  if (age > (gate.maxAgeMs ?? DEFAULT_MAX_AGE_MS)) return false;
  if (age < -FUTURE_SKEW_MS) return false;
  return Math.floor((s.ts + EXCHANGE_OFFSET_MS) / DAY_MS) === dayNumber(gate.today);
}

/** A tradeable limit-up seal: the book shows it, trading is continuous, and the quote is fresh. */
export function sealedUp(s: Snapshot, limitUp: Ticks, gate: SealGate): boolean {
  return gate.phase === 'continuous' && bookSealedUp(s, limitUp) && isFresh(s, gate);
}

/** A limit-down seal under the same gates as `sealedUp`. */
export function sealedDown(s: Snapshot, limitDown: Ticks, gate: SealGate): boolean {
  return gate.phase === 'continuous' && bookSealedDown(s, limitDown) && isFresh(s, gate);
}
