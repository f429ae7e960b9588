import { describe, expect, it } from 'vitest';
import type { Snapshot } from '../../src/domain/types.ts';
import { compareUnits, unitFactor } from '../../src/market/unitCheck.ts';

// Volumes from the 2022-11-22 capture (quotes.md §1.7): Sina sz002846 bid1 12 913 836 shares,
// Tencent 129 138 lots, i.e. 12 913 800 shares once converted.
const snap = (symbol: string, volume: number, bid1: number, ts = 0): Snapshot =>
  ({ symbol, ts, volume, bids: [[1000, bid1]] }) as unknown as Snapshot;

describe('unitFactor', () => {
  it('same units within a factor of 2, 100x and 0.01x as such, nothing in between', () => {
    expect(unitFactor(snap('a', 12_913_800, 1), snap('a', 12_913_836, 1))).toBe(1);
    expect(unitFactor(snap('a', 129_138, 1), snap('a', 12_913_836, 1))).toBe(0.01);
    expect(unitFactor(snap('a', 12_913_836, 1), snap('a', 129_138, 1))).toBe(100);
    expect(unitFactor(snap('a', 10, 1), snap('a', 100, 10))).toBeNull();
  });

  it('falls back to bid1 at the same price when there is no traded volume; ignores far-apart snapshots', () => {
    expect(unitFactor(snap('a', 0, 2_804), snap('a', 0, 280_465))).toBe(0.01);
    expect(unitFactor(snap('a', 100, 1, 0), snap('a', 10_000, 1, 120_000))).toBeNull();
    expect(unitFactor(snap('a', 100, 1), snap('b', 10_000, 1))).toBeNull();
  });
});

describe('compareUnits', () => {
  it('needs most comparable stocks to disagree by the same factor', () => {
    const ref = [snap('a', 10_000, 1), snap('b', 20_000, 1), snap('c', 30_000, 1)];
    expect(compareUnits([snap('a', 100, 1), snap('b', 200, 1), snap('c', 30_000, 1)], ref)).toEqual({
      factor: 0.01,
      compared: 3,
      example: 'a',
    });
    expect(compareUnits([snap('a', 100, 1), snap('b', 20_000, 1), snap('c', 30_000, 1)], ref)).toEqual({
      factor: null,
      compared: 3,
    });
    expect(compareUnits([], ref)).toEqual({ factor: null, compared: 0 });
  });
});
