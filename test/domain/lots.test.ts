import { describe, expect, it } from 'vitest';
import { isValidSellQuantity, maxSellQuantity, sellableQuantity } from '../../src/domain/lots.ts';

describe('T+1: only what the broker reports sellable', () => {
  it.each([
    [{ quantity: 1000, sellable: 600 }, 600],
    [{ quantity: 1000, sellable: 0 }, 0],
    [{ quantity: 500, sellable: 800 }, 500],
    [{ quantity: 500, sellable: -5 }, 0],
    [{ quantity: 500, sellable: NaN }, 0],
    [{ quantity: -1, sellable: 100 }, 0],
  ])('%j -> %i', (pos, n) => {
    expect(sellableQuantity(pos)).toBe(n);
  });
});

describe('main board, ChiNext and funds: round lots, or an order that clears the odd remainder', () => {
  it.each(['main', 'chinext', 'fund'] as const)('%s', (board) => {
    expect(isValidSellQuantity(board, 100, 1_000)).toBe(true);
    expect(isValidSellQuantity(board, 1_000, 1_000)).toBe(true);
    expect(isValidSellQuantity(board, 150, 1_000)).toBe(false);
    expect(isValidSellQuantity(board, 1_050, 1_050)).toBe(true);
    expect(isValidSellQuantity(board, 150, 1_050)).toBe(true);
    expect(isValidSellQuantity(board, 1_000, 1_050)).toBe(true);
    expect(isValidSellQuantity(board, 140, 1_050)).toBe(false);
    expect(isValidSellQuantity(board, 50, 50)).toBe(true);
    expect(isValidSellQuantity(board, 1_100, 1_050)).toBe(false);
    expect(isValidSellQuantity(board, 0, 1_000)).toBe(false);
    expect(isValidSellQuantity(board, -100, 1_000)).toBe(false);
    expect(isValidSellQuantity(board, 100.5, 1_000)).toBe(false);
    expect(maxSellQuantity(board, 1_050)).toBe(1_050);
    expect(maxSellQuantity(board, 37)).toBe(37);
    expect(maxSellQuantity(board, 0)).toBe(0);
  });
  it('caps a single main-board order at 1,000,000 shares and ChiNext at 300,000', () => {
    expect(maxSellQuantity('main', 1_500_050)).toBe(1_000_000);
    expect(isValidSellQuantity('main', 1_000_100, 1_500_050)).toBe(false);
    expect(maxSellQuantity('chinext', 300_050)).toBe(300_000);
    expect(maxSellQuantity('chinext', 300_000)).toBe(300_000);
  });
});

describe('STAR: at least 200 shares in 1-share steps; a balance under 200 goes at once', () => {
  it('applies the rule', () => {
    expect(isValidSellQuantity('star', 200, 1_000)).toBe(true);
    expect(isValidSellQuantity('star', 201, 1_000)).toBe(true);
    expect(isValidSellQuantity('star', 199, 1_000)).toBe(false);
    expect(isValidSellQuantity('star', 150, 150)).toBe(true);
    expect(isValidSellQuantity('star', 100, 150)).toBe(false);
    expect(isValidSellQuantity('star', 250, 250)).toBe(true);
    expect(maxSellQuantity('star', 257)).toBe(257);
    expect(maxSellQuantity('star', 150)).toBe(150);
    expect(maxSellQuantity('star', 100_150)).toBe(100_000);
  });
});

describe('BSE: at least 100 shares in 1-share steps; a balance under 100 goes at once', () => {
  it('applies the rule', () => {
    expect(isValidSellQuantity('bse', 100, 1_000)).toBe(true);
    expect(isValidSellQuantity('bse', 101, 1_000)).toBe(true);
    expect(isValidSellQuantity('bse', 99, 1_000)).toBe(false);
    expect(isValidSellQuantity('bse', 99, 99)).toBe(true);
    expect(isValidSellQuantity('bse', 50, 99)).toBe(false);
    expect(maxSellQuantity('bse', 12_345)).toBe(12_345);
  });
});

describe('bonds and B-shares', () => {
  it('convertible bonds trade in lots of 10', () => {
    expect(isValidSellQuantity('bond', 10, 100)).toBe(true);
    expect(isValidSellQuantity('bond', 15, 100)).toBe(false);
    expect(isValidSellQuantity('bond', 15, 105)).toBe(true);
  });
  it('SH B-shares in lots of 1,000, SZ B-shares in lots of 100', () => {
    expect(isValidSellQuantity('bshare', 500, 3_000, 'SH')).toBe(false);
    expect(isValidSellQuantity('bshare', 500, 3_000, 'SZ')).toBe(true);
    expect(isValidSellQuantity('bshare', 1_000, 3_000)).toBe(true);
  });
});
