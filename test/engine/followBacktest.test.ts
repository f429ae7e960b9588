/**
 * The backtest's follow-through model: the combined trigger's sell followed on the recording with
 * chase on and off, through the same state machine the guard runs (src/engine/backtestFollow.ts).
 */
import { describe, expect, it } from 'vitest';
import { formatBacktest, runBacktest } from '../../src/engine/backtest.ts';
import { opened, sealed, sealedRun, t } from '../helpers/snapshots.ts';

const every3s = (from: string, n: number, f: (ts: number) => ReturnType<typeof opened>) =>
  Array.from({ length: n }, (_, i) => f(t(from) + i * 3000));

describe('backtest follow-through model', () => {
  it('a 20,000 sell meets 10,000 at the limit, then the break: chase on sells the rest down the bids, chase off leaves it', () => {
    const snaps = [
      ...sealedRun('10:00:00', 3, [100_000_000, 100_000_000, 60_000_000]),
      sealed(t('10:00:09'), 100_000), // 10,000 shares left in the queue: the trigger
      ...every3s('10:00:12', 3, (ts) => opened(ts, 1000, 998)),
      ...every3s('10:00:21', 4, (ts) => ({ ...opened(ts, 996, 995), bids: [[995, 20_000]] })),
    ];
    const r = runBacktest(snaps, { triggers: { amount: 20_000_000 }, quantity: 20_000 });
    const f = r.symbols[0]!.segments[0]!.combined.follow!;
    expect(f.off).toMatchObject({ sold: 10_000, left: 10_000, replacements: 0, avgPrice: '10.00' });
    expect(f.on).toMatchObject({ sold: 20_000, left: 0, replacements: 2 });
    // 10,000 x 10.00 + 5,000 x 9.98 + 5,000 x 9.95 = 199,650 of 200,000 at the limit-up.
    expect(f.on.avgPrice).toBe('9.98');
    expect(f.on.vsLimitUpPct).toBe(-0.2);
    const text = formatBacktest(r);
    expect(text).toMatch(
      /chase on {5}sold 20000 avg 9\.98 \(-0\.2% vs all at the limit-up\), 2 replacement\(s\): placed 10\.00 10:00:09 · broke 10:00:12 · cancel 10:00:12 · cancelled 10000 10:00:15 · replaced 9\.98 10:00:15/,
    );
    expect(text).toMatch(
      /chase off {4}sold 10000 avg 10\.00 \(\+0% vs all at the limit-up\), 10000 left unsold, 0 replacement\(s\)/,
    );
  });
});
