/**
 * kill -9 chaos: the real `sealguard start` process (bridge broker, Tencent feed, console chat)
 * runs through a scripted day in which several held stocks seal and drain, and is SIGKILLed at
 * random moments, 20+ times, on one DATA_DIR: during start-up, between polls, right after a
 * command was acknowledged, and while a command is still being written. Between kills the console
 * adds watches and settings. Asserts at the broker that no client order id and no seal segment
 * got two orders, and in settings.json that nothing acknowledged was ever lost.
 *
 * Seeded: CHAOS_SEED=<n> replays a failing run's kill schedule (the seed is in the failure text).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatExchangeTime, parseExchangeTime } from '../../src/domain/time.ts';
import { startFakeBridge, type FakeBridge } from '../broker/fakeBridge.ts';
import { startTencentMarket, type TencentMarket } from '../helpers/tencentMarket.ts';
import { bridgePositions, heldStocks, playDay, QUIET } from './scriptedDay.ts';

const BIN = join(import.meta.dirname, '../../bin/sealguard.js');
const KILLS = 22;
const SEED = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);
/** The child's market clock starts when its config is read, about this long after spawn. */
const STARTUP_LAG_MS = 900;

/** mulberry32: a small seeded PRNG, so a failing kill schedule can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface WatchModel {
  amount?: number;
  mode?: string;
  drop?: number;
}

type Model = Map<string, WatchModel>;

interface Command {
  text: string;
  symbol: string;
  apply(m: WatchModel): WatchModel;
}

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

class Run {
  readonly child: ChildProcessWithoutNullStreams;
  lines: string[] = [];
  private buf = '';
  private waiters: { re: RegExp; from: number; resolve: (l: string) => void }[] = [];
  readonly exited: Promise<void>;

  constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, [BIN, 'start'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdin.on('error', () => {}); // writes racing the kill
    this.child.stderr.resume();
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (d: string) => {
      this.buf += d;
      const parts = this.buf.split('\n');
      this.buf = parts.pop() ?? '';
      for (const l of parts) {
        this.lines.push(l);
        this.waiters = this.waiters.filter((w) => {
          if (!w.re.test(l)) return true;
          w.resolve(l);
          return false;
        });
      }
    });
    this.exited = new Promise((r) => this.child.once('exit', () => r()));
  }

  /** The next stdout line (from now on) matching re, or null after ms. */
  waitLine(re: RegExp, ms: number): Promise<string | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), ms);
      this.waiters.push({
        re,
        from: this.lines.length,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  }

  send(line: string): void {
    this.child.stdin.write(line + '\n');
  }

  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** Same settings regardless of key order. */
const same = (a: WatchModel | undefined, b: WatchModel | undefined): boolean =>
  JSON.stringify(a && Object.entries(a).sort()) === JSON.stringify(b && Object.entries(b).sort());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readSettings(dataDir: string): {
  watches: Record<
    string,
    { mode?: string; triggers?: { amount?: number | null; dropFromPeak?: number | null } }
  >;
} {
  const file = join(dataDir, 'settings.json');
  if (!existsSync(file)) return { watches: {} };
  return (JSON.parse(readFileSync(file, 'utf8')) as { data: ReturnType<typeof readSettings> }).data;
}

function observed(s: ReturnType<typeof readSettings>, symbol: string): WatchModel | undefined {
  const w = s.watches[symbol];
  if (!w) return undefined;
  const m: WatchModel = {};
  if (w.triggers?.amount != null) m.amount = w.triggers.amount;
  if (w.mode) m.mode = w.mode;
  if (w.triggers?.dropFromPeak != null) m.drop = w.triggers.dropFromPeak;
  return m;
}

describe('kill -9 at random moments through a scripted day', () => {
  it(`loses no acknowledged watch or setting and never orders twice (seed ${SEED})`, async () => {
    const rnd = prng(SEED);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
    const stocks = heldStocks(4, 4000, 10_000);
    bridge.positions = bridgePositions(stocks);
    const t0 = parseExchangeTime('2026-11-24T10:00:00+08:00');
    const day = playDay(market, stocks, t0);
    const dataDir = mkdtempSync(join(tmpdir(), 'sg-chaos-'));
    const env = {
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
    };

    const model: Model = new Map();
    const makeCommand = (): Command => {
      const [code, ex] = pick(QUIET);
      const symbol = `${code}.${ex.toUpperCase()}`;
      const watched = model.has(symbol);
      const kind = watched ? pick(['watch', 'mode', 'drop'] as const) : 'watch';
      if (kind === 'watch') {
        const w = 1000 + Math.floor(rnd() * 90) * 100;
        return { text: `/watch ${code} ${w}w`, symbol, apply: (m) => ({ ...m, amount: w * 10_000 }) };
      }
      if (kind === 'mode') {
        const mode = pick(['auto', 'confirm', 'alert']);
        return { text: `/mode ${code} ${mode}`, symbol, apply: (m) => ({ ...m, mode }) };
      }
      const pct = 10 + Math.floor(rnd() * 80);
      return { text: `/trigger ${code} drop ${pct}%`, symbol, apply: (m) => ({ ...m, drop: pct }) };
    };

    const report: string[] = [];
    let acked = 0;
    let inflight: Command | undefined;
    try {
      for (let i = 0; i < KILLS; i++) {
        const run = new Run({
          ...env,
          SEALGUARD_CLOCK: formatExchangeTime(day.marketNow() + STARTUP_LAG_MS),
        });
        const style = rnd();
        let how: string;
        if (style < 0.25) {
          // Anywhere in start-up: stores opening, broker positions, first poll.
          const at = Math.floor(rnd() * 1800);
          await sleep(at);
          how = `start-up +${at}ms`;
        } else {
          const up = await run.waitLine(/SealGuard is watching/, 8000);
          if (!up) throw new Error(`run ${i} never started:\n${run.lines.join('\n')}`);
          const n = Math.floor(rnd() * 3);
          for (let k = 0; k < n; k++) {
            const cmd = makeCommand();
            inflight = cmd;
            const code = cmd.symbol.slice(0, 6);
            const ack = run.waitLine(new RegExp(`[✓✗].*${code}`), 4000);
            run.send(cmd.text);
            const line = await ack;
            if (!line || !line.includes('✓')) throw new Error(`"${cmd.text}" got ${line ?? 'no answer'}`);
            model.set(cmd.symbol, cmd.apply(model.get(cmd.symbol) ?? {}));
            inflight = undefined;
            acked++;
          }
          if (rnd() < 0.4) {
            // Kill while a command is being handled: its outcome may go either way, never half.
            const cmd = makeCommand();
            inflight = cmd;
            run.send(cmd.text);
            const at = Math.floor(rnd() * 40);
            await sleep(at);
            how = `${n} acked, 1 in flight +${at}ms`;
          } else {
            const at = Math.floor(rnd() * 1500);
            await sleep(at);
            how = `${n} acked, idle +${at}ms`;
          }
        }
        await run.kill();
        if (process.env.CHAOS_DEBUG) console.log(`--- run ${i + 1}\n${run.lines.join('\n')}`);
        report.push(`kill ${i + 1} at ${(day.elapsed() / 1000).toFixed(1)}s (${how})`);

        // Between restarts: everything acknowledged is on disk; an in-flight command is all or nothing.
        const s = readSettings(dataDir);
        for (const [symbol, want] of model) {
          const got = observed(s, symbol);
          const alt = inflight?.symbol === symbol ? inflight.apply(want) : undefined;
          if (alt && same(got, alt)) {
            model.set(symbol, alt);
            continue;
          }
          expect(got, `${symbol} after kill ${i + 1} (seed ${SEED})\n${report.join('\n')}`).toEqual(want);
        }
        if (inflight && !model.has(inflight.symbol)) {
          const got = observed(s, inflight.symbol);
          if (got) {
            expect(got).toEqual(inflight.apply({}));
            model.set(inflight.symbol, got);
          }
        }
        inflight = undefined;
      }
    } finally {
      day.stop();
    }

    const why = `seed ${SEED}\n${report.join('\n')}`;
    // The broker's view: one order per client order id (same-key resends are replays, not orders)
    // and, with one seal segment per stock, one segment sell per stock. After the break the book
    // stays at bid 10.95, so follow-through may replace it once (the segment's id + r1), and only
    // after the broker shows the first one cancelled: never two live sells of the same shares.
    const perSymbol = new Map<string, string[]>();
    for (const [id, o] of bridge.orders)
      perSymbol.set(String(o.symbol), [...(perSymbol.get(String(o.symbol)) ?? []), id]);
    for (const [symbol, ids] of perSymbol) {
      const roots = ids.filter((id) => !/r\d+$/.test(id));
      expect(roots, `${symbol}: ${why}`).toHaveLength(1);
      const root = roots[0] as string;
      expect(
        ids.filter((id) => id !== root),
        `${symbol}: ${why}`,
      ).toEqual(ids.length > 1 ? [`${root}r1`] : []);
      if (ids.length > 1) expect(bridge.orders.get(root)?.status, `${symbol}: ${why}`).toBe('cancelled');
    }
    const placedPosts = bridge.log.filter((l) => l.method === 'POST' && l.path === '/v1/orders');
    const keys = new Set(placedPosts.map((p) => p.idempotencyKey));
    expect(keys.size).toBe(bridge.orders.size);
    // Every order the broker got is in orders.json, under the same id (intent before the call).
    const intents = (
      JSON.parse(readFileSync(join(dataDir, 'orders.json'), 'utf8')) as {
        data: { intents: Record<string, { symbol: string }> };
      }
    ).data.intents;
    for (const id of bridge.orders.keys()) expect(Object.keys(intents), why).toContain(id);
    // Not a vacuous pass: the day did sell, and commands were acknowledged and checked.
    // (How many of the four sell depends on whether a run was alive in each weak-seal window.)
    expect(bridge.orders.size, why).toBeGreaterThanOrEqual(1);
    expect(acked, why).toBeGreaterThanOrEqual(5);
    expect(model.size).toBeGreaterThanOrEqual(2);
    console.log(
      `chaos: seed ${SEED}, ${KILLS} kills, ${acked} commands acknowledged, ${bridge.orders.size} orders ` +
        `(${placedPosts.length} POSTs) for ${[...perSymbol.keys()].join(', ')}`,
    );
  }, 150_000);
});
