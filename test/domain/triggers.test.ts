import { describe, expect, it } from 'vitest';
import {
  belowPctOf,
  describeEvidence,
  droppedAtLeast,
  dropPct,
  evidenceFor,
  mergeTriggerConfig,
  ruleHolds,
  ruleWarns,
} from '../../src/domain/triggers.ts';
import type { SealReading, TriggerEvidence } from '../../src/domain/triggers.ts';

const reading = (over: Partial<SealReading>): SealReading => ({
  at: 0,
  segment: 1,
  sealAmount: 0,
  segmentPeak: 0,
  dayPeak: 0,
  windowPeak: 0,
  ...over,
});

describe('merging global and per-symbol trigger settings', () => {
  it('per-symbol values win, undefined inherits, null switches a rule off', () => {
    const global = { amount: 20_000_000, dropFromPeak: 50, confirm: 1, onBreak: true };
    expect(mergeTriggerConfig(global, { amount: 30_000_000, dropFromPeak: null })).toEqual({
      amount: 30_000_000,
      dropFromPeak: null,
      confirm: 1,
      onBreak: true,
    });
    expect(mergeTriggerConfig(global, undefined)).toEqual(global);
    expect(mergeTriggerConfig({}, { dropInWindow: { pct: 30, windowSec: 60 } })).toEqual({
      dropInWindow: { pct: 30, windowSec: 60 },
    });
  });
});

describe('percent comparisons are exact on integers', () => {
  it('a drop of exactly the threshold counts; one yuan less does not', () => {
    expect(droppedAtLeast(50_000_000, 100_000_000, 5000)).toBe(true);
    expect(droppedAtLeast(50_000_001, 100_000_000, 5000)).toBe(false);
    // 0.3% of 3 yuan is 0.009: floats would say 3 - 2.991 = 0.009000000000000341
    expect(droppedAtLeast(2991, 3000, 30)).toBe(true);
    expect(droppedAtLeast(2992, 3000, 30)).toBe(false);
  });
  it('beyond 2^53 the comparison still holds (BigInt fallback)', () => {
    expect(droppedAtLeast(4e14, 8e14, 5000)).toBe(true);
    expect(droppedAtLeast(4e14 + 1, 8e14, 5000)).toBe(false);
    expect(belowPctOf(9_999_999, 1e9, 100)).toBe(true);
    expect(belowPctOf(10_000_000, 1e9, 100)).toBe(false);
  });
  it('the reported drop is rounded to one decimal', () => {
    expect(dropPct(15_030_000, 152_000_000)).toBe(90.1);
    expect(dropPct(50_000_000, 100_000_000)).toBe(50);
    expect(dropPct(120, 100)).toBe(0);
  });
});

describe('each rule', () => {
  it('amount: strictly below the threshold; early warning under 1.5× the threshold', () => {
    const cfg = { amount: 20_000_000 };
    expect(ruleHolds('amount', cfg, reading({ sealAmount: 19_999_999 }))).toBe(true);
    expect(ruleHolds('amount', cfg, reading({ sealAmount: 20_000_000 }))).toBe(false);
    expect(ruleWarns('amount', cfg, reading({ sealAmount: 29_999_999 }))).toBe(true);
    expect(ruleWarns('amount', cfg, reading({ sealAmount: 30_000_000 }))).toBe(false);
  });
  it('dropFromPeak: measured from the segment peak; warns at half the drop', () => {
    const cfg = { dropFromPeak: 50 };
    expect(ruleHolds('dropFromPeak', cfg, reading({ sealAmount: 5e7, segmentPeak: 1e8, dayPeak: 3e8 }))).toBe(
      true,
    );
    expect(ruleWarns('dropFromPeak', cfg, reading({ sealAmount: 7.5e7, segmentPeak: 1e8 }))).toBe(true);
    expect(ruleWarns('dropFromPeak', cfg, reading({ sealAmount: 7.5e7 + 1, segmentPeak: 1e8 }))).toBe(false);
  });
  it('dropInWindow: measured from the highest seal inside the window', () => {
    const cfg = { dropInWindow: { pct: 30, windowSec: 60 } };
    expect(
      ruleHolds('dropInWindow', cfg, reading({ sealAmount: 7e7, segmentPeak: 5e8, windowPeak: 1e8 })),
    ).toBe(true);
    expect(ruleHolds('dropInWindow', cfg, reading({ sealAmount: 7e7 + 1, windowPeak: 1e8 }))).toBe(false);
  });
  it('capRatio: needs a float market cap; without one it never fires', () => {
    const cfg = { capRatio: 0.5 };
    expect(ruleHolds('capRatio', cfg, reading({ sealAmount: 4_999_999, floatMarketCap: 1e9 }))).toBe(true);
    expect(ruleHolds('capRatio', cfg, reading({ sealAmount: 5_000_000, floatMarketCap: 1e9 }))).toBe(false);
    expect(ruleHolds('capRatio', cfg, reading({ sealAmount: 1 }))).toBe(false);
    expect(ruleWarns('capRatio', cfg, reading({ sealAmount: 7_499_999, floatMarketCap: 1e9 }))).toBe(true);
  });
  it('disabled rules (null or absent) never hold', () => {
    const r = reading({ sealAmount: 1, segmentPeak: 1e9, windowPeak: 1e9, floatMarketCap: 1e12 });
    for (const rule of ['amount', 'dropFromPeak', 'dropInWindow', 'capRatio'] as const) {
      expect(
        ruleHolds(rule, { amount: null, dropFromPeak: null, dropInWindow: null, capRatio: null }, r),
      ).toBe(false);
    }
  });
});

describe('evidence the user reads', () => {
  const r = reading({
    at: 1,
    sealAmount: 15_030_000,
    segmentPeak: 152_000_000,
    dayPeak: 281_025_930,
    windowPeak: 40_000_000,
  });
  it('amount', () => {
    const e = evidenceFor('amount', { amount: 20_000_000 }, r);
    expect(e).toEqual<TriggerEvidence>({
      rule: 'amount',
      at: 1,
      segment: 1,
      sealAmount: 15_030_000,
      segmentPeak: 152_000_000,
      dayPeak: 281_025_930,
      dropPct: 90.1,
      threshold: '2000万',
    });
    expect(describeEvidence(e)).toBe('封单 1503万 < 2000万，较峰值 1.52亿 回落 90.1%');
  });
  it('the other rules', () => {
    expect(describeEvidence(evidenceFor('dropFromPeak', { dropFromPeak: 50 }, r))).toBe(
      '封单 1503万，较峰值 1.52亿 回落 90.1%（≥ 50%）',
    );
    const w = evidenceFor('dropInWindow', { dropInWindow: { pct: 30, windowSec: 60 } }, r);
    expect([w.windowSec, w.windowDropPct]).toEqual([60, 62.4]);
    expect(describeEvidence(w)).toBe('封单 1503万，60秒内回落 62.4%（≥ 30%），较峰值 1.52亿 回落 90.1%');
    expect(describeEvidence(evidenceFor('capRatio', { capRatio: 1 }, r))).toBe(
      '封单 1503万 < 流通市值的 1%，较峰值 1.52亿 回落 90.1%',
    );
    expect(describeEvidence(evidenceFor('onBreak', {}, r))).toBe(
      '炸板，开板前封单 1503万，较峰值 1.52亿 回落 90.1%',
    );
  });
});
