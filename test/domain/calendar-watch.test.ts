/**
 * The market deciding a provisional day. Snapshots have the shape the Tencent adapter produces
 * (src/market/tencentParse.ts: field 30 "YYYYMMDDhhmmss" becomes `ts`). On a closed day the real
 * sources keep answering with the last trading day's final snapshot, dated that day (see
 * test/helpers/tencentMarket.ts for the wire format the process tests serve).
 */
import { describe, expect, it } from 'vitest';
import { MarketDayWatch } from '../../src/domain/marketDayWatch.ts';
import { exchangeTs } from '../../src/domain/time.ts';
import { snap } from '../helpers/snapshots.ts';

const D = '2027-01-04';
const at = (hhmmss: string, date = D) => exchangeTs(date, hhmmss);
const q = (quoteTime: number, symbol = '002116.SZ', status: 'normal' | 'suspended' = 'normal') =>
  snap(quoteTime, { symbol, status, source: 'tencent' });

describe('confirmed open', () => {
  it('by one stock quoted at advancing times dated today in the opening auction', () => {
    const w = new MarketDayWatch();
    expect(w.onSnapshots([q(at('09:15:03'))], at('09:15:04'))).toBeUndefined();
    // The same stamp again is a repeat, not trading.
    expect(w.onSnapshots([q(at('09:15:03'))], at('09:15:07'))).toBeUndefined();
    expect(w.onSnapshots([q(at('09:15:06'))], at('09:15:07'))).toEqual({
      date: D,
      status: 'open',
      evidence: `002116.SZ quoted 09:15:03 → 09:15:06 dated ${D} (tencent)`,
    });
    // Decided once; later batches say nothing more.
    expect(w.onSnapshots([q(at('09:15:09'))], at('09:15:10'))).toBeUndefined();
  });

  it('in the continuous session, and not from a suspended stock or pre-auction stamps', () => {
    const w = new MarketDayWatch();
    expect(
      w.onSnapshots([q(at('09:00:00')), q(at('13:40:00'), '600519.SH', 'suspended')], at('13:40:01')),
    ).toBeUndefined();
    expect(w.onSnapshots([q(at('13:40:03'), '600519.SH', 'suspended')], at('13:40:04'))).toBeUndefined();
    expect(w.onSnapshots([q(at('13:40:00'))], at('13:40:04'))).toBeUndefined();
    expect(w.onSnapshots([q(at('13:40:03'))], at('13:40:05'))?.status).toBe('open');
  });
});

describe('confirmed closed', () => {
  const yesterday = () => [
    q(exchangeTs('2026-12-31', '15:00:03')),
    q(exchangeTs('2026-12-31', '15:00:03'), '600519.SH'),
  ];

  it('when quotes keep arriving from 09:35 on, none dated today, over 10 s', () => {
    const w = new MarketDayWatch();
    const day = '2027-01-01';
    // Before 09:35 the auction may still be about to print: nothing decided.
    expect(w.onSnapshots(yesterday(), at('09:20:00', day))).toBeUndefined();
    expect(w.onSnapshots(yesterday(), at('10:00:00', day))).toBeUndefined();
    expect(w.onSnapshots(yesterday(), at('10:00:05', day))).toBeUndefined();
    expect(w.onSnapshots(yesterday(), at('10:00:10', day))).toEqual({
      date: day,
      status: 'closed',
      evidence: 'no quote dated 2027-01-01 by 10:00:10; newest quote dated 2026-12-31 15:00:03 (tencent)',
    });
  });

  it('never from silence: a dead feed (no quotes) decides nothing', () => {
    const w = new MarketDayWatch();
    for (let s = 0; s < 60; s += 5)
      expect(w.onSnapshots([], at(`10:00:${String(s).padStart(2, '0')}`))).toBeUndefined();
  });

  it('a quote dated today, even outside the session, rules closed out', () => {
    const w = new MarketDayWatch();
    const today = [q(at('08:50:00'))];
    expect(w.onSnapshots(today, at('09:40:00'))).toBeUndefined();
    expect(w.onSnapshots(today, at('09:40:20'))).toBeUndefined();
  });

  it('open evidence later the same day reverses a closed decision; a new day starts afresh', () => {
    const w = new MarketDayWatch();
    const day = '2027-01-05';
    w.restore(day, 'closed');
    expect(w.onSnapshots([q(at('10:30:00', day))], at('10:30:01', day))).toBeUndefined();
    expect(w.onSnapshots([q(at('10:30:03', day))], at('10:30:04', day))?.status).toBe('open');
    // The next morning nothing carries over.
    expect(w.onSnapshots([q(at('10:30:03', day))], at('09:40:00', '2027-01-06'))).toBeUndefined();
  });
});

describe('after the close', () => {
  it('a quote stamped today inside the session confirms the day: nothing advances any more', () => {
    const w = new MarketDayWatch();
    expect(w.onSnapshots([q(at('15:00:03'))], at('15:04:58'))).toEqual({
      date: D,
      status: 'open',
      evidence: `002116.SZ last quoted 15:00:03 dated ${D}, seen after the close (tencent)`,
    });
    // Yesterday's close seen after today's close is not evidence of anything but a closed day.
    const h = new MarketDayWatch();
    expect(
      h.onSnapshots([q(exchangeTs('2026-12-31', '15:00:03'))], at('15:04:58', '2027-01-01')),
    ).toBeUndefined();
  });
});
