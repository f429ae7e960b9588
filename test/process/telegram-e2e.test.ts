/**
 * The whole product as a user runs it: `node bin/sealguard.js start` (what `npm start` runs),
 * configured by environment only, against three loopback stand-ins for the outside world: a fake
 * Telegram Bot API, a scripted Tencent quote server, and a fake BRIDGE-PROTOCOL broker bridge.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { startFakeBridge, type FakeBridge } from '../broker/fakeBridge.ts';
import { startFakeBotApi, type ApiCall, type FakeBotApi } from '../helpers/fakeBotApi.ts';
import { sealedBook, startTencentMarket, type TencentMarket } from '../helpers/tencentMarket.ts';

const BIN = fileURLToPath(new URL('../../bin/sealguard.js', import.meta.url));
const ME = 424_242_424;
const STRANGER = 515_151_515;
const START = '2026-11-23T10:00:00+08:00';

let bot: FakeBotApi | undefined;
let market: TencentMarket | undefined;
let bridge: FakeBridge | undefined;
let child: ChildProcess | undefined;
let ticker: NodeJS.Timeout | undefined;

afterAll(async () => {
  clearInterval(ticker);
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await bot?.close();
  await market?.close();
  await bridge?.close();
});

const sent = (c: ApiCall) => c.method === 'sendMessage';
const textOf = (c: ApiCall) => String(c.payload.text ?? '');
const orderPosts = () => bridge!.log.filter((l) => l.method === 'POST' && l.path === '/v1/orders');

it('npm start: /watch, drain, confirm buttons, a stranger tap sells nothing, two taps sell once, SIGTERM exits 0', async () => {
  bot = await startFakeBotApi();
  market = await startTencentMarket();
  bridge = await startFakeBridge();
  let lots = 100_000; // 1亿 on bid1 at 10.00
  let t0 = Date.now();
  // Book times follow the process's simulated clock: SEALGUARD_CLOCK + real time elapsed.
  const publish = () => {
    const now = Date.parse(START) + (Date.now() - t0);
    market!.set(sealedBook(now, lots));
  };
  publish();
  ticker = setInterval(publish, 100);

  const stdout: string[] = [];
  const stderr: string[] = [];
  t0 = Date.now();
  child = spawn(process.execPath, [BIN, 'start'], {
    cwd: mkdtempSync(join(tmpdir(), 'sg-e2e-cwd-')),
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TELEGRAM_BOT_TOKEN: bot.token,
      TELEGRAM_ALLOWED_USERS: String(ME),
      TELEGRAM_API_ROOT: bot.apiRoot,
      TENCENT_QUOTE_URL: market.url,
      QUOTE_SOURCES: 'tencent',
      POLL_INTERVAL_MS: '200',
      BROKER: 'bridge',
      BROKER_URL: bridge.url,
      BROKER_TOKEN: bridge.token,
      SEALGUARD_CLOCK: START,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'sg-e2e-data-')),
      DEFAULT_MODE: 'confirm',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (b: Buffer) => stdout.push(b.toString('utf8')));
  child.stderr!.on('data', (b: Buffer) => stderr.push(b.toString('utf8')));
  const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
  const diag = () =>
    `\n--- stderr ---\n${stderr.join('').slice(-4000)}\n--- stdout ---\n${stdout.join('').slice(-2000)}`;

  try {
    await bot.waitFor((c) => c.method === 'setMyCommands', 15_000);

    // 1. A command from the allowed user gets a confirmation.
    let from = bot.calls.length;
    bot.sendText(ME, '/watch 002116 2000w');
    const ok = await bot.waitFor((c) => sent(c) && /Watching/.test(textOf(c)), 8_000, from);
    expect(ok.payload.chat_id).toBe(ME);
    expect(textOf(ok)).toMatch(/^✓ Watching 中国海诚 002116\.SZ: sell trigger &lt;2000万, mode confirm\./);

    // 2. The seal forms, then drains below the threshold: a confirm with buttons arrives.
    await bot.waitFor((c) => sent(c) && /sealed at limit-up/.test(textOf(c)), 10_000);
    from = bot.calls.length;
    lots = 15_000; // 1500万
    const alert = await bot.waitFor(
      (c) =>
        sent(c) && !!(c.payload.reply_markup as { inline_keyboard?: unknown[] } | undefined)?.inline_keyboard,
      10_000,
      from,
    );
    const buttons = (
      alert.payload.reply_markup as { inline_keyboard: { text: string; callback_data: string }[][] }
    ).inline_keyboard.flat();
    for (const b of buttons) expect(Buffer.byteLength(b.callback_data, 'utf8')).toBeLessThanOrEqual(64);
    const sell = buttons.find((b) => /Sell/.test(b.text))!.callback_data;
    const mid = [...bot.messages.values()].find((m) => m.reply_markup?.inline_keyboard.length)!.message_id;

    // 3. A stranger's tap: refused, no order reaches the bridge.
    const q0 = bot.tap(STRANGER, mid, sell);
    const a0 = await bot.waitFor(
      (c) => c.method === 'answerCallbackQuery' && c.payload.callback_query_id === q0,
    );
    expect(a0.payload.text).toBe('Not authorized.');
    await new Promise((r) => setTimeout(r, 500));
    expect(orderPosts()).toHaveLength(0);

    // 4. Two taps by the allowed user: exactly one POST /v1/orders, at the limit-up price.
    const q1 = bot.tap(ME, mid, sell);
    const q2 = bot.tap(ME, mid, sell);
    await bot.waitFor((c) => c.method === 'answerCallbackQuery' && c.payload.callback_query_id === q1);
    const a2 = await bot.waitFor(
      (c) => c.method === 'answerCallbackQuery' && c.payload.callback_query_id === q2,
    );
    expect(String(a2.payload.text)).toMatch(/^Already/);
    const edited = await bot.waitFor(
      (c) => c.method === 'editMessageText' && c.payload.message_id === mid && /→/.test(textOf(c)),
      8_000,
    );
    expect(textOf(edited)).toMatch(/中国海诚 002116\.SZ/);
    await new Promise((r) => setTimeout(r, 500));
    const posts = orderPosts();
    expect(posts).toHaveLength(1);
    expect(posts[0]!.body).toMatchObject({
      symbol: '002116.SZ',
      side: 'sell',
      quantity: 10_000,
      limit_price: '10.00',
    });
    expect(bot.messages.get(mid)!.reply_markup).toBeUndefined();
    // The bridge acknowledged the order (it stays submitted: this fake never fills).
    expect(bot.messages.get(mid)!.text).toMatch(
      /→ Sell order placed: 10000 002116\.SZ @ 10\.00 \(submitted\)\./,
    );

    // 5. SIGTERM: a clean stop, exit 0.
    child.kill('SIGTERM');
    const code = await Promise.race([
      exited,
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 8_000)),
    ]);
    expect(code, diag()).toBe(0);
    // The token is never written out.
    expect(stderr.join('') + stdout.join('')).not.toContain(bot.token);
    expect(stderr.join('')).not.toContain(bridge.token);
  } catch (err) {
    throw new Error(`${(err as Error).message}${diag()}`, { cause: err });
  }
}, 40_000);

it('Telegram refusing connections at start: quotes polled within 5 s, auto mode sells, the console says Telegram is unreachable; when it comes back, messages flow', async () => {
  // A port where nothing listens yet: connections are refused, as by a dead proxy.
  const port = await new Promise<number>((resolve) => {
    const s = createNetServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const m = await startTencentMarket();
  const b = await startFakeBridge();
  let lots = 100_000;
  let t0 = Date.now();
  const pub = setInterval(() => m.set(sealedBook(Date.parse(START) + (Date.now() - t0), lots)), 100);
  m.set(sealedBook(Date.parse(START), lots));
  const stderr: string[] = [];
  t0 = Date.now();
  const proc = spawn(process.execPath, [BIN, 'start'], {
    cwd: mkdtempSync(join(tmpdir(), 'sg-e2e-cwd-')),
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TELEGRAM_BOT_TOKEN: '123456789:AAE-fake_token_for_tests_0123456789',
      TELEGRAM_ALLOWED_USERS: String(ME),
      TELEGRAM_API_ROOT: `http://127.0.0.1:${port}`,
      TENCENT_QUOTE_URL: m.url,
      QUOTE_SOURCES: 'tencent',
      POLL_INTERVAL_MS: '200',
      BROKER: 'bridge',
      BROKER_URL: b.url,
      BROKER_TOKEN: b.token,
      SEALGUARD_CLOCK: START,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'sg-e2e-data-')),
      DEFAULT_MODE: 'auto',
      DEFAULT_THRESHOLD: '2000w',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  proc.stderr!.on('data', (x: Buffer) => stderr.push(x.toString('utf8')));
  let late: FakeBotApi | undefined;
  const until = async (cond: () => boolean, ms: number, what: string) => {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`${what} not within ${ms} ms\n${stderr.join('').slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  try {
    const spawnedAt = Date.now();
    // The first line the process logs (it is up: config read, stores open) ...
    await until(() => stderr.length > 0, 20_000, 'the process logging');
    const upAt = Date.now();
    // ... and the first quote request, while every Telegram call is refused.
    await until(() => m.requests.length > 0, 20_000, 'a quote request');
    // (Boot itself, tsx compiling the sources on a shared machine, is not Telegram's doing.)
    expect(Date.now() - upAt, `boot took ${upAt - spawnedAt} ms`).toBeLessThan(5_000);
    await until(() => /Telegram is not reachable yet/.test(stderr.join('')), 8_000, 'the console saying so');
    // The guard guards: the seal drains and auto mode sells through the bridge.
    await new Promise((r) => setTimeout(r, 2_500));
    lots = 15_000;
    await until(() => b.log.some((l) => l.method === 'POST' && l.path === '/v1/orders'), 8_000, 'the sell');

    // Telegram comes back on the same address: the queued messages go out.
    late = await startFakeBotApi({ port });
    await late.waitFor((c) => c.method === 'setMyCommands', 40_000);
    await late.waitFor(
      (c) => c.method === 'sendMessage' && /SealGuard is watching/.test(String(c.payload.text)),
      10_000,
    );
    await late.waitFor(
      (c) => c.method === 'sendMessage' && /Sell order placed/.test(String(c.payload.text)),
      10_000,
    );
    await until(
      () => /"resolved":true[^\n]*Telegram is not reachable/.test(stderr.join('')),
      5_000,
      'resolved',
    );
  } finally {
    clearInterval(pub);
    proc.kill('SIGKILL');
    await late?.close();
    await m.close();
    await b.close();
  }
}, 90_000);

it('auto mode: the bridge receives the sell POST before the Bot API receives the trigger alert', async () => {
  const b2 = await startFakeBotApi();
  const m = await startTencentMarket();
  const br = await startFakeBridge();
  // One timeline of what reached each server, in the order it arrived (all three run here).
  const arrivals: string[] = [];
  const pushCall = b2.calls.push.bind(b2.calls);
  b2.calls.push = (...items: ApiCall[]) => {
    for (const c of items)
      if (c.method === 'sendMessage' && /Sell trigger/.test(String(c.payload.text))) arrivals.push('alert');
    return pushCall(...items);
  };
  const pushLog = br.log.push.bind(br.log);
  br.log.push = (...items) => {
    for (const l of items) if (l.method === 'POST' && l.path === '/v1/orders') arrivals.push('POST');
    return pushLog(...items);
  };
  let lots = 100_000;
  let t0 = Date.now();
  const pub = setInterval(() => m.set(sealedBook(Date.parse(START) + (Date.now() - t0), lots)), 100);
  m.set(sealedBook(Date.parse(START), lots));
  const stderr: string[] = [];
  t0 = Date.now();
  const proc = spawn(process.execPath, [BIN, 'start'], {
    cwd: mkdtempSync(join(tmpdir(), 'sg-e2e-cwd-')),
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TELEGRAM_BOT_TOKEN: b2.token,
      TELEGRAM_ALLOWED_USERS: String(ME),
      TELEGRAM_API_ROOT: b2.apiRoot,
      TENCENT_QUOTE_URL: m.url,
      QUOTE_SOURCES: 'tencent',
      POLL_INTERVAL_MS: '200',
      BROKER: 'bridge',
      BROKER_URL: br.url,
      BROKER_TOKEN: br.token,
      SEALGUARD_CLOCK: START,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'sg-e2e-data-')),
      DEFAULT_MODE: 'auto',
      DEFAULT_THRESHOLD: '2000w',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  proc.stderr!.on('data', (x: Buffer) => stderr.push(x.toString('utf8')));
  try {
    // Up and delivering (the start-up message reached Telegram), the seal formed ...
    await b2.waitFor((c) => sent(c) && /sealed at limit-up/.test(textOf(c)), 30_000);
    // ... then it drains below 2000万: the sell and its alert.
    lots = 15_000;
    await b2.waitFor((c) => sent(c) && /Sell trigger/.test(textOf(c)), 15_000);
    expect(arrivals, stderr.join('').slice(-3000)).toEqual(['POST', 'alert']);
  } finally {
    clearInterval(pub);
    proc.kill('SIGKILL');
    await b2.close();
    await m.close();
    await br.close();
  }
}, 90_000);
