/**
 * The guard selling through the bridge protocol to a local bridge server: the same safety rules
 * hold on the wire (one POST per seal segment; a 504 is resolved by GET of the same id), and an
 * answer that is not a clear refusal is never told as "failed" (fakeBridge.ts says which real
 * servers its broken answers follow).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BridgeBroker } from '../../src/broker/bridge.ts';
import { startFakeBridge, type FakeBridge } from '../broker/fakeBridge.ts';
import { opened, sealedRun, t } from '../helpers/snapshots.ts';
import { harness, type Harness } from './harness.ts';
import { render } from '../../src/chat/notify.ts';
import { plainText } from '../../src/chat/reply.ts';
import type { GuardEvent } from '../../src/engine/events.ts';

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

/** What the user reads, in order: every event as the chat renders it. */
const said = (g: Harness): string[] => g.events.map((e: GuardEvent) => plainText(render(e)));
const failedSaid = (g: Harness): string[] => said(g).filter((l) => /fail|refused|❌/i.test(l));

/** Moves the market clock second by second, ticking the executor as the guard's timer does. */
async function runFor(g: Harness, seconds: number): Promise<void> {
  for (let i = 0; i < seconds; i++) {
    g.clock.set(g.clock.now() + 1000);
    await g.guard.tick();
  }
  await g.bus.idle();
}

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

  it('201 with an empty body after placing: never told "failed"; the order is looked up and reported', async () => {
    bridge.faults.push('201-empty');
    const g = await start('auto');
    for (const s of DRAIN) await g.feed(s);
    await g.bus.idle();
    expect(posts()).toHaveLength(1);
    expect(failedSaid(g)).toEqual([]);
    const placed = said(g).find((l) => l.startsWith('📤 Sell order placed'));
    expect(placed).toContain('中国海诚 002116.SZ 10000 @ 10.00 (submitted');
  });

  it('a proxy 502 page, then the bridge shows the order: "checking" at once, then found and reported, one order', async () => {
    bridge.faults.push('502-html');
    bridge.lagging = true;
    const g = await start('auto');
    for (const s of DRAIN) await g.feed(s);
    await g.bus.idle();
    const checking = said(g).find((l) => l.includes('answer is unclear'));
    expect(checking).toMatch(
      /^⚠️ 中国海诚 002116\.SZ: sell of 10000 @ 10\.00 sent, but the broker's answer is unclear \(.*502 Bad Gateway.*\)\. Checking the order at the broker; it will not be sent twice\./,
    );
    expect(g.health.snapshot().items.map((i) => i.component)).toEqual(['broker']);
    await runFor(g, 3);
    expect(said(g).some((l) => l.startsWith('📤'))).toBe(false);
    bridge.lagging = false;
    await runFor(g, 5);
    const lines = said(g);
    expect(lines.find((l) => l.startsWith('✅ Resolved'))).toMatch(
      /the sell of 10000 @ 10\.00 was found at the broker: submitted \(order 101\)/,
    );
    expect(lines.filter((l) => l.startsWith('📤 Sell order placed'))).toHaveLength(1);
    expect(failedSaid(g)).toEqual([]);
    expect(g.health.snapshot().items).toEqual([]);
    expect(bridge.orders.size).toBe(1);
    expect(new Set(posts().map((p) => p.idempotencyKey)).size).toBe(1);
  });

  it('a 504 that never resolves: checked with backoff, same id only, and after 5 min a plain "check at the broker"', async () => {
    bridge.stuck = '504-unplaced';
    const g = await start('auto');
    for (const s of DRAIN) await g.feed(s);
    const id = (posts()[0]!.body as { client_order_id: string }).client_order_id;
    await runFor(g, 4 * 60);
    const getsAt4 = bridge.log.filter((l) => l.method === 'GET' && l.path === `/v1/orders/${id}`).length;
    // Once a second would be 240; doubling pauses capped at 30 s make it a handful.
    expect(getsAt4).toBeGreaterThan(5);
    expect(getsAt4).toBeLessThan(30);
    expect(said(g).some((l) => l.includes('still unknown'))).toBe(false);
    await runFor(g, 70);
    const alert = said(g).filter((l) => l.includes('outcome still unknown'));
    expect(alert).toHaveLength(1);
    expect(alert[0]).toMatch(
      /^🛑 中国海诚 002116\.SZ: outcome still unknown after 5 min for the sell of 10000 @ 10\.00 sent at 10:00:\d\d\. Check at the broker \(today's orders \/ 当日委托\) whether it is there; SealGuard will not send it again/,
    );
    expect(g.health.snapshot().items[0]).toMatchObject({ component: 'broker', level: 'error' });
    expect(failedSaid(g)).toEqual([]);
    expect(new Set(posts().map((p) => p.idempotencyKey))).toEqual(new Set([id]));
    expect(bridge.orders.size).toBe(0);
  });

  it('confirm, then a 504: the confirm is not "sold" until the order is found, then it is', async () => {
    bridge.faults.push('504');
    bridge.lagging = true;
    const g = await start('confirm');
    for (const s of DRAIN) await g.feed(s);
    const trig = g.events.find((e) => e.type === 'SellTriggered');
    const actionId = trig?.type === 'SellTriggered' ? trig.actionId! : '';
    const r = await g.api.resolve(actionId, 'sell', 'u1');
    expect(r.message).toMatch(/the broker's answer is not known yet, checking/);
    expect(g.api.action(actionId)?.status).toBe('executing');
    expect((await g.api.resolve(actionId, 'sell', 'u1')).message).toMatch(/Already being handled/);
    bridge.lagging = false;
    await runFor(g, 3);
    expect(g.api.action(actionId)).toMatchObject({ status: 'sold' });
    expect(g.api.action(actionId)?.outcome).toMatch(
      /^Sell order placed: 10000 002116\.SZ @ 10\.00 \(submitted\)/,
    );
    expect(posts()).toHaveLength(1);
    expect(failedSaid(g)).toEqual([]);
  });

  it('confirm, bridge not ready (503) at the tap: the confirm is "waiting", then "sold" when the same id is accepted', async () => {
    bridge.faults.push('503', '503', '503', '503');
    const g = await start('confirm');
    for (const s of DRAIN) await g.feed(s);
    const trig = g.events.find((e) => e.type === 'SellTriggered');
    const actionId = trig?.type === 'SellTriggered' ? trig.actionId! : '';
    const r = await g.api.resolve(actionId, 'sell', 'u1');
    expect(r.message).toMatch(/waiting for the broker/);
    expect(g.api.action(actionId)?.status).toBe('executing');
    await runFor(g, 2);
    expect(g.api.action(actionId)?.status).toBe('sold');
    expect(bridge.orders.size).toBe(1);
    expect(new Set(posts().map((p) => p.idempotencyKey)).size).toBe(1);
  });

  it('while a sell is unknown, a later seal segment of the same stock sends no second sell', async () => {
    bridge.stuck = '504-unplaced';
    const g = await start('auto');
    for (const s of DRAIN) await g.feed(s);
    const first = (posts()[0]!.body as { client_order_id: string }).client_order_id;
    await g.feed(opened(t('10:00:30')));
    for (const s of sealedRun('10:00:40', 3, [100_000_000, 100_000_000, 60_000_000, 15_000_000, 9_000_000]))
      await g.feed(s);
    await runFor(g, 20);
    const triggers = g.events.filter((e) => e.type === 'SellTriggered');
    expect(triggers).toHaveLength(2);
    const second = triggers[1]!;
    expect(second.type === 'SellTriggered' && second.evidence.segment).toBe(2);
    expect(second.type === 'SellTriggered' ? second.noSellReason : '').toMatch(
      /an earlier sell of 10000 002116\.SZ @ 10\.00 \(sg\w+\) is not confirmed by the broker yet; no second sell/,
    );
    expect(new Set(posts().map((p) => p.idempotencyKey))).toEqual(new Set([first]));
  });

  for (const fault of [
    '201-empty',
    '201-html',
    '201-truncated',
    '409-in-flight',
    '502-html',
    '504',
  ] as const) {
    it(`${fault} and a bridge slow to show the order: "checking", never "failed", then found and reported once`, async () => {
      bridge.faults.push(fault);
      bridge.lagging = true;
      const g = await start('auto');
      for (const s of DRAIN) await g.feed(s);
      await g.bus.idle();
      expect(said(g).filter((l) => l.includes("the broker's answer is unclear"))).toHaveLength(1);
      await runFor(g, 4);
      bridge.lagging = false;
      await runFor(g, 40);
      expect(said(g).filter((l) => l.startsWith('📤 Sell order placed'))).toHaveLength(1);
      expect(said(g).filter((l) => l.startsWith('✅ Resolved'))).toHaveLength(1);
      expect(failedSaid(g)).toEqual([]);
      expect(bridge.orders.size).toBe(1);
      expect(new Set(posts().map((p) => p.idempotencyKey)).size).toBe(1);
    });
  }
});
