/**
 * What is wrong around the guard right now, in one place: a chat that cannot be reached, polling
 * that died, a full disk, a skewed host clock, an order whose outcome is unknown. Every adapter
 * reports here instead of only logging, because a log line nobody reads is how a guard goes
 * silent. `/status` renders the board, the app mirrors it to DATA_DIR/health.json for `doctor`
 * (a separate process), and each new problem is told once on the channels that still work.
 *
 * Times are wall-clock ms: this is about the process and its connections, not the market.
 */

export type HealthLevel = 'warn' | 'error';

export interface HealthItem {
  /** Stable identity, e.g. `telegram:chat:123` or `disk:data`. Setting it again updates the text. */
  key: string;
  /** Who reports it: `telegram`, `wecom`, `broker`, `feed`, `disk`, `clock`, ... */
  component: string;
  level: HealthLevel;
  /** One line a trader understands, with what to do where there is something to do. */
  text: string;
  /** Wall ms when this problem was first seen (kept across updates of the text). */
  since: number;
}

export interface HealthSnapshot {
  items: HealthItem[];
  /** Monotonic counters: undeliverable notifications per channel, refused strangers, ... */
  counters: Record<string, number>;
}

export type HealthListener = (change: { kind: 'set' | 'clear'; item: HealthItem; isNew: boolean }) => void;

export class HealthBoard {
  private readonly items = new Map<string, HealthItem>();
  private readonly counters = new Map<string, number>();
  private readonly listeners: HealthListener[] = [];

  constructor(private readonly wallNow: () => number = () => Date.now()) {}

  /** Reports (or updates) a problem. Returns true when it is new, i.e. worth telling the user. */
  set(key: string, component: string, level: HealthLevel, text: string): boolean {
    const old = this.items.get(key);
    const item: HealthItem = { key, component, level, text, since: old?.since ?? this.wallNow() };
    if (old && old.level === level && old.text === text) return false;
    this.items.set(key, item);
    this.emit({ kind: 'set', item, isNew: !old });
    return !old;
  }

  /** The problem is over. Returns true when there was one. */
  clear(key: string): boolean {
    const old = this.items.get(key);
    if (!old) return false;
    this.items.delete(key);
    this.emit({ kind: 'clear', item: old, isNew: false });
    return true;
  }

  has(key: string): boolean {
    return this.items.has(key);
  }

  get(key: string): HealthItem | undefined {
    return this.items.get(key);
  }

  count(counter: string, by = 1): number {
    const n = (this.counters.get(counter) ?? 0) + by;
    this.counters.set(counter, n);
    this.emitCounters();
    return n;
  }

  counter(counter: string): number {
    return this.counters.get(counter) ?? 0;
  }

  snapshot(): HealthSnapshot {
    return {
      items: [...this.items.values()].sort((a, b) => a.since - b.since || a.key.localeCompare(b.key)),
      counters: Object.fromEntries([...this.counters.entries()].sort(([a], [b]) => a.localeCompare(b))),
    };
  }

  onChange(fn: HealthListener): () => void {
    this.listeners.push(fn);
    return () => {
      const i = this.listeners.indexOf(fn);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  private counterListeners: (() => void)[] = [];

  /** Called (synchronously) after any counter moves; for the health file's debounced writer. */
  onCounters(fn: () => void): void {
    this.counterListeners.push(fn);
  }

  private emit(change: Parameters<HealthListener>[0]): void {
    for (const l of this.listeners) {
      try {
        l(change);
      } catch {
        // A listener's failure must not stop the report reaching the others.
      }
    }
  }

  private emitCounters(): void {
    for (const l of this.counterListeners) {
      try {
        l();
      } catch {
        // as above
      }
    }
  }
}
