/**
 * Follow-through over easytrader (test/broker/fakeEasytrader.ts follows shidenggui/easytrader
 * server.py and clienttrader.py: `/cancel_entrust` answers 201 `{"message": "success"}` whether or
 * not anything was cancelled, and "委托单状态错误不能撤单..." when no row matched; so the outcome is
 * read back from `/today_entrusts` (已撤 / 部撤 with 成交数量), never taken from the answer).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EasytraderBroker } from '../../src/broker/easytrader.ts';
import { startFakeEasytrader, type FakeEasytrader } from '../broker/fakeEasytrader.ts';
import { opened, sealedRun } from '../helpers/snapshots.ts';
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

const DRAIN = sealedRun('10:00:00', 3, [100_000_000, 100_000_000, 60_000_000, 30_000_000, 15_000_000]);

async function start(): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-follow-et-'));
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

async function runFor(g: Harness, seconds: number, bid1: number): Promise<void> {
  for (let i = 0; i < seconds; i++) {
    await g.feed(opened(g.clock.now() + 1000, 1000, bid1));
    await g.guard.tick();
  }
  await g.bus.idle();
}

const sells = () => fake.sells as { security: string; price: number; amount: number }[];

describe('follow-through over easytrader', () => {
  it('break before any fill: /cancel_entrust with the 合同编号, then one /sell of the same amount at the bid once 已撤 shows', async () => {
    const g = await start();
    for (const s of DRAIN) await g.feed(s);
    expect(sells()).toHaveLength(1);
    expect(sells()[0]).toMatchObject({ security: '002116', price: 10, amount: 10_000 });
    await runFor(g, 5, 998);
    expect(fake.cancels).toEqual([{ entrust_no: String(fake.entrusts.at(-2)?.['合同编号']) }]);
    expect(fake.entrusts.at(-2)?.['状态说明']).toBe('已撤');
    expect(sells()).toHaveLength(2);
    expect(sells()[1]).toMatchObject({ security: '002116', price: 9.98, amount: 10_000 });
    await runFor(g, 5, 998);
    expect(sells()).toHaveLength(2);
  });

  it('部成 3,000 then the break: 部撤, and the replacement is for 7,000', async () => {
    const g = await start();
    for (const s of DRAIN) await g.feed(s);
    const row = fake.entrusts.at(-1)!;
    row['成交数量'] = 3000;
    row['成交均价'] = 10;
    row['状态说明'] = '部成';
    await runFor(g, 5, 997);
    expect(row['状态说明']).toBe('部撤');
    expect(sells()).toHaveLength(2);
    expect(sells()[1]).toMatchObject({ price: 9.97, amount: 7000 });
  });
});
