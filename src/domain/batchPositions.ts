/**
 * Per-symbol state of a polled batch, by position. A source answers a batch in the order it was
 * asked, so the state of each stock in it is found again by index, checked by symbol by the
 * caller, instead of a lookup in a Map of 5,000 string keys per snapshot (cold in cache each
 * poll: ~7% of the guard's CPU in `perf` at 5,000 watched, 2026-12-04, for the guard's and the
 * feed manager's together). A batch is known by its first symbol; a lone streamed quote (or any
 * batch under 8) gets no array, and the caller takes its Map.
 */
import type { Snapshot } from './types.ts';

const MIN_BATCH = 8;
/** Distinct batches kept (ten a cycle at 5,000 watched); past it they start again. */
const MAX_BATCHES = 256;

export class BatchPositions<T> {
  private readonly batches = new Map<string, (T | undefined)[]>();

  /** The array for this batch (entries may be stale or missing: check each by symbol), or undefined. */
  of(snaps: readonly Snapshot[]): (T | undefined)[] | undefined {
    if (snaps.length < MIN_BATCH) return undefined;
    const first = snaps[0]!.symbol;
    let byPosition = this.batches.get(first);
    if (byPosition === undefined) {
      if (this.batches.size >= MAX_BATCHES) this.batches.clear();
      byPosition = [];
      this.batches.set(first, byPosition);
    }
    return byPosition;
  }
}
