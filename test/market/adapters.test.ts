import { afterEach, describe, expect, it } from 'vitest';
import { EastmoneyFeed } from '../../src/market/eastmoney.ts';
import { SinaFeed } from '../../src/market/sina.ts';
import { TencentFeed } from '../../src/market/tencent.ts';
import { fixtureBytes } from '../helpers/fixtures.ts';
import type { QuoteServer } from './quoteServer.ts';
import { gbkRecordsFor, startQuoteServer } from './quoteServer.ts';

const splitLines = (b: Buffer) => {
  const out: Buffer[] = [];
  let from = 0;
  for (let i = b.indexOf(10); i >= 0; from = i + 1, i = b.indexOf(10, from)) out.push(b.subarray(from, i));
  return out.filter((l) => l.length > 0);
};
const TENCENT = splitLines(fixtureBytes('tencent_20221122_gbk.txt'));
const SINA = splitLines(fixtureBytes('sina_20221122_gbk.txt'));
const fast = { retries: 2, backoffMs: 5, timeoutMs: 300 };

let server: QuoteServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('Tencent adapter against a local server', () => {
  it('asks {base}/q=<codes> and answers with snapshots decoded from GBK', async () => {
    server = await startQuoteServer((req, res) =>
      res.end(gbkRecordsFor(req.url!, TENCENT, (c) => `v_${c}=`)),
    );
    const feed = new TencentFeed({ ...fast, baseUrl: server.url + '/' });
    const res = await feed.fetch(['002116.SZ', '002150.SZ']);
    expect(server.requests.map((r) => r.url)).toEqual(['/q=sz002116,sz002150']);
    expect(res.snapshots.map((s) => [s.symbol, s.name, s.status, s.bids[0]?.[1] ?? 0])).toEqual([
      ['002116.SZ', '中国海诚', 'normal', 28046500],
      ['002150.SZ', '通润装备', 'suspended', 0],
    ]);
    expect(res.missing).toEqual([]);
  });

  it('never sends an invalid code, and reports it and unanswered codes as missing', async () => {
    server = await startQuoteServer((req, res) =>
      res.end(gbkRecordsFor(req.url!, TENCENT, (c) => `v_${c}=`)),
    );
    const feed = new TencentFeed({ ...fast, baseUrl: server.url });
    const res = await feed.fetch(['002116.SZ', 'sz002116; DROP', '600519.SH', '999999.SZ']);
    expect(server.requests.map((r) => r.url)).toEqual(['/q=sz002116,sh600519']);
    expect(res.snapshots.map((s) => s.symbol)).toEqual(['002116.SZ']);
    expect(res.missing).toEqual(['sz002116; DROP', '999999.SZ', '600519.SH']);
  });

  it('treats v_pv_none_match as every code missing, not as a failure', async () => {
    server = await startQuoteServer((_req, res) => res.end('v_pv_none_match="1";\n'));
    const res = await new TencentFeed({ ...fast, baseUrl: server.url }).fetch(['600519.SH']);
    expect(res).toMatchObject({ snapshots: [], missing: ['600519.SH'] });
  });

  it('retries an empty body (Tencent throttling) and succeeds on the third attempt', async () => {
    server = await startQuoteServer((req, res, n) =>
      res.end(n < 3 ? '' : gbkRecordsFor(req.url!, TENCENT, (c) => `v_${c}=`)),
    );
    const res = await new TencentFeed({ ...fast, baseUrl: server.url }).fetch(['002116.SZ']);
    expect(server.requests.length).toBe(3);
    expect(res.snapshots.length).toBe(1);
  });

  it('gives up after the bounded retries on 5xx, with a message naming the source and status', async () => {
    server = await startQuoteServer((_req, res) => {
      res.statusCode = 502;
      res.end('bad gateway');
    });
    await expect(new TencentFeed({ ...fast, baseUrl: server.url }).fetch(['002116.SZ'])).rejects.toThrow(
      `tencent: ${server.url} answered HTTP 502`,
    );
    expect(server.requests.length).toBe(3);
  });

  it('times out a silent server', async () => {
    server = await startQuoteServer(() => undefined);
    const feed = new TencentFeed({ retries: 0, timeoutMs: 100, baseUrl: server.url });
    await expect(feed.fetch(['002116.SZ'])).rejects.toThrow(
      `tencent: no answer from ${server.url} within 100 ms`,
    );
  });

  it('rejects a garbage body instead of returning nothing', async () => {
    server = await startQuoteServer((_req, res) => res.end('<html><body>502 upstream</body></html>'));
    await expect(new TencentFeed({ ...fast, baseUrl: server.url }).fetch(['002116.SZ'])).rejects.toThrow(
      'tencent: unexpected answer "<html><body>502 upstream</body></html>"',
    );
  });

  it('keeps the good records of a body that also holds a garbage one', async () => {
    server = await startQuoteServer((_req, res) =>
      res.end(Buffer.concat([TENCENT[2]!, Buffer.from('\nv_sz002150="51~x~002150~garbage";\n')])),
    );
    const res = await new TencentFeed({ ...fast, baseUrl: server.url }).fetch(['002116.SZ', '002150.SZ']);
    expect(res.snapshots.map((s) => s.symbol)).toEqual(['002116.SZ']);
    expect(res.missing).toEqual(['002150.SZ']);
  });

  it('refuses more codes than one request may carry', async () => {
    const feed = new TencentFeed({ maxBatch: 2, baseUrl: 'http://127.0.0.1:9' });
    await expect(feed.fetch(['600000.SH', '600004.SH', '600006.SH'])).rejects.toThrow(
      'tencent: 3 symbols in one request, at most 2',
    );
  });
});

describe('Sina adapter against a local server', () => {
  it('sends the Referer, asks {base}/list=<codes>, and reports empty records as missing', async () => {
    server = await startQuoteServer((req, res) => {
      if (req.headers.referer !== 'https://finance.sina.com.cn') {
        res.statusCode = 403;
        return res.end('Forbidden');
      }
      res.end(gbkRecordsFor(req.url!, SINA, (c) => `hq_str_${c}=`));
    });
    const res = await new SinaFeed({ ...fast, baseUrl: server.url }).fetch([
      '002116.SZ',
      '002257.SZ',
      '002846.SZ',
    ]);
    expect(server.requests[0]!.url).toBe('/list=sz002116,sz002257,sz002846');
    expect(res.snapshots.map((s) => [s.symbol, s.name, s.bids[0]])).toEqual([
      ['002116.SZ', '中国海诚', [1002, 28046509]],
      ['002846.SZ', '英联股份', [1077, 12913836]],
    ]);
    expect(res.missing).toEqual(['002257.SZ']);
  });

  it('explains a 403 Forbidden and does not retry it', async () => {
    server = await startQuoteServer((_req, res) => {
      res.statusCode = 403;
      res.end('Forbidden');
    });
    await expect(new SinaFeed({ ...fast, baseUrl: server.url }).fetch(['002116.SZ'])).rejects.toThrow(
      `sina: ${server.url} answered HTTP 403: "Forbidden"`,
    );
    expect(server.requests.length).toBe(1);
  });

  it('rejects a 200 "Forbidden" body', async () => {
    server = await startQuoteServer((_req, res) => res.end('Forbidden'));
    await expect(new SinaFeed({ ...fast, baseUrl: server.url }).fetch(['002116.SZ'])).rejects.toThrow(
      'sina: unexpected answer "Forbidden"',
    );
  });
});

describe('EastMoney adapter against a local server', () => {
  const body = {
    rc: 0,
    data: {
      f43: 12.43,
      f44: 12.56,
      f45: 12.21,
      f46: 12.28,
      f47: 308763,
      f48: 382298576.0,
      f51: 13.64,
      f52: 11.16,
      f57: '601238',
      f58: '广汽集团',
      f60: 12.4,
      f86: 1676620778,
      f117: 90282023753.45999,
      f19: 12.42,
      f20: 120,
      f17: 12.41,
      f18: 35,
      f15: '-',
      f16: '-',
      f13: 12.39,
      f14: 7,
      f11: 12.38,
      f12: 1,
      f39: 12.43,
      f40: 88,
      f37: 12.44,
      f38: 10,
      f35: '-',
      f36: '-',
      f33: '-',
      f34: '-',
      f31: '-',
      f32: '-',
    },
  };

  it('asks stock/get for one secid with fltt=2 and reads lots as shares', async () => {
    server = await startQuoteServer((_req, res) => res.end(JSON.stringify(body)));
    const res = await new EastmoneyFeed({ ...fast, baseUrl: server.url }).fetch(['601238.SH']);
    expect(server.requests[0]!.url).toMatch(
      /^\/api\/qt\/stock\/get\?secid=1\.601238&fltt=2&invt=2&fields=f43,/,
    );
    const s = res.snapshots[0]!;
    expect([
      s.name,
      s.last,
      s.prevClose,
      s.limitUp,
      s.limitDown,
      s.volume,
      s.amount,
      s.floatMarketCap,
    ]).toEqual(['广汽集团', 1243, 1240, 1364, 1116, 30876300, 382298576, 90282023753]);
    expect(s.bids).toEqual([
      [1242, 12000],
      [1241, 3500],
      [1239, 700],
      [1238, 100],
    ]);
    expect(s.asks).toEqual([
      [1243, 8800],
      [1244, 1000],
    ]);
    expect(s.ts).toBe(1676620778000);
  });

  it('reports data:null (unknown secid) as missing', async () => {
    server = await startQuoteServer((_req, res) => res.end('{"rc":0,"data":null}'));
    const res = await new EastmoneyFeed({ ...fast, baseUrl: server.url }).fetch(['000001.SZ']);
    expect(server.requests[0]!.url).toMatch(/secid=0\.000001&/);
    expect(res).toMatchObject({ snapshots: [], missing: ['000001.SZ'] });
  });

  it('rejects a body that is not JSON', async () => {
    server = await startQuoteServer((_req, res) => res.end('Kinsoku jikou desu!'));
    await expect(new EastmoneyFeed({ ...fast, baseUrl: server.url }).fetch(['000001.SZ'])).rejects.toThrow(
      'eastmoney: EastMoney answered something that is not JSON: "Kinsoku jikou desu!"',
    );
  });
});
