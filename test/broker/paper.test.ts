import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Order, SellRequest } from '../../src/broker/broker.ts';
import { PaperBroker } from '../../src/broker/paper.ts';
import type { PaperBrokerOptions } from '../../src/broker/paper.ts';
import type { Level, Snapshot } from '../../src/domain/types.ts';
import { exchangeTs } from '../../src/domain/time.ts';
import { rejection } from './rejection.ts';

let dir: string;
let now: number;
const clock = { now: () => now };

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sg-paper-'));
  now = exchangeTs('2026-11-24', '10:00:00');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function open(extra: Partial<PaperBrokerOptions> = {}): Promise<PaperBroker> {
  return PaperBroker.open({
    dataDir: dir,
    clock,
    cash: '500000.00',
    positions: [
      { symbol: '002116.SZ', name: '中国海诚', quantity: 10000, sellable: 10000, avgCost: '9.50' },
      { symbol: '600000.SH', quantity: 10050, sellable: 4050 },
      { symbol: '688001.SH', quantity: 1000, sellable: 1000 },
    ],
    ...extra,
  });
}

/** 002116.SZ sealed at 11.02 (prevClose 10.02) with `bids` as the book. */
function snap(bids: Level[], symbol = '002116.SZ'): Snapshot {
  return {
    symbol,
    name: '中国海诚',
    source: 'replay',
    ts: now,
    status: 'normal',
    decimals: 2,
    last: 1102,
    prevClose: 1002,
    open: 1010,
    high: 1102,
    low: 1005,
    bids,
    asks: [],
    volume: 1_000_000,
    amount: 10_800_000,
    limitUp: 1102,
    limitDown: 902,
  };
}

const atLimit = (id: string, quantity = 10000): SellRequest => ({
  clientOrderId: id,
  symbol: '002116.SZ',
  quantity,
  limitPrice: '11.02',
});

describe('paper fills at the limit-up price', () => {
  it('fill only while bid1 at the limit has volume; partial against a smaller queue; never the same shares twice', async () => {
    const b = await open();
    const seen: Array<[string, number]> = [];
    b.onOrderUpdate((o: Order) => seen.push([o.status, o.filledQuantity]));

    const placed = await b.placeSell(atLimit('sg20261124seg1'));
    expect(placed).toMatchObject({ status: 'submitted', filledQuantity: 0, brokerOrderId: 'P000001' });

    await b.onQuote(snap([])); // nobody bidding: nothing to sell into
    expect((await b.getOrder('sg20261124seg1'))?.filledQuantity).toBe(0);

    await b.onQuote(snap([[1102, 3000]]));
    expect(await b.getOrder('sg20261124seg1')).toMatchObject({
      status: 'partially_filled',
      filledQuantity: 3000,
    });

    await b.onQuote(snap([[1102, 3000]])); // the same 3,000 shares we already took
    expect((await b.getOrder('sg20261124seg1'))?.filledQuantity).toBe(3000);

    await b.onQuote(snap([[1102, 8000]])); // the queue grew by 5,000
    expect((await b.getOrder('sg20261124seg1'))?.filledQuantity).toBe(8000);

    await b.onQuote(snap([[1101, 50000]])); // board broken: bids below our limit do not fill it
    expect((await b.getOrder('sg20261124seg1'))?.filledQuantity).toBe(8000);

    await b.onQuote(snap([[1102, 2500]])); // resealed: a new queue
    const done = await b.getOrder('sg20261124seg1');
    expect(done).toMatchObject({ status: 'filled', filledQuantity: 10000, avgFillPrice: '11.02' });

    expect(seen).toEqual([
      ['submitted', 0],
      ['partially_filled', 3000],
      ['partially_filled', 8000],
      ['filled', 10000],
    ]);
    expect(await b.account()).toEqual({
      accountId: 'paper',
      cashAvailable: '610200.00',
      marketValue: '0.00',
      totalAsset: '610200.00',
    });
    const pos = await b.positions();
    expect(pos.find((p) => p.symbol === '002116.SZ')).toBeUndefined();
  });

  it('fills at once on placement when the current quote already has a queue', async () => {
    const b = await open({ quotes: () => snap([[1102, 1_000_000]]) });
    const o = await b.placeSell(atLimit('sg20261124now1'));
    expect(o).toMatchObject({ status: 'filled', filledQuantity: 10000, avgFillPrice: '11.02' });
  });

  it('a lower limit walks the bids best first, at their prices, and stops at its limit', async () => {
    const b = await open();
    await b.placeSell({
      clientOrderId: 'sg20261124brk1',
      symbol: '002116.SZ',
      quantity: 5000,
      limitPrice: '10.50',
    });
    await b.onQuote(
      snap([
        [1060, 1000],
        [1055, 2000],
        [1049, 9999],
      ]),
    );
    expect(await b.getOrder('sg20261124brk1')).toMatchObject({
      status: 'partially_filled',
      filledQuantity: 3000,
      avgFillPrice: '10.56667',
    });
    expect((await b.account()).cashAvailable).toBe('531700.00');
  });

  it('two paper orders share one queue instead of both filling from it', async () => {
    const b = await open({
      positions: [{ symbol: '002116.SZ', quantity: 10000, sellable: 10000 }],
    });
    await b.placeSell(atLimit('sg20261124ordA', 4000));
    await b.placeSell(atLimit('sg20261124ordB', 4000));
    await b.onQuote(snap([[1102, 5000]]));
    expect((await b.getOrder('sg20261124ordA'))?.filledQuantity).toBe(4000);
    expect((await b.getOrder('sg20261124ordB'))?.filledQuantity).toBe(1000);
  });
});

describe('paper order checks', () => {
  it('is idempotent by client order id; a different body under the same id is a conflict', async () => {
    const b = await open();
    const first = await b.placeSell(atLimit('sg20261124idem'));
    const again = await b.placeSell(atLimit('sg20261124idem'));
    expect(again).toEqual(first);
    expect(await b.todayOrders()).toHaveLength(1);
    const err = await rejection(b.placeSell(atLimit('sg20261124idem', 5000)));
    expect(err.code).toBe('IDEMPOTENCY_CONFLICT');
    expect(await b.todayOrders()).toHaveLength(1);
  });

  it('quantity must fit sellable minus what open sells already commit', async () => {
    const b = await open();
    await b.placeSell(atLimit('sg20261124cmt1', 6000));
    const err = await rejection(b.placeSell(atLimit('sg20261124cmt2', 6000)));
    expect(err.code).toBe('INSUFFICIENT_POSITION');
    expect(err.message).toBe(
      '002116.SZ: selling 6000 but only 4000 sellable (10000 sellable today, 6000 in open sells)',
    );
    await b.cancel('sg20261124cmt1');
    expect((await b.placeSell(atLimit('sg20261124cmt3', 6000))).status).toBe('submitted');
  });

  it('lots: main board in hundreds unless the odd remainder goes at once; STAR at least 200', async () => {
    const b = await open();
    const sh = (id: string, quantity: number): SellRequest => ({
      clientOrderId: id,
      symbol: '600000.SH',
      quantity,
      limitPrice: '8.00',
    });
    expect((await rejection(b.placeSell(sh('sg20261124lot1', 130)))).code).toBe('LOT_SIZE');
    expect((await b.placeSell(sh('sg20261124lot2', 150))).status).toBe('submitted'); // includes the 50-share remainder
    const star = { clientOrderId: 'sg20261124lot3', symbol: '688001.SH', quantity: 150, limitPrice: '50.00' };
    expect((await rejection(b.placeSell(star))).code).toBe('LOT_SIZE');
    expect((await b.placeSell({ ...star, clientOrderId: 'sg20261124lot4', quantity: 201 })).status).toBe(
      'submitted',
    );
  });

  it('refuses bad prices and prices beyond the limits, naming the input', async () => {
    const b = await open({ quotes: () => snap([]) });
    const bad = await rejection(b.placeSell({ ...atLimit('sg20261124px01'), limitPrice: '11.025' }));
    expect(bad.code).toBe('INVALID_ARGUMENT');
    expect(bad.message).toContain('"11.025"');
    const high = await rejection(b.placeSell({ ...atLimit('sg20261124px02'), limitPrice: '11.03' }));
    expect(high.code).toBe('PRICE_OUT_OF_RANGE');
    expect(high.message).toBe('limitPrice 11.03 is above the limit-up price 11.02');
    const sym = await rejection(b.placeSell({ ...atLimit('sg20261124px03'), symbol: '999999.SZ' }));
    expect(sym.code).toBe('INVALID_ARGUMENT');
    expect(await b.todayOrders()).toEqual([]);
  });

  it('cancel: open → cancelled, partly filled → partially_cancelled, final → NOT_CANCELLABLE', async () => {
    const b = await open();
    await b.placeSell(atLimit('sg20261124cx01', 4000));
    await b.cancel('P000001');
    expect((await b.getOrder('sg20261124cx01'))?.status).toBe('cancelled');
    expect((await rejection(b.cancel('sg20261124cx01'))).code).toBe('NOT_CANCELLABLE');

    await b.placeSell(atLimit('sg20261124cx02', 4000));
    await b.onQuote(snap([[1102, 1000]]));
    await b.cancel('sg20261124cx02');
    expect(await b.getOrder('sg20261124cx02')).toMatchObject({
      status: 'partially_cancelled',
      filledQuantity: 1000,
    });
    await b.onQuote(snap([[1102, 90000]])); // a cancelled order never fills again
    expect((await b.getOrder('sg20261124cx02'))?.filledQuantity).toBe(1000);
    expect((await rejection(b.cancel('nosuchorder1'))).code).toBe('ORDER_NOT_FOUND');
  });
});

describe('paper state', () => {
  it('T+1: shares bought today become sellable on the next trading day; yesterday’s orders are gone', async () => {
    const b = await open();
    const tooMany = {
      clientOrderId: 'sg20261124t1aa',
      symbol: '600000.SH',
      quantity: 10050,
      limitPrice: '8.00',
    };
    expect((await rejection(b.placeSell(tooMany))).code).toBe('INSUFFICIENT_POSITION');
    await b.placeSell({ ...tooMany, clientOrderId: 'sg20261124t1bb', quantity: 4000 });

    now = exchangeTs('2026-11-25', '09:31:00');
    expect((await b.positions()).find((p) => p.symbol === '600000.SH')).toEqual({
      symbol: '600000.SH',
      quantity: 10050,
      sellable: 10050,
    });
    expect(await b.todayOrders()).toEqual([]);
    expect((await b.placeSell({ ...tooMany, clientOrderId: 'sg20261125t1aa' })).quantity).toBe(10050);
  });

  it('survives a reopen: starting config is ignored once a state file exists', async () => {
    const b = await open();
    await b.placeSell(atLimit('sg20261124keep', 3000));
    await b.onQuote(snap([[1102, 3000]]));

    const again = await open({ positions: [{ symbol: '000001.SZ', quantity: 100, sellable: 100 }], cash: 1 });
    expect(await again.getOrder('sg20261124keep')).toMatchObject({ status: 'filled', filledQuantity: 3000 });
    expect((await again.positions()).map((p) => [p.symbol, p.quantity, p.sellable])).toEqual([
      ['002116.SZ', 7000, 7000],
      ['600000.SH', 10050, 4050],
      ['688001.SH', 1000, 1000],
    ]);
    expect((await again.account()).cashAvailable).toBe('533060.00');
    // Idempotency also survives the restart.
    expect((await again.placeSell(atLimit('sg20261124keep', 3000))).brokerOrderId).toBe('P000001');
  });

  it('a broken state file is refused and left untouched', async () => {
    const file = join(dir, 'paper.json');
    await writeFile(file, '{"version":1,"data":{"cashLi":"lots"}}');
    await expect(open()).rejects.toThrow(/paper\.json/);
    expect(await readFile(file, 'utf8')).toBe('{"version":1,"data":{"cashLi":"lots"}}');
  });

  it('a bad starting position is refused with a message naming it', async () => {
    await expect(
      open({ positions: [{ symbol: '002116.SZ', quantity: 100, sellable: 200 }] }),
    ).rejects.toThrow(
      'paper position #1 ("002116.SZ"): sellable must be a whole number between 0 and quantity (100)',
    );
  });
});
