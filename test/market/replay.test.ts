import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { exchangeTs } from '../../src/domain/time.ts';
import type { Snapshot } from '../../src/domain/types.ts';
import type { StreamState } from '../../src/market/feed.ts';
import { snapshotToJson } from '../../src/market/recorder.ts';
import { ReplayFeed, type ReplayOptions } from '../../src/market/replay.ts';

const at = (hms: string) => exchangeTs('2026-11-23', hms);

function snap(symbol: string, hms: string, last: number): Snapshot {
  return {
    symbol,
    name: symbol === '002116.SZ' ? '中国海诚' : '杭钢股份',
    source: 'replay',
    ts: at(hms),
    status: 'normal',
    decimals: 2,
    last,
    prevClose: 911,
    open: 920,
    high: last,
    low: 920,
    bids: [[last, 1000]],
    asks: [],
    volume: 100,
    amount: 920,
  };
}

function writeRecording(name: string, lines: string[], gzip = false): string {
  const dir = mkdtempSync(join(tmpdir(), 'sg-replay-'));
  const path = join(dir, name);
  const text = lines.join('\n') + '\n';
  writeFileSync(path, gzip ? gzipSync(text) : text);
  return path;
}

async function play(options: ReplayOptions, symbols: string[] = []) {
  const feed = await ReplayFeed.open(options);
  const got: Array<{ symbol: string; ts: number; last: number; clock: number }> = [];
  const states: StreamState[] = [];
  feed.start(
    symbols,
    (s) => got.push({ symbol: s.symbol, ts: s.ts, last: s.last, clock: feed.clock.now() }),
    (s) => states.push(s),
  );
  await feed.finished;
  return { feed, got, states };
}

const A = '002116.SZ';
const F = '600126.SH';

describe('ReplayFeed', () => {
  it('merges several recordings (plain and gzip) in timestamp order and ends', async () => {
    const a = writeRecording(
      'a.jsonl',
      [snap(A, '09:30:03', 930), snap(A, '09:30:09', 931), snap(A, '09:30:12', 932)].map(snapshotToJson),
    );
    const f = writeRecording(
      'f.jsonl.gz',
      [snap(F, '09:30:06', 652), snap(F, '09:30:09', 653)].map(snapshotToJson),
      true,
    );
    const { got, states, feed } = await play({ files: [a, f], speed: Infinity, symbols: 'all' });

    expect(got.map((g) => [g.symbol, g.last])).toEqual([
      [A, 930],
      [F, 652],
      [A, 931],
      [F, 653],
      [A, 932],
    ]);
    // The clock follows the market: each snapshot arrives when the replayed time has reached it.
    expect(got.every((g) => g.clock === g.ts)).toBe(true);
    expect(feed.clock.now()).toBe(at('09:30:12'));
    expect(states).toEqual(['open', 'ended']);
  });

  it('reports each bad line with its file and line number, skips it and carries on', async () => {
    const good = snapshotToJson(snap(A, '09:30:03', 930));
    const path = writeRecording('bad.jsonl', [
      good,
      'this is not json',
      JSON.stringify({ ...snap(A, '09:30:06', 931), last: '9.31' }),
      '',
      JSON.stringify({ symbol: 'sz002116' }),
      snapshotToJson(snap(A, '09:30:00', 929)),
      snapshotToJson(snap(A, '09:30:09', 932)),
    ]);
    const bad: string[] = [];
    const { got, states } = await play({
      files: [path],
      speed: Infinity,
      symbols: 'all',
      onBadLine: (m) => bad.push(m),
    });

    expect(got.map((g) => g.last)).toEqual([930, 932]);
    expect(bad).toEqual([
      `${path}:2: skipped, not JSON`,
      `${path}:3: skipped, not a snapshot (last: Invalid input: expected number, received string)`,
      `${path}:5: skipped, not a snapshot (symbol: expected a canonical id like "002116.SZ")`,
      `${path}:6: skipped, ts ${at('09:30:00')} is earlier than the line before`,
    ]);
    expect(states).toEqual(['open', 'ended']);
  });

  it('plays at the given speed on its own clock: 60x turns 6 market seconds into ~100 ms', async () => {
    const path = writeRecording(
      's.jsonl',
      [snap(A, '10:00:00', 930), snap(A, '10:00:03', 931), snap(A, '10:00:06', 932)].map(snapshotToJson),
    );
    const t0 = Date.now();
    const { got } = await play({ files: [path], speed: 60, symbols: 'all' });
    const elapsed = Date.now() - t0;

    expect(got.map((g) => g.last)).toEqual([930, 931, 932]);
    expect(elapsed).toBeGreaterThanOrEqual(95);
    expect(elapsed).toBeLessThan(1000);
    for (const g of got) expect(g.clock).toBeGreaterThanOrEqual(g.ts);
  });

  it('startAt jumps the clock and emits the latest snapshot per symbol there as the baseline', async () => {
    const a = writeRecording(
      'a.jsonl',
      [snap(A, '09:30:03', 930), snap(A, '09:30:09', 931), snap(A, '09:31:00', 940)].map(snapshotToJson),
    );
    const f = writeRecording(
      'f.jsonl',
      [snap(F, '09:30:06', 652), snap(F, '09:32:00', 660)].map(snapshotToJson),
    );
    const feed = await ReplayFeed.open({
      files: [a, f],
      speed: Infinity,
      symbols: 'all',
      startAt: at('09:30:30'),
    });
    expect(feed.clock.now()).toBe(at('09:30:30'));
    const got: Array<[string, number, number]> = [];
    feed.start([], (s) => got.push([s.symbol, s.last, feed.clock.now()]));
    await feed.finished;

    expect(got).toEqual([
      [F, 652, at('09:30:30')],
      [A, 931, at('09:30:30')],
      [A, 940, at('09:31:00')],
      [F, 660, at('09:32:00')],
    ]);
  });

  it('emits only watched symbols, and a newly watched one starts from its latest state', async () => {
    const a = writeRecording(
      'a.jsonl',
      [snap(A, '09:30:03', 930), snap(A, '09:30:09', 931)].map(snapshotToJson),
    );
    const f = writeRecording(
      'f.jsonl',
      [snap(F, '09:30:06', 652), snap(F, '09:30:12', 653)].map(snapshotToJson),
    );
    const feed = await ReplayFeed.open({ files: [a, f], speed: Infinity });
    const got: Array<[string, number]> = [];
    feed.start([A], (s) => {
      got.push([s.symbol, s.last]);
      if (s.last === 931) feed.setSymbols([A, F]);
    });
    await feed.finished;

    expect(got).toEqual([
      [A, 930],
      [A, 931],
      [F, 652],
      [F, 653],
    ]);
  });

  it('stop() ends a real-time replay at once without emitting more', async () => {
    const path = writeRecording(
      'slow.jsonl',
      [snap(A, '10:00:00', 930), snap(A, '10:05:00', 931)].map(snapshotToJson),
    );
    const feed = await ReplayFeed.open({ files: [path], speed: 1, symbols: 'all' });
    const got: number[] = [];
    const states: StreamState[] = [];
    feed.start(
      [],
      (s) => got.push(s.last),
      (s) => states.push(s),
    );
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await feed.stop();

    expect(Date.now() - t0).toBeLessThan(100);
    expect(got).toEqual([930]);
    expect(states).toEqual(['open', 'closed']);
  });

  it('refuses a missing recording, naming it', async () => {
    await expect(ReplayFeed.open({ files: ['/nonexistent/day.jsonl'] })).rejects.toThrow(
      'replay: cannot read recording /nonexistent/day.jsonl',
    );
    expect(() => new ReplayFeed({ files: [] })).toThrow('no recording files');
    expect(() => new ReplayFeed({ files: ['x'], speed: 0 })).toThrow('speed must be a positive number');
  });
});
