/**
 * Keeps the watched symbols' snapshots flowing: polls the union of watched symbols every interval
 * in as few requests as the source's batch limit allows, hands each response's snapshots on the
 * moment it arrives (a trigger must reach the broker in the cycle that showed it), falls over to
 * the next source when one keeps failing and returns to the primary once it answers again, and
 * says when a watched symbol has gone quiet during continuous trading.
 *
 * Failover works at two speeds. Within a cycle, batches the current source failed are asked of
 * the next source straight away, so a flaky primary costs latency, not data. Across cycles, after
 * `failoverAfter` consecutive failing cycles the next source becomes the current one, and the
 * primary is probed in the background every `probeEveryMs` (market clock) until it answers.
 *
 * A StreamingFeed first in the list is the primary; polling runs only while the stream is not open.
 */
import type { Clock } from '../domain/clock.ts';
import { resolveLimits } from '../domain/limits.ts';
import { formatTicks } from '../domain/prices.ts';
import { isContinuous } from '../domain/session.ts';
import { exchangeDate } from '../domain/time.ts';
import type { Snapshot } from '../domain/types.ts';
import { securityOf } from './codes.ts';
import type { PollingFeed, QuoteFeed, StreamState, StreamingFeed } from './feed.ts';

export type FeedEvent =
  | { type: 'FeedStale'; at: number; symbols: string[]; since: number; source: string }
  | { type: 'SourceChanged'; at: number; from: string; to: string; reason: string }
  | { type: 'LimitMismatch'; at: number; symbol: string; name: string; published: string; computed: string };

export type FeedEventType = FeedEvent['type'];

export interface SourceHealth {
  name: string;
  active: boolean;
  /** Market-clock ms of the last answered request. */
  lastSuccessAt: number | null;
  lastErrorAt: number | null;
  lastError: string | null;
  /** Market clock minus the newest snapshot's exchange time in the last answer. */
  lastQuoteAgeMs: number | null;
  consecutiveFailures: number;
}

export interface FeedManagerOptions {
  clock: Clock;
  /** Ordered by preference (QUOTE_SOURCES). At least one polling feed unless the stream is all. */
  feeds: QuoteFeed[];
  onSnapshots: (snaps: Snapshot[]) => void;
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
  /** onSnapshots or a listener threw; the feed keeps running. */
  onError?: (err: unknown) => void;
}

interface Health extends SourceHealth {
  feed: PollingFeed;
}

export class FeedManager {
  private readonly clock: Clock;
  private readonly polling: Health[];
  private readonly stream: StreamingFeed | null;
  private readonly intervalMs: number;
  private readonly failoverAfter: number;
  private readonly probeEveryMs: number;
  private readonly concurrency: number;
  private readonly staleAfterMs: number;
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
  private readonly lastFresh = new Map<string, number>();
  private readonly stale = new Set<string>();
  /** Market time continuous trading last (re)started: quiet time outside it is nobody's fault. */
  private continuousSince = -Infinity;
  private readonly limitChecked = new Set<string>();
  private readonly listeners = new Map<FeedEventType, Set<(e: FeedEvent) => void>>();

  constructor(private readonly opts: FeedManagerOptions) {
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
        lastQuoteAgeMs: null,
        consecutiveFailures: 0,
      }));
    if (this.polling.length === 0 && !this.stream) throw new Error('FeedManager: no quote source configured');
    this.intervalMs = opts.intervalMs ?? 1000;
    this.failoverAfter = opts.failoverAfter ?? 3;
    this.probeEveryMs = opts.probeEveryMs ?? 30_000;
    this.concurrency = Math.max(1, opts.concurrency ?? 4);
    this.staleAfterMs = opts.staleAfterMs ?? 10_000;
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
    for (const s of next) if (!this.lastFresh.has(s)) this.lastFresh.set(s, now);
    for (const s of [...this.lastFresh.keys()]) {
      if (!keep.has(s)) {
        this.lastFresh.delete(s);
        this.stale.delete(s);
      }
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
    const out: SourceHealth[] = this.polling.map(({ feed: _feed, ...h }) => ({
      ...h,
      active: !this.streamOpen && h.name === this.polling[this.active]!.name,
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
      });
    }
    return out;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopped = false;
    this.abort = new AbortController();
    this.stream?.start(
      this.symbols,
      (s) => this.deliver([s]),
      (state, detail) => this.onStreamState(state, detail),
    );
    const loop = (): void => {
      if (!this.running) return;
      const started = Date.now();
      this.current = this.cycle().finally(() => {
        this.current = null;
        if (!this.running) return;
        this.timer = setTimeout(loop, Math.max(0, this.intervalMs - (Date.now() - started)));
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
    await Promise.allSettled([this.current, this.probe, this.stream?.stop()]);
  }

  /** One poll cycle (start() runs these back to back; tests call it directly). */
  async cycle(): Promise<void> {
    const pollNow = !this.streamOpen && this.polling.length > 0 && this.symbols.length > 0;
    if (pollNow) {
      this.maybeProbe();
      let remaining = this.symbols;
      for (let i = this.active; i < this.polling.length && remaining.length > 0; i++) {
        const failed = await this.pollAll(this.polling[i]!, remaining);
        if (i === this.active) this.account(failed.length > 0);
        remaining = failed;
      }
    }
    this.checkStale();
  }

  private account(failed: boolean): void {
    const h = this.polling[this.active]!;
    if (this.stopped) return; // requests aborted by stop() say nothing about the source
    if (!failed) {
      h.consecutiveFailures = 0;
      return;
    }
    h.consecutiveFailures++;
    const next = this.polling[this.active + 1];
    if (h.consecutiveFailures >= this.failoverAfter && next) {
      this.switchTo(
        this.active + 1,
        `${h.name} failed ${h.consecutiveFailures} cycles in a row: ${h.lastError ?? ''}`,
      );
    }
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
        if (ok && !this.stopped && this.active !== 0) {
          primary.consecutiveFailures = 0;
          this.switchTo(0, `${primary.name} answered again`);
        }
      })
      .finally(() => {
        this.probe = null;
      });
  }

  /** Polls `symbols` from one source in batches, bounded concurrency; returns the symbols it failed. */
  private async pollAll(h: Health, symbols: string[]): Promise<string[]> {
    const size = Math.max(1, h.feed.maxBatch);
    const batches: string[][] = [];
    for (let i = 0; i < symbols.length; i += size) batches.push(symbols.slice(i, i + size));
    const failed: string[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < batches.length) {
        const batch = batches[next++]!;
        if (!(await this.request(h, batch, true))) failed.push(...batch);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, batches.length) }, worker));
    return failed;
  }

  /** One request; delivers its snapshots at once when `deliver`. True when the source answered. */
  private async request(h: Health, batch: string[], deliver = false): Promise<boolean> {
    try {
      const res = await h.feed.fetch(batch, this.abort.signal);
      const now = this.clock.now();
      h.lastSuccessAt = now;
      let newest = -Infinity;
      for (const s of res.snapshots) if (s.ts > newest) newest = s.ts;
      if (newest > -Infinity) h.lastQuoteAgeMs = now - newest;
      if (deliver && res.snapshots.length > 0) this.deliver(res.snapshots);
      return true;
    } catch (err) {
      h.lastErrorAt = this.clock.now();
      h.lastError = err instanceof Error ? err.message : String(err);
      return false;
    }
  }

  private deliver(snaps: Snapshot[]): void {
    const now = this.clock.now();
    for (const s of snaps) {
      if (now - s.ts <= this.staleAfterMs && this.lastFresh.has(s.symbol)) {
        this.lastFresh.set(s.symbol, now);
        this.stale.delete(s.symbol);
      }
      if (typeof s.limitUp === 'number') this.checkLimits(s);
    }
    try {
      this.opts.onSnapshots(snaps);
    } catch (err) {
      this.opts.onError?.(err);
    }
  }

  /** Published vs computed limits, once per symbol and trading day. */
  private checkLimits(s: Snapshot): void {
    const date = exchangeDate(s.ts);
    const key = `${s.symbol}|${date}`;
    if (this.limitChecked.has(key)) return;
    if (this.limitChecked.size > 100_000) this.limitChecked.clear();
    this.limitChecked.add(key);
    const sec = securityOf(s.symbol);
    if (!sec) return;
    const r = resolveLimits(sec, s, date);
    if (!r?.mismatch || r.computedUp === null || r.computedDown === null) return;
    const d = s.decimals;
    this.emit({
      type: 'LimitMismatch',
      at: this.clock.now(),
      symbol: s.symbol,
      name: s.name,
      published: `${formatTicks(s.limitUp as number, d)}/${formatTicks(s.limitDown as number, d)}`,
      computed: `${formatTicks(r.computedUp, d)}/${formatTicks(r.computedDown, d)}`,
    });
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
      return;
    }
    if (this.continuousSince === Infinity) this.continuousSince = now;
    const fresh: string[] = [];
    let since = Infinity;
    for (const [symbol, at] of this.lastFresh) {
      const from = Math.max(at, this.continuousSince);
      if (now - from > this.staleAfterMs && !this.stale.has(symbol)) {
        fresh.push(symbol);
        since = Math.min(since, at);
      }
    }
    if (fresh.length === 0) return;
    for (const s of fresh) this.stale.add(s);
    this.emit({ type: 'FeedStale', at: now, symbols: fresh, since, source: this.activeSource() });
  }

  private onStreamState(state: StreamState, detail?: string): void {
    const wasOpen = this.streamOpen;
    this.streamOpen = state === 'open';
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
