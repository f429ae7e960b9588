/**
 * What may be sold, and in which sizes (rules.md §5). The guard sells everything it can in one
 * order when a board is breaking, so maxSellQuantity is the number that matters most.
 */
import type { Board, Exchange, Shares } from './types.ts';

/**
 * T+1: shares bought today are in `quantity` but not in `sellable` (broker can_use_volume). Trust
 * only the broker's sellable figure, clamped to what is actually held.
 */
export function sellableQuantity(position: { quantity: number; sellable: number }): Shares {
  const held = Number.isFinite(position.quantity) ? Math.max(0, Math.floor(position.quantity)) : 0;
  const free = Number.isFinite(position.sellable) ? Math.floor(position.sellable) : 0;
  return Math.min(held, Math.max(0, free));
}

interface SellRule {
  /** Board lot: orders are multiples of it unless they clear the odd remainder (main-style). */
  lot: number;
  /** STAR/BSE style: a minimum order, then 1-share steps; a balance below it goes in one order. */
  minimum: number;
  /** Largest single order, where the rules we have give one. */
  maxOrder: number;
}

function ruleFor(board: Board, exchange?: Exchange): SellRule {
  switch (board) {
    case 'main':
      return { lot: 100, minimum: 0, maxOrder: 1_000_000 };
    case 'chinext':
      // Limit-order maximum 300,000 per secondary sources [unverified].
      return { lot: 100, minimum: 0, maxOrder: 300_000 };
    case 'star':
      return { lot: 1, minimum: 200, maxOrder: 100_000 };
    case 'bse':
      return { lot: 1, minimum: 100, maxOrder: Infinity };
    case 'fund':
      return { lot: 100, minimum: 0, maxOrder: Infinity };
    case 'bond':
      // Convertible bonds trade in 张, 10 to a lot.
      return { lot: 10, minimum: 0, maxOrder: Infinity };
    case 'bshare':
      // SH B-shares trade in lots of 1,000, SZ B-shares 100; without the exchange assume SH (stricter).
      return { lot: exchange === 'SZ' ? 100 : 1_000, minimum: 0, maxOrder: Infinity };
  }
}

/**
 * Can one sell order of `qty` go in when `available` is sellable? Main-style boards: a multiple of
 * the lot, or an order that includes the whole odd remainder (余额不足100股的部分应当一次性申报).
 * STAR: >= 200 shares, or the whole balance when it is below 200. BSE: the same with 100.
 */
export function isValidSellQuantity(
  board: Board,
  qty: Shares,
  available: Shares,
  exchange?: Exchange,
): boolean {
  if (!Number.isSafeInteger(qty) || !Number.isSafeInteger(available)) return false;
  if (qty <= 0 || qty > available) return false;
  const rule = ruleFor(board, exchange);
  if (qty > rule.maxOrder) return false;
  if (rule.minimum > 0) return qty >= rule.minimum || qty === available;
  return qty % rule.lot === 0 || qty % rule.lot === available % rule.lot;
}

/** The largest valid single sell: everything sellable, unless that exceeds the per-order maximum. */
export function maxSellQuantity(board: Board, available: Shares, exchange?: Exchange): Shares {
  if (!Number.isFinite(available) || available <= 0) return 0;
  const avail = Math.floor(available);
  const rule = ruleFor(board, exchange);
  if (avail <= rule.maxOrder) return avail;
  // Capped: keep any odd remainder for the next order, so this one stays a whole number of lots.
  return Math.floor(rule.maxOrder / rule.lot) * rule.lot;
}
