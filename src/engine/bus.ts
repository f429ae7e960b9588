/**
 * Fan-out of guard events to subscribers (chat channels, the event log, the summary collector).
 * The engine publishes synchronously and moves on: each subscriber has its own queue drained on a
 * later tick, so a slow or throwing channel can never block or crash the trading loop.
 */
import type { GuardEvent } from './events.ts';

export type Listener = (e: GuardEvent) => void | Promise<void>;

interface Sub {
  name: string;
  fn: Listener;
  queue: GuardEvent[];
  draining: boolean;
  dropped: number;
}

export interface BusOptions {
  /** Per-subscriber queue bound; beyond it the oldest events are dropped and counted. */
  maxQueue?: number;
  onError?: (subscriber: string, err: unknown) => void;
}

export class EventBus {
  private subs: Sub[] = [];
  private readonly maxQueue: number;
  private readonly onError: (subscriber: string, err: unknown) => void;

  constructor(opts: BusOptions = {}) {
    this.maxQueue = opts.maxQueue ?? 1000;
    this.onError = opts.onError ?? (() => {});
  }

  subscribe(name: string, fn: Listener): () => void {
    const sub: Sub = { name, fn, queue: [], draining: false, dropped: 0 };
    this.subs.push(sub);
    return () => {
      this.subs = this.subs.filter((s) => s !== sub);
    };
  }

  publish(e: GuardEvent): void {
    for (const sub of this.subs) {
      if (sub.queue.length >= this.maxQueue) {
        sub.queue.shift();
        sub.dropped++;
      }
      sub.queue.push(e);
      if (!sub.draining) {
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
      while (sub.queue.length > 0) {
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
