import { describe, expect, it } from 'vitest';
import {
  advance,
  cloneMonitorState,
  initialMonitorState,
  repeatStep,
  type MonitorContext,
  type MonitorEvent,
} from '../../src/domain/sealMonitor.ts';
import type { Snapshot } from '../../src/domain/types.ts';
import { DAY, LIMITS, opened, sealed, SYMBOL, t } from '../helpers/snapshots.ts';

const W = 10_000;

/** A small deterministic generator (mulberry32): the same runs on every machine. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A poll-by-poll run as a 1 s poller sees it: the exchange publishes a new snapshot every ~3 s
 * (sealed with a draining or refilling queue, or opened), each one is seen several times, and
 * now and then the feed goes silent for longer than the monitor's gap or the snapshot goes stale.
 */
function run(seed: number): { s: Snapshot; now: number }[] {
  const r = rng(seed);
  const out: { s: Snapshot; now: number }[] = [];
  let now = t('09:59:50');
  let ts = now;
  let seal = 9000 * W;
  let cur: Snapshot = sealed(ts, seal);
  for (let poll = 0; poll < 400; poll++) {
    now += r() < 0.04 ? 11_000 + Math.floor(r() * 40_000) : 1000; // a gap, or a stale stretch
    if (r() < 0.35) {
      ts = now - Math.floor(r() * 2000);
      seal = Math.max(100 * W, seal + Math.round((r() - 0.6) * 900) * W);
      cur = r() < 0.08 ? opened(ts) : sealed(ts, seal);
    } else if (r() < 0.05) {
      cur = { ...cur }; // the same snapshot as a new object (another source, a re-parse)
    }
    out.push({ s: cur, now });
  }
  return out;
}

function ctxAt(now: number, held: boolean): MonitorContext {
  return {
    limits: LIMITS,
    phase: 'continuous',
    now,
    today: DAY,
    triggers: { amount: 2000 * W, dropFromPeak: 50, dropInWindow: { pct: 30, windowSec: 30 }, onBreak: true },
    held,
  };
}

describe('repeatStep: a repeat of the last snapshot costs only the time, and means the same', () => {
  it('on 200 random poll runs, trying repeatStep first leaves exactly the states and events advance alone gives', () => {
    let repeats = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const held = seed % 2 === 0;
      const plain = initialMonitorState(SYMBOL, DAY);
      const fast = initialMonitorState(SYMBOL, DAY);
      const plainEvents: MonitorEvent[] = [];
      const fastEvents: MonitorEvent[] = [];
      for (const { s, now } of run(seed)) {
        advance(plain, s, ctxAt(now, held), plainEvents);
        const ctx = ctxAt(now, held);
        if (repeatStep(fast, s, ctx)) repeats++;
        else advance(fast, s, ctx, fastEvents);
        expect(fast).toEqual(plain);
      }
      expect(fastEvents).toEqual(plainEvents);
    }
    expect(repeats).toBeGreaterThan(10_000); // the fast path was really taken
  });

  it('declines the first snapshot after a gap (a baseline), a newer snapshot and another day', () => {
    const st = initialMonitorState(SYMBOL, DAY);
    const s = sealed(t('10:00:00'), 5000 * W);
    const at = (now: number) => ctxAt(now, true);
    expect(repeatStep(st, s, at(s.ts))).toBe(false); // nothing stepped yet
    advance(st, s, at(s.ts), []);
    expect(repeatStep(st, s, at(s.ts + 1000))).toBe(true);
    expect(st.lastStepAt).toBe(s.ts + 1000);
    expect(repeatStep(st, s, at(s.ts + 12_000))).toBe(false); // > GAP_MS since the last step
    expect(repeatStep(st, sealed(t('10:00:03'), 5000 * W), at(s.ts + 3000))).toBe(false);
    expect(repeatStep(cloneMonitorState(st), s, { ...at(s.ts + 1000), today: '2026-11-24' })).toBe(false);
  });
});
