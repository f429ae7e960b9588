/**
 * Keeps the watched symbols' snapshots flowing: polls the union of watched symbols every interval
 * in as few requests as the source's batch limit allows, hands each response's snapshots on the
 * moment it arrives (a trigger must reach the broker in the cycle that showed it), falls over to
 * the next source when one keeps failing and returns to the primary once it answers again, and
 * says when a watched symbol has gone quiet during continuous trading.
 *
 * Failover works at two speeds. Within a cycle, batches the current source failed, and stocks it
 * answered without, are asked of the next source straight away, so a flaky primary costs
 * latency, not data. Across cycles, after `failoverAfter` consecutive failing cycles, or at once
 * when a request missed its deadline (a slow source stays slow: a 1 byte/s trickle once held the
 * guard 75 s), the next source becomes the current one, and the primary is probed in the
 * background every `probeEveryMs` (market clock) until it answers.
 *
 * Every request has a total deadline tied to the poll interval. Each answer's timing and Date
 * header go to `onTime`, from which the live market clock measures the exchange's time; so do the
 * stream's quote times (at most once a second).
 *
 * A StreamingFeed first in the list is the primary; polling runs only while the stream is not open.
 */
import { performance } from 'node:perf_hooks';
import { BatchPositions } from '../domain/batchPositions.ts';
import type { Clock, TimeEvidence } from '../domain/clock.ts';
import { isContinuous } from '../domain/session.ts';
import type { Snapshot } from '../domain/types.ts';
import { securityOf } from './codes.ts';
import type { PollingFeed, QuoteFeed, StreamState, StreamingFeed } from './feed.ts';
import { QuoteHttpError } from './httpClient.ts';
import type { QuoteSource, SnapshotSink, SourceStatus } from './source.ts';
import { compareUnits } from './unitCheck.ts';

export type FeedEvent =
  | { type: 'FeedStale'; at: number; symbols: string[]; since: number; source: string }
  | { type: 'SourceChanged'; at: number; from: string; to: string; reason: string };

export type FeedEventType = FeedEvent['type'];

export interface SourceHealth {
  name: string;
  active: boolean;
  /** Market-clock ms of the last answered request. */
  lastSuccessAt: number | null;
  lastErrorAt: number | null;
  lastError: string | null;
  /** Market clock now minus the newest snapshot's exchange time this source ever answered. */
  lastQuoteAgeMs: number | null;
  consecutiveFailures: number;
  /** Answering: no failure since its last good cycle, and that cycle is recent. */
  ok: boolean;
}

/** Where problems are reported (the app's HealthBoard; structural, so no engine import). */
export interface HealthSink {
  set(key: string, component: string, level: 'warn' | 'error', text: string): boolean;
  clear(key: string): boolean;
}

export interface FeedManagerOptions {
  clock: Clock;
  /** Ordered by preference (QUOTE_SOURCES). At least one polling feed unless the stream is all. */
  feeds: QuoteFeed[];
  /** Where batches go; or given to start() (the QuoteSource way). */
  onSnapshots?: (snaps: Snapshot[]) => void;
  /** Wall ms between cycle starts (POLL_INTERVAL_MS). */
  intervalMs?: number;
  /** Consecutive failing cycles before the next source takes over. */
  failoverAfter?: number;
  /** Market-clock ms between background probes of the primary while on a fallback. */
  probeEveryMs?: number;
  /** Requests in flight at once per cycle. */
  concurrency?: number;
  /** A watched symbol with no snapshot this fresh (market clock) in continuous trading is stale. */
  staleAfterMs?: number;
  /** Total deadline of one request, retries included; default twice the interval, 1.5-10 s. */
  deadlineMs?: number;
  /** onSnapshots or a listener threw; the feed keeps running. */
  onError?: (err: unknown) => void;
  /** Timing of every answer (send/receive, Date header, newest quote time). */
  onTime?: (e: TimeEvidence) => void;
  /** Failing, slow or incomplete sources are reported here (component 'feed'). */
  health?: HealthSink;
  /** Monotonic ms between unit cross-checks of a `crossCheckUnits` stream; the first soon after it opens. */
  unitCheckEveryMs?: number;
}

interface Health extends Omit<SourceHealth, 'ok' | 'lastQuoteAgeMs'> {
  feed: PollingFeed;
  /** Newest exchange time answered (epoch ms). */
  newestQuote: number | null;
  /** Monotonic ms of the end of the last cycle in which it failed nothing. */
  lastGoodAt: number | null;
  /** The last failure was a missed deadline. */
  slow: boolean;
}

/** When a watched symbol last had a fresh quote; `live` false once it is no longer watched. */
interface Freshness {
  readonly symbol: string;
  at: number;
  stale: boolean;
  live: boolean;
}

export class FeedManager implements QuoteSource {
  private readonly clock: Clock;
  private readonly polling: Health[];
  private readonly stream: StreamingFeed | null;
  private readonly intervalMs: number;
  private readonly failoverAfter: number;
  private readonly probeEveryMs: number;
  private readonly concurrency: number;
  private readonly staleAfterMs: number;
  private readonly deadlineMs: number;
  private symbols: string[] = [];
  private active = 0;
  private streamOpen = false;
  private running = false;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private current: Promise<void> | null = null;
  private probe: Promise<void> | null = null;
  private lastProbeAt = -Infinity;
  private abort = new AbortController();
  /**
   * Per watched symbol, when its last fresh quote came and whether it is stale: one object, so
   * each delivered quote costs one lookup (Map lookups were the largest single cost of a poll),
   * and the time is written into the object instead of boxed anew into a Map per quote.
   */
  private readonly lastFresh = new Map<string, Freshness>();
  /** Freshness entries of a polled batch by position: no lookup by symbol per snapshot. */
  private readonly batches = new BatchPositions<Freshness>();
  /** Market time continuous trading last (re)started: quiet time outside it is nobody's fault. */
  private continuousSince = -Infinity;
  /**
   * No symbol can go stale before this market time: the earliest freshness among the non-stale,
   * plus staleAfterMs, as of the last scan. Freshness only moves later (new symbols and fresh
   * quotes are stamped `now`), so it stays a lower bound, and checkStale, run after every answer,
   * walks the whole map only when something may be due instead of 10 times a second.
   */
  private staleScanDue = -Infinity;
  private staleCheckedAt = -Infinity;
  /** The stream's latest snapshot per symbol, kept only for the unit cross-check. */
  private readonly streamLast = new Map<string, Snapshot>();
  private batchCache: { symbols: string[]; size: number; batches: string[][] } | undefined;
  private streamDisabled = false;
  private unitCheck: Promise<void> | null = null;
  private lastUnitCheckAt = -Infinity;
  /** Newest streamed quote time since the last clock observation, and when that was (monotonic). */
  private streamNewest = -Infinity;
  private streamTimeAt = -Infinity;
  private readonly listeners = new Map<FeedEventType, Set<(e: FeedEvent) => void>>();

  private sink: SnapshotSink;

  constructor(private readonly opts: FeedManagerOptions) {
    this.sink = { onSnapshots: opts.onSnapshots ?? (() => {}) };
    this.clock = opts.clock;
    this.stream = opts.feeds[0]?.kind === 'stream' ? opts.feeds[0] : null;
    this.polling = opts.feeds
      .filter((f): f is PollingFeed => f.kind === 'poll')
      .map((feed) => ({
        feed,
        name: feed.name,
        active: false,
        lastSuccessAt: null,
        lastErrorAt: null,
        lastError: null,
        newestQuote: null,
        consecutiveFailures: 0,
        lastGoodAt: null,
        slow: false,
      }));
    if (this.polling.length === 0 && !this.stream) throw new Error('FeedManager: no quote source configured');
    this.intervalMs = opts.intervalMs ?? 1000;
    this.failoverAfter = opts.failoverAfter ?? 3;
    this.probeEveryMs = opts.probeEveryMs ?? 30_000;
    this.concurrency = Math.max(1, opts.concurrency ?? 4);
    this.staleAfterMs = opts.staleAfterMs ?? 10_000;
    this.deadlineMs = opts.deadlineMs ?? Math.min(10_000, Math.max(1500, 2 * this.intervalMs));
  }

  on<T extends FeedEventType>(type: T, listener: (e: Extract<FeedEvent, { type: T }>) => void): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    const fn = listener as (e: FeedEvent) => void;
    set.add(fn);
    return () => set.delete(fn);
  }

  /** Replaces the watched set. New symbols get one staleness window of grace. */
  setSymbols(symbols: string[]): void {
    const next = [...new Set(symbols)];
    const now = this.clock.now();
    const keep = new Set(next);
    for (const s of next)
      if (!this.lastFresh.has(s)) this.lastFresh.set(s, { symbol: s, at: now, stale: false, live: true });
    for (const [s, f] of [...this.lastFresh]) {
      if (keep.has(s)) continue;
      f.live = false;
      this.lastFresh.delete(s);
    }
    this.symbols = next;
    this.stream?.setSymbols(next);
  }

  /** Name of the source delivering now. */
  activeSource(): string {
    if (this.stream && (this.streamOpen || this.polling.length === 0)) return this.stream.name;
    return this.polling[this.active]!.name;
  }

  health(): SourceHealth[] {
    const now = this.clock.now();
    const mono = performance.now();
    // A good cycle older than this means the source is stuck, whatever its counters say.
    const overdue = 2 * this.intervalMs + this.deadlineMs;
    const out: SourceHealth[] = this.polling.map((h, i) => ({
      name: h.name,
      active: !this.streamOpen && i === this.active,
      lastSuccessAt: h.lastSuccessAt,
      lastErrorAt: h.lastErrorAt,
      lastError: h.lastError,
      lastQuoteAgeMs: h.newestQuote === null ? null : now - h.newestQuote,
      consecutiveFailures: h.consecutiveFailures,
      ok:
        h.consecutiveFailures === 0 &&
        h.lastGoodAt !== null &&
        (i !== this.active || this.streamOpen || !this.running || mono - h.lastGoodAt <= overdue),
    }));
    if (this.stream) {
      out.unshift({
        name: this.stream.name,
        active: this.streamOpen,
        lastSuccessAt: null,
        lastErrorAt: null,
        lastError: this.streamOpen ? null : 'stream not open',
        lastQuoteAgeMs: null,
        consecutiveFailures: 0,
        ok: this.streamOpen,
      });
    }
    return out;
  }

  /** For /status: the health() rows as the engine shows them. */
  status(): SourceStatus[] {
    return this.health().map((h) => ({
      name: h.name,
      active: h.active,
      ok: h.ok,
      ...(h.lastQuoteAgeMs !== null ? { lastQuoteAgeMs: h.lastQuoteAgeMs } : {}),
      ...(h.lastError ? { lastError: h.lastError } : {}),
    }));
  }

  /** Starts polling (and the stream); symbols and the batch handler may be given here instead. */
  start(symbols?: string[], sink?: SnapshotSink): void {
    if (symbols) this.setSymbols(symbols);
    if (sink) this.sink = sink;
    if (this.running) return;
    this.running = true;
    this.stopped = false;
    this.abort = new AbortController();
    this.stream?.start(
      this.symbols,
      (s) => {
        if (this.streamDisabled) return;
        if (this.stream?.crossCheckUnits) this.streamLast.set(s.symbol, s);
        this.streamTime(s.ts);
        this.deliver([s]);
      },
      (state, detail) => this.onStreamState(state, detail),
    );
    const loop = (): void => {
      if (!this.running) return;
      const started = performance.now();
      this.current = this.cycle().finally(() => {
        this.current = null;
        if (!this.running) return;
        this.timer = setTimeout(loop, Math.max(0, this.intervalMs - (performance.now() - started)));
      });
    };
    loop();
  }

  /** Stops polling and the stream; resolves once nothing is in flight. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.abort.abort();
    await Promise.allSettled([this.current, this.probe, this.unitCheck, this.stream?.stop()]);
  }

  /** One poll cycle (start() runs these back to back; tests call it directly). */
  async cycle(): Promise<void> {
    this.maybeCheckUnits();
    const pollNow = !this.streamOpen && this.polling.length > 0 && this.symbols.length > 0;
    if (pollNow) {
      this.maybeProbe();
      let remaining = this.symbols;
      for (let i = this.active; i < this.polling.length && remaining.length > 0; i++) {
        const h = this.polling[i]!;
        const { failed, missing } = await this.pollAll(h, remaining);
        if (!this.stopped) this.reportMissing(h, missing, this.polling[i + 1]?.name);
        if (i === this.active) this.account(failed.length > 0);
        else if (failed.length === 0 && !this.stopped) this.good(h);
        // Stocks the source answered without are asked of the next one in the same cycle.
        remaining = [...failed, ...missing];
      }
    }
    this.checkStale();
  }

  private account(failed: boolean): void {
    const h = this.polling[this.active]!;
    if (this.stopped) return; // requests aborted by stop() say nothing about the source
    if (!failed) {
      this.good(h);
      return;
    }
    h.consecutiveFailures++;
    const next = this.polling[this.active + 1];
    const why = h.slow
      ? `${h.name} missed the ${this.deadlineMs} ms deadline: ${h.lastError ?? ''}`
      : `${h.name} failed ${h.consecutiveFailures} cycles in a row: ${h.lastError ?? ''}`;
    if (next && (h.slow || h.consecutiveFailures >= this.failoverAfter)) {
      this.switchTo(this.active + 1, why);
      this.opts.health?.set(
        `feed:source:${h.name}`,
        'feed',
        'warn',
        `Quote source ${h.name} is failing (${h.lastError ?? 'no answer'}); quotes now come from ${next.name}.`,
      );
    } else if (!next && (h.slow || h.consecutiveFailures >= this.failoverAfter)) {
      this.opts.health?.set(
        `feed:source:${h.name}`,
        'feed',
        'error',
        `Quote source ${h.name} is failing (${h.lastError ?? 'no answer'}) and no other source is configured (QUOTE_SOURCES).`,
      );
    }
  }

  /** A cycle in which `h` failed nothing. */
  private good(h: Health): void {
    h.consecutiveFailures = 0;
    h.slow = false;
    h.lastGoodAt = performance.now();
    this.opts.health?.clear(`feed:source:${h.name}`);
  }

  /** A source answering without some requested stocks is failing for them (issue 16). */
  private reportMissing(h: Health, missing: string[], next: string | undefined): void {
    const key = `feed:missing:${h.name}`;
    if (missing.length === 0) {
      this.opts.health?.clear(key);
      return;
    }
    const shown =
      missing.slice(0, 5).join(', ') + (missing.length > 5 ? ` and ${missing.length - 5} more` : '');
    this.opts.health?.set(
      key,
      'feed',
      'warn',
      `Quote source ${h.name} answers without ${shown}${next ? `; asking ${next} for ${missing.length > 1 ? 'them' : 'it'}` : ''}.`,
    );
  }

  private switchTo(index: number, reason: string): void {
    const from = this.activeSource();
    this.active = index;
    this.lastProbeAt = this.clock.now();
    this.emit({ type: 'SourceChanged', at: this.clock.now(), from, to: this.polling[index]!.name, reason });
  }

  /** While on a fallback, asks the primary for one small batch in the background. */
  private maybeProbe(): void {
    if (this.active === 0 || this.probe || this.clock.now() - this.lastProbeAt < this.probeEveryMs) return;
    this.lastProbeAt = this.clock.now();
    const primary = this.polling[0]!;
    const sample = this.symbols.slice(0, Math.min(20, primary.feed.maxBatch));
    this.probe = this.request(primary, sample)
      .then((ok) => {
        if (ok !== null && !this.stopped && this.active !== 0) {
          this.good(primary);
          this.switchTo(0, `${primary.name} answered again`);
        }
      })
      .finally(() => {
        this.probe = null;
      });
  }

  /**
   * The same symbols give the same batch arrays from cycle to cycle (the adapters keep what they
   * derive from a batch, such as its URL, by the array).
   */
  private batchesOf(symbols: string[], size: number): string[][] {
    const c = this.batchCache;
    if (c && c.symbols === symbols && c.size === size) return c.batches;
    const batches: string[][] = [];
    for (let i = 0; i < symbols.length; i += size) batches.push(symbols.slice(i, i + size));
    this.batchCache = { symbols, size, batches };
    return batches;
  }

  /**
   * Polls `symbols` from one source in batches, bounded concurrency. Returns the symbols of the
   * batches it failed, and the (valid) symbols it answered without.
   */
  private async pollAll(h: Health, symbols: string[]): Promise<{ failed: string[]; missing: string[] }> {
    const batches = this.batchesOf(symbols, Math.max(1, h.feed.maxBatch));
    const failed: string[] = [];
    const missing: string[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < batches.length) {
        const batch = batches[next++]!;
        const got = await this.request(h, batch, true);
        if (got === null) failed.push(...batch);
        else for (const m of got) if (securityOf(m)) missing.push(m);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, batches.length) }, worker));
    return { failed, missing };
  }

  /**
   * One request; delivers its snapshots at once when `deliver`. The requested symbols it answered
   * without when the source answered, null when it failed.
   */
  private async request(h: Health, batch: string[], deliver = false): Promise<string[] | null> {
    try {
      const res = await h.feed.fetch(batch, this.abort.signal, this.deadlineMs);
      const now = this.clock.now();
      h.lastSuccessAt = now;
      let newest = -Infinity;
      for (const s of res.snapshots) if (s.ts > newest) newest = s.ts;
      if (newest > -Infinity && (h.newestQuote === null || newest > h.newestQuote)) h.newestQuote = newest;
      if (res.timing && this.opts.onTime && !this.stopped) {
        try {
          this.opts.onTime({ ...res.timing, newestQuote: newest > -Infinity ? newest : null });
        } catch (err) {
          this.opts.onError?.(err);
        }
      }
      if (deliver && res.snapshots.length > 0) this.deliver(res.snapshots);
      return res.missing;
    } catch (err) {
      h.lastErrorAt = this.clock.now();
      h.lastError = err instanceof Error ? err.message : String(err);
      if (err instanceof QuoteHttpError && err.kind === 'deadline') h.slow = true;
      return null;
    }
  }

  /**
   * A streamed quote stamped T and heard now proves the exchange is at least at T now, like a
   * polled answer's newest quote (no Date header: a lower bound only). At most one observation a
   * second, of the newest time heard since the last, so 5,000 streamed stocks cost nothing.
   */
  private streamTime(ts: number): void {
    if (!this.opts.onTime || this.stopped) return;
    if (ts > this.streamNewest) this.streamNewest = ts;
    const mono = performance.now();
    if (mono - this.streamTimeAt < 1000) return;
    this.streamTimeAt = mono;
    const newestQuote = this.streamNewest;
    this.streamNewest = -Infinity;
    try {
      this.opts.onTime({ sentAt: mono, receivedAt: mono, serverDate: null, newestQuote });
    } catch (err) {
      this.opts.onError?.(err);
    }
  }

  private deliver(snaps: Snapshot[]): void {
    const now = this.clock.now();
    const staleAfterMs = this.staleAfterMs;
    const byPosition = this.batches.of(snaps);
    for (let i = 0; i < snaps.length; i++) {
      const s = snaps[i]!;
      // Written so that a NaN time is never fresh.
      if (!(now - s.ts <= staleAfterMs)) continue;
      let f = byPosition?.[i];
      if (f === undefined || !f.live || f.symbol !== s.symbol) {
        f = this.lastFresh.get(s.symbol);
        if (byPosition !== undefined) byPosition[i] = f;
      }
      if (f === undefined) continue;
      f.at = now;
      f.stale = false;
    }
    try {
      this.sink.onSnapshots(snaps);
    } catch (err) {
      this.opts.onError?.(err);
    }
  }

  private checkStale(): void {
    const now = this.clock.now();
    let continuous: boolean;
    try {
      continuous = isContinuous(now);
    } catch {
      continuous = false; // no calendar for this year: fail closed, no trading, nothing is stale
    }
    if (!continuous) {
      this.continuousSince = Infinity;
      this.staleScanDue = -Infinity;
      return;
    }
    if (this.continuousSince === Infinity) this.continuousSince = now;
    // A clock stepped back (a corrected host clock, a test) makes the bound meaningless: rescan.
    if (now < this.staleCheckedAt) this.staleScanDue = -Infinity;
    this.staleCheckedAt = now;
    if (now < this.staleScanDue) return;
    const fresh: string[] = [];
    let since = Infinity;
    let earliest = Infinity;
    const continuousSince = this.continuousSince;
    const staleAfterMs = this.staleAfterMs;
    // forEach, not for-of: no [key, value] pair allocated per entry.
    this.lastFresh.forEach((f, symbol) => {
      if (f.stale) return;
      const at = f.at;
      const from = Math.max(at, continuousSince);
      if (now - from > staleAfterMs) {
        fresh.push(symbol);
        since = Math.min(since, at);
      } else earliest = Math.min(earliest, from);
    });
    // With every symbol stale, the next one freshened is stamped now or later.
    this.staleScanDue = Math.min(earliest, now) + staleAfterMs;
    if (fresh.length === 0) return;
    for (const s of fresh) this.lastFresh.get(s)!.stale = true;
    this.emit({ type: 'FeedStale', at: now, symbols: fresh, since, source: this.activeSource() });
  }

  /**
   * While a `crossCheckUnits` stream delivers, asks the first polling source for up to 20 of the
   * stocks it has streamed and compares volumes; 100x or 0.01x on most of them stops the stream
   * for good (until restart): polling takes over and the user is told why.
   */
  private maybeCheckUnits(): void {
    const stream = this.stream;
    const ref = this.polling[0];
    if (!stream?.crossCheckUnits || !ref || !this.streamOpen || this.streamDisabled || this.unitCheck) return;
    const every = this.opts.unitCheckEveryMs ?? 300_000;
    if (performance.now() - this.lastUnitCheckAt < every || this.streamLast.size === 0) return;
    this.lastUnitCheckAt = performance.now();
    const sample = [...this.streamLast.keys()].slice(0, Math.min(20, ref.feed.maxBatch));
    this.unitCheck = ref.feed
      .fetch(sample, this.abort.signal, this.deadlineMs)
      .then((res) => {
        if (this.stopped || this.streamDisabled) return;
        const mine = sample.map((s) => this.streamLast.get(s)).filter((s): s is Snapshot => !!s);
        const v = compareUnits(mine, res.snapshots);
        if (v.factor === null) return;
        this.streamDisabled = true;
        const way = v.factor === 100 ? '100 times' : 'a hundredth of';
        this.opts.health?.set(
          `feed:units:${stream.name}`,
          'feed',
          'error',
          `Quote source ${stream.name} shows volumes ${way} ${ref.name}'s (e.g. ${v.example}; lots vs shares?): its seal amounts would be wrong, so it is stopped and quotes come from ${ref.name}. Check the bridge's unit conversion, then restart SealGuard.`,
        );
        this.onStreamState('closed', `units disagree with ${ref.name} (${way})`);
        void stream.stop().catch(() => undefined);
      })
      .catch(() => undefined) // the reference failing says nothing about the stream's units
      .finally(() => {
        this.unitCheck = null;
      });
  }

  private onStreamState(state: StreamState, detail?: string): void {
    if (this.streamDisabled && state === 'open') return;
    const wasOpen = this.streamOpen;
    this.streamOpen = state === 'open';
    if (this.streamOpen && !wasOpen) this.lastUnitCheckAt = -Infinity;
    if (wasOpen === this.streamOpen || this.polling.length === 0 || !this.stream) return;
    const poller = this.polling[this.active]!.name;
    this.emit({
      type: 'SourceChanged',
      at: this.clock.now(),
      from: wasOpen ? this.stream.name : poller,
      to: wasOpen ? poller : this.stream.name,
      reason: wasOpen ? `stream ${state}${detail ? `: ${detail}` : ''}` : 'stream open',
    });
  }

  private emit(e: FeedEvent): void {
    for (const fn of this.listeners.get(e.type) ?? []) {
      try {
        fn(e);
      } catch (err) {
        this.opts.onError?.(err);
      }
    }
  }
}
