import iconv from 'iconv-lite';
import { afterEach, describe, expect, it, vi } from 'vitest';
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
  for (const t of ['FeedStale', 'SourceChanged', 'LimitMismatch'] as const) m.on(t, (e) => events.push(e));
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

  it('reports published limits that differ from the computed ones, once per symbol and day', async () => {
    const clock = new TestClock();
    const srv = await server((req, res) =>
      res.end(tencentBody(req.url!, clock, (l) => l.replace('~10.02~8.20~', '~10.03~8.20~'))),
    );
    const { m, events } = manager({
      clock,
      feeds: [new TencentFeed({ baseUrl: srv.url })],
      onSnapshots: () => {},
    });
    m.setSymbols(['002116.SZ', '002072.SZ']);
    await m.cycle();
    await m.cycle();
    expect(events).toEqual([
      {
        type: 'LimitMismatch',
        at: clock.t,
        symbol: '002116.SZ',
        name: '中国海诚',
        published: '10.03/8.20',
        computed: '10.02/8.20',
      },
    ]);
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
