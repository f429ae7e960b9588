import { describe, expect, it } from 'vitest';
import { parseSymbol } from '../../src/domain/symbols.ts';
import { parseEastmoney } from '../../src/market/eastmoneyParse.ts';

// quotes.md §3.4: a real stock/get fltt=2 payload (no order book in it).
const GAC =
  '{"rc":0,"rt":4,"svr":2887257261,"lt":1,"full":1,"dlmkts":"","data":{"f43":12.43,"f44":12.56,"f45":12.21,"f46":12.28,"f47":308763,"f48":382298576.0,"f50":0.77,"f51":13.64,"f52":11.16,"f55":0.287524125,"f57":"601238","f58":"广汽集团","f60":12.4,"f71":12.38,"f86":1676620778,"f116":130066993676.51,"f117":90282023753.45999}}';
const sec = parseSymbol('601238.SH');

describe('EastMoney stock/get parser', () => {
  it('reads the real sample: prices to ticks, lots to shares, f117 float cap, f86 seconds', () => {
    const [s] = parseEastmoney(GAC, sec).snapshots;
    expect(s).toEqual({
      symbol: '601238.SH',
      name: '广汽集团',
      source: 'eastmoney',
      ts: 1676620778000,
      status: 'normal',
      decimals: 2,
      last: 1243,
      prevClose: 1240,
      open: 1228,
      high: 1256,
      low: 1221,
      bids: [],
      asks: [],
      volume: 30876300,
      amount: 382298576,
      limitUp: 1364,
      limitDown: 1116,
      floatMarketCap: 90282023753,
    });
  });

  it('reads "-" as no value: no trade, empty levels; a suspended stock has no last price', () => {
    const body = GAC.replace('"f43":12.43', '"f43":"-"').replace('"f47":308763', '"f47":"-"');
    const [s] = parseEastmoney(body, sec).snapshots;
    expect([s!.status, s!.last, s!.volume]).toEqual(['suspended', 0, 0]);
  });

  it('turns no-limit sentinels into null limits', () => {
    const [s] = parseEastmoney(GAC.replace('"f51":13.64', '"f51":-1'), sec).snapshots;
    expect(s!.limitUp).toBeNull();
  });

  it('rejects a price off the tick grid and a record for another code', () => {
    expect(parseEastmoney(GAC.replace('"f43":12.43', '"f43":12.435'), sec).rejected).toEqual([
      { key: '601238.SH', reason: 'bad price or volume' },
    ]);
    expect(parseEastmoney(GAC, parseSymbol('600000.SH')).rejected).toEqual([
      { key: '600000.SH', reason: 'code field does not match the request' },
    ]);
  });
});
