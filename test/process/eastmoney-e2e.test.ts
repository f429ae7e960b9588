/**
 * BROKER=eastmoney as a user runs it: `node bin/sealguard.js start` configured by environment only,
 * against a fake Telegram Bot API, a scripted Tencent quote server and the fake jywg site
 * (test/helpers/fakeJywg.ts). The owner reads each captcha picture (here: from the fake) and
 * answers in chat.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { startFakeBotApi, type ApiCall, type FakeBotApi } from '../helpers/fakeBotApi.ts';
import { startFakeJywg, type FakeJywg } from '../helpers/fakeJywg.ts';
import { sealedBook, startTencentMarket, type TencentMarket } from '../helpers/tencentMarket.ts';

const BIN = fileURLToPath(new URL('../../bin/sealguard.js', import.meta.url));
const ME = 424_242_424;
const START = '2026-11-23T10:00:00+08:00';

let bot: FakeBotApi | undefined;
let market: TencentMarket | undefined;
let jywg: FakeJywg | undefined;
let child: ChildProcess | undefined;
let ticker: NodeJS.Timeout | undefined;

afterAll(async () => {
  clearInterval(ticker);
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await bot?.close();
  await market?.close();
  await jywg?.close();
});

const sent = (c: ApiCall) => c.method === 'sendMessage';
const textOf = (c: ApiCall) => String(c.payload.text ?? '');
const submits = () => jywg!.log.filter((l) => l.path === '/Trade/SubmitTradeV2');

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

it('npm start with BROKER=eastmoney: captcha photo, 3 wrong answers stop, /login, /positions, confirm and auto sells once each, expiry and re-login, a reset submit found not resent', async () => {
  let t0 = Date.now();
  const marketNow = () => Date.parse(START) + (Date.now() - t0);
  bot = await startFakeBotApi();
  market = await startTencentMarket();
  jywg = await startFakeJywg({
    now: marketNow,
    holdings: [
      { code: '002116', market: 'SA', name: '中国海诚', zqsl: 12_000, kysl: 10_000, price: '10.00' },
      { code: '002117', market: 'SA', name: '测试二号', zqsl: 5_000, kysl: 5_000, price: '10.00' },
      { code: '002118', market: 'SA', name: '测试三号', zqsl: 3_000, kysl: 3_000, price: '10.00' },
    ],
  });
  const lots: Record<string, number> = { '002116': 100_000, '002117': 100_000, '002118': 100_000 };
  const names: Record<string, string> = { '002116': '中国海诚', '002117': '测试二号', '002118': '测试三号' };
  const publish = () => {
    for (const code of Object.keys(lots))
      market!.set({ ...sealedBook(marketNow(), lots[code]!), code, name: names[code]! });
  };
  publish();
  ticker = setInterval(publish, 100);

  const dataDir = mkdtempSync(join(tmpdir(), 'sg-em-e2e-data-'));
  const stdout: string[] = [];
  const stderr: string[] = [];
  t0 = Date.now();
  child = spawn(process.execPath, [BIN, 'start'], {
    cwd: mkdtempSync(join(tmpdir(), 'sg-em-e2e-cwd-')),
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TELEGRAM_BOT_TOKEN: bot.token,
      TELEGRAM_ALLOWED_USERS: String(ME),
      TELEGRAM_API_ROOT: bot.apiRoot,
      TENCENT_QUOTE_URL: market.url,
      QUOTE_SOURCES: 'tencent',
      POLL_INTERVAL_MS: '200',
      BROKER: 'eastmoney',
      EASTMONEY_ACCOUNT: jywg.account,
      EASTMONEY_PASSWORD: jywg.password,
      EASTMONEY_TRADE_URL: jywg.url,
      EASTMONEY_RSA_PUBKEY: jywg.publicKeyPem,
      SEALGUARD_CLOCK: START,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'debug',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (b: Buffer) => stdout.push(b.toString('utf8')));
  child.stderr!.on('data', (b: Buffer) => stderr.push(b.toString('utf8')));
  const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
  const diag = () =>
    `\n--- stderr ---\n${stderr.join('').slice(-5000)}\n--- stdout ---\n${stdout.join('').slice(-2000)}`;
  const say = async (text: string, expectRe: RegExp, ms = 8_000) => {
    const from = bot!.calls.length;
    bot!.sendText(ME, text);
    return bot!.waitFor((c) => sent(c) && expectRe.test(textOf(c)), ms, from);
  };

  try {
    // 1. The captcha picture reaches the owner.
    await bot.waitFor((c) => c.method === 'sendPhoto', 15_000);
    await bot.waitFor((c) => sent(c) && /\/captcha NNNN/.test(textOf(c)));

    // 2. Three wrong answers: the attempts stop and the owner is told; no fourth picture.
    for (let i = 0; i < 3; i++) {
      const wrong = jywg.lastCaptcha() === '1111' ? '2222' : '1111';
      await say(`/captcha ${wrong}`, i < 2 ? /captcha/ : /stopped/);
    }
    expect(jywg.failedLogins).toBe(3);
    const served = jywg.captchasServed;
    const st = await say('/status', /Status/);
    expect(textOf(st)).toMatch(/东方财富 is unavailable/);
    expect(jywg.captchasServed).toBe(served);

    // 3. /login starts again: a new picture, the right answer logs in.
    let from = bot.calls.length;
    bot.sendText(ME, '/login');
    await bot.waitFor((c) => sent(c) && /login restarted by \/login/.test(textOf(c)), 8_000, from);
    expect(jywg.captchasServed).toBe(served + 1);
    await say(`/captcha ${jywg.lastCaptcha()!}`, /logged in/);
    const auth = jywg.log.filter((l) => l.path === '/Login/Authentication').at(-1)!;
    expect(auth.ua).not.toMatch(/Windows/);

    // Holdings are read right after the login (not at the next 30 s refresh): they are guarded.
    await bot.waitFor((c) => sent(c) && /002116.*sealed at limit-up/.test(textOf(c)), 8_000, from);

    // 4. /positions shows Kysl as sellable.
    const pos = await say('/positions', /Positions/);
    expect(textOf(pos)).toMatch(/002116\.SZ 中国海诚 12000 \(sellable 10000\)/);

    // 5. Confirm mode (DEFAULT_MODE unset): the drain asks, one tap sells once at the limit-up.
    await say('/mode 002117 auto', /Mode auto for 002117/);
    from = bot.calls.length;
    lots['002116'] = 15_000;
    const alert = await bot.waitFor(
      (c) =>
        sent(c) && !!(c.payload.reply_markup as { inline_keyboard?: unknown[] } | undefined)?.inline_keyboard,
      10_000,
      from,
    );
    const sell = (
      alert.payload.reply_markup as { inline_keyboard: { text: string; callback_data: string }[][] }
    ).inline_keyboard
      .flat()
      .find((b) => /Sell/.test(b.text))!.callback_data;
    const mid = [...bot.messages.values()].find((m) => m.reply_markup?.inline_keyboard.length)!.message_id;
    expect(submits()).toHaveLength(0);
    bot.tap(ME, mid, sell);
    await bot.waitFor((c) => c.method === 'editMessageText' && /→/.test(textOf(c)), 8_000);
    expect(submits()).toHaveLength(1);
    expect(submits()[0]!.form).toMatchObject({
      stockCode: '002116',
      tradeType: 'S',
      market: 'SA',
      price: '10.00',
      amount: '10000',
    });

    // 6. Auto mode: the drain sells at once, exactly one submit.
    await bot.waitFor((c) => sent(c) && /002117.*sealed at limit-up/.test(textOf(c)), 10_000);
    from = bot.calls.length;
    lots['002117'] = 15_000;
    await bot.waitFor((c) => sent(c) && /Sell order placed: 测试二号 002117/.test(textOf(c)), 10_000, from);
    expect(submits().filter((s) => s.form.stockCode === '002117')).toHaveLength(1);
    expect(submits().find((s) => s.form.stockCode === '002117')!.form).toMatchObject({
      price: '10.00',
      amount: '5000',
    });

    // 7. The session expires mid-day: a new captcha prompt, re-login, selling works again.
    jywg.expireAll();
    from = bot.calls.length;
    bot.sendText(ME, '/positions');
    await bot.waitFor((c) => sent(c) && /session expired/.test(textOf(c)), 10_000, from);
    await bot.waitFor((c) => c.method === 'sendPhoto', 10_000, from);
    await say(`/captcha ${jywg.lastCaptcha()!}`, /logged in/);
    await say('/mode 002118 auto', /Mode auto for 002118/);

    // 8. The submit's connection is reset after the site accepted it: found, reported, not resent.
    jywg.fault('/Trade/SubmitTradeV2', 'reset-after');
    await bot.waitFor((c) => sent(c) && /002118.*sealed at limit-up/.test(textOf(c)), 10_000);
    from = bot.calls.length;
    lots['002118'] = 15_000;
    await bot.waitFor((c) => sent(c) && /Sell order placed: 测试三号 002118/.test(textOf(c)), 15_000, from);
    await new Promise((r) => setTimeout(r, 1500));
    expect(jywg.orders.filter((o) => o.Zqdm === '002118')).toHaveLength(1);
    expect(submits().filter((s) => s.form.stockCode === '002118')).toHaveLength(1);
    expect(jywg.orders).toHaveLength(3);

    child.kill('SIGTERM');
    const code = await Promise.race([
      exited,
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 8_000)),
    ]);
    expect(code, diag()).toBe(0);

    // The password is in no log line, no message, no file of DATA_DIR.
    expect(stderr.join('') + stdout.join('')).not.toContain(jywg.password);
    for (const c of bot.calls) expect(JSON.stringify(c.payload)).not.toContain(jywg.password);
    for (const f of filesUnder(dataDir))
      expect(readFileSync(f).toString('utf8'), f).not.toContain(jywg.password);
  } catch (err) {
    throw new Error(`${(err as Error).message}${diag()}`, { cause: err });
  }
}, 120_000);
