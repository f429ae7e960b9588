/**
 * Follow-through on the paper broker (src/broker/paper.ts, whose fill model trades a limit sell
 * only against bids at or above its price, for no more than the volume shown): a limit-up sell
 * that fills 3,000 of 10,000 from the last of the queue, then the break; the rest is chased down
 * the bids until everything is sold.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { render } from '../../src/chat/notify.ts';
import { plainText } from '../../src/chat/reply.ts';
import { opened, sealed, sealedRun } from '../helpers/snapshots.ts';
import { harness, type Harness } from './harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
});

async function runFor(
  g: Harness,
  seconds: number,
  snap: (ts: number) => ReturnType<typeof opened>,
): Promise<void> {
  for (let i = 0; i < seconds; i++) {
    await g.feed(snap(g.clock.now() + 1000));
    await g.guard.tick();
  }
  await g.bus.idle();
}

describe('follow-through on the paper broker', () => {
  it('3,000 filled at the limit, then the break: the rest is sold at the bids, each replacement after the cancel', async () => {
    const g = (h = await harness({ mode: 'auto' }));
    for (const s of sealedRun('10:00:00', 3, [100_000_000, 100_000_000, 60_000_000])) await g.feed(s);
    // The seal drains to 3,000 shares (30,000 yuan): the trigger fires and the queue's rest fills.
    await g.feed(sealed(g.clock.now() + 3000, 30_000));
    let orders = await g.paper.todayOrders();
    expect(orders).toHaveLength(1);
    expect(orders[0]).toMatchObject({ quantity: 10_000, filledQuantity: 3000, limitPrice: '10.00' });
    // Broken: sellers at the limit, 5,000 bid at 9.98.
    await runFor(g, 4, (ts) => opened(ts, 1000, 998));
    orders = await g.paper.todayOrders();
    expect(orders.map((o) => [o.quantity, o.filledQuantity, o.limitPrice, o.status])).toEqual([
      [10_000, 3000, '10.00', 'partially_cancelled'],
      [7000, 5000, '9.98', 'partially_filled'],
    ]);
    // The bid falls to 9.95: the 2,000 left are cancelled and sold there.
    await runFor(g, 4, (ts) => opened(ts, 996, 995));
    orders = await g.paper.todayOrders();
    expect(orders.map((o) => [o.quantity, o.filledQuantity, o.limitPrice, o.status])).toEqual([
      [10_000, 3000, '10.00', 'partially_cancelled'],
      [7000, 5000, '9.98', 'partially_cancelled'],
      [2000, 2000, '9.95', 'filled'],
    ]);
    const done = g.events.map((e) => plainText(render(e))).find((l) => l.includes('follow-through done'));
    // 3,000 x 10.00 + 5,000 x 9.98 + 2,000 x 9.95 = 99,800: 200 yuan below 10,000 x 10.00.
    expect(done).toMatch(/sold 10000 avg 9\.98, -200\.00 vs limit-up 10\.00/);
  });
});
