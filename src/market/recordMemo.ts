/**
 * The last record bytes seen per key, and the snapshot parsed from them. A level-1 snapshot
 * changes every 3 s at the exchange (quiet stocks far less often) while SealGuard polls every
 * second, so most records in a poll are byte for byte what the previous poll said. Those are
 * answered with the very Snapshot object parsed last time: no parse, no allocation, and, since
 * the bytes are equal, exactly what parsing them again would give (test/market/recordMemo.test.ts
 * replays moving books both ways and compares).
 *
 * Why copies and not references into the previous body: a key that stopped changing would keep
 * its whole ~300 KB body alive. Each key owns one fixed slot in the parser's WebAssembly memory
 * (tencentFields.ts says why there), rewritten in place, so the steady state allocates nothing.
 */
import type { Snapshot } from '../domain/types.ts';
import {
  begin as beginFields,
  MEMO_SLOT_BYTES,
  memoLoad,
  slabEpoch,
  slotAlloc,
  slotFree,
  slotSame,
  slotWrite,
} from './tencentFields.ts';

interface Entry {
  owner: RecordMemo;
  /** False once dropped (its slot may be another key's by now). */
  live: boolean;
  key: string;
  /** Its slot's address. */
  slot: number;
  length: number;
  /** tencentFields' slabEpoch when the slot was written. */
  epoch: number;
  snapshot: Snapshot;
  /** The generation (parse count) that last saw this key: unseen keys are swept. */
  seen: number;
}

/**
 * Where a parser keeps, with what else it knows about a key, the memo entry found for it last:
 * found again with no lookup by key (a Map of 5,000 string keys, cold in cache each poll).
 */
export interface MemoHolder {
  memo: unknown;
}

/** Keys unseen for this many parses are dropped (with 10 batches a cycle, about 25 polls). */
const SWEEP_EVERY = 256;

// A memo dropped with its feed gives its slots back.
const released = new FinalizationRegistry<Map<string, Entry>>((entries) => {
  for (const e of entries.values()) slotFree(e.slot);
});

export class RecordMemo {
  private readonly entries = new Map<string, Entry>();
  private generation = 0;
  /** The entry unchanged() looked up last: previous() and remember() use it without a lookup. */
  private looked: Entry | undefined;

  constructor() {
    released.register(this, this.entries);
  }

  /** Call once per body before lookups: ages the entries and sweeps now and then. */
  beginBody(): void {
    // A pooled buffer comes back with new bytes: the body is copied in afresh at its first lookup.
    beginFields();
    this.generation++;
    if (this.generation % SWEEP_EVERY !== 0) return;
    const oldest = this.generation - SWEEP_EVERY;
    for (const [key, e] of this.entries) if (e.seen < oldest) this.drop(key, e);
  }

  /**
   * The snapshot last parsed from exactly these bytes of `body`, or undefined. `body` is the one
   * the parser reads (tencentFields' begin() was called for it): it is copied in once.
   */
  unchanged(
    key: string,
    body: Uint8Array,
    start: number,
    end: number,
    holder?: MemoHolder,
  ): Snapshot | undefined {
    let e = holder?.memo as Entry | undefined;
    if (e === undefined || e.owner !== this || !e.live) {
      e = this.entries.get(key);
      if (holder !== undefined && e !== undefined) holder.memo = e;
    }
    this.looked = e;
    if (e === undefined || e.length !== end - start || e.epoch !== slabEpoch) return undefined;
    if (!memoLoad(body) || !slotSame(e.slot, start, e.length)) return undefined;
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
  remember(
    key: string,
    body: Uint8Array,
    start: number,
    end: number,
    snapshot: Snapshot,
    holder?: MemoHolder,
  ): void {
    const length = end - start;
    let e = this.looked !== undefined && this.looked.key === key ? this.looked : this.entries.get(key);
    // Too long for a slot, or a body too large to copy in: parsed afresh next time.
    if (length > MEMO_SLOT_BYTES || !memoLoad(body)) {
      if (e !== undefined) this.drop(key, e);
      return;
    }
    if (e === undefined) {
      e = {
        owner: this,
        live: true,
        key,
        slot: slotAlloc(),
        length,
        epoch: slabEpoch,
        snapshot,
        seen: this.generation,
      };
      this.entries.set(key, e);
      if (holder !== undefined) holder.memo = e;
    }
    slotWrite(e.slot, start, length);
    e.length = length;
    e.epoch = slabEpoch;
    e.snapshot = snapshot;
    e.seen = this.generation;
  }

  /** Forgets a key (its record was rejected or empty: parse it afresh next time). */
  forget(key: string): void {
    const e = this.entries.get(key);
    if (e !== undefined) this.drop(key, e);
  }

  private drop(key: string, e: Entry): void {
    if (this.looked === e) this.looked = undefined;
    e.live = false;
    this.entries.delete(key);
    slotFree(e.slot);
  }

  get size(): number {
    return this.entries.size;
  }
}
