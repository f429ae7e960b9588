/**
 * One recipient's queue of outgoing messages, sent one at a time within the platform's limits.
 *
 * Why a priority queue and not a FIFO: when thousands of stocks seal at once, a FIFO fills a
 * chat's 1 msg/s with seal notices and the confirm prompt that matters waits minutes behind them.
 * Here confirm prompts and sell outcomes (priority 0) always go first, then triggers, breaks and
 * the guard's own news (1); seal notices are folded into one digest per interval and are the
 * first thing dropped when the queue is full. Pacing happens here, before the platform, so items
 * wait where their order can still change.
 */
import type { ChannelRate } from './channel.ts';

export type Priority = 0 | 1;

export interface OutboxOptions<J, D> {
  /** Sends one job; errors are the sender's to report (the outbox only moves on). */
  send(job: J): Promise<void>;
  /** Sends a digest of folded notices. */
  sendDigest(entries: D[], total: number): Promise<void>;
  rate?: () => ChannelRate | undefined;
  /** False while the channel cannot deliver at all: items wait. */
  ready?: () => boolean;
  /** Wall clock (pacing is about the platform, not the market). */
  now?: () => number;
  /** Jobs beyond this are dropped, seal digests first, never priority 0. */
  maxQueue?: number;
  /** At most one digest per this interval, ms. */
  digestIntervalMs?: number;
  /** Entries kept (named) in one digest; beyond it only counted. */
  digestMax?: number;
  onDrop?: (count: number, what: 'digest' | 'job') => void;
}

interface JobItem<J> {
  kind: 'job';
  prio: Priority;
  seq: number;
  job: J;
  done: () => void;
}
interface DigestItem<D> {
  kind: 'digest';
  entries: D[];
  total: number;
}

export class Outbox<J, D> {
  private readonly jobs: JobItem<J>[] = [];
  private digest: DigestItem<D> | undefined;
  private seq = 0;
  private pumping = false;
  private stopped = false;
  private lastDigestAt = -Infinity;
  /** Start times of recent sends (within the last minute), for pacing. */
  private readonly sent: number[] = [];
  private wake: (() => void) | undefined;
  private idleWaiters: (() => void)[] = [];
  private readonly now: () => number;

  constructor(private readonly o: OutboxOptions<J, D>) {
    this.now = o.now ?? (() => Date.now());
  }

  get size(): number {
    return this.jobs.length + (this.digest ? 1 : 0);
  }

  /** Queues a job; resolves when it has run (or was dropped). */
  push(prio: Priority, job: J): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.makeRoom();
    return new Promise<void>((done) => {
      this.jobs.push({ kind: 'job', prio, seq: this.seq++, job, done });
      this.kick();
    });
  }

  /** Nothing queued or in flight, and the next message could go at once. */
  idleNow(): boolean {
    return !this.pumping && this.size === 0 && (this.o.ready?.() ?? true) && this.paceWait() === 0;
  }

  /** Folds a seal notice into the open digest. */
  fold(entry: D): void {
    if (this.stopped) return;
    if (!this.digest) {
      if (this.size >= (this.o.maxQueue ?? 500)) {
        this.o.onDrop?.(1, 'digest');
        return;
      }
      this.digest = { kind: 'digest', entries: [], total: 0 };
    }
    this.digest.total++;
    if (this.digest.entries.length < (this.o.digestMax ?? 20)) this.digest.entries.push(entry);
    this.kick();
  }

  /** Drops everything queued (the recipient went away); returns how many jobs were dropped. */
  clear(): number {
    const n = this.jobs.length + (this.digest?.total ?? 0);
    for (const j of this.jobs.splice(0)) j.done();
    this.digest = undefined;
    return n;
  }

  /** Resolves when nothing is queued or in flight, or after `timeoutMs`. */
  idle(timeoutMs: number): Promise<void> {
    if (!this.pumping && this.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      t.unref?.();
      this.idleWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  stop(): void {
    this.stopped = true;
    this.clear();
    this.wake?.();
  }

  private makeRoom(): void {
    if (this.size < (this.o.maxQueue ?? 500)) return;
    if (this.digest) {
      this.o.onDrop?.(this.digest.total, 'digest');
      this.digest = undefined;
      return;
    }
    const i = this.jobs.findIndex((j) => j.prio > 0);
    if (i >= 0) {
      this.jobs.splice(i, 1)[0]!.done();
      this.o.onDrop?.(1, 'job');
    }
    // Only priority 0 left (confirms and outcomes): those are never dropped.
  }

  private kick(): void {
    if (this.pumping) this.wake?.();
    else void this.pump();
  }

  /** How long until the platform takes the next message (0: now). */
  private paceWait(): number {
    const r = this.o.rate?.();
    if (!r) return 0;
    const now = this.now();
    while (this.sent.length && this.sent[0]! <= now - 60_000) this.sent.shift();
    let wait = 0;
    const lastAt = this.sent[this.sent.length - 1];
    if (r.perSecond && lastAt !== undefined) wait = Math.max(wait, lastAt + 1000 / r.perSecond - now);
    if (r.perMinute && this.sent.length >= r.perMinute)
      wait = Math.max(wait, this.sent[this.sent.length - r.perMinute]! + 60_000 - now);
    return Math.max(0, Math.ceil(wait));
  }

  private next(): { item: JobItem<J> | DigestItem<D>; wait: number } | undefined {
    let best: JobItem<J> | undefined;
    for (const j of this.jobs)
      if (!best || j.prio < best.prio || (j.prio === best.prio && j.seq < best.seq)) best = j;
    if (best) return { item: best, wait: 0 };
    if (this.digest) {
      const wait = Math.max(0, this.lastDigestAt + (this.o.digestIntervalMs ?? 15_000) - this.now());
      return { item: this.digest, wait };
    }
    return undefined;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    }).then(() => {
      this.wake = undefined;
    });
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (!this.stopped) {
        const n = this.next();
        if (!n) break;
        if (this.o.ready && !this.o.ready()) {
          await this.sleep(250);
          continue;
        }
        const wait = Math.max(n.wait, this.paceWait());
        if (wait > 0) {
          await this.sleep(wait);
          continue;
        }
        this.sent.push(this.now());
        if (n.item.kind === 'job') {
          this.jobs.splice(this.jobs.indexOf(n.item), 1);
          await this.o.send(n.item.job).catch(() => {});
          n.item.done();
        } else {
          this.digest = undefined;
          this.lastDigestAt = this.now();
          await this.o.sendDigest(n.item.entries, n.item.total).catch(() => {});
        }
      }
    } finally {
      this.pumping = false;
      if (this.size === 0 || this.stopped) for (const w of this.idleWaiters.splice(0)) w();
    }
  }
}
