/**
 * The sell-side price cage at its boundaries, per board (rules as cited in src/domain/priceCage.ts:
 * brokers.md §5.1; quant1x price_cage.h "买入价取两者高值，卖出价取两者低值"; bullet-trade's
 * compute_price_bounds: main/ChiNext min(98%, −10 ticks), STAR 98%, BSE min(95%, −0.1)).
 */
import { describe, expect, it } from 'vitest';
import {
  insideSellCage,
  lowestSellPrice,
  raiseIntoSellCage,
  sellReference,
} from '../../src/domain/priceCage.ts';

describe('main board and ChiNext: the lower of 98% and reference − 10 ticks', () => {
  it.each(['main', 'chinext'] as const)('%s', (board) => {
    // 10.00: 98% = 9.80, −10 ticks = 9.90 → 9.80 (the percentage is lower above 5 yuan).
    expect(lowestSellPrice(board, 1000)).toBe(980);
    expect(insideSellCage(board, 1000, 980)).toBe(true);
    expect(insideSellCage(board, 1000, 979)).toBe(false);
    // 5.00: both legs meet at 4.90.
    expect(lowestSellPrice(board, 500)).toBe(490);
    // 3.00: 98% = 2.94, −10 ticks = 2.90 → 2.90 (the tick leg is lower below 5 yuan).
    expect(lowestSellPrice(board, 300)).toBe(290);
    expect(insideSellCage(board, 300, 290)).toBe(true);
    expect(insideSellCage(board, 300, 289)).toBe(false);
    // 10.01: 98% = 9.8098 → the lowest accepted tick is 9.81, not 9.80 (ceiling, never below the bound).
    expect(lowestSellPrice(board, 1001)).toBe(981);
    expect(insideSellCage(board, 1001, 980)).toBe(false);
    // 1853.50 (600519 at its limit-up): 98% = 1816.43 exactly.
    expect(lowestSellPrice(board, 185350)).toBe(181643);
    // 1685.01: 98% = 1651.3098 → 1651.31.
    expect(lowestSellPrice(board, 168501)).toBe(165131);
  });

  it('a penny stock: reference − 10 ticks, never below one tick', () => {
    expect(lowestSellPrice('main', 105)).toBe(95);
    expect(lowestSellPrice('main', 10)).toBe(1);
    expect(lowestSellPrice('main', 5)).toBe(1);
  });
});

describe('STAR: 98% with no tick leg', () => {
  it('boundaries', () => {
    expect(lowestSellPrice('star', 1000)).toBe(980);
    // 3.00: 2.94 (the main board would allow 2.90).
    expect(lowestSellPrice('star', 300)).toBe(294);
    expect(insideSellCage('star', 300, 293)).toBe(false);
    expect(insideSellCage('star', 300, 294)).toBe(true);
    // 30.07: 98% = 29.4686 → 29.47.
    expect(lowestSellPrice('star', 3007)).toBe(2947);
    expect(insideSellCage('star', 3007, 2946)).toBe(false);
  });
});

describe('BSE: the lower of 95% and reference − 0.1 yuan', () => {
  it('boundaries', () => {
    // 10.00: 95% = 9.50, −0.10 = 9.90 → 9.50.
    expect(lowestSellPrice('bse', 1000)).toBe(950);
    expect(insideSellCage('bse', 1000, 949)).toBe(false);
    // 1.50: 95% = 1.425 → 1.43; −0.10 = 1.40 → 1.40.
    expect(lowestSellPrice('bse', 150)).toBe(140);
    // 2.00: both 1.90.
    expect(lowestSellPrice('bse', 200)).toBe(190);
    // 12.34: 95% = 11.723 → 11.73.
    expect(lowestSellPrice('bse', 1234)).toBe(1173);
  });
});

describe('ETFs (0.001 ticks): the main-board rule in li', () => {
  it('boundaries', () => {
    // 1.000: 98% = 0.980, −10 ticks = 0.990 → 0.980.
    expect(lowestSellPrice('fund', 1000)).toBe(980);
    // 0.400: 98% = 0.392, −10 ticks = 0.390 → 0.390 (10 ticks are only 1 fen here).
    expect(lowestSellPrice('fund', 400)).toBe(390);
    // 3.457: 98% = 3.38786 → 3.388.
    expect(lowestSellPrice('fund', 3457)).toBe(3388);
    expect(insideSellCage('fund', 3457, 3387)).toBe(false);
  });

  it('bonds: no cage known, nothing constrained', () => {
    expect(lowestSellPrice('bond', 100_000)).toBeNull();
    expect(insideSellCage('bond', 100_000, 1)).toBe(true);
  });
});

describe('the sell reference and raising a price into the cage', () => {
  const book = (bids: [number, number][], asks: [number, number][], last = 0, prevClose = 1000) => ({
    bids,
    asks,
    last,
    prevClose,
  });

  it('best bid, else best ask, else last, else previous close', () => {
    expect(sellReference(book([[1005, 100]], [[1006, 100]], 1004))).toBe(1005);
    expect(sellReference(book([], [[1006, 100]], 1004))).toBe(1006);
    expect(sellReference(book([], [], 1004))).toBe(1004);
    expect(sellReference(book([], [], 0))).toBe(1000);
    expect(sellReference(book([], [], 0, 0))).toBeNull();
  });

  it('a sell at or above the bid is always inside; a limit-down sell into an empty bid side is raised', () => {
    for (const board of ['main', 'chinext', 'star', 'bse', 'fund'] as const)
      for (const bid of [1, 7, 290, 1000, 185350]) expect(insideSellCage(board, bid, bid)).toBe(true);
    // After a break with no bids left and asks at 9.50: a sell at the 9.00 limit-down is outside.
    const ref = sellReference(book([], [[950, 100]]));
    expect(raiseIntoSellCage('main', ref, 900)).toBe(931);
    expect(raiseIntoSellCage('main', ref, 960)).toBe(960);
    expect(raiseIntoSellCage('main', null, 900)).toBe(900);
  });

  it('refuses a reference that is not a positive whole number of ticks', () => {
    expect(() => lowestSellPrice('main', 0)).toThrow(RangeError);
    expect(() => lowestSellPrice('main', 10.5)).toThrow(RangeError);
  });
});
