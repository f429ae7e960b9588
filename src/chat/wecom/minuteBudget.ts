/**
 * A token bucket whose tokens come back exactly one window after they were spent. A classic
 * refilling bucket (capacity 20, 1 token per 3 s) lets 39 messages through in the first minute,
 * and WeCom answers 45009 past 20 in a minute, so this keeps every sliding window at `limit`.
 */
export class MinuteBudget {
  private readonly spent: number[] = [];

  constructor(
    readonly limit: number,
    readonly windowMs = 60_000,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer');
  }

  /** Milliseconds until a token is available at `now` (0 = one is available now). */
  waitMs(now: number): number {
    while (this.spent.length > 0 && (this.spent[0] ?? 0) <= now - this.windowMs) this.spent.shift();
    if (this.spent.length < this.limit) return 0;
    return (this.spent[0] ?? now) + this.windowMs - now;
  }

  /** Takes a token; callers check waitMs first. */
  spend(now: number): void {
    this.spent.push(now);
  }

  /** Marks the whole window as used, after the server said we went over anyway. */
  exhaust(now: number): void {
    this.spent.length = 0;
    for (let i = 0; i < this.limit; i++) this.spent.push(now);
  }
}
