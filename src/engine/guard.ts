/**
 * The guard: keeps the watch list (user codes plus broker holdings), runs one seal monitor per
 * watched stock on every snapshot, publishes what it sees, and hands triggers to the executor in
 * the same cycle that showed them.
 */
import type { Logger } from 'pino';
import type { Broker, Position } from '../broker/broker.ts';
import { BatchPositions } from '../domain/batchPositions.ts';
import type { Clock } from '../domain/clock.ts';
import { floorFromPrevClose } from '../domain/followThrough.ts';
import { formatTicks, toTicks } from '../domain/prices.ts';
import { bookSealedUp, sealAmountUp } from '../domain/seal.ts';
import {
  advance,
  cloneMonitorState,
  repeatStep,
  initialMonitorState,
  NEVER,
  type MonitorContext,
  type MonitorEvent,
  type MonitorState,
} from '../domain/sealMonitor.ts';
import { phaseAt } from '../domain/session.ts';
import { exchangeDate } from '../domain/time.ts';
import type { TriggerConfig } from '../domain/triggers.ts';
import type { Phase, Security, Snapshot, Ticks } from '../domain/types.ts';
import type { EventBus } from './bus.ts';
import { MonitorJournal } from './monitorJournal.ts';
import type { ConfirmDefault, Mode } from '../domain/modes.ts';
import type { GuardEvent } from './events.ts';
import { AccountBook } from './account.ts';
import { MarketBook, type Slot } from './marketBook.ts';
import { NotWatchedError, UnknownCodeError, WatchBook } from './watchBook.ts';
import { Executor, type MarketView } from './executor.ts';
import { guardEventOf } from './translate.ts';
import type { HealthBoard } from './health.ts';
import type { GuardStores, TriggerOverrides, Watch } from './state.ts';

export interface GuardOptions {
  clock: Clock;
  /** Where today's seal-monitor journal lives (monitors/YYYY-MM-DD.jsonl). */
  dataDir: string;
  broker: Broker;
  stores: GuardStores;
  bus: EventBus;
  log: Logger;
  defaultMode: Mode;
  /** DEFAULT_THRESHOLD plus the built-in defaults of the other rules. */
  defaultTriggers: TriggerConfig;
  confirmTimeoutS: number;
  confirmDefault: ConfirmDefault;
  /** Snapshots needed to confirm a seal. */
  confirmSnapshots?: number;
  /** Is this code a real, listed instrument? Resolves its name, or null. */
  lookup?: (symbol: string) => Promise<{ name: string } | null>;
  /** Called whenever the set of symbols to poll changes. */
  onSymbols?: (symbols: string[]) => void;
  positionsRefreshMs?: number;
  /** The account (positions, broker up/down); one of its own when not given. */
  account?: AccountBook;
  /** Where the executor reports unknown order outcomes and failed durable writes. */
  health?: HealthBoard;
  /** Hides secrets in texts that reach a channel or a file. */
  redact?: (text: string) => string;
  /** Why no order may go out today (the calendar: a provisional day not yet confirmed open). */
  sellBlocked?: () => string | undefined;
  /** DEFAULT_FLOOR: the floor of a stock without its own, in hundredths of % from the previous close. */
  defaultFloorCenti?: number;
  replaceAfterMs?: number;
  replaceMax?: number;
}

export interface StockView {
  symbol: string;
  name: string;
  watch?: Watch;
  position?: Position;
  snapshot?: Snapshot;
  limitUp?: string;
  limitDown?: string;
  state: string;
  segment: number;
  sealAmount: number;
  segmentPeak: number;
  dayPeak: number;
  mode: Mode;
  triggers: TriggerConfig;
}

/** A trigger of this batch and the market facts it fired on. */
interface Trigger {
  symbol: string;
  ev: Extract<MonitorEvent, { type: 'Triggered' }>;
  view: MarketView;
}

/**
 * What one snapshot needs of the guard's per-symbol state, found with one lookup: Map lookups
 * were the largest single cost of a poll (perf, 2026-12-02: ~12% of the main thread, three per
 * snapshot here). Both cached answers carry what they were read from and are read again when it
 * changed: `watched` as of the watch book's version, `monitor` from `monitors` as of an epoch.
 */
interface Tracked {
  readonly symbol: string;
  readonly slot: Slot;
  watchedVersion: number;
  watched: boolean;
  epoch: number;
  monitor: MonitorState | undefined;
  /**
   * The symbol's effective triggers, valid with `watched` (WatchBook drops its trigger cache
   * exactly when watchedVersion moves): one Map lookup fewer per stock per poll.
   */
  triggers: TriggerConfig | undefined;
}

export class Guard {
  readonly executor: Executor;
  /** Last snapshot, security and limits per symbol: the one snapshot cache. */
  readonly market: MarketBook;
  private monitors = new Map<string, MonitorState>();
  /** Moves on whenever `monitors` loses entries or is reloaded: Tracked.monitor is then stale. */
  private monitorsEpoch = 0;
  private readonly tracked = new Map<string, Tracked>();
  /** Trackers of a polled batch by position: no lookup by symbol per snapshot. */
  private readonly batches = new BatchPositions<Tracked>();
  private monitorsDay = '';
  private readonly dirty = new Set<string>();
  private readonly journal: MonitorJournal;
  readonly account: AccountBook;
  readonly watchBook: WatchBook;
  private timers: NodeJS.Timeout[] = [];
  private persistTimer: NodeJS.Timeout | undefined;
  private ticking = false;

  constructor(private readonly o: GuardOptions) {
    this.journal = new MonitorJournal(o.dataDir);
    this.market = new MarketBook({ publish: (e) => this.publish(e), now: () => this.now() });
    const account = (this.account =
      o.account ??
      new AccountBook({
        broker: o.broker,
        bus: o.bus,
        clock: o.clock,
        log: o.log,
        ...(o.positionsRefreshMs ? { refreshMs: o.positionsRefreshMs } : {}),
      }));
    this.watchBook = new WatchBook({
      settings: o.stores.settings,
      account,
      clock: o.clock,
      defaultMode: o.defaultMode,
      defaultTriggers: o.defaultTriggers,
      ...(o.lookup ? { lookup: o.lookup } : {}),
      quotedName: (symbol) => this.market.lastSnapshot(symbol)?.name,
    });
    if (o.onSymbols) this.watchBook.onChange(o.onSymbols);
    account.onChange(() => this.watchBook.changed());
    this.executor = new Executor({
      broker: o.broker,
      stores: o.stores,
      bus: o.bus,
      clock: o.clock,
      log: o.log,
      market: this,
      account,
      pause: this.watchBook,
      confirmTimeoutS: o.confirmTimeoutS,
      confirmDefault: o.confirmDefault,
      ...(o.health ? { health: o.health } : {}),
      ...(o.redact ? { redact: o.redact } : {}),
      ...(o.sellBlocked ? { sellBlocked: o.sellBlocked } : {}),
      ...(o.replaceAfterMs !== undefined ? { replaceAfterMs: o.replaceAfterMs } : {}),
      ...(o.replaceMax !== undefined ? { replaceMax: o.replaceMax } : {}),
    });
  }

  private now(): number {
    return this.o.clock.now();
  }

  get stores(): GuardStores {
    return this.o.stores;
  }

  private publish(e: GuardEvent): void {
    this.o.bus.publish(e);
  }

  async start(): Promise<void> {
    const today = exchangeDate(this.now());
    this.monitorsDay = today;
    for (const [sym, st] of await this.journal.load(today)) this.monitors.set(sym, st);
    this.monitorsEpoch++;
    const rec = await this.executor.recover();
    if (rec.expired > 0)
      this.publish({
        type: 'Info',
        at: this.now(),
        text: `${rec.expired} confirm(s) from before the restart were closed; no order was placed from them.`,
      });
    await this.account.start();
    this.watchBook.changed();
    this.timers.push(setInterval(() => void this.tick(), 1000));
  }

  async stop(): Promise<void> {
    this.account.stop();
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (this.persistTimer) clearTimeout(this.persistTimer);
    await this.persistMonitors();
    await this.journal.close();
    await this.o.stores.intentLog?.close();
  }

  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      await this.executor.tick();
    } catch (err) {
      this.o.log.warn({ err }, 'executor tick failed');
    } finally {
      this.ticking = false;
    }
  }

  // ---- watch list -------------------------------------------------------------------------

  sec(symbol: string): Security {
    return this.market.slot(symbol).sec;
  }

  /** Temporary (issue 15 S7): the watch book's own methods, for callers not moved yet. */
  watchedSymbols(): string[] {
    return this.watchBook.watchedSymbols();
  }

  watch(input: string, patch: { threshold?: number; mode?: Mode }): Promise<Watch> {
    return this.watchBook.watch(input, patch);
  }

  unwatch(input: string): Promise<{ symbol: string; wasWatched: boolean; held: boolean }> {
    return this.watchBook.unwatch(input);
  }

  setMode(target: string, mode: Mode): Promise<string[]> {
    return this.watchBook.setMode(target, mode);
  }

  setTriggers(target: string, patch: TriggerOverrides): Promise<TriggerConfig> {
    return this.watchBook.setTriggers(target, patch);
  }

  setFloor(target: string, floor: string | undefined): Promise<void> {
    return this.watchBook.setFloor(target, floor);
  }

  setPaused(paused: boolean): Promise<void> {
    return this.watchBook.setPaused(paused);
  }

  get paused(): boolean {
    return this.watchBook.paused;
  }

  modeOf(symbol: string): Mode {
    return this.watchBook.modeOf(symbol);
  }

  effectiveTriggers(symbol: string | undefined): TriggerConfig {
    return this.watchBook.effectiveTriggers(symbol);
  }

  // ---- broker state -----------------------------------------------------------------------

  /** Temporary (issue 15 S7): the account's own methods, for callers not moved yet. */
  refreshPositions(): Promise<Position[] | undefined> {
    return this.account.refresh();
  }

  brokerStatus(): { ok: boolean | undefined; error: string; positionsAt: number } {
    return this.account.status();
  }

  position(symbol: string): Position | undefined {
    return this.account.position(symbol);
  }

  // ---- market -----------------------------------------------------------------------------

  /**
   * One cycle's snapshots. Decisions for every symbol are made before anything is awaited, then
   * triggers go to the executor at once: the sell leaves in the cycle that showed the weakness.
   * `sealedToday`, when given, receives the snapshots of watched stocks whose monitor has sealed
   * today (after their step): all the day recorder samples, found here without a lookup per quote.
   */
  async onSnapshots(snaps: Snapshot[], sealedToday?: Snapshot[]): Promise<void> {
    const now = this.now();
    const today = exchangeDate(now);
    const phase: Phase = phaseAt(now);
    if (today !== this.monitorsDay) {
      this.monitors.clear();
      this.monitorsEpoch++;
      this.dirty.clear();
      this.monitorsDay = today;
    }
    const watched = this.watchBook.watchedSet();
    const watchedVersion = this.watchBook.watchedVersion;
    const triggers: Trigger[] = [];
    const announce: {
      sec: Security;
      s: Snapshot;
      limits: { up: Ticks; down: Ticks } | null;
      ev: MonitorEvent;
    }[] = [];
    const events: MonitorEvent[] = [];
    // One context for the whole batch, its per-symbol fields set below: no object per snapshot.
    const ctx: MonitorContext = {
      limits: null,
      phase,
      now,
      today,
      triggers: {},
      held: false,
      ...(this.o.confirmSnapshots ? { sealConfirm: this.o.confirmSnapshots } : {}),
    };
    let changed = false;
    const epoch = this.monitorsEpoch;
    const byPosition = this.batches.of(snaps);
    for (let i = 0; i < snaps.length; i++) {
      const s = snaps[i]!;
      let t = byPosition?.[i];
      if (t === undefined || t.symbol !== s.symbol) {
        t = this.tracked.get(s.symbol) ?? this.track(s.symbol);
        if (byPosition !== undefined) byPosition[i] = t;
      }
      if (t === undefined) continue;
      const slot = t.slot;
      this.market.see(s, slot);
      if (t.watchedVersion !== watchedVersion) {
        t.watched = watched.has(s.symbol);
        t.triggers = undefined;
        t.watchedVersion = watchedVersion;
      }
      if (!t.watched) continue;
      if (t.epoch !== epoch) {
        t.monitor = this.monitors.get(s.symbol);
        t.epoch = epoch;
      }
      const st0 = t.monitor;
      if (st0 !== undefined && st0.lastTs !== NEVER && s.ts <= st0.lastTs) {
        // A repeat (polled faster than the exchange's 3 s): most need nothing but the time.
        ctx.limits = this.market.limitsFor(slot, s);
        if (repeatStep(st0, s, ctx)) {
          if (st0.segment > 0) sealedToday?.push(s);
          continue;
        }
      }
      const sec = slot.sec;
      const limits = this.market.limitsFor(slot, s);
      let st = st0;
      if (!st) {
        st = initialMonitorState(s.symbol, today);
        this.monitors.set(s.symbol, st);
        t.monitor = st;
      }
      const held = this.account.sellable(s.symbol) > 0;
      // advance() updates the state in place: the hot path allocates nothing per quiet snapshot.
      events.length = 0;
      const peakBefore = st.segmentPeak;
      const statusBefore = st.status;
      ctx.limits = limits;
      ctx.triggers = t.triggers ??= this.effectiveTriggers(s.symbol);
      ctx.held = held;
      advance(st, s, ctx, events);
      if (st.segment > 0) sealedToday?.push(s);
      if (events.length === 0) {
        // A quiet step can still raise the segment's peak, which dropFromPeak measures from.
        if (st.segmentPeak !== peakBefore || st.status !== statusBefore) {
          changed = true;
          this.markDirty(s.symbol);
        }
        continue;
      }
      this.markDirty(s.symbol);
      for (const ev of events) {
        if (ev.type === 'Triggered') {
          // The facts the sell decides on, as of this snapshot: handed over, not asked back for.
          const view = this.marketView(s.symbol);
          if (view) triggers.push({ symbol: s.symbol, ev, view });
        } else announce.push({ sec, s, limits, ev });
      }
    }
    if (triggers.length > 0) await this.sellFirst(triggers, announce);
    else if (announce.length > 0) {
      // What is announced (a seal, a break) must be on disk first: a process killed right after
      // would otherwise announce the same segment again after its restart.
      await this.persistMonitors();
      for (const a of announce) this.publishMonitorEvent(a.sec, a.s, a.limits, a.ev);
    } else if (changed) this.schedulePersist();
  }

  /**
   * The order before the alert. Channels get nothing (the bus is held) until every sell of the
   * batch has gone to the broker, one macrotask later so the request is written out, or the
   * bus's cap passes, and the seal journal is on disk. Only the intent is written ahead of the
   * broker call; the journal is written once every call is out, so the two fsyncs do not share
   * the disk ahead of the POST (bench poll-to-POST on this machine: the intent's write took
   * 2-8 ms beside the journal's, 1-2.5 ms alone).
   * Why that is safe: a crash after the POST and before the journal loses at most this batch's
   * monitor changes. The seal's segment number was on disk before its SealFormed went out, so
   * after a restart the same seal is seen as the same segment, the trigger gives the same client
   * order id, and the intent log holds that id: the executor sells nothing twice. A seal formed
   * and triggered in this very batch is numbered from the journal again, the same number. Past
   * the cap (a disk taking > 50 ms) a notice may go out before the journal is on disk: after a
   * crash it could be repeated, a lesser harm than an alert held back.
   */
  private async sellFirst(
    triggers: Trigger[],
    announce: { sec: Security; s: Snapshot; limits: { up: Ticks; down: Ticks } | null; ev: MonitorEvent }[],
  ): Promise<void> {
    const release = this.o.bus.hold();
    // Queued in the order they happened (a break before the sell it caused), delivered on release.
    for (const a of announce) this.publishMonitorEvent(a.sec, a.s, a.limits, a.ev);
    let pending = triggers.length;
    let allSent!: () => void;
    const sent = new Promise<void>((r) => (allSent = r));
    // persistMonitors never rejects (a failed write keeps the states dirty and is logged).
    const journal = sent.then(() => this.persistMonitors());
    void journal.then(() => setImmediate(release));
    await Promise.all(
      triggers.map((t) => {
        let done = false;
        const dispatched = (): void => {
          if (done) return;
          done = true;
          if (--pending === 0) allSent();
        };
        return this.executor
          .onTrigger({
            symbol: t.symbol,
            evidence: t.ev.evidence,
            mode: this.modeOf(t.symbol),
            view: t.view,
            dispatched,
          })
          .catch((err) => this.o.log.error({ err, symbol: t.symbol }, 'trigger handling failed'));
      }),
    );
    await journal;
  }

  private publishMonitorEvent(
    sec: Security,
    s: Snapshot,
    limits: { up: Ticks; down: Ticks } | null,
    ev: MonitorEvent,
  ): void {
    const e = guardEventOf(ev, { sec, snapshot: s, limits }, this.now());
    if (e) this.publish(e);
  }

  private schedulePersist(): void {
    if (this.persistTimer) return;
    this.persistTimer = setTimeout(() => {
      this.persistTimer = undefined;
      void this.persistMonitors();
    }, 1000);
  }

  /** Marks a monitor whose state a restart must see (a seal, a break, a new peak). */
  private markDirty(symbol: string): void {
    this.dirty.add(symbol);
  }

  private async persistMonitors(): Promise<void> {
    if (this.persistTimer) {
      clearTimeout(this.persistTimer);
      this.persistTimer = undefined;
    }
    if (this.dirty.size === 0) return;
    // Copies: the live states keep changing while the write is in flight.
    const states: MonitorState[] = [];
    for (const sym of this.dirty) {
      const st = this.monitors.get(sym);
      if (st) states.push(cloneMonitorState(st));
    }
    this.dirty.clear();
    try {
      await this.journal.append(this.monitorsDay, states);
    } catch (err) {
      for (const st of states) this.dirty.add(st.symbol);
      this.o.log.error({ err }, 'could not persist seal monitors');
    }
  }

  marketView(symbol: string): MarketView | undefined {
    let sec: Security;
    try {
      sec = this.sec(symbol);
    } catch {
      return undefined;
    }
    const slot = this.market.find(symbol);
    const s = slot?.last;
    const limits = slot && s ? this.market.limitsFor(slot, s) : null;
    const w = this.o.stores.settings.data.watches[symbol];
    const pos = this.account.position(symbol);
    const view: MarketView = {
      sec,
      name: s?.name ?? w?.name ?? pos?.name ?? symbol,
      limits: limits ? { up: limits.up, down: limits.down } : null,
      sealedNow: !!(s && limits && bookSealedUp(s, limits.up)),
      sellable: pos?.sellable ?? 0,
    };
    if (s) view.snapshot = s;
    if (w?.floor) view.floor = toTicks(w.floor, sec.decimals);
    else if (this.o.defaultFloorCenti !== undefined && s && s.prevClose > 0)
      view.floor = floorFromPrevClose(s.prevClose, this.o.defaultFloorCenti);
    // Alert mode never sells, so it never chases either.
    view.chase = this.effectiveTriggers(symbol).chase !== false && this.modeOf(symbol) !== 'alert';
    return view;
  }

  lastSnapshot(symbol: string): Snapshot | undefined {
    return this.market.lastSnapshot(symbol);
  }

  /** Everything /list shows about one stock. */
  view(symbol: string): StockView {
    const slot = this.market.slot(symbol);
    const sec = slot.sec;
    const s = slot.last;
    const limits = s ? this.market.limitsFor(slot, s) : null;
    const m = this.monitors.get(symbol);
    const w = this.o.stores.settings.data.watches[symbol];
    const pos = this.account.position(symbol);
    const v: StockView = {
      symbol,
      name: s?.name ?? w?.name ?? pos?.name ?? '',
      state: m?.status ?? 'idle',
      segment: m?.segment ?? 0,
      sealAmount: s && limits && bookSealedUp(s, limits.up) ? sealAmountUp(s) : 0,
      segmentPeak: m?.segmentPeak ?? 0,
      dayPeak: m?.dayPeak ?? 0,
      mode: this.modeOf(symbol),
      triggers: this.effectiveTriggers(symbol),
    };
    if (w) v.watch = w;
    if (pos) v.position = pos;
    if (s) v.snapshot = s;
    if (limits) {
      v.limitUp = formatTicks(limits.up, sec.decimals);
      v.limitDown = formatTicks(limits.down, sec.decimals);
    }
    return v;
  }

  /** A symbol's first sight: its Tracked entry, undefined for a code that is not a security. */
  private track(symbol: string): Tracked | undefined {
    let slot: Slot;
    try {
      slot = this.market.slot(symbol);
    } catch {
      return undefined;
    }
    const t: Tracked = {
      symbol,
      slot,
      watchedVersion: -1,
      watched: false,
      epoch: -1,
      monitor: undefined,
      triggers: undefined,
    };
    this.tracked.set(symbol, t);
    return t;
  }

  monitorStates(): Map<string, MonitorState> {
    return this.monitors;
  }
}

export { NotWatchedError, UnknownCodeError };
