/**
 * The real app (startApp: Tencent feed over HTTP, guard, paper broker, chat hub, TelegramChannel
 * on grammY, bounded retries) against a fake Bot API and a scripted Tencent market on loopback.
 * Only the two remote ends are fakes; every byte between them is the product's.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type App } from '../../src/app.ts';
import { toHtmlChunks } from '../../src/chat/telegram.ts';
import { loadConfig } from '../../src/config.ts';
import { formatExchangeTime } from '../../src/domain/time.ts';
import { startFakeBotApi, type ApiCall, type FakeBotApi } from '../helpers/fakeBotApi.ts';
import { startTencentMarket, type Book, type TencentMarket } from '../helpers/tencentMarket.ts';

const ME = 111_222_333;
const STRANGER = 999_888_777;
const START = '2026-11-23T10:00:00+08:00';

let bot: FakeBotApi;
let market: TencentMarket;
let app: App;
const logLines: Record<string, unknown>[] = [];
/** Lots on bid1 at the limit: 1亿 = 100,000 lots at 10.00. */
let sealLots = 100_000;
let ticker: NodeJS.Timeout;

function book(code: string, name: string, now: number, lots: number | null): Book {
  const [date, time] = formatExchangeTime(now).slice(0, 19).split('T') as [string, string];
  return {
    code,
    exchange: code.startsWith('6') ? 'sh' : 'sz',
    name,
    date,
    time,
    last: lots === null ? '9.50' : '10.00',
    prevClose: '9.09',
    high: '10.00',
    low: '9.10',
    limitUp: '10.00',
    limitDown: '8.18',
    bids:
      lots === null
        ? [
            ['9.49', 100],
            ['9.48', 200],
          ]
        : [
            ['10.00', lots],
            ['9.99', 400],
          ],
    asks: lots === null ? [['9.50', 100]] : [],
  };
}

/** Book times track the app's simulated clock (SEALGUARD_CLOCK start + elapsed real time). */
function publish(): void {
  const now = app ? app.clock.now() : Date.parse(START);
  market.set(book('002116', '中国海诚', now, sealLots));
  market.set(book('600777', '*ST<x>&', now, null));
  market.set(book('600519', '贵州茅台', now, null));
  for (let i = 0; i < 60; i++) market.set(book(String(600100 + i), `长名字测试股份${i}`, now, null));
}

const sent = (c: ApiCall) => c.method === 'sendMessage';
const textOf = (c: ApiCall) => String(c.payload.text ?? '');

async function orders(): Promise<{ symbol: string; quantity: number; limitPrice: string }[]> {
  return (await app.api.orders()).orders;
}

beforeAll(async () => {
  bot = await startFakeBotApi();
  market = await startTencentMarket();
  publish();
  ticker = setInterval(publish, 100);
  const config = loadConfig(
    {
      TELEGRAM_BOT_TOKEN: bot.token,
      TELEGRAM_ALLOWED_USERS: String(ME),
      TELEGRAM_API_ROOT: bot.apiRoot,
      TENCENT_QUOTE_URL: market.url,
      QUOTE_SOURCES: 'tencent',
      POLL_INTERVAL_MS: '200',
      BROKER: 'paper',
      PAPER_POSITIONS: '002116:10000',
      SEALGUARD_CLOCK: START,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'sg-tg-')),
      DEFAULT_MODE: 'confirm',
      DEFAULT_THRESHOLD: '2000w',
    },
    { readDotEnv: false },
  );
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n').filter(Boolean)) logLines.push(JSON.parse(l));
      cb();
    },
  });
  app = await startApp(config, { logger: pino({ level: 'info' }, sink) });
}, 20_000);

afterAll(async () => {
  clearInterval(ticker);
  await app?.stop();
  await bot?.close();
  await market?.close();
});

describe('Telegram against a fake Bot API, the real app behind it', () => {
  it('registers the command menu at start', () => {
    const menu = bot.calls.find((c) => c.method === 'setMyCommands');
    const names = (menu?.payload.commands as { command: string }[]).map((c) => c.command);
    expect(names).toEqual(expect.arrayContaining(['watch', 'unwatch', 'list', 'trigger', 'pause', 'status']));
    for (const n of names) expect(n).toMatch(/^[a-z0-9_]{1,32}$/);
  });

  it('a message from a user not allowed is refused, logged, and changes nothing; refusals are rate-limited per sender', async () => {
    const before = JSON.stringify(app.guard.stores.settings.data);
    const from = bot.calls.length;
    bot.sendText(STRANGER, '/watch 600519 2000w');
    const r = await bot.waitFor((c) => sent(c) && c.payload.chat_id === STRANGER, 5_000, from);
    expect(textOf(r)).toBe('Not authorized.');
    bot.sendText(STRANGER, '/pause');
    await waitUntil(() => app.health.counter('refused telegram') === 2, 5_000);
    await new Promise((res) => setTimeout(res, 300));
    // The second refusal within the minute is counted, not answered (a flood costs one reply).
    expect(bot.calls.filter((c) => sent(c) && c.payload.chat_id === STRANGER)).toHaveLength(1);
    expect(JSON.stringify(app.guard.stores.settings.data)).toBe(before);
    expect(app.api.paused).toBe(false);
    const refused = logLines.filter((l) =>
      /refused a user not in TELEGRAM_ALLOWED_USERS/.test(String(l.msg)),
    );
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused[0]).toMatchObject({ userId: STRANGER, kind: 'message', level: 40 });
    // The token never reaches the log.
    expect(JSON.stringify(logLines)).not.toContain(bot.token.split(':')[1]);
  });

  it('/watch 002116 2000w from the allowed user gets a confirmation', async () => {
    const from = bot.calls.length;
    bot.sendText(ME, '/watch 002116 2000w');
    const r = await bot.waitFor((c) => sent(c) && /Watching/.test(textOf(c)), 5_000, from);
    expect(r.payload).toMatchObject({ chat_id: ME, parse_mode: 'HTML' });
    expect(textOf(r)).toBe('✓ Watching 中国海诚 002116.SZ: sell trigger &lt;2000万, mode confirm.');
  });

  it('commands typed quickly run in order (the second needs the first done)', async () => {
    const from = bot.calls.length;
    bot.sendText(ME, '/watch 600519 2000w');
    bot.sendText(ME, '/mode 600519 auto');
    bot.sendText(ME, '/trigger 600519 drop 50%');
    // (About 1 message per second per chat: three replies take a few seconds.)
    await bot.waitFor((c) => sent(c) && /drop 50%/.test(textOf(c)), 10_000, from);
    const replies = bot.calls
      .slice(from)
      .filter((c) => sent(c) && c.payload.chat_id === ME && /600519/.test(textOf(c)))
      .map(textOf);
    expect(replies).toEqual([
      '✓ Watching 贵州茅台 600519.SH: sell trigger &lt;2000万, mode confirm.',
      '✓ Mode auto for 600519.SH.',
      '✓ 600519.SH: &lt;2000万, drop 50%.',
    ]);
    await app.api.unwatch('600519');
  });

  it('escapes names like *ST<x>& in HTML', async () => {
    const from = bot.calls.length;
    bot.sendText(ME, '/watch 600777 3000w');
    const r = await bot.waitFor((c) => sent(c) && /600777/.test(textOf(c)), 5_000, from);
    expect(textOf(r)).toContain('*ST&lt;x&gt;&amp; 600777.SH');
    // What the user sees (the fake decodes entities as Telegram does):
    const seen = [...bot.messages.values()].find((m) => m.text.includes('600777.SH'));
    expect(seen?.text).toContain('*ST<x>& 600777.SH');
  });

  it('drain → confirm with buttons; a stranger tap sells nothing; two taps sell once at the limit; the message shows the result', async () => {
    await waitUntil(() => app.api.list().find((v) => v.symbol === '002116.SZ')?.state === 'sealed', 10_000);
    const from = bot.calls.length;
    sealLots = 15_000; // 1500万 < 2000万
    const alert = await bot.waitFor(
      (c) =>
        sent(c) && !!(c.payload.reply_markup as { inline_keyboard?: unknown[] })?.inline_keyboard?.length,
      10_000,
      from,
    );
    const kb = (
      alert.payload.reply_markup as { inline_keyboard: { text: string; callback_data: string }[][] }
    ).inline_keyboard;
    const buttons = kb.flat();
    expect(buttons.map((b) => b.text)).toEqual(['卖出 Sell', '持有 Hold']);
    for (const b of buttons) expect(Buffer.byteLength(b.callback_data, 'utf8')).toBeLessThanOrEqual(64);
    // The evidence: code, name, seal now and peak, limit-up, sellable, time.
    const body = textOf(alert);
    for (const want of ['中国海诚', '002116.SZ', '1500万', '1亿', '10.00', '10000'])
      expect(body, want).toContain(want);
    expect(body).toMatch(/10:0\d:\d\d/);
    const mid = [...bot.messages.values()].find((m) => m.reply_markup?.inline_keyboard.length)!.message_id;
    const sell = buttons[0]!.callback_data;

    // A stranger taps Sell (e.g. in a group): refused at once, nothing placed.
    const q0 = bot.tap(STRANGER, mid, sell);
    const ans0 = await bot.waitFor(
      (c) => c.method === 'answerCallbackQuery' && c.payload.callback_query_id === q0,
    );
    expect(ans0.payload.text).toBe('Not authorized.');
    await new Promise((r) => setTimeout(r, 300));
    expect(await orders()).toHaveLength(0);
    expect(logLines.some((l) => l.kind === 'tap' && l.userId === STRANGER)).toBe(true);

    // Two quick taps by the allowed user: one order, at the limit-up price.
    const q1 = bot.tap(ME, mid, sell);
    const q2 = bot.tap(ME, mid, sell);
    const a1 = await bot.waitFor(
      (c) => c.method === 'answerCallbackQuery' && c.payload.callback_query_id === q1,
    );
    const a2 = await bot.waitFor(
      (c) => c.method === 'answerCallbackQuery' && c.payload.callback_query_id === q2,
    );
    expect(a1.payload.text).toBe('Selling…');
    expect(String(a2.payload.text)).toMatch(/^Already (being handled|handled)/);
    await bot.waitFor(
      (c) => c.method === 'editMessageText' && /→/.test(textOf(c)) && c.payload.message_id === mid,
    );
    const actionId = sell.split(':').pop()!;
    await waitUntil(() => ['sold', 'failed'].includes(app.api.action(actionId)?.status ?? ''), 5_000);
    expect(app.api.action(actionId)).toMatchObject({ status: 'sold', resolvedBy: `telegram:${ME}` });
    const placed = await orders();
    expect(placed).toHaveLength(1);
    expect(placed[0]).toMatchObject({ symbol: '002116.SZ', quantity: 10_000, limitPrice: '10.00' });
    const final = bot.messages.get(mid)!;
    expect(final.reply_markup).toBeUndefined();
    expect(final.text).toMatch(/→ .*Sold .*10000.* @ 10\.00/);

    // A later tap on the finished action changes nothing and says why.
    const q3 = bot.tap(ME, mid, sell);
    const a3 = await bot.waitFor(
      (c) => c.method === 'answerCallbackQuery' && c.payload.callback_query_id === q3,
    );
    expect(String(a3.payload.text)).toMatch(/Already handled/);
    expect(await orders()).toHaveLength(1);
  }, 30_000);

  it('a long /list is split into messages under 4096 characters', async () => {
    for (let i = 0; i < 60; i++) await app.api.watch(String(600100 + i), 20_000_000);
    const from = bot.calls.length;
    bot.sendText(ME, '/list');
    await bot.waitFor((c) => sent(c) && /长名字测试股份59/.test(textOf(c)), 10_000, from);
    const parts = bot.calls
      .slice(from)
      .filter((c) => sent(c) && c.payload.chat_id === ME && /盯板|长名字/.test(textOf(c)));
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) expect(textOf(p).length).toBeLessThanOrEqual(4096);
    const all = parts.map(textOf).join('\n');
    for (let i = 0; i < 60; i++) expect(all).toContain(`长名字测试股份${i} ${600100 + i}.SH`);
  }, 20_000);
});

describe('Telegram flood control', () => {
  it('a 429 with a short retry_after is waited out and the reply still arrives once (bounded retry)', async () => {
    const isHelp = (p: Record<string, unknown>) => /SealGuard 封板卫士 commands/.test(String(p.text));
    bot.failNext(
      'sendMessage',
      { error_code: 429, description: 'Too Many Requests: retry after 1', retry_after: 1 },
      isHelp,
    );
    const from = bot.calls.length;
    const t0 = Date.now();
    bot.sendText(ME, '/help');
    await bot.waitFor(
      (c) =>
        sent(c) &&
        isHelp(c.payload) &&
        bot.calls.slice(from).filter((x) => sent(x) && isHelp(x.payload)).length === 2,
      8_000,
      from,
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_000);
    const [first, second] = bot.calls.slice(from).filter((c) => sent(c) && isHelp(c.payload));
    expect(second!.payload).toEqual(first!.payload);
    expect([...bot.messages.values()].filter((m) => /SealGuard 封板卫士 commands/.test(m.text))).toHaveLength(
      1,
    );
  });
});

describe('toHtmlChunks', () => {
  it('splits a single overlong line at character boundaries: never inside an entity, a tag or an emoji, nothing lost', () => {
    const line = Array.from({ length: 400 }, (_, i) => `*ST<${i}>&😀`).join(' ');
    const r = { title: 'T', lines: [line], pre: [line] };
    const chunks = toHtmlChunks(r, 500);
    expect(chunks.length).toBeGreaterThan(10);
    for (const c of chunks) {
      expect(c.length).toBeLessThanOrEqual(500);
      // Every & starts a whole entity; no tag is cut; no lone surrogate.
      expect(c).not.toMatch(/&(?!(amp|lt|gt);)/);
      expect(c).not.toMatch(/<[^>]*$|^[^<]*>/);
      expect(c).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
      expect((c.match(/<pre>/g) ?? []).length).toBe((c.match(/<\/pre>/g) ?? []).length);
      expect((c.match(/<b>/g) ?? []).length).toBe((c.match(/<\/b>/g) ?? []).length);
    }
    // What the user reads, pieced together, is the whole text twice (line and table).
    const seen = chunks
      .map((c) => c.replace(/<\/?(b|pre)>/g, ''))
      .join('')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&')
      .replace(/\n/g, '');
    expect(seen).toBe(`T${line}${line}`);
  });

  it('never splits inside a tag and escapes every line', () => {
    const chunks = toHtmlChunks(
      {
        title: 'T<&>',
        lines: Array.from({ length: 300 }, (_, i) => `line ${i} *ST<x>&`),
        pre: Array.from({ length: 300 }, (_, i) => `row ${i} a<b`),
      },
      1000,
    );
    expect(chunks.length).toBeGreaterThan(5);
    for (const c of chunks) {
      expect(c.length).toBeLessThanOrEqual(1000);
      expect((c.match(/<pre>/g) ?? []).length).toBe((c.match(/<\/pre>/g) ?? []).length);
      expect(c).not.toMatch(/<(?!\/?(b|pre)>)/);
    }
    expect(chunks.join('\n')).toContain('line 299 *ST&lt;x&gt;&amp;');
  });
});

async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
