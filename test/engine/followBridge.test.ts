/**
 * Follow-through over the bridge protocol, real guard + executor + BridgeBroker against the local
 * bridge server (test/broker/fakeBridge.ts: orders stay open until filled or cancelled; a cancel
 * is 202 pending_cancel and its final state is read back by GET, as BRIDGE-PROTOCOL.md and the
 * QMT bridge's README describe). Only the quotes are scripted.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BridgeBroker } from '../../src/broker/bridge.ts';
import { runCommand } from '../../src/chat/commands.ts';
import { render } from '../../src/chat/notify.ts';
import { plainText } from '../../src/chat/reply.ts';
import { insideSellCage } from '../../src/domain/priceCage.ts';
import { collectDay } from '../../src/engine/dayReport.ts';
import { renderSummary } from '../../src/engine/summary.ts';
import type { GuardEvent } from '../../src/engine/events.ts';
import { startFakeBridge, type FakeBridge, type Logged } from '../broker/fakeBridge.ts';
import { opened, sealed, sealedRun } from '../helpers/snapshots.ts';
import { harness, type Harness } from './harness.ts';

let bridge: FakeBridge;
let hs: Harness[] = [];
beforeEach(async () => {
  bridge = await startFakeBridge();
  hs = [];
});
afterEach(async () => {
  for (const h of hs) await h.stop();
  await bridge.close();
});

/** Seal 1亿 draining to 1500万 at 10:00:12 (the trigger at 2000万 fires there). */
const DRAIN = sealedRun('10:00:00', 3, [100_000_000, 100_000_000, 60_000_000, 30_000_000, 15_000_000]);
const PLACED_AT = DRAIN.at(-1)!.ts;

const isPost = (l: Logged) => l.method === 'POST' && l.path === '/v1/orders';
const posts = () => bridge.log.filter(isPost);
const cancels = () => bridge.log.filter((l) => l.method === 'POST' && l.path.endsWith('/cancel'));
const bodyOf = (l: Logged) => l.body as { client_order_id: string; quantity: number; limit_price: string };
const said = (g: Harness): string[] => g.events.map((e: GuardEvent) => plainText(render(e)));

async function start(dir?: string, over: Partial<Parameters<typeof harness>[0]> = {}): Promise<Harness> {
  const h = await harness({
    mode: 'auto',
    ...over,
    ...(dir ? { dir } : {}),
    wrap: () => new BridgeBroker({ url: bridge.url, token: bridge.token, backoffMs: 5 }),
  });
  hs.push(h);
  return h;
}

/** One guard timer tick per second of market time, as src/engine/guard.ts runs it. */
async function runFor(
  g: Harness,
  seconds: number,
  snap?: (ts: number) => ReturnType<typeof opened>,
): Promise<void> {
  for (let i = 0; i < seconds; i++) {
    const ts = g.clock.now() + 1000;
    if (snap) await g.feed(snap(ts));
    else g.clock.set(ts);
    await g.guard.tick();
  }
  await g.bus.idle();
}

async function drainAndPlace(g: Harness): Promise<string> {
  for (const s of DRAIN) await g.feed(s);
  expect(posts()).toHaveLength(1);
  const first = bodyOf(posts()[0]!);
  expect(first).toMatchObject({ quantity: 10_000, limit_price: '10.00' });
  return first.client_order_id;
}

describe('follow-through over the bridge', () => {
  it('board breaks before any fill: one cancel, then after its confirmation one sell of the same quantity at the best bid', async () => {
    const g = await start();
    const id = await drainAndPlace(g);
    // Broken one second after the sell: last below the limit-up is not needed, asks at the limit are.
    await runFor(g, 1, (ts) => opened(ts, 1000, 998));
    expect(cancels()).toHaveLength(0);
    // REPLACE_AFTER_MS (2 s) plus one poll.
    await runFor(g, 2, (ts) => opened(ts, 1000, 998));
    expect(cancels().map((c) => c.path)).toEqual([`/v1/orders/${id}/cancel`]);
    await runFor(g, 2, (ts) => opened(ts, 999, 998));
    expect(posts()).toHaveLength(2);
    const second = bodyOf(posts()[1]!);
    expect(second).toMatchObject({ client_order_id: `${id}r1`, quantity: 10_000, limit_price: '9.98' });
    expect(insideSellCage('main', 998, 998)).toBe(true);
    // The replacement was sent only after a GET had shown the first order final.
    const iCancel = bridge.log.findIndex((l) => l.path === `/v1/orders/${id}/cancel`);
    const iSecond = bridge.log.indexOf(posts()[1]!);
    const between = bridge.log.slice(iCancel + 1, iSecond);
    expect(between.some((l) => l.method === 'GET' && l.path === `/v1/orders/${id}`)).toBe(true);
    expect(bridge.orders.get(id)?.status).toBe('cancelled');
    // Nothing more while the replacement rests and the book is unchanged... until it fills.
    bridge.fill(`${id}r1`, 10_000, '9.98');
    await runFor(g, 6, (ts) => opened(ts, 998, 998));
    expect(posts()).toHaveLength(2);
    expect(cancels()).toHaveLength(1);
    // /orders: each order, and the segment's follow-through in words.
    const ordersText = plainText(await runCommand(g.api, { user: 'test:1', text: '/orders' }));
    expect(ordersText).toMatch(/sell 10000 @ 10\.00: cancelled 0\/10000 \(amount\)/);
    expect(ordersText).toMatch(/sell 10000 @ 9\.98: filled 10000\/10000 @ 9\.98 \(replacement 1\)/);
    expect(ordersText).toMatch(
      /↳ placed 10000 at the limit @ 10\.00 10:00:12 · broke at 10:00:1\d \(bid 9\.98\) · .* · filled 10:00:\d\d · sold 10000 avg 9\.98, -200\.00 vs limit-up 10\.00, \+0\.00 vs last 9\.98/,
    );
    // The day summary tells the same chain under the first sell.
    const report = collectDay({
      date: '2026-11-23',
      events: [],
      intents: Object.values(g.guard.stores.orders.data.intents),
      chains: Object.values(g.guard.stores.orders.data.follow ?? {}),
    });
    const summary = renderSummary(report, g.clock.now()).lines.join('\n');
    expect(summary).toMatch(
      /sell 卖出 10000 @ 10\.00 → cancelled\n {4}↳ follow-through: placed 10000 @ 10\.00 10:00:12 · broke/,
    );
    expect(summary).toMatch(/sell 卖出 10000 @ 9\.98 → filled · filled 10000 @ 9\.98/);
    const lines = said(g).filter(
      (l) => l.includes('follow') || l.includes('cancel') || l.includes('replaced') || l.includes('broke'),
    );
    expect(lines.join('\n')).toMatch(/board broke at 10:00:1\d with the sell unfilled \(bid 9\.98\)/);
    expect(lines.join('\n')).toMatch(/cancelled 10000 at 10:00:1\d \(confirmed by the broker\)/);
    expect(lines.join('\n')).toMatch(/replaced: sell 10000 @ 9\.98/);
    expect(lines.at(-1)).toMatch(
      /follow-through done: placed 10000 at the limit @ 10\.00 10:00:12 · broke at 10:00:1\d \(bid 9\.98\) · cancel asked 10:00:1\d · cancelled 10000 10:00:1\d · replaced at 9\.98 \(10000, attempt 1\) 10:00:1\d · filled 10:00:\d\d · sold 10000 avg 9\.98, -200\.00 vs limit-up 10\.00/,
    );
    void PLACED_AT;
  });

  it('a partial fill of 3,000 then a break: the replacement is for 7,000', async () => {
    const g = await start();
    const id = await drainAndPlace(g);
    bridge.fill(id, 3000, '10.00');
    await runFor(g, 4, (ts) => opened(ts, 1000, 997));
    await runFor(g, 2, (ts) => opened(ts, 1000, 997));
    expect(bridge.orders.get(id)).toMatchObject({ status: 'partially_cancelled', filled_quantity: 3000 });
    expect(posts()).toHaveLength(2);
    expect(bodyOf(posts()[1]!)).toMatchObject({
      client_order_id: `${id}r1`,
      quantity: 7000,
      limit_price: '9.97',
    });
    expect(said(g).join('\n')).toMatch(/cancelled 7000 at/);
  });

  it('a cancel answered 504: the order is looked up before anything else is sent; never two live sells', async () => {
    bridge.cancelFaults.push('504');
    const g = await start();
    const id = await drainAndPlace(g);
    await runFor(g, 3, (ts) => opened(ts, 1000, 998));
    expect(cancels()).toHaveLength(1);
    await runFor(g, 3, (ts) => opened(ts, 1000, 998));
    expect(posts()).toHaveLength(2);
    const iCancel = bridge.log.indexOf(cancels()[0]!);
    const next = bridge.log
      .slice(iCancel + 1)
      .find((l) => l.method !== 'GET' || l.path === `/v1/orders/${id}`);
    expect(next).toMatchObject({ method: 'GET', path: `/v1/orders/${id}` });
    // Every POST of a sell went out while no other sell of these shares was live.
    expect(bridge.orders.get(id)?.status).toBe('cancelled');
  });

  it('a cancel lost on the way (504, not applied): asked again, the replacement only once the order is final', async () => {
    bridge.cancelFaults.push('504-lost');
    const g = await start();
    const id = await drainAndPlace(g);
    await runFor(g, 4, (ts) => opened(ts, 1000, 998));
    expect(cancels()).toHaveLength(1);
    expect(posts()).toHaveLength(1); // the first order is still live: nothing else
    await runFor(g, 6, (ts) => opened(ts, 1000, 998));
    expect(cancels()).toHaveLength(2);
    expect(posts()).toHaveLength(2);
    expect(bodyOf(posts()[1]!).client_order_id).toBe(`${id}r1`);
  });

  it('a cancel the broker never confirms: asked a few times, then the user is told once; the replacement waits for the final state', async () => {
    bridge.cancelFaults.push('504-lost', '504-lost', '504-lost', '504-lost', '504-lost');
    const g = await start();
    const id = await drainAndPlace(g);
    await runFor(g, 30, (ts) => opened(ts, 1000, 998));
    expect(cancels()).toHaveLength(5);
    expect(posts()).toHaveLength(1);
    const item = g.health.snapshot().items.find((i) => i.key === `follow:${id}`);
    expect(item?.text).toMatch(
      /the cancel of .* was asked 5 times and the broker still does not show the order final/,
    );
    await runFor(g, 31, (ts) => opened(ts, 1000, 998));
    expect(cancels()).toHaveLength(6); // asked again after 30 s; this one works
    await runFor(g, 2, (ts) => opened(ts, 1000, 998));
    expect(posts()).toHaveLength(2);
    expect(g.health.snapshot().items.find((i) => i.key === `follow:${id}`)).toBeUndefined();
  });

  it('the cancel comes too late (the order filled meanwhile): nothing more is sent', async () => {
    bridge.cancelFaults.push('504-lost'); // the counter never got to the cancel...
    const g = await start();
    const id = await drainAndPlace(g);
    await runFor(g, 3, (ts) => opened(ts, 1000, 998));
    expect(cancels()).toHaveLength(1);
    bridge.fill(id, 10_000, '10.00'); // ...the queue ate the order first
    await runFor(g, 5, (ts) => opened(ts, 1000, 998));
    expect(posts()).toHaveLength(1);
    expect(said(g).join('\n')).toMatch(/follow-through done/);
  });

  it('/trigger all chase off: after a break the order rests and nothing more is sent', async () => {
    const g = await start();
    const r = await runCommand(g.api, { user: 'test:1', text: '/trigger all chase off' });
    expect(plainText(r)).toMatch(/chase off/);
    await drainAndPlace(g);
    await runFor(g, 10, (ts) => opened(ts, 999, 995));
    expect(cancels()).toHaveLength(0);
    expect(posts()).toHaveLength(1);
  });

  it('a new segment while the first sell still rests: no second sell of the same shares', async () => {
    const g = await start();
    await runCommand(g.api, { user: 'test:1', text: '/trigger all chase off' });
    await drainAndPlace(g);
    await runFor(g, 2, (ts) => opened(ts, 1000, 998));
    const start2 = g.clock.now() + 1000;
    for (const [k, amount] of [100_000_000, 100_000_000, 60_000_000, 15_000_000].entries())
      await g.feed(sealed(start2 + k * 3000, amount));
    const trig = g.events.filter((e) => e.type === 'SellTriggered');
    expect(trig).toHaveLength(2);
    const second = trig[1]!;
    expect(second.type === 'SellTriggered' && second.noSellReason).toMatch(
      /the sell of segment 1 \(.*\) is still working at the broker; no second sell of the same shares/,
    );
    expect(posts()).toHaveLength(1);
  });

  it('a re-seal while the order rests at the limit-up leaves it resting', async () => {
    const g = await start();
    await drainAndPlace(g);
    await runFor(g, 10, (ts) => sealed(ts, 30_000_000));
    expect(cancels()).toHaveLength(0);
    expect(posts()).toHaveLength(1);
  });

  it('the floor (/trigger <code> floor) bounds the replacement', async () => {
    const g = await start();
    await runCommand(g.api, { user: 'test:1', text: '/trigger 002116 floor 9.95' });
    await drainAndPlace(g);
    await runFor(g, 6, (ts) => opened(ts, 995, 990));
    expect(posts()).toHaveLength(2);
    expect(bodyOf(posts()[1]!).limit_price).toBe('9.95');
    // At the floor it can go no lower: it waits there, nothing more is sent.
    await runFor(g, 10, (ts) => opened(ts, 990, 985));
    expect(posts()).toHaveLength(2);
    expect(cancels()).toHaveLength(1);
  });

  it('after a confirm the sell is followed through too', async () => {
    const g = await start(undefined, { mode: 'confirm' });
    for (const s of DRAIN) await g.feed(s);
    const trig = g.events.find((e) => e.type === 'SellTriggered');
    const actionId = trig?.type === 'SellTriggered' ? trig.actionId! : '';
    await g.api.resolve(actionId, 'sell', 'u1');
    expect(posts()).toHaveLength(1);
    await runFor(g, 5, (ts) => opened(ts, 1000, 996));
    expect(cancels()).toHaveLength(1);
    expect(posts()).toHaveLength(2);
    expect(bodyOf(posts()[1]!)).toMatchObject({ quantity: 10_000, limit_price: '9.96' });
  });

  it('switched to alert mode after the sell: nothing more is sent', async () => {
    const g = await start();
    await drainAndPlace(g);
    await g.api.setMode('all', 'alert');
    await runFor(g, 8, (ts) => opened(ts, 1000, 996));
    expect(cancels()).toHaveLength(0);
    expect(posts()).toHaveLength(1);
  });

  it('DEFAULT_FLOOR (+5% of the previous close 9.09 = 9.55 after rounding up) bounds the replacement', async () => {
    const g = await start(undefined, { defaultFloorCenti: 500 });
    await drainAndPlace(g);
    await runFor(g, 5, (ts) => opened(ts, 960, 950));
    expect(posts()).toHaveLength(2);
    expect(bodyOf(posts()[1]!).limit_price).toBe('9.55');
  });

  it('restart after the replacement was recorded but before the bridge took it: the same id, one order', async () => {
    const g = await start();
    const id = await drainAndPlace(g);
    bridge.stuck = '503'; // from now on POST /v1/orders finds the broker disconnected
    await runFor(g, 5, (ts) => opened(ts, 1000, 998)); // cancel, confirmation, replacement refused 503
    expect(cancels()).toHaveLength(1);
    expect(bridge.orders.has(`${id}r1`)).toBe(false);
    expect(posts().some((p) => bodyOf(p).client_order_id === `${id}r1`)).toBe(true);
    await g.stop();
    hs = hs.filter((x) => x !== g);
    delete bridge.stuck;
    const g2 = await start(g.dir);
    g2.clock.set(g.clock.now());
    await runFor(g2, 4, (ts) => opened(ts, 1000, 998));
    const keys = posts().map((p) => bodyOf(p).client_order_id);
    expect(new Set(keys)).toEqual(new Set([id, `${id}r1`]));
    expect([...bridge.orders.keys()]).toEqual([id, `${id}r1`]);
  });

  it('restart between the cancel and the replacement: exactly one replacement after it', async () => {
    bridge.confirmCancels = false; // the counter has not confirmed when the process dies
    const g = await start();
    const id = await drainAndPlace(g);
    await runFor(g, 3, (ts) => opened(ts, 1000, 998));
    expect(cancels()).toHaveLength(1);
    await g.stop();
    hs = hs.filter((h) => h !== g);
    bridge.confirmCancels = true;
    const g2 = await start(g.dir);
    g2.clock.set(g.clock.now());
    await runFor(g2, 4, (ts) => opened(ts, 1000, 998));
    expect(posts()).toHaveLength(2);
    expect(bodyOf(posts()[1]!).client_order_id).toBe(`${id}r1`);
    // And a third start changes nothing more.
    await g2.stop();
    hs = hs.filter((h) => h !== g2);
    const g3 = await start(g.dir);
    g3.clock.set(g2.clock.now());
    await runFor(g3, 3, (ts) => opened(ts, 1000, 998));
    expect(posts()).toHaveLength(2);
    expect(new Set(posts().map((p) => p.idempotencyKey)).size).toBe(2);
  });
});
