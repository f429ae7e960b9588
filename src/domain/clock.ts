/**
 * The one notion of "now" for the engine. Wall time is injected so the domain never reads it and a
 * simulated day (demo, replay, tests) runs through exactly the same code as a live one.
 */
import { InputError } from './types.ts';
import { parseExchangeTime } from './time.ts';

export interface Clock {
  now(): number;
}

export class SystemClock implements Clock {
  constructor(private readonly wallNow: () => number) {}
  now(): number {
    return this.wallNow();
  }
}

/** Starts at `startMs` and advances `speed` simulated ms per wall ms. */
export class SimClock implements Clock {
  private baseSim: number;
  private baseWall: number;
  private speed: number;

  constructor(
    startMs: number,
    private readonly wallNow: () => number,
    speed = 1,
  ) {
    checkSpeed(speed);
    if (!Number.isFinite(startMs)) throw new InputError(`invalid clock start ${startMs}`);
    this.baseSim = startMs;
    this.baseWall = wallNow();
    this.speed = speed;
  }

  now(): number {
    return this.baseSim + Math.floor((this.wallNow() - this.baseWall) * this.speed);
  }

  set(ms: number): void {
    if (!Number.isFinite(ms)) throw new InputError(`invalid clock time ${ms}`);
    this.baseSim = ms;
    this.baseWall = this.wallNow();
  }

  /** Rebased first, so time already elapsed keeps the old speed. 0 freezes the clock. */
  setSpeed(speed: number): void {
    checkSpeed(speed);
    this.set(this.now());
    this.speed = speed;
  }
}

function checkSpeed(speed: number): void {
  if (!Number.isFinite(speed) || speed < 0)
    throw new InputError(`invalid clock speed ${speed}: must be >= 0`);
}

/**
 * SEALGUARD_CLOCK: "2026-11-24T10:00:00+08:00" starts a SimClock there that then runs in real
 * time; unset or blank means the system clock; anything else is refused, never ignored.
 */
export function clockFromSpec(spec: string | undefined, wallNow: () => number): Clock {
  if (spec === undefined || spec.trim() === '') return new SystemClock(wallNow);
  let start: number;
  try {
    start = parseExchangeTime(spec);
  } catch {
    throw new InputError(
      `invalid SEALGUARD_CLOCK "${spec}": expected an ISO time such as 2026-11-24T10:00:00+08:00`,
    );
  }
  return new SimClock(start, wallNow);
}

/**
 * What one answer from a quote source says about the exchange's time. Times of the request are
 * monotonic ms (the same clock ExchangeClock runs on); the others are epoch ms.
 */
export interface TimeEvidence {
  sentAt: number;
  receivedAt: number;
  /** The server's `Date` header (second resolution), or null. */
  serverDate: number | null;
  /** The newest exchange timestamp among the answer's quotes, or null. */
  newestQuote: number | null;
}

export interface ExchangeClockOptions {
  /** Answers kept for the estimate. */
  samples?: number;
  /** Answers older than this (monotonic ms) no longer count. */
  windowMs?: number;
  /** Answers needed before the exchange's time is followed. */
  minSamples?: number;
  /** How far outside the measured bounds the clock may sit before it is moved. */
  toleranceMs?: number;
}

interface Bound {
  at: number;
  lo: number;
  hi: number;
}

/**
 * The live market clock: runs on a monotonic clock, so stepping the host's wall clock (by hand,
 * by NTP) neither ages a fresh quote nor expires a pending confirm, and it follows the exchange's
 * time as measured from the quote sources whenever the host disagrees with it (issue 16: a host
 * 60 s behind saw every quote "from the future", so no seal and no sale).
 *
 * Each answer bounds the exchange's offset from the monotonic clock: a quote stamped T, or a
 * `Date` header D, received at monotonic r, means the exchange is at least at T (or D) by r; a
 * `Date` of D for a request sent at s means it was below D + 1 s at some moment after s. Quote
 * times lag (snapshots every ~3 s, a quiet Sina stock's time does not move), so they only ever
 * push the clock forward. The bounds are taken over the recent answers with the single most
 * extreme one left out, so one bogus timestamp cannot move the clock.
 */
export class ExchangeClock implements Clock {
  private offset: number;
  private readonly bounds: Bound[] = [];
  private readonly max: number;
  private readonly windowMs: number;
  private readonly minSamples: number;
  private readonly toleranceMs: number;
  private corrected = false;

  constructor(
    private readonly wallNow: () => number,
    private readonly monoNow: () => number,
    opts: ExchangeClockOptions = {},
  ) {
    this.offset = wallNow() - monoNow();
    this.max = opts.samples ?? 9;
    this.windowMs = opts.windowMs ?? 120_000;
    this.minSamples = opts.minSamples ?? 3;
    this.toleranceMs = opts.toleranceMs ?? 2_000;
  }

  now(): number {
    return Math.floor(this.monoNow() + this.offset);
  }

  /** Monotonic ms, for deadlines that must not move with any clock correction. */
  mono(): number {
    return this.monoNow();
  }

  observe(e: TimeEvidence): void {
    const los: number[] = [];
    if (e.serverDate !== null && Number.isFinite(e.serverDate)) los.push(e.serverDate - e.receivedAt);
    if (e.newestQuote !== null && Number.isFinite(e.newestQuote)) los.push(e.newestQuote - e.receivedAt);
    if (los.length === 0) return;
    const hi =
      e.serverDate !== null && Number.isFinite(e.serverDate) ? e.serverDate + 1000 - e.sentAt : Infinity;
    this.bounds.push({ at: e.receivedAt, lo: Math.max(...los), hi });
    while (this.bounds.length > this.max) this.bounds.shift();
    this.adjust();
  }

  /** Whether enough recent answers back the estimate. */
  measured(): boolean {
    return this.recent().length >= this.minSamples;
  }

  /** True once the clock has moved to follow the exchange. */
  following(): boolean {
    return this.corrected;
  }

  /** Exchange time minus host wall time, ms (positive: the host is behind); null until measured. */
  skewMs(): number | null {
    return this.measured() ? this.now() - this.wallNow() : null;
  }

  private recent(): Bound[] {
    const from = this.monoNow() - this.windowMs;
    return this.bounds.filter((b) => b.at >= from);
  }

  private adjust(): void {
    const r = this.recent();
    if (r.length < this.minSamples) return;
    // Second most extreme of each bound: one bogus answer is outvoted (a one-shot CLI has one).
    const k = Math.min(1, r.length - 1);
    const lo = r.map((b) => b.lo).sort((a, b) => b - a)[k]!;
    let hi = r.map((b) => b.hi).sort((a, b) => a - b)[k]!;
    if (hi < lo) hi = Infinity; // a server Date behind the quotes: the quotes are the exchange's
    const o = this.offset;
    if (o >= lo - this.toleranceMs && o <= hi + this.toleranceMs) return;
    this.offset = Number.isFinite(hi) ? Math.round((lo + hi) / 2) : lo;
    this.corrected = true;
  }
}
