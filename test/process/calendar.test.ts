/**
 * The 2027 rollover, process-level: the real `sealguard start` (bridge broker against the fake
 * bridge of test/broker/fakeBridge.ts, Tencent feed against a loopback server serving Tencent's
 * wire format, console chat) with SEALGUARD_CLOCK set to the moments issue 12 names.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { formatExchangeTime, parseExchangeTime } from '../../src/domain/time.ts';
import { startFakeBridge, type FakeBridge } from '../broker/fakeBridge.ts';
import { startTencentMarket, type TencentMarket } from '../helpers/tencentMarket.ts';
import { bookOf, bridgePositions, heldStocks, playDay, quietBook } from './scriptedDay.ts';

const BIN = join(import.meta.dirname, '../../bin/sealguard.js');
/** The child's market clock starts when its config is read, about this long after spawn. */
const STARTUP_LAG_MS = 900;

let market: TencentMarket;
let bridge: FakeBridge;
beforeAll(async () => {
  market = await startTencentMarket();
  bridge = await startFakeBridge();
});
afterAll(async () => {
  await market?.close();
  await bridge?.close();
});
beforeEach(() => {
  bridge.orders.clear();
  market.books.clear();
});

class Run {
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: string[] = [];
  stderr = '';
  private buf = '';
  private waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  readonly exited: Promise<void>;

  constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, [BIN, 'start'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdin.on('error', () => {});
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (d: string) => (this.stderr += d));
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (d: string) => {
      this.buf += d;
      const parts = this.buf.split('\n');
      this.buf = parts.pop() ?? '';
      for (const l of parts) {
        this.lines.push(l);
        this.waiters = this.waiters.filter((w) => (w.re.test(l) ? (w.resolve(l), false) : true));
      }
    });
    this.exited = new Promise((r) => this.child.once('exit', () => r()));
  }

  /** A stdout line matching re (already printed or still to come), or null after ms. */
  waitLine(re: RegExp, ms: number): Promise<string | null> {
    const seen = this.lines.find((l) => re.test(l));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), ms);
      this.waiters.push({
        re,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  }

  /** The lines printed from the first one matching re on. */
  from(re: RegExp): string {
    const i = this.lines.findIndex((l) => re.test(l));
    return i < 0 ? '' : this.lines.slice(i).join('\n');
  }

  send(line: string): void {
    this.child.stdin.write(line + '\n');
  }

  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(ok: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (ok()) return true;
    await sleep(100);
  }
  return ok();
}

function start(dataDir: string, clock: number | string): Run {
  return new Run({
    PATH: process.env.PATH ?? '',
    TZ: process.env.TZ ?? '',
    TENCENT_QUOTE_URL: market.url,
    QUOTE_SOURCES: 'tencent',
    POLL_INTERVAL_MS: '300',
    DATA_DIR: dataDir,
    DEFAULT_MODE: 'auto',
    DEFAULT_THRESHOLD: '2000w',
    BROKER: 'bridge',
    BROKER_URL: bridge.url,
    BROKER_TOKEN: bridge.token,
    LOG_LEVEL: 'warn',
    SEALGUARD_CLOCK: typeof clock === 'string' ? clock : formatExchangeTime(clock + STARTUP_LAG_MS),
  });
}

/** The held stock's book frozen at a market moment (after the scripted break: open, 10.95). */
function frozen(iso: string): void {
  const [s] = heldStocks(1, 0, 0);
  market.set(bookOf(s!, 1e9, parseExchangeTime(iso)));
}

const observed = (dir: string): Record<string, { status: string; evidence: string }> =>
  existsSync(join(dir, 'calendar-observed.json'))
    ? JSON.parse(readFileSync(join(dir, 'calendar-observed.json'), 'utf8')).data.days
    : {};

const noCrash = (r: Run) => {
  expect(r.stderr).not.toMatch(/CalendarError|no exchange calendar|snapshot handling failed/);
};

describe('the 2027 rollover, process-level', () => {
  it('2027-01-04 13:40 with rows dated 2027-01-04: confirmed open, a drain sells in auto mode, the 15:05 summary is sent', async () => {
    const stocks = heldStocks(1, 4000, 10_000);
    bridge.positions = bridgePositions(stocks);
    const dir = mkdtempSync(join(tmpdir(), 'sg-cal27-'));
    const day = playDay(market, stocks, parseExchangeTime('2027-01-04T13:40:00+08:00'));
    const run = start(dir, day.marketNow());
    try {
      expect(await run.waitLine(/📅 2027-01-04: the market is open/, 15_000), run.stderr).not.toBeNull();
      expect(await until(() => bridge.orders.size > 0, 25_000), run.lines.join('\n')).toBe(true);
      const [order] = [...bridge.orders.values()];
      expect(order).toMatchObject({
        symbol: '002116.SZ',
        side: 'sell',
        quantity: 10_000,
        limit_price: '11.00',
      });
      expect(observed(dir)['2027-01-04']).toMatchObject({ status: 'open' });
      noCrash(run);
    } finally {
      day.stop();
      await run.kill();
    }
    // Restarted just before 15:05: the stored observation is reused (quotes no longer advance
    // after the close, so nothing could confirm the day again) and the summary goes out.
    frozen('2027-01-04T15:00:03+08:00');
    const late = start(dir, '2027-01-04T15:04:57+08:00');
    try {
      expect(await late.waitLine(/每日总结 2027-01-04/, 20_000), late.stderr).not.toBeNull();
      await sleep(300);
      const text = late.from(/每日总结 2027-01-04/);
      expect(text).toContain('中国海诚 002116.SZ');
      expect(text).toContain('Trading day confirmed by the market');
      expect(text).toMatch(/sell 卖出 10000 @ 11\.00/);
      noCrash(late);
    } finally {
      await late.kill();
    }
  }, 90_000);

  it('2027-01-01 10:00 with rows dated 2026-12-31: nothing sealed or sold, recorded closed, no summary', async () => {
    const stocks = heldStocks(1, 2000, 10_000);
    bridge.positions = bridgePositions(stocks);
    const dir = mkdtempSync(join(tmpdir(), 'sg-cal27-'));
    // Yesterday's session replayed, sealing and draining, stamped 2026-12-31: a source on a holiday.
    const day = playDay(market, stocks, parseExchangeTime('2026-12-31T13:40:00+08:00'));
    const run = start(dir, parseExchangeTime('2027-01-01T10:00:00+08:00'));
    try {
      expect(
        await run.waitLine(/📅 2027-01-01: the market is closed today/, 25_000),
        run.stderr,
      ).not.toBeNull();
      await sleep(6000); // the scripted seal and drain have happened by now
      expect(bridge.orders.size).toBe(0);
      expect(run.lines.join('\n')).not.toMatch(/sealed at limit-up|Sell trigger/);
      expect(observed(dir)['2027-01-01']).toMatchObject({
        status: 'closed',
        evidence: expect.stringContaining('newest quote dated 2026-12-31'),
      });
      noCrash(run);
    } finally {
      day.stop();
      await run.kill();
    }
    frozen('2026-12-31T15:00:03+08:00');
    const late = start(dir, '2027-01-01T15:04:56+08:00');
    try {
      expect(await late.waitLine(/每日总结/, 9000)).toBeNull();
      expect(bridge.orders.size).toBe(0);
      noCrash(late);
    } finally {
      await late.kill();
    }
  }, 90_000);

  it('2026-12-31 runs a normal day: briefing (with the 2027 warning), guard and sell, summary', async () => {
    const stocks = heldStocks(1, 4000, 10_000);
    bridge.positions = bridgePositions(stocks);
    const dir = mkdtempSync(join(tmpdir(), 'sg-cal26-'));
    frozen('2026-12-30T15:00:03+08:00');
    const morning = start(dir, '2026-12-31T08:59:57+08:00');
    try {
      expect(await morning.waitLine(/盘前简报 2026-12-31/, 20_000), morning.stderr).not.toBeNull();
      await sleep(300);
      expect(morning.from(/盘前简报 2026-12-31/)).toContain("The exchanges' 2027 closures are not known yet");
      expect(morning.from(/盘前简报 2026-12-31/)).toContain(
        'Next trading day 下一交易日 2027-01-01 (provisional 待行情确认)',
      );
      noCrash(morning);
    } finally {
      await morning.kill();
    }
    const day = playDay(market, stocks, parseExchangeTime('2026-12-31T13:40:00+08:00'));
    const run = start(dir, day.marketNow());
    try {
      expect(await until(() => bridge.orders.size > 0, 25_000), run.lines.join('\n')).toBe(true);
      noCrash(run);
    } finally {
      day.stop();
      await run.kill();
    }
    frozen('2026-12-31T15:00:03+08:00');
    const late = start(dir, '2026-12-31T15:04:57+08:00');
    try {
      expect(await late.waitLine(/每日总结 2026-12-31/, 20_000), late.stderr).not.toBeNull();
      await sleep(300);
      expect(late.from(/每日总结 2026-12-31/)).toMatch(/中国海诚 002116\.SZ[\s\S]*sell 卖出 10000 @ 11\.00/);
      noCrash(late);
    } finally {
      await late.kill();
    }
  }, 90_000);

  it('/calendar close 2027-02-08 春节 persists across a restart and that day is closed; 2027-13-01 is refused', async () => {
    const stocks = heldStocks(1, 3000, 10_000);
    bridge.positions = bridgePositions(stocks);
    const dir = mkdtempSync(join(tmpdir(), 'sg-cal27-'));
    frozen('2027-01-29T15:00:03+08:00');
    const a = start(dir, '2027-02-01T10:00:00+08:00');
    try {
      expect(await a.waitLine(/SealGuard is watching/, 20_000), a.stderr).not.toBeNull();
      a.send('/calendar close 2027-13-01');
      expect(await a.waitLine(/✗ 2027-13-01 is not a real calendar date/, 8000)).not.toBeNull();
      expect(existsSync(join(dir, 'calendar.json'))).toBe(false);
      a.send('/calendar close 2027-02-08 春节');
      expect(await a.waitLine(/✓ 2027-02-08 is now closed · yours \(春节\)/, 8000)).not.toBeNull();
    } finally {
      await a.kill();
    }
    // That day, a scripted seal and drain dated 2027-02-08: the guard stands down, by your entry.
    const day = playDay(market, stocks, parseExchangeTime('2027-02-08T13:40:00+08:00'));
    const b = start(dir, day.marketNow());
    try {
      expect(await b.waitLine(/SealGuard is watching/, 20_000), b.stderr).not.toBeNull();
      b.send('/calendar');
      expect(await b.waitLine(/2027-02-08 Mon · closed · yours \(春节\)/, 8000)).not.toBeNull();
      await sleep(9000); // past the scripted seal and drain
      expect(bridge.orders.size).toBe(0);
      expect(b.lines.join('\n')).not.toMatch(/sealed at limit-up|Sell trigger|market is open/);
      noCrash(b);
    } finally {
      day.stop();
      await b.kill();
    }
  }, 90_000);

  it('started at 15:04 with one held stock: the 15:05 summary names that stock', async () => {
    const stocks = heldStocks(1, 0, 0);
    bridge.positions = bridgePositions(stocks);
    const dir = mkdtempSync(join(tmpdir(), 'sg-cal26-'));
    const [s] = stocks;
    market.set(quietBook(s!.code, s!.exchange, s!.name, parseExchangeTime('2026-12-01T15:00:03+08:00')));
    const run = start(dir, '2026-12-01T15:04:45+08:00');
    try {
      expect(await run.waitLine(/每日总结 2026-12-01/, 30_000), run.stderr).not.toBeNull();
      await sleep(300);
      const text = run.from(/每日总结 2026-12-01/);
      expect(text).toContain('中国海诚 002116.SZ · 涨停 11.00 · close 收盘 10.10 (+1%)');
      expect(text).toContain('Holding 持仓 10000 · cost 9.50');
      expect(run.lines.join('\n')).not.toContain('盘前简报');
      noCrash(run);
    } finally {
      await run.kill();
    }
  }, 90_000);
});
