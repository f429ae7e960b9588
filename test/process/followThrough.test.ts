/**
 * Follow-through end to end: the real `sealguard start` process (bridge broker, Tencent feed,
 * console chat) against the fake bridge (test/broker/fakeBridge.ts: BRIDGE-PROTOCOL.md, orders
 * that stay open until the test fills them, a cancel that is 202 pending_cancel and confirmed by
 * the next GET) and a scripted Tencent market (scriptedDay.ts: the stock seals, drains below
 * 2000万 and then breaks with sellers at the limit and the best bid at 10.95).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatExchangeTime, parseExchangeTime } from '../../src/domain/time.ts';
import { startFakeBridge, type FakeBridge, type Logged } from '../broker/fakeBridge.ts';
import { startTencentMarket, type TencentMarket } from '../helpers/tencentMarket.ts';
import { bridgePositions, heldStocks, playDay } from './scriptedDay.ts';

const BIN = join(import.meta.dirname, '../../bin/sealguard.js');
const STARTUP_LAG_MS = 900;

let market: TencentMarket;
let bridge: FakeBridge;
let day: ReturnType<typeof playDay> | undefined;
const children: ChildProcessWithoutNullStreams[] = [];

beforeEach(async () => {
  market = await startTencentMarket();
  bridge = await startFakeBridge();
});
afterEach(async () => {
  day?.stop();
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await market.close();
  await bridge.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isPost = (l: Logged) => l.method === 'POST' && l.path === '/v1/orders';
const posts = () => bridge.log.filter(isPost);
const cancels = () => bridge.log.filter((l) => l.method === 'POST' && l.path.endsWith('/cancel'));
const bodyOf = (l: Logged) => l.body as { client_order_id: string; quantity: number; limit_price: string };

async function until(what: string, cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end)
      throw new Error(
        `timed out waiting for ${what}; bridge log: ${JSON.stringify(bridge.log.map((l) => `${l.method} ${l.path}`))}`,
      );
    await sleep(50);
  }
}

function startGuard(dataDir: string, out: string[]): ChildProcessWithoutNullStreams {
  const child = spawn(process.execPath, [BIN, 'start'], {
    env: {
      PATH: process.env.PATH ?? '',
      TZ: process.env.TZ ?? '',
      TENCENT_QUOTE_URL: market.url,
      QUOTE_SOURCES: 'tencent',
      POLL_INTERVAL_MS: '200',
      DATA_DIR: dataDir,
      DEFAULT_MODE: 'auto',
      DEFAULT_THRESHOLD: '2000w',
      BROKER: 'bridge',
      BROKER_URL: bridge.url,
      BROKER_TOKEN: bridge.token,
      LOG_LEVEL: 'warn',
      SEALGUARD_CLOCK: formatExchangeTime(day!.marketNow() + STARTUP_LAG_MS),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  child.stdin.on('error', () => {});
  child.stderr.resume();
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => out.push(...d.split('\n')));
  return child;
}

async function kill9(c: ChildProcessWithoutNullStreams): Promise<void> {
  const exited = new Promise((r) => c.once('exit', r));
  c.kill('SIGKILL');
  await exited;
}

/** One held stock: seals 3 s into the script, drains below 2000万 from 5 s to 8 s, breaks at 13 s. */
function script(): void {
  const stocks = heldStocks(1, 3000, 10_000);
  bridge.positions = bridgePositions(stocks);
  day = playDay(market, stocks, parseExchangeTime('2026-11-24T10:00:00+08:00'));
}

describe('follow-through through `sealguard start` and the bridge', () => {
  it('drain -> sell at the limit-up; the board breaks before any fill -> one cancel, then one sell of the same quantity at the best bid', async () => {
    script();
    const out: string[] = [];
    const child = startGuard(mkdtempSync(join(tmpdir(), 'sg-follow-')), out);
    await until('the first sell', () => posts().length === 1, 20_000);
    const first = bodyOf(posts()[0]!);
    expect(first).toMatchObject({ quantity: 10_000, limit_price: '11.00' });
    await until('the replacement', () => posts().length === 2, 25_000);
    const second = bodyOf(posts()[1]!);
    expect(second).toMatchObject({
      client_order_id: `${first.client_order_id}r1`,
      quantity: 10_000,
      // The best bid after the break; above the floor (limit-down 9.00) and inside the cage
      // (reference 10.95: not below min(98% = 10.74, 10.85)).
      limit_price: '10.95',
    });
    expect(cancels().map((c) => c.path)).toEqual([`/v1/orders/${first.client_order_id}/cancel`]);
    const iCancel = bridge.log.indexOf(cancels()[0]!);
    const iSecond = bridge.log.indexOf(posts()[1]!);
    // The cancel was confirmed (a GET showing it final) before the replacement went out.
    expect(
      bridge.log
        .slice(iCancel, iSecond)
        .some((l) => l.method === 'GET' && l.path === `/v1/orders/${first.client_order_id}`),
    ).toBe(true);
    // Within REPLACE_AFTER_MS plus a poll or two of the break (13 s into the script).
    await sleep(4000);
    expect(posts()).toHaveLength(2);
    expect(cancels()).toHaveLength(1);
    const text = out.join('\n');
    expect(text).toMatch(/board broke at 10:00:1\d with the sell unfilled/);
    expect(text).toMatch(/replaced: sell 10000 @ 10\.95/);
    await kill9(child);
  }, 60_000);

  it('kill -9 between the cancel and the replacement: exactly one replacement after the restart', async () => {
    script();
    bridge.confirmCancels = false; // the counter has not confirmed the cancel when the guard dies
    const dataDir = mkdtempSync(join(tmpdir(), 'sg-follow-kill-'));
    const out: string[] = [];
    const child = startGuard(dataDir, out);
    await until('the cancel', () => cancels().length === 1, 30_000);
    await kill9(child);
    expect(posts()).toHaveLength(1);
    bridge.confirmCancels = true;
    const out2: string[] = [];
    const again = startGuard(dataDir, out2);
    await until('the replacement after the restart', () => posts().length === 2, 25_000);
    await sleep(4000);
    expect(posts()).toHaveLength(2);
    const ids = posts().map((p) => bodyOf(p).client_order_id);
    expect(ids[1]).toBe(`${ids[0]}r1`);
    expect(bodyOf(posts()[1]!).quantity).toBe(10_000);
    await kill9(again);
  }, 80_000);
});
