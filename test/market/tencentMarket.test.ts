import { afterEach, expect, it } from 'vitest';
import { TencentFeed } from '../../src/market/tencent.ts';
import { startTencentMarket, type TencentMarket } from '../helpers/tencentMarket.ts';

let m: TencentMarket | undefined;
afterEach(async () => m?.close());

it('the scripted Tencent market speaks the real wire format the adapter parses', async () => {
  m = await startTencentMarket();
  m.set({
    code: '002116',
    exchange: 'sz',
    name: '中国海诚',
    date: '2026-11-23',
    time: '10:00:03',
    last: '10.02',
    prevClose: '9.11',
    limitUp: '10.02',
    limitDown: '8.20',
    bids: [
      ['10.02', 280465],
      ['10.01', 487],
    ],
    asks: [],
  });
  const r = await new TencentFeed({ baseUrl: m.url }).fetch(['002116.SZ']);
  expect(r.snapshots).toHaveLength(1);
  const s = r.snapshots[0]!;
  expect(s.name).toBe('中国海诚');
  expect(s.bids[0]).toEqual([1002, 28_046_500]);
  expect(s.asks).toEqual([]);
  expect(s.limitUp).toBe(1002);
  expect(s.status).toBe('normal');
});

it('the scripted Sina market speaks the Sina wire format the adapter parses, from the same books', async () => {
  const { SinaFeed } = await import('../../src/market/sina.ts');
  const { startSinaMarket, sealedBook } = await import('../helpers/tencentMarket.ts');
  const at = Date.parse('2026-11-23T10:00:03+08:00');
  const s1 = await startSinaMarket({ now: () => at + 500 });
  try {
    s1.set(sealedBook(at, 100_000));
    const r = await new SinaFeed({ baseUrl: s1.url }).fetch(['002116.SZ']);
    expect(r.snapshots).toHaveLength(1);
    const s = r.snapshots[0]!;
    expect(s).toMatchObject({ symbol: '002116.SZ', name: '中国海诚', last: 1000, ts: at, status: 'normal' });
    expect(s.bids[0]).toEqual([1000, 10_000_000]);
    expect(s.asks).toEqual([]);
    expect(r.timing?.serverDate).toBe(at);
  } finally {
    await s1.close();
  }
});
