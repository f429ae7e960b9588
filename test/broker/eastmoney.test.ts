/**
 * EastmoneyBroker against the fake jywg site (test/helpers/fakeJywg.ts, which follows riiy/emtl,
 * Depblu/emt_trade LoginSec.js, jadepeng/pytrader #9, wmo-v/eastmoneyapi and zsmatrix62/emtl) over
 * real HTTP on loopback. The captcha is "read" by the test from the fake, as the owner would read
 * the picture.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EastmoneyBroker } from '../../src/broker/eastmoney.ts';
import { parseRevokeText, wtztStatus } from '../../src/broker/eastmoneyRows.ts';
import type { LoginPrompt } from '../../src/broker/eastmoneySession.ts';
import { HealthBoard } from '../../src/engine/health.ts';
import { startFakeJywg, type FakeJywg } from '../helpers/fakeJywg.ts';

const clock = { now: () => Date.now() };
let dir: string;
let fake: FakeJywg;
let broker: EastmoneyBroker | undefined;
let prompts: LoginPrompt[];
let health: HealthBoard;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sg-em-'));
  fake = await startFakeJywg({
    holdings: [
      { code: '002116', market: 'SA', name: '中国海诚', zqsl: 12_000, kysl: 10_000, price: '10.00' },
      { code: '600519', market: 'HA', name: '贵州茅台', zqsl: 100, kysl: 100, price: '1500.00' },
    ],
  });
  prompts = [];
  health = new HealthBoard();
});

afterEach(async () => {
  await broker?.close();
  broker = undefined;
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

async function open(extra: Partial<Parameters<typeof EastmoneyBroker.open>[0]> = {}) {
  broker = await EastmoneyBroker.open({
    account: fake.account,
    password: fake.password,
    tradeUrl: fake.url,
    publicKey: fake.publicKeyPem,
    dataDir: dir,
    clock,
    prompt: (p) => prompts.push(p),
    health,
    resendAfterMs: 200,
    ...extra,
  });
  return broker;
}

async function until<T>(fn: () => T | undefined | false, ms = 3000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function login(b: EastmoneyBroker): Promise<void> {
  await until(() => b.session.currentStage === 'captcha');
  const answer = await b.login.answerCaptcha(fake.lastCaptcha()!);
  expect(answer).toMatch(/logged in/);
}

const sell = (id = 'sg-20261201-a1', quantity = 10_000, limitPrice = '10.00') => ({
  clientOrderId: id,
  symbol: '002116.SZ',
  quantity,
  limitPrice,
});

describe('login', () => {
  it('sends the captcha picture, logs in with /captcha, scrapes the validatekey and keeps the cookie', async () => {
    const b = await open();
    await until(() => b.session.currentStage === 'captcha');
    const p = prompts.find((x) => x.file)!;
    expect(p.text).toMatch(/\/captcha NNNN/);
    const png = readFileSync(p.file!);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(b.unavailable()).toMatch(/unavailable: waiting for the captcha/);
    expect(
      health
        .snapshot()
        .items.map((i) => i.text)
        .join(),
    ).toMatch(/东方财富 is unavailable/);
    await login(b);
    expect(health.snapshot().items).toHaveLength(0);
    const auth = fake.log.find((l) => l.path === '/Login/Authentication')!;
    expect(auth.form).toMatchObject({
      userId: fake.account,
      type: 'Z',
      secInfo: '',
      authCode: '',
      duration: '180',
    });
    expect(auth.form.password).not.toContain(fake.password);
    expect(auth.ua).not.toMatch(/Windows/);
    const yzm = fake.log.find((l) => l.path === '/Login/YZM')!;
    expect(yzm).toBeDefined();
    expect(auth.form.randNumber).toMatch(/^0\.\d+/);
    const positions = await b.positions();
    expect(positions.find((x) => x.symbol === '002116.SZ')).toMatchObject({
      quantity: 12_000,
      sellable: 10_000,
    });
    const acct = await b.account();
    expect(acct.accountId).toBe(`****${fake.account.slice(-4)}`);
    expect(existsSync(join(dir, 'eastmoney-captcha.png'))).toBe(false);
  });

  it('accepts Status as a string on success too', async () => {
    fake.statusAsString = true;
    const b = await open();
    await login(b);
    fake.statusAsString = false;
    expect(b.session.loggedIn).toBe(true);
  });

  it('three wrong captchas stop the attempts and say so; /login starts again', async () => {
    const b = await open();
    for (let i = 1; i <= 3; i++) {
      await until(() => b.session.currentStage === 'captcha');
      const r = await b.login.answerCaptcha(fake.lastCaptcha() === '1111' ? '2222' : '1111');
      if (i < 3) expect(r).toMatch(/captcha/);
      else expect(r).toMatch(/stopped/);
    }
    expect(fake.failedLogins).toBe(3);
    expect(b.session.currentStage).toBe('stopped');
    expect(prompts.at(-1)!.text).toMatch(/3 logins in a row were refused.*验证码错误.*\/login/);
    const served = fake.captchasServed;
    await new Promise((r) => setTimeout(r, 200));
    expect(fake.captchasServed).toBe(served);
    expect(await b.login.answerCaptcha('1234')).toMatch(/No captcha is being asked/);
    await b.login.restart();
    await login(b);
  });

  it('a bad /captcha argument changes nothing', async () => {
    const b = await open();
    await until(() => b.session.currentStage === 'captcha');
    expect(await b.login.answerCaptcha('12a4')).toMatch(/4 digits/);
    expect(fake.log.filter((l) => l.path === '/Login/Authentication')).toHaveLength(0);
  });

  it('the site unreachable during login (nothing refused): stopped, and tried again by itself a minute later', async () => {
    fake.fault('/Login/CheckZjzh', 'reset-before');
    let skew = 0;
    const b = await open({ keepAliveMs: 100, wallNow: () => Date.now() + skew });
    await until(() => b.session.currentStage === 'stopped');
    expect(b.unavailable()).toMatch(/unreachable during login.*trying again in a minute/);
    await new Promise((r) => setTimeout(r, 300));
    expect(b.session.currentStage).toBe('stopped');
    skew = 61_000;
    await login(b);
  });

  it('a locked account stops at once with the site message', async () => {
    fake.lock();
    const b = await open();
    await until(() => b.session.currentStage === 'captcha');
    await b.login.answerCaptcha(fake.lastCaptcha()!);
    expect(b.session.currentStage).toBe('stopped');
    expect(b.unavailable()).toMatch(/帐户状态被锁定/);
  });

  it('ErrCode -11: phone tail, SMS captcha, SMS code, then the login', async () => {
    fake.requireSms('6789', '246810');
    const b = await open();
    await until(() => b.session.currentStage === 'captcha');
    await b.login.answerCaptcha(fake.lastCaptcha()!);
    expect(b.session.currentStage).toBe('sms-phone');
    await b.login.answerSms('6789');
    expect(b.session.currentStage).toBe('sms-captcha');
    await b.login.answerCaptcha(fake.lastCaptcha()!);
    expect(b.session.currentStage).toBe('sms-code');
    await b.login.answerSms('246810');
    await login(b);
  });

  it('expiry mid-session (Status -2) asks for a new captcha; after it, reads work again', async () => {
    const b = await open();
    await login(b);
    const before = prompts.length;
    fake.expireAll();
    await expect(b.positions()).rejects.toMatchObject({ code: 'BRIDGE_NOT_READY' });
    await until(() => b.session.currentStage === 'captcha');
    expect(prompts.slice(before).some((p) => p.file && /expired/.test(p.text))).toBe(true);
    await login(b);
    expect((await b.positions()).length).toBe(2);
  });

  it('keeps the session read while trading and notices its end without being asked', async () => {
    // A market clock inside trading hours (wall time otherwise decides the phase).
    const b = await open({ keepAliveMs: 100, clock: { now: () => Date.parse('2026-11-23T10:00:00+08:00') } });
    await login(b);
    const reads = () => fake.log.filter((l) => l.path === '/Trade/Buy').length;
    const before = reads();
    await until(() => reads() >= before + 2, 3000);
    fake.expireAll();
    await until(() => b.session.currentStage === 'captcha', 3000);
    expect(prompts.at(-1)!.file).toBeDefined();
  });

  it('asks for a renewal captcha before the session runs out and keeps selling meanwhile', async () => {
    const b = await open({
      keepAliveMs: 100,
      durationMin: 30,
      renewBeforeMs: 30 * 60_000,
      clock: { now: () => Date.parse('2026-11-23T10:00:00+08:00') },
    });
    await login(b);
    const renewal = await until(() => prompts.find((p) => /session ends in/.test(p.text)), 3000);
    expect(renewal.file).toBeDefined();
    expect(b.session.loggedIn).toBe(true);
    expect((await b.positions()).length).toBe(2);
    expect(await b.login.answerCaptcha(fake.lastCaptcha()!)).toMatch(/logged in/);
    expect(fake.logins).toBe(2);
  });

  it('an HTML login page where JSON was expected is expiry too', async () => {
    const b = await open();
    await login(b);
    fake.fault('/Search/GetStockList', 'html');
    await expect(b.positions()).rejects.toMatchObject({ code: 'BRIDGE_NOT_READY' });
    await until(() => b.session.currentStage === 'captcha');
  });
});

describe('selling', () => {
  it('places exactly one SubmitTradeV2 (SA, 2 decimals), stores the Wtbh; asking again sends nothing', async () => {
    const b = await open();
    await login(b);
    const o = await b.placeSell(sell());
    expect(o).toMatchObject({ status: 'submitted', quantity: 10_000, limitPrice: '10.00' });
    expect(o.brokerOrderId).toMatch(/^\d{8}_130660$/);
    const posts = fake.log.filter((l) => l.path === '/Trade/SubmitTradeV2');
    expect(posts).toHaveLength(1);
    expect(posts[0]!.form).toMatchObject({
      stockCode: '002116',
      tradeType: 'S',
      market: 'SA',
      price: '10.00',
      amount: '10000',
    });
    const again = await b.placeSell(sell());
    expect(again.brokerOrderId).toBe(o.brokerOrderId);
    expect(fake.log.filter((l) => l.path === '/Trade/SubmitTradeV2')).toHaveLength(1);
    const stored = JSON.parse(readFileSync(join(dir, 'eastmoney.json'), 'utf8')) as { data?: unknown };
    expect(JSON.stringify(stored)).toContain('130660');
  });

  it("a connection reset after the site accepted the order: found in today's orders, never resent", async () => {
    const b = await open();
    await login(b);
    fake.fault('/Trade/SubmitTradeV2', 'reset-after');
    const o = await b.placeSell(sell());
    expect(o.brokerOrderId).toMatch(/_130660$/);
    expect(fake.orders).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 300));
    await b.placeSell(sell());
    expect((await b.getOrder('sg-20261201-a1'))!.status).toBe('submitted');
    expect(fake.orders).toHaveLength(1);
  });

  it('a 5xx before the counter saw it: OUTCOME_UNKNOWN, then one resend only after a look finds nothing and the shares are free', async () => {
    const b = await open();
    await login(b);
    fake.fault('/Trade/SubmitTradeV2', '5xx');
    await expect(b.placeSell(sell())).rejects.toMatchObject({ code: 'OUTCOME_UNKNOWN' });
    expect(await b.getOrder('sg-20261201-a1')).toBeNull();
    expect(fake.log.filter((l) => l.path === '/Trade/SubmitTradeV2')).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 250));
    const o = await b.placeSell(sell());
    expect(o.status).toBe('submitted');
    expect(fake.orders).toHaveLength(1);
    const paths = fake.log.map((l) => l.path);
    const second = paths.lastIndexOf('/Trade/SubmitTradeV2');
    expect(paths.slice(0, second)).toContain('/Search/GetOrdersData');
  });

  it('expiry during the submit: re-login first, then the order is looked up', async () => {
    const b = await open();
    await login(b);
    fake.fault('/Trade/SubmitTradeV2', 'expire');
    await expect(b.placeSell(sell())).rejects.toMatchObject({ code: 'OUTCOME_UNKNOWN' });
    await until(() => b.session.currentStage === 'captcha');
    await login(b);
    await new Promise((r) => setTimeout(r, 250));
    await b.placeSell(sell());
    expect(fake.orders).toHaveLength(1);
  });

  it('a restart finds an intent left "sending" (killed mid-submit) in today\'s orders and never resends it', async () => {
    let b = await open();
    await login(b);
    // The first process wrote its intent, the site took the order, the process died before the answer.
    fake.fault('/Trade/SubmitTradeV2', 'reset-after');
    await b.placeSell(sell()).catch(() => undefined);
    await b.close();
    const file = join(dir, 'eastmoney.json');
    const doc = JSON.parse(readFileSync(file, 'utf8')) as {
      data: { intents: Record<string, Record<string, unknown>> };
    };
    const i = doc.data.intents['sg-20261201-a1']!;
    i.state = 'sending';
    delete i.orderId;
    writeFileSync(file, JSON.stringify(doc));
    b = await open();
    await login(b);
    await new Promise((r) => setTimeout(r, 300));
    const o = await b.placeSell(sell());
    expect(o.brokerOrderId).toMatch(/_130660$/);
    expect(fake.orders).toHaveLength(1);
    expect(fake.log.filter((l) => l.path === '/Trade/SubmitTradeV2')).toHaveLength(1);
  });

  it('refusals are final with the site message; Kysl < Zqsl is what may be sold', async () => {
    const b = await open();
    await login(b);
    await expect(b.placeSell(sell('sg-20261201-b1', 12_000))).rejects.toMatchObject({
      code: 'BROKER_REJECTED',
      message: expect.stringContaining('可用股份不足'),
    });
    await expect(b.placeSell(sell('sg-20261201-b1', 12_000))).rejects.toMatchObject({
      code: 'BROKER_REJECTED',
    });
    expect(fake.log.filter((l) => l.path === '/Trade/SubmitTradeV2')).toHaveLength(1);
  });

  it('follows 已报 -> 部成 -> 已成 with the average from GetDealData; 废单 is rejected', async () => {
    const b = await open();
    await login(b);
    await b.placeSell(sell());
    fake.fill('130660', 4000);
    expect(await b.getOrder('sg-20261201-a1')).toMatchObject({
      status: 'partially_filled',
      filledQuantity: 4000,
    });
    fake.fill('130660', 6000);
    expect(await b.getOrder('sg-20261201-a1')).toMatchObject({
      status: 'filled',
      filledQuantity: 10_000,
      avgFillPrice: '10.00',
    });
    await b.placeSell({ ...sell('sg-20261201-c1', 100, '1650.00'), symbol: '600519.SH' });
    expect(fake.log.at(-1)!.form.market).toBe('HA');
    fake.rejectOrder('130661');
    expect(await b.getOrder('sg-20261201-c1')).toMatchObject({ status: 'rejected' });
  });

  it('cancel posts YYYYMMDD_Wtbh and reads the plain-text answer; a second cancel is refused', async () => {
    const b = await open();
    await login(b);
    const o = await b.placeSell(sell());
    await b.cancel('sg-20261201-a1');
    expect(fake.log.at(-1)!.form.revokes).toBe(o.brokerOrderId);
    expect(await b.getOrder('sg-20261201-a1')).toMatchObject({ status: 'cancelled' });
    await expect(b.cancel('sg-20261201-a1')).rejects.toMatchObject({ code: 'NOT_CANCELLABLE' });
  });

  it('a partly filled order being cancelled: 部成 -> 部成待撤 -> 部撤; an unknown 委托状态 stays uncertain', async () => {
    await fake.close();
    fake = await startFakeJywg({
      cancelPending: true,
      initialWtzt: '未报',
      holdings: [
        { code: '002116', market: 'SA', name: '中国海诚', zqsl: 12_000, kysl: 10_000, price: '10.00' },
      ],
    });
    const b = await open();
    await login(b);
    expect((await b.placeSell(sell())).status).toBe('submitted');
    expect(await b.getOrder('sg-20261201-a1')).toMatchObject({ status: 'pending_new' });
    fake.fill('130660', 3000);
    await b.cancel('sg-20261201-a1');
    expect(await b.getOrder('sg-20261201-a1')).toMatchObject({
      status: 'pending_cancel',
      filledQuantity: 3000,
    });
    fake.settleCancels();
    expect(await b.getOrder('sg-20261201-a1')).toMatchObject({
      status: 'partially_cancelled',
      filledQuantity: 3000,
    });
    expect((await b.positions()).find((p) => p.symbol === '002116.SZ')!.sellable).toBe(7000);
    fake.orders[0]!.Wtzt = '已确认';
    const o = (await b.getOrder('sg-20261201-a1'))!;
    expect(o.status).toBe('unknown');
    expect(o.message).toMatch(/已确认/);
  });

  it('a fund sells with 3 decimals on HA', async () => {
    fake.holdings.push({
      code: '510300',
      market: 'HA',
      name: '沪深300ETF',
      zqsl: 10_000,
      kysl: 10_000,
      price: '4.296',
    });
    const b = await open();
    await login(b);
    await b.placeSell({
      clientOrderId: 'sg-20261201-f1',
      symbol: '510300.SH',
      quantity: 10_000,
      limitPrice: '4.296',
    });
    expect(fake.log.at(-1)!.form).toMatchObject({ stockCode: '510300', market: 'HA', price: '4.296' });
    expect((await b.getOrder('sg-20261201-f1'))!.limitPrice).toBe('4.296');
  });

  it('the fake refuses an empty secInfo from a Windows UA (secStage 2), which is why the adapter is not Windows', async () => {
    const res = await fetch(`${fake.url}/Login/Authentication?validatekey=`, {
      method: 'POST',
      headers: {
        'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'userId=540100001234&password=x&randNumber=0.1&identifyCode=1234&duration=30&authCode=&type=Z&secInfo=',
    });
    expect(((await res.json()) as { Message: string }).Message).toBe('请安装安全控件');
  });

  it('margin accounts sell through /MarginTrade/SubmitTradeV2 with xyjylx=7 and read the key from /MarginTrade/Buy', async () => {
    const b = await open({ credit: true });
    await login(b);
    expect(fake.log.some((l) => l.path === '/MarginTrade/Buy')).toBe(true);
    await b.placeSell(sell());
    const post = fake.log.find((l) => l.path === '/MarginTrade/SubmitTradeV2')!;
    expect(post.form).toMatchObject({ xyjylx: '7', stockCode: '002116', market: 'SA' });
  });

  it('not logged in: placeSell refuses before writing anything', async () => {
    const b = await open();
    await expect(b.placeSell(sell())).rejects.toMatchObject({ code: 'BRIDGE_NOT_READY', retryable: true });
    expect(fake.log.filter((l) => l.path.includes('Submit'))).toHaveLength(0);
  });

  it('throttling is reported, not hidden', async () => {
    const b = await open();
    await login(b);
    fake.fault('/Search/GetStockList', 'throttle');
    await expect(b.positions()).rejects.toThrow(/临时限制/);
    expect(
      health
        .snapshot()
        .items.map((i) => i.text)
        .join(),
    ).toMatch(/throttles/);
  });

  it('the password is in no file of DATA_DIR', async () => {
    const b = await open();
    await login(b);
    await b.placeSell(sell());
    await b.close();
    for (const f of readdirSync(dir))
      expect(readFileSync(join(dir, f)).toString('utf8')).not.toContain(fake.password);
  });
});

describe('rows', () => {
  it('maps every 委托状态 word; an unknown one is uncertain, never final', () => {
    expect(
      ['未报', '正报', '待报', '已报', '已报待撤', '部成待撤', '部撤', '已撤', '部成', '已成', '废单'].map(
        wtztStatus,
      ),
    ).toEqual([
      'pending_new',
      'pending_new',
      'pending_new',
      'submitted',
      'pending_cancel',
      'pending_cancel',
      'partially_cancelled',
      'cancelled',
      'partially_filled',
      'filled',
      'rejected',
    ]);
    expect(wtztStatus('已确认')).toBe('unknown');
    expect(wtztStatus('已成交?')).toBe('unknown');
  });

  it('parses the RevokeOrders text, several results separated by three spaces', () => {
    const m = parseRevokeText('130662: 撤单委托已提交   130663: 该委托状态不允许撤单');
    expect(m.get('130662')).toBe('撤单委托已提交');
    expect(m.get('130663')).toMatch(/不允许/);
  });
});
