/**
 * A restart (even a kill -9) must not announce again what the guard already announced: whatever
 * a subscriber has seen about a seal segment is on disk by then, and so is the segment's peak.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { opened, sealed, SYMBOL, t } from '../helpers/snapshots.ts';
import { harness, types, type Harness, type HarnessOptions } from './harness.ts';

const open: Harness[] = [];
afterEach(async () => {
  // The first process is "killed": its timers are stopped without letting it write again.
  for (const h of open.splice(0).reverse()) await h.stop();
});

/** The monitor state a fresh process would read from DATA_DIR right now. */
async function reopen(h: Harness, start: string, o: HarnessOptions = {}): Promise<Harness> {
  const next = await harness({ ...o, dir: h.dir, start });
  open.push(next);
  return next;
}

describe('guard restart', () => {
  it('a seal announced just before a kill is not announced again after the restart', async () => {
    const first = await harness();
    open.push(first);
    await first.feed(sealed(t('10:00:00'), 100_000_000));
    await first.feed(sealed(t('10:00:03'), 100_000_000));
    expect(types(first)).toContain('SealFormed');
    // Restart at once (no debounce allowed to run), 20 s later on the market clock.
    const second = await reopen(first, '10:00:20');
    await second.feed(sealed(t('10:00:20'), 100_000_000));
    await second.feed(sealed(t('10:00:23'), 100_000_000));
    expect(types(second)).not.toContain('SealFormed');
    expect(types(second)).not.toContain('Resealed');
    expect(second.guard.view(SYMBOL)).toMatchObject({ state: 'sealed', segment: 1 });
  });

  it('a break announced just before a kill is not announced again after the restart', async () => {
    const first = await harness();
    open.push(first);
    await first.feed(sealed(t('10:00:00'), 100_000_000));
    await first.feed(sealed(t('10:00:03'), 100_000_000));
    // Let the seal reach the disk the slow way, so only the break is at risk.
    await new Promise((r) => setTimeout(r, 1_300));
    await first.feed(opened(t('10:00:06')));
    expect(types(first)).toContain('BoardBroken');
    const second = await reopen(first, '10:00:20');
    await second.feed(opened(t('10:00:20')));
    await second.feed(opened(t('10:00:23')));
    expect(types(second)).not.toContain('BoardBroken');
  });

  it('the segment peak seen before a kill still counts for dropFromPeak after the restart', async () => {
    const rules: HarnessOptions = { mode: 'alert', triggers: { amount: null, dropFromPeak: 50 } };
    const first = await harness(rules);
    open.push(first);
    await first.feed(sealed(t('10:00:00'), 40_000_000));
    await first.feed(sealed(t('10:00:03'), 40_000_000));
    await new Promise((r) => setTimeout(r, 1_300));
    // The peak grows on quiet snapshots (no event) ...
    await first.feed(sealed(t('10:00:06'), 100_000_000));
    await first.feed(sealed(t('10:00:09'), 100_000_000));
    await new Promise((r) => setTimeout(r, 1_300));
    // ... and a restart still measures the drop from 1亿, not from 4000万.
    const second = await reopen(first, '10:00:30', rules);
    expect(second.guard.view(SYMBOL).segmentPeak).toBe(100_000_000);
    await second.feed(sealed(t('10:00:30'), 45_000_000));
    await second.feed(sealed(t('10:00:33'), 45_000_000));
    expect(types(second)).toContain('SellTriggered');
  });
});
