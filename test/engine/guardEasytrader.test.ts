/**
 * The guard selling through easytrader's remote server (the fake follows server.py and
 * pop_dialog_handler.py, see test/broker/fakeEasytrader.ts): only easytrader's own rejection is
 * told as a rejection; a Python error after the order was entered is an unknown outcome that
 * ends in what /today_entrusts shows, and no second /sell is ever sent.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EasytraderBroker } from '../../src/broker/easytrader.ts';
import { render } from '../../src/chat/notify.ts';
import { plainText } from '../../src/chat/reply.ts';
import { startFakeEasytrader, type FakeEasytrader } from '../broker/fakeEasytrader.ts';
import { sealedRun } from '../helpers/snapshots.ts';
import { harness, type Harness } from './harness.ts';

let fake: FakeEasytrader;
let h: Harness | undefined;
let marketNow: () => number = Date.now;

beforeEach(async () => {
  fake = await startFakeEasytrader({ now: () => marketNow() });
});
afterEach(async () => {
  await h?.stop();
  h = undefined;
  await fake.close();
});

const DRAIN = sealedRun(
  '10:00:00',
  3,
  [100_000_000, 100_000_000, 60_000_000, 30_000_000, 15_000_000, 12_000_000, 9_000_000],
);

async function start(): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-guard-et-'));
  const broker = await EasytraderBroker.open({
    url: fake.url,
    dataDir: dir,
    clock: { now: () => marketNow() },
    timeoutMs: 5000,
    sellTimeoutMs: 5000,
    reconcileDelayMs: 20,
  });
  h = await harness({ dir, mode: 'auto', wrap: () => broker });
  const g = h;
  marketNow = () => g.clock.now();
  return g;
}

const said = (g: Harness): string[] => g.events.map((e) => plainText(render(e)));
const failedSaid = (g: Harness): string[] => said(g).filter((l) => /fail|refused|❌/i.test(l));

async function runFor(g: Harness, seconds: number): Promise<void> {
  for (let i = 0; i < seconds; i++) {
    g.clock.set(g.clock.now() + 1000);
    await g.guard.tick();
  }
  await g.bus.idle();
}

describe('guard over easytrader', () => {
  it('a 400 Python error after the order was entered: never "failed"; found in /today_entrusts, reported placed then filled; one /sell', async () => {
    fake.mode.push('success-no-number');
    const g = await start();
    for (const s of DRAIN) await g.feed(s);
    await g.bus.idle();
    expect(fake.sells).toEqual([{ security: '002116', price: 10, amount: 10000 }]);
    expect(said(g).filter((l) => l.startsWith('📤 Sell order placed'))).toEqual([
      expect.stringContaining('中国海诚 002116.SZ 10000 @ 10.00 (submitted'),
    ]);
    // The client fills it; the guard follows the row.
    const row = fake.entrusts.find((e) => e['合同编号'] === '1234567')!;
    Object.assign(row, { 状态说明: '已成', 成交数量: 10000, 成交均价: 10.0 });
    await runFor(g, 3);
    expect(said(g).some((l) => l === '✅ Sold 中国海诚 002116.SZ: 10000 @ 10.00')).toBe(true);
    expect(failedSaid(g)).toEqual([]);
    await runFor(g, 30);
    expect(fake.sells).toHaveLength(1);
  });

  it('a 400 GUI error with nothing entered: "checking", never resent, never "failed"', async () => {
    fake.mode.push('gui-error');
    const g = await start();
    for (const s of DRAIN) await g.feed(s);
    await g.bus.idle();
    expect(said(g).find((l) => l.includes('answer is unclear'))).toMatch(/ElementNotFoundError/);
    await runFor(g, 90);
    expect(fake.sells).toHaveLength(1);
    expect(failedSaid(g)).toEqual([]);
    expect(g.health.snapshot().items.map((i) => i.key)).toEqual([expect.stringMatching(/^order:sg/)]);
  });

  it('a 同花顺 rejection (TradeError) is told as rejected, with its text', async () => {
    fake.mode.push('trade-error');
    fake.rejection = '委托失败：证券可用数量不足';
    const g = await start();
    for (const s of DRAIN) await g.feed(s);
    await g.bus.idle();
    expect(failedSaid(g)).toEqual([
      '❌ Sell of 中国海诚 002116.SZ failed: BROKER_REJECTED: easytrader /sell rejected: 委托失败：证券可用数量不足',
    ]);
    await runFor(g, 30);
    expect(fake.sells).toHaveLength(1);
  });
});
