/**
 * The backtest's model of a sell's life after the trigger, with and without follow-through, run
 * by the same state machine the guard runs (domain/followThrough.ts), so a recording shows what
 * chasing would have changed.
 *
 * Fill model, on purpose simple and stated: an order at price P fills, on each snapshot after it
 * was placed, as far as that snapshot shows bid volume at P or better (the most seen so far; a
 * queue is not eaten twice). A cancel is confirmed at once; its replacement goes out at the NEXT
 * snapshot's best bid (within the floor and the price cage), the earliest a real guard could see
 * the confirmation and act. A recording has no own orders in it, so this is an estimate of
 * priority, not a replay of it: a seller at the limit-up joins the ask side behind nobody but
 * fills only against buyers the book shows.
 */
import {
  decide,
  startChain,
  TERMINAL,
  type AttemptFacts,
  type FollowChain,
  type FollowConfig,
} from '../domain/followThrough.ts';
import { sellReference } from '../domain/priceCage.ts';
import { formatTicks } from '../domain/prices.ts';
import { bookSealedUp } from '../domain/seal.ts';
import { phaseAt } from '../domain/session.ts';
import type { Board, Security, Snapshot, Ticks } from '../domain/types.ts';

export interface SaleModel {
  chase: boolean;
  sold: number;
  left: number;
  /** Average sale price, decimal string; null when nothing sold. */
  avgPrice: string | null;
  /** Sale value against selling everything at the limit-up, in % (negative: worse). */
  vsLimitUpPct: number | null;
  replacements: number;
  /** "placed 11.00 10:00:07 · cancelled 10000 10:00:15 · replaced 10.95 10:00:16 · filled". */
  steps: string;
}

export interface SaleInput {
  snaps: readonly Snapshot[];
  /** Index of the snapshot on which the trigger fired. */
  from: number;
  quantity: number;
  price: Ticks;
  limits: { up: Ticks; down: Ticks };
  sec: Pick<Security, 'board' | 'exchange'>;
  config: FollowConfig;
}

interface Attempt {
  price: Ticks;
  qty: number;
  filled: number;
  value: number;
  cancelled: boolean;
}

export function modelSale(input: SaleInput): SaleModel {
  const { snaps, from, quantity, limits, sec, config } = input;
  const start = snaps[from] as Snapshot;
  const dec = start.decimals;
  const board: Board = sec.board;
  let chain: FollowChain = startChain({
    rootId: 'backtest',
    symbol: start.symbol,
    day: '',
    segment: 0,
    quantity,
    price: input.price,
    placedAt: start.ts,
  });
  const attempts: Attempt[] = [{ price: input.price, qty: quantity, filled: 0, value: 0, cancelled: false }];
  const fillOn = (a: Attempt, s: Snapshot): void => {
    if (a.cancelled || a.filled >= a.qty) return;
    let shown = 0;
    for (const [p, v] of s.bids) if (p >= a.price) shown += v;
    const more = Math.min(a.qty, shown) - a.filled;
    if (more <= 0) return;
    // Filled at the order's own price: a sell at P against bids at P or better trades at P or
    // better; P is the conservative figure.
    a.filled += more;
    a.value += more * a.price;
  };
  for (let i = from; i < snaps.length; i++) {
    const s = snaps[i] as Snapshot;
    const cur = attempts[attempts.length - 1] as Attempt;
    // The order placed on the trigger's snapshot trades on that snapshot's book too (the guard
    // sends it within the same poll); later attempts only from the next snapshot.
    if (i > from || attempts.length === 1) fillOn(cur, s);
    const facts: AttemptFacts = cur.cancelled
      ? { status: 'cancelled', filledQty: cur.filled, avgFillPrice: cur.price }
      : cur.filled >= cur.qty
        ? { status: 'filled', filledQty: cur.filled, avgFillPrice: cur.price }
        : { status: 'open', filledQty: cur.filled, avgFillPrice: cur.price };
    const d = decide(chain, {
      now: s.ts,
      attempt: facts,
      market: {
        board,
        continuous: phaseAt(s.ts, sec) === 'continuous',
        sealed: bookSealedUp(s, limits.up),
        bid1: s.bids[0]?.[0] ?? null,
        reference: sellReference(s),
        limitUp: limits.up,
        limitDown: limits.down,
      },
      config,
    });
    chain = d.chain;
    if (d.command.kind === 'cancel') cur.cancelled = true;
    else if (d.command.kind === 'place')
      attempts.push({
        price: d.command.price,
        qty: d.command.quantity,
        filled: 0,
        value: 0,
        cancelled: false,
      });
    if (TERMINAL.has(chain.phase)) break;
  }
  const sold = attempts.reduce((n, a) => n + a.filled, 0);
  const value = attempts.reduce((n, a) => n + a.value, 0);
  // Per share sold against the limit-up (what is left unsold is told separately).
  const full = sold * limits.up;
  return {
    chase: config.chase,
    sold,
    left: quantity - sold,
    avgPrice: sold > 0 ? formatTicks(Math.round(value / sold), dec) : null,
    vsLimitUpPct: sold > 0 ? Math.round(((value - full) * 1000) / full) / 10 : null,
    replacements: attempts.length - 1,
    steps: chain.steps
      .map((st) =>
        stepWord(st.attempt > 0 && st.kind === 'broke' ? 'fell' : st.kind, st.qty, st.price, st.at, dec),
      )
      .join(' · '),
  };
}

function stepWord(
  kind: string,
  qty: number | undefined,
  price: Ticks | undefined,
  at: number,
  dec: 2 | 3,
): string {
  const t = new Date(at + 8 * 3_600_000).toISOString().slice(11, 19);
  const p = price !== undefined ? ` ${formatTicks(price, dec)}` : '';
  switch (kind) {
    case 'placed':
      return `placed${p} ${t}`;
    case 'broke':
      return `broke ${t}`;
    case 'fell':
      return `bid fell${p} ${t}`;
    case 'cancelRequested':
      return `cancel ${t}`;
    case 'cancelled':
      return `cancelled ${qty ?? ''} ${t}`;
    case 'replaced':
      return `replaced${p} ${t}`;
    case 'filled':
      return `filled ${t}`;
    default:
      return `${kind} ${qty ?? ''} left`;
  }
}
