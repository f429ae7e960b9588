/**
 * Follow-through over the PTrade relay. The strategy side follows bridges/ptrade/sealguard_relay.py:
 * a place answers `submitted`; a cancel calls `cancel_order` and answers the order with status
 * `pending_cancel` (`_cancel`); the order's final state arrives with a later snapshot's `orders`
 * (as PTrade's get_orders shows it once the counter confirmed).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PtradeRelayBroker } from '../../src/broker/ptradeRelay.ts';
import { opened, sealedRun } from '../helpers/snapshots.ts';
import { harness, type Harness } from './harness.ts';

const TOKEN = 'relay-token-follow-1';
let h: Harness | undefined;
let relay: PtradeRelayBroker | undefined;
let stop = () => {};
afterEach(async () => {
  stop();
  await h?.stop();
  await relay?.close();
});

interface Cmd {
  command_id: string;
  kind: string;
  order: Record<string, unknown>;
  cursor: string;
}

/** The strategy: polls, runs each command once, confirms a cancel in its next snapshot. */
function strategy(base: string) {
  const executed: Cmd[] = [];
  const orders = new Map<string, Record<string, unknown>>();
  const confirmNext: string[] = [];
  let cursor = '';
  let stopped = false;
  let n = 5550;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return res.json() as Promise<unknown>;
  };
  const loop = async () => {
    while (!stopped) {
      const cmds = (await call('GET', `/v1/relay/commands?after=${encodeURIComponent(cursor)}`)) as Cmd[];
      const results: unknown[] = [];
      // Cancels asked on an earlier poll are confirmed by the counter now.
      for (const id of confirmNext.splice(0)) {
        const o = orders.get(id);
        if (o) o.status = Number(o.filled_quantity) > 0 ? 'partially_cancelled' : 'cancelled';
      }
      for (const c of cmds) {
        cursor = c.cursor;
        if (executed.some((e) => e.command_id === c.command_id)) continue;
        executed.push(c);
        if (c.kind === 'place') {
          const o = {
            client_order_id: c.order.client_order_id,
            broker_order_id: String(++n),
            symbol: c.order.symbol,
            side: 'sell',
            quantity: c.order.quantity,
            filled_quantity: 0,
            avg_fill_price: null,
            limit_price: c.order.limit_price,
            status: 'submitted',
          };
          orders.set(String(c.order.client_order_id), o);
          results.push({ ...o, command_id: c.command_id, kind: 'place', ok: true });
        } else if (c.kind === 'cancel') {
          const o = orders.get(String(c.order.client_order_id))!;
          o.status = 'pending_cancel';
          confirmNext.push(String(c.order.client_order_id));
          results.push({ ...o, command_id: c.command_id, kind: 'cancel', ok: true });
        } else results.push({ command_id: c.command_id, kind: c.kind, ok: true });
      }
      await call('POST', '/v1/relay/results', {
        results,
        snapshot: {
          as_of: '2026-11-23T10:00:00+08:00',
          account: { account_id: '****0365', total_asset: '1', cash_available: '1', market_value: '1' },
          positions: [
            {
              symbol: '002116.SZ',
              name: null,
              quantity: 10_000,
              sellable_quantity: 10_000,
              avg_cost: '9.00',
              last_price: '10.00',
              market_value: '100000.00',
            },
          ],
          orders: [...orders.values()],
        },
      });
      await new Promise((r) => setTimeout(r, 15));
    }
  };
  void loop();
  return { executed, orders, stop: () => (stopped = true) };
}

describe('follow-through over the PTrade relay', () => {
  it('break before any fill: one cancel command, then after the snapshot shows it cancelled one place at the bid', async () => {
    const market: { clock?: { now(): number } } = {};
    relay = new PtradeRelayBroker({
      token: TOKEN,
      clock: { now: () => market.clock?.now() ?? Date.now() },
      resultTimeoutMs: 2000,
    });
    const base = `http://127.0.0.1:${await relay.listen(0)}`;
    const s = strategy(base);
    stop = s.stop;
    const g = (h = await harness({ mode: 'auto', wrap: () => relay! }));
    market.clock = g.clock;
    for (const snap of sealedRun(
      '10:00:00',
      3,
      [100_000_000, 100_000_000, 60_000_000, 30_000_000, 15_000_000],
    ))
      await g.feed(snap);
    const places = () => s.executed.filter((c) => c.kind === 'place');
    const cancels = () => s.executed.filter((c) => c.kind === 'cancel');
    expect(places()).toHaveLength(1);
    const root = String(places()[0]!.order.client_order_id);
    for (let i = 0; i < 8 && places().length < 2; i++) {
      await g.feed(opened(g.clock.now() + 1000, 1000, 997));
      // Real time for the strategy's polls (15 ms apart) between market seconds.
      await new Promise((r) => setTimeout(r, 120));
      await g.guard.tick();
    }
    expect(cancels().map((c) => c.order.client_order_id)).toEqual([root]);
    expect(s.orders.get(root)?.status).toBe('cancelled');
    expect(places()).toHaveLength(2);
    expect(places()[1]!.order).toMatchObject({
      client_order_id: `${root}r1`,
      quantity: 10_000,
      limit_price: '9.97',
    });
  });
});
