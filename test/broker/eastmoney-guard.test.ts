/**
 * The guard selling through the real EastmoneyBroker against the fake jywg site
 * (test/helpers/fakeJywg.ts): what a trigger says while the login waits for the owner, and the
 * one sell once logged in.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EastmoneyBroker } from '../../src/broker/eastmoney.ts';
import { harness, type Harness } from '../engine/harness.ts';
import { startFakeJywg, type FakeJywg } from '../helpers/fakeJywg.ts';
import { sealedRun } from '../helpers/snapshots.ts';

let h: Harness | undefined;
let fake: FakeJywg;
let em: EastmoneyBroker | undefined;

afterEach(async () => {
  await h?.stop();
  await em?.close();
  await fake.close();
});

const DRAIN = sealedRun(
  '10:00:00',
  3,
  [100_000_000, 100_000_000, 60_000_000, 30_000_000, 15_000_000, 12_000_000, 9_000_000],
);

async function openBroker(dir: string, clockNow: () => number): Promise<EastmoneyBroker> {
  return EastmoneyBroker.open({
    account: fake.account,
    password: fake.password,
    tradeUrl: fake.url,
    publicKey: fake.publicKeyPem,
    dataDir: dir,
    clock: { now: clockNow },
    prompt: () => {},
  });
}

async function captcha(b: EastmoneyBroker): Promise<void> {
  const end = Date.now() + 3000;
  while (b.session.currentStage !== 'captcha') {
    if (Date.now() > end) throw new Error('no captcha asked');
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(await b.login.answerCaptcha(fake.lastCaptcha()!)).toMatch(/logged in/);
}

describe('guard over 东方财富', () => {
  it('while the login waits for the captcha, the trigger message says selling is unavailable and why; nothing is submitted', async () => {
    fake = await startFakeJywg({
      holdings: [
        { code: '002116', market: 'SA', name: '中国海诚', zqsl: 12_000, kysl: 10_000, price: '10.00' },
      ],
    });
    const dir = mkdtempSync(join(tmpdir(), 'sg-em-guard-'));
    let clockNow = () => Date.now();
    em = await openBroker(dir, () => clockNow());
    h = await harness({ dir, mode: 'auto', wrap: () => em! });
    clockNow = () => h!.clock.now();
    // Not logged in, so no holdings are known: the owner watches the code.
    await h.api.watch('002116', 20_000_000);
    for (const s of DRAIN) await h.feed(s);
    const trig = h.events.find((e) => e.type === 'SellTriggered');
    expect(trig && trig.type === 'SellTriggered' && trig.noSellReason).toMatch(
      /selling through 东方财富 is unavailable: waiting for the captcha/,
    );
    expect(fake.log.filter((l) => l.path.includes('SubmitTradeV2'))).toHaveLength(0);
  });

  it('logged in: the drain places exactly one SubmitTradeV2 at the limit-up price for the Kysl quantity', async () => {
    fake = await startFakeJywg({
      holdings: [
        { code: '002116', market: 'SA', name: '中国海诚', zqsl: 12_000, kysl: 10_000, price: '10.00' },
      ],
    });
    const dir = mkdtempSync(join(tmpdir(), 'sg-em-guard-'));
    let clockNow = () => Date.now();
    em = await openBroker(dir, () => clockNow());
    await captcha(em);
    h = await harness({ dir, mode: 'auto', wrap: () => em! });
    clockNow = () => h!.clock.now();
    for (const s of DRAIN) await h.feed(s);
    for (let i = 0; i < 3; i++) await h.guard.executor.tick();
    const posts = fake.log.filter((l) => l.path === '/Trade/SubmitTradeV2');
    expect(posts).toHaveLength(1);
    expect(posts[0]!.form).toMatchObject({
      stockCode: '002116',
      price: '10.00',
      amount: '10000',
      tradeType: 'S',
    });
    expect(h.events.some((e) => e.type === 'OrderPlaced')).toBe(true);
  });
});
