/**
 * The price cage (价格笼子): in continuous trading the exchanges refuse (or park unmatched) a sell
 * priced too far below the sell reference price. SealGuard's sells after a break are meant to
 * fill, so every sell price it sends must be inside the cage.
 *
 * Rules (brokers.md §5.1, eastmoney-quotes-calendar.md "Price-cage rule"; the same numbers in
 * quant1x `price_cage.h` and in bullet-trade's price helpers):
 * - SH/SZ main board and ChiNext: not below the LOWER of 98% of the reference and the reference
 *   minus 10 ticks. "Lower" because the tick leg was added in 2023 to widen the range for cheap
 *   stocks (below 5 yuan 2% is less than 10 fen); it never narrows it.
 * - STAR: not below 98% of the reference (no tick leg).
 * - BSE: not below the lower of 95% of the reference and the reference minus 10 ticks (0.1 yuan).
 * - Funds/ETFs (tick 0.001) and B-shares: the main-board rule with their own tick, as the peers do.
 *   Whether the exchanges cage funds at all is [unverified]; caging them anyway can only make a
 *   sell price higher than required, never one the exchange refuses.
 * - Bonds: their own ranges, not researched here: no cage (null).
 *
 * Rounding: the bound is a fraction of a tick in general (98% of 1001 fen is 980.98 fen). A price
 * is accepted when it is at or above the bound, so the lowest acceptable tick is the CEILING of
 * the bound. Were an exchange to round the bound half-up instead, its bound would be at or below
 * our ceiling, so our price is accepted under either reading. The lower-of leg needs no rounding
 * of its own: min(ceil(a), b) = ceil(min(a, b)) for an integer b.
 *
 * The sell reference price (卖出基准价格) is the best bid; with no bid the best ask; with neither the
 * last trade; before any trade the previous close.
 */
import type { Board, Level, Ticks } from './types.ts';

export interface SellCageRule {
  /** Lowest accepted price as a whole percentage of the reference. */
  pct: number;
  /** The alternative "reference minus N ticks" leg (the lower of the two applies), if any. */
  ticks: number | null;
}

export function sellCageRule(board: Board): SellCageRule | null {
  switch (board) {
    case 'main':
    case 'chinext':
    case 'fund':
    case 'bshare':
      return { pct: 98, ticks: 10 };
    case 'star':
      return { pct: 98, ticks: null };
    case 'bse':
      return { pct: 95, ticks: 10 };
    case 'bond':
      return null;
  }
}

/**
 * Lowest sell price (ticks) the exchange accepts in continuous trading for `reference` (ticks), or
 * null when the board has no cage we know of. Never below one tick.
 */
export function lowestSellPrice(board: Board, reference: Ticks): Ticks | null {
  if (!Number.isSafeInteger(reference) || reference <= 0)
    throw new RangeError(`sell reference must be a positive whole number of ticks (got ${reference})`);
  const rule = sellCageRule(board);
  if (!rule) return null;
  const pctLeg = Math.ceil((reference * rule.pct) / 100);
  // Integer arithmetic: reference * pct is exact for any price a stock can have.
  const low = rule.ticks === null ? pctLeg : Math.min(pctLeg, reference - rule.ticks);
  return Math.max(1, low);
}

/** True when a sell at `price` is inside the cage around `reference` (always true without a cage). */
export function insideSellCage(board: Board, reference: Ticks, price: Ticks): boolean {
  const low = lowestSellPrice(board, reference);
  return low === null || price >= low;
}

/** The exchange's sell reference price from a level-1 book, or null when the book says nothing. */
export function sellReference(book: {
  bids: readonly Level[];
  asks: readonly Level[];
  last: Ticks;
  prevClose: Ticks;
}): Ticks | null {
  const ref = book.bids[0]?.[0] ?? book.asks[0]?.[0] ?? (book.last > 0 ? book.last : book.prevClose);
  return ref > 0 ? ref : null;
}

/**
 * `price` raised into the cage if it is below it (the only direction a sell can be out of it).
 * The caller still bounds the result by the limit-up price.
 */
export function raiseIntoSellCage(board: Board, reference: Ticks | null, price: Ticks): Ticks {
  if (reference === null) return price;
  const low = lowestSellPrice(board, reference);
  return low === null ? price : Math.max(price, low);
}
