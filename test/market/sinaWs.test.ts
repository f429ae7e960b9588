import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { exchangeTs } from '../../src/domain/time.ts';
import type { Snapshot } from '../../src/domain/types.ts';
import type { StreamState } from '../../src/market/feed.ts';
import { SinaWsFeed, parseSinaWsLine } from '../../src/market/sinaWs.ts';

// Verbatim push frame from alwqx/sec provider/sina/quote_test.go (reference/quotes.md §2.5).
const FRAME = [
  'sh600036=招商银行,36.350,35.630,37.610,38.000,35.920,37.610,37.620,256101260,9443438268.000,690801,37.610,286600,37.600,17000,37.590,55400,37.580,12200,37.570,161925,37.620,90600,37.630,50400,37.640,104100,37.650,126000,37.660,2024-09-30,15:00:00,00,',
  'sh688047=龙芯中科,106.000,99.680,119.620,119.620,104.500,119.620,0.000,8256723,938310086.000,25600,119.620,7255,119.610,3033,119.600,1767,119.570,6300,119.550,0,0.000,0,0.000,0,0.000,0,0.000,0,0.000,2024-09-30,15:00:01,00,',
  'sys_nxkey=SH688047,SZ002475',
].join('\n');

interface Server {
  wss: WebSocketServer;
  url: string;
  requests: IncomingMessage[];
  sockets: WebSocket[];
  nextSocket(): Promise<WebSocket>;
}

const servers: WebSocketServer[] = [];
const feeds: SinaWsFeed[] = [];

async function startServer(options: { autoPong?: boolean } = {}): Promise<Server> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, autoPong: options.autoPong ?? true });
  servers.push(wss);
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const requests: IncomingMessage[] = [];
  const sockets: WebSocket[] = [];
  let waiting: ((ws: WebSocket) => void)[] = [];
  wss.on('connection', (ws, req) => {
    requests.push(req);
    sockets.push(ws);
    const w = waiting;
    waiting = [];
    for (const f of w) f(ws);
  });
  const { port } = wss.address() as AddressInfo;
  return {
    wss,
    url: `ws://127.0.0.1:${port}/wskt`,
    requests,
    sockets,
    nextSocket: () => new Promise((r) => waiting.push(r)),
  };
}

function collect(feed: SinaWsFeed, symbols: string[]) {
  const snaps: Snapshot[] = [];
  const states: StreamState[] = [];
  const waiters: Array<{ pred: () => boolean; resolve: () => void }> = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (!w.pred()) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  feed.start(
    symbols,
    (s) => {
      snaps.push(s);
      check();
    },
    (s) => {
      states.push(s);
      check();
    },
  );
  const until = (pred: () => boolean) =>
    new Promise<void>((resolve) => {
      waiters.push({ pred, resolve });
      check();
    });
  return { snaps, states, until };
}

function newFeed(
  url: string,
  extra: ConstructorParameters<typeof SinaWsFeed>[0] = {},
): { feed: SinaWsFeed; warnings: string[] } {
  const warnings: string[] = [];
  const feed = new SinaWsFeed({
    url,
    reconnectInitialMs: 20,
    reconnectMaxMs: 80,
    random: () => 0.5,
    onWarning: (m) => warnings.push(m),
    ...extra,
  });
  feeds.push(feed);
  return { feed, warnings };
}

afterEach(async () => {
  await Promise.all(feeds.splice(0).map((f) => f.stop()));
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

describe('parseSinaWsLine', () => {
  it('reads a push record through the Sina parser: STAR limit-up with an empty ask side', () => {
    const s = parseSinaWsLine(FRAME.split('\n')[1]!)!;
    expect(s).toMatchObject({
      symbol: '688047.SH',
      name: '龙芯中科',
      source: 'sina-ws',
      ts: exchangeTs('2024-09-30', '15:00:01'),
      last: 11962,
      prevClose: 9968,
      volume: 8256723,
      amount: 938310086,
      asks: [],
    });
    expect(s.bids[0]).toEqual([11962, 25600]);
  });

  it('refuses a line that is not a record', () => {
    expect(() => parseSinaWsLine('sh600036=招商银行,abc')).toThrow();
    expect(() => parseSinaWsLine('no equals sign')).toThrow('not a quote record');
  });
});

describe('SinaWsFeed', () => {
  it('subscribes in the URL with the Sina Origin and emits each record of a frame as a sina-ws snapshot', async () => {
    const srv = await startServer();
    const { feed } = newFeed(srv.url);
    const conn = srv.nextSocket();
    const got = collect(feed, ['600036.SH', '688047.SH']);
    (await conn).send(FRAME);
    await got.until(() => got.snaps.length === 2);

    expect(srv.requests[0]!.url).toBe('/wskt?list=sh600036,sh688047');
    expect(srv.requests[0]!.headers.origin).toBe('https://finance.sina.com.cn');
    expect(got.snaps.map((s) => [s.symbol, s.source, s.last])).toEqual([
      ['600036.SH', 'sina-ws', 3761],
      ['688047.SH', 'sina-ws', 11962],
    ]);
    expect(got.states).toEqual(['connecting', 'open']);
  });

  it('skips garbage lines and binary frames with a warning and keeps delivering', async () => {
    const srv = await startServer();
    const { feed, warnings } = newFeed(srv.url);
    const conn = srv.nextSocket();
    const got = collect(feed, ['600036.SH']);
    const ws = await conn;
    ws.send('hello world');
    ws.send(Buffer.from([0, 1, 2, 3]), { binary: true });
    ws.send('sh600036=招商银行,36.350,oops');
    ws.send('\r\n\n');
    ws.send(FRAME.split('\n')[0]!);
    await got.until(() => got.snaps.length === 1);

    expect(got.snaps[0]!.symbol).toBe('600036.SH');
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toContain('not a quote record: hello world');
    expect(warnings[1]).toContain('binary frame');
    expect(warnings[2]).toContain('malformed record');
    expect(got.states).toEqual(['connecting', 'open']);
  });

  it('reconnects after the server drops it and resumes delivering', async () => {
    const srv = await startServer();
    const { feed } = newFeed(srv.url);
    let conn = srv.nextSocket();
    const got = collect(feed, ['600036.SH']);
    (await conn).send(FRAME);
    await got.until(() => got.snaps.length === 1);

    conn = srv.nextSocket();
    srv.sockets[0]!.terminate();
    (await conn).send(FRAME);
    await got.until(() => got.snaps.length === 2);

    expect(got.states).toEqual(['connecting', 'open', 'closed', 'connecting', 'open']);
    expect(srv.requests).toHaveLength(2);
    expect(srv.requests[1]!.url).toBe('/wskt?list=sh600036');
  });

  it('pings to keep alive, and treats a connection that stops answering as dead', async () => {
    const srv = await startServer({ autoPong: false });
    const { feed, warnings } = newFeed(srv.url, { pingIntervalMs: 20, silenceTimeoutMs: 70 });
    const first = srv.nextSocket();
    const got = collect(feed, ['600036.SH']);
    const ws = await first;
    let pings = 0;
    ws.on('ping', () => pings++);
    const second = srv.nextSocket();
    await second;

    expect(pings).toBeGreaterThanOrEqual(2);
    expect(warnings[0]).toBe('sina-ws: nothing heard for 70 ms, reconnecting');
    expect(got.states.slice(0, 4)).toEqual(['connecting', 'open', 'closed', 'connecting']);
  });

  it('backs off with capped exponential delays while the server is unreachable', async () => {
    const srv = await startServer();
    const url = srv.url;
    await new Promise((r) => srv.wss.close(r));
    servers.length = 0;
    const { feed } = newFeed(url, { reconnectInitialMs: 10, reconnectMaxMs: 40 });
    const got = collect(feed, ['600036.SH']);
    const t0 = Date.now();
    await got.until(() => got.states.filter((s) => s === 'connecting').length === 5);
    // random() = 0.5 gives 3/4 of the cap: 7.5, 15, 30, 30 ms -> at least ~80 ms for four waits.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(75);
    expect(got.states.slice(0, 4)).toEqual(['connecting', 'closed', 'connecting', 'closed']);
    await feed.stop();
    expect(got.states.at(-1)).toBe('closed');
  });

  it('resubscribes on setSymbols with a fresh connection carrying the new list', async () => {
    const srv = await startServer();
    const { feed } = newFeed(srv.url);
    let conn = srv.nextSocket();
    const got = collect(feed, ['600036.SH']);
    const old = await conn;
    await got.until(() => got.states.includes('open'));
    const oldClosed = new Promise((r) => old.once('close', r));
    conn = srv.nextSocket();
    feed.setSymbols(['600036.SH', '688047.SH']);
    (await conn).send(FRAME);
    await got.until(() => got.snaps.length === 2);
    await oldClosed;

    expect(srv.requests.map((r) => r.url)).toEqual(['/wskt?list=sh600036', '/wskt?list=sh600036,sh688047']);
    feed.setSymbols(['688047.SH', '600036.SH']); // same set: no reconnect
    expect(got.states).toEqual(['connecting', 'open', 'connecting', 'open']);
  });

  it('rejects a symbol that is not canonical, naming it', () => {
    const { feed } = newFeed('ws://127.0.0.1:1/wskt');
    expect(() => feed.start(['sh600036'], () => undefined)).toThrow('"sh600036" is not a canonical symbol');
  });

  it('stop() closes the socket and leaves no timers or sockets behind', async () => {
    const before = process.getActiveResourcesInfo();
    const count = (list: string[], kind: string) => list.filter((k) => k === kind).length;
    const srv = await startServer();
    const { feed } = newFeed(srv.url, { pingIntervalMs: 10 });
    const conn = srv.nextSocket();
    const got = collect(feed, ['600036.SH']);
    const ws = await conn;
    const closed = new Promise((r) => ws.once('close', r));
    await got.until(() => got.states.includes('open'));
    await feed.stop();
    await closed;
    await new Promise((r) => srv.wss.close(r));
    servers.length = 0;
    await new Promise((r) => setTimeout(r, 30));

    const after = process.getActiveResourcesInfo();
    expect(got.states.at(-1)).toBe('closed');
    expect(count(after, 'TCPSocketWrap')).toBeLessThanOrEqual(count(before, 'TCPSocketWrap'));
    expect(count(after, 'TCPServerWrap')).toBeLessThanOrEqual(count(before, 'TCPServerWrap'));
    expect(count(after, 'Timeout')).toBeLessThanOrEqual(count(before, 'Timeout'));
  });
});
