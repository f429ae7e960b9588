/**
 * The confirm's edges through the real app and a fake Bot API: the deadline passes (the default
 * applies and the message says so), Hold, and a restart between the alert and the tap. In every
 * case a late tap changes nothing and says why.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { startFakeBotApi, type ApiCall, type FakeBotApi } from '../helpers/fakeBotApi.ts';
import { sealedBook, startTencentMarket, type TencentMarket } from '../helpers/tencentMarket.ts';

const ME = 31_337;
const START = '2026-11-23T10:00:00+08:00';

let bot: FakeBotApi;
let market: TencentMarket;
let ticker: NodeJS.Timeout;
let lots = 100_000;
let clockNow: () => number = () => Date.parse(START);
const apps: App[] = [];

function publish(): void {
  market.set(sealedBook(clockNow(), lots));
}

beforeAll(async () => {
  bot = await startFakeBotApi();
  market = await startTencentMarket();
  publish();
  ticker = setInterval(publish, 100);
});
afterEach(async () => {
  for (const a of apps.splice(0)) await a.stop();
  lots = 100_000;
});
afterAll(async () => {
  clearInterval(ticker);
  await bot.close();
  await market.close();
});

async function app(dataDir: string, extra: Record<string, string> = {}): Promise<App> {
  const config = loadConfig(
    {
      TELEGRAM_BOT_TOKEN: bot.token,
      TELEGRAM_ALLOWED_USERS: String(ME),
      TELEGRAM_API_ROOT: bot.apiRoot,
      TENCENT_QUOTE_URL: market.url,
      QUOTE_SOURCES: 'tencent',
      POLL_INTERVAL_MS: '200',
      PAPER_POSITIONS: '002116:10000',
      SEALGUARD_CLOCK: START,
      DATA_DIR: dataDir,
      DEFAULT_MODE: 'confirm',
      ...extra,
    },
    { readDotEnv: false },
  );
  // Each app's simulated clock starts at START when it is made; the books follow it from now on
  // (never stepping back in time, which a feed would rightly ignore).
  const t0 = Date.now();
  clockNow = () => Date.parse(START) + (Date.now() - t0);
  const a = await startApp(config, { logger: pino({ level: 'silent' }) });
  apps.push(a);
  return a;
}

const hasKeyboard = (c: ApiCall) =>
  c.method === 'sendMessage' &&
  !!(c.payload.reply_markup as { inline_keyboard?: unknown[] } | undefined)?.inline_keyboard?.length;

/** Seal, drain below 2000万, and return the confirm message id and its button data. */
async function drainToConfirm(
  a: App,
): Promise<{ mid: number; sell: string; hold: string; actionId: string }> {
  const end = Date.now() + 10_000;
  while (a.api.list().find((v) => v.symbol === '002116.SZ')?.state !== 'sealed') {
    if (Date.now() > end) throw new Error('never sealed');
    await new Promise((r) => setTimeout(r, 50));
  }
  const from = bot.calls.length;
  lots = 15_000;
  const alert = await bot.waitFor(hasKeyboard, 10_000, from);
  const [sell, hold] = (
    alert.payload.reply_markup as { inline_keyboard: { callback_data: string }[][] }
  ).inline_keyboard
    .flat()
    .map((b) => b.callback_data) as [string, string];
  const mid = [...bot.messages.values()].filter((m) => m.reply_markup?.inline_keyboard.length).pop()!
    .message_id;
  return { mid, sell, hold, actionId: sell.split(':').pop()! };
}

async function answerTo(q: string): Promise<string> {
  const c = await bot.waitFor((x) => x.method === 'answerCallbackQuery' && x.payload.callback_query_id === q);
  return String(c.payload.text ?? '');
}

describe('confirm edges over Telegram', () => {
  it('deadline passes: the default (hold) applies, the message says so, a late tap sells nothing', async () => {
    const a = await app(mkdtempSync(join(tmpdir(), 'sg-tgc-')), {
      CONFIRM_TIMEOUT_S: '1',
      CONFIRM_DEFAULT: 'hold',
    });
    const { mid, sell, actionId } = await drainToConfirm(a);
    expect(bot.messages.get(mid)!.text).toMatch(/No answer by 10:0\d:\d\d: HOLD/);
    await bot.waitFor(
      (c) =>
        c.method === 'editMessageText' &&
        c.payload.message_id === mid &&
        /deadline/.test(String(c.payload.text)),
      6_000,
    );
    expect(a.api.action(actionId)?.status).toBe('expired');
    expect(bot.messages.get(mid)!.reply_markup).toBeUndefined();
    expect(bot.messages.get(mid)!.text).toMatch(/→ No answer before the deadline: held/);
    expect(await answerTo(bot.tap(ME, mid, sell))).toMatch(/^Already handled: No answer before the deadline/);
    await new Promise((r) => setTimeout(r, 200));
    expect((await a.api.orders()).orders).toHaveLength(0);
  }, 20_000);

  it('Hold: no order, the message shows who held; a Sell tap afterwards changes nothing', async () => {
    const a = await app(mkdtempSync(join(tmpdir(), 'sg-tgc-')));
    const { mid, sell, hold } = await drainToConfirm(a);
    expect(await answerTo(bot.tap(ME, mid, hold))).toBe('Holding.');
    await bot.waitFor(
      (c) =>
        c.method === 'editMessageText' &&
        c.payload.message_id === mid &&
        /Held by/.test(String(c.payload.text)),
    );
    expect(bot.messages.get(mid)!.text).toMatch(/→ Held by telegram:31337: no order placed\./);
    expect(await answerTo(bot.tap(ME, mid, sell))).toMatch(/^Already handled: Held by/);
    await new Promise((r) => setTimeout(r, 200));
    expect((await a.api.orders()).orders).toHaveLength(0);
  }, 20_000);

  it('a restart closes pending confirms (kept on disk until then); a tap on the old message says why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-tgc-'));
    const a = await app(dir);
    const { mid, sell, actionId } = await drainToConfirm(a);
    await a.stop();
    apps.splice(apps.indexOf(a), 1);
    // Stopping keeps the pending action on disk.
    const saved = JSON.parse(readFileSync(join(dir, 'actions.json'), 'utf8')) as {
      data?: { actions: Record<string, { status: string }> };
      actions?: Record<string, { status: string }>;
    };
    expect((saved.data ?? saved).actions?.[actionId]?.status).toBe('pending');

    const from = bot.calls.length;
    const b = await app(dir);
    await bot.waitFor(
      (c) => c.method === 'sendMessage' && /from before the restart were closed/.test(String(c.payload.text)),
      5_000,
      from,
    );
    expect(await answerTo(bot.tap(ME, mid, sell))).toMatch(/^Already handled: Closed by a restart/);
    await new Promise((r) => setTimeout(r, 300));
    expect((await b.api.orders()).orders).toHaveLength(0);
    expect(b.api.action(actionId)?.status).toBe('expired');
  }, 25_000);

  it('a button this run never made (garbage or too long) is answered and ignored', async () => {
    const a = await app(mkdtempSync(join(tmpdir(), 'sg-tgc-')));
    const from = bot.calls.length;
    bot.sendText(ME, '/status');
    const status = await bot.waitFor(
      (c) => c.method === 'sendMessage' && /Status/.test(String(c.payload.text)),
      5_000,
      from,
    );
    expect(String(status.payload.text)).toMatch(/Quotes tencent \(active\)/);
    const mid = [...bot.messages.values()].pop()!.message_id;
    expect(await answerTo(bot.tap(ME, mid, 'sg:s:NoSuchId1'))).toMatch(/unknown/);
    expect(await answerTo(bot.tap(ME, mid, 'evil'))).toBe('Unknown button.');
    expect((await a.api.orders()).orders).toHaveLength(0);
  }, 20_000);
});
