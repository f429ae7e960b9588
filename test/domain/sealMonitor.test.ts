import { describe, expect, it } from 'vitest';
import { initialMonitorState, step } from '../../src/domain/sealMonitor.ts';
import type { MonitorEvent } from '../../src/domain/sealMonitor.ts';
import {
  DAY,
  drive,
  opened,
  sealed,
  sealedDown,
  sealedRun,
  snap,
  SYMBOL,
  t,
  UP,
} from '../helpers/snapshots.ts';

const W = 10_000; // one 万 in yuan
const YI = 100_000_000;
const amountRule = { amount: 2000 * W };

function only<T extends MonitorEvent['type']>(
  events: MonitorEvent[],
  type: T,
): Extract<MonitorEvent, { type: T }>[] {
  return events.filter((e): e is Extract<MonitorEvent, { type: T }> => e.type === type);
}

describe('when nothing may happen', () => {
  it('auction books at the limit raise no event and leave the monitor idle', () => {
    const seq = [
      ...sealedRun('09:15:00', 3, [9 * YI, 9 * YI, 9 * YI]),
      ...sealedRun('09:20:00', 3, [9 * YI, 9 * YI]),
      ...sealedRun('09:25:00', 3, [9 * YI, 9 * YI]),
      ...sealedRun('14:57:00', 3, [1000 * W, 1000 * W]),
      sealed(t('15:00:00'), 10 * W),
    ];
    const d = drive(seq, { triggers: amountRule });
    expect(d.events).toEqual([]);
    expect(d.state).toEqual(initialMonitorState(SYMBOL, DAY));
  });

  it('a no-limit day (IPO days 1-5) is never sealed', () => {
    const d = drive(sealedRun('10:00:00', 3, [5 * YI, 5 * YI, 1000 * W]), {
      triggers: amountRule,
      limits: null,
    });
    expect(d.events).toEqual([]);
    expect(d.state.status).toBe('idle');
  });

  it('a closed day (weekend) does nothing', () => {
    const sat = Date.parse('2026-11-21T10:00:00+08:00');
    const seq = [sealed(sat, 5 * YI), sealed(sat + 3000, 5 * YI)];
    const state = initialMonitorState(SYMBOL, '2026-11-21');
    const r = step(state, seq[0]!, {
      limits: { up: UP, down: 818 },
      phase: 'closed',
      now: sat,
      today: '2026-11-21',
      triggers: amountRule,
      held: true,
    });
    expect(r.events).toEqual([]);
    expect(r.state).toBe(state);
  });

  it('stale snapshots (older than 30 s by the market clock) are ignored', () => {
    const seq = sealedRun('10:00:00', 3, [5 * YI, 5 * YI, 5 * YI]);
    const d = drive(seq, { nowOf: (s) => s.ts + 31_000 });
    expect(d.events).toEqual([]);
    expect(d.state.status).toBe('idle');
  });

  it('a suspended (halted) snapshot changes nothing', () => {
    const d = drive([
      ...sealedRun('10:00:00', 3, [5 * YI, 5 * YI]),
      snap(t('10:00:06'), { status: 'suspended', bids: [], asks: [] }),
    ]);
    expect(d.log).toEqual(['10:00:03 SealFormed']);
    expect(d.state.status).toBe('sealed');
  });
});

describe('a seal forms', () => {
  it('after two consecutive sealed snapshots (segment 1), not on a single touch', () => {
    const touch = drive([sealed(t('10:00:00'), 5 * YI), opened(t('10:00:03'), 999, 998)]);
    expect(touch.events).toEqual([]);
    expect(touch.state.status).toBe('idle');

    const d = drive(sealedRun('10:00:00', 3, [3 * YI, 5 * YI]));
    expect(d.events).toEqual([
      { type: 'SealFormed', symbol: SYMBOL, at: t('10:00:03'), segment: 1, sealAmount: 5 * YI },
    ]);
    expect(d.state).toMatchObject({
      status: 'sealed',
      segment: 1,
      segmentStart: t('10:00:00'),
      segmentPeak: 5 * YI,
    });
  });

  it('the confirmation count is configurable', () => {
    const d = drive(sealedRun('10:00:00', 3, [5 * YI, 5 * YI, 5 * YI]), { sealConfirm: 3 });
    expect(d.log).toEqual(['10:00:06 SealFormed']);
  });

  it('a repeated snapshot (same exchange ts) does not count as confirmation', () => {
    const s = sealed(t('10:00:00'), 5 * YI);
    const d = drive([s, s, s], { nowOf: () => t('10:00:02') });
    expect(d.events).toEqual([]);
    expect(d.state.status).toBe('sealing');
  });

  it('a one-word board is segment 1 from the first continuous snapshot, with no other drama', () => {
    const seq = [
      ...sealedRun('09:25:00', 3, [20 * YI, 20 * YI]),
      ...sealedRun('09:30:00', 3, [20 * YI, 21 * YI, 22 * YI, 21 * YI]),
    ];
    const d = drive(seq, { triggers: { amount: 2000 * W, dropFromPeak: 50 } });
    expect(d.events).toEqual([
      { type: 'SealFormed', symbol: SYMBOL, at: t('09:30:03'), segment: 1, sealAmount: 21 * YI },
    ]);
    expect(d.state).toMatchObject({ segmentStart: t('09:30:00'), segmentPeak: 22 * YI, dayPeak: 22 * YI });
  });
});

describe('the amount rule (the seed rule: seal below 2000万)', () => {
  const drain = sealedRun('10:05:00', 3, [
    15_000 * W,
    15_200 * W,
    5000 * W,
    3100 * W,
    2900 * W,
    1503 * W,
    1200 * W,
  ]);

  it('warns once under 1.5× the threshold, fires once below it, with evidence', () => {
    const d = drive([...drain, opened(t('10:05:21'), 999, 990)], { triggers: amountRule });
    expect(d.log).toEqual([
      '10:05:03 SealFormed',
      '10:05:12 SealWeakening',
      '10:05:15 Triggered',
      '10:05:21 BoardBroken',
    ]);
    expect(only(d.events, 'SealWeakening')[0]).toMatchObject({
      segment: 1,
      sealAmount: 2900 * W,
      segmentPeak: 15_200 * W,
      dropPct: 80.9,
    });
    expect(only(d.events, 'Triggered')[0]!.evidence).toEqual({
      rule: 'amount',
      at: t('10:05:15'),
      segment: 1,
      sealAmount: 1503 * W,
      segmentPeak: 15_200 * W,
      dayPeak: 15_200 * W,
      dropPct: 90.1,
      threshold: '2000万',
    });
    expect(only(d.events, 'BoardBroken')[0]).toEqual({
      type: 'BoardBroken',
      symbol: SYMBOL,
      at: t('10:05:21'),
      segment: 1,
      bid1: 990,
      last: 999,
      triggered: true,
    });
    expect(d.state.status).toBe('broken');
  });

  it('with confirm 1 the condition must also hold on the next snapshot', () => {
    const blip = sealedRun('10:05:00', 3, [8000 * W, 8000 * W, 1900 * W, 4000 * W, 1800 * W, 1700 * W]);
    const d = drive(blip, { triggers: { ...amountRule, confirm: 1 } });
    expect(only(d.events, 'Triggered').map((e) => [e.at, e.evidence.sealAmount])).toEqual([
      [t('10:05:15'), 1700 * W],
    ]);
  });

  it('a seal that forms already below the threshold fires on its first armed snapshot', () => {
    const d = drive(sealedRun('10:05:00', 3, [1500 * W, 1500 * W, 1400 * W]), { triggers: amountRule });
    expect(d.log).toEqual(['10:05:03 SealFormed', '10:05:03 Triggered']);
  });
});

describe('dropFromPeak', () => {
  it('fires at exactly 50% below the segment peak, warns at 25%', () => {
    const seq = sealedRun('10:00:00', 3, [8000 * W, 10_000 * W, 7600 * W, 7500 * W, 5001 * W, 5000 * W]);
    const d = drive(seq, { triggers: { dropFromPeak: 50 } });
    expect(d.log).toEqual(['10:00:03 SealFormed', '10:00:09 SealWeakening', '10:00:15 Triggered']);
    expect(only(d.events, 'Triggered')[0]!.evidence).toMatchObject({
      rule: 'dropFromPeak',
      dropPct: 50,
      threshold: '50%',
    });
  });
});

describe('dropInWindow', () => {
  const cfg = { dropInWindow: { pct: 30, windowSec: 60 } };

  it('fires when the seal fell 30% from its highest point within the last 60 s', () => {
    const seq = sealedRun('10:00:00', 5, [
      9000 * W,
      10_000 * W,
      9500 * W,
      9000 * W,
      8000 * W,
      7100 * W,
      6900 * W,
    ]);
    const d = drive(seq, { triggers: cfg });
    const fired = only(d.events, 'Triggered');
    expect(fired.map((e) => e.at)).toEqual([t('10:00:30')]);
    expect(fired[0]!.evidence).toMatchObject({
      rule: 'dropInWindow',
      windowSec: 60,
      windowDropPct: 31,
      sealAmount: 6900 * W,
    });
  });

  it('a slow bleed that never loses 30% inside any 60 s window does not fire', () => {
    // -100万 every 5 s: 12% per minute, 60% over five minutes.
    const amounts = Array.from({ length: 61 }, (_, i) => (10_000 - 100 * i) * W);
    const d = drive(sealedRun('10:00:00', 5, amounts), { triggers: cfg });
    expect(only(d.events, 'Triggered')).toEqual([]);
    expect(d.state.window.length).toBeLessThanOrEqual(13);
    // ...while the same bleed is a 60% drop from the peak.
    const p = drive(sealedRun('10:00:00', 5, amounts), { triggers: { dropFromPeak: 50 } });
    expect(only(p.events, 'Triggered').map((e) => e.at)).toEqual([t('10:00:00') + 50 * 5000]);
  });
});

describe('capRatio', () => {
  it('fires below x% of the float market cap; warns under 1.5× that', () => {
    const cap = { floatMarketCap: 10 * YI };
    const seq = [
      sealed(t('10:00:00'), 5000 * W, cap),
      sealed(t('10:00:03'), 5000 * W, cap),
      sealed(t('10:00:06'), 1400 * W, cap),
      sealed(t('10:00:09'), 999 * W, cap),
    ];
    const d = drive(seq, { triggers: { capRatio: 1 } });
    expect(d.log).toEqual(['10:00:03 SealFormed', '10:00:06 SealWeakening', '10:00:09 Triggered']);
    expect(only(d.events, 'Triggered')[0]!.evidence.threshold).toBe('1%');
  });
  it('never fires without a float market cap from the feed', () => {
    const d = drive(sealedRun('10:00:00', 3, [5000 * W, 5000 * W, 10 * W]), { triggers: { capRatio: 1 } });
    expect(only(d.events, 'Triggered')).toEqual([]);
  });
});

describe('gaps only set a baseline', () => {
  it('after > 10 s without a snapshot nothing fires on the first one back; the next one may', () => {
    const seq = [
      ...sealedRun('10:00:00', 3, [5000 * W, 5000 * W]),
      sealed(t('10:00:30'), 1000 * W),
      sealed(t('10:00:33'), 1000 * W),
    ];
    const d = drive(seq, { triggers: amountRule });
    expect(d.log).toEqual(['10:00:03 SealFormed', '10:00:33 Triggered']);
  });

  it('after lunch the first snapshot is a baseline and the window history restarts', () => {
    const cfg = { dropInWindow: { pct: 30, windowSec: 60 } };
    const seq = [
      ...sealedRun('11:29:51', 3, [10_000 * W, 10_000 * W, 10_000 * W]),
      sealed(t('13:00:00'), 6000 * W),
      sealed(t('13:00:03'), 5900 * W),
    ];
    const d = drive(seq, { triggers: cfg });
    expect(d.log).toEqual(['11:29:54 SealFormed']);
    expect(d.state.window).toEqual([
      [t('13:00:00'), 6000 * W],
      [t('13:00:03'), 5900 * W],
    ]);
  });

  it('the first snapshot of the day is a baseline too (restart at 10:00 with a weak seal)', () => {
    const d = drive(sealedRun('10:00:00', 3, [1000 * W, 1000 * W]), { triggers: amountRule, sealConfirm: 1 });
    expect(d.log).toEqual(['10:00:00 SealFormed', '10:00:03 Triggered']);
  });

  it('a new trading day starts from a clean state', () => {
    const y = drive(sealedRun('10:00:00', 3, [5000 * W, 5000 * W]));
    const next = '2026-11-24';
    const ts = Date.parse(`${next}T10:00:00+08:00`);
    const r = step(y.state, sealed(ts, 5000 * W), {
      limits: { up: UP, down: 818 },
      phase: 'continuous',
      now: ts,
      today: next,
      triggers: {},
      held: true,
    });
    expect(r.state).toMatchObject({ day: next, segment: 0, dayPeak: 5000 * W, status: 'sealing' });
  });
});

describe('break and re-seal', () => {
  it('segments are numbered, peaks reset per segment, the day peak is kept, each segment may trigger once', () => {
    const seq = [
      ...sealedRun('10:00:00', 3, [20_000 * W, 30_000 * W, 1900 * W, 1800 * W]),
      opened(t('10:00:12')),
      opened(t('10:00:15'), 995, 994),
      ...sealedRun('10:00:18', 3, [3000 * W, 4000 * W, 3500 * W, 1500 * W, 1400 * W]),
    ];
    const d = drive(seq, { triggers: amountRule });
    expect(d.log).toEqual([
      '10:00:03 SealFormed',
      '10:00:06 Triggered',
      '10:00:12 BoardBroken',
      '10:00:21 Resealed',
      '10:00:27 Triggered',
    ]);
    expect(only(d.events, 'Resealed')[0]).toEqual({
      type: 'Resealed',
      symbol: SYMBOL,
      at: t('10:00:21'),
      segment: 2,
      sealAmount: 4000 * W,
    });
    expect(only(d.events, 'Triggered')[1]!.evidence).toMatchObject({
      segment: 2,
      segmentPeak: 4000 * W,
      dayPeak: 30_000 * W,
      dropPct: 62.5,
    });
    expect(d.state).toMatchObject({
      status: 'triggered',
      segment: 2,
      segmentPeak: 4000 * W,
      dayPeak: 30_000 * W,
    });
  });

  it('a board that opens and shuts within one snapshot is still a break (no debounce on the way out)', () => {
    const d = drive([
      ...sealedRun('10:00:00', 3, [5 * YI, 5 * YI]),
      opened(t('10:00:06')),
      ...sealedRun('10:00:09', 3, [5 * YI, 5 * YI]),
    ]);
    expect(d.log).toEqual(['10:00:03 SealFormed', '10:00:06 BoardBroken', '10:00:12 Resealed']);
  });
});

describe('onBreak', () => {
  const seq = [...sealedRun('10:00:00', 3, [5 * YI, 5 * YI]), opened(t('10:00:06'), 999, 997)];

  it('sells when the board opens in a segment that did not trigger, if shares are held', () => {
    const d = drive(seq, { triggers: { onBreak: true } });
    expect(d.log).toEqual(['10:00:03 SealFormed', '10:00:06 BoardBroken', '10:00:06 Triggered']);
    expect(only(d.events, 'BoardBroken')[0]!.triggered).toBe(false);
    expect(only(d.events, 'Triggered')[0]!.evidence).toMatchObject({
      rule: 'onBreak',
      sealAmount: 5 * YI,
      threshold: '炸板',
    });
  });

  it('not when nothing is held, and not when the segment already triggered', () => {
    expect(drive(seq, { triggers: { onBreak: true }, held: false }).log).toEqual([
      '10:00:03 SealFormed',
      '10:00:06 BoardBroken',
    ]);
    const weak = [...sealedRun('10:00:00', 3, [5 * YI, 5 * YI, 1000 * W]), opened(t('10:00:09'))];
    const d = drive(weak, { triggers: { ...amountRule, onBreak: true } });
    expect(only(d.events, 'Triggered').map((e) => e.evidence.rule)).toEqual(['amount']);
  });

  it('a break found after a gap is confirmed on the next snapshot before selling', () => {
    const gap = [...sealedRun('10:00:00', 3, [5 * YI, 5 * YI]), opened(t('10:01:00')), opened(t('10:01:03'))];
    const d = drive(gap, { triggers: { onBreak: true } });
    expect(d.log).toEqual(['10:00:03 SealFormed', '10:01:00 BoardBroken', '10:01:03 Triggered']);
    const resealed = [
      ...sealedRun('10:00:00', 3, [5 * YI, 5 * YI]),
      opened(t('10:01:00')),
      sealed(t('10:01:03'), 5 * YI),
    ];
    expect(only(drive(resealed, { triggers: { onBreak: true } }).events, 'Triggered')).toEqual([]);
  });
});

describe('limit-down seals are reported, never sold on', () => {
  it('LimitDownSealed after confirmation, LimitDownOpened when bids return', () => {
    const seq = [
      sealedDown(t('10:00:00'), 3 * YI),
      sealedDown(t('10:00:03'), 3 * YI),
      sealedDown(t('10:00:06'), 4 * YI),
      snap(t('10:00:09'), { last: 819, bids: [[819, 1000]], asks: [[820, 5000]] }),
    ];
    const d = drive(seq, { triggers: { ...amountRule, onBreak: true } });
    expect(d.log).toEqual(['10:00:03 LimitDownSealed', '10:00:09 LimitDownOpened']);
    expect(d.events[1]).toMatchObject({ type: 'LimitDownOpened', peak: 399_999_995 });
    expect(d.state.status).toBe('idle');
  });
});

describe('state', () => {
  it('survives a JSON round trip mid-segment (persisted across restarts) with identical results', () => {
    const all = sealedRun('10:05:00', 3, [15_000 * W, 15_200 * W, 5000 * W, 2900 * W, 1503 * W]);
    const whole = drive(all, {
      triggers: { ...amountRule, dropInWindow: { pct: 30, windowSec: 60 }, confirm: 1 },
    });
    const first = drive(all.slice(0, 3), {
      triggers: { ...amountRule, dropInWindow: { pct: 30, windowSec: 60 }, confirm: 1 },
    });
    const restored = JSON.parse(JSON.stringify(first.state));
    const rest = drive(all.slice(3), {
      triggers: { ...amountRule, dropInWindow: { pct: 30, windowSec: 60 }, confirm: 1 },
      state: restored,
    });
    expect([...first.events, ...rest.events]).toEqual(whole.events);
    expect(rest.state).toEqual(whole.state);
  });

  it('step never mutates the state it is given', () => {
    const s0 = drive(sealedRun('10:00:00', 3, [5 * YI, 5 * YI])).state;
    const frozen = JSON.stringify(s0);
    step(s0, sealed(t('10:00:06'), 10 * W), {
      limits: { up: UP, down: 818 },
      phase: 'continuous',
      now: t('10:00:06'),
      today: DAY,
      triggers: { ...amountRule, dropInWindow: { pct: 30, windowSec: 60 } },
      held: true,
    });
    expect(JSON.stringify(s0)).toBe(frozen);
  });
});
