/**
 * Plays JSONL recordings (plain or .gz) back as a streaming feed, on a simulated clock that the
 * rest of the process can follow. Files are streamed line by line and merged in timestamp order.
 */
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { SimClock } from '../domain/clock.ts';
import type { Snapshot } from '../domain/types.ts';
import type { StreamState, StreamingFeed } from './feed.ts';
import { parseSnapshotLine } from './recorder.ts';

export interface ReplayOptions {
  files: string[];
  /** Market seconds per real second: 1 = real time, 60 = a minute per second, Infinity = no waiting. */
  speed?: number;
  /** Skip ahead to this market time (epoch ms): the latest snapshot per symbol before it is the baseline. */
  startAt?: number;
  /** Which symbols to emit: only those passed to start/setSymbols (default), or every one recorded. */
  symbols?: 'watched' | 'all';
  /** Real wall clock the replay clock is driven from; injectable for tests. */
  wallNow?: () => number;
  /** A skipped line: "<file>:<line>: <why>". Default: written to stderr. */
  onBadLine?: (message: string) => void;
}

/** Emissions between yields to the event loop when replaying as fast as possible. */
const BURST = 512;
/** Longest single sleep, so a changed speed or a moved clock is noticed promptly. */
const MAX_NAP_MS = 250;

export class ReplayFeed implements StreamingFeed {
  readonly kind = 'stream' as const;
  readonly name = 'replay';
  /** The replayed market time; the engine and scheduled jobs should read this clock. */
  readonly clock: SimClock;
  /** Resolves when the replay has ended, failed or been stopped. */
  readonly finished: Promise<void>;

  private readonly files: string[];
  private readonly speed: number;
  private readonly startAt: number | undefined;
  private readonly emitAll: boolean;
  private readonly onBadLine: (message: string) => void;
  private readonly wanted = new Set<string>();
  private readonly latest = new Map<string, Snapshot>();
  private sources: LineSource[] = [];
  private prepared: Promise<void> | undefined;
  private onSnapshot: (s: Snapshot) => void = () => undefined;
  private onState: (s: StreamState, detail?: string) => void = () => undefined;
  private started = false;
  private stopped = false;
  private nap: { timer: ReturnType<typeof setTimeout>; wake: () => void } | undefined;
  private finish: () => void = () => undefined;

  constructor(options: ReplayOptions) {
    if (options.files.length === 0) throw new Error('replay: no recording files given');
    const speed = options.speed ?? 1;
    if (!(speed > 0)) throw new Error(`replay: speed must be a positive number or Infinity, got ${speed}`);
    this.files = options.files;
    this.speed = speed;
    this.startAt = options.startAt;
    this.emitAll = options.symbols === 'all';
    this.onBadLine = options.onBadLine ?? ((m) => process.stderr.write(`replay: ${m}\n`));
    // Frozen until start(): the market does not move while nobody is listening.
    this.clock = new SimClock(options.startAt ?? 0, options.wallNow ?? Date.now, 0);
    this.finished = new Promise((resolve) => (this.finish = resolve));
  }

  /** Opens a replay and sets its clock to where it will begin (startAt, or the first snapshot). */
  static async open(options: ReplayOptions): Promise<ReplayFeed> {
    const feed = new ReplayFeed(options);
    await feed.prepare();
    return feed;
  }

  start(
    symbols: string[],
    onSnapshot: (s: Snapshot) => void,
    onState?: (s: StreamState, detail?: string) => void,
  ): void {
    if (this.started) throw new Error('replay: already started');
    this.started = true;
    for (const s of symbols) this.wanted.add(s);
    this.onSnapshot = onSnapshot;
    this.onState = onState ?? (() => undefined);
    void this.run();
  }

  setSymbols(symbols: string[]): void {
    const added = symbols.filter((s) => !this.wanted.has(s));
    this.wanted.clear();
    for (const s of symbols) this.wanted.add(s);
    // A newly watched symbol starts from its latest replayed state rather than from nothing.
    if (this.started && !this.stopped && !this.emitAll) {
      for (const s of added) {
        const snap = this.latest.get(s);
        if (snap) this.deliver(snap);
      }
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.wake();
    if (!this.started) this.closeSources();
    if (this.started) await this.finished;
    else this.finish();
  }

  private prepare(): Promise<void> {
    this.prepared ??= (async () => {
      for (const file of this.files) {
        try {
          await access(file);
        } catch {
          throw new Error(`replay: cannot read recording ${file}`);
        }
      }
      this.sources = this.files.map((f) => new LineSource(f, this.onBadLine));
      await Promise.all(this.sources.map((s) => s.advance()));
      const first = this.nextSource()?.head?.ts;
      this.clock.set(this.startAt ?? first ?? 0);
    })();
    return this.prepared;
  }

  private async run(): Promise<void> {
    try {
      await this.prepare();
      if (this.stopped) return;
      this.setState('open');
      if (this.startAt !== undefined) await this.skipTo(this.startAt);
      this.clock.setSpeed(Number.isFinite(this.speed) ? this.speed : 0);
      let burst = 0;
      for (let src = this.nextSource(); src && !this.stopped; src = this.nextSource()) {
        const snap = src.head!;
        if (Number.isFinite(this.speed)) {
          await this.waitFor(snap.ts);
        } else {
          if (snap.ts > this.clock.now()) this.clock.set(snap.ts);
          if (++burst % BURST === 0) await new Promise((r) => setImmediate(r));
        }
        if (this.stopped) break;
        this.remember(snap);
        this.deliver(snap);
        await src.advance();
      }
      if (!this.stopped) this.setState('ended');
      else this.setState('closed', 'stopped');
    } catch (err) {
      this.setState('closed', this.stopped ? 'stopped' : (err as Error).message);
    } finally {
      this.closeSources();
      this.finish();
    }
  }

  /** Consumes everything before `at` and emits each symbol's latest state there as the baseline. */
  private async skipTo(at: number): Promise<void> {
    for (let src = this.nextSource(); src && src.head!.ts <= at && !this.stopped; src = this.nextSource()) {
      this.remember(src.head!);
      await src.advance();
    }
    this.clock.set(at);
    const baseline = [...this.latest.values()].sort((a, b) => a.ts - b.ts);
    for (const snap of baseline) if (!this.stopped) this.deliver(snap);
  }

  private async waitFor(ts: number): Promise<void> {
    while (!this.stopped) {
      const ahead = ts - this.clock.now();
      if (ahead <= 0) return;
      const ms = Math.min(MAX_NAP_MS, Math.ceil(ahead / this.speed));
      await new Promise<void>((resolve) => {
        this.nap = { timer: setTimeout(resolve, ms), wake: resolve };
      });
      this.nap = undefined;
    }
  }

  private wake(): void {
    if (!this.nap) return;
    clearTimeout(this.nap.timer);
    this.nap.wake();
    this.nap = undefined;
  }

  /** The source whose next snapshot is earliest; ties go to the file listed first. */
  private nextSource(): LineSource | undefined {
    let best: LineSource | undefined;
    for (const s of this.sources) if (s.head && (!best || s.head.ts < best.head!.ts)) best = s;
    return best;
  }

  private remember(snap: Snapshot): void {
    this.latest.set(snap.symbol, snap);
  }

  private deliver(snap: Snapshot): void {
    if (!this.emitAll && !this.wanted.has(snap.symbol)) return;
    try {
      this.onSnapshot(snap);
    } catch (err) {
      this.onBadLine(`snapshot handler failed on ${snap.symbol}: ${(err as Error).message}`);
    }
  }

  private setState(state: StreamState, detail?: string): void {
    try {
      this.onState(state, detail);
    } catch {
      // A failing listener must not stop the market.
    }
  }

  private closeSources(): void {
    for (const s of this.sources) s.close();
  }
}

/** One recording, read lazily: `head` is its next valid snapshot, undefined once exhausted. */
class LineSource {
  head: Snapshot | undefined;
  private lines: AsyncIterator<string> | undefined;
  private lineNo = 0;
  private lastTs = -Infinity;
  private close_: () => void = () => undefined;

  constructor(
    private readonly file: string,
    private readonly report: (message: string) => void,
  ) {}

  async advance(): Promise<void> {
    this.lines ??= this.open();
    this.head = undefined;
    for (;;) {
      const next = await this.lines.next();
      if (next.done) return;
      this.lineNo++;
      const line = next.value.trim();
      if (line === '') continue;
      let snap: Snapshot;
      try {
        snap = parseSnapshotLine(line);
      } catch (err) {
        this.report(`${this.file}:${this.lineNo}: skipped, ${(err as Error).message}`);
        continue;
      }
      if (snap.ts < this.lastTs) {
        this.report(`${this.file}:${this.lineNo}: skipped, ts ${snap.ts} is earlier than the line before`);
        continue;
      }
      this.lastTs = snap.ts;
      this.head = snap;
      return;
    }
  }

  close(): void {
    this.close_();
  }

  private open(): AsyncIterator<string> {
    const raw = createReadStream(this.file);
    const input = this.file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
    const failed = new Promise<never>((_, reject) => {
      const fail = (err: Error) => reject(new Error(`cannot read recording ${this.file}: ${err.message}`));
      raw.on('error', fail);
      input.on('error', fail);
    });
    failed.catch(() => undefined);
    const rl = createInterface({ input, crlfDelay: Infinity });
    const it = rl[Symbol.asyncIterator]();
    this.close_ = () => {
      rl.close();
      raw.destroy();
      if (input !== raw) input.destroy();
    };
    return {
      next: () => Promise.race([it.next(), failed]),
    };
  }
}
