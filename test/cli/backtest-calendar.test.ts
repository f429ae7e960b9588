/**
 * Backtests on a provisional date (a year without calendar data) answer by the rules, as they do
 * on any date, and say that the day was replayed as a provisional trading day.
 */
import { describe, expect, it } from 'vitest';
import { exchangeTs } from '../../src/domain/time.ts';
import { formatBacktest, runBacktest } from '../../src/engine/backtest.ts';
import { sealed, snap } from '../helpers/snapshots.ts';

const at = (date: string, hhmmss: string) => exchangeTs(date, hhmmss);

describe('backtest on a provisional date', () => {
  it('replays 2027-01-04 by the rules, with a warning; a bundled date has none', () => {
    const day = (date: string) => [
      snap(at(date, '09:31:00')),
      ...Array.from({ length: 8 }, (_, i) =>
        sealed(at(date, '10:00:00') + i * 3000, 80_000_000 - i * 9_000_000),
      ),
    ];
    const r = runBacktest([...day('2027-01-04'), ...day('2026-11-23')], { triggers: { amount: 20_000_000 } });
    const [d27, d26] = [
      r.symbols.find((s) => s.date === '2027-01-04')!,
      r.symbols.find((s) => s.date === '2026-11-23')!,
    ];
    expect(d27.calendarWarning).toMatch(
      /2027-01-04 is a provisional trading day \(no exchange calendar data for 2027\)/,
    );
    expect(d26.calendarWarning).toBeUndefined();
    // Same answer by the rules on both days: the seal, its trigger, the limit.
    expect(d27.limitUp).toBe('10.00');
    expect(d27.segments.length).toBe(1);
    // Epoch times differ by the date; everything else matches.
    const strip = (v: unknown) => JSON.stringify(v, (k, x) => (/At$/.test(k) ? undefined : x));
    expect(strip(d27.segments)).toBe(strip(d26.segments));
    expect(formatBacktest(r)).toContain('⚠️ 2027-01-04 is a provisional trading day');
  });
});
