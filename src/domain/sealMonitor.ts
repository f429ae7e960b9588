/**
 * The per-symbol, per-day seal state machine: a pure reducer over snapshots.
 *
 *   idle -> sealing -> sealed -> weakening -> triggered
 *                        |          |            |
 *                        +----------+------------+--> broken -> sealing -> resealed -> ...
 *
 * A seal segment starts when the book has shown a limit-up seal on `sealConfirm` consecutive
 * snapshots (default 2, rules.md §3.2: one 3 s snapshot can be a touch, not a seal). Segments are
 * numbered through the day; each has its own peak, the day keeps the overall peak. Any trigger
 * fires at most once per segment, which is what makes "one segment never sells twice" hold.
 *
 * What is deliberately ignored, without any event:
 * - anything outside continuous trading (auction books show an indicative bid1 == ask1 and orders
 *   can still be cancelled), a closed day, a no-limit day (limits null);
 * - stale or foreign-dated snapshots (isFresh), non-normal status (halts freeze the book), and
 *   repeats of a snapshot already seen (polling faster than the exchange's 3 s).
 * The first snapshot after a gap (first of the day, after lunch, after > 10 s without one) only
 * sets a baseline: state is updated but no trigger or warning fires on it and the window history
 * restarts, because a comparison across a gap measures the gap, not the seal.
 *
 * State is plain JSON (persisted across restarts). step() copies it instead of mutating, but keeps
 * copies cheap: no history except a monotone max-deque bounded by the dropInWindow window.
 */
import { bookSealedDown, bookSealedUp, isFresh, sealAmountDown, sealAmountUp } from './seal.ts';
import { evidenceFor, ruleHolds, ruleWarns, SEAL_RULES, dropPct } from './triggers.ts';
import type { SealReading, SealRule, TriggerConfig, TriggerEvidence } from './triggers.ts';
import type { Phase, Snapshot, Ticks, Yuan } from './types.ts';

export type SealStatus = 'idle' | 'sealing' | 'sealed' | 'weakening' | 'triggered' | 'broken' | 'resealed';

/** Longest silence, on the market clock, after which the next snapshot is a fresh baseline. */
export const GAP_MS = 10_000;
export const DEFAULT_SEAL_CONFIRM = 2;
/** Upper bound of the window deque; only reached by a feed far faster than the exchange's 3 s. */
const WINDOW_CAP = 256;

export interface MonitorState {
  v: 1;
  symbol: string;
  day: string;
  status: SealStatus;
  /** Number of the current (or last) seal segment today; 0 before the first. */
  segment: number;
  /** Consecutive sealed-book snapshots while `sealing`. */
  run: number;
  /** ts of the first snapshot of the current sealing run / segment. */
  runStart: number | null;
  segmentStart: number | null;
  /** Market-clock time of the last accepted step, for gap detection; NEVER before the first. */
  lastStepAt: number;
  /** Exchange ts of the last snapshot used; NEVER before the first. */
  lastTs: number;
  /** Seal at the last sealed snapshot of the current segment. */
  sealAmount: Yuan;
  segmentPeak: Yuan;
  dayPeak: Yuan;
  /** The current segment already warned / triggered. */
  warned: boolean;
  triggered: boolean;
  /** A break found on a baseline snapshot: onBreak fires on the next one if the board is still open. */
  breakPending: boolean;
  /** Consecutive snapshots on which each rule held (for `confirm`). */
  streak: Record<SealRule, number>;
  /** Monotone decreasing [ts, seal] pairs: front is the max within the dropInWindow window. */
  window: [number, Yuan][];
  down: { status: 'idle' | 'sealing' | 'sealed'; run: number; sealAmount: Yuan; peak: Yuan };
}

export interface MonitorContext {
  /** Today's limit prices; null on a no-limit day. */
  limits: { up: Ticks; down: Ticks } | null;
  phase: Phase;
  /** Market-clock now. */
  now: number;
  /** Today's trading date, exchange time. */
  today: string;
  triggers: TriggerConfig;
  /** Whether the user holds shares (onBreak only matters then). */
  held: boolean;
  /** Snapshots needed to confirm a seal; default 2. */
  sealConfirm?: number;
  /** Freshness limit; default 30 s (see SealGate). */
  maxAgeMs?: number;
}

interface EventBase {
  symbol: string;
  at: number;
}
export type MonitorEvent =
  | (EventBase & { type: 'SealFormed'; segment: number; sealAmount: Yuan })
  | (EventBase & {
      type: 'SealWeakening';
      segment: number;
      sealAmount: Yuan;
      segmentPeak: Yuan;
      dropPct: number;
    })
  | (EventBase & { type: 'Triggered'; evidence: TriggerEvidence })
  | (EventBase & {
      type: 'BoardBroken';
      segment: number;
      bid1: Ticks | null;
      last: Ticks;
      triggered: boolean;
    })
  | (EventBase & { type: 'Resealed'; segment: number; sealAmount: Yuan })
  | (EventBase & { type: 'LimitDownSealed'; sealAmount: Yuan })
  | (EventBase & { type: 'LimitDownOpened'; peak: Yuan });

export interface StepResult {
  state: MonitorState;
  events: MonitorEvent[];
}

const NO_EVENTS: MonitorEvent[] = [];
Object.freeze(NO_EVENTS);

/**
 * "No step yet" for lastStepAt and lastTs: a number and not null, because V8 keeps a field that is
 * only ever a number as a box it rewrites in place, while a `number | null` field gets a freshly
 * allocated heap number on every step (about 5,000 a second at 5,000 watched, each an old-to-young
 * pointer the next scavenge must follow). No real market time is negative.
 */
export const NEVER = -1;

export function initialMonitorState(symbol: string, day: string): MonitorState {
  return {
    v: 1,
    symbol,
    day,
    status: 'idle',
    segment: 0,
    run: 0,
    runStart: null,
    segmentStart: null,
    lastStepAt: NEVER,
    lastTs: NEVER,
    sealAmount: 0,
    segmentPeak: 0,
    dayPeak: 0,
    warned: false,
    triggered: false,
    breakPending: false,
    streak: { amount: 0, dropFromPeak: 0, dropInWindow: 0, capRatio: 0 },
    window: [],
    down: { status: 'idle', run: 0, sealAmount: 0, peak: 0 },
  };
}

function isArmed(status: SealStatus): boolean {
  return status === 'sealed' || status === 'resealed' || status === 'weakening' || status === 'triggered';
}

/** A copy safe to advance: window entries are replaced, never edited, so copying the array suffices. */
export function cloneMonitorState(st: MonitorState): MonitorState {
  return {
    ...st,
    streak: { ...st.streak },
    window: st.window.slice(),
    down: { ...st.down },
  };
}

/**
 * The pure reducer: `prev` is left untouched. Quiet steps (auctions, stale or foreign snapshots)
 * return `prev` itself and no events.
 */
export function step(prev: MonitorState, s: Snapshot, ctx: MonitorContext): StepResult {
  if (prev.day === ctx.today && !relevant(s, ctx, prev.symbol)) return { state: prev, events: NO_EVENTS };
  const st = cloneMonitorState(prev);
  const events: MonitorEvent[] = [];
  advance(st, s, ctx, events);
  return { state: st, events: events.length > 0 ? events : NO_EVENTS };
}

function relevant(s: Snapshot, ctx: MonitorContext, symbol: string): boolean {
  if (ctx.phase !== 'continuous' || ctx.limits === null || s.symbol !== symbol || s.status !== 'normal')
    return false;
  return isFresh(s, ctx); // the context is a SealGate
}

/**
 * The same transition, updating `st` in place and appending to `events`. For the engine's hot
 * path, where copying 5,000 states per poll would cost more than the decision itself; the caller
 * owns `st` and must not share it.
 */
export function advance(st: MonitorState, s: Snapshot, ctx: MonitorContext, events: MonitorEvent[]): void {
  if (st.day !== ctx.today) Object.assign(st, initialMonitorState(st.symbol, ctx.today));
  if (!relevant(s, ctx, st.symbol) || ctx.limits === null) return;
  const baseline = st.lastStepAt === NEVER || ctx.now - st.lastStepAt > GAP_MS;
  st.lastStepAt = ctx.now;
  if (!baseline && st.lastTs !== NEVER && s.ts <= st.lastTs) return;
  st.lastTs = s.ts;
  if (baseline) {
    st.window.length = 0;
    resetStreak(st);
  }
  stepUp(st, s, ctx, ctx.limits.up, baseline, events);
  stepDown(st, s, ctx, ctx.limits.down, events);
}

/**
 * advance() for a snapshot no newer than the last one stepped (a source polled faster than the
 * exchange's 3 s repeats itself): only the observation time moves, and only if the snapshot
 * counts at all. True when that was the whole step (done in place); false when advance() must
 * run (another day, a gap that makes this a baseline, a newer snapshot). For the hot path, where
 * most snapshots are repeats: the caller can skip everything a real step needs (triggers, the
 * position). test/domain/sealMonitor.repeat.test.ts checks it against advance() on random runs.
 */
export function repeatStep(st: MonitorState, s: Snapshot, ctx: MonitorContext): boolean {
  if (st.day !== ctx.today || st.lastTs === NEVER || s.ts > st.lastTs) return false;
  if (st.lastStepAt === NEVER || ctx.now - st.lastStepAt > GAP_MS) return false;
  if (relevant(s, ctx, st.symbol) && ctx.limits !== null) st.lastStepAt = ctx.now;
  return true;
}

function resetStreak(st: MonitorState): void {
  const k = st.streak;
  k.amount = 0;
  k.dropFromPeak = 0;
  k.dropInWindow = 0;
  k.capRatio = 0;
}

function stepUp(
  st: MonitorState,
  s: Snapshot,
  ctx: MonitorContext,
  limitUp: Ticks,
  baseline: boolean,
  events: MonitorEvent[],
): void {
  const sealedBook = bookSealedUp(s, limitUp);
  const need = Math.max(1, ctx.sealConfirm ?? DEFAULT_SEAL_CONFIRM);

  if (isArmed(st.status)) {
    if (!sealedBook) {
      breakBoard(st, s, ctx, baseline, events);
      return;
    }
    const amount = sealAmountUp(s);
    track(st, s.ts, amount, ctx.triggers);
    if (!baseline && st.status !== 'triggered') evaluate(st, s, ctx, events);
    return;
  }

  if (sealedBook) {
    const amount = sealAmountUp(s);
    if (st.status !== 'sealing') {
      st.status = 'sealing';
      st.run = 0;
      st.runStart = s.ts;
      st.segmentPeak = 0;
      st.breakPending = false;
    }
    st.run += 1;
    // The run's snapshots are part of the segment once it is confirmed, so they count for its peak.
    st.sealAmount = amount;
    if (amount > st.segmentPeak) st.segmentPeak = amount;
    if (amount > st.dayPeak) st.dayPeak = amount;
    if (st.run >= need) formSegment(st, s, ctx, amount, baseline, events);
    return;
  }

  if (st.status === 'sealing') {
    st.status = st.segment > 0 ? 'broken' : 'idle';
    st.run = 0;
    st.runStart = null;
    return;
  }
  if (st.status === 'broken' && st.breakPending && !baseline) {
    st.breakPending = false;
    if (ctx.held && ctx.triggers.onBreak && !st.triggered) fireOnBreak(st, s, events);
  }
}

function formSegment(
  st: MonitorState,
  s: Snapshot,
  ctx: MonitorContext,
  amount: Yuan,
  baseline: boolean,
  events: MonitorEvent[],
): void {
  st.segment += 1;
  st.status = st.segment === 1 ? 'sealed' : 'resealed';
  st.segmentStart = st.runStart;
  st.run = 0;
  st.warned = false;
  st.triggered = false;
  st.breakPending = false;
  resetStreak(st);
  st.window.length = 0;
  track(st, s.ts, amount, ctx.triggers);
  events.push(
    st.segment === 1
      ? { type: 'SealFormed', symbol: st.symbol, at: s.ts, segment: st.segment, sealAmount: amount }
      : { type: 'Resealed', symbol: st.symbol, at: s.ts, segment: st.segment, sealAmount: amount },
  );
  // A seal that is already weak when it forms is, by the user's own rule, weak.
  if (!baseline) evaluate(st, s, ctx, events);
}

/** Seal, peaks and window for a sealed snapshot. */
function track(st: MonitorState, ts: number, amount: Yuan, cfg: TriggerConfig): void {
  st.sealAmount = amount;
  if (amount > st.segmentPeak) st.segmentPeak = amount;
  if (amount > st.dayPeak) st.dayPeak = amount;
  const w = cfg.dropInWindow;
  if (w == null) {
    st.window.length = 0;
    return;
  }
  const from = ts - w.windowSec * 1000;
  const next = st.window;
  while (next.length > 0 && (next[next.length - 1] as [number, Yuan])[1] <= amount) next.pop();
  next.push([ts, amount]);
  while (next.length > 1 && ((next[0] as [number, Yuan])[0] < from || next.length > WINDOW_CAP)) next.shift();
}

function reading(st: MonitorState, s: Snapshot): SealReading {
  const front = st.window[0];
  return {
    at: s.ts,
    segment: st.segment,
    sealAmount: st.sealAmount,
    segmentPeak: st.segmentPeak,
    dayPeak: st.dayPeak,
    windowPeak: front ? front[1] : 0,
    floatMarketCap: s.floatMarketCap,
  };
}

function evaluate(st: MonitorState, s: Snapshot, ctx: MonitorContext, events: MonitorEvent[]): void {
  const cfg = ctx.triggers;
  const r = reading(st, s);
  const confirm = Math.max(0, cfg.confirm ?? 0);
  const streak = st.streak;
  let fired: SealRule | null = null;
  let warns = false;
  for (const rule of SEAL_RULES) {
    if (ruleHolds(rule, cfg, r)) {
      streak[rule] += 1;
      if (fired === null && streak[rule] > confirm) fired = rule;
    } else {
      streak[rule] = 0;
    }
    if (!warns && !st.warned && ruleWarns(rule, cfg, r)) warns = true;
  }
  if (fired !== null) {
    st.status = 'triggered';
    st.triggered = true;
    resetStreak(st);
    events.push({ type: 'Triggered', symbol: st.symbol, at: s.ts, evidence: evidenceFor(fired, cfg, r) });
    return;
  }
  if (warns) {
    st.warned = true;
    st.status = 'weakening';
    events.push({
      type: 'SealWeakening',
      symbol: st.symbol,
      at: s.ts,
      segment: st.segment,
      sealAmount: st.sealAmount,
      segmentPeak: st.segmentPeak,
      dropPct: dropPct(st.sealAmount, st.segmentPeak),
    });
  }
}

function breakBoard(
  st: MonitorState,
  s: Snapshot,
  ctx: MonitorContext,
  baseline: boolean,
  events: MonitorEvent[],
): void {
  st.status = 'broken';
  resetStreak(st);
  st.window.length = 0;
  const bid1 = s.bids[0];
  events.push({
    type: 'BoardBroken',
    symbol: st.symbol,
    at: s.ts,
    segment: st.segment,
    bid1: bid1 ? bid1[0] : null,
    last: s.last,
    triggered: st.triggered,
  });
  if (!ctx.held || !ctx.triggers.onBreak || st.triggered) return;
  // We do not know when, in the gap, the board opened: confirm it is still open before selling.
  if (baseline) st.breakPending = true;
  else fireOnBreak(st, s, events);
}

function fireOnBreak(st: MonitorState, s: Snapshot, events: MonitorEvent[]): void {
  st.triggered = true;
  const r = reading(st, s);
  events.push({ type: 'Triggered', symbol: st.symbol, at: s.ts, evidence: evidenceFor('onBreak', {}, r) });
}

/** Limit-down seals are reported, never acted on: there is nobody to sell to. */
function stepDown(
  st: MonitorState,
  s: Snapshot,
  ctx: MonitorContext,
  limitDown: Ticks,
  events: MonitorEvent[],
): void {
  const sealed = bookSealedDown(s, limitDown);
  const d = st.down;
  if (!sealed && d.status === 'idle') return;
  const need = Math.max(1, ctx.sealConfirm ?? DEFAULT_SEAL_CONFIRM);
  const next = d; // mutated in place, see advance()
  if (!sealed) {
    if (d.status === 'sealed')
      events.push({ type: 'LimitDownOpened', symbol: st.symbol, at: s.ts, peak: d.peak });
    next.status = 'idle';
    next.run = 0;
    return;
  }
  const amount = sealAmountDown(s);
  next.sealAmount = amount;
  if (d.status === 'sealed') {
    if (amount > next.peak) next.peak = amount;
    return;
  }
  next.run += 1;
  next.status = 'sealing';
  if (next.run >= need) {
    next.status = 'sealed';
    next.run = 0;
    next.peak = amount;
    events.push({ type: 'LimitDownSealed', symbol: st.symbol, at: s.ts, sealAmount: amount });
  }
}
