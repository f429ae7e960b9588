import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/record.ts';
import { exchangeTs } from '../../src/domain/time.ts';
import type { Snapshot } from '../../src/domain/types.ts';
import { parseSnapshotLine, SnapshotRecorder, snapshotToJson } from '../../src/market/recorder.ts';
import { fixtureBytes } from '../helpers/fixtures.ts';

const GBK = fixtureBytes('tencent_20221122_gbk.txt');
// The same capture a moment later: 中国海诚's seal shrinks by 465 lots (ASCII digits are the same bytes in GBK).
const LATER = Buffer.from(GBK.toString('latin1').replaceAll('~10.02~280465~', '~10.02~280000~'), 'latin1');

let server: Server;
let baseUrl: string;
let requests: string[] = [];
let bodies: Buffer[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const body = bodies[Math.min(requests.length, bodies.length) - 1] ?? GBK;
    res.writeHead(200, { 'content-type': 'text/html; charset=GBK' });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
afterEach(() => {
  requests = [];
  bodies = [];
  delete process.env.TENCENT_QUOTE_URL;
});

const tmp = () => mkdtempSync(join(tmpdir(), 'sg-record-'));
const lines = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map(parseSnapshotLine);

function snap(ts: number, bid1: number): Snapshot {
  return {
    symbol: '002116.SZ',
    name: '中国海诚',
    source: 'tencent',
    ts,
    status: 'normal',
    decimals: 2,
    last: 1002,
    prevClose: 911,
    open: 905,
    high: 1002,
    low: 905,
    bids: [[1002, bid1]],
    asks: [],
    volume: 18_688_000,
    amount: 180_426_623,
    limitUp: 1002,
    limitDown: 820,
  };
}

describe('SnapshotRecorder', () => {
  it('appends one snapshot per line in the Snapshot field order, skipping repeats of the same market', async () => {
    const path = join(tmp(), 'day.jsonl');
    const rec = await SnapshotRecorder.open(path);
    const t = exchangeTs('2022-11-22', '11:30:00');
    expect(rec.write(snap(t, 28_046_500))).toBe(true);
    expect(rec.write(snap(t + 3000, 28_046_500))).toBe(false); // only the time moved
    expect(rec.write(snap(t + 6000, 28_000_000))).toBe(true);
    await rec.close();

    expect(rec.written).toBe(2);
    expect(lines(path)).toEqual([snap(t, 28_046_500), snap(t + 6000, 28_000_000)]);
    expect(readFileSync(path, 'utf8').split('\n')[0]).toBe(
      '{"symbol":"002116.SZ","name":"中国海诚","source":"tencent","ts":1669087800000,"status":"normal","decimals":2,"last":1002,"prevClose":911,"open":905,"high":1002,"low":905,"bids":[[1002,28046500]],"asks":[],"volume":18688000,"amount":180426623,"limitUp":1002,"limitDown":820}',
    );
  });

  it('appends to an existing recording rather than replacing it', async () => {
    const path = join(tmp(), 'day.jsonl');
    writeFileSync(path, snapshotToJson(snap(1, 100)) + '\n');
    const rec = await SnapshotRecorder.open(path);
    rec.write(snap(2, 200));
    await rec.close();
    expect(lines(path).map((s) => s.bids[0]![1])).toEqual([100, 200]);
  });

  it('refuses a path it cannot write, naming it', async () => {
    await expect(SnapshotRecorder.open('/nonexistent-dir/day.jsonl')).rejects.toThrow(
      'cannot write recording /nonexistent-dir/day.jsonl',
    );
  });
});

describe('sealguard record', () => {
  it('polls Tencent (GBK) and writes only the snapshots that changed', async () => {
    process.env.TENCENT_QUOTE_URL = baseUrl;
    bodies = [GBK, GBK, LATER];
    const out = join(tmp(), 'rec.jsonl');
    const code = await run(['002116', 'sz002072', '--out', out, '--interval', '100', '--duration', '0.55']);

    expect(code).toBe(0);
    expect(requests.length).toBeGreaterThanOrEqual(4);
    expect(requests[0]).toBe('/q=sz002116,sz002072');
    const got = lines(out);
    // Body order (002072 comes first in the capture), then only the record that changed.
    expect(got.map((s) => [s.symbol, s.bids[0]])).toEqual([
      ['002072.SZ', [988, 5_226_700]],
      ['002116.SZ', [1002, 28_046_500]],
      ['002116.SZ', [1002, 28_000_000]],
    ]);
    expect(got[1]).toMatchObject({
      source: 'tencent',
      name: '中国海诚',
      ts: exchangeTs('2022-11-22', '11:57:42'),
      limitUp: 1002,
    });
  });

  it('rejects bad input with a message and writes nothing', async () => {
    const dir = tmp();
    const out = join(dir, 'never.jsonl');
    expect(await run(['60051', '--out', out])).toBe(2);
    expect(await run(['600519', '--out', out, '--source', 'yahoo'])).toBe(2);
    expect(await run(['600519', '--out', out, '--interval', 'fast'])).toBe(2);
    expect(await run(['600519', '--out', out, '--duration', '-1'])).toBe(2);
    expect(await run(['600519'])).toBe(2);
    expect(await run(['600519', '--out', join(dir, 'missing-dir', 'x.jsonl')])).toBe(2);
    expect(existsSync(out)).toBe(false);
    expect(requests).toEqual([]);
  });

  it('flushes and exits 0 on Ctrl-C', async () => {
    const out = join(tmp(), 'rec.jsonl');
    const bin = fileURLToPath(new URL('../../bin/sealguard.js', import.meta.url));
    const child = spawn(process.execPath, [bin, 'record', '002116', '--out', out, '--interval', '100'], {
      env: { ...process.env, TENCENT_QUOTE_URL: baseUrl },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    const deadline = Date.now() + 15_000;
    while (requests.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');

    expect(await exited).toBe(0);
    expect(stderr).toContain('recorded 1 snapshots');
    expect(lines(out).map((s) => s.symbol)).toEqual(['002116.SZ']);
  });
});
