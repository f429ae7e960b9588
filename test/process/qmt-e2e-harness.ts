/**
 * The real QMT bridge as a process under the fake xtquant/xtdata
 * (bridges/qmt/tests/run_fake_bridge.py, its docstring lists the control endpoints), and the real
 * SealGuard process (`node bin/sealguard.js start`), for the qmt end-to-end test and the bench.
 * Nothing here imitates either: ticks go in through the fake xtdata's control port and come out
 * of the bridge's own `GET /v1/quotes/stream`; orders arrive at the bridge's `POST /v1/orders`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { formatExchangeTime } from '../../src/domain/time.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RUN_FAKE_BRIDGE = join(ROOT, 'bridges/qmt/tests/run_fake_bridge.py');
const BIN = join(ROOT, 'bin/sealguard.js');

export const hasPython = spawnSync('python3', ['--version']).status === 0;

export interface FakeQmt {
  /** BROKER_URL */
  url: string;
  token: string;
  /** POST to the control port (no auth); answers its JSON. */
  control(path: string, body?: unknown): Promise<Record<string, unknown>>;
  /** GET /fake/orders: the orders the fake counter received. */
  orders(): Promise<{ orders: FakeOrder[]; order_calls: unknown[][] }>;
  close(): Promise<void>;
}

export interface FakeOrder {
  order_id: number;
  stock_code: string;
  order_volume: number;
  price: number;
  order_remark: string;
}

function request(
  url: string,
  method: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request(
      url,
      {
        method,
        headers: {
          ...headers,
          ...(data ? { 'content-type': 'application/json', 'content-length': data.length } : {}),
        },
        agent: false,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error(`${method} ${url}: no answer in 5 s`)));
    req.on('error', reject);
    req.end(data);
  });
}

/** Starts run_fake_bridge.py; `clock` is where the bridge's clock starts (the test's market time). */
export async function startFakeQmt(opts: {
  clock: number;
  keepalive?: number;
  token?: string;
}): Promise<FakeQmt> {
  const token = opts.token ?? 'qmt-e2e-token-4b1d9c';
  const child: ChildProcess = spawn(
    'python3',
    [
      RUN_FAKE_BRIDGE,
      '--token',
      token,
      '--exit-on-stdin-close',
      '--clock',
      formatExchangeTime(opts.clock),
      '--keepalive',
      String(opts.keepalive ?? 1),
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => {
    if (stderr.length < 20_000) stderr += b.toString('utf8');
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const first = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const t = setTimeout(() => reject(new Error(`run_fake_bridge.py did not start: ${stderr}`)), 20_000);
    lines.once('line', (l) => {
      clearTimeout(t);
      resolve(l);
    });
    child.once('exit', (code) => reject(new Error(`run_fake_bridge.py exited ${code}: ${stderr}`)));
  });
  const urls = JSON.parse(first) as { bridge: string; control: string };
  const control = async (path: string, body: unknown = {}) => {
    const r = await request(urls.control + path, 'POST', body);
    const json = JSON.parse(r.text) as Record<string, unknown>;
    if (r.status !== 200) throw new Error(`control ${path}: ${r.status} ${r.text}`);
    return json;
  };
  return {
    url: urls.bridge,
    token,
    control,
    orders: async () => JSON.parse((await request(urls.control + '/fake/orders', 'GET')).text),
    close: async () => {
      child.stdin!.end(); // --exit-on-stdin-close
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

export interface Stock {
  symbol: string; // "002116.SZ"
  prevClose: number;
  up: number;
  down: number;
  name: string;
}

/** `/fake/tick` for a stock sealed at its limit-up with `bidShares` on bid1, stamped at `at`. */
export function sealedTick(
  s: Stock,
  at: number,
  bidShares: number,
  opts: { units?: 'lots' | 'shares_no_pvolume'; volume?: number } = {},
): Record<string, unknown> {
  const iso = formatExchangeTime(at);
  const volume = opts.volume ?? 10_000_000;
  return {
    symbol: s.symbol,
    last: s.up,
    prev_close: s.prevClose,
    bids: [
      [s.up, bidShares],
      [Math.round((s.up - 0.01) * 100) / 100, 40_000],
    ],
    asks: [],
    shares: volume,
    // A broken fake that sends shares where lots are expected gives the bridge nothing to measure
    // the unit by (no pvolume, no turnover), so it assumes lots, as for every stock.
    amount: opts.units === 'shares_no_pvolume' ? 0 : Math.round(volume * s.up * 0.97),
    timetag: `${iso.slice(0, 10).replace(/-/g, '')} ${iso.slice(11, 19)}`,
    open_int: 13,
    units: opts.units ?? 'lots',
  };
}

/** Instrument detail and a sellable position for each stock. */
export async function seedStocks(qmt: FakeQmt, stocks: Stock[], shares = 10_000): Promise<void> {
  for (const s of stocks) {
    await qmt.control('/fake/detail', {
      symbol: s.symbol,
      name: s.name,
      pre_close: s.prevClose,
      up: s.up,
      down: s.down,
    });
    await qmt.control('/fake/position', {
      symbol: s.symbol,
      name: s.name,
      volume: shares,
      can_use_volume: shares,
      avg_price: s.prevClose,
      last_price: s.up,
    });
  }
}

export interface Guard {
  child: ChildProcess;
  exited: Promise<number | null>;
  diag: () => string;
  stop(): Promise<number | 'timeout' | null>;
}

export function spawnGuard(env: Record<string, string>): Guard {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const child = spawn(process.execPath, [BIN, 'start'], {
    cwd: mkdtempSync(join(tmpdir(), 'sg-qmt-cwd-')),
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'sg-qmt-data-')),
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (b: Buffer) => stdout.push(b.toString('utf8')));
  child.stderr!.on('data', (b: Buffer) => stderr.push(b.toString('utf8')));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    exited,
    diag: () =>
      `\n--- stderr ---\n${stderr.join('').slice(-5000)}\n--- stdout ---\n${stdout.join('').slice(-3000)}`,
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const code = await Promise.race([
        exited,
        new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 8_000)),
      ]);
      if (code === 'timeout') child.kill('SIGKILL');
      return code;
    },
  };
}

/**
 * A loopback port with nothing behind it: a web quote source that never answers (connection
 * refused), so every quote the guard acts on came through the bridge.
 */
export async function deadPort(): Promise<string> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

/**
 * A transparent loopback HTTP proxy in front of the bridge that notes when each request's head
 * arrived (performance.now()), so the bench can time the sell POST at the bridge's door without
 * counting the bridge's own order handling, and when each quote stream chunk left the bridge.
 * Streams (SSE) pass through unbuffered.
 */
export async function timingProxy(target: string): Promise<{
  url: string;
  arrivals: { method: string; path: string; at: number }[];
  /** Chunks of the quote stream as they left the bridge, with when (performance.now()). */
  events: { at: number; text: string }[];
  close(): Promise<void>;
}> {
  const t = new URL(target);
  const arrivals: { method: string; path: string; at: number }[] = [];
  const events: { at: number; text: string }[] = [];
  const server = http.createServer((req, res) => {
    arrivals.push({ method: req.method ?? '', path: req.url ?? '', at: performance.now() });
    const stream = (req.url ?? '').startsWith('/v1/quotes/stream');
    const up = http.request(
      {
        host: t.hostname,
        port: t.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent: false,
      },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        res.flushHeaders();
        r.on('data', (c: Buffer) => {
          if (stream) {
            events.push({ at: performance.now(), text: c.toString('utf8') });
            if (events.length > 10_000) events.splice(0, 5_000);
          }
          res.write(c);
        });
        r.on('end', () => res.end());
        r.on('error', () => res.destroy());
      },
    );
    up.on('error', () => res.destroy());
    res.on('close', () => up.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    arrivals,
    events,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
