/**
 * The seal series as the app records it: the engine's own day recorder (createEngine with an
 * event log), fed through Engine.onSnapshots. The guard names the stocks that sealed today as it
 * steps them, and only those are sampled, once per market minute (repeats of a quote add none).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { Snapshot } from '../../src/domain/types.ts';
import { EventLog } from '../../src/store/eventLog.ts';
import { DAY, sealed, snap, SYMBOL, t } from '../helpers/snapshots.ts';
import { harness, type Harness } from './harness.ts';

const OTHER = '600000.SH';
let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

it('samples only the watched stock that sealed, one line a market minute', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-samples-'));
  const log = new EventLog({ dataDir: dir });
  h = await harness({ dir, start: '09:59:00', mode: 'alert', eventLog: log });
  await h.guard.watch(OTHER, {});
  const quiet = (ts: number): Snapshot =>
    snap(ts, {
      symbol: OTHER,
      name: '浦发银行',
      prevClose: 1000,
      limitUp: 1100,
      limitDown: 900,
      last: 1010,
      bids: [[1009, 5_000]],
      asks: [[1010, 5_000]],
    });
  const batch = async (...snaps: Snapshot[]) => {
    h!.clock.set(Math.max(...snaps.map((s) => s.ts)));
    await h!.engine.onSnapshots(snaps);
    await h!.bus.idle();
  };
  await batch(snap(t('09:59:57')), quiet(t('09:59:57')));
  for (let i = 0; i < 40; i++) {
    const ts = t('10:00:00') + i * 3000;
    const seal = sealed(ts, 80_000_000);
    await batch(seal, quiet(ts));
    // The same quote again a second later (a poll faster than the exchange): a repeat. Not
    // for the first minute's quotes, whose sample must come from the quote's own step.
    if (ts < t('10:01:00')) continue;
    h.clock.set(ts + 1000);
    await h.engine.onSnapshots([seal, quiet(ts)]);
  }
  await h.bus.idle();
  await h.engine.recorder!.flushed();
  const samples = (await log.readDay(DAY)).filter((e) => e.type === 'SealSample');
  expect(samples.map((s) => s.symbol)).toEqual([SYMBOL, SYMBOL]);
  expect(samples.map((s) => s.ts)).toEqual([t('10:00:03'), t('10:01:00')]);
  expect(samples[0]).toMatchObject({ seal: 80_000_000, seg: 1, limitUp: '10.00' });
});
