/**
 * Issue 16 items 4 and 5, end to end: the real process (`node bin/sealguard.js start`) against
 * loopback stand-ins (fake Telegram Bot API, scripted Tencent and Sina quote servers in their real
 * wire formats, the fake BRIDGE-PROTOCOL bridge):
 * - Tencent starts trickling 1 byte/s as the seal drains: Sina takes over within two poll
 *   intervals plus the request deadline, and the sale follows within 10 s of the drain;
 * - the host's wall clock is 60 s behind the exchange (an offset wall clock preloaded into the
 *   process, test/helpers/offsetWall.mjs; the monotonic clock is untouched, as on a real host):
 *   the seal is seen, the user is told the measured skew, a 10-minute forward step of the wall
 *   clock does not expire the pending confirm, and the tap sells.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { startFakeBridge, type FakeBridge } from '../broker/fakeBridge.ts';
import { startFakeBotApi, type ApiCall } from '../helpers/fakeBotApi.ts';
import {
  sealedBook,
  startSinaMarket,
  startTencentMarket,
  type TencentMarket,
} from '../helpers/tencentMarket.ts';

const BIN = fileURLToPath(new URL('../../bin/sealguard.js', import.meta.url));
const OFFSET_WALL = pathToFileURL(fileURLToPath(new URL('../helpers/offsetWall.mjs', import.meta.url))).href;
const ME = 424_242_424;
const START = Date.parse('2026-11-23T10:00:00+08:00');

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const sent = (c: ApiCall) => c.method === 'sendMessage';
const textOf = (c: ApiCall) => String(c.payload.text ?? '');

interface Run {
  child: ChildProcess;
  exited: Promise<number | null>;
  diag: () => string;
}

function spawnGuard(env: Record<string, string>): Run {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const child = spawn(process.execPath, [BIN, 'start'], {
    cwd: mkdtempSync(join(tmpdir(), 'sg-mf-cwd-')),
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'sg-mf-data-')),
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (b: Buffer) => stdout.push(b.toString('utf8')));
  child.stderr!.on('data', (b: Buffer) => stderr.push(b.toString('utf8')));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  cleanup.push(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return {
    child,
    exited,
    diag: () =>
      `\n--- stderr ---\n${stderr.join('').slice(-5000)}\n--- stdout ---\n${stdout.join('').slice(-1500)}`,
  };
}

async function stopGuard(run: Run): Promise<void> {
  run.child.kill('SIGTERM');
  const code = await Promise.race([
    run.exited,
    new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 8_000)),
  ]);
  expect(code, run.diag()).toBe(0);
}

it('a quote source trickling 1 byte/s: Sina takes over within two intervals plus the deadline, and the sale comes within 10 s of the drain', async () => {
  const bot = await startFakeBotApi();
  const books = new Map();
  const tencent: TencentMarket = await startTencentMarket({}, books);
  const sina: TencentMarket = await startSinaMarket({}, books);
  const bridge: FakeBridge = await startFakeBridge();
  cleanup.push(
    () => bot.close(),
    () => tencent.close(),
    () => sina.close(),
    () => bridge.close(),
  );
  let lots = 100_000; // 1亿 on bid1 at 10.00
  const t0 = Date.now();
  // Book times follow the process's simulated clock: SEALGUARD_CLOCK + real time elapsed.
  const publish = () => tencent.set(sealedBook(START + (Date.now() - t0), lots));
  publish();
  const ticker = setInterval(publish, 100);
  cleanup.push(() => clearInterval(ticker));

  const interval = 1000;
  const deadline = 2000; // FeedManager's default: twice the interval
  const run = spawnGuard({
    TELEGRAM_BOT_TOKEN: bot.token,
    TELEGRAM_ALLOWED_USERS: String(ME),
    TELEGRAM_API_ROOT: bot.apiRoot,
    TENCENT_QUOTE_URL: tencent.url,
    SINA_QUOTE_URL: sina.url,
    QUOTE_SOURCES: 'tencent,sina',
    POLL_INTERVAL_MS: String(interval),
    BROKER: 'bridge',
    BROKER_URL: bridge.url,
    BROKER_TOKEN: bridge.token,
    SEALGUARD_CLOCK: new Date(START).toISOString(),
    DEFAULT_MODE: 'auto',
  });
  try {
    await bot.waitFor((c) => sent(c) && /sealed at limit-up/.test(textOf(c)), 20_000);
    expect(sina.requests).toHaveLength(0); // Tencent answers: Sina is not asked

    // Tencent turns into a trickle exactly as the seal drains to 1500万.
    const from = bot.calls.length;
    tencent.trickle = true;
    lots = 15_000;
    const drainAt = Date.now();

    const order = await (async () => {
      for (;;) {
        const p = bridge.log.find((l) => l.method === 'POST' && l.path === '/v1/orders');
        if (p) return { at: Date.now(), post: p };
        if (Date.now() - drainAt > 15_000) throw new Error('no order within 15 s of the drain');
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    expect(order.at - drainAt).toBeLessThan(10_000);
    expect(order.post.body).toMatchObject({ symbol: '002116.SZ', side: 'sell', limit_price: '10.00' });

    const told = await bot.waitFor(
      (c) => sent(c) && /Quote source tencent → sina/.test(textOf(c)),
      2 * interval + deadline + 1000,
      from,
    );
    const toldAt = Date.now();
    expect(textOf(told)).toMatch(/tencent missed the 2000 ms deadline/);
    // SourceChanged is published when the switch is made: within two intervals plus the deadline.
    expect(toldAt - drainAt).toBeLessThan(2 * interval + deadline + 700);
    expect(sina.requests.length).toBeGreaterThan(0);
    const incident = await bot.waitFor(
      (c) => sent(c) && /Quote source tencent is failing/.test(textOf(c)),
      3000,
      from,
    );
    expect(textOf(incident)).toMatch(/slow source.*quotes now come from sina/);

    // /status no longer says "ok" for the trickling source.
    const s0 = bot.calls.length;
    bot.sendText(ME, '/status');
    const status = await bot.waitFor((c) => sent(c) && /Quotes tencent/.test(textOf(c)), 8000, s0);
    expect(textOf(status)).toMatch(/Quotes tencent: failing/);
    expect(textOf(status)).toMatch(/Quotes sina \(active\): ok/);

    await stopGuard(run);
  } catch (err) {
    throw new Error(`${(err as Error).message}${run.diag()}`, { cause: err });
  }
}, 60_000);

it('host clock 60 s behind the exchange: the seal is seen, the user is told the skew, a forward step keeps the confirm open, and the tap sells', async () => {
  const bot = await startFakeBotApi();
  // The exchange's time runs from 10:00 on the test's clock; the process's wall clock is 60 s
  // behind it. The quote server's Date header tells the exchange's time, as the real site's does.
  const t0 = Date.now();
  const exchangeNow = () => START + (Date.now() - t0);
  const tencent = await startTencentMarket({ now: exchangeNow });
  const bridge = await startFakeBridge();
  cleanup.push(
    () => bot.close(),
    () => tencent.close(),
    () => bridge.close(),
  );
  let lots = 100_000;
  const publish = () => tencent.set(sealedBook(exchangeNow(), lots));
  publish();
  const ticker = setInterval(publish, 100);
  cleanup.push(() => clearInterval(ticker));

  const run = spawnGuard({
    NODE_OPTIONS: `--import ${OFFSET_WALL}`,
    SG_TEST_WALL_OFFSET_MS: String(START - 60_000 - t0),
    SG_TEST_WALL_STEP_MS: String(10 * 60_000),
    TELEGRAM_BOT_TOKEN: bot.token,
    TELEGRAM_ALLOWED_USERS: String(ME),
    TELEGRAM_API_ROOT: bot.apiRoot,
    TENCENT_QUOTE_URL: tencent.url,
    QUOTE_SOURCES: 'tencent',
    POLL_INTERVAL_MS: '200',
    BROKER: 'bridge',
    BROKER_URL: bridge.url,
    BROKER_TOKEN: bridge.token,
    DEFAULT_MODE: 'confirm',
    CONFIRM_TIMEOUT_S: '30',
  });
  const orderPosts = () => bridge.log.filter((l) => l.method === 'POST' && l.path === '/v1/orders');
  try {
    const skew = await bot.waitFor((c) => sent(c) && /host clock/.test(textOf(c)), 20_000);
    expect(textOf(skew)).toMatch(
      /host clock (59|60|61) s behind the exchange \(measured from quote times and HTTP Date\); freshness follows the exchange/,
    );
    await bot.waitFor((c) => sent(c) && /sealed at limit-up/.test(textOf(c)), 10_000);

    const from = bot.calls.length;
    lots = 15_000; // below the 2000万 default threshold
    const alert = await bot.waitFor(
      (c) =>
        sent(c) && !!(c.payload.reply_markup as { inline_keyboard?: unknown[] } | undefined)?.inline_keyboard,
      10_000,
      from,
    );
    const buttons = (
      alert.payload.reply_markup as { inline_keyboard: { text: string; callback_data: string }[][] }
    ).inline_keyboard.flat();
    const sell = buttons.find((b) => /Sell/.test(b.text))!.callback_data;
    const mid = [...bot.messages.values()].find((m) => m.reply_markup?.inline_keyboard.length)!.message_id;

    // Someone sets the host clock 10 minutes ahead while the 30 s confirm is open.
    const stepFrom = bot.calls.length;
    run.child.kill('SIGUSR2');
    await new Promise((r) => setTimeout(r, 3000));
    const after = bot.calls.slice(stepFrom).filter(sent).map(textOf);
    expect(after.filter((t) => /deadline|expired|closed/i.test(t))).toEqual([]);
    expect(bot.messages.get(mid)!.reply_markup?.inline_keyboard.length).toBeGreaterThan(0);
    expect(orderPosts()).toHaveLength(0);

    const q = bot.tap(ME, mid, sell);
    const ans = await bot.waitFor(
      (c) => c.method === 'answerCallbackQuery' && c.payload.callback_query_id === q,
    );
    expect(String(ans.payload.text ?? '')).not.toMatch(/too late/i);
    await bot.waitFor(
      (c) => c.method === 'editMessageText' && c.payload.message_id === mid && /→/.test(textOf(c)),
      8_000,
    );
    expect(orderPosts()).toHaveLength(1);
    expect(orderPosts()[0]!.body).toMatchObject({ symbol: '002116.SZ', side: 'sell', limit_price: '10.00' });

    await stopGuard(run);
  } catch (err) {
    throw new Error(`${(err as Error).message}${run.diag()}`, { cause: err });
  }
}, 60_000);
