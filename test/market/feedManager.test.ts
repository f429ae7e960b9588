import iconv from 'iconv-lite';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TimeEvidence } from '../../src/domain/clock.ts';
import type { Snapshot } from '../../src/domain/types.ts';
import type { StreamState, StreamingFeed } from '../../src/market/feed.ts';
import type { FeedEvent } from '../../src/market/feedManager.ts';
import { FeedManager } from '../../src/market/feedManager.ts';
import { SinaFeed } from '../../src/market/sina.ts';
import { TencentFeed } from '../../src/market/tencent.ts';
import { fixtureText } from '../helpers/fixtures.ts';
import type { QuoteServer } from './quoteServer.ts';
import { startQuoteServer } from './quoteServer.ts';

/** A market clock the test moves by hand. Tuesday 2026-11-24 10:00:00 +08:00 is continuous trading. */
class TestClock {
  constructor(public t = Date.parse('2026-11-24T10:00:00+08:00')) {}
  now(): number {
    return this.t;
  }
}

const stamp = (ms: number) => new Date(ms + 8 * 3_600_000).toISOString().replace(/\D/g, '').slice(0, 14);
const TENCENT_LINES = fixtureText('tencent_20221122_utf8.txt').trim().split('\n');
const SINA_LINES = fixtureText('sina_20221122_utf8.txt').trim().split('\n');

/** Tencent records for the requested codes, re-stamped with the test clock's time. */
function tencentBody(url: string, clock: TestClock, edit: (line: string) => string = (l) => l): Buffer {
  const codes = url.slice(url.indexOf('=') + 1).split(',');
  const lines = TENCENT_LINES.filter((l) => codes.some((c) => l.startsWith(`v_${c}=`)))
    .map((l) => l.replace(/~\d{14}~/, `~${stamp(clock.t)}~`))
    .map(edit);
  return iconv.encode(lines.length ? lines.join('\n') + '\n' : 'v_pv_none_match="1";\n', 'gbk');
}

const servers: QuoteServer[] = [];
const managers: FeedManager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.stop()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(handler: Parameters<typeof startQuoteServer>[0]): Promise<QuoteServer> {
  const s = await startQuoteServer(handler);
  servers.push(s);
  return s;
}

function manager(opts: ConstructorParameters<typeof FeedManager>[0]): {
  m: FeedManager;
  events: FeedEvent[];
} {
  const m = new FeedManager(opts);
  managers.push(m);
  const events: FeedEvent[] = [];
  for (const t of ['FeedStale', 'SourceChanged'] as const) m.on(t, (e) => events.push(e));
  return { m, events };
}

function codes(prefix: string, from: number, n: number, ex: string): string[] {
  return Array.from(
    { length: n },
    (_, i) => `${prefix}${String(from + i).padStart(6 - prefix.length, '0')}.${ex}`,
  );
}

describe('FeedManager', () => {
  it('polls 5,000 symbols in 10 Tencent requests of at most 500 codes, each symbol once', async () => {
    const clock = new TestClock();
    const srv = await server((req, res) => res.end(tencentBody(req.url!, clock)));
    const symbols = [
      ...codes('600', 0, 1000, 'SH'),
      ...codes('601', 0, 1000, 'SH'),
      ...codes('603', 0, 1000, 'SH'),
      ...codes('000', 1, 999, 'SZ'),
      '300001.SZ',
      ...codes('002', 0, 1000, 'SZ'),
    ];
    const got: Snapshot[] = [];
    const { m } = manager({
      clock,
      feeds: [new TencentFeed({ baseUrl: srv.url })],
      onSnapshots: (s) => got.push(...s),
    });
    m.setSymbols(symbols);
    await m.cycle();
    expect(srv.requests.length).toBe(10);
    const asked = srv.requests.flatMap((r) => r.url.slice(3).split(','));
    expect(asked.length).toBe(5000);
    expect(new Set(asked).size).toBe(5000);
    expect(Math.max(...srv.requests.map((r) => r.url.slice(3).split(',').length))).toBe(500);
    // The fixture's SZ 0021xx-0028xx rows are the only ones the server knows.
    expect(got.map((s) => s.symbol).sort()).toEqual([
      '002070.SZ',
      '002072.SZ',
      '002116.SZ',
      '002150.SZ',
      '002348.SZ',
      '002710.SZ',
      '002812.SZ',
      '002846.SZ',
    ]);
  });

  it('asks the next source for failed batches in the same cycle, fails over after N cycles, and returns when the primary answers', async () => {
    const clock = new TestClock();
    let primaryUp = false;
    const tencent = await server((req, res) => {
      if (!primaryUp) {
        res.statusCode = 502;
        return res.end();
      }
      res.end(tencentBody(req.url!, clock));
    });
    const sina = await server((_req, res) => res.end(iconv.encode(SINA_LINES.join('\n'), 'gbk')));
    const delivered: string[] = [];
    const { m, events } = manager({
      clock,
      feeds: [
        new TencentFeed({ baseUrl: tencent.url, retries: 0 }),
        new SinaFeed({ baseUrl: sina.url, retries: 0 }),
      ],
      onSnapshots: (snaps) => delivered.push(...snaps.map((s) => `${s.source}:${s.symbol}`)),
      failoverAfter: 2,
      probeEveryMs: 30_000,
      staleAfterMs: 3_600_000,
    });
    m.setSymbols(['002116.SZ']);

    await m.cycle();
    expect(delivered).toEqual(['sina:002116.SZ']); // same cycle, from the fallback
    expect(events).toEqual([]);
    expect(m.activeSource()).toBe('tencent');

    await m.cycle();
    expect(m.activeSource()).toBe('sina');
    expect(events).toEqual([
      {
        type: 'SourceChanged',
        at: clock.t,
        from: 'tencent',
        to: 'sina',
        reason: `tencent failed 2 cycles in a row: tencent: ${tencent.url} answered HTTP 502`,
      },
    ]);
    const health = m.health();
    expect(health.map((h) => [h.name, h.active, h.consecutiveFailures])).toEqual([
      ['tencent', false, 2],
      ['sina', true, 0],
    ]);
    expect(health[0]!.lastError).toBe(`tencent: ${tencent.url} answered HTTP 502`);

    // No probe before probeEveryMs has passed on the market clock.
    const before = tencent.requests.length;
    clock.t += 10_000;
    await m.cycle();
    expect(tencent.requests.length).toBe(before);

    primaryUp = true;
    clock.t += 30_000;
    await m.cycle();
    await vi.waitFor(() => expect(m.activeSource()).toBe('tencent'));
    expect(events[1]).toEqual({
      type: 'SourceChanged',
      at: clock.t,
      from: 'sina',
      to: 'tencent',
      reason: 'tencent answered again',
    });
    delivered.length = 0;
    await m.cycle();
    expect(delivered).toEqual(['tencent:002116.SZ']);
  });

  it('flags a watched symbol with no fresh snapshot for 10 s of continuous trading, once, by the market clock', async () => {
    const clock = new TestClock();
    let answer150 = true;
    const srv = await server((req, res) =>
      res.end(tencentBody(answer150 ? req.url! : req.url!.replace(',sz002150', ''), clock)),
    );
    const { m, events } = manager({
      clock,
      feeds: [new TencentFeed({ baseUrl: srv.url })],
      onSnapshots: () => {},
    });
    m.setSymbols(['002116.SZ', '002150.SZ']);
    await m.cycle();
    answer150 = false;
    for (let i = 0; i < 10; i++) {
      clock.t += 1000;
      await m.cycle();
    }
    expect(events).toEqual([]); // exactly 10 s: not yet
    const lastSeen = clock.t - 10_000;
    clock.t += 1000;
    await m.cycle();
    clock.t += 1000;
    await m.cycle();
    expect(events).toEqual([
      { type: 'FeedStale', at: clock.t - 1000, symbols: ['002150.SZ'], since: lastSeen, source: 'tencent' },
    ]);

    // Fresh again, then stale again: a new alarm.
    answer150 = true;
    await m.cycle();
    answer150 = false;
    clock.t += 11_000;
    await m.cycle();
    expect(events.length).toBe(2);
  });

  it('a batch answered in another order each poll still marks each stock fresh by its own quote: the one gone quiet is flagged, alone', async () => {
    const clock = new TestClock();
    const keys = TENCENT_LINES.map((l) => l.slice(2, l.indexOf('=')));
    const quiet = 'sz002150';
    let poll = 0;
    const srv = await server((_req, res) => {
      // Led by the same stock every time; the quiet one (fresh on the first poll only) second on
      // even polls, last on odd ones, so its place holds another stock every other poll.
      const lines = TENCENT_LINES.map((l) =>
        l.replace(
          /~\d{14}~/,
          `~${stamp(l.startsWith(`v_${quiet}=`) && poll > 0 ? clock.t - 60_000 : clock.t)}~`,
        ),
      );
      const q = lines.splice(keys.indexOf(quiet), 1)[0]!;
      const ordered = poll++ % 2 === 0 ? [lines[0]!, q, ...lines.slice(1)] : [...lines, q];
      res.end(iconv.encode(ordered.join('\n') + '\n', 'gbk'));
    });
    let delivered = 0;
    const { m, events } = manager({
      clock,
      feeds: [new TencentFeed({ baseUrl: srv.url })],
      onSnapshots: (snaps) => {
        delivered = Math.max(delivered, snaps.length);
      },
    });
    m.setSymbols(keys.map((k) => `${k.slice(2)}.${k.slice(0, 2).toUpperCase()}`));
    for (let i = 0; i < 12; i++) {
      await m.cycle();
      clock.t += 1000;
    }
    expect(delivered).toBe(8); // a batch, as polls deliver them
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'FeedStale', symbols: ['002150.SZ'] });
  });

  it('raises no FeedStale outside continuous trading (lunch), and allows a fresh window after it', async () => {
    const clock = new TestClock(Date.parse('2026-11-24T11:40:00+08:00'));
    const srv = await server((_req, res) => res.end('v_pv_none_match="1";\n'));
    const { m, events } = manager({
      clock,
      feeds: [new TencentFeed({ baseUrl: srv.url })],
      onSnapshots: () => {},
    });
    m.setSymbols(['002116.SZ']);
    await m.cycle();
    clock.t = Date.parse('2026-11-24T13:00:05+08:00');
    await m.cycle();
    expect(events).toEqual([]);
    clock.t += 10_001;
    await m.cycle();
    expect(events.map((e) => e.type)).toEqual(['FeedStale']);
  });

  it('uses a streaming primary while it is open and polls while it is closed', async () => {
    const clock = new TestClock();
    const srv = await server((req, res) => res.end(tencentBody(req.url!, clock)));
    let push: (s: Snapshot) => void = () => {};
    let state: (s: StreamState, d?: string) => void = () => {};
    const stream: StreamingFeed = {
      kind: 'stream',
      name: 'sina-ws',
      start: (_symbols, onSnap, onState) => {
        push = onSnap;
        state = onState ?? (() => {});
      },
      setSymbols: () => {},
      stop: async () => {},
    };
    const delivered: string[] = [];
    const { m, events } = manager({
      clock,
      feeds: [stream, new TencentFeed({ baseUrl: srv.url })],
      onSnapshots: (snaps) => delivered.push(...snaps.map((s) => s.source)),
      intervalMs: 60_000,
    });
    m.setSymbols(['002116.SZ']);
    m.start();
    state('open');
    await vi.waitFor(() => expect(srv.requests.length).toBe(1)); // the first cycle ran before the stream opened
    push({ ...({} as Snapshot), symbol: '002116.SZ', source: 'sina-ws', ts: clock.t });
    await m.cycle();
    expect(srv.requests.length).toBe(1);
    state('closed', 'socket hang up');
    await m.cycle();
    expect(srv.requests.length).toBe(2);
    expect(delivered).toEqual(['tencent', 'sina-ws', 'tencent']);
    expect(events).toEqual([
      { type: 'SourceChanged', at: clock.t, from: 'tencent', to: 'sina-ws', reason: 'stream open' },
      {
        type: 'SourceChanged',
        at: clock.t,
        from: 'sina-ws',
        to: 'tencent',
        reason: 'stream closed: socket hang up',
      },
    ]);
  });

  it('stops cleanly: no request after stop() resolves', async () => {
    const clock = new TestClock();
    const srv = await server((req, res) => res.end(tencentBody(req.url!, clock)));
    const { m } = manager({
      clock,
      feeds: [new TencentFeed({ baseUrl: srv.url })],
      onSnapshots: () => {},
      intervalMs: 5,
    });
    m.setSymbols(['002116.SZ']);
    m.start();
    await vi.waitFor(() => expect(srv.requests.length).toBeGreaterThanOrEqual(3));
    await m.stop();
    // A request aborted by stop() may still reach the server a moment later; after that, silence
    // (polling every 5 ms would have sent about 20 more).
    await new Promise((r) => setTimeout(r, 30));
    const n = srv.requests.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(srv.requests.length).toBe(n);
  });
});

/** A HealthBoard stand-in with the board's set/clear contract (src/engine/health.ts). */
function board() {
  const items = new Map<string, { component: string; level: string; text: string }>();
  return {
    items,
    set(key: string, component: string, level: 'warn' | 'error', text: string): boolean {
      const isNew = !items.has(key);
      items.set(key, { component, level, text });
      return isNew;
    },
    clear(key: string): boolean {
      return items.delete(key);
    },
  };
}

describe('FeedManager against slow and incomplete sources (issue 16 item 4)', () => {
  it('a source trickling 1 byte/s: its stocks come from the next source in the first cycle, and failover comes within two intervals plus the deadline', async () => {
    const clock = new TestClock();
    const timers: NodeJS.Timeout[] = [];
    const tencent = await server((req, res) => {
      // Headers at once, then a byte a second: what a congested or hostile path looks like.
      res.writeHead(200, { 'content-type': 'text/html; charset=GBK' });
      const body = tencentBody(req.url!, clock);
      let i = 0;
      const t = setInterval(() => {
        if (!res.destroyed && i < body.length) res.write(body.subarray(i, ++i));
      }, 1000);
      timers.push(t);
      res.on('close', () => clearInterval(t));
    });
    const sina = await server((_req, res) => res.end(iconv.encode(SINA_LINES.join('\n'), 'gbk')));
    const delivered: { at: number; what: string }[] = [];
    const health = board();
    const interval = 300;
    const deadline = 600;
    const { m, events } = manager({
      clock,
      feeds: [new TencentFeed({ baseUrl: tencent.url }), new SinaFeed({ baseUrl: sina.url })],
      onSnapshots: (snaps) =>
        delivered.push(...snaps.map((s) => ({ at: performance.now(), what: `${s.source}:${s.symbol}` }))),
      intervalMs: interval,
      deadlineMs: deadline,
      staleAfterMs: 3_600_000,
      health,
    });
    const changedAt: number[] = [];
    m.on('SourceChanged', () => changedAt.push(performance.now()));
    m.setSymbols(['002116.SZ']);
    const t0 = performance.now();
    m.start();
    try {
      await vi.waitFor(
        () => {
          expect(changedAt.length).toBe(1);
          expect(delivered.length).toBeGreaterThan(0);
        },
        { timeout: 5000, interval: 20 },
      );
    } finally {
      for (const t of timers) clearInterval(t);
    }
    expect(changedAt[0]! - t0).toBeLessThan(2 * interval + deadline);
    expect(delivered[0]!.what).toBe('sina:002116.SZ');
    expect(delivered[0]!.at - t0).toBeLessThan(deadline + 200);
    expect(events[0]).toMatchObject({ type: 'SourceChanged', from: 'tencent', to: 'sina' });
    expect((events[0] as { reason: string }).reason).toMatch(/tencent missed the 600 ms deadline/);
    expect(health.items.get('feed:source:tencent')).toEqual({
      component: 'feed',
      level: 'warn',
      text: expect.stringMatching(
        /^Quote source tencent is failing \(tencent: no complete answer from http:\/\/127\.0\.0\.1:\d+ within 600 ms \(slow source\)\); quotes now come from sina\.$/,
      ),
    });
    const h = m.health();
    expect(h.map((x) => [x.name, x.active, x.ok])).toEqual([
      ['tencent', false, false],
      ['sina', true, true],
    ]);
  });

  it('a source answering without a requested stock: that stock is asked of the next source in the same cycle', async () => {
    const clock = new TestClock();
    // Tencent knows 002116 but not 600519 here: it simply leaves the record out.
    const tencent = await server((req, res) => res.end(tencentBody(req.url!, clock)));
    const sinaLine = SINA_LINES.find((l) => l.includes('sz002116'))!
      .replace('hq_str_sz002116', 'hq_str_sh600519')
      .replace(/"[^,]*,/, '"贵州茅台,');
    const sina = await server((_req, res) => res.end(iconv.encode(sinaLine + '\n', 'gbk')));
    const delivered: string[] = [];
    const health = board();
    const { m } = manager({
      clock,
      feeds: [new TencentFeed({ baseUrl: tencent.url }), new SinaFeed({ baseUrl: sina.url })],
      onSnapshots: (snaps) => delivered.push(...snaps.map((s) => `${s.source}:${s.symbol}`)),
      staleAfterMs: 3_600_000,
      health,
    });
    m.setSymbols(['002116.SZ', '600519.SH']);
    await m.cycle();
    expect(delivered).toEqual(['tencent:002116.SZ', 'sina:600519.SH']);
    expect(sina.requests.map((r) => r.url)).toEqual(['/list=sh600519']);
    expect(health.items.get('feed:missing:tencent')).toEqual({
      component: 'feed',
      level: 'warn',
      text: 'Quote source tencent answers without 600519.SH; asking sina for it.',
    });
    expect(m.activeSource()).toBe('tencent'); // answering without one stock is not a whole-source failure
  });

  it('reports each answer timing with its Date header and newest quote time, and ages the last quote live', async () => {
    const clock = new TestClock();
    const tencent = await server((req, res) => {
      res.setHeader('date', new Date(clock.t).toUTCString());
      res.end(tencentBody(req.url!, clock));
    });
    const seen: TimeEvidence[] = [];
    const { m } = manager({
      clock,
      feeds: [new TencentFeed({ baseUrl: tencent.url })],
      onSnapshots: () => {},
      onTime: (e) => seen.push(e),
    });
    m.setSymbols(['002116.SZ']);
    await m.cycle();
    expect(seen).toHaveLength(1);
    expect(seen[0]!.serverDate).toBe(clock.t - (clock.t % 1000));
    expect(seen[0]!.newestQuote).toBe(clock.t - (clock.t % 1000));
    expect(seen[0]!.receivedAt).toBeGreaterThanOrEqual(seen[0]!.sentAt);
    const age0 = m.health()[0]!.lastQuoteAgeMs!;
    clock.t += 75_000; // nothing answered since: the age says so, not "2.2 s ago"
    expect(m.health()[0]!.lastQuoteAgeMs).toBe(age0 + 75_000);
  });
});

describe('FeedManager pacing', () => {
  it('keeps polling at its interval when the wall clock is stepped back 30 s', async () => {
    const clock = new TestClock();
    const tencent = await server((req, res) => res.end(tencentBody(req.url!, clock)));
    const { m } = manager({
      clock,
      feeds: [new TencentFeed({ baseUrl: tencent.url })],
      onSnapshots: () => {},
      intervalMs: 100,
    });
    m.setSymbols(['002116.SZ']);
    const realNow = Date.now.bind(Date);
    let step = 0;
    const spy = vi.spyOn(Date, 'now').mockImplementation(() => realNow() + step);
    try {
      m.start();
      await vi.waitFor(() => expect(tencent.requests.length).toBeGreaterThan(0));
      step = -30_000;
      const n = tencent.requests.length;
      await new Promise((r) => setTimeout(r, 700));
      expect(tencent.requests.length - n).toBeGreaterThanOrEqual(4);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('FeedManager unit cross-check of a broker stream (lots vs shares)', () => {
  async function setup(lotsInsteadOfShares: boolean) {
    const clock = new TestClock();
    const srv = await server((req, res) => res.end(tencentBody(req.url!, clock)));
    const tencent = new TencentFeed({ baseUrl: srv.url });
    // What the bridge should send: the same book in shares. The faulty one forgot the x100.
    const real = (await tencent.fetch(['002116.SZ'])).snapshots[0]!;
    const streamed: Snapshot = lotsInsteadOfShares
      ? {
          ...real,
          source: 'qmt',
          volume: real.volume / 100,
          bids: real.bids.map(([p, v]) => [p, v / 100] as [number, number]),
        }
      : { ...real, source: 'qmt' };
    srv.requests.length = 0;
    let push: (s: Snapshot) => void = () => {};
    let state: (s: StreamState, d?: string) => void = () => {};
    let stopped = false;
    const stream: StreamingFeed = {
      kind: 'stream',
      name: 'qmt',
      crossCheckUnits: true,
      start: (_symbols, onSnap, onState) => {
        push = onSnap;
        state = onState ?? (() => {});
      },
      setSymbols: () => {},
      stop: async () => {
        stopped = true;
      },
    };
    const delivered: string[] = [];
    const health = board();
    const { m, events } = manager({
      clock,
      feeds: [stream, tencent],
      onSnapshots: (snaps) => delivered.push(...snaps.map((s) => s.source)),
      intervalMs: 60_000,
      health,
    });
    m.setSymbols(['002116.SZ']);
    m.start();
    await vi.waitFor(() => expect(srv.requests.length).toBe(1)); // first cycle, before the stream opened
    state('open');
    push(streamed);
    await m.cycle(); // starts the cross-check in the background
    await vi.waitFor(() => expect(srv.requests.length).toBe(2));
    await new Promise((r) => setTimeout(r, 50));
    return { m, events, health, srv, delivered, push, streamed, stopped: () => stopped };
  }

  it('a stream whose volumes are a hundredth of the web source: stopped, told, and polling takes over', async () => {
    const x = await setup(true);
    expect(x.stopped()).toBe(true);
    expect(x.health.items.get('feed:units:qmt')).toEqual({
      component: 'feed',
      level: 'error',
      text: "Quote source qmt shows volumes a hundredth of tencent's (e.g. 002116.SZ; lots vs shares?): its seal amounts would be wrong, so it is stopped and quotes come from tencent. Check the bridge's unit conversion, then restart SealGuard.",
    });
    expect(x.events.at(-1)).toMatchObject({
      type: 'SourceChanged',
      from: 'qmt',
      to: 'tencent',
      reason: 'stream closed: units disagree with tencent (a hundredth of)',
    });
    expect(x.m.activeSource()).toBe('tencent');
    // Anything it still pushes is dropped; polling delivers.
    x.delivered.length = 0;
    x.push(x.streamed);
    await x.m.cycle();
    expect(x.delivered).toEqual(['tencent']);
  });

  it('a stream in shares as agreed: kept', async () => {
    const x = await setup(false);
    expect(x.stopped()).toBe(false);
    expect(x.health.items.size).toBe(0);
    expect(x.m.activeSource()).toBe('qmt');
  });
});
