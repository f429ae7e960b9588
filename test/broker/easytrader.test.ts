import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SellRequest } from '../../src/broker/broker.ts';
import { EasytraderBroker, notPrepared, rejectionText } from '../../src/broker/easytrader.ts';
import { formatExchangeTime } from '../../src/domain/time.ts';
import { startFakeEasytrader, type FakeEasytrader } from './fakeEasytrader.ts';
import { rejection } from './rejection.ts';

// The fake follows easytrader's server.py, clienttrader.py and pop_dialog_handler.py: see fakeEasytrader.ts.
const clock = { now: () => Date.now() };
const hhmmss = (): string => formatExchangeTime(Date.now()).slice(11, 19);
let dir: string;
let fake: FakeEasytrader;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sg-et-'));
  fake = await startFakeEasytrader({ intentFile: join(dir, 'easytrader.json') });
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

  it('a TradeError dialog is BROKER_REJECTED with its 同花顺 text, and stays so without resending', async () => {
    const b = await open();
    fake.mode.push('trade-error');
    fake.rejection = '[251005][证券可用数量不足]';
    const err = await rejection(b.placeSell(sell));
    expect(err.code).toBe('BROKER_REJECTED');
    expect(err.message).toBe('easytrader /sell rejected: [251005][证券可用数量不足]');
    expect((await rejection(b.placeSell(sell))).code).toBe('BROKER_REJECTED');
    expect(fake.sells).toHaveLength(1);
    expect((await b.getOrder(sell.clientOrderId))?.status).toBe('rejected');
  });

  it('miniqmt’s entrust_no -1 is a rejection', async () => {
    const b = await open();
    fake.mode.push('miniqmt-fail');
    expect((await rejection(b.placeSell(sell))).code).toBe('BROKER_REJECTED');
  });

  it('not logged in (KeyError user) never reached the client: retryable, says /prepare, and the same id may go again', async () => {
    const b = await open();
    fake.prepared = false;
    const err = await rejection(b.placeSell(sell));
    expect(err.code).toBe('BRIDGE_NOT_READY');
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('POST /prepare');
    const login = await fetch(`${fake.url}/prepare`, {
      method: 'POST',
      body: JSON.stringify({ broker: 'universal_client', user: 'u', password: 'p' }),
    });
    expect(login.status).toBe(201);
    expect((await b.placeSell(sell)).brokerOrderId).toBe('1234567');
    expect(fake.sells).toHaveLength(1);
  });

  it('a 400 AttributeError after the order was entered (success dialog without a number) is not a rejection: found in today’s orders, one /sell', async () => {
    const b = await open();
    fake.mode.push('success-no-number');
    const o = await b.placeSell(sell);
    expect(o).toMatchObject({
      clientOrderId: sell.clientOrderId,
      brokerOrderId: '1234567',
      status: 'submitted',
      quantity: 10000,
      limitPrice: '11.02',
    });
    expect(fake.paths).toEqual(['POST /sell', 'GET /today_entrusts']);
    expect(await b.placeSell(sell)).toMatchObject({ brokerOrderId: '1234567' });
    expect(fake.sells).toHaveLength(1);
  });

  it('a 400 GUI error with nothing entered: OUTCOME_UNKNOWN (not rejected), and asking again never resends', async () => {
    const b = await open();
    fake.mode.push('gui-error');
    const err = await rejection(b.placeSell(sell));
    expect(err.code).toBe('OUTCOME_UNKNOWN');
    expect(err.message).toContain('ElementNotFoundError');
    expect((await b.getOrder(sell.clientOrderId))?.status).toBe('unknown');
    expect((await rejection(b.placeSell(sell))).code).toBe('OUTCOME_UNKNOWN');
    expect(fake.sells).toHaveLength(1);
  });

  it('a miniqmt server’s today_entrusts row (xtquant fields, epoch order_time) reconciles a hung /sell', async () => {
    const b = await open(300);
    fake.mode.push('hang-unrecorded');
    // easytrader/miniqmt/miniqmt_trader.py today_entrusts: one dict per XtOrder.
    fake.entrusts.push({
      security: '002116',
      stock_code: '002116.SZ',
      order_id: 1082130433,
      order_sysid: '2049',
      order_time: Math.floor(Date.now() / 1000),
      order_type: 24,
      order_type_name: '卖出',
      order_volume: 10000,
      price_type: 50,
      price_type_name: '限价',
      price: 11.02,
      traded_volume: 10000,
      traded_price: 11.02,
      order_status: 56,
      order_status_name: '已成',
      status_msg: '',
      offset_flag: 49,
      offset_flag_name: '卖出',
      strategy_name: '',
      order_remark: '',
      direction: 48,
      direction_name: '多',
      account_type: 2,
      account_id: '8888888888',
    });
    const o = await b.placeSell(sell);
    expect(o).toMatchObject({ brokerOrderId: '1082130433', status: 'filled', filledQuantity: 10000 });
    expect(fake.sells).toHaveLength(1);
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

  it('a cancel answered with the 提示 dialog text of a cancel that went through resolves', async () => {
    const b = await open();
    await b.placeSell(sell);
    fake.cancelMessage = '您的撤单委托已提交';
    await b.cancel(sell.clientOrderId);
    expect((await b.getOrder(sell.clientOrderId))?.status).toBe('cancelled');
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

describe('easytrader 400 texts', () => {
  it('only TradeError, or a bare 同花顺 rejection text, is a rejection', () => {
    expect(rejectionText("<class 'easytrader.exceptions.TradeError'>: 可用股份不足")).toBe('可用股份不足');
    expect(rejectionText("<class 'easytrader.exceptions.TradeError'>: 委托价格超出涨跌停范围")).toBe(
      '委托价格超出涨跌停范围',
    );
    expect(rejectionText("<class 'AttributeError'>: 'NoneType' object has no attribute 'group'")).toBe(
      undefined,
    );
    expect(rejectionText("<class 'pywinauto.timings.TimeoutError'>: timed out")).toBe(undefined);
    expect(
      rejectionText("<class 'TypeError'>: sell() missing 1 required positional argument: 'amount'"),
    ).toBe(undefined);
    // A patched server answering the dialog text alone.
    expect(rejectionText('委托失败：证券可用数量不足')).toBe('委托失败：证券可用数量不足');
    expect(rejectionText('something went wrong')).toBe(undefined);
    expect(notPrepared("<class 'KeyError'>: 'user'")).toBe(true);
    expect(notPrepared("<class 'KeyError'>: '证券代码'")).toBe(false);
  });
});
