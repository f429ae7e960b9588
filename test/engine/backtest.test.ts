import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseBacktestArgs, run } from '../../src/cli/backtest.ts';
import { formatBacktest, parseRecording, readRecording, runBacktest } from '../../src/engine/backtest.ts';
import { opened, sealed, sealedRun, snap, t } from '../helpers/snapshots.ts';

const W = 10_000;

/** A scripted day: sealed 10:00 at 1亿, drains, opens at 10:00:30, falls to 9.50, closes 9.60. */
function drainDay(): string {
  const seq = [
    snap(t('09:25:00'), { last: 930 }),
    ...sealedRun('10:00:00', 3, [
      10_000 * W,
      10_000 * W,
      8000 * W,
      5000 * W,
      3000 * W,
      1900 * W,
      1500 * W,
      1000 * W,
    ]),
    opened(t('10:00:24'), 999, 990),
    snap(t('10:00:27'), { last: 950, bids: [[950, 1000]], asks: [[951, 1000]] }),
    snap(t('14:56:57'), { last: 960 }),
    snap(t('15:00:00'), { last: 960 }),
  ];
  return seq.map((s) => JSON.stringify(s)).join('\n') + '\n';
}

describe('reading a recording', () => {
  it('skips bad lines with their line numbers and keeps the rest', () => {
    const good = JSON.stringify(sealed(t('10:00:00'), 5000 * W));
    const r = parseRecording(
      [good, '{not json', JSON.stringify({ ...sealed(t('10:00:03'), 1), ts: 'x' }), '', good].join('\n'),
    );
    expect(r.snapshots).toHaveLength(2);
    expect(r.skipped).toEqual([
      { line: 2, reason: 'not valid JSON' },
      { line: 3, reason: 'ts: Invalid input: expected number, received string' },
    ]);
  });
});

describe('backtest of a scripted drain', () => {
  const { snapshots } = parseRecording(drainDay());

  it('reports the segment, when each rule fired, the lead before the break, and the sale vs close and low', () => {
    const r = runBacktest(snapshots, { triggers: { amount: 2000 * W, dropFromPeak: 50 } });
    expect(r.symbols).toHaveLength(1);
    const s = r.symbols[0]!;
    expect(s).toMatchObject({ symbol: '002116.SZ', limitUp: '10.00', close: '9.60', closedSealed: false });
    expect(s.segments).toHaveLength(1);
    const seg = s.segments[0]!;
    expect(seg).toMatchObject({
      segment: 1,
      formed: '10:00:03',
      peak: 10_000 * W,
      broke: '10:00:24',
      lowAfterBreak: '9.50',
    });
    expect(seg.triggers.map((o) => [o.name, o.firedAt, o.sealAmount, o.leadSec, o.verdict])).toEqual([
      ['amount', t('10:00:15'), 1900 * W, 9, 'caught'],
      ['dropFromPeak', t('10:00:09'), 5000 * W, 15, 'caught'],
    ]);
    expect(seg.combined).toMatchObject({
      name: 'combined',
      rule: 'dropFromPeak',
      firedAt: t('10:00:09'),
      salePrice: '10.00',
      vsClosePct: 4.2,
      vsLowAfterBreakPct: 5.3,
      verdict: 'caught',
    });
    const text = formatBacktest(r);
    expect(text).toContain('segment 1: formed 10:00:03, peak 1亿, broke 10:00:24');
    expect(text).toContain(
      'amount       fired 10:00:15 封单 1900万 < 2000万，较峰值 1亿 回落 81% — 9 s before the break; sell 10.00 +4.2% vs close, +5.3% vs low after the break — caught: sold before the break',
    );
  });

  it('a trigger on a seal that holds to the close is a false alarm', () => {
    const seq = sealedRun('10:00:00', 3, [10_000 * W, 10_000 * W, 1500 * W, 1400 * W, 9000 * W]);
    seq.push(sealed(t('15:00:00'), 9000 * W));
    const r = runBacktest(seq, { triggers: { amount: 2000 * W } });
    const seg = r.symbols[0]!.segments[0]!;
    expect(seg.broke).toBeNull();
    expect(seg.combined).toMatchObject({ firedAt: t('10:00:06'), verdict: 'false-alarm', vsClosePct: 0 });
  });

  it('a trigger before a break that re-seals and closes at the limit is a premature exit', () => {
    const seq = [
      ...sealedRun('10:00:00', 3, [10_000 * W, 10_000 * W, 1500 * W]),
      opened(t('10:00:09')),
      ...sealedRun('10:00:12', 3, [5000 * W, 6000 * W]),
    ];
    const r = runBacktest(seq, { triggers: { amount: 2000 * W } });
    const segs = r.symbols[0]!.segments;
    expect(segs.map((x) => [x.segment, x.combined.verdict])).toEqual([
      [1, 'premature'],
      [2, 'held'],
    ]);
  });
});

describe('the backtest CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-backtest-'));
  const file = join(dir, 'day.jsonl');
  writeFileSync(file, drainDay() + 'garbage\n');

  it('defaults to the 2000万 threshold and parses every trigger option', () => {
    expect(parseBacktestArgs([file]).triggers).toEqual({ amount: 20_000_000 });
    expect(
      parseBacktestArgs([
        file,
        '--drop-from-peak',
        '50',
        '--drop-in-window',
        '30/60s',
        '--cap-ratio',
        '0.5',
        '--confirm',
        '1',
      ]).triggers,
    ).toEqual({ dropFromPeak: 50, dropInWindow: { pct: 30, windowSec: 60 }, capRatio: 0.5, confirm: 1 });
    expect(parseBacktestArgs([file, '--threshold', '0.3亿']).triggers).toEqual({ amount: 30_000_000 });
  });

  it('--json prints one JSON object; bad lines are reported on stderr', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const o = process.stdout.write.bind(process.stdout);
    const e = process.stderr.write.bind(process.stderr);
    process.stdout.write = ((c: string) => (out.push(c), true)) as typeof process.stdout.write;
    process.stderr.write = ((c: string) => (err.push(c), true)) as typeof process.stderr.write;
    let code: number;
    try {
      code = await run([file, '--json']);
    } finally {
      process.stdout.write = o;
      process.stderr.write = e;
    }
    expect(code).toBe(0);
    const report = JSON.parse(out.join(''));
    expect(report.skipped).toEqual([{ line: 14, reason: 'not valid JSON' }]);
    expect(report.symbols[0].segments[0].combined.firedAt).toBe(t('10:00:15'));
    expect(err.join('')).toContain(`${file}:14 skipped (not valid JSON)`);
  });

  it('several recordings (a shell glob such as data/demo/*.jsonl.gz) are replayed together', async () => {
    const other = join(dir, 'other.jsonl');
    writeFileSync(
      other,
      drainDay()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.stringify({ ...JSON.parse(l), symbol: '002812.SZ' }))
        .join('\n') + '\nnot json\n',
    );
    expect(parseBacktestArgs([file, other, '--json']).files).toEqual([file, other]);
    const out: string[] = [];
    const err: string[] = [];
    const o = process.stdout.write.bind(process.stdout);
    const e = process.stderr.write.bind(process.stderr);
    process.stdout.write = ((c: string) => (out.push(c), true)) as typeof process.stdout.write;
    process.stderr.write = ((c: string) => (err.push(c), true)) as typeof process.stderr.write;
    let code: number;
    try {
      code = await run([file, other, '--json']);
    } finally {
      process.stdout.write = o;
      process.stderr.write = e;
    }
    expect(code, err.join('')).toBe(0);
    const report = JSON.parse(out.join(''));
    expect(report.symbols.map((x: { symbol: string }) => x.symbol)).toEqual(['002116.SZ', '002812.SZ']);
    expect(err.join('')).toContain(`${file}:14 skipped (not valid JSON)`);
    expect(err.join('')).toContain(`${other}:14 skipped (not valid JSON)`);
  });

  it('bad arguments or an unreadable file: a clear message and exit code 2', async () => {
    const err: string[] = [];
    const e = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((c: string) => (err.push(c), true)) as typeof process.stderr.write;
    try {
      expect(await run([])).toBe(2);
      expect(await run([file, '--drop-in-window', '30'])).toBe(2);
      expect(await run([file, '--threshold', '-5w'])).toBe(2);
      expect(await run([file, '--bogus'])).toBe(2);
      expect(await run([join(dir, 'missing.jsonl')])).toBe(2);
    } finally {
      process.stderr.write = e;
    }
    const text = err.join('');
    expect(text).toContain('missing <recording.jsonl>');
    expect(text).toContain('--drop-in-window: expected <pct>/<seconds>s such as 30/60s, got "30"');
    expect(text).toContain(`cannot read recording ${join(dir, 'missing.jsonl')}: ENOENT`);
  });
});

const demo = fileURLToPath(new URL('../../data/demo/603859.SH.jsonl.gz', import.meta.url));
describe.runIf(existsSync(demo))('the demo drain-then-break scenario', () => {
  it('the default 2000万 threshold triggers before the board breaks, selling at the limit-up', async () => {
    const rec = await readRecording(demo);
    expect(rec.skipped).toEqual([]);
    const r = runBacktest(rec.snapshots, { triggers: { amount: 20_000_000 } });
    const seg = r.symbols[0]!.segments[0]!;
    expect(seg.brokeAt).not.toBeNull();
    expect(seg.combined.firedAt).not.toBeNull();
    expect(seg.combined.firedAt!).toBeLessThan(seg.brokeAt!);
    expect(seg.combined).toMatchObject({
      rule: 'amount',
      verdict: 'caught',
      salePrice: r.symbols[0]!.limitUp,
    });
  });
});
