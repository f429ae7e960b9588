/**
 * `doctor` with BROKER=eastmoney: the site reachable, and the running guard's session (read from
 * DATA_DIR/eastmoney-status.json, written by the real EmSession) against the fake jywg site.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { EastmoneyBroker } from '../../src/broker/eastmoney.ts';
import { runChecks } from '../../src/cli/doctor.ts';
import { loadConfig } from '../../src/config.ts';
import { startFakeJywg, type FakeJywg } from '../helpers/fakeJywg.ts';

let dir: string;
let fake: FakeJywg;
let b: EastmoneyBroker | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sg-em-doc-'));
  fake = await startFakeJywg({
    holdings: [{ code: '002116', market: 'SA', name: '中国海诚', zqsl: 100, kysl: 100, price: '10.00' }],
  });
});
afterEach(async () => {
  await b?.close();
  b = undefined;
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

const check = async (url = fake.url) => {
  const config = loadConfig(
    {
      BROKER: 'eastmoney',
      EASTMONEY_ACCOUNT: fake.account,
      EASTMONEY_PASSWORD: fake.password,
      EASTMONEY_TRADE_URL: url,
      DATA_DIR: dir,
      QUOTE_SOURCES: 'tencent',
      TENCENT_QUOTE_URL: 'http://127.0.0.1:9',
    },
    { readDotEnv: false },
  );
  const r = await runChecks(config, { timeoutMs: 1500 });
  return r.find((x) => x.name === 'broker eastmoney')!;
};

const open = () =>
  EastmoneyBroker.open({
    account: fake.account,
    password: fake.password,
    tradeUrl: fake.url,
    publicKey: fake.publicKeyPem,
    dataDir: dir,
    clock: { now: () => Date.now() },
    prompt: () => {},
  });

it('no guard running: the site answers, not logged in (the login happens in npm start)', async () => {
  const r = await check();
  expect(r.ok).toBe(true);
  expect(r.detail).toMatch(/answers \(HTTP 200\); no running guard/);
});

it('the site unreachable is a failure with the other host as a fix', async () => {
  const r = await check('http://127.0.0.1:9');
  expect(r.ok).toBe(false);
  expect(r.fix).toMatch(/jywg\.eastmoneysec\.com/);
});

it('a running guard waiting for the captcha: NOT logged in, and why', async () => {
  b = await open();
  for (let i = 0; i < 100 && b.session.currentStage !== 'captcha'; i++)
    await new Promise((r) => setTimeout(r, 20));
  await b.session.writeStatus();
  const r = await check();
  expect(r.ok).toBe(false);
  expect(r.detail).toMatch(/NOT logged in as \*\*\*\*1234: waiting for the captcha/);
  expect(r.fix).toMatch(/\/captcha/);
});

it('a running guard logged in: session age, validatekey present, positions readable', async () => {
  b = await open();
  for (let i = 0; i < 100 && b.session.currentStage !== 'captcha'; i++)
    await new Promise((r) => setTimeout(r, 20));
  await b.login.answerCaptcha(fake.lastCaptcha()!);
  await b.positions();
  await b.session.writeStatus();
  const r = await check();
  expect(r.ok).toBe(true);
  expect(r.detail).toMatch(
    /logged in as \*\*\*\*1234, session 0 min old \(of 180\), validatekey present, positions read \d+ s ago/,
  );
});
