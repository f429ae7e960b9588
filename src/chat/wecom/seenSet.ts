/**
 * Remembers keys for a fixed time, bounded in size: nonce replay protection and duplicate
 * delivery suppression. Every entry has the same TTL, so Map insertion order is expiry order and
 * eviction only ever looks at the head.
 */
export class SeenSet {
  private readonly seen = new Map<string, number>();

  constructor(
    readonly maxEntries: number,
    readonly ttlMs: number,
  ) {}

  /** Records key at `now`; true if it was not already remembered. */
  add(key: string, now: number): boolean {
    this.expire(now);
    if (this.seen.has(key)) return false;
    this.seen.set(key, now + this.ttlMs);
    while (this.seen.size > this.maxEntries) {
      const oldest = this.seen.keys().next();
      if (oldest.done) break;
      this.seen.delete(oldest.value);
    }
    return true;
  }

  /** Puts back a key remembered earlier (from a saved journal) with its original expiry. */
  restore(key: string, until: number): void {
    if (this.seen.has(key)) return;
    this.seen.set(key, until);
    while (this.seen.size > this.maxEntries) {
      const oldest = this.seen.keys().next();
      if (oldest.done) break;
      this.seen.delete(oldest.value);
    }
  }

  /** The live keys with their expiry, oldest first. */
  entries(now: number): [string, number][] {
    this.expire(now);
    return [...this.seen.entries()];
  }

  has(key: string, now: number): boolean {
    this.expire(now);
    return this.seen.has(key);
  }

  get size(): number {
    return this.seen.size;
  }

  private expire(now: number): void {
    for (const [key, until] of this.seen) {
      if (until > now) break;
      this.seen.delete(key);
    }
  }
}
