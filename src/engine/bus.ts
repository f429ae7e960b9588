/**
 * Fan-out of guard events to subscribers (chat channels, the event log, the summary collector).
 * The engine publishes synchronously and moves on: each subscriber has its own queue drained on a
 * later tick, so a slow or throwing channel can never block or crash the trading loop.
 *
 * hold() stops delivery (publishing still queues, in order) while the engine gets a sell out: the
 * broker call must leave before any channel formats or sends the alert that announces it.
 */
import type { GuardEvent } from './events.ts';

export type Listener = (e: GuardEvent) => void | Promise<void>;

interface Sub {
  name: string;
  fn: Listener;
  queue: GuardEvent[];
  draining: boolean;
  dropped: number;
  maxQueue: number;
}

export interface SubscribeOptions {
  /**
   * This subscriber's queue bound (default: the bus's). The day's record (the event log, the
   * summary's collector) asks for a far larger one: what it drops is gone from the day's history,
   * while a chat channel folds a storm into digests anyway.
   */
  maxQueue?: number;
}

export interface BusOptions {
  /** Per-subscriber queue bound; beyond it the oldest events are dropped and counted. */
  maxQueue?: number;
  onError?: (subscriber: string, err: unknown) => void;
}

/** Queue bound for the subscribers that keep the day's record (2,000 seals forming at once fit). */
export const RECORD_QUEUE = 100_000;

export class EventBus {
  private subs: Sub[] = [];
  private holds = 0;
  private readonly maxQueue: number;
  private readonly onError: (subscriber: string, err: unknown) => void;

  constructor(opts: BusOptions = {}) {
    this.maxQueue = opts.maxQueue ?? 1000;
    this.onError = opts.onError ?? (() => {});
  }

  subscribe(name: string, fn: Listener, o: SubscribeOptions = {}): () => void {
    const sub: Sub = {
      name,
      fn,
      queue: [],
      draining: false,
      dropped: 0,
      maxQueue: o.maxQueue ?? this.maxQueue,
    };
    this.subs.push(sub);
    return () => {
      this.subs = this.subs.filter((s) => s !== sub);
    };
  }

  publish(e: GuardEvent): void {
    for (const sub of this.subs) {
      if (sub.queue.length >= sub.maxQueue) {
        sub.queue.shift();
        sub.dropped++;
      }
      sub.queue.push(e);
      if (!sub.draining && this.holds === 0) {
        sub.draining = true;
        setImmediate(() => void this.drain(sub));
      }
    }
  }

  /**
   * Delivery pauses until every hold is released; each release is idempotent and happens by
   * itself after `maxMs`, so a hung disk or broker never keeps the alerts back for long.
   */
  hold(maxMs = 50): () => void {
    this.holds++;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      if (--this.holds === 0) this.resume();
    };
    const timer = setTimeout(release, maxMs);
    return release;
  }

  /** Holds in force (for tests and /status diagnostics). */
  get held(): number {
    return this.holds;
  }

  private resume(): void {
    for (const sub of this.subs) {
      if (!sub.draining && sub.queue.length > 0) {
        sub.draining = true;
        setImmediate(() => void this.drain(sub));
      }
    }
  }

  /** Resolves when every queue is empty: for tests and for a clean shutdown. */
  async idle(): Promise<void> {
    for (let i = 0; i < 1000; i++) {
      if (this.subs.every((s) => !s.draining && s.queue.length === 0)) return;
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  private async drain(sub: Sub): Promise<void> {
    try {
      while (sub.queue.length > 0 && this.holds === 0) {
        const e = sub.queue.shift()!;
        try {
          await sub.fn(e);
        } catch (err) {
          this.onError(sub.name, err);
        }
      }
    } finally {
      sub.draining = false;
    }
  }
}
