import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BridgeBroker } from '../../src/broker/bridge.ts';
import type { SellRequest } from '../../src/broker/broker.ts';
import { startFakeBridge } from './fakeBridge.ts';
import type { FakeBridge } from './fakeBridge.ts';
import { rejection } from './rejection.ts';

const sell: SellRequest = {
  clientOrderId: 'sg20261124a1b2c3',
  symbol: '002116.SZ',
  quantity: 10000,
  limitPrice: '10.02',
  note: 'seal 1503万 < 2000万',
};

let bridge: FakeBridge;
let broker: BridgeBroker;

beforeEach(async () => {
  bridge = await startFakeBridge();
  broker = new BridgeBroker({ url: bridge.url, token: bridge.token, timeoutMs: 3000, backoffMs: 5 });
});
afterEach(async () => {
  await bridge.close();
});

const posts = (): number => bridge.log.filter((l) => l.method === 'POST' && l.path === '/v1/orders').length;
const gets = (id: string): number =>
  bridge.log.filter((l) => l.method === 'GET' && l.path === `/v1/orders/${id}`).length;

describe('BridgeBroker placing a sell', () => {
  it('sends the protocol body with the client order id as Idempotency-Key and a Bearer token', async () => {
    const order = await broker.placeSell(sell);
    expect(order).toMatchObject({
      clientOrderId: 'sg20261124a1b2c3',
      brokerOrderId: '101',
      symbol: '002116.SZ',
      side: 'sell',
      quantity: 10000,
      filledQuantity: 0,
      limitPrice: '10.02',
      status: 'submitted',
    });
    expect(order.updatedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?\+08:00$/);
    const [post] = bridge.log;
    expect(post).toEqual({
      method: 'POST',
      path: '/v1/orders',
      idempotencyKey: 'sg20261124a1b2c3',
      auth: 'Bearer test-token-s3cret',
      body: {
        client_order_id: 'sg20261124a1b2c3',
        symbol: '002116.SZ',
        side: 'sell',
        quantity: 10000,
        order_type: 'limit',
        limit_price: '10.02',
        note: 'seal 1503万 < 2000万',
      },
    });
  });

  it('a repeated placeSell is replayed by the bridge: one order reaches the broker', async () => {
    const first = await broker.placeSell(sell);
    const again = await broker.placeSell(sell);
    expect(posts()).toBe(2);
    expect(bridge.orders.size).toBe(1);
    expect(again.brokerOrderId).toBe(first.brokerOrderId);
    expect(again.clientOrderId).toBe(first.clientOrderId);
  });

  it('the same id with a different body (409 IDEMPOTENCY_CONFLICT) is asked about: the order the id holds', async () => {
    await broker.placeSell(sell);
    const o = await broker.placeSell({ ...sell, quantity: 5000 });
    expect(o).toMatchObject({ clientOrderId: sell.clientOrderId, quantity: 10000, status: 'submitted' });
    expect(posts()).toBe(2);
    expect(gets(sell.clientOrderId)).toBe(1);
    expect(bridge.orders.size).toBe(1);
    expect(bridge.orders.get(sell.clientOrderId)?.quantity).toBe(10000);
  });

  for (const fault of ['201-empty', '201-html', '201-truncated', '409-in-flight', '502-html'] as const) {
    it(`${fault} after the bridge placed the order: looked up by id and returned, never "failed", one POST`, async () => {
      bridge.faults.push(fault);
      const o = await broker.placeSell(sell);
      expect(o).toMatchObject({
        clientOrderId: sell.clientOrderId,
        brokerOrderId: '101',
        status: 'submitted',
        quantity: 10000,
      });
      expect(posts()).toBe(1);
      expect(gets(sell.clientOrderId)).toBe(1);
      expect(bridge.orders.size).toBe(1);
    });
  }

  it('201 with an empty body and a bridge that cannot show the order yet: OUTCOME_UNKNOWN, not a rejection', async () => {
    bridge.faults.push('201-empty');
    bridge.lagging = true;
    const err = await rejection(broker.placeSell(sell));
    expect(err.code).toBe('OUTCOME_UNKNOWN');
    expect(err.outcomeUnknown).toBe(true);
    expect(err.message).toContain('HTTP 201 with an empty body');
    expect(posts()).toBe(1);
  });

  it('a proxy 504 page that never placed it: OUTCOME_UNKNOWN (the GET says 404), one POST', async () => {
    bridge.faults.push('504-unplaced');
    const err = await rejection(broker.placeSell(sell));
    expect(err.code).toBe('OUTCOME_UNKNOWN');
    expect(err.message).toContain('504 Gateway Time-out');
    expect(posts()).toBe(1);
    expect(gets(sell.clientOrderId)).toBe(1);
  });

  it('an error body echoing the Authorization header: a rejection whose text has no token', async () => {
    bridge.faults.push('422-echo');
    const err = await rejection(broker.placeSell(sell));
    expect(err.code).toBe('BROKER_REJECTED');
    expect(bridge.log[0]!.auth).toBe(`Bearer ${bridge.token}`);
    expect(err.message).toContain('Authorization');
    expect(err.message).not.toContain(bridge.token);
    expect(err.message).toContain('Bearer ***');
  });

  it('503 then 201: retried with the same Idempotency-Key', async () => {
    bridge.faults.push('503');
    const order = await broker.placeSell(sell);
    expect(order.status).toBe('submitted');
    const keys = bridge.log.filter((l) => l.path === '/v1/orders').map((l) => l.idempotencyKey);
    expect(keys).toEqual(['sg20261124a1b2c3', 'sg20261124a1b2c3']);
    expect(bridge.orders.size).toBe(1);
  });

  it('503 every time: bounded attempts, then a retryable error keeping the same id', async () => {
    bridge.faults.push('503', '503', '503', '503', '503');
    const err = await rejection(broker.placeSell(sell));
    expect(err.code).toBe('BROKER_DISCONNECTED');
    expect(err.retryable).toBe(true);
    expect(err.outcomeUnknown).toBe(false);
    expect(posts()).toBe(4);
    expect(new Set(bridge.log.map((l) => l.idempotencyKey))).toEqual(new Set(['sg20261124a1b2c3']));
  });

  it('504 leads to a GET of the same client order id and no second POST', async () => {
    bridge.faults.push('504');
    const order = await broker.placeSell(sell);
    expect(order).toMatchObject({
      clientOrderId: sell.clientOrderId,
      brokerOrderId: '101',
      status: 'submitted',
    });
    expect(posts()).toBe(1);
    expect(gets(sell.clientOrderId)).toBe(1);
  });

  it('504 and a bridge that does not know the order yet: OUTCOME_UNKNOWN, still no second POST', async () => {
    bridge.faults.push('504');
    bridge.lagging = true;
    const err = await rejection(broker.placeSell(sell));
    expect(err.code).toBe('OUTCOME_UNKNOWN');
    expect(err.outcomeUnknown).toBe(true);
    expect(posts()).toBe(1);
    expect(gets(sell.clientOrderId)).toBe(1);
  });

  it('a timeout after sending is reconciled by GET; the order that landed is returned, no second POST', async () => {
    bridge.faults.push('hang');
    const impatient = new BridgeBroker({ url: bridge.url, token: bridge.token, timeoutMs: 300 });
    const order = await impatient.placeSell(sell);
    expect(order.brokerOrderId).toBe('101');
    expect(posts()).toBe(1);
    expect(gets(sell.clientOrderId)).toBe(1);
  });

  it('a reset before the bridge stored anything: GET says 404, then one replay POST with the SAME id', async () => {
    bridge.faults.push('reset');
    const order = await broker.placeSell(sell);
    expect(order.status).toBe('submitted');
    expect(bridge.log.map((l) => `${l.method} ${l.path} ${l.idempotencyKey ?? ''}`.trim())).toEqual([
      'POST /v1/orders sg20261124a1b2c3',
      'GET /v1/orders/sg20261124a1b2c3',
      'POST /v1/orders sg20261124a1b2c3',
    ]);
    expect(bridge.orders.size).toBe(1);
  });

  it('401 is UNAUTHORIZED and the token appears in no message', async () => {
    const bad = new BridgeBroker({ url: bridge.url, token: 'wrong-token-xyz', timeoutMs: 300 });
    const err = await rejection(bad.placeSell(sell));
    expect(err.code).toBe('UNAUTHORIZED');
    expect(err.retryable).toBe(false);
    expect(err.message).not.toContain('wrong-token-xyz');
    expect(posts()).toBe(1);
  });

  it('422 carries the bridge code and is not retried', async () => {
    bridge.faults.push('422');
    const err = await rejection(broker.placeSell(sell));
    expect(err.code).toBe('INSUFFICIENT_POSITION');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('sellable 5000 < 10000');
    expect(posts()).toBe(1);
    expect(bridge.log.filter((l) => l.method === 'GET')).toHaveLength(0);
  });

  it('refuses a bad request before anything is sent', async () => {
    const err = await rejection(broker.placeSell({ ...sell, limitPrice: '10.025' }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain('limitPrice "10.025"');
    const err2 = await rejection(broker.placeSell({ ...sell, clientOrderId: 'short' }));
    expect(err2.message).toContain('clientOrderId "short"');
    expect(bridge.log).toHaveLength(0);
  });
});

describe('BridgeBroker reads', () => {
  it('maps health, account, positions and orders from snake_case', async () => {
    expect(await broker.health()).toEqual({
      ok: true,
      broker: 'bridge:qmt',
      connected: true,
      accountId: '****0365',
    });
    expect(await broker.account()).toEqual({
      accountId: '****0365',
      totalAsset: '1023456.78',
      cashAvailable: '500000.00',
      marketValue: '523456.78',
    });
    expect(await broker.positions()).toEqual([
      {
        symbol: '002116.SZ',
        name: '中国海诚',
        quantity: 10000,
        sellable: 10000,
        avgCost: '9.50',
        lastPrice: '10.02',
        marketValue: '100200.00',
      },
    ]);
    await broker.placeSell(sell);
    const byBrokerId = await broker.getOrder('101');
    expect(byBrokerId?.clientOrderId).toBe(sell.clientOrderId);
    expect(await broker.getOrder('nope12345')).toBeNull();
    expect((await broker.todayOrders()).map((o) => o.clientOrderId)).toEqual([sell.clientOrderId]);
  });

  it('cancel: 202 resolves; a final order is NOT_CANCELLABLE', async () => {
    await broker.placeSell(sell);
    bridge.confirmCancels = false;
    await broker.cancel(sell.clientOrderId);
    expect((await broker.getOrder(sell.clientOrderId))?.status).toBe('pending_cancel');
    bridge.confirmCancels = true; // the counter confirms: the GET shows it final
    expect((await broker.getOrder(sell.clientOrderId))?.status).toBe('cancelled');
    expect((await rejection(broker.cancel(sell.clientOrderId))).code).toBe('NOT_CANCELLABLE');
  });

  it('BROKER_ACCOUNT_TYPE=credit: a bridge on a stock account (no account_type) is refused before any POST; a credit bridge sells', async () => {
    const credit = new BridgeBroker({
      url: bridge.url,
      token: bridge.token,
      backoffMs: 5,
      accountType: 'credit',
    });
    const e = await rejection(credit.placeSell(sell));
    expect(e.code).toBe('BROKER_REJECTED');
    expect(e.message).toMatch(/BROKER_ACCOUNT_TYPE=credit but the bridge runs a stock account/);
    expect(bridge.log.some((l) => l.method === 'POST')).toBe(false);
    expect((await credit.health()).ok).toBe(false);
    bridge.accountType = 'credit';
    expect((await credit.health()).ok).toBe(true);
    expect((await credit.placeSell(sell)).status).toBe('submitted');
  });

  it('an unreachable bridge reports unhealthy instead of throwing', async () => {
    await bridge.close();
    const h = await broker.health();
    expect(h.ok).toBe(false);
    expect(h.connected).toBe(false);
    expect(h.message).toContain('ECONNREFUSED');
  });
});
