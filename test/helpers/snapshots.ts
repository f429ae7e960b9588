/**
 * Scripted level-1 snapshots for seal tests. One stock, prevClose 9.09: limit-up 10.00 and
 * limit-down 8.18, so a seal of N shares is exactly N × 10 yuan (2000万 = 2,000,000 shares).
 */
import { exchangeTs } from '../../src/domain/time.ts';
import { phaseAt } from '../../src/domain/session.ts';
import { step, initialMonitorState } from '../../src/domain/sealMonitor.ts';
import type { MonitorContext, MonitorEvent, MonitorState } from '../../src/domain/sealMonitor.ts';
import type { TriggerConfig } from '../../src/domain/triggers.ts';
import type { Snapshot } from '../../src/domain/types.ts';

/** A Monday and a trading day. */
export const DAY = '2026-11-23';
export const SYMBOL = '002116.SZ';
export const PREV = 909;
export const UP = 1000;
export const DOWN = 818;
export const LIMITS = { up: UP, down: DOWN };

export const t = (hhmmss: string): number => exchangeTs(DAY, hhmmss);

/** Shares on bid1 at 10.00 for a seal of `yuan`. */
export const sharesFor = (yuan: number): number => yuan / 10;

export function snap(ts: number, over: Partial<Snapshot> = {}): Snapshot {
  return {
    symbol: SYMBOL,
    name: '中国海诚',
    source: 'test',
    ts,
    status: 'normal',
    decimals: 2,
    last: 960,
    prevClose: PREV,
    open: 920,
    high: 965,
    low: 915,
    bids: [
      [959, 12_000],
      [958, 30_000],
    ],
    asks: [
      [960, 8_000],
      [961, 20_000],
    ],
    volume: 10_000_000,
    amount: 95_000_000,
    limitUp: UP,
    limitDown: DOWN,
    ...over,
  };
}

/** Sealed at limit-up with a seal of `yuan` on bid1 and no asks. */
export function sealed(ts: number, yuan: number, over: Partial<Snapshot> = {}): Snapshot {
  return snap(ts, {
    last: UP,
    high: UP,
    bids: [
      [UP, sharesFor(yuan)],
      [999, 40_000],
    ],
    asks: [],
    ...over,
  });
}

/** The board opened: sellers at the limit ate the queue, the best bid is below it. */
export function opened(ts: number, last = UP, bid1 = 998): Snapshot {
  return snap(ts, {
    last,
    high: UP,
    bids: [[bid1, 5_000]],
    asks: [[UP, 300_000]],
  });
}

/** Sealed at limit-down with `yuan` offered on ask1 and no bids. */
export function sealedDown(ts: number, yuan: number): Snapshot {
  return snap(ts, {
    last: DOWN,
    low: DOWN,
    bids: [],
    asks: [[DOWN, Math.floor((yuan * 100) / DOWN)]],
  });
}

export interface DriveOptions {
  triggers?: TriggerConfig;
  held?: boolean;
  sealConfirm?: number;
  limits?: { up: number; down: number } | null;
  /** Market clock at each snapshot; default: the snapshot's own ts. */
  nowOf?: (s: Snapshot) => number;
  state?: MonitorState;
}

export interface Drive {
  state: MonitorState;
  events: MonitorEvent[];
  /** Compact "HH:MM:SS Type" lines, to assert whole sequences at once. */
  log: string[];
}

const hms = (ts: number): string => new Date(ts + 8 * 3_600_000).toISOString().slice(11, 19);

export function drive(seq: Snapshot[], o: DriveOptions = {}): Drive {
  let state = o.state ?? initialMonitorState(SYMBOL, DAY);
  const events: MonitorEvent[] = [];
  for (const s of seq) {
    const now = o.nowOf ? o.nowOf(s) : s.ts;
    const ctx: MonitorContext = {
      limits: o.limits === undefined ? LIMITS : o.limits,
      phase: phaseAt(now),
      now,
      today: DAY,
      triggers: o.triggers ?? {},
      held: o.held ?? true,
      ...(o.sealConfirm !== undefined ? { sealConfirm: o.sealConfirm } : {}),
    };
    const r = step(state, s, ctx);
    state = r.state;
    events.push(...r.events);
  }
  return { state, events, log: events.map((e) => `${hms(e.at)} ${e.type}`) };
}

/** Snapshots every `everySec` seconds from `from`, sealed with the given amounts in turn. */
export function sealedRun(from: string, everySec: number, amounts: number[]): Snapshot[] {
  const start = t(from);
  return amounts.map((a, i) => sealed(start + i * everySec * 1000, a));
}
