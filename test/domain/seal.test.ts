import { describe, expect, it } from 'vitest';
import { fixtureText } from '../helpers/fixtures.ts';
import {
  bookSealedDown,
  bookSealedUp,
  isFresh,
  sealAmountDown,
  sealAmountUp,
  sealedDown,
  sealedUp,
} from '../../src/domain/seal.ts';
import type { Level, Snapshot } from '../../src/domain/types.ts';
import { DAY, sealed, snap, t, UP } from '../helpers/snapshots.ts';

const ticks = (p: string): number => Math.round(Number(p) * 100);
const levels = (pairs: [string, number][]): Level[] =>
  pairs.map(([p, v]) => [ticks(p), v] as Level).filter(([p, v]) => p > 0 && v > 0);

function base(symbol: string, name: string): Snapshot {
  return {
    symbol,
    name,
    source: '',
    ts: 0,
    status: 'normal',
    decimals: 2,
    last: 0,
    prevClose: 0,
    open: 0,
    high: 0,
    low: 0,
    bids: [],
    asks: [],
    volume: 0,
    amount: 0,
  };
}

/** Just the fields the predicate needs, from the real Tencent capture (book volumes in lots). */
function tencent(code: string): Snapshot & { limitUp: number; limitDown: number } {
  const line = fixtureText('tencent_20221122_utf8.txt')
    .split('\n')
    .find((l) => l.startsWith(`v_sz${code}=`))!;
  const f = line.slice(line.indexOf('"') + 1).split('~');
  const lv = (from: number): Level[] =>
    levels([0, 1, 2, 3, 4].map((j) => [f[from + 2 * j]!, Number(f[from + 2 * j + 1]) * 100]));
  return {
    ...base(`${code}.SZ`, f[1]!),
    source: 'tencent',
    status: f[40] === 'S' ? 'suspended' : 'normal',
    last: ticks(f[3]!),
    prevClose: ticks(f[4]!),
    bids: lv(9),
    asks: lv(19),
    limitUp: ticks(f[47]!),
    limitDown: ticks(f[48]!),
  };
}

/** The same stocks from the Sina capture (volumes in shares; Sina has no limit fields). */
function sina(code: string): Snapshot {
  const line = fixtureText('sina_20221122_utf8.txt')
    .split('\n')
    .find((l) => l.includes(`hq_str_sz${code}=`))!;
  const f = line.slice(line.indexOf('"') + 1).split(',');
  const lv = (from: number): Level[] =>
    levels([0, 1, 2, 3, 4].map((j) => [f[from + 2 * j + 1]!, Number(f[from + 2 * j])]));
  return {
    ...base(`${code}.SZ`, f[0]!),
    source: 'sina',
    status: f[32]?.startsWith('00') ? 'normal' : 'suspended',
    last: ticks(f[3]!),
    prevClose: ticks(f[2]!),
    bids: lv(10),
    asks: lv(20),
  };
}

describe('the book shows a seal (real captures, 2022-11-22)', () => {
  it('002116 is sealed at limit-up 10.02 on Tencent; the seal is 10.02 × 28,046,500 shares', () => {
    const s = tencent('002116');
    expect(s.limitUp).toBe(1002);
    expect(bookSealedUp(s, 1002)).toBe(true);
    expect(sealAmountUp(s)).toBe(281_025_930);
    expect(bookSealedDown(s, s.limitDown)).toBe(false);
  });

  it('002116 on Sina counts the odd shares too: 10.02 × 28,046,509', () => {
    const s = sina('002116');
    expect(bookSealedUp(s, 1002)).toBe(true);
    expect(sealAmountUp(s)).toBe(281_026_020); // 281,026,020.18 floored to the yuan
  });

  it('002812 is sealed at limit-down 140.17: last = ask1, no bids', () => {
    for (const s of [tencent('002812'), sina('002812')]) {
      expect(bookSealedDown(s, 14017)).toBe(true);
      expect(bookSealedUp(s, 14017)).toBe(false);
    }
    expect(sealAmountDown(tencent('002812'))).toBe(3_067_816_688); // 140.17 × 21,886,400
    expect(sealAmountDown(sina('002812'))).toBe(3_067_820_612); // 140.17 × 21,886,428 = 3,067,820,612.76
    expect(sealAmountUp(sina('002812'))).toBe(0);
  });

  it('002150 is suspended: never sealed, even though Tencent still publishes its limits', () => {
    const s = tencent('002150');
    expect(s.status).toBe('suspended');
    expect(bookSealedUp(s, s.limitUp)).toBe(false);
    expect(bookSealedDown(s, s.limitDown)).toBe(false);
    expect(sealAmountUp(s)).toBe(0);
  });
});

describe('book predicate edge cases', () => {
  it('a bid at the limit is not a seal while an ask rests there or last trade is elsewhere', () => {
    expect(bookSealedUp(sealed(t('10:00:00'), 5e7), UP)).toBe(true);
    expect(bookSealedUp(sealed(t('10:00:00'), 5e7, { asks: [[UP, 100]] }), UP)).toBe(false);
    expect(bookSealedUp(sealed(t('10:00:00'), 5e7, { last: 0 }), UP)).toBe(false); // pre-first-trade zeros
    expect(bookSealedUp(sealed(t('10:00:00'), 5e7), UP - 1)).toBe(false);
    expect(bookSealedUp(sealed(t('10:00:00'), 5e7, { bids: [] }), UP)).toBe(false);
  });
  it('3-decimal instruments scale by 1000: 1.106 × 1,000,000 shares = 1,106,000 yuan', () => {
    const s = { ...snap(0), decimals: 3 as const, bids: [[1106, 1_000_000] as Level] };
    expect(sealAmountUp(s)).toBe(1_106_000);
  });
});

describe('a tradeable seal also needs continuous trading and a fresh quote dated today', () => {
  const s = sealed(t('10:00:00'), 5e7);
  const gate = { now: t('10:00:01'), phase: 'continuous' as const, today: DAY };
  it('sealed in continuous trading with a fresh quote', () => {
    expect(sealedUp(s, UP, gate)).toBe(true);
    expect(sealedDown(s, UP, gate)).toBe(false);
  });
  it('not during an auction', () => {
    expect(sealedUp(s, UP, { ...gate, phase: 'opening-auction-locked' })).toBe(false);
    expect(sealedUp(s, UP, { ...gate, phase: 'closing-auction' })).toBe(false);
  });
  it('not when older than 30 s by the market clock (or a custom maxAgeMs)', () => {
    expect(isFresh(s, { ...gate, now: t('10:00:30') })).toBe(true);
    expect(isFresh(s, { ...gate, now: t('10:00:30') + 1 })).toBe(false);
    expect(isFresh(s, { ...gate, now: t('10:00:06'), maxAgeMs: 5_000 })).toBe(false);
  });
  it('not from the future beyond 5 s of skew', () => {
    expect(isFresh(s, { ...gate, now: t('09:59:55') })).toBe(true);
    expect(isFresh(s, { ...gate, now: t('09:59:55') - 1 })).toBe(false);
  });
  it("not yesterday's quote, whatever the host time zone", () => {
    expect(isFresh(s, { ...gate, today: '2026-11-20' })).toBe(false);
    // 00:00:10 exchange time on the 23rd is still the 22nd in New York and UTC.
    const early = sealed(Date.parse('2026-11-23T00:00:10+08:00'), 5e7);
    expect(isFresh(early, { ...gate, now: early.ts })).toBe(true);
  });
});
