import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SellRequest } from '../../src/broker/broker.ts';
import { EasytraderBroker } from '../../src/broker/easytrader.ts';
import { formatExchangeTime } from '../../src/domain/time.ts';
import { rejection } from './rejection.ts';

type SellMode =
  'ok' | 'hang' | 'hang-unrecorded' | 'success-no-id' | 'trade-error' | 'not-prepared' | 'miniqmt-fail';

interface FakeEasytrader {
  url: string;
  sells: unknown[];
  cancels: unknown[];
  paths: string[];
  entrusts: Array<Record<string, unknown>>;
  mode: SellMode[];
  /** At each /sell: did easytrader.json already hold the intent? */
  intentOnDisk: boolean[];
  maxActive: number;
  close(): Promise<void>;
}

const clock = { now: () => Date.now() };
const hhmmss = (): string => formatExchangeTime(Date.now()).slice(11, 19);
let dir: string;
let fake: FakeEasytrader;

/** easytrader server.py as it answers for a universal_client (THS) backend: Chinese grid columns. */
async function startFake(): Promise<FakeEasytrader> {
  let active = 0;
  let next = 1234567;
  const hung: ServerResponse[] = [];
  const f = {
    sells: [] as unknown[],
    cancels: [] as unknown[],
    paths: [] as string[],
    mode: [] as SellMode[],
    intentOnDisk: [] as boolean[],
    maxActive: 0,
    entrusts: [
      {
        委托时间: '09:31:02',
        证券代码: '600000',
        证券名称: '浦发银行',
        操作: '卖出',
        委托数量: 500,
        成交数量: 500,
        委托价格: 8.1,
        成交均价: 8.1,
        合同编号: '1000001',
        状态说明: '已成',
      },
      {
        委托时间: '09:32:10',
        证券代码: '600000',
        证券名称: '浦发银行',
        操作: '卖出',
        委托数量: 500,
        成交数量: 200,
        委托价格: 8.2,
        成交均价: 8.2,
        合同编号: '1000002',
        状态说明: '部成',
      },
      {
        委托时间: '09:33:00',
        证券代码: '000001',
        证券名称: '平安银行',
        操作: '买入',
        委托数量: 100,
        成交数量: 0,
        委托价格: 11.0,
        成交均价: 0,
        合同编号: '1000003',
        状态说明: '已撤',
      },
      {
        委托时间: '09:34:00',
        证券代码: '688001',
        证券名称: '华兴源创',
        操作: '卖出',
        委托数量: 200,
        成交数量: 0,
        委托价格: 30.5,
        成交均价: 0,
        合同编号: '1000004',
        状态说明: '废单',
      },
    ] as Array<Record<string, unknown>>,
  };
  const send = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const handler = async (req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> => {
    const path = req.url ?? '';
    f.paths.push(`${req.method} ${path}`);
    await new Promise((r) => setTimeout(r, 15)); // the GUI takes its time
    if (path === '/balance')
      return send(res, 200, { 资金余额: 500000.0, 可用金额: 480000.5, 可取金额: 480000.5, 总资产: 580200.5 });
    if (path === '/position') {
      return send(res, 200, [
        {
          证券代码: '002116',
          证券名称: '中国海诚',
          股票余额: 10000,
          可用余额: 10000,
          参考成本价: 9.5,
          市价: 10.02,
          市值: 100200.0,
          'Unnamed: 15': '',
        },
        {
          证券代码: '600000',
          证券名称: '浦发银行',
          股票余额: 1000,
          可用余额: 300,
          参考成本价: 8.0,
          市价: 8.15,
          市值: 8150.0,
        },
        {
          证券代码: '000001',
          证券名称: '平安银行',
          股票余额: 0,
          可用余额: 0,
          参考成本价: 0,
          市价: 11.0,
          市值: 0,
        },
      ]);
    }
    if (path === '/today_entrusts') return send(res, 200, f.entrusts);
    if (path === '/sell' && req.method === 'POST') {
      const body = JSON.parse(raw) as { security: string; price: number; amount: number };
      f.sells.push(body);
      f.intentOnDisk.push(
        existsSync(join(dir, 'easytrader.json')) &&
          readFileSync(join(dir, 'easytrader.json'), 'utf8').includes('"sending"'),
      );
      const mode = f.mode.shift() ?? 'ok';
      if (mode === 'trade-error')
        return send(res, 400, { error: "<class 'easytrader.exceptions.TradeError'>: 可用股份不足" });
      if (mode === 'not-prepared') return send(res, 400, { error: "<class 'KeyError'>: 'user'" });
      if (mode === 'miniqmt-fail') return send(res, 201, { entrust_no: -1 });
      const no = String(next++);
      if (mode !== 'hang-unrecorded') {
        f.entrusts.push({
          委托时间: hhmmss(),
          证券代码: body.security,
          证券名称: '中国海诚',
          操作: '卖出',
          委托数量: body.amount,
          成交数量: 0,
          委托价格: body.price,
          成交均价: 0,
          合同编号: no,
          状态说明: '已报',
        });
      }
      if (mode === 'hang' || mode === 'hang-unrecorded') {
        hung.push(res);
        return;
      }
      if (mode === 'success-no-id') return send(res, 201, { message: 'success' });
      return send(res, 201, { entrust_no: no });
    }
    if (path === '/cancel_entrust' && req.method === 'POST') {
      const body = JSON.parse(raw) as { entrust_no: unknown };
      f.cancels.push(body);
      const row = f.entrusts.find((e) => e['合同编号'] === body.entrust_no);
      if (!row || row['状态说明'] === '已成' || row['状态说明'] === '已撤') {
        return send(res, 201, { message: '委托单状态错误不能撤单, 该委托单可能已经成交或者已撤' });
      }
      row['状态说明'] = '已撤';
      return send(res, 201, { message: 'success' });
    }
    res.writeHead(404, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>404 Not Found</title>');
  };
  const server: Server = createServer((req, res) => {
    active++;
    f.maxActive = Math.max(f.maxActive, active);
    res.on('close', () => active--);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => void handler(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return Object.assign(f, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const r of hung) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  });
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sg-et-'));
  fake = await startFake();
});
afterEach(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

/** `sellTimeoutMs` short only where a test makes /sell hang; generous elsewhere so a loaded box cannot time out. */
const open = (sellTimeoutMs = 5000): Promise<EasytraderBroker> =>
  EasytraderBroker.open({
    url: fake.url,
    dataDir: dir,
    clock,
    timeoutMs: 5000,
    sellTimeoutMs,
    reconcileDelayMs: 50,
  });

const sell: SellRequest = {
  clientOrderId: 'sg20261124et01',
  symbol: '002116.SZ',
  quantity: 10000,
  limitPrice: '11.02',
};

describe('easytrader placing a sell', () => {
  it('writes the intent before /sell, sends easytrader’s body, binds the entrust number', async () => {
    const b = await open();
    const o = await b.placeSell(sell);
    expect(fake.sells).toEqual([{ security: '002116', price: 11.02, amount: 10000 }]);
    expect(fake.intentOnDisk).toEqual([true]);
    expect(o).toMatchObject({
      clientOrderId: 'sg20261124et01',
      brokerOrderId: '1234567',
      status: 'submitted',
      limitPrice: '11.02',
      quantity: 10000,
    });
    expect(await b.getOrder('sg20261124et01')).toMatchObject({
      brokerOrderId: '1234567',
      status: 'submitted',
    });
  });

  it('a /sell that hangs is reconciled through /today_entrusts, and never sent twice', async () => {
    const b = await open(300);
    fake.mode.push('hang');
    const o = await b.placeSell(sell);
    expect(o).toMatchObject({
      clientOrderId: 'sg20261124et01',
      brokerOrderId: '1234567',
      status: 'submitted',
    });
    expect(fake.paths).toEqual(['POST /sell', 'GET /today_entrusts']);
    const again = await b.placeSell(sell);
    expect(again.brokerOrderId).toBe('1234567');
    expect(fake.sells).toHaveLength(1);
    // After a restart too.
    const reopened = await open();
    expect((await reopened.placeSell(sell)).brokerOrderId).toBe('1234567');
    expect(fake.sells).toHaveLength(1);
  });

  it('hung and not in today’s orders: OUTCOME_UNKNOWN, getOrder says unknown, asking again does not resend', async () => {
    const b = await open(300);
    fake.mode.push('hang-unrecorded');
    const err = await rejection(b.placeSell(sell));
    expect(err.code).toBe('OUTCOME_UNKNOWN');
    expect(err.outcomeUnknown).toBe(true);
    expect((await b.getOrder(sell.clientOrderId))?.status).toBe('unknown');
    expect((await rejection(b.placeSell(sell))).code).toBe('OUTCOME_UNKNOWN');
    expect(fake.sells).toHaveLength(1);
    // The order shows up late in the client's grid: found and bound.
    fake.entrusts.push({
      委托时间: hhmmss(),
      证券代码: '002116',
      操作: '卖出',
      委托数量: 10000,
      成交数量: 10000,
      委托价格: 11.02,
      成交均价: 11.02,
      合同编号: '7654321',
      状态说明: '已成',
    });
    expect(await b.getOrder(sell.clientOrderId)).toMatchObject({
      brokerOrderId: '7654321',
      status: 'filled',
      filledQuantity: 10000,
      avgFillPrice: '11.02',
    });
    expect(fake.sells).toHaveLength(1);
  });

  it('two identical candidate rows are ambiguous: unknown, for a human', async () => {
    const b = await open(300);
    fake.mode.push('hang-unrecorded');
    const row = {
      委托时间: hhmmss(),
      证券代码: '002116',
      操作: '卖出',
      委托数量: 10000,
      成交数量: 0,
      委托价格: 11.02,
      状态说明: '已报',
    };
    fake.entrusts.push({ ...row, 合同编号: '9000001' }, { ...row, 合同编号: '9000002' });
    expect((await rejection(b.placeSell(sell))).code).toBe('OUTCOME_UNKNOWN');
    expect(fake.sells).toHaveLength(1);
  });

  it('{"message":"success"} (no order number) is placed, and the number is found in today’s orders', async () => {
    const b = await open();
    fake.mode.push('success-no-id');
    const o = await b.placeSell(sell);
    expect(o).toMatchObject({ brokerOrderId: '1234567', status: 'submitted' });
    expect(fake.sells).toHaveLength(1);
  });

  it('a TradeError dialog is BROKER_REJECTED, and stays so without resending', async () => {
    const b = await open();
    fake.mode.push('trade-error');
    const err = await rejection(b.placeSell(sell));
    expect(err.code).toBe('BROKER_REJECTED');
    expect(err.message).toContain('可用股份不足');
    expect((await rejection(b.placeSell(sell))).code).toBe('BROKER_REJECTED');
    expect(fake.sells).toHaveLength(1);
    expect((await b.getOrder(sell.clientOrderId))?.status).toBe('rejected');
  });

  it('miniqmt’s entrust_no -1 is a rejection', async () => {
    const b = await open();
    fake.mode.push('miniqmt-fail');
    expect((await rejection(b.placeSell(sell))).code).toBe('BROKER_REJECTED');
  });

  it('not logged in (KeyError user) never reached the client: retryable, and the same id may go again', async () => {
    const b = await open();
    fake.mode.push('not-prepared');
    const err = await rejection(b.placeSell(sell));
    expect(err.code).toBe('BRIDGE_NOT_READY');
    expect(err.retryable).toBe(true);
    expect((await b.placeSell(sell)).brokerOrderId).toBe('1234567');
    expect(fake.sells).toHaveLength(2);
  });

  it('the same id with a different body is a conflict; bad input never reaches the server', async () => {
    const b = await open();
    await b.placeSell(sell);
    expect((await rejection(b.placeSell({ ...sell, limitPrice: '11.01' }))).code).toBe(
      'IDEMPOTENCY_CONFLICT',
    );
    expect(
      (await rejection(b.placeSell({ ...sell, clientOrderId: 'sg20261124et02', quantity: -5 }))).code,
    ).toBe('INVALID_ARGUMENT');
    expect(fake.sells).toHaveLength(1);
  });
});

describe('easytrader reads and cancels', () => {
  it('normalizes Chinese keys: balance, positions, today’s orders with their status texts', async () => {
    const b = await open();
    expect(await b.account()).toEqual({
      accountId: '****',
      totalAsset: '580200.50',
      cashAvailable: '480000.50',
      marketValue: '100200.00',
    });
    expect(await b.positions()).toEqual([
      {
        symbol: '002116.SZ',
        name: '中国海诚',
        quantity: 10000,
        sellable: 10000,
        avgCost: '9.50',
        lastPrice: '10.02',
        marketValue: '100200.00',
      },
      {
        symbol: '600000.SH',
        name: '浦发银行',
        quantity: 1000,
        sellable: 300,
        avgCost: '8.00',
        lastPrice: '8.15',
        marketValue: '8150.00',
      },
    ]);
    const orders = await b.todayOrders();
    expect(
      orders.map((o) => [
        o.clientOrderId,
        o.brokerOrderId,
        o.symbol,
        o.side,
        o.quantity,
        o.filledQuantity,
        o.limitPrice,
        o.status,
      ]),
    ).toEqual([
      ['et-1000001', '1000001', '600000.SH', 'sell', 500, 500, '8.10', 'filled'],
      ['et-1000002', '1000002', '600000.SH', 'sell', 500, 200, '8.20', 'partially_filled'],
      ['et-1000003', '1000003', '000001.SZ', 'buy', 100, 0, '11.00', 'cancelled'],
      ['et-1000004', '1000004', '688001.SH', 'sell', 200, 0, '30.50', 'rejected'],
    ]);
    expect(await b.health()).toEqual({ ok: true, broker: 'easytrader', connected: true, accountId: '****' });
  });

  it('sends one request at a time even when asked concurrently', async () => {
    const b = await open();
    await Promise.all([
      b.account(),
      b.positions(),
      b.todayOrders(),
      b.placeSell(sell),
      b.getOrder('1000002'),
    ]);
    expect(fake.maxActive).toBe(1);
  });

  it('cancel sends the 合同编号 as the string it came as; a filled order is NOT_CANCELLABLE', async () => {
    const b = await open();
    await b.placeSell(sell);
    await b.cancel(sell.clientOrderId);
    expect(fake.cancels).toEqual([{ entrust_no: '1234567' }]);
    expect((await b.getOrder(sell.clientOrderId))?.status).toBe('cancelled');
    const err = await rejection(b.cancel('1000001'));
    expect(err.code).toBe('NOT_CANCELLABLE');
    expect((await rejection(b.cancel('nosuchorder1'))).code).toBe('ORDER_NOT_FOUND');
  });
});
