/**
 * The price cage (价格笼子) on the first sell after a break: with no bid at all the floor (here the
 * limit-down, 8.18) is far below what the exchange accepts; the sell goes out at the cage's lowest
 * price for the sell reference (ask1 9.90 with no bid: min(98% = 9.702 -> 9.71, 9.90 - 10 ticks = 9.80)).
 * Paper broker (src/broker/paper.ts), whose book is the scripted one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { lowestSellPrice } from '../../src/domain/priceCage.ts';
import { sealedRun, snap } from '../helpers/snapshots.ts';
import { harness, type Harness } from './harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
});

describe('price cage on the sell after a break', () => {
  it('onBreak with an empty bid side: the sell is raised from the limit-down into the cage', async () => {
    const g = (h = await harness({ mode: 'auto', triggers: { amount: null, onBreak: true } }));
    for (const s of sealedRun('10:00:00', 3, [100_000_000, 100_000_000, 90_000_000])) await g.feed(s);
    await g.feed(snap(g.clock.now() + 3000, { last: 995, high: 1000, bids: [], asks: [[990, 50_000]] }));
    const orders = await g.paper.todayOrders();
    expect(orders).toHaveLength(1);
    expect(lowestSellPrice('main', 990)).toBe(971);
    expect(orders[0]!.limitPrice).toBe('9.71');
  });
});
