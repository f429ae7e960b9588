/**
 * The `qmt` quote source against a loopback server speaking ../shared/BRIDGE-PROTOCOL.md
 * "Quote stream (v1.1)": `GET /v1/quotes/stream?symbols=...` with the bearer token, 200
 * text/event-stream, one `data:` JSON event per symbol on connect then per change, a
 * `: keepalive` comment every few seconds, 503 {"error":{"code":"BRIDGE_NOT_READY",...}} while
 * the terminal's quote service is down. Event field names and units as that section gives them.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Snapshot } from '../../src/domain/types.ts';
import { BridgeQuoteStream, bridgeQuoteToSnapshot } from '../../src/market/bridgeQuotes.ts';
import type { StreamState } from '../../src/market/feed.ts';

const TOKEN = 'bridge-token-xyz';
/** The protocol document's own example event. */
const EVENT = {
  symbol: '002116.SZ',
  time: '2026-11-24T10:01:03+08:00',
  status: 'normal',
  last: '10.02',
  prev_close: '9.11',
  limit_up: '10.02',
  limit_down: '8.20',
  bids: [
    ['10.02', 2804650],
    ['10.01', 1200],
  ],
  asks: [],
  volume: 15320000,
  seq: 812,
};

interface FakeStreamBridge {
  url: string;
  requests: { url: string; auth: string | undefined }[];
  ready: boolean;
  /** Open event streams; a test writes to them. */
  streams: http.ServerResponse[];
  keepalive: boolean;
  close(): Promise<void>;
}

async function fakeBridge(): Promise<FakeStreamBridge> {
  const timers: NodeJS.Timeout[] = [];
  const state: FakeStreamBridge = {
    url: '',
    requests: [],
    ready: true,
    streams: [],
    keepalive: true,
    close: async () => undefined,
  };
  const server = http.createServer((req, res) => {
    state.requests.push({ url: req.url ?? '', auth: req.headers.authorization });
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res.writeHead(401, { 'content-type': 'application/json' });
      return res.end(
        JSON.stringify({ error: { code: 'UNAUTHORIZED', message: 'bad token', retryable: false } }),
      );
    }
    if (!state.ready) {
      res.writeHead(503, { 'content-type': 'application/json' });
      return res.end(
        JSON.stringify({
          error: { code: 'BRIDGE_NOT_READY', message: 'xtdata disconnected', retryable: true },
        }),
      );
    }
    const symbols = new URL(req.url ?? '', 'http://x').searchParams.get('symbols')?.split(',') ?? [];
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    let seq = 0;
    for (const s of symbols) res.write(`data: ${JSON.stringify({ ...EVENT, symbol: s, seq: ++seq })}\n\n`);
    state.streams.push(res);
    const t = setInterval(() => {
      if (state.keepalive && !res.destroyed) res.write(': keepalive\n\n');
    }, 100);
    timers.push(t);
    res.on('close', () => clearInterval(t));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((r) => {
      for (const t of timers) clearInterval(t);
      server.closeAllConnections();
      server.close(() => r());
    });
  return state;
}

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function collect() {
  const snaps: Snapshot[] = [];
  const states: [StreamState, string | undefined][] = [];
  return {
    snaps,
    states,
    onSnapshot: (s: Snapshot) => snaps.push(s),
    onState: (s: StreamState, d?: string) => states.push([s, d]),
  };
}

describe('bridgeQuoteToSnapshot', () => {
  it("maps the protocol's example event: prices to ticks, volumes already in shares, the tick's own time", () => {
    const s = bridgeQuoteToSnapshot(EVENT, 'qmt');
    expect(s).toMatchObject({
      symbol: '002116.SZ',
      source: 'qmt',
      ts: Date.parse('2026-11-24T10:01:03+08:00'),
      status: 'normal',
      decimals: 2,
      last: 1002,
      prevClose: 911,
      limitUp: 1002,
      limitDown: 820,
      bids: [
        [1002, 2804650],
        [1001, 1200],
      ],
      asks: [],
      volume: 15320000,
    });
  });

  it('refuses what the protocol does not allow instead of guessing', () => {
    expect(bridgeQuoteToSnapshot({ ...EVENT, status: 'halted' }, 'qmt')).toMatch(/unknown status "halted"/);
    expect(bridgeQuoteToSnapshot({ ...EVENT, time: '10:01:03' }, 'qmt')).toMatch(/bad time/);
    expect(bridgeQuoteToSnapshot({ ...EVENT, bids: [['10.02', 1.5]] }, 'qmt')).toMatch(/bad book/);
    expect(bridgeQuoteToSnapshot({ ...EVENT, symbol: '12345' }, 'qmt')).toMatch(/unknown symbol/);
    expect(bridgeQuoteToSnapshot({ ...EVENT, limit_up: null, limit_down: null }, 'qmt')).toMatchObject({
      limitUp: null,
      limitDown: null,
    });
  });
});

describe('BridgeQuoteStream (QUOTE_SOURCES=qmt)', () => {
  it('opens the stream with the bearer token and the symbols, and delivers each event as it comes', async () => {
    const b = await fakeBridge();
    cleanup.push(() => b.close());
    const c = collect();
    const q = new BridgeQuoteStream({ url: b.url + '/', token: TOKEN });
    cleanup.push(() => q.stop());
    q.start(['002116.SZ', '600519.SH'], c.onSnapshot, c.onState);
    await vi.waitFor(() => expect(c.snaps).toHaveLength(2));
    expect(b.requests[0]).toEqual({
      url: '/v1/quotes/stream?symbols=002116.SZ%2C600519.SH',
      auth: `Bearer ${TOKEN}`,
    });
    expect(c.states.map((s) => s[0])).toEqual(['connecting', 'open']);
    // A change pushed later, split across writes, arrives whole.
    const line = `data: ${JSON.stringify({ ...EVENT, last: '10.01', seq: 3 })}\n\n`;
    b.streams[0]!.write(line.slice(0, 20));
    b.streams[0]!.write(line.slice(20));
    await vi.waitFor(() => expect(c.snaps).toHaveLength(3));
    expect(c.snaps[2]!.last).toBe(1001);
  });

  it('503 BRIDGE_NOT_READY: closed with the reason, then reconnects once the terminal is back', async () => {
    const b = await fakeBridge();
    cleanup.push(() => b.close());
    b.ready = false;
    const c = collect();
    const q = new BridgeQuoteStream({ url: b.url, token: TOKEN, retryMs: 50 });
    cleanup.push(() => q.stop());
    q.start(['002116.SZ'], c.onSnapshot, c.onState);
    await vi.waitFor(() => expect(c.states).toContainEqual(['closed', 'HTTP 503 BRIDGE_NOT_READY']));
    b.ready = true;
    await vi.waitFor(() => expect(c.snaps).toHaveLength(1), { timeout: 3000 });
    expect(c.states.at(-1)).toEqual(['open', undefined]);
  });

  it('a bridge that goes silent (no event, no keepalive) is dropped and reconnected', async () => {
    const b = await fakeBridge();
    cleanup.push(() => b.close());
    const c = collect();
    const q = new BridgeQuoteStream({ url: b.url, token: TOKEN, silenceMs: 400, retryMs: 50 });
    cleanup.push(() => q.stop());
    q.start(['002116.SZ'], c.onSnapshot, c.onState);
    await vi.waitFor(() => expect(c.snaps).toHaveLength(1));
    // Keepalives alone keep it open past the silence limit.
    await new Promise((r) => setTimeout(r, 700));
    expect(c.states.filter((s) => s[0] === 'closed')).toEqual([]);
    b.keepalive = false;
    await vi.waitFor(
      () => expect(c.states).toContainEqual(['closed', 'nothing for 400 ms, not even a keepalive']),
      { timeout: 3000 },
    );
    await vi.waitFor(() => expect(b.requests.length).toBeGreaterThanOrEqual(2), { timeout: 3000 });
  });

  it('a new watch list is a new stream with the new symbols', async () => {
    const b = await fakeBridge();
    cleanup.push(() => b.close());
    const c = collect();
    const q = new BridgeQuoteStream({ url: b.url, token: TOKEN });
    cleanup.push(() => q.stop());
    q.start(['002116.SZ'], c.onSnapshot, c.onState);
    await vi.waitFor(() => expect(c.snaps).toHaveLength(1));
    q.setSymbols(['002116.SZ', '600519.SH']);
    await vi.waitFor(() => expect(c.snaps).toHaveLength(3));
    expect(b.requests.map((r) => r.url)).toEqual([
      '/v1/quotes/stream?symbols=002116.SZ',
      '/v1/quotes/stream?symbols=002116.SZ%2C600519.SH',
    ]);
  });
});
