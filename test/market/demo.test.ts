import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeDemo, type GeneratedStock } from '../../scripts/demo/generate.ts';
import { limitPrices } from '../../src/domain/limits.ts';
import { toTicks } from '../../src/domain/prices.ts';
import { bookSealedDown, bookSealedUp, sealAmountUp } from '../../src/domain/seal.ts';
import { phaseAt } from '../../src/domain/session.ts';
import { parseSymbol } from '../../src/domain/symbols.ts';
import { exchangeTs, formatExchangeTime } from '../../src/domain/time.ts';
import type { Snapshot } from '../../src/domain/types.ts';
import { DEMO_DIR, loadDemoManifest, type DemoStock } from '../../src/market/demoManifest.ts';
import { parseSnapshotLine } from '../../src/market/recorder.ts';
import { ReplayFeed } from '../../src/market/replay.ts';

const manifest = loadDemoManifest();
const DATE = manifest.date;
const at = (hms: string) => exchangeTs(DATE, hms);

function readRecording(path: string): Snapshot[] {
  return gunzipSync(readFileSync(path))
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map(parseSnapshotLine);
}

const days = new Map<string, { stock: DemoStock; snaps: Snapshot[] }>();
for (const stock of manifest.stocks)
  days.set(stock.key, { stock, snaps: readRecording(join(DEMO_DIR, stock.file)) });
const day = (key: string) => days.get(key)!;

const TWENTY_MILLION = 20_000_000;

/** Checks every snapshot pair quietly and lists what broke, so 23,000 snapshots stay fast and failures readable. */
function violations(
  check: (stock: DemoStock, s: Snapshot, prev: Snapshot | undefined) => string | null,
): string[] {
  const out: string[] = [];
  for (const { stock, snaps } of days.values()) {
    snaps.forEach((s, i) => {
      const why = check(stock, s, snaps[i - 1]);
      if (why) out.push(`${stock.symbol} ${formatExchangeTime(s.ts)}: ${why}`);
    });
  }
  return out.slice(0, 5);
}

describe('the committed demo day (data/demo)', () => {
  it('is one trading day, 2026-11-23, with six stocks and the paper positions the demo starts with', () => {
    expect(DATE).toBe('2026-11-23');
    expect(manifest.stocks.map((s) => [s.key, s.symbol, s.position])).toEqual([
      ['a', '002116.SZ', 10_000],
      ['b', '603859.SH', 10_000],
      ['c', '600839.SH', 10_000],
      ['d', '002846.SZ', 10_000],
      ['e', '002812.SZ', 0],
      ['f', '600126.SH', 10_000],
    ]);
  });

  it('publishes limits exactly as limitPrices computes them from prevClose', () => {
    for (const { stock, snaps } of days.values()) {
      const sec = parseSymbol(stock.symbol);
      const lim = limitPrices(sec, toTicks(stock.prevClose, 2), { date: DATE })!;
      expect([stock.limitUp, stock.limitDown]).toEqual([lim.up, lim.down]);
      expect(
        new Set(snaps.map((s) => JSON.stringify([s.limitUp, s.limitDown, s.prevClose, s.source]))),
      ).toEqual(new Set([JSON.stringify([lim.up, lim.down, toTicks(stock.prevClose, 2), 'replay'])]));
    }
  });

  it('keeps the exchange cadence: 3 s grid from 09:15 to 15:00, nothing in lunch but a frozen 11:30, always a 15:00 close', () => {
    for (const { snaps } of days.values()) {
      expect(snaps[0]!.ts).toBe(at('09:15:00'));
      expect(snaps.at(-1)!.ts).toBe(at('15:00:00'));
      const lunch = snaps.filter((s) => phaseAt(s.ts) === 'lunch');
      expect(lunch.map((s) => s.ts)).toEqual([at('11:30:00')]);
      expect(snaps.filter((s) => s.ts > at('09:25:00') && s.ts <= at('09:30:00'))).toEqual([]);
      expect(snaps.some((s) => s.ts === at('09:25:00'))).toBe(true);
    }
    expect(
      violations((_, s, p) =>
        p && s.ts <= p.ts
          ? 'not after the previous snapshot'
          : (s.ts - at('09:15:00')) % 3000 !== 0
            ? 'off the 3 s grid'
            : null,
      ),
    ).toEqual([]);
  });

  it('shows auctions the way feeds do: bid1 = ask1 = the indicative price, no last before the open', () => {
    const auctions = violations((_, s) => {
      const phase = phaseAt(s.ts);
      if (
        phase !== 'opening-auction' &&
        phase !== 'opening-auction-locked' &&
        !(phase === 'closing-auction' && s.ts > at('14:57:00'))
      )
        return null;
      if (
        s.bids.length !== 1 ||
        s.asks.length !== 1 ||
        JSON.stringify(s.bids[0]) !== JSON.stringify(s.asks[0])
      )
        return 'bid1 != ask1';
      if (phase !== 'closing-auction' && (s.last !== 0 || s.open !== 0 || s.volume !== 0))
        return 'traded before the open';
      return null;
    });
    expect(auctions).toEqual([]);
  });

  it('accumulates volume and turnover monotonically, at prices the day actually showed', () => {
    const bad = violations((_, s, p) => {
      if (!p) return null;
      const dv = s.volume - p.volume;
      const da = s.amount - p.amount;
      if (dv < 0 || da < 0) return `volume or turnover went down (${dv}, ${da})`;
      // Turnover in fen lies between the volume at the day's low and at its high (±1 yuan rounding).
      if (dv > 0 && (da * 100 < dv * s.low - 100 || da * 100 > dv * s.high + 100))
        return `turnover ${da} does not fit volume ${dv}`;
      return null;
    });
    expect(bad).toEqual([]);
  });

  it('has sane five-level books in continuous trading: ordered, inside the limits, bid below ask', () => {
    const bad = violations((stock, s) => {
      if (phaseAt(s.ts) !== 'continuous') return null;
      if (s.bids.length > 5 || s.asks.length > 5) return 'more than five levels';
      for (let i = 1; i < s.bids.length; i++)
        if (s.bids[i]![0] >= s.bids[i - 1]![0]) return 'bids out of order';
      for (let i = 1; i < s.asks.length; i++)
        if (s.asks[i]![0] <= s.asks[i - 1]![0]) return 'asks out of order';
      for (const [price, vol] of [...s.bids, ...s.asks]) {
        if (price < stock.limitDown || price > stock.limitUp) return `level ${price} outside the limits`;
        if (vol <= 0) return 'empty level';
      }
      if (s.bids[0] && s.asks[0] && s.bids[0][0] >= s.asks[0][0]) return 'crossed book';
      if (s.last < s.low || s.last > s.high) return 'last outside the day range';
      return null;
    });
    expect(bad).toEqual([]);
  });

  it('trades at the limit while sealed: each change in volume is turnover at exactly the limit price', () => {
    let pairs = 0;
    const bad = violations((stock, s, p) => {
      if (!p) return null;
      const up = bookSealedUp(p, stock.limitUp) && bookSealedUp(s, stock.limitUp);
      const down = bookSealedDown(p, stock.limitDown) && bookSealedDown(s, stock.limitDown);
      if (!up && !down) return null;
      pairs++;
      const limit = up ? stock.limitUp : stock.limitDown;
      const off = Math.abs((s.amount - p.amount) * 100 - (s.volume - p.volume) * limit);
      return off > 100 ? `turnover off the limit price by ${off} fen` : null;
    });
    expect(bad).toEqual([]);
    expect(pairs).toBeGreaterThan(8000);
  });

  it('b: the seal drains below the 2000万 default threshold minutes before the board breaks at 10:48', () => {
    const { stock, snaps } = day('b');
    const continuous = snaps.filter((s) => phaseAt(s.ts) === 'continuous');
    const sealedAt = continuous.find((s) => bookSealedUp(s, stock.limitUp))!;
    const broken = continuous.find((s) => s.ts > sealedAt.ts && !bookSealedUp(s, stock.limitUp))!;
    const under = continuous.find(
      (s) => s.ts > sealedAt.ts && bookSealedUp(s, stock.limitUp) && sealAmountUp(s) < TWENTY_MILLION,
    )!;
    expect(sealedAt.ts).toBe(at('10:05:00'));
    expect(broken.ts).toBe(at('10:48:00'));
    expect(broken.last).toBeLessThan(stock.limitUp);
    expect(broken.asks.length).toBeGreaterThan(0);
    expect(broken.ts - under.ts).toBeGreaterThanOrEqual(3 * 60_000);
    const peak = Math.max(...continuous.filter((s) => bookSealedUp(s, stock.limitUp)).map(sealAmountUp));
    expect(peak).toBeGreaterThan(150_000_000);
    expect(continuous.filter((s) => s.ts > broken.ts).some((s) => bookSealedUp(s, stock.limitUp))).toBe(
      false,
    );
    expect(snaps.at(-1)!.last).toBeLessThan(stock.limitUp - 50);
  });

  it('c: drains to under 2000万 for a short while, never breaks, rebuilds and closes sealed', () => {
    const { stock, snaps } = day('c');
    const sealed = snaps.filter((s) => phaseAt(s.ts) === 'continuous' && s.ts >= at('10:30:00'));
    expect(sealed.every((s) => bookSealedUp(s, stock.limitUp))).toBe(true);
    const under = sealed.filter((s) => sealAmountUp(s) < TWENTY_MILLION);
    expect(under.length).toBeGreaterThan(0);
    expect(under[0]!.ts).toBeGreaterThanOrEqual(at('13:40:00'));
    expect(under.at(-1)!.ts).toBeLessThanOrEqual(at('13:47:00'));
    expect(Math.min(...under.map(sealAmountUp))).toBeGreaterThan(17_000_000);
    expect(sealAmountUp(sealed.at(-1)!)).toBeGreaterThan(100_000_000);
    expect(bookSealedUp(snaps.at(-1)!, stock.limitUp)).toBe(true);
  });

  it('a, d and f close sealed at the limit-up; d never trades below it; e is sealed at the limit-down', () => {
    for (const key of ['a', 'd', 'f'])
      expect(bookSealedUp(day(key).snaps.at(-1)!, day(key).stock.limitUp)).toBe(true);
    const d = day('d');
    const afterOpen = d.snaps.filter((s) => s.ts >= at('09:25:00'));
    expect(afterOpen.every((s) => s.last === d.stock.limitUp && s.low === d.stock.limitUp)).toBe(true);
    expect(
      afterOpen.filter((s) => phaseAt(s.ts) === 'continuous').every((s) => bookSealedUp(s, d.stock.limitUp)),
    ).toBe(true);
    expect(sealAmountUp(afterOpen[0]!)).toBeGreaterThan(400_000_000);
    const e = day('e');
    const last = e.snaps.at(-1)!;
    expect(bookSealedDown(last, e.stock.limitDown)).toBe(true);
    expect(last.bids).toEqual([]);
  });

  it('f: the opening auction wanders, then continuous trading reaches the limit-up after the open', () => {
    const { stock, snaps } = day('f');
    const auction = snaps.filter((s) => s.ts < at('09:25:00'));
    expect(new Set(auction.map((s) => s.bids[0]![0])).size).toBeGreaterThan(5);
    const open = snaps.find((s) => s.ts === at('09:25:00'))!;
    expect(open.open).toBe(652);
    const firstSeal = snaps.find((s) => bookSealedUp(s, stock.limitUp))!;
    expect(firstSeal.ts).toBe(at('10:40:00'));
  });
});

describe('the generator (scripts/gen-demo.ts)', () => {
  let dir: string;
  let generated: GeneratedStock[];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sg-demo-'));
    generated = writeDemo(dir);
  });

  it('is deterministic: regenerating writes exactly the committed recordings and manifest', () => {
    expect(readFileSync(join(dir, 'manifest.json'), 'utf8')).toBe(
      readFileSync(join(DEMO_DIR, 'manifest.json'), 'utf8'),
    );
    for (const stock of manifest.stocks) {
      expect(
        gunzipSync(readFileSync(join(dir, stock.file))).equals(
          gunzipSync(readFileSync(join(DEMO_DIR, stock.file))),
        ),
      ).toBe(true);
    }
  });

  it('moves the limit queue by new orders − traded − cancelled, with traded = the volume printed', () => {
    let checked = 0;
    const bad: string[] = [];
    for (const { day: d, limits, spec } of generated) {
      d.flows.forEach((flow, i) => {
        if (!flow) return;
        const [p, s] = [d.snapshots[i - 1]!, d.snapshots[i]!];
        const queue = (x: Snapshot) => (bookSealedUp(x, limits.up) ? x.bids[0]![1] : x.asks[0]![1]);
        const ok =
          flow.traded === s.volume - p.volume &&
          flow.added >= 0 &&
          flow.cancelled >= 0 &&
          queue(s) - queue(p) === flow.added - flow.traded - flow.cancelled;
        if (!ok)
          bad.push(
            `${spec.symbol} ${formatExchangeTime(s.ts)}: ${JSON.stringify(flow)} vs queue ${queue(p)} -> ${queue(s)}`,
          );
        checked++;
      });
    }
    expect(bad.slice(0, 5)).toEqual([]);
    expect(checked).toBeGreaterThan(8000);
  });

  it('skips ahead with startAt: b at 10:47 starts from its sealed baseline and the next thing seen is the drain, then the break', async () => {
    const b = manifest.stocks.find((s) => s.key === 'b')!;
    const feed = await ReplayFeed.open({ files: manifest.files, speed: Infinity, startAt: at('10:47:00') });
    const seen: Snapshot[] = [];
    feed.start([b.symbol], (s) => {
      seen.push(s);
      if (s.ts >= at('10:48:00')) void feed.stop();
    });
    await feed.finished;
    expect(seen[0]!.ts).toBeLessThanOrEqual(at('10:47:00'));
    expect(bookSealedUp(seen[0]!, b.limitUp)).toBe(true);
    expect(seen.at(-1)!.ts).toBe(at('10:48:00'));
    expect(bookSealedUp(seen.at(-1)!, b.limitUp)).toBe(false);
    expect(
      seen.slice(0, -1).every((s) => bookSealedUp(s, b.limitUp) && sealAmountUp(s) < TWENTY_MILLION),
    ).toBe(true);
  });

  it('replays through ReplayFeed end to end: every line valid, merged in order, clock at the close', async () => {
    const bad: string[] = [];
    const feed = await ReplayFeed.open({
      files: manifest.files,
      speed: Infinity,
      symbols: 'all',
      onBadLine: (m) => bad.push(m),
    });
    let count = 0;
    let lastTs = 0;
    let ordered = true;
    feed.start([], (s) => {
      count++;
      if (s.ts < lastTs) ordered = false;
      lastTs = s.ts;
    });
    await feed.finished;
    expect(bad).toEqual([]);
    expect(ordered).toBe(true);
    expect(count).toBe([...days.values()].reduce((n, d) => n + d.snaps.length, 0));
    expect(feed.clock.now()).toBe(at('15:00:00'));
  });
});
