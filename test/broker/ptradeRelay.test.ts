import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SellRequest } from '../../src/broker/broker.ts';
import { PtradeRelayBroker } from '../../src/broker/ptradeRelay.ts';
import { rejection } from './rejection.ts';

const TOKEN = 'relay-token-9f3k';
let skew = 0;
const clock = { now: () => Date.now() + skew };
let relay: PtradeRelayBroker;
let base: string;

beforeEach(async () => {
  skew = 0;
  relay = new PtradeRelayBroker({ token: TOKEN, clock, resultTimeoutMs: 600 });
  base = `http://127.0.0.1:${await relay.listen(0)}`;
});
afterEach(async () => {
  await relay.close();
});

const sell: SellRequest = {
  clientOrderId: 'sg20261124pt01',
  symbol: '600000.SH',
  quantity: 1000,
  limitPrice: '11.55',
};

async function call(
  method: string,
  path: string,
  body?: unknown,
  token = TOKEN,
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

interface Cmd {
  command_id: string;
  kind: string;
  order: Record<string, unknown>;
  cursor: string;
}

const snapshot = {
  as_of: '2026-11-24T10:00:00+08:00',
  account: {
    account_id: '****0365',
    total_asset: '1023456.78',
    cash_available: '500000.00',
    market_value: '523456.78',
  },
  positions: [
    {
      symbol: '600000.SH',
      name: null,
      quantity: 1000,
      sellable_quantity: 1000,
      avg_cost: '10.12',
      last_price: '11.55',
      market_value: '11550.00',
    },
  ],
  orders: [],
};

/**
 * The strategy side, as bridges/ptrade/sealguard_relay.py behaves: poll with the cursor, run each
 * command once (a done-map), post flat results plus a snapshot.
 */
function fakeStrategy(opts: { answer?: boolean; reject?: boolean } = {}) {
  const executed: Cmd[] = [];
  const done = new Set<string>();
  let cursor = '';
  let stopped = false;
  const loop = async (): Promise<void> => {
    while (!stopped) {
      const { json } = await call('GET', `/v1/relay/commands?after=${encodeURIComponent(cursor)}`);
      const results: unknown[] = [];
      for (const c of json as Cmd[]) {
        cursor = c.cursor;
        if (done.has(c.command_id)) continue;
        done.add(c.command_id);
        executed.push(c);
        if (c.kind === 'place' && opts.reject) {
          results.push({
            command_id: c.command_id,
            kind: 'place',
            ok: false,
            client_order_id: c.order.client_order_id,
            status: 'rejected',
            error: { code: 'BROKER_REJECTED', message: 'PTrade order() returned None' },
          });
        } else if (c.kind === 'place') {
          results.push({
            command_id: c.command_id,
            kind: 'place',
            ok: true,
            client_order_id: c.order.client_order_id,
            broker_order_id: '5551',
            symbol: c.order.symbol,
            side: 'sell',
            quantity: c.order.quantity,
            filled_quantity: 0,
            avg_fill_price: null,
            limit_price: c.order.limit_price,
            status: 'submitted',
            broker_status: '2',
            updated_at: '2026-11-24T10:00:01+08:00',
            day: '2026-11-24',
          });
        } else if (c.kind === 'cancel') {
          results.push({
            command_id: c.command_id,
            kind: 'cancel',
            ok: true,
            client_order_id: c.order.client_order_id,
            broker_order_id: '5551',
            symbol: '600000.SH',
            side: 'sell',
            quantity: 1000,
            filled_quantity: 0,
            limit_price: '11.55',
            status: 'pending_cancel',
          });
        } else {
          results.push({ command_id: c.command_id, kind: c.kind, ok: true });
        }
      }
      if (results.length > 0 && opts.answer !== false)
        await call('POST', '/v1/relay/results', { results, snapshot });
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const running = loop();
  return {
    executed,
    stop: async () => {
      stopped = true;
      await running;
    },
  };
}

describe('PTrade relay', () => {
  it('a strategy polling commands and posting results yields one order, even when asked twice', async () => {
    const strategy = fakeStrategy();
    const [a, b] = await Promise.all([relay.placeSell(sell), relay.placeSell(sell)]);
    await strategy.stop();
    expect(a).toEqual({
      clientOrderId: 'sg20261124pt01',
      brokerOrderId: '5551',
      symbol: '600000.SH',
      side: 'sell',
      quantity: 1000,
      filledQuantity: 0,
      limitPrice: '11.55',
      status: 'submitted',
      updatedAt: '2026-11-24T10:00:01+08:00',
    });
    expect(b).toEqual(a);
    expect(strategy.executed).toHaveLength(1);
    expect(strategy.executed[0]).toMatchObject({
      command_id: 'sg20261124pt01',
      kind: 'place',
      order: {
        client_order_id: 'sg20261124pt01',
        symbol: '600000.SH',
        side: 'sell',
        quantity: 1000,
        order_type: 'limit',
        limit_price: '11.55',
      },
    });
    expect(await relay.getOrder('5551')).toMatchObject({ clientOrderId: 'sg20261124pt01' });
    expect(await relay.positions()).toEqual([
      {
        symbol: '600000.SH',
        quantity: 1000,
        sellable: 1000,
        avgCost: '10.12',
        lastPrice: '11.55',
        marketValue: '11550.00',
      },
    ]);
    expect((await relay.account()).cashAvailable).toBe('500000.00');
    expect(await relay.health()).toEqual({
      ok: true,
      broker: 'ptrade',
      connected: true,
      accountId: '****0365',
    });
  });

  it('an answered command is not served again', async () => {
    const strategy = fakeStrategy();
    await relay.placeSell(sell);
    await strategy.stop();
    expect((await call('GET', '/v1/relay/commands?after=')).json).toEqual([]);
  });

  it('cancel goes through the strategy', async () => {
    const strategy = fakeStrategy();
    await relay.placeSell(sell);
    await relay.cancel('sg20261124pt01');
    await relay.cancel('5551'); // asked again: a new command, since the strategy never re-runs an id
    await strategy.stop();
    expect(strategy.executed.map((c) => [c.kind, c.order.client_order_id, c.order.broker_order_id])).toEqual([
      ['place', 'sg20261124pt01', undefined],
      ['cancel', 'sg20261124pt01', '5551'],
      ['cancel', 'sg20261124pt01', '5551'],
    ]);
    expect(new Set(strategy.executed.map((c) => c.command_id)).size).toBe(3);
    expect((await relay.getOrder('sg20261124pt01'))?.status).toBe('pending_cancel');
  });

  it('a strategy rejection is a BrokerError with its code', async () => {
    const strategy = fakeStrategy({ reject: true });
    const err = await rejection(relay.placeSell(sell));
    await strategy.stop();
    expect(err.code).toBe('BROKER_REJECTED');
    expect(err.message).toContain('PTrade order() returned None');
    expect((await relay.getOrder(sell.clientOrderId))?.status).toBe('rejected');
  });

  it('no strategy polling: the command is withdrawn and the error is retryable, not unknown', async () => {
    const err = await rejection(relay.placeSell(sell));
    expect(err.code).toBe('BRIDGE_NOT_READY');
    expect(err.retryable).toBe(true);
    expect(err.outcomeUnknown).toBe(false);
    expect((await call('GET', '/v1/relay/commands?after=')).json).toEqual([]);
    expect(await relay.getOrder(sell.clientOrderId)).toBeNull();
    const h = await relay.health();
    expect(h.connected).toBe(true); // that GET just now was a poll
  });

  it('taken but never answered: OUTCOME_UNKNOWN, then a late result settles getOrder', async () => {
    const strategy = fakeStrategy({ answer: false });
    const err = await rejection(relay.placeSell(sell));
    await strategy.stop();
    expect(err.code).toBe('OUTCOME_UNKNOWN');
    expect(strategy.executed).toHaveLength(1);
    expect((await relay.getOrder(sell.clientOrderId))?.status).toBe('unknown');
    const late = await call('POST', '/v1/relay/results', {
      results: [
        {
          command_id: sell.clientOrderId,
          ok: true,
          order: {
            client_order_id: sell.clientOrderId,
            broker_order_id: 77,
            symbol: '600000.SH',
            side: 'sell',
            quantity: 1000,
            filled_quantity: 1000,
            avg_fill_price: '11.55',
            limit_price: '11.55',
            status: 'filled',
          },
        },
      ],
    });
    expect(late).toEqual({ status: 200, json: { accepted: 1 } });
    expect(await relay.getOrder(sell.clientOrderId)).toMatchObject({
      status: 'filled',
      filledQuantity: 1000,
      brokerOrderId: '77',
      avgFillPrice: '11.55',
    });
  });

  it('a cursor from before a SealGuard restart gets the whole queue', async () => {
    const pending = relay.placeSell(sell).catch(() => undefined);
    const { json } = await call('GET', '/v1/relay/commands?after=zzzz-99');
    expect((json as Cmd[]).map((c) => c.command_id)).toEqual(['sg20261124pt01']);
    await pending;
  });

  it('needs the bearer token; other paths are left to other handlers', async () => {
    const bad = await call('GET', '/v1/relay/commands?after=', undefined, 'nope');
    expect(bad).toEqual({
      status: 401,
      json: { error: { code: 'UNAUTHORIZED', message: 'missing or wrong bearer token' } },
    });
    expect((await relay.health()).connected).toBe(false);
    expect(await call('POST', '/v1/relay/results', { results: 'x' })).toMatchObject({ status: 400 });

    const shared = createServer((req, res) => {
      if (relay.handle(req, res)) return;
      res.writeHead(200);
      res.end(JSON.stringify({ wecom: true }));
    });
    await new Promise<void>((r) => shared.listen(0, '127.0.0.1', r));
    const port = (shared.address() as AddressInfo).port;
    const other = await fetch(`http://127.0.0.1:${port}/wecom/callback`);
    expect(await other.json()).toEqual({ wecom: true });
    const mine = await fetch(`http://127.0.0.1:${port}/v1/relay/commands`);
    expect(mine.status).toBe(401);
    shared.closeAllConnections();
    await new Promise<void>((r) => shared.close(() => r()));
  });

  it('health: connected only if the strategy polled within 10 s', async () => {
    await call('GET', '/v1/relay/commands?after=');
    expect((await relay.health()).connected).toBe(true);
    skew = 11_000;
    expect(await relay.health()).toEqual({
      ok: false,
      broker: 'ptrade',
      connected: false,
      message: 'the PTrade strategy last polled 11 s ago',
    });
  });
});
