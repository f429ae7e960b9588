/**
 * A small level-1 market model for one stock and one day: an opening call auction, a random walk
 * that follows the scenario's price knots, a limit seal whose bid1 queue moves by
 * new orders − traded − cancelled, an optional break, and the closing call auction.
 * Snapshots are published on the exchange's 3 s grid, and only when something changed.
 */
import { bookSealedDown, bookSealedUp } from '../../src/domain/seal.ts';
import { exchangeTs } from '../../src/domain/time.ts';
import type { Shares, Snapshot, Ticks } from '../../src/domain/types.ts';

/** The simulator's own book level, changed in place as the queue moves (a Snapshot's is read-only). */
type Level = [Ticks, Shares];
import { sameMarket } from '../../src/market/recorder.ts';
import { gauss, randInt, type Rng } from './rng.ts';
import type { DemoSpec, Path } from './scenarios.ts';

/** What happened to the limit queue (bid1 when sealed up, ask1 when sealed down) since the previous snapshot. */
export interface QueueFlow {
  added: number;
  traded: number;
  cancelled: number;
}

export interface SimulatedDay {
  snapshots: Snapshot[];
  /** flows[i]: the queue's flow from snapshots[i-1] to snapshots[i] when both show the same seal; else null. */
  flows: (QueueFlow | null)[];
}

export interface DayLimits {
  prevClose: Ticks;
  up: Ticks;
  down: Ticks;
}

type Step = 'auction' | 'open' | 'continuous' | 'closing-auction' | 'close';

const STEP_S = 3;

function secondsOf(hms: string): number {
  const [h, m, s] = hms.split(':').map(Number) as [number, number, number];
  return h * 3600 + m * 60 + s;
}

/** The exchange's publication grid for one day, in seconds of the day. */
function grid(): Array<[number, Step]> {
  const out: Array<[number, Step]> = [];
  const span = (from: string, to: string, step: Step, includeFrom: boolean) => {
    for (let t = secondsOf(from) + (includeFrom ? 0 : STEP_S); t <= secondsOf(to); t += STEP_S)
      out.push([t, step]);
  };
  span('09:15:00', '09:24:57', 'auction', true);
  out.push([secondsOf('09:25:00'), 'open']);
  span('09:30:00', '11:30:00', 'continuous', false);
  span('13:00:00', '14:57:00', 'continuous', false);
  span('14:57:00', '14:59:57', 'closing-auction', false);
  out.push([secondsOf('15:00:00'), 'close']);
  return out;
}

/** Snapshots published whatever happened: the open, the frozen 11:30 one, the last continuous one, the close. */
const FORCED = new Set(['09:25:00', '11:30:00', '14:57:00', '15:00:00'].map(secondsOf));

function interp(path: Path, t: number): number {
  const knots = path.map(([hms, v]) => [secondsOf(hms), v] as const);
  const first = knots[0]!;
  if (t <= first[0]) return first[1];
  for (let i = 1; i < knots.length; i++) {
    const [t1, v1] = knots[i]!;
    const [t0, v0] = knots[i - 1]!;
    if (t <= t1) return v0 + ((v1 - v0) * (t - t0)) / (t1 - t0);
  }
  return knots[knots.length - 1]![1];
}

const round100 = (x: number): number => Math.max(0, Math.round(x / 100) * 100);
const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));

export function simulateDay(spec: DemoSpec, date: string, limits: DayLimits, rng: Rng): SimulatedDay {
  const { up, down, prevClose } = limits;
  const sealFrom = secondsOf(spec.seal.from);
  const breakAt = spec.seal.breakAt === undefined ? undefined : secondsOf(spec.seal.breakAt);
  const priceGap = (): number => (prevClose > 5000 ? randInt(rng, 1, 3) : 1);

  let last = 0;
  let open = 0;
  let high = 0;
  let low = 0;
  let volume = 0;
  let amountFen = 0;
  let bids: Level[] = [];
  let asks: Level[] = [];
  let sealed: 'up' | 'down' | null = null;
  let savedBook: { bids: Level[]; asks: Level[] } | undefined;
  let flow: QueueFlow = { added: 0, traded: 0, cancelled: 0 };

  const snapshots: Snapshot[] = [];
  const flows: (QueueFlow | null)[] = [];

  const trade = (shares: number, price: Ticks): void => {
    if (shares <= 0) return;
    volume += shares;
    amountFen += shares * price;
    if (last > 0) {
      high = Math.max(high, price);
      low = Math.min(low, price);
    }
  };
  const sharesWorth = (yuan: number, price: Ticks): number => Math.max(100, round100((yuan * 100) / price));
  const levelVolume = (price: Ticks): number => sharesWorth(50_000 * (1 + 15 * rng() ** 2), price);

  const bookAround = (bid1: Ticks): void => {
    bids = [];
    asks = [];
    for (let p = bid1, i = 0; i < 5 && p >= down; i++, p -= priceGap()) bids.push([p, levelVolume(p)]);
    for (let p = bid1 + 1, i = 0; i < 5 && p <= up; i++, p += priceGap()) asks.push([p, levelVolume(p)]);
  };
  const levelsBelow = (from: Ticks): Level[] => {
    const out: Level[] = [];
    for (let p = from - 1; out.length < 4 && p >= down; p -= priceGap()) out.push([p, levelVolume(p)]);
    return out;
  };
  const levelsAbove = (from: Ticks): Level[] => {
    const out: Level[] = [];
    for (let p = from + 1; out.length < 4 && p <= up; p += priceGap()) out.push([p, levelVolume(p)]);
    return out;
  };

  const walk = (t: number): void => {
    if (rng() > 0.9) return; // a quiet 3 s: nothing traded, nothing published
    const target = interp(spec.price, t);
    const move = clamp(Math.round((target - last) * 0.3 + gauss(rng) * 1.3), -5, 5);
    const p = clamp(last + move, down + 1, up - 1);
    // About 0.006% of the float changes hands per 3 s on average: a busy day, ~15% turnover.
    trade(sharesWorth(spec.floatShares * p * 0.0000006 * (0.3 + 2.1 * rng() ** 2), p), p);
    last = p;
    high = Math.max(high, p);
    low = Math.min(low, p);
    // A buyer-initiated trade leaves the rest of the offer at the trade price; a seller-initiated one the bid.
    const buyerInitiated = move > 0 || (move === 0 && rng() < 0.5);
    bookAround(buyerInitiated ? p - 1 : p);
  };

  const startSeal = (t: number): void => {
    const side = spec.seal.side;
    const limit = side === 'up' ? up : down;
    // The sweep to the limit: everything offered (or bid) in the way trades at its own price.
    for (const [price, shares] of side === 'up' ? asks : bids) trade(shares, price);
    trade(sharesWorth(2_000_000 * (1 + rng()), limit), limit);
    last = limit;
    if (side === 'up') high = limit;
    else low = limit;
    const queue: Level = [limit, sharesWorth(interp(spec.seal.amount, t), limit)];
    if (side === 'up') {
      bids = [queue, ...levelsBelow(limit)];
      asks = [];
    } else {
      asks = [queue, ...levelsAbove(limit)];
      bids = [];
    }
    sealed = side;
  };

  const sealStep = (t: number): void => {
    if (rng() > spec.seal.activity) return;
    const limit = sealed === 'up' ? up : down;
    const side = sealed === 'up' ? bids : asks;
    const queue = side[0]!;
    const q = queue[1];
    const target = sharesWorth(interp(spec.seal.amount, t), limit);
    // Most 3 s windows see a few small fills against the queue, now and then a block.
    const traded = Math.min(
      q,
      round100(q * 0.0004 * spec.seal.fills * (rng() < 0.05 ? 12 * rng() : 4 * rng() ** 2)),
    );
    const net = Math.round((target - q) * 0.12 + gauss(rng) * target * 0.004);
    const churn = round100(target * 0.0015 * rng());
    let added = churn;
    let cancelled = churn;
    const need = round100(Math.abs(net + traded)) * Math.sign(net + traded);
    if (need >= 0) added += need;
    else cancelled -= need;
    // Never cancel more than is resting: a queue cannot go negative.
    cancelled = Math.max(0, Math.min(cancelled, q + added - traded - 100));
    queue[1] = q + added - traded - cancelled;
    flow = { added: flow.added + added, traded: flow.traded + traded, cancelled: flow.cancelled + cancelled };
    trade(traded, limit);
    // The levels behind the queue shuffle a little too.
    if (rng() < 0.3 && side.length > 1) {
      const lvl = side[randInt(rng, 1, side.length - 1)]!;
      lvl[1] = round100((lvl[1] + levelVolume(lvl[0])) / 2);
    }
  };

  const breakBoard = (): void => {
    // One sell order larger than the whole queue: it takes bid1, then bid2, then part of bid3.
    const [q1, q2, q3] = [bids[0]!, bids[1]!, bids[2]!];
    trade(q1[1], q1[0]);
    trade(q2[1], q2[0]);
    const part = round100(q3[1] / 2);
    trade(part, q3[0]);
    last = q3[0];
    low = Math.min(low, last);
    bids = [[q3[0], q3[1] - part], ...bids.slice(3), ...levelsBelow(bids[bids.length - 1]![0]).slice(0, 2)];
    asks = [
      [q2[0], levelVolume(q2[0])],
      [up, sharesWorth(3_000_000, up)],
    ];
    sealed = null;
  };

  const auction = (t: number): void => {
    const progress = (t - secondsOf('09:15:00')) / 600;
    let indicative: Ticks;
    if (spec.open === up) {
      indicative = up;
    } else {
      // Cancellable orders make 09:15-09:20 jumpy; from 09:20 it converges on the opening price.
      const wide = spec.key === 'f' ? 0.02 : 0.006;
      const amp = t < secondsOf('09:20:00') ? wide : wide * 0.3 * (1 - (progress - 0.5) * 2);
      indicative = clamp(Math.round(spec.open * (1 + amp * gauss(rng))), down, up);
    }
    const matched = round100(spec.openVolume * (0.15 + 0.85 * progress) * (1 + 0.05 * gauss(rng)));
    bids = [[indicative, matched]];
    asks = [[indicative, matched]];
  };

  const openMatch = (t: number): void => {
    last = open = high = low = spec.open;
    trade(spec.openVolume, spec.open);
    if (sealFrom === t) {
      bids = [[up, sharesWorth(interp(spec.seal.amount, t), up)], ...levelsBelow(up)];
      asks = [];
      sealed = 'up';
    } else {
      bookAround(spec.open);
    }
  };

  const closingAuction = (t: number): void => {
    savedBook ??= { bids: bids.map((l) => [l[0], l[1]]), asks: asks.map((l) => [l[0], l[1]]) };
    const progress = (t - secondsOf('14:57:00')) / 180;
    const price = sealed === 'up' ? up : sealed === 'down' ? down : last + randInt(rng, -1, 1);
    const matched = round100(spec.closeVolume * (0.2 + 0.8 * progress) * (1 + 0.05 * gauss(rng)));
    bids = [[price, matched]];
    asks = [[price, matched]];
  };

  const closeMatch = (): void => {
    const book = savedBook!;
    const price = sealed === 'up' ? up : sealed === 'down' ? down : last + randInt(rng, -1, 1);
    trade(spec.closeVolume, price);
    last = price;
    high = Math.max(high, price);
    low = Math.min(low, price);
    if (sealed) {
      const side = sealed === 'up' ? book.bids : book.asks;
      side[0]![1] = Math.max(100, side[0]![1] - spec.closeVolume + round100(spec.closeVolume * 0.6 * rng()));
      bids = book.bids;
      asks = book.asks;
    } else {
      bookAround(price);
    }
  };

  const snapshotAt = (ts: number): Snapshot => ({
    symbol: spec.symbol,
    name: spec.name,
    source: 'replay',
    ts,
    status: 'normal',
    decimals: 2,
    last,
    prevClose,
    open,
    high,
    low,
    bids: bids.map((l) => [l[0], l[1]]),
    asks: asks.map((l) => [l[0], l[1]]),
    volume,
    amount: Math.round(amountFen / 100),
    limitUp: up,
    limitDown: down,
    floatMarketCap: Math.round((spec.floatShares * (last || prevClose)) / 100),
  });

  const sealedSame = (a: Snapshot, b: Snapshot): boolean =>
    (bookSealedUp(a, up) && bookSealedUp(b, up)) || (bookSealedDown(a, down) && bookSealedDown(b, down));

  for (const [t, step] of grid()) {
    const wasSealed: 'up' | 'down' | null = sealed;
    if (step === 'auction') auction(t);
    else if (step === 'open') openMatch(t);
    else if (step === 'closing-auction') closingAuction(t);
    else if (step === 'close') closeMatch();
    else if (t === sealFrom) startSeal(t);
    else if (t === breakAt) breakBoard();
    else if (sealed) sealStep(t);
    else walk(t);
    if (wasSealed !== sealed) flow = { added: 0, traded: 0, cancelled: 0 };

    const snap = snapshotAt(exchangeTs(date, hms(t)));
    const prev = snapshots[snapshots.length - 1];
    if (prev && !FORCED.has(t) && sameMarket(prev, snap)) continue;
    flows.push(prev && sealedSame(prev, snap) ? flow : null);
    snapshots.push(snap);
    flow = { added: 0, traded: 0, cancelled: 0 };
  }
  return { snapshots, flows };
}

function hms(t: number): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(Math.floor(t / 3600))}:${p(Math.floor(t / 60) % 60)}:${p(t % 60)}`;
}
