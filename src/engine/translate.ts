/**
 * The seal monitor's events (domain, in ticks and yuan) as the guard tells them to the world
 * (events.ts: prices as decimal strings, with the stock's name). Pure: one monitor event and the
 * quote it came from in, one guard event (or none) out. Triggers are not translated here: they
 * go to the executor, which announces them with the decision taken.
 */
import { formatTicks } from '../domain/prices.ts';
import { sealAmountUp } from '../domain/seal.ts';
import type { MonitorEvent } from '../domain/sealMonitor.ts';
import type { Security, Snapshot, Ticks } from '../domain/types.ts';
import type { GuardEvent } from './events.ts';

export interface Quoted {
  sec: Security;
  snapshot: Snapshot;
  /** The day's limits for the stock; null on a no-limit day. */
  limits: { up: Ticks; down: Ticks } | null;
}

export function guardEventOf(ev: MonitorEvent, q: Quoted, now: number): GuardEvent | undefined {
  const { sec, snapshot: s, limits } = q;
  const base = { at: ev.at ?? now, symbol: s.symbol, name: s.name };
  const up = limits ? formatTicks(limits.up, sec.decimals) : '';
  switch (ev.type) {
    case 'SealFormed':
      return { type: 'SealFormed', ...base, segment: ev.segment, sealAmount: ev.sealAmount, limitUp: up };
    case 'SealWeakening':
      return {
        type: 'SealWeakening',
        ...base,
        segment: ev.segment,
        sealAmount: ev.sealAmount,
        segmentPeak: ev.segmentPeak,
        dropPct: ev.dropPct,
        limitUp: up,
      };
    case 'BoardBroken':
      return {
        type: 'BoardBroken',
        ...base,
        segment: ev.segment,
        bid1: s.bids[0] ? formatTicks(s.bids[0][0], sec.decimals) : null,
        last: formatTicks(s.last, sec.decimals),
        triggered: ev.triggered,
      };
    case 'Resealed':
      return { type: 'Resealed', ...base, segment: ev.segment, sealAmount: sealAmountUp(s) };
    default:
      return undefined;
  }
}
