/**
 * The guard selling through the bridge protocol to a local bridge server: the same safety rules
 * hold on the wire (one POST per seal segment; a 504 is resolved by GET of the same id).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BridgeBroker } from '../../src/broker/bridge.ts';
import { startFakeBridge, type FakeBridge } from '../broker/fakeBridge.ts';
import { sealedRun } from '../helpers/snapshots.ts';
import { harness, type Harness } from './harness.ts';

let bridge: FakeBridge;
let h: Harness | undefined;
beforeEach(async () => {
  bridge = await startFakeBridge();
});
afterEach(async () => {
  await h?.stop();
  await bridge.close();
});

const DRAIN = sealedRun(
  '10:00:00',
  3,
  [100_000_000, 100_000_000, 60_000_000, 30_000_000, 15_000_000, 12_000_000, 9_000_000],
);
const posts = () => bridge.log.filter((l) => l.method === 'POST' && l.path === '/v1/orders');

async function start(mode: 'auto' | 'confirm'): Promise<Harness> {
  h = await harness({
    mode,
    wrap: () => new BridgeBroker({ url: bridge.url, token: bridge.token, backoffMs: 5 }),
  });
  return h;
}

describe('guard over the bridge protocol', () => {
  it('a repeated trigger condition sends one order, at the limit-up price, with the Idempotency-Key', async () => {
    const g = await start('auto');
    for (const s of DRAIN) await g.feed(s);
    await g.guard.tick();
    expect(posts()).toHaveLength(1);
    const p = posts()[0]!;
    expect(p.body).toMatchObject({
      symbol: '002116.SZ',
      side: 'sell',
      quantity: 10000,
      order_type: 'limit',
      limit_price: '10.00',
    });
    expect(p.idempotencyKey).toBe((p.body as { client_order_id: string }).client_order_id);
  });

  it('a double confirm sends one order', async () => {
    const g = await start('confirm');
    for (const s of DRAIN) await g.feed(s);
    const trig = g.events.find((e) => e.type === 'SellTriggered');
    const id = trig?.type === 'SellTriggered' ? trig.actionId! : '';
    await Promise.all([
      g.api.resolve(id, 'sell', 'a'),
      g.api.resolve(id, 'sell', 'a'),
      g.api.resolve(id, 'sell', 'b'),
    ]);
    await g.api.resolve(id, 'sell', 'a');
    expect(posts()).toHaveLength(1);
    expect(bridge.orders.size).toBe(1);
  });

  it('a 504 leads to a GET of the same client order id and no second POST', async () => {
    bridge.faults.push('504');
    const g = await start('auto');
    for (const s of DRAIN) await g.feed(s);
    await g.guard.tick();
    await g.guard.tick();
    expect(posts()).toHaveLength(1);
    const id = (posts()[0]!.body as { client_order_id: string }).client_order_id;
    expect(bridge.log.some((l) => l.method === 'GET' && l.path === `/v1/orders/${id}`)).toBe(true);
    expect(g.events.some((e) => e.type === 'OrderPlaced')).toBe(true);
  });

  it('a bridge that is not ready (503) gets the same id again later, and one order', async () => {
    bridge.faults.push('503', '503', '503', '503', '503');
    const g = await start('auto');
    for (const s of DRAIN) await g.feed(s);
    for (let i = 0; i < 3; i++) await g.guard.tick();
    const keys = new Set(posts().map((p) => p.idempotencyKey));
    expect(keys.size).toBe(1);
    expect(bridge.orders.size).toBe(1);
  });
});
