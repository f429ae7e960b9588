/**
 * Telegram delivery when Telegram misbehaves, through the real app (startApp: Tencent feed over
 * HTTP, guard, BRIDGE-PROTOCOL broker client, chat hub, TelegramChannel on grammY) against a fake
 * Bot API that answers as Telegram does (test/helpers/fakeBotApi.ts: texts and shapes from the
 * Bot API docs and grammY's client) and the fake bridge. Only the remote ends are fakes.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startApp, type App } from '../../src/app.ts';
import { runCommand } from '../../src/chat/commands.ts';
import { ConsoleChannel } from '../../src/chat/console.ts';
import { ChatHub } from '../../src/chat/hub.ts';
import { TelegramChannel } from '../../src/chat/telegram.ts';
import { plainText } from '../../src/chat/reply.ts';
import { checkRunningGuard } from '../../src/cli/doctor.ts';
import { loadConfig } from '../../src/config.ts';
import { startFakeBridge, type FakeBridge } from '../broker/fakeBridge.ts';
import { ERRORS, startFakeBotApi, type ApiCall, type FakeBotApi } from '../helpers/fakeBotApi.ts';
import { harness, silent } from '../engine/harness.ts';
import { sealedBook, startTencentMarket, type TencentMarket } from '../helpers/tencentMarket.ts';

const U1 = 101_010_101;
const U2 = 202_020_202;
const START = '2026-11-23T10:00:00+08:00';

interface Rig {
  bot: FakeBotApi;
  market: TencentMarket;
  bridge: FakeBridge;
  app: App;
  logs: Record<string, unknown>[];
  dataDir: string;
  setLots(n: number): void;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function rig(
  o: {
    users?: number[];
    mode?: string;
    before?: (bot: FakeBotApi) => void;
    env?: Record<string, string>;
  } = {},
): Promise<Rig> {
  const bot = await startFakeBotApi();
  const market = await startTencentMarket();
  const bridge = await startFakeBridge();
  o.before?.(bot);
  let lots = 100_000;
  let t0 = Date.now();
  const publish = () => market.set(sealedBook(Date.parse(START) + (Date.now() - t0), lots));
  publish();
  const ticker = setInterval(publish, 100);
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n').filter(Boolean)) logs.push(JSON.parse(l));
      cb();
    },
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'sg-tgd-'));
  const config = loadConfig(
    {
      TELEGRAM_BOT_TOKEN: bot.token,
      TELEGRAM_ALLOWED_USERS: (o.users ?? [U1]).join(','),
      TELEGRAM_API_ROOT: bot.apiRoot,
      TENCENT_QUOTE_URL: market.url,
      QUOTE_SOURCES: 'tencent',
      POLL_INTERVAL_MS: '200',
      BROKER: 'bridge',
      BROKER_URL: bridge.url,
      BROKER_TOKEN: bridge.token,
      SEALGUARD_CLOCK: START,
      DATA_DIR: dataDir,
      DEFAULT_MODE: o.mode ?? 'confirm',
      DEFAULT_THRESHOLD: '2000w',
      ...o.env,
    },
    { readDotEnv: false },
  );
  t0 = Date.now();
  const app = await startApp(config, { logger: pino({ level: 'info' }, sink) });
  cleanups.push(async () => {
    clearInterval(ticker);
    await app.stop();
    await bot.close();
    await market.close();
    await bridge.close();
  });
  return { bot, market, bridge, app, logs, dataDir, setLots: (n) => (lots = n) };
}

const sent = (c: ApiCall) => c.method === 'sendMessage';
const textOf = (c: ApiCall) => String(c.payload.text ?? '');
const hasKeyboard = (c: ApiCall) =>
  sent(c) &&
  !!(c.payload.reply_markup as { inline_keyboard?: unknown[] } | undefined)?.inline_keyboard?.length;
const orderPosts = (b: FakeBridge) => b.log.filter((l) => l.method === 'POST' && l.path === '/v1/orders');

async function waitUntil(cond: () => boolean, timeoutMs: number, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Waits for the seal, drains it, and returns the confirm sent to `chat`. */
async function drainToConfirm(r: Rig, chat: number): Promise<{ mid: number; sell: string }> {
  await waitUntil(
    () => r.app.api.list().find((v) => v.symbol === '002116.SZ')?.state === 'sealed',
    10_000,
    'sealed',
  );
  const from = r.bot.calls.length;
  r.setLots(15_000);
  const alert = await r.bot.waitFor((c) => hasKeyboard(c) && c.payload.chat_id === chat, 10_000, from);
  const sell = (
    alert.payload.reply_markup as { inline_keyboard: { text: string; callback_data: string }[][] }
  ).inline_keyboard.flat()[0]!.callback_data;
  const mid = [...r.bot.messages.values()].find(
    (m) => m.chat_id === chat && m.reply_markup?.inline_keyboard.length,
  )!.message_id;
  return { mid, sell };
}

describe('per chat delivery', () => {
  it('the first allowed user blocked the bot: the second gets the startup message, alerts and buttons; one tap sells once; the blocked chat is shown and retried only after it writes again', async () => {
    const r = await rig({
      users: [U1, U2],
      before: (bot) => {
        bot.script({ chat: U1, err: ERRORS.blocked });
      },
    });
    const { bot, app } = r;
    const start = await bot.waitFor(
      (c) => sent(c) && c.payload.chat_id === U2 && /SealGuard is/.test(textOf(c)),
    );
    expect(start).toBeDefined();
    await waitUntil(() => app.health.has(`telegram:chat:${U1}`), 5_000, 'U1 marked unreachable');
    expect(app.health.get(`telegram:chat:${U1}`)?.text).toMatch(/bot was blocked by the user/);
    const status = plainText(await runCommand(app.api, { user: 'test', text: '/status' }));
    expect(status).toMatch(new RegExp(`Telegram chat ${U1} is unreachable`));
    // Logged once (by the health board, which also tells the other channels).
    expect(r.logs.filter((l) => l.key === `telegram:chat:${U1}` && l.level === 40)).toHaveLength(1);

    const { mid, sell } = await drainToConfirm(r, U2);
    const before = bot.calls.length;
    const q = bot.tap(U2, mid, sell);
    await bot.waitFor((c) => c.method === 'answerCallbackQuery' && c.payload.callback_query_id === q);
    await bot.waitFor(
      (c) => c.method === 'editMessageText' && c.payload.message_id === mid && /→/.test(textOf(c)),
      8_000,
      before,
    );
    await new Promise((res) => setTimeout(res, 300));
    expect(orderPosts(r.bridge)).toHaveLength(1);
    // After being marked, the blocked chat is not tried again: one attempt only (the startup).
    const toU1 = bot.calls.filter((c) => c.payload.chat_id === U1);
    expect(toU1).toHaveLength(1);

    // U1 unblocks and writes: reachable again, and served.
    bot.clearScripts();
    bot.sendText(U1, '/status');
    const reply = await bot.waitFor(
      (c) => sent(c) && c.payload.chat_id === U1 && /Status/.test(textOf(c)),
      8_000,
    );
    expect(reply).toBeDefined();
    expect(app.health.has(`telegram:chat:${U1}`)).toBe(false);
  }, 40_000);

  it('a tap whose answerCallbackQuery gets 429 retry_after 8 still reaches the bridge within 1 s', async () => {
    const r = await rig();
    const { mid, sell } = await drainToConfirm(r, U1);
    r.bot.failNext('answerCallbackQuery', ERRORS.tooMany(8));
    r.bot.failNext('answerCallbackQuery', ERRORS.queryTooOld);
    const t0 = Date.now();
    r.bot.tap(U1, mid, sell);
    await waitUntil(() => orderPosts(r.bridge).length === 1, 1_000, 'order at the bridge');
    expect(Date.now() - t0).toBeLessThan(1_000);
    await new Promise((res) => setTimeout(res, 500));
    expect(orderPosts(r.bridge)).toHaveLength(1);
  }, 30_000);

  it('120 stranger messages in 10 s, then the owner taps: the order reaches the bridge within 2 s', async () => {
    const r = await rig();
    const { mid, sell } = await drainToConfirm(r, U1);
    for (let i = 0; i < 120; i++) {
      r.bot.sendText(900_000_000 + (i % 40), `/pause ${i}`);
      if (i % 12 === 11) await new Promise((res) => setTimeout(res, 1000));
    }
    const t0 = Date.now();
    r.bot.tap(U1, mid, sell);
    await waitUntil(() => orderPosts(r.bridge).length === 1, 2_000, 'order at the bridge');
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(r.app.health.counter('refused telegram')).toBeGreaterThanOrEqual(120);
    // One answer per stranger at most, and nothing paused.
    const answered = r.bot.calls.filter((c) => sent(c) && textOf(c) === 'Not authorized.');
    expect(answered.length).toBeLessThanOrEqual(40);
    expect(r.app.api.paused).toBe(false);
  }, 40_000);

  it('/pause@other_bot is for another bot: ignored; /status@ our bot is answered', async () => {
    const r = await rig();
    await r.bot.waitFor((c) => c.method === 'setMyCommands', 5_000);
    const from = r.bot.calls.length;
    r.bot.sendText(U1, '/pause@other_bot');
    r.bot.sendText(U1, '/status@sealguard_test_bot');
    await r.bot.waitFor((c) => sent(c) && /Status/.test(textOf(c)), 5_000, from);
    await new Promise((res) => setTimeout(res, 300));
    expect(r.app.api.paused).toBe(false);
    const replies = r.bot.calls.slice(from).filter((c) => sent(c) && /^(⏸|▶|<b>Status)/.test(textOf(c)));
    expect(replies.map(textOf)).toEqual([expect.stringMatching(/^<b>Status<\/b>/)]);
  }, 20_000);
});

describe('bounded retries', () => {
  it("a chat whose sends fail (a proxy's 502, then 429 retry_after 100) costs bounded time, is counted undelivered and logged; the other chat and the update loop go on", async () => {
    const r = await rig({
      users: [U1, U2],
      before: (bot) => {
        bot.script({ chat: U1, method: 'sendMessage', err: { error_code: 502, description: 'Bad Gateway' } });
      },
    });
    const { bot, app } = r;
    await bot.waitFor((c) => sent(c) && c.payload.chat_id === U2 && /SealGuard is/.test(textOf(c)), 8_000);
    // The update loop is not held by U1's retries: U2's command is answered at once.
    const t0 = Date.now();
    bot.sendText(U2, '/status');
    await bot.waitFor((c) => sent(c) && c.payload.chat_id === U2 && /Status/.test(textOf(c)), 3_000);
    expect(Date.now() - t0).toBeLessThan(3_000);
    // Three attempts (1 s, 2 s backoff), then given up: counted and logged.
    await waitUntil(() => app.health.counter('undelivered telegram') >= 1, 8_000, 'undelivered counted');
    const tries = bot.calls.filter(
      (c) => sent(c) && c.payload.chat_id === U1 && /SealGuard is/.test(textOf(c)),
    );
    expect(tries).toHaveLength(3);
    expect(r.logs.some((l) => l.msg === 'notification not delivered' && l.target === String(U1))).toBe(true);
    const status = plainText(await runCommand(app.api, { user: 'test', text: '/status' }));
    expect(status).toMatch(/undelivered telegram: \d+/);

    // A 429 asking for 100 s is beyond the cap: given up at once, not waited out, and nothing
    // more is tried in that chat meanwhile (Telegram would only answer 429 again).
    bot.clearScripts();
    // (U1's queued notifications go out first, so that the 429 answers the command below.)
    await new Promise((res) => setTimeout(res, 3_000));
    bot.script({ chat: U1, method: 'sendMessage', err: ERRORS.tooMany(100), times: 1 });
    const from = bot.calls.length;
    const t1 = Date.now();
    bot.sendText(U1, '/help');
    await waitUntil(
      () => r.logs.some((l) => l.msg === 'telegram reply failed' && /429/.test(String(l.err))),
      3_000,
    );
    bot.sendText(U1, '/status');
    await waitUntil(
      () =>
        r.logs.some((l) => l.msg === 'telegram reply failed' && /asked to wait \d+ s/.test(String(l.err))),
      3_000,
    );
    expect(Date.now() - t1).toBeLessThan(3_000);
    expect(bot.calls.slice(from).filter((c) => sent(c) && c.payload.chat_id === U1)).toHaveLength(1);
    bot.sendText(U2, '/help');
    await bot.waitFor((c) => sent(c) && c.payload.chat_id === U2 && /commands/.test(textOf(c)), 3_000, from);
  }, 40_000);
});

describe('Telegram unreachable at start', () => {
  for (const mode of ['502', 'hang'] as const) {
    it(`answering ${mode === '502' ? "a proxy's 502" : 'nothing (a hanging proxy)'}: the guard polls quotes at once and auto mode sells; when Telegram answers, messages flow`, async () => {
      const t0 = Date.now();
      const r = await rig({ mode: 'auto', before: (bot) => bot.down(mode) });
      await waitUntil(() => r.market.requests.length > 0, 5_000, 'a quote request');
      expect(Date.now() - t0).toBeLessThan(5_000);
      if (mode === '502') {
        await waitUntil(() => r.app.health.has('telegram:connect'), 5_000, 'reported');
        expect(r.app.health.get('telegram:connect')!.text).toMatch(/^Telegram is not reachable yet/);
      }
      await waitUntil(
        () => r.app.api.list().find((v) => v.symbol === '002116.SZ')?.state === 'sealed',
        10_000,
        'sealed',
      );
      r.setLots(15_000);
      await waitUntil(() => orderPosts(r.bridge).length === 1, 5_000, 'auto sell');
      r.bot.down(null);
      await r.bot.waitFor((c) => sent(c) && /SealGuard is watching/.test(textOf(c)), 25_000);
      await r.bot.waitFor((c) => sent(c) && /Sell order placed/.test(textOf(c)), 10_000);
      await waitUntil(() => !r.app.health.has('telegram:connect'), 5_000, 'cleared');
    }, 60_000);
  }
});

describe('polling that dies says so', () => {
  it('409 at polling is retried with capped backoff; persisting, it is told (log, /status, doctor) and auto mode still sells', async () => {
    const r = await rig({
      mode: 'auto',
      before: (bot) => {
        bot.script({ method: 'getUpdates', err: ERRORS.conflict });
      },
    });
    const polls0 = r.bot.polls;
    await waitUntil(() => r.app.health.has('telegram:polling'), 10_000, 'polling reported');
    const item = r.app.health.get('telegram:polling')!;
    expect(item).toMatchObject({ component: 'telegram', level: 'error' });
    expect(item.text).toMatch(/409 Conflict: terminated by other getUpdates request/);
    expect(item.text).toMatch(/sell twice/);
    // Backoff: 3 attempts took 1 s + 2 s of waiting, not a hot loop.
    expect(r.bot.polls - polls0).toBeLessThanOrEqual(4);
    const status = plainText(await runCommand(r.app.api, { user: 'test', text: '/status' }));
    expect(status).toMatch(/Telegram polling conflict/);
    expect(r.logs.some((l) => l.key === 'telegram:polling' && l.level === 50)).toBe(true);
    await waitUntil(() => !!r.app.health.get('telegram:polling'), 1_000);
    let doctor: Awaited<ReturnType<typeof checkRunningGuard>>;
    const cfg = { dataDir: r.dataDir } as Parameters<typeof checkRunningGuard>[0];
    const end = Date.now() + 5_000;
    do {
      doctor = await checkRunningGuard(cfg);
      if (doctor && /polling conflict/.test(doctor.detail)) break;
      await new Promise((res) => setTimeout(res, 100));
    } while (Date.now() < end);
    expect(doctor).toMatchObject({ name: 'running guard', ok: false });
    expect(doctor!.detail).toMatch(/Telegram polling conflict/);

    // The guard keeps guarding: a drain in auto mode sells.
    await waitUntil(
      () => r.app.api.list().find((v) => v.symbol === '002116.SZ')?.state === 'sealed',
      10_000,
      'sealed',
    );
    r.setLots(15_000);
    await waitUntil(() => orderPosts(r.bridge).length === 1, 5_000, 'auto sell');

    // The other process goes away: polling works again and the problem is cleared.
    r.bot.clearScripts();
    await waitUntil(() => !r.app.health.has('telegram:polling'), 35_000, 'polling recovered');
  }, 60_000);

  it('401 (token revoked): told, Telegram off for this run, auto mode still sells', async () => {
    const r = await rig({
      mode: 'auto',
      before: (bot) => {
        bot.script({ method: 'getUpdates', err: ERRORS.unauthorized });
      },
    });
    await waitUntil(() => r.app.health.has('telegram:polling'), 10_000, '401 reported');
    expect(r.app.health.get('telegram:polling')!.text).toMatch(/401 Unauthorized/);
    const polls = r.bot.polls;
    await waitUntil(
      () => r.app.api.list().find((v) => v.symbol === '002116.SZ')?.state === 'sealed',
      10_000,
      'sealed',
    );
    r.setLots(15_000);
    await waitUntil(() => orderPosts(r.bridge).length === 1, 5_000, 'auto sell');
    // No hot loop against a refused token.
    expect(r.bot.polls).toBe(polls);
  }, 30_000);
});

describe("Telegram's own trouble on the other channels", () => {
  it('a persisting 409 is told on the console (the Incident), never sent to Telegram itself', async () => {
    const h = await harness({ mode: 'confirm' });
    const bot = await startFakeBotApi();
    bot.script({ method: 'getUpdates', err: ERRORS.conflict });
    // As app.ts wires the board: every new problem and its end become an Incident on the bus.
    h.api.health.onChange(({ kind, item, isNew }) => {
      if (kind === 'set' && !isNew) return;
      h.bus.publish({
        type: 'Incident',
        at: h.clock.now(),
        key: item.key,
        component: item.component,
        level: item.level,
        text: item.text,
        resolved: kind === 'clear',
      });
    });
    const out = new PassThrough();
    let text = '';
    out.on('data', (b: Buffer) => (text += b.toString('utf8')));
    const tg = new TelegramChannel({
      token: bot.token,
      allowedUsers: [U1],
      api: h.api,
      log: silent,
      apiRoot: bot.apiRoot,
      health: h.api.health,
      backoffMs: { first: 100, max: 400 },
      pollTimeoutS: 1,
    });
    const hub = new ChatHub(
      h.api,
      [tg, new ConsoleChannel(h.api, { input: new PassThrough(), output: out })],
      silent,
    );
    cleanups.push(async () => {
      await hub.stop();
      await h.stop();
      await bot.close();
    });
    await hub.start();
    await waitUntil(() => /🛑 Telegram polling conflict/.test(text), 10_000, 'told on the console');
    expect(text).toMatch(/409 Conflict: terminated by other getUpdates request/);
    await new Promise((r) => setTimeout(r, 500));
    expect(bot.calls.some((c) => sent(c) && /polling conflict/.test(textOf(c)))).toBe(false);
    // Capped backoff: a handful of polls, not a hot loop (100, 200, 400, 400... ms).
    expect(bot.polls).toBeLessThan(20);
    bot.clearScripts();
    await waitUntil(
      () => /✅ Resolved Telegram polling conflict/.test(text),
      10_000,
      'resolved on the console',
    );
  }, 30_000);
});
