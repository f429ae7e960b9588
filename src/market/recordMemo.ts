/**
 * The last record bytes seen per key, and the snapshot parsed from them. A level-1 snapshot
 * changes every 3 s at the exchange (quiet stocks far less often) while SealGuard polls every
 * second, so most records in a poll are byte for byte what the previous poll said. Those are
 * answered with the very Snapshot object parsed last time: no parse, no allocation, and, since
 * the bytes are equal, exactly what parsing them again would give (test/market/recordMemo.test.ts
 * replays moving books both ways and compares).
 *
 * Why copies and not references into the previous body: a key that stopped changing would keep
 * its whole ~300 KB body alive. Each key owns one buffer, rewritten in place while the record
 * fits, so the steady state allocates nothing (about 600 bytes per watched code in all).
 */
import type { Snapshot } from '../domain/types.ts';

interface Entry {
  key: string;
  bytes: Buffer;
  length: number;
  snapshot: Snapshot;
  /** The generation (parse count) that last saw this key: unseen keys are swept. */
  seen: number;
}

/** Keys unseen for this many parses are dropped (with 10 batches a cycle, about 25 polls). */
const SWEEP_EVERY = 256;

export class RecordMemo {
  private readonly entries = new Map<string, Entry>();
  private generation = 0;
  /** The entry unchanged() looked up last: previous() and remember() use it without a lookup. */
  private looked: Entry | undefined;

  /** Call once per body before lookups: ages the entries and sweeps now and then. */
  beginBody(): void {
    this.generation++;
    if (this.generation % SWEEP_EVERY !== 0) return;
    const oldest = this.generation - SWEEP_EVERY;
    for (const [key, e] of this.entries) if (e.seen < oldest) this.entries.delete(key);
  }

  /** The snapshot last parsed from exactly these bytes of `body`, or undefined. */
  unchanged(key: string, body: Buffer, start: number, end: number): Snapshot | undefined {
    const e = this.entries.get(key);
    this.looked = e;
    if (e === undefined || e.length !== end - start) return undefined;
    if (body.compare(e.bytes, 0, e.length, start, end) !== 0) return undefined;
    e.seen = this.generation;
    return e.snapshot;
  }

  /**
   * The snapshot last remembered for the key unchanged() just looked up, though its bytes changed:
   * the parser reuses its book levels where they are the same (a sealed book moves at bid1 only).
   */
  previous(): Snapshot | undefined {
    return this.looked?.snapshot;
  }

  /** Remembers the snapshot parsed from bytes [start, end) of `body`. */
  remember(key: string, body: Buffer, start: number, end: number, snapshot: Snapshot): void {
    const length = end - start;
    let e = this.looked !== undefined && this.looked.key === key ? this.looked : this.entries.get(key);
    if (e === undefined || e.bytes.length < length) {
      // Room for a record growing a little (a longer price, a name change) without a new buffer.
      const bytes = Buffer.allocUnsafeSlow(Math.max(64, Math.ceil((length * 1.25) / 64) * 64));
      e = { key, bytes, length, snapshot, seen: this.generation };
      this.entries.set(key, e);
    }
    // A plain loop: Buffer#copy from an offset makes a Uint8Array view of the source per call.
    const to = e.bytes;
    for (let i = 0, j = start; j < end; i++, j++) to[i] = body[j]!;
    e.length = length;
    e.snapshot = snapshot;
    e.seen = this.generation;
  }

  /** Forgets a key (its record was rejected or empty: parse it afresh next time). */
  forget(key: string): void {
    if (this.looked?.key === key) this.looked = undefined;
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
