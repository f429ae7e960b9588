/**
 * `npm run bench`: the budgets of ARCHITECTURE.md "Budgets", measured on this machine through the
 * product's real code paths (no stubs in the measured path). A table, or `--json` for one object.
 *
 * - Tencent parse: parseTencent over the captured 900-row payload (GBK bytes, as the wire has it).
 * - Decision latency: Guard.onSnapshots with 5,000 watched symbols (stores on disk, paper broker).
 * - Quote-to-order: loopback Tencent market → FeedManager → Guard → BridgeBroker → fake bridge;
 *   from the moment the market answers with the draining book to the POST /v1/orders arriving.
 * - qmt push-to-order: `sealguard start` (QUOTE_SOURCES=qmt,tencent, BROKER=bridge) on the real QMT
 *   bridge process under the fake xtquant/xtdata (bridges/qmt/tests/run_fake_bridge.py); from the
 *   moment the drained tick is sent to the fake xtdata's control port to the sell POST arriving at
 *   the bridge's door (a loopback proxy in front of it notes the arrival). Skipped without python3.
 * - RSS and requests per cycle: a child process running the whole app (startApp) watching 5,000
 *   symbols against a loopback market; requests counted at the server.
 *
 * - CPU per watched symbol per poll: the same child process, utime+stime from /proc over >= 20 s of
 *   1 s polls with moving books, divided by the codes requested (`--quick`: 10 s windows).
 *
 * Every row is measured `--runs N` times (default 3; `--quick`: once, 10 s CPU windows) and the
 * median of the runs is reported. `--json` prints one object; the keys issue 15 names
 * (cpuUsPerSymbolPoll, pollToOrderMsP50/P99, rssMbAt5000, rssMbAt10000, tencentParseRecordsPerSec)
 * sit beside the older ones (cpuUsPerSymbolPollAt5000, quoteToOrderMsP50, ...), same figures.
 * Single rows for working on one path: --cpu-only, --rss-only, --qmt-only.
 * Experiment knobs (never used by the default run): BENCH_NODE_FLAGS (extra node flags for the
 * guard child), BENCH_PROFILE_DIR (a CPU profile of it), BENCH_CPU_SECONDS, BENCH_THREADS,
 * BENCH_MOVE_MS (--cpu-only: how often the books move).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import iconv from 'iconv-lite';
import { pino } from 'pino';
import { BridgeBroker } from '../src/broker/bridge.ts';
import { PaperBroker } from '../src/broker/paper.ts';
import { SimClock } from '../src/domain/clock.ts';
import { exchangeTs, formatExchangeTime } from '../src/domain/time.ts';
import type { Snapshot } from '../src/domain/types.ts';
import { createEngine } from '../src/engine/engine.ts';
import { HealthBoard } from '../src/engine/health.ts';
import { openGuardStores } from '../src/engine/state.ts';
import { FeedManager } from '../src/market/feedManager.ts';
import { TencentFeed } from '../src/market/tencent.ts';
import { parseTencent } from '../src/market/tencentParse.ts';
import { startFakeBotApi } from '../test/helpers/fakeBotApi.ts';
import { startTencentMarket, tencentLine, type Book } from '../test/helpers/tencentMarket.ts';
import {
  deadPort,
  hasPython,
  sealedTick,
  seedStocks,
  spawnGuard,
  startFakeQmt,
  timingProxy,
  type Stock,
} from '../test/process/qmt-e2e-harness.ts';
import { startQuoteServer } from '../test/market/quoteServer.ts';

const ROOT = join(import.meta.dirname, '..');
const DAY = '2026-11-24';
const N = 5000;
const silent = pino({ level: 'silent' });

interface Row {
  name: string;
  value: string;
  budget: string;
  pass: boolean | null;
}

/**
 * n distinct valid codes, alternating Shanghai and Shenzhen main board (600/601/603/605 and
 * 000-003: 5,000 gives 2,500 of each); past the ~8,000 main-board codes, ChiNext (300/301, 20%).
 */
function codes(n = N): { code: string; exchange: 'sh' | 'sz'; symbol: string; chinext?: true }[] {
  const out: { code: string; exchange: 'sh' | 'sz'; symbol: string; chinext?: true }[] = [];
  for (let i = 0; i < n; i++) {
    const sh = i % 2 === 0;
    const k = sh ? i / 2 : (i - 1) / 2;
    // 602xxx and 604xxx are not allocated ranges.
    const main = sh
      ? k < 4000
        ? String([600000, 601000, 603000, 605000][Math.floor(k / 1000)]! + (k % 1000))
        : null
      : k < 3999
        ? String(1 + k).padStart(6, '0')
        : null;
    if (main) out.push({ code: main, exchange: sh ? 'sh' : 'sz', symbol: `${main}.${sh ? 'SH' : 'SZ'}` });
    else {
      const code = String(sh ? 300000 + k - 4000 : 301000 + k - 3999);
      out.push({ code, exchange: 'sz', symbol: `${code}.SZ`, chinext: true });
    }
  }
  return out;
}

function book(
  code: string,
  exchange: 'sh' | 'sz',
  time: string,
  sealLots: number | null,
  chinext = false,
): Book {
  const up = chinext ? '12.00' : '11.00';
  const base = {
    code,
    exchange,
    name: '测试',
    date: DAY,
    time,
    prevClose: '10.00',
    limitUp: up,
    limitDown: chinext ? '8.00' : '9.00',
  };
  if (sealLots === null) return { ...base, last: '10.50', bids: [['10.49', 100]], asks: [['10.50', 100]] };
  return {
    ...base,
    last: up,
    high: up,
    bids: [
      [up, sealLots],
      [chinext ? '11.99' : '10.99', 500],
    ],
    asks: [],
  };
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

// ---- 0. How fast is this machine right now ---------------------------------------------------
/**
 * A fixed integer loop, ms (median of 5). Every row here is CPU-bound on a shared 2-core VM whose
 * speed moved 3x between two days (the unchanged parser: 1.27M then 0.39M records/s): this figure
 * says which kind of day a table was measured on.
 */
function hostLoopMs(): number {
  const t: number[] = [];
  for (let r = 0; r < 5; r++) {
    const a = performance.now();
    let x = 0;
    for (let i = 0; i < 100_000_000; i++) x = (x + i) % 1_000_003;
    if (x < 0) throw new Error('unreachable');
    t.push(performance.now() - a);
  }
  return t.sort((a, b) => a - b)[2]!;
}

// ---- 1. Tencent parse rate ------------------------------------------------------------------
function benchParse(): number {
  const text = readFileSync(
    join(ROOT, '../shared/reference/fixtures/tencent_20221122_full_900rows_utf8.txt'),
    'utf8',
  );
  const body = iconv.encode(text, 'gbk');
  const per = parseTencent(body).snapshots.length;
  if (per < 800) throw new Error(`the 900-row capture parsed to only ${per} records`);
  for (let i = 0; i < 50; i++) parseTencent(body); // warm-up (JIT)
  let records = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < 2000) {
    for (let i = 0; i < 20; i++) records += parseTencent(body).snapshots.length;
    elapsed = performance.now() - start;
  }
  return (records / elapsed) * 1000;
}

// ---- 2. Decision latency through Guard.onSnapshots -------------------------------------------
async function seededGuard(dir: string, symbols: string[], clock: SimClock) {
  const watches = Object.fromEntries(
    symbols.map((s) => [s, { symbol: s, name: '测试', origin: 'user', addedAt: clock.now() }]),
  );
  writeFileSync(
    join(dir, 'settings.json'),
    JSON.stringify({ version: 1, data: { watches, ignored: [], paused: false, notify: {} } }),
  );
  const stores = await openGuardStores(dir);
  const paper = await PaperBroker.open({ dataDir: dir, clock, positions: [], cash: 0 });
  const engine = await createEngine({
    dataDir: dir,
    clock,
    simulatedClock: true,
    broker: paper,
    sink: paper,
    stores,
    health: new HealthBoard(() => clock.now()),
    log: silent,
    defaultMode: 'alert',
    defaultTriggers: { amount: 20_000_000 },
    confirmTimeoutS: 60,
    confirmDefault: 'hold',
    positionsRefreshMs: 3_600_000,
  });
  await engine.start();
  return engine;
}

async function benchDecision(): Promise<{ p50: number; p99: number; batchMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-decide-'));
  const all = codes();
  let wall = exchangeTs(DAY, '10:00:00');
  const clock = new SimClock(wall, () => 0);
  const engine = await seededGuard(
    dir,
    all.map((c) => c.symbol),
    clock,
  );
  const round = (r: number): Snapshot[] => {
    const time = formatExchangeTime(wall).slice(11, 19);
    // Half the stocks sealed with a seal that moves every round (strong, above the 2000万 threshold,
    // so the monitors do their full work without selling), half trading below the limit.
    const body = all
      .map((c, i) =>
        tencentLine(book(c.code, c.exchange, time, i % 2 === 0 ? 40_000 + ((r * 37 + i) % 5000) : null)),
      )
      .join('\n');
    return parseTencent(iconv.encode(body, 'gbk')).snapshots;
  };
  const perSymbol: number[] = [];
  const batches: number[] = [];
  for (let r = 0; r < 12; r++) {
    wall += 3000;
    clock.set(wall);
    const snaps = round(r);
    if (snaps.length !== N) throw new Error(`expected ${N} snapshots, got ${snaps.length}`);
    if (r % 2 === 0) {
      // Whole batch, as the feed delivers a poll cycle.
      const t0 = performance.now();
      await engine.onSnapshots(snaps);
      batches.push(performance.now() - t0);
    } else {
      for (const s of snaps) {
        const t0 = performance.now();
        await engine.onSnapshots([s]);
        const dt = performance.now() - t0;
        if (r > 2) perSymbol.push(dt); // after warm-up
      }
    }
    await engine.bus.idle();
  }
  await engine.stop();
  return { p50: pct(perSymbol, 50), p99: pct(perSymbol, 99), batchMs: pct(batches.slice(1), 50) };
}

// ---- 3. Quote-to-order through loopback servers ----------------------------------------------
async function benchQuoteToOrder(runs = 5): Promise<number[]> {
  const stocks = codes(runs).map((c) => ({ ...c }));
  const positions = stocks.map((s) => ({
    symbol: s.symbol,
    name: '测试',
    quantity: 10_000,
    sellable_quantity: 10_000,
    avg_cost: '9.50',
    last_price: '10.50',
    market_value: '105000.00',
  }));
  // The bridge in its own thread (bench/bridgeWorker.ts): it sees the POST when it arrives.
  const worker = new Worker(new URL('./bridgeWorker.mjs', import.meta.url), {
    workerData: { positions },
  });
  const orderAt = new Map<string, number>();
  const bridge = await new Promise<{ url: string; token: string }>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (m: { url?: string; token?: string; order?: string; at?: number }) => {
      if (m.url && m.token) resolve({ url: m.url, token: m.token });
      else if (m.order && m.at !== undefined && !orderAt.has(m.order))
        orderAt.set(m.order, m.at - performance.timeOrigin);
    });
  });
  const books = new Map<string, Book>();
  const start = exchangeTs(DAY, '10:00:00');
  const t0 = Date.now();
  const clock = new SimClock(start, Date.now);
  const servedDrainAt = new Map<string, number>();
  const drained = new Set<string>();
  const market = await startQuoteServer((req, res) => {
    const q = decodeURIComponent(req.url ?? '').replace(/^.*q=/, '');
    const lines: string[] = [];
    for (const c of q.split(',')) {
      const b = books.get(c.trim());
      if (!b) continue;
      // Each book carries the time it last changed, as exchange snapshots do.
      lines.push(tencentLine(b));
      if (drained.has(c) && !servedDrainAt.has(c)) servedDrainAt.set(c, performance.now());
    }
    res
      .writeHead(200, { 'content-type': 'text/html; charset=GBK' })
      .end(iconv.encode(lines.join('\n') + '\n', 'gbk'));
  });
  for (const s of stocks) books.set(`${s.exchange}${s.code}`, book(s.code, s.exchange, '10:00:00', null));

  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-q2o-'));
  const stores = await openGuardStores(dir);
  const broker = new BridgeBroker({ url: bridge.url, token: bridge.token, clock });
  const engine = await createEngine({
    dataDir: dir,
    clock,
    simulatedClock: true,
    broker,
    stores,
    health: new HealthBoard(() => clock.now()),
    log: silent,
    defaultMode: 'auto',
    defaultTriggers: { amount: 20_000_000 },
    confirmTimeoutS: 60,
    confirmDefault: 'hold',
  });
  const feeds = new FeedManager({
    clock,
    feeds: [new TencentFeed({ baseUrl: market.url })],
    intervalMs: 200,
  });
  await engine.start(feeds);
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const nextSecond = async (): Promise<string> => {
    const now = start + (Date.now() - t0);
    await sleep(1000 - (now % 1000) + 5);
    return formatExchangeTime(start + (Date.now() - t0)).slice(11, 19);
  };
  const out: number[] = [];
  try {
    for (const s of stocks) {
      const key = `${s.exchange}${s.code}`;
      books.set(key, book(s.code, s.exchange, await nextSecond(), 90_000)); // 9900万 sealed
      await sleep(600);
      // A new exchange second, as a real new snapshot has: the monitor ignores same-time repeats.
      books.set(key, book(s.code, s.exchange, await nextSecond(), 9_000)); // 990万: below 2000万
      drained.add(key);
      const deadline = Date.now() + 5000;
      while (!orderAt.has(s.symbol) && Date.now() < deadline) await sleep(5);
      const a = servedDrainAt.get(key);
      const b = orderAt.get(s.symbol);
      if (a === undefined || b === undefined) throw new Error(`quote-to-order: no order for ${s.symbol}`);
      out.push(b - a);
    }
  } finally {
    await engine.stopInputs();
    await engine.stop();
    await market.close();
    worker.postMessage({ close: true });
    await new Promise((r) => worker.once('exit', r));
  }
  return out;
}

// ---- 3b. qmt push-to-order through the real bridge process and `sealguard start` ----------------
/** Per run: tick pushed -> sell POST at the bridge, and the part of it after the event left the bridge. */
async function benchQmtPushToOrder(runs = 30): Promise<{ total: number[]; guard: number[] } | null> {
  if (!hasPython) return null;
  const start = exchangeTs(DAY, '10:00:00');
  const t0 = Date.now();
  const now = () => start + (Date.now() - t0);
  const qmt = await startFakeQmt({ clock: start, keepalive: 1 });
  const proxy = await timingProxy(qmt.url);
  const bot = await startFakeBotApi();
  const stocks: Stock[] = codes(runs).map((c) => ({
    symbol: c.symbol,
    name: '测试',
    prevClose: 10,
    up: 11,
    down: 9,
  }));
  let guard: ReturnType<typeof spawnGuard> | undefined;
  let ticking = true;
  let loop: Promise<void> = Promise.resolve();
  try {
    await seedStocks(qmt, stocks);
    const sealed = new Set(stocks.map((s) => s.symbol)); // the ones the background ticks keep sealed
    const tickAll = async () => {
      const at = now();
      for (const s of stocks) {
        if (sealed.has(s.symbol)) await qmt.control('/fake/tick', sealedTick(s, at, 9_000_000)); // 9900万
      }
    };
    await tickAll();
    // A new timetag every second keeps each stock streaming (xtdata pushes changed codes only).
    loop = (async () => {
      while (ticking) {
        await new Promise((r) => setTimeout(r, 1000 - (now() % 1000) + 20));
        if (ticking) await tickAll().catch(() => undefined);
      }
    })();
    guard = spawnGuard({
      TELEGRAM_BOT_TOKEN: bot.token,
      TELEGRAM_ALLOWED_USERS: '424242426',
      TELEGRAM_API_ROOT: bot.apiRoot,
      QUOTE_SOURCES: 'qmt,tencent',
      TENCENT_QUOTE_URL: await deadPort(),
      BROKER: 'bridge',
      BROKER_URL: proxy.url,
      BROKER_TOKEN: qmt.token,
      SEALGUARD_CLOCK: new Date(start).toISOString(),
      DEFAULT_MODE: 'auto',
      DEFAULT_THRESHOLD: '2000w',
      LOG_LEVEL: 'warn',
      ...(process.env.UV_THREADPOOL_SIZE ? { UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE } : {}),
    });
    // Seal notices arrive one per stock or folded into digests ("🔒 30 sealed: …"): count both.
    const sealedSeen = () =>
      bot.calls
        .filter((c) => c.method === 'sendMessage')
        .map((c) => String(c.payload.text ?? ''))
        .reduce(
          (n, t) =>
            n + (t.match(/sealed at limit-up/g)?.length ?? 0) + Number(/🔒 (\d+) sealed:/.exec(t)?.[1] ?? 0),
          0,
        );
    const until = Date.now() + 60_000;
    while (sealedSeen() < runs) {
      if (Date.now() > until)
        throw new Error(`qmt push-to-order: ${sealedSeen()}/${runs} seals seen${guard.diag()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const out = { total: [] as number[], guard: [] as number[] };
    const posts = () => proxy.arrivals.filter((a) => a.method === 'POST' && a.path === '/v1/orders');
    for (const s of stocks) {
      sealed.delete(s.symbol);
      // Into a new exchange second, so the drained tick is a new snapshot, not a same-time repeat.
      await new Promise((r) => setTimeout(r, 1000 - (now() % 1000) + 300));
      const before = posts().length;
      const pushedAt = performance.now();
      await qmt.control('/fake/tick', sealedTick(s, now(), 900_000)); // 990万: below 2000万
      const deadline = Date.now() + 5000;
      while (posts().length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
      const post = posts()[before];
      if (!post) throw new Error(`qmt push-to-order: no sell of ${s.symbol}${guard.diag()}`);
      out.total.push(post.at - pushedAt);
      // The bridge writes compact JSON (separators=(",", ":")).
      const ev = proxy.events.find((e) => e.at >= pushedAt && e.text.includes(`"symbol":"${s.symbol}"`));
      if (ev) out.guard.push(post.at - ev.at);
    }
    return out;
  } finally {
    ticking = false;
    await loop;
    await guard?.stop();
    await proxy.close();
    await bot.close();
    await qmt.close();
  }
}

// ---- 4/5. RSS and requests per cycle with 5,000 watched, in a child process ------------------
/** Resident set of a running process, from /proc (Linux) or ps. */
function readRssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux: ask ps
  }
  return (
    Number(
      execFileSync('ps', ['-o', 'rss=', '-p', String(pid)])
        .toString()
        .trim(),
    ) / 1024
  );
}

/**
 * The node options `npm start` passes (package.json scripts.start: `node <options> bin/sealguard.js
 * start`), so the measured process is the one users run.
 */
function startNodeOptions(): string[] {
  const start = (
    JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }
  ).scripts.start;
  const m = /^node\s+(.*?)\s*bin\/sealguard\.js start$/.exec(start);
  if (!m) throw new Error(`unexpected "start" script: ${start}`);
  return m[1] ? m[1].split(/\s+/) : [];
}

/**
 * `sealed`: how many of the 5,000 sit sealed at limit-up (each one a monitor in the sealed state,
 * a journal entry and a seal notice); `telegram`: a loopback Bot API configured, so grammY and
 * the Telegram channel are loaded and sending.
 */
/**
 * `sealguard start` as users run it (npm start's node options, bin/sealguard.js), watching
 * `symbols` on a loopback Tencent market at the default 1 s poll, with a paper broker and a
 * simulated 10:00 clock. The RSS and CPU rows measure this same process.
 */
function spawnWatchingGuard(
  prefix: string,
  symbols: string[],
  marketUrl: string,
  extraEnv: Record<string, string>,
): ChildProcess {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const watches = Object.fromEntries(
    symbols.map((symbol) => [symbol, { symbol, name: '测试', origin: 'user', addedAt: 0 }]),
  );
  writeFileSync(
    join(dir, 'settings.json'),
    JSON.stringify({ version: 1, data: { watches, ignored: [], paused: false, notify: {} } }),
  );
  // BENCH_PROFILE_DIR=dir: the child writes a V8 CPU profile there on exit (for finding costs).
  const profile = process.env.BENCH_PROFILE_DIR
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`]
    : [];
  // BENCH_NODE_FLAGS="--flag ...": extra node/V8 flags for the child, for experiments only.
  const extra = process.env.BENCH_NODE_FLAGS ? process.env.BENCH_NODE_FLAGS.split(/\s+/) : [];
  return spawn(
    process.execPath,
    [...startNodeOptions(), ...profile, ...extra, join(ROOT, 'bin/sealguard.js'), 'start'],
    {
      // BENCH_CHILD_STDOUT=file: the child's stdout (where --trace-gc writes) goes there.
      stdio: [
        'pipe',
        process.env.BENCH_CHILD_STDOUT ? openSync(process.env.BENCH_CHILD_STDOUT, 'w') : 'ignore',
        'inherit',
      ],
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DATA_DIR: dir,
        QUOTE_SOURCES: 'tencent',
        TENCENT_QUOTE_URL: marketUrl,
        POLL_INTERVAL_MS: '1000',
        BROKER: 'paper',
        PAPER_POSITIONS: '600000:1000',
        SEALGUARD_CLOCK: `${DAY}T10:00:00+08:00`,
        LOG_LEVEL: 'warn',
        ...(process.env.UV_THREADPOOL_SIZE ? { UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE } : {}),
        ...extraEnv,
      },
    },
  );
}

/** Codes asked of the market so far: one full cycle asks each watched code once. */
function codesRequested(requests: { url: string }[]): number {
  return requests.reduce((n, q) => n + decodeURIComponent(q.url).replace(/^.*q=/, '').split(',').length, 0);
}

async function benchRss(o: { sealed?: number; telegram?: boolean; n?: number } = {}): Promise<{
  rssMb: number;
  peakMb: number;
  requestsPerCycle: number;
  cycles: number;
}> {
  const market = await startTencentMarket();
  const n = o.n ?? N;
  const all = codes(n);
  all.forEach((c, i) =>
    market.set(book(c.code, c.exchange, '10:00:00', i < (o.sealed ?? 0) ? 100_000 : null)),
  );
  const bot = o.telegram ? await startFakeBotApi() : undefined;
  // The real process as users run it (`npm start` -> bin/sealguard.js, the bundled build when it
  // is fresh), measured from outside: VmRSS after start-up and several full poll cycles.
  const child = spawnWatchingGuard(
    'sg-bench-rss-',
    all.map((c) => c.symbol),
    market.url,
    bot
      ? {
          TELEGRAM_BOT_TOKEN: bot.token,
          TELEGRAM_ALLOWED_USERS: '424242424',
          TELEGRAM_API_ROOT: bot.apiRoot,
        }
      : {},
  );
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  let rssMb = 0;
  let peakMb = 0;
  for (let i = 0; i < 16; i++) {
    await sleep(500);
    const now = readRssMb(child.pid!);
    if (i >= 8) rssMb = Math.max(rssMb, now);
    peakMb = Math.max(peakMb, now);
  }
  child.kill('SIGTERM');
  const code = await exited;
  await market.close();
  await bot?.close();
  if (code !== 0) throw new Error(`sealguard start exited ${code}`);
  // A cycle asks for each of the 5,000 codes once, so codes requested / 5,000 is the number of
  // cycles (partial ones counted by their fraction): requests per cycle without guessing boundaries.
  const codesAsked = codesRequested(market.requests);
  const cycles = codesAsked / n;
  if (cycles < 3) throw new Error(`only ${cycles.toFixed(1)} poll cycles seen`);
  return {
    rssMb,
    peakMb,
    requestsPerCycle: Math.round((market.requests.length / cycles) * 10) / 10,
    cycles: Math.round(cycles * 10) / 10,
  };
}

// ---- 6. Whole-process CPU per watched symbol per poll ----------------------------------------
/** utime + stime of a process in seconds, from /proc/<pid>/stat (Linux; fields 14 and 15). */
function cpuSeconds(pid: number, ticksPerSec: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / ticksPerSec;
}

/** stime alone (the kernel's share: sockets, wake-ups, timers). */
function sysSeconds(pid: number, ticksPerSec: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[12]) / ticksPerSec;
}

/** utime + stime of one thread (the main thread's id is the process id). */
function threadCpuSeconds(pid: number, tid: number, ticksPerSec: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / ticksPerSec;
}

function clockTicksPerSec(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
}

/**
 * `sealguard start` (as users run it) watching `n` symbols at 1 s polls against a loopback market
 * whose books move: every `moveMs` each book gets a new time stamp and volume, the sealed ones
 * (one in `sealedEvery`) a new seal size, the others a new last price. The child's utime+stime
 * over at least `seconds` of steady polling, divided by the codes the market was asked for, is the
 * CPU per watched symbol per poll, everything included (HTTP, parse, guard, paper broker, GC).
 */
/** Seconds of steady polling before the CPU window opens (see benchCpu). */
const WARM_SECONDS = 20;

async function benchCpu(o: { n: number; moveMs: number; sealedEvery: number; seconds: number }): Promise<{
  cpuUs: number;
  /** Of cpuUs, the JavaScript thread's share (the rest: V8's GC and compiler threads). */
  mainThreadUs: number;
  /** Of cpuUs, the kernel's (system time, all threads). */
  sysUs: number;
  cores: number;
  cycles: number;
}> {
  if (process.platform !== 'linux') throw new Error('the CPU measure reads /proc (Linux only)');
  const market = await startTencentMarket();
  const all = codes(o.n);
  const started = Date.now();
  let tick = 0;
  const move = (): void => {
    tick++;
    const sec = Math.floor((Date.now() - started) / 1000);
    const time = formatExchangeTime(exchangeTs(DAY, '10:00:00') + sec * 1000).slice(11, 19);
    all.forEach((c, i) => {
      const sealed = i % o.sealedEvery === 0;
      const lots = sealed ? 60_000 + ((i + tick * 7) % 40) * 1000 : null;
      const b = book(c.code, c.exchange, time, lots, c.chinext === true);
      if (!sealed) b.last = (1040 + ((i + tick) % 20)) / 100 + '';
      b.volumeLots = 100_000 + tick * 10 + (i % 10);
      market.set(b);
    });
  };
  move();
  const child = spawnWatchingGuard(
    'sg-bench-cpu-',
    all.map((c) => c.symbol),
    market.url,
    {},
  );
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const asked = (): number => codesRequested(market.requests);
  const timer = setInterval(move, o.moveMs);
  const hz = clockTicksPerSec();
  try {
    // Start-up (loading, the first cycles, JIT warm-up) is not the steady cost being budgeted.
    // V8 keeps optimising the hot path for the first ~20 s of polling (traced with --trace-opt
    // and --trace-gc, 2026-12-04: 9 TurboFan compiles in seconds 5-10, 4, 6, 2, then none after
    // 25 s), and each compile is milliseconds on the one helper thread: a window that starts
    // earlier bills an all-day process for its first minute. BENCH_WARM_SECONDS for experiments.
    const warmUntil = Date.now() + 30_000;
    while (asked() < 3 * o.n && Date.now() < warmUntil) await sleep(250);
    await sleep((Number(process.env.BENCH_WARM_SECONDS) || WARM_SECONDS) * 1000);
    const main0 = threadCpuSeconds(child.pid!, child.pid!, hz);
    const tids = () =>
      readdirSync(`/proc/${child.pid}/task`).map(
        (t) =>
          [
            t,
            readFileSync(`/proc/${child.pid}/task/${t}/comm`, 'utf8').trim(),
            threadCpuSeconds(child.pid!, Number(t), hz),
          ] as const,
      );
    const th0 = new Map(tids().map(([t, , c]) => [t, c]));
    const cpu0 = cpuSeconds(child.pid!, hz);
    const sys0 = sysSeconds(child.pid!, hz);
    const asked0 = asked();
    const t0 = performance.now();
    await sleep(o.seconds * 1000);
    const cpu1 = cpuSeconds(child.pid!, hz);
    const sys1 = sysSeconds(child.pid!, hz);
    const main1 = threadCpuSeconds(child.pid!, child.pid!, hz);
    if (process.env.BENCH_THREADS)
      process.stderr.write(
        tids()
          .map(([t, n, c]) => `${t}:${n}:${Math.round((c - (th0.get(t) ?? 0)) * 100)}`)
          .join(' ') + '\n',
      );
    const asked1 = asked();
    const wall = (performance.now() - t0) / 1000;
    const codesAsked = asked1 - asked0;
    if (codesAsked < 5 * o.n) throw new Error(`only ${(codesAsked / o.n).toFixed(1)} poll cycles measured`);
    return {
      cpuUs: ((cpu1 - cpu0) * 1e6) / codesAsked,
      mainThreadUs: ((main1 - main0) * 1e6) / codesAsked,
      sysUs: ((sys1 - sys0) * 1e6) / codesAsked,
      cores: (cpu1 - cpu0) / wall,
      cycles: codesAsked / o.n,
    };
  } finally {
    clearInterval(timer);
    child.kill('SIGTERM');
    await exited;
    await market.close();
  }
}

// ---- main ------------------------------------------------------------------------------------
async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const log = (s: string) => {
    if (!json) process.stderr.write(s + '\n');
  };
  const started = performance.now();
  if (args.includes('--qmt-only')) {
    // Just the qmt row (it needs python3 and two processes): for working on the stream path.
    const q = await benchQmtPushToOrder();
    process.stdout.write(
      JSON.stringify({
        qmtPushToOrderMsP50: q ? round3(pct(q.total, 50)) : null,
        qmtPushToOrderMsP99: q ? round3(pct(q.total, 99)) : null,
        qmtStreamToOrderMsP50: q ? round3(pct(q.guard, 50)) : null,
        qmtStreamToOrderMsP99: q ? round3(pct(q.guard, 99)) : null,
        qmtPushToOrderRuns: q ? q.total.length : 0,
        ...(q ? { samplesMs: q.total.map(round3), streamToOrderSamplesMs: q.guard.map(round3) } : {}),
      }) + '\n',
    );
    return 0;
  }
  if (args.includes('--rss-only')) {
    // Just the RSS rows (5,000 watched; then 2,000 of them sealed with Telegram on).
    const plain = await benchRss();
    const sealed = await benchRss({ sealed: 2000, telegram: true });
    process.stdout.write(JSON.stringify({ plain, sealed }) + '\n');
    return 0;
  }
  if (args.includes('--q2o-only')) {
    // Just the loopback poll-to-POST row, with enough runs for a p99: for working on that path.
    const q = await benchQuoteToOrder(30);
    process.stdout.write(
      JSON.stringify({ p50: round3(pct(q, 50)), p99: round3(pct(q, 99)), samples: q.map(round3) }) + '\n',
    );
    return 0;
  }
  if (args.includes('--cpu-only')) {
    // Just the 5,000 CPU row, with the split between the JS thread and V8's helpers (GC, JIT).
    const seconds = Number(process.env.BENCH_CPU_SECONDS) || 10;
    // BENCH_MOVE_MS: how often the books move (3000 as budgeted; 1000 every poll; 1e9 never).
    const moveMs = Number(process.env.BENCH_MOVE_MS) || 3000;
    const c = await benchCpu({ n: 5000, moveMs, sealedEvery: 20, seconds });
    process.stdout.write(JSON.stringify(c) + '\n');
    return 0;
  }
  // Every row is measured `runs` times (default 3, `--quick` 1) and its median reported: one run
  // of a 2-core box is too noisy to hold a budget against.
  const quick = args.includes('--quick');
  const runsArg = args.indexOf('--runs');
  const runs = quick ? 1 : Math.max(1, Number(runsArg >= 0 ? args[runsArg + 1] : 3) || 3);
  const times = async <T>(label: string, fn: () => Promise<T> | T): Promise<T[]> => {
    const out: T[] = [];
    for (let r = 0; r < runs; r++) {
      log(`${label}${runs > 1 ? ` (${r + 1}/${runs})` : ''}…`);
      out.push(await fn());
    }
    return out;
  };
  const hostMs = hostLoopMs();
  const parses = await times('parse', benchParse);
  const decisions = await times('decision latency (5,000 symbols)', benchDecision);
  const q2os = await times('poll-to-order through loopback servers', () => benchQuoteToOrder(10));
  const qmts = await times('qmt push-to-order through the QMT bridge process and `sealguard start`', () =>
    benchQmtPushToOrder(),
  );
  const rsss = await times('RSS and requests per cycle (`sealguard start` watching 5,000)', () => benchRss());
  const rssSealeds = await times('RSS with 5,000 watched, 2,000 of them sealed, Telegram on', () =>
    benchRss({ sealed: 2000, telegram: true }),
  );
  const rss10s = await times('RSS with 10,000 watched', () => benchRss({ n: 10_000 }));
  const cpuWindowS = quick ? 10 : 15;
  const cpu5s = await times(
    `CPU per symbol per poll at 5,000 (books moving every 3 s, 1 in 20 sealed as the budget says, ${cpuWindowS} s)`,
    () => benchCpu({ n: 5000, moveMs: 3000, sealedEvery: 20, seconds: cpuWindowS }),
  );
  const cpu10s = await times('… at 10,000', () =>
    benchCpu({ n: 10_000, moveMs: 3000, sealedEvery: 20, seconds: cpuWindowS }),
  );
  const cpuWorsts = await times('… at 5,000 with every book changing every poll (worst case)', () =>
    benchCpu({ n: 5000, moveMs: 1000, sealedEvery: 20, seconds: cpuWindowS }),
  );
  const med = (xs: number[]): number => pct(xs, 50);
  const parse = med(parses);
  const decision = {
    p50: med(decisions.map((d) => d.p50)),
    p99: med(decisions.map((d) => d.p99)),
    batchMs: med(decisions.map((d) => d.batchMs)),
  };
  const q2oP50 = med(q2os.map((q) => pct(q, 50)));
  const q2oP99 = med(q2os.map((q) => pct(q, 99)));
  const q2oMax = Math.max(...q2os.flat());
  const q2oRuns = q2os.reduce((n, q) => n + q.length, 0);
  const qmtRuns = qmts.filter((q): q is NonNullable<typeof q> => q !== null);
  const qmt = qmtRuns.length
    ? {
        p50: med(qmtRuns.map((q) => pct(q.total, 50))),
        p99: med(qmtRuns.map((q) => pct(q.total, 99))),
        guardP50: med(qmtRuns.map((q) => pct(q.guard, 50))),
        guardP99: med(qmtRuns.map((q) => pct(q.guard, 99))),
        runs: qmtRuns.reduce((n, q) => n + q.total.length, 0),
      }
    : null;
  const rss = {
    rssMb: med(rsss.map((r) => r.rssMb)),
    peakMb: med(rsss.map((r) => r.peakMb)),
    requestsPerCycle: Math.max(...rsss.map((r) => r.requestsPerCycle)),
  };
  const rssSealed = med(rssSealeds.map((r) => r.rssMb));
  const rss10 = med(rss10s.map((r) => r.rssMb));
  const cpu5 = { cpuUs: med(cpu5s.map((c) => c.cpuUs)), cores: med(cpu5s.map((c) => c.cores)) };
  const cpu10 = med(cpu10s.map((c) => c.cpuUs));
  const cpuWorst = med(cpuWorsts.map((c) => c.cpuUs));
  const result = {
    runs,
    hostLoopMs: Math.round(hostMs),
    tencentParseRecordsPerSec: Math.round(parse),
    decisionP50Ms: round3(decision.p50),
    decisionP99Ms: round3(decision.p99),
    decisionBatch5000Ms: round3(decision.batchMs),
    pollToOrderMsP50: round3(q2oP50),
    pollToOrderMsP99: round3(q2oP99),
    quoteToOrderMsP50: round3(q2oP50),
    quoteToOrderMsMax: round3(q2oMax),
    quoteToOrderRuns: q2oRuns,
    qmtPushToOrderMsP50: qmt ? round3(qmt.p50) : null,
    qmtPushToOrderMsP99: qmt ? round3(qmt.p99) : null,
    qmtStreamToOrderMsP50: qmt ? round3(qmt.guardP50) : null,
    qmtStreamToOrderMsP99: qmt ? round3(qmt.guardP99) : null,
    qmtPushToOrderRuns: qmt ? qmt.runs : 0,
    rssMbAt5000: Math.round(rss.rssMb * 10) / 10,
    rssMbPeakAt5000: Math.round(rss.peakMb * 10) / 10,
    rssMbAt5000Sealed2000Telegram: Math.round(rssSealed * 10) / 10,
    rssMbAt10000: Math.round(rss10 * 10) / 10,
    requestsPerCycleAt5000: rss.requestsPerCycle,
    cpuUsPerSymbolPoll: round3(cpu5.cpuUs),
    cpuUsPerSymbolPollAt5000: round3(cpu5.cpuUs),
    cpuCoresAt5000: round3(cpu5.cores),
    cpuUsPerSymbolPollAt10000: round3(cpu10),
    cpuUsPerSymbolPollAt5000AllChanging: round3(cpuWorst),
    benchSeconds: Math.round((performance.now() - started) / 100) / 10,
  };
  if (json) {
    process.stdout.write(JSON.stringify(result) + '\n');
    return 0;
  }
  const rows: Row[] = [
    {
      name: 'Tencent parse (records/s, one core)',
      value: result.tencentParseRecordsPerSec.toLocaleString('en-US'),
      budget: '>= 1,000,000',
      pass: parse >= 1_000_000,
    },
    { name: 'Decision per symbol p50 (ms)', value: String(result.decisionP50Ms), budget: '-', pass: null },
    {
      name: 'Decision per symbol p99 (ms)',
      value: String(result.decisionP99Ms),
      budget: '< 1',
      pass: decision.p99 < 1,
    },
    {
      name: 'Decision, whole 5,000 batch (ms)',
      value: String(result.decisionBatch5000Ms),
      budget: '-',
      pass: null,
    },
    {
      name: `Poll-to-order p50 (ms, ${q2oRuns} runs)`,
      value: String(result.pollToOrderMsP50),
      budget: '< 3',
      pass: q2oP50 < 3,
    },
    {
      name: '  poll-to-order p99 (ms)',
      value: String(result.pollToOrderMsP99),
      budget: 'same poll cycle',
      pass: q2oMax < 200,
    },
    {
      name: `qmt push-to-order p50 (ms${qmt ? `, ${qmt.runs} runs` : ', no python3: skipped'})`,
      value: String(result.qmtPushToOrderMsP50 ?? '-'),
      budget: '-',
      pass: null,
    },
    {
      name: 'qmt push-to-order p99 (ms)',
      value: String(result.qmtPushToOrderMsP99 ?? '-'),
      budget: '< 50',
      pass: qmt ? qmt.p99 < 50 : null,
    },
    {
      name: '  of which SealGuard: stream event to sell POST p99 (ms)',
      value: String(result.qmtStreamToOrderMsP99 ?? '-'),
      budget: '-',
      pass: null,
    },
    {
      name: 'RSS with 5,000 watched (MB)',
      value: String(result.rssMbAt5000),
      budget: '< 110',
      pass: rss.rssMb < 110,
    },
    {
      name: '  RSS peak incl. start-up (MB)',
      value: String(result.rssMbPeakAt5000),
      budget: '-',
      pass: null,
    },
    {
      name: 'RSS, 5,000 watched, 2,000 sealed, Telegram (MB)',
      value: String(result.rssMbAt5000Sealed2000Telegram),
      budget: '< 150',
      pass: rssSealed < 150,
    },
    {
      name: 'RSS with 10,000 watched (MB)',
      value: String(result.rssMbAt10000),
      budget: '< 150',
      pass: rss10 < 150,
    },
    {
      name: 'Requests per poll cycle at 5,000',
      value: String(result.requestsPerCycleAt5000),
      budget: '<= 10',
      pass: rss.requestsPerCycle <= 10,
    },
    {
      name: 'CPU per symbol per poll at 5,000 (µs)',
      value: String(result.cpuUsPerSymbolPoll),
      budget: '<= 5',
      pass: cpu5.cpuUs <= 5,
    },
    {
      name: '  share of one core at 5,000, 1 s polls',
      value: `${Math.round(cpu5.cores * 1000) / 10}%`,
      budget: '<= 3%',
      pass: cpu5.cores <= 0.03,
    },
    {
      name: 'CPU per symbol per poll at 10,000 (µs)',
      value: String(result.cpuUsPerSymbolPollAt10000),
      budget: '<= 5',
      pass: cpu10 <= 5,
    },
    {
      name: 'CPU per symbol per poll, every book changing (µs)',
      value: String(result.cpuUsPerSymbolPollAt5000AllChanging),
      budget: '-',
      pass: null,
    },
  ];
  const w = [Math.max(...rows.map((r) => r.name.length)), Math.max(...rows.map((r) => r.value.length)), 16];
  process.stdout.write(
    `${'Measure'.padEnd(w[0]!)}  ${'Value'.padStart(w[1]!)}  ${'Budget'.padEnd(w[2]!)}  Result\n`,
  );
  for (const r of rows) {
    process.stdout.write(
      `${r.name.padEnd(w[0]!)}  ${r.value.padStart(w[1]!)}  ${r.budget.padEnd(w[2]!)}  ${r.pass === null ? '' : r.pass ? 'pass' : 'FAIL'}\n`,
    );
  }
  process.stdout.write(
    `(medians of ${runs} run${runs > 1 ? 's' : ''}; ${result.benchSeconds} s; host loop ${result.hostLoopMs} ms: the machine's speed at the time, lower is faster)\n`,
  );
  return rows.every((r) => r.pass !== false) ? 0 : 1;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

process.exitCode = await main();
