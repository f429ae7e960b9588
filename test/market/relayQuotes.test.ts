/**
 * Quote source `ptrade` (src/market/relayQuotes.ts) behind the relay SealGuard hosts
 * (src/broker/ptradeRelay.ts). The strategy side is the REAL bridges/ptrade/sealguard_relay.py,
 * run by test/market/relay_strategy.py inside the fake PTrade runtime of
 * bridges/ptrade/tests/ptrade_fakes.py, whose get_snapshot follows the PTrade API doc
 * (zhangwei3211/ptrademd docs/original/Ptrade东莞.md, get_snapshot): the doc's own 600570 sample,
 * bid_grp/offer_grp keyed by level, quantities in shares, hsTimeStamp with milliseconds. The web
 * source it fails over to is the loopback Tencent market in Tencent's real wire format.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PtradeRelayBroker } from '../../src/broker/ptradeRelay.ts';
import { ExchangeClock } from '../../src/domain/clock.ts';
import { formatExchangeTime } from '../../src/domain/time.ts';
import type { Snapshot } from '../../src/domain/types.ts';
import { HealthBoard } from '../../src/engine/health.ts';
import { CLOCK_SKEW_KEY, ClockWatch } from '../../src/market/clockWatch.ts';
import { FeedManager, type FeedEvent } from '../../src/market/feedManager.ts';
import { REFUSED_COUNTER, RelayQuoteFeed } from '../../src/market/relayQuotes.ts';
import { TencentFeed } from '../../src/market/tencent.ts';
import { startTencentMarket, type Book } from '../helpers/tencentMarket.ts';
import { hasPython, hundsunSealed, startStrategy, TOKEN } from './relayStrategy.ts';

const START = Date.parse('2026-11-24T10:01:00+08:00');

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** The same stock in the Tencent market, in lots as Tencent counts them. */
function tencentBook(at: number, bid1Shares: number): Book {
  const iso = formatExchangeTime(at);
  return {
    code: '600570',
    exchange: 'sh',
    name: '恒生电子',
    date: iso.slice(0, 10),
    time: iso.slice(11, 19),
    last: '49.72',
    prevClose: '45.20',
    high: '49.72',
    low: '44.31',
    limitUp: '49.72',
    limitDown: '40.68',
    bids: [
      ['49.72', bid1Shares / 100],
      ['49.71', 30],
    ],
    asks: [],
    volumeLots: 61_618,
  };
}

async function relayWith(feed?: RelayQuoteFeed) {
  const relay = new PtradeRelayBroker({ token: TOKEN, clock: { now: () => Date.now() } });
  if (feed) relay.attachQuotes(feed);
  const base = `http://127.0.0.1:${await relay.listen(0)}`;
  cleanup.push(() => relay.close());
  return { relay, base };
}

async function post(base: string, path: string, body: unknown, raw?: string) {
  const res = await fetch(base + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: raw ?? JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function get(base: string, path: string) {
  const res = await fetch(base + path, { headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: res.status, json: (await res.json()) as unknown };
}

/** A quote stream event as the strategy posts it (README's 600570 sample, sealed). */
function event(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    symbol: '600570.SH',
    time: formatExchangeTime(START),
    status: 'normal',
    last: '49.72',
    prev_close: '45.20',
    limit_up: '49.72',
    limit_down: '40.68',
    bids: [
      ['49.72', 1250000],
      ['49.71', 3000],
    ],
    asks: [],
    volume: 6161800,
    amount: '274847503.00',
    seq: 1,
    ...over,
  };
}

describe('the relay commands answer', () => {
  it('is the v1 array while no quote source is attached, and {commands, watch} once ptrade quotes are wanted', async () => {
    const plain = await relayWith();
    expect((await get(plain.base, '/v1/relay/commands?after=')).json).toEqual([]);
    const refused = await post(plain.base, '/v1/relay/quotes', { quotes: [event()] });
    expect(refused.status).toBe(404);
    expect(JSON.stringify(refused.json)).toMatch(/ptrade is not in QUOTE_SOURCES/);

    const feed = new RelayQuoteFeed();
    const { base } = await relayWith(feed);
    // Not started yet (or stopped): an empty watch, so the strategy posts nothing.
    expect((await get(base, '/v1/relay/commands')).json).toEqual({ commands: [], watch: [] });
    feed.start(['600570.SH', '002116.SZ'], () => {});
    expect((await get(base, '/v1/relay/commands')).json).toEqual({
      commands: [],
      watch: ['600570.SH', '002116.SZ'],
    });
    feed.setSymbols(['002116.SZ']);
    expect((await get(base, '/v1/relay/commands')).json).toEqual({ commands: [], watch: ['002116.SZ'] });
    await feed.stop();
    expect((await get(base, '/v1/relay/commands')).json).toEqual({ commands: [], watch: [] });
  });
});

describe('POST /v1/relay/quotes validation', () => {
  it('refuses a post with any malformed event (400, counted, told once), delivers nothing of it, and a good post clears the warning', async () => {
    const health = new HealthBoard(() => Date.now());
    const feed = new RelayQuoteFeed({ health });
    const got: Snapshot[] = [];
    const states: string[] = [];
    feed.start(
      ['600570.SH'],
      (s) => got.push(s),
      (s) => states.push(s),
    );
    const { base } = await relayWith(feed);
    const bad: [unknown, RegExp][] = [
      [
        { quotes: [event(), event({ volume: undefined })] },
        /quotes\[1\]: 600570\.SH: volume must be a whole number/,
      ],
      [{ quotes: [event({ volume: 61618.5 })] }, /volume must be a whole number/],
      [{ quotes: [event({ last: '49.725' })] }, /finer than the 0\.01 tick/],
      [{ quotes: [event({ bids: [['49.72', -5]] })] }, /bad book/],
      [{ quotes: [event({ bids: [['49.72', '1250000']] })] }, /bad book/],
      [{ quotes: [event({ status: 'TRADE' })] }, /unknown status "TRADE"/],
      [{ quotes: [event({ time: '20261124100103000' })] }, /bad time/],
      [{ quotes: [event({ symbol: '600570.SS' })] }, /unknown symbol "600570\.SS"/],
      [{ quotes: [event({ prev_close: null })] }, /prev_close missing/],
      [{ quotes: [event({ limit_up: '40.00' })] }, /limit_up below limit_down/],
      [{ quotes: [event({ seq: 'x' })] }, /seq must be an integer/],
      [{ quotes: 'nope' }, /body must be \{"quotes": \[\.\.\.\]\}/],
      [[event()], /body must be/],
    ];
    for (const [body, why] of bad) {
      const r = await post(base, '/v1/relay/quotes', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      const err = r.json.error as { code: string; message: string };
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.message).toMatch(why);
      expect(err.message).toMatch(/the whole post was refused/);
    }
    const notJson = await post(base, '/v1/relay/quotes', undefined, '{"quotes": [');
    expect(notJson.status).toBe(400);
    expect(got).toEqual([]);
    expect(states).toEqual(['connecting']); // a refused post proves nothing about the strategy
    expect(health.counter(REFUSED_COUNTER)).toBe(bad.length + 1);
    expect(health.get('feed:refused:ptrade')?.text).toMatch(/The PTrade strategy's quotes are refused/);

    const ok = await post(base, '/v1/relay/quotes', { quotes: [event(), event({ symbol: '600000.SH' })] });
    expect(ok).toEqual({ status: 200, json: { accepted: 1, ignored: 1 } }); // 600000 is not watched
    expect(health.has('feed:refused:ptrade')).toBe(false);
    expect(states).toEqual(['connecting', 'open']);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({
      symbol: '600570.SH',
      source: 'ptrade',
      ts: START,
      last: 4972,
      limitUp: 4972,
      limitDown: 4068,
      bids: [
        [4972, 1250000],
        [4971, 3000],
      ],
      asks: [],
      volume: 6161800,
    });
    await feed.stop();
  });

  it('needs the bearer token', async () => {
    const { base } = await relayWith(new RelayQuoteFeed());
    const res = await fetch(`${base}/v1/relay/quotes`, {
      method: 'POST',
      body: JSON.stringify({ quotes: [event()] }),
    });
    expect(res.status).toBe(401);
  });
});

describe.skipIf(!hasPython)('ptrade as a quote source, fed by the real sealguard_relay.py', () => {
  it("the strategy posts the watch list's get_snapshot; silent two cycles -> tencent takes over; posting again -> back to ptrade", async () => {
    const t0 = Date.now();
    const now = () => START + (Date.now() - t0);
    const tencent = await startTencentMarket();
    cleanup.push(() => tencent.close());
    tencent.set(tencentBook(now(), 1_250_000));
    const health = new HealthBoard(() => Date.now());
    const feed = new RelayQuoteFeed({ health, silenceMs: 1200 });
    const { base } = await relayWith(feed);
    const delivered: Snapshot[] = [];
    const events: FeedEvent[] = [];
    const m = new FeedManager({
      clock: { now },
      feeds: [feed, new TencentFeed({ baseUrl: tencent.url })],
      onSnapshots: (snaps) => delivered.push(...snaps),
      intervalMs: 200,
      health,
      unitCheckEveryMs: 60_000,
    });
    m.on('SourceChanged', (e) => events.push(e));
    m.setSymbols(['600570.SH']);
    m.start();
    cleanup.push(() => m.stop());
    await vi.waitFor(() => expect(tencent.requests.length).toBeGreaterThan(0));
    expect(m.activeSource()).toBe('tencent');

    const strategy = startStrategy(base, cleanup);
    await strategy.snapshot('600570.SS', hundsunSealed(now(), 1_250_000));
    // First cycle: the commands answer carries the watch list, then the quotes are posted.
    const first = await strategy.tick();
    expect(first.log).toEqual([]);
    expect(first.snapshot_calls).toEqual([['600570.SS']]);
    await vi.waitFor(() => expect(m.activeSource()).toBe('ptrade'));
    const fromPtrade = delivered.filter((s) => s.source === 'ptrade');
    expect(fromPtrade).toHaveLength(1);
    expect(fromPtrade[0]).toMatchObject({
      symbol: '600570.SH',
      last: 4972,
      prevClose: 4520,
      limitUp: 4972,
      bids: [
        [4972, 1_250_000],
        [4971, 3000],
      ],
      asks: [],
      volume: 6_161_800,
    });
    expect(fromPtrade[0]!.ts).toBe(Math.floor(fromPtrade[0]!.ts / 1000) * 1000); // whole seconds, as posted
    // While ptrade delivers, tencent is not polled (beyond the one unit cross-check, which agrees).
    await new Promise((r) => setTimeout(r, 600));
    const polled = tencent.requests.length;
    await strategy.snapshot('600570.SS', hundsunSealed(now(), 900_000));
    await strategy.tick();
    await vi.waitFor(() => expect(delivered.filter((s) => s.source === 'ptrade')).toHaveLength(2));
    expect(delivered.at(-1)!.bids[0]).toEqual([4972, 900_000]);
    expect(tencent.requests.length - polled).toBeLessThanOrEqual(1);
    expect(health.has('feed:units:ptrade')).toBe(false);

    // The strategy stops posting: within the silence limit plus a watchdog beat, tencent takes over.
    const quietFrom = Date.now();
    await vi.waitFor(() => expect(m.activeSource()).toBe('tencent'), { timeout: 4000, interval: 20 });
    const tookOver = Date.now() - quietFrom;
    expect(tookOver).toBeLessThan(1200 + 400 + 100);
    expect(events.at(-1)).toMatchObject({
      from: 'ptrade',
      to: 'tencent',
      reason: 'stream closed: no quotes from the PTrade strategy for 1.2 s',
    });
    const before = tencent.requests.length;
    await vi.waitFor(() => expect(tencent.requests.length).toBeGreaterThan(before + 1));
    expect(delivered.at(-1)!.source).toBe('tencent');

    // It posts again: back to ptrade.
    await strategy.tick();
    await vi.waitFor(() => expect(m.activeSource()).toBe('ptrade'));
    expect(events.at(-1)).toMatchObject({ from: 'tencent', to: 'ptrade', reason: 'stream open' });
    await m.stop();
  }, 30_000);
});

describe('streamed quote times feed the exchange clock', () => {
  it('a host 60 s behind is measured from the posted quotes alone and the user is told', async () => {
    const host = { offset: -60_000 };
    const exchangeNow = () => Date.now();
    const clock = new ExchangeClock(
      () => Date.now() + host.offset,
      () => performance.now(),
    );
    const health = new HealthBoard(() => Date.now());
    const watch = new ClockWatch(clock, health);
    const feed = new RelayQuoteFeed({ health });
    const { base } = await relayWith(feed);
    const m = new FeedManager({
      clock,
      feeds: [feed], // no polling source: the stream is the only evidence
      onSnapshots: () => {},
      intervalMs: 200,
      health,
      onTime: (e) => watch.observe(e),
    });
    m.setSymbols(['600570.SH']);
    m.start();
    cleanup.push(() => m.stop());
    expect(clock.skewMs()).toBeNull();
    for (let i = 0; i < 4; i++) {
      // Stamped at the exchange's second, as hsTimeStamp is.
      const at = Math.floor(exchangeNow() / 1000) * 1000;
      const r = await post(base, '/v1/relay/quotes', { quotes: [event({ time: formatExchangeTime(at) })] });
      expect(r.status).toBe(200);
      await new Promise((res) => setTimeout(res, 1050));
    }
    const skew = clock.skewMs()!;
    expect(skew).toBeGreaterThan(57_000);
    expect(skew).toBeLessThan(61_000);
    expect(Math.abs(clock.now() - exchangeNow())).toBeLessThan(3000);
    expect(health.get(CLOCK_SKEW_KEY)?.text).toMatch(/^host clock (59|60) s behind the exchange/);
  }, 15_000);
});
