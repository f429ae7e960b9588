/**
 * Follow-through (issue 13): what happens to a seal segment's sell after it was placed, as a pure
 * state machine. The engine driver (src/engine/followThrough.ts) feeds it the current attempt's
 * state at the broker, the market facts and the time, persists the chain it returns, and only then
 * carries out the one command it asked for.
 *
 *   resting ──(filled)──────────────────────────────────────────────▶ done
 *   resting ──(not filled REPLACE_AFTER_MS after placement, board no longer sealed)──▶ cancelling
 *   cancelling ──(broker says final: cancelled / partially cancelled, filled quantity known)──▶
 *       cancelled ──(best bid, floor, cage)──▶ resting (attempt n+1) … ──▶ done | exhausted
 *
 * Why a replacement only after the previous order is final: before that the broker may still
 * fill the old order, and two live sells for the same shares could sell them twice (or be refused
 * for want of shares and leave the user unsure what went through). A cancel is never assumed to
 * have worked: only a final state read back from the broker moves the chain on.
 *
 * Why a re-seal leaves an order at the limit-up resting: it then sits first in the ask queue at
 * the best price of the day; cancelling it would give up both.
 */
import { maxSellQuantity } from './lots.ts';
import { raiseIntoSellCage } from './priceCage.ts';
import type { Board, Ticks } from './types.ts';

export type FollowPhase = 'resting' | 'cancelling' | 'cancelled' | 'done' | 'exhausted' | 'stopped';

export type FollowStepKind =
  'placed' | 'broke' | 'cancelRequested' | 'cancelled' | 'replaced' | 'filled' | 'exhausted' | 'stopped';

export interface FollowStep {
  at: number;
  kind: FollowStepKind;
  attempt: number;
  /** Shares concerned: placed/replaced quantity, cancelled remainder, filled total, shares left. */
  qty?: number;
  price?: Ticks;
  note?: string;
}

export interface FollowFill {
  attempt: number;
  qty: number;
  /** Average fill price in ticks (rounded to the tick), when the broker gave one. */
  price: Ticks | null;
}

export interface FollowChain {
  /** Client order id of attempt 0 (the segment's sell); the chain's key. */
  rootId: string;
  symbol: string;
  day: string;
  segment: number;
  /** Shares the segment's sell was for. */
  totalQty: number;
  /** 0 = the original sell, n = the n-th replacement. */
  attempt: number;
  currentId: string;
  /** Quantity and price of the current attempt. */
  currentQty: number;
  currentPrice: Ticks;
  /** When the current attempt was placed (its intent written), market ms. */
  placedAt: number;
  /** Fills of attempts that are final. */
  fills: FollowFill[];
  phase: FollowPhase;
  cancelSentAt?: number;
  cancelTries?: number;
  steps: FollowStep[];
}

/** The current attempt as the broker last reported it; null while unknown (not yet found). */
export interface AttemptFacts {
  status: 'open' | 'pending_cancel' | 'filled' | 'cancelled' | 'rejected';
  filledQty: number;
  avgFillPrice: Ticks | null;
  /** Why a rejected attempt was refused. */
  reason?: string;
}

export interface MarketFacts {
  board: Board;
  /** Continuous trading now (a cancel or a new order means nothing in a break or auction). */
  continuous: boolean;
  /** The book shows a seal at the limit-up. */
  sealed: boolean;
  bid1: Ticks | null;
  /** The exchange's sell reference (priceCage.sellReference), null when the book says nothing. */
  reference: Ticks | null;
  limitUp: Ticks;
  limitDown: Ticks;
}

export interface FollowConfig {
  /** Off: the order rests and nothing more is sent (`/trigger <code> chase off`, alert mode). */
  chase: boolean;
  replaceAfterMs: number;
  replaceMax: number;
  /** Lowest price a replacement may have (ticks); null: the limit-down. */
  floor: Ticks | null;
}

export interface FollowInput {
  now: number;
  attempt: AttemptFacts | null;
  market: MarketFacts | null;
  config: FollowConfig;
}

export type FollowCommand =
  | { kind: 'none' }
  | { kind: 'cancel'; id: string }
  | { kind: 'place'; id: string; attempt: number; quantity: number; price: Ticks };

export interface FollowDecision {
  chain: FollowChain;
  command: FollowCommand;
  /** True when the chain changed and must be persisted (before the command is carried out). */
  changed: boolean;
}

/** How long a cancel may go unconfirmed before it is asked again (a second cancel is harmless). */
export const CANCEL_RETRY_MS = 5000;
export const CANCEL_TRIES = 5;
export const CANCEL_SLOW_RETRY_MS = 30_000;

export const TERMINAL: ReadonlySet<FollowPhase> = new Set(['done', 'exhausted', 'stopped']);

/** Attempt n's client order id: the segment's id plus the attempt, so a restart derives the same one. */
export function attemptId(rootId: string, attempt: number): string {
  if (!Number.isSafeInteger(attempt) || attempt < 0) throw new RangeError(`bad attempt ${attempt}`);
  if (attempt === 0) return rootId;
  const id = `${rootId}r${attempt}`;
  // The bridge protocol allows 32 characters; the segment ids are 24-27 long.
  if (id.length > 32) throw new RangeError(`client order id ${id} is longer than 32 characters`);
  return id;
}

export function startChain(o: {
  rootId: string;
  symbol: string;
  day: string;
  segment: number;
  quantity: number;
  price: Ticks;
  placedAt: number;
}): FollowChain {
  return {
    rootId: o.rootId,
    symbol: o.symbol,
    day: o.day,
    segment: o.segment,
    totalQty: o.quantity,
    attempt: 0,
    currentId: o.rootId,
    currentQty: o.quantity,
    currentPrice: o.price,
    placedAt: o.placedAt,
    fills: [],
    phase: 'resting',
    steps: [{ at: o.placedAt, kind: 'placed', attempt: 0, qty: o.quantity, price: o.price }],
  };
}

export function filledBefore(c: FollowChain): number {
  return c.fills.reduce((n, f) => n + f.qty, 0);
}

/** Shares still to sell: the segment's quantity less every fill, the current attempt's included. */
export function remaining(c: FollowChain, current: AttemptFacts | null): number {
  return c.totalQty - filledBefore(c) - (current?.filledQty ?? 0);
}

/**
 * The replacement's price: the best bid, never below the floor (and never below the limit-down),
 * raised into the price cage, never above the limit-up. With no bid at all it is the floor: the
 * order then waits for buyers at the lowest price the user accepts.
 */
export function replacementPrice(m: MarketFacts, floor: Ticks | null): Ticks {
  const low = Math.max(floor ?? m.limitDown, m.limitDown);
  const base = Math.max(m.bid1 ?? low, low);
  return Math.min(raiseIntoSellCage(m.board, m.reference, base), m.limitUp);
}

export function decide(chain: FollowChain, input: FollowInput): FollowDecision {
  const c: FollowChain = { ...chain, fills: [...chain.fills], steps: [...chain.steps] };
  const same = (): FollowDecision => ({ chain, command: { kind: 'none' }, changed: false });
  let dirty = false;
  const step = (s: Omit<FollowStep, 'at' | 'attempt'>): void => {
    dirty = true;
    c.steps.push({ at: input.now, attempt: c.attempt, ...s });
  };
  const to = (command: FollowCommand = { kind: 'none' }): FollowDecision => ({
    chain: c,
    command,
    changed: true,
  });
  if (TERMINAL.has(c.phase)) return same();
  const a = input.attempt;
  const { config: cfg, market: m, now } = input;

  // The current attempt is final: account for its fill first, whatever the phase.
  if (c.phase !== 'cancelled' && a && a.status !== 'open' && a.status !== 'pending_cancel') {
    const left = remaining(c, a);
    if (a.filledQty > 0 || a.status !== 'rejected')
      c.fills.push({ attempt: c.attempt, qty: a.filledQty, price: a.avgFillPrice });
    if (left <= 0) {
      c.phase = 'done';
      step({ kind: 'filled', qty: c.totalQty });
      return to();
    }
    if (a.status === 'rejected') {
      c.phase = 'stopped';
      step({ kind: 'stopped', qty: left, note: `refused by the broker: ${a.reason ?? 'rejected'}` });
      return to();
    }
    if (c.phase === 'resting' && a.status !== 'filled') {
      // Ended without our cancel (by hand at the broker, or by the broker): the user's business.
      c.phase = 'stopped';
      step({ kind: 'stopped', qty: left, note: 'cancelled at the broker, not by SealGuard' });
      return to();
    }
    c.phase = 'cancelled';
    delete c.cancelSentAt;
    delete c.cancelTries;
    step({ kind: 'cancelled', qty: left });
    // Falls through to the replacement in the same step when the market allows.
  }

  if (c.phase === 'resting') {
    if (!a || !m || !m.continuous) return same();
    // The break is noted when first seen (the user reads "broke at 10:48:02"), chase or not.
    if (c.attempt === 0 && !m.sealed && !c.steps.some((s) => s.kind === 'broke'))
      step({ kind: 'broke', ...(m.bid1 !== null ? { price: m.bid1 } : {}) });
    const rest = (): FollowDecision => (dirty ? to() : same());
    if (!cfg.chase || now - c.placedAt < cfg.replaceAfterMs || m.sealed) return rest();
    // Chasing only pays when the replacement would be priced lower: a sell at or below the best
    // bid is being matched (or the quote lags it), and one already at the floor can go no lower;
    // cancelling either would only lose its place in the queue.
    if (replacementPrice(m, cfg.floor) >= c.currentPrice) return rest();
    if (c.attempt >= cfg.replaceMax) {
      c.phase = 'exhausted';
      step({ kind: 'exhausted', qty: remaining(c, a), price: c.currentPrice });
      return to();
    }
    c.phase = 'cancelling';
    c.cancelSentAt = now;
    c.cancelTries = 1;
    if (!c.steps.some((s) => s.kind === 'broke' && s.attempt === c.attempt))
      step({ kind: 'broke', ...(m.bid1 !== null ? { price: m.bid1 } : {}) });
    step({ kind: 'cancelRequested', qty: c.currentQty - a.filledQty });
    return to({ kind: 'cancel', id: c.currentId });
  }

  if (c.phase === 'cancelling') {
    // Not final yet (or not found): only the broker's answer moves on. A cancel lost on the way
    // is asked again soon; one the broker is working on (pending_cancel), or one asked
    // CANCEL_TRIES times already, now and then (a repeated cancel is harmless: BRIDGE-PROTOCOL.md).
    const slow = (a && a.status === 'pending_cancel') || (c.cancelTries ?? 0) >= CANCEL_TRIES;
    if (now - (c.cancelSentAt ?? 0) < (slow ? CANCEL_SLOW_RETRY_MS : CANCEL_RETRY_MS)) return same();
    c.cancelSentAt = now;
    c.cancelTries = (c.cancelTries ?? 0) + 1;
    return to({ kind: 'cancel', id: c.currentId });
  }

  // cancelled: the previous attempt is final; the remainder waits for a market to sell into.
  const left = remaining(c, null);
  if (!cfg.chase) {
    c.phase = 'stopped';
    step({ kind: 'stopped', qty: left, note: 'chase is off' });
    return to();
  }
  if (c.attempt >= cfg.replaceMax) {
    c.phase = 'exhausted';
    step({ kind: 'exhausted', qty: left });
    return to();
  }
  if (!m || !m.continuous) return dirty ? to() : same();
  const quantity = maxSellQuantity(m.board, left);
  const price = replacementPrice(m, cfg.floor);
  c.attempt += 1;
  c.currentId = attemptId(c.rootId, c.attempt);
  c.currentQty = quantity;
  c.currentPrice = price;
  c.placedAt = now;
  c.phase = 'resting';
  step({ kind: 'replaced', qty: quantity, price });
  return to({ kind: 'place', id: c.currentId, attempt: c.attempt, quantity, price });
}

/** Shares sold over the whole chain and their value in ticks x shares (for the result line). */
export function chainResult(c: FollowChain): { sold: number; value: number; priced: boolean } {
  let sold = 0;
  let value = 0;
  let priced = true;
  for (const f of c.fills) {
    sold += f.qty;
    if (f.qty > 0 && f.price === null) priced = false;
    value += f.qty * (f.price ?? 0);
  }
  return { sold, value, priced };
}

/**
 * DEFAULT_FLOOR as a price: the previous close moved by `pctCenti` hundredths of a percent (+5% is
 * 500), rounded UP to the tick so a replacement is never below what the user set.
 */
export function floorFromPrevClose(prevClose: Ticks, pctCenti: number): Ticks {
  if (!Number.isSafeInteger(prevClose) || prevClose <= 0)
    throw new RangeError(`bad previous close ${prevClose}`);
  if (!Number.isSafeInteger(pctCenti)) throw new RangeError(`bad floor offset ${pctCenti}`);
  return Math.max(1, Math.ceil((prevClose * (10_000 + pctCenti)) / 10_000));
}
