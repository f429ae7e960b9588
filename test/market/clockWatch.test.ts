import { describe, expect, it } from 'vitest';
import { ExchangeClock } from '../../src/domain/clock.ts';
import { HealthBoard } from '../../src/engine/health.ts';
import { CLOCK_SKEW_KEY, ClockWatch, skewText } from '../../src/market/clockWatch.ts';

describe('ClockWatch', () => {
  it('tells the board once when the host is 60 s behind, and withdraws it when the host is fixed', () => {
    const w = { exchange: Date.parse('2026-11-23T10:00:00+08:00'), mono: 1000, host: -60_000 };
    const clock = new ExchangeClock(
      () => w.exchange + w.host,
      () => w.mono,
    );
    const board = new HealthBoard(() => w.exchange + w.host);
    const changes: string[] = [];
    board.onChange((c) => changes.push(`${c.kind}:${c.item.component}:${c.isNew}`));
    const watch = new ClockWatch(clock, board);
    const answer = () => {
      const sentAt = w.mono;
      w.mono += 30;
      w.exchange += 30;
      const d = w.exchange - (w.exchange % 1000);
      watch.observe({ sentAt, receivedAt: w.mono, serverDate: d, newestQuote: d - 1000 });
      w.mono += 1000;
      w.exchange += 1000;
    };
    for (let i = 0; i < 5; i++) answer();
    expect(board.get(CLOCK_SKEW_KEY)?.text).toBe(
      "host clock 60 s behind the exchange (measured from quote times and HTTP Date); freshness follows the exchange. Fix the host's time (NTP).",
    );
    expect(board.get(CLOCK_SKEW_KEY)?.component).toBe('clock');
    expect(changes).toEqual(['set:clock:true']);
    w.host = 0; // NTP fixed the host
    answer();
    expect(board.has(CLOCK_SKEW_KEY)).toBe(false);
  });

  it('words large and forward skews', () => {
    expect(skewText(-600_000)).toMatch(/^host clock 10 min ahead of the exchange/);
    expect(skewText(20_400)).toMatch(/^host clock 20 s behind/);
  });
});
