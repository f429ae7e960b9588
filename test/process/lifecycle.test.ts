/**
 * The process around the guard, through the real `node bin/sealguard.js start`:
 * - one guard per DATA_DIR: a second start is refused with one line naming the first; after the
 *   first is killed -9 (its lock file left behind) a new start works; a second demo does not wipe
 *   the running demo's files;
 * - SIGTERM ends the process within 5 s with the chat, broker and quote servers gone dark (a
 *   host that vanished: connections accepted or held, never answered), and a second signal
 *   exits at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startFakeBridge, type FakeBridge } from '../broker/fakeBridge.ts';
import { startDarkProxy, type DarkProxy } from '../helpers/darkProxy.ts';
import { startFakeBotApi, type FakeBotApi } from '../helpers/fakeBotApi.ts';
import { sealedBook, startTencentMarket, type TencentMarket } from '../helpers/tencentMarket.ts';

const BIN = join(import.meta.dirname, '../../bin/sealguard.js');
const START = '2026-11-23T10:00:00+08:00';

class Proc {
  readonly child: ChildProcess;
  out = '';
  err = '';
  readonly exited: Promise<{ code: number | null; signal: string | null; at: number }>;

  constructor(args: string[], env: Record<string, string>) {
    this.child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TZ: process.env.TZ ?? '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (b: Buffer) => (this.out += b.toString('utf8')));
    this.child.stderr!.on('data', (b: Buffer) => (this.err += b.toString('utf8')));
    this.exited = new Promise((r) =>
      this.child.once('exit', (code, signal) => r({ code, signal, at: Date.now() })),
    );
    procs.push(this);
  }

  async waitOut(re: RegExp, ms = 20_000): Promise<void> {
    const until = Date.now() + ms;
    while (!re.test(this.out)) {
      if (this.child.exitCode !== null || Date.now() > until)
        throw new Error(`no ${re} on stdout (exit ${this.child.exitCode})${this.diag()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  diag(): string {
    return `\n--- stderr ---\n${this.err.slice(-3000)}\n--- stdout ---\n${this.out.slice(-1500)}`;
  }
}

const procs: Proc[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(() => {
  for (const p of procs.splice(0))
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
});
afterAll(async () => {
  for (const c of closers.splice(0)) await c();
});

/** A paper guard whose only source is unreachable: enough to hold DATA_DIR and answer the console. */
function paperEnv(dataDir: string): Record<string, string> {
  return {
    DATA_DIR: dataDir,
    BROKER: 'paper',
    PAPER_POSITIONS: '002116:10000',
    QUOTE_SOURCES: 'tencent',
    TENCENT_QUOTE_URL: 'http://127.0.0.1:1',
    LOG_LEVEL: 'warn',
  };
}

const RUNNING = /SealGuard is (running|watching)/;

describe('one guard per DATA_DIR', () => {
  it('a second start is refused naming the first; after kill -9 of the first a new start works', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-lock-'));
    const a = new Proc(['start'], paperEnv(dir));
    await a.waitOut(RUNNING);
    expect(existsSync(join(dir, 'sealguard.lock'))).toBe(true);

    const b = new Proc(['start'], paperEnv(dir));
    const rb = await b.exited;
    expect(rb.code, b.diag()).toBe(1);
    const lines = b.err.trim().split('\n');
    expect(lines, b.err).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^sealguard: cannot start: DATA_DIR ${dir} is in use by another SealGuard \\(pid ${a.child.pid}, \`sealguard start\` since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC\\); stop it first \\(kill ${a.child.pid}\\)`,
      ),
    );
    // The refused start changed nothing: the first still runs and answers.
    expect(a.child.exitCode).toBeNull();
    a.child.stdin!.write('/status\n');
    await a.waitOut(/Watching 1 · pending confirms/);
    await a.waitOut(/Disk: [\d.]+ [KMGT]?B free of [\d.]+ [KMGT]?B for DATA_DIR/);

    a.child.kill('SIGKILL');
    await a.exited;
    // A crash leaves its lock behind; the next start sees that pid is gone and takes over.
    expect(existsSync(join(dir, 'sealguard.lock'))).toBe(true);
    const c = new Proc(['start'], paperEnv(dir));
    await c.waitOut(RUNNING);
    const t = Date.now();
    c.child.kill('SIGTERM');
    const rc = await c.exited;
    expect(rc.code, c.diag()).toBe(0);
    expect(rc.at - t).toBeLessThan(5_000);
    // A clean stop removes the lock.
    expect(existsSync(join(dir, 'sealguard.lock'))).toBe(false);
  }, 60_000);

  it('a second demo is refused and leaves the running demo’s files alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-lock-demo-'));
    const env = { DATA_DIR: dir, LOG_LEVEL: 'warn' };
    const a = new Proc(['demo'], env);
    await a.waitOut(RUNNING);
    const before = readdirSync(join(dir, 'demo-run')).sort();
    expect(before).toContain('sealguard.lock');
    expect(before).toContain('actions.json');

    const b = new Proc(['demo'], env);
    const rb = await b.exited;
    expect(rb.code, b.diag()).toBe(1);
    expect(b.err).toContain(
      `DATA_DIR ${join(dir, 'demo-run')} is in use by another SealGuard (pid ${a.child.pid},`,
    );
    for (const f of before) expect(existsSync(join(dir, 'demo-run', f)), f).toBe(true);
    expect(a.child.exitCode).toBeNull();
  }, 60_000);
});

describe('SIGTERM whatever is down', () => {
  let bot: FakeBotApi;
  let market: TencentMarket;
  let bridge: FakeBridge;
  let ticker: NodeJS.Timeout | undefined;

  async function guardBehindDarkableServers(): Promise<{ p: Proc; proxies: DarkProxy[] }> {
    bot ??= await startFakeBotApi();
    market ??= await startTencentMarket();
    bridge ??= await startFakeBridge();
    if (!ticker) {
      const t0 = Date.now();
      const publish = () => market.set(sealedBook(Date.parse(START) + (Date.now() - t0), 100_000));
      publish();
      ticker = setInterval(publish, 100);
      closers.push(async () => {
        clearInterval(ticker);
        await bot.close();
        await market.close();
        await bridge.close();
      });
    }
    const proxies = await Promise.all([bot.apiRoot, market.url, bridge.url].map((u) => startDarkProxy(u)));
    for (const x of proxies) closers.push(() => x.close());
    const [tg, quotes, broker] = proxies as [DarkProxy, DarkProxy, DarkProxy];
    const from = bot.calls.length;
    const p = new Proc(['start'], {
      DATA_DIR: mkdtempSync(join(tmpdir(), 'sg-term-')),
      TELEGRAM_BOT_TOKEN: bot.token,
      TELEGRAM_ALLOWED_USERS: '424242424',
      TELEGRAM_API_ROOT: tg.url,
      QUOTE_SOURCES: 'tencent',
      TENCENT_QUOTE_URL: quotes.url,
      POLL_INTERVAL_MS: '200',
      BROKER: 'bridge',
      BROKER_URL: broker.url,
      BROKER_TOKEN: bridge.token,
      SEALGUARD_CLOCK: START,
      LOG_LEVEL: 'info',
    });
    await bot.waitFor((c) => c.method === 'setMyCommands', 20_000, from);
    // Something for each server to be in the middle of: a queued reply, polls, a broker check.
    bot.sendText(424242424, '/watch 002116 2000w');
    await new Promise((r) => setTimeout(r, 600));
    for (const x of proxies) x.goDark();
    await new Promise((r) => setTimeout(r, 400));
    bot.sendText(424242424, '/status');
    return { p, proxies };
  }

  it('one SIGTERM: exits 0 within 5 s with the Telegram, quote and broker servers gone dark', async () => {
    const { p } = await guardBehindDarkableServers();
    expect(p.child.exitCode).toBeNull();
    const t = Date.now();
    p.child.kill('SIGTERM');
    const r = await Promise.race([p.exited, new Promise<null>((ok) => setTimeout(() => ok(null), 8_000))]);
    expect(r, `still running 8 s after SIGTERM${p.diag()}`).not.toBeNull();
    expect(r!.code, p.diag()).toBe(0);
    expect(r!.at - t, p.diag()).toBeLessThan(5_000);
  }, 60_000);

  it('a second SIGTERM exits at once', async () => {
    const { p } = await guardBehindDarkableServers();
    p.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 150));
    const t = Date.now();
    p.child.kill('SIGTERM');
    const r = await p.exited;
    expect(r.at - t, p.diag()).toBeLessThan(1_000);
    // Either the first stop had just finished (0) or the second signal cut it short (128+15).
    expect([0, 143], p.diag()).toContain(r.code);
  }, 60_000);

  it('SIGTERM during a start that hangs on a dark Telegram server still ends within 5 s', async () => {
    const black = await startDarkProxy('http://127.0.0.1:9');
    black.goDark();
    closers.push(() => black.close());
    const p = new Proc(['start'], {
      DATA_DIR: mkdtempSync(join(tmpdir(), 'sg-term-start-')),
      TELEGRAM_BOT_TOKEN: '123456789:AAE-fake_token_for_tests_0123456789',
      TELEGRAM_ALLOWED_USERS: '424242424',
      TELEGRAM_API_ROOT: black.url,
      QUOTE_SOURCES: 'tencent',
      TENCENT_QUOTE_URL: black.url,
      BROKER: 'paper',
      LOG_LEVEL: 'info',
    });
    // Past loading its code and stuck inside the start (Telegram's getMe never answers).
    await new Promise((r) => setTimeout(r, 4_000));
    expect(p.child.exitCode, p.diag()).toBeNull();
    expect(p.out).not.toMatch(RUNNING);
    const t = Date.now();
    p.child.kill('SIGTERM');
    const r = await p.exited;
    expect(r.at - t, p.diag()).toBeLessThan(5_000);
  }, 60_000);
});
