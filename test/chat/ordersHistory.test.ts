/**
 * /orders [YYYY-MM-DD]: today's orders come from the broker; an earlier day's from its archive
 * (DATA_DIR/history/<day>.json), with no broker call since the broker only knows today's.
 * A day with no archive, an archive that cannot be read and a malformed date each answer plainly.
 */
import { mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Broker } from '../../src/broker/broker.ts';
import type { PaperBroker } from '../../src/broker/paper.ts';
import { runCommand } from '../../src/chat/commands.ts';
import { plainText } from '../../src/chat/reply.ts';
import { addDays, exchangeTs } from '../../src/domain/time.ts';
import { DAY, sealed } from '../helpers/snapshots.ts';
import { harness, type Harness } from '../engine/harness.ts';

const NEXT = addDays(DAY, 1);
const running: Harness[] = [];
afterEach(async () => {
  for (const h of running.splice(0)) await h.stop();
});

/** Counts the broker's order list calls: an earlier day's /orders must make none. */
function counted(calls: { todayOrders: number }): (p: PaperBroker) => Broker {
  return (p) =>
    Object.assign(Object.create(p) as PaperBroker, {
      name: 'paper',
      todayOrders: () => {
        calls.todayOrders++;
        return p.todayOrders();
      },
    });
}

/** Sold on DAY (auto mode), then started again on the next day: DAY is archived. */
async function dayAfterASell(calls = { todayOrders: 0 }, before?: (dir: string) => void) {
  const first = await harness({ mode: 'auto' });
  for (const [n, amount] of [100_000_000, 100_000_000, 15_000_000].entries())
    await first.feed(sealed(exchangeTs(DAY, '10:00:00') + n * 3000, amount));
  await first.guard.tick();
  const sold = text(await runCommand(first.api, { user: 'test:1', text: '/orders' }));
  await first.stop();
  before?.(first.dir);
  const h = await harness({ mode: 'auto', dir: first.dir, day: NEXT, wrap: counted(calls) });
  running.push(h);
  return {
    h,
    sold,
    run: async (cmd: string) => text(await runCommand(h.api, { user: 'test:1', text: cmd })),
  };
}

const text = plainText;

describe('/orders <date>', () => {
  it("lists an earlier day's orders from its archive, as they were shown that day, without asking the broker", async () => {
    const calls = { todayOrders: 0 };
    const { sold, run } = await dayAfterASell(calls);
    const line = /中国海诚 002116\.SZ sell 10000 @ 10\.00: filled 10000\/10000 @ 10\.00 \(amount\)/;
    expect(sold).toMatch(line);
    const out = await run(`/orders ${DAY}`);
    expect(out.split('\n')[0]).toBe(`Orders ${DAY} 委托`);
    expect(out).toMatch(line);
    expect(out.match(/sell 10000/g)).toHaveLength(1);
    expect(calls.todayOrders).toBe(0);
    // Today's list is the broker's, and the earlier day's sell is not in it.
    expect(await run('/orders')).toBe('Orders today\nNo orders today.');
    expect(await run(`/orders ${NEXT}`)).toBe('Orders today\nNo orders today.');
    expect(calls.todayOrders).toBe(2);
  });

  it('a day without an archive, and a day still to come, say so plainly', async () => {
    const { run } = await dayAfterASell();
    const before = addDays(DAY, -3);
    expect(await run(`/orders ${before}`)).toBe(
      `Orders ${before} 委托\nNo archive for ${before}: SealGuard recorded no orders or confirms that day.`,
    );
    const later = addDays(NEXT, 1);
    expect(await run(`/orders ${later}`)).toBe(`Orders ${later}\n${later} is after today: no orders yet.`);
  });

  it('a malformed date gets the usage message, as /summary does', async () => {
    const { run } = await dayAfterASell();
    for (const bad of [
      '/orders yesterday',
      '/orders 2026-11-3',
      `/orders ${DAY} ${NEXT}`,
      '/orders ../../etc',
    ])
      expect(await run(bad), bad).toBe('✗ orders takes an optional date YYYY-MM-DD. Example: /orders');
    expect(await run('/orders 2026-02-30')).toBe(
      '✗ invalid date "2026-02-30": expected YYYY-MM-DD. Example: /orders',
    );
  });

  it('an archive that cannot be read is named with what is wrong, and the orders still kept live are shown', async () => {
    const garbage = '{"version": 1, "data": ';
    const { run } = await dayAfterASell(undefined, (dir) => {
      mkdirSync(join(dir, 'history'), { recursive: true });
      writeFileSync(join(dir, 'history', `${DAY}.json`), garbage);
    });
    const out = (await run(`/orders ${DAY}`)).split('\n');
    expect(out[1]).toMatch(
      new RegExp(
        `^✗ The order archive of ${DAY} cannot be read, nothing in it is shown: .*history/${DAY}\\.json: is not valid JSON`,
      ),
    );
    expect(out[1]).toMatch(/The file was left untouched\./);
    expect(out[2]).toBe('Still in orders.json for that day:');
    expect(out[3]).toMatch(/中国海诚 002116\.SZ sell 10000 @ 10\.00: filled/);
  });

  it('an unreadable archive with nothing of its day kept live says only what is wrong', async () => {
    const { h, run } = await dayAfterASell();
    const file = join(h.dir, 'history', `${DAY}.json`);
    unlinkSync(file);
    writeFileSync(file, '[]');
    const out = await run(`/orders ${DAY}`);
    expect(out).toMatch(new RegExp(`^Orders ${DAY} 委托\\n✗ The order archive of ${DAY} cannot be read`));
    expect(out).toMatch(/is not a SealGuard store/);
    expect(out.split('\n')).toHaveLength(2);
  });
});
