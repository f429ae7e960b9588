/**
 * The framing Tencent and Sina share: one `<marker><key>="<fields>";` record per line. Finding
 * records is kept apart from reading fields so that one broken record can never shift or swallow
 * its neighbours: a record ends at its closing quote, and a record whose line ends first is cut
 * at that newline and rejected. Neither '"' nor '\n' can occur inside a GBK character.
 */
import type { Snapshot } from '../domain/types.ts';

export interface Rejected {
  /** The canonical id when known, else the source's key ("sz002116"). */
  key: string;
  reason: string;
}

export interface ParseOutcome {
  snapshots: Snapshot[];
  /** Canonical ids the body answered with an empty record (unknown or unlisted code). */
  empty: string[];
  /** Records that were present but unusable. They never become snapshots. */
  rejected: Rejected[];
}

const QUOTE = 0x22;
const NL = 0x0a;

function isKey(b: Uint8Array, from: number, to: number): boolean {
  if (to <= from || to - from > 24) return false;
  for (let i = from; i < to; i++) {
    const c = b[i]!;
    const ok = (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || (c >= 65 && c <= 90);
    if (!ok) return false;
  }
  return true;
}

/** Marker bytes per marker: a string needle makes Buffer.indexOf encode it on every call. */
const markers = new Map<string, Buffer>();
const EQ_QUOTE = Buffer.from('="', 'latin1');
const EQ = 0x3d;

function isKeyByte(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || (c >= 65 && c <= 90);
}

/** A response key ("sz002116") and what a parser keeps about it. */
export interface KeyEntry<T> {
  readonly key: string;
  readonly data: T;
}

/**
 * Keys repeat every poll, and a parser wants the same things about a key each time (its
 * Security, its last name). `sz002116`-shaped keys (2 lowercase letters, 6 digits) map one to one
 * onto a place in a two-level table (prefix, then the code's thousands), so finding the key and
 * all of it is three array reads, with no string made and nothing hashed. (It was a Map by a
 * number made of the key: with 5,000 watched that lookup, cold in cache, was ~3% of the guard's
 * CPU per poll in `perf`, 2026-12-04.) Other keys (`pv_none_match`, garbage) get a fresh entry
 * each time.
 */
export class KeyTable<T> {
  /** [prefix][code / 1000][code % 1000]; a prefix's or a thousand's array made on first use. */
  private byPrefix: (KeyEntry<T> | undefined)[][][] = new Array<(KeyEntry<T> | undefined)[][]>(676);
  private count = 0;

  constructor(private readonly make: (key: string) => T) {}

  at(b: Buffer, from: number, to: number): KeyEntry<T> {
    if (to - from === 8) {
      const l1 = b[from]! - 97;
      const l2 = b[from + 1]! - 97;
      if (l1 >= 0 && l1 < 26 && l2 >= 0 && l2 < 26) {
        let n = 0;
        let i = from + 2;
        for (; i < to; i++) {
          const d = b[i]! - 48;
          if (d < 0 || d > 9) break;
          n = n * 10 + d;
        }
        if (i === to) {
          const prefix = l1 * 26 + l2;
          // Made at full length: arrays filled at scattered indexes from empty go slow (dictionary).
          const thousands = (this.byPrefix[prefix] ??= new Array<(KeyEntry<T> | undefined)[]>(1000));
          const hi = (n / 1000) | 0;
          const row = (thousands[hi] ??= new Array<KeyEntry<T> | undefined>(1000));
          const lo = n - hi * 1000;
          let e = row[lo];
          if (e === undefined) {
            // Bounded all the same: a hostile body naming every code cannot grow it for ever.
            if (this.count >= 50_000) {
              this.byPrefix = new Array<(KeyEntry<T> | undefined)[][]>(676);
              this.count = 0;
              return this.at(b, from, to);
            }
            e = this.fresh(b.toString('latin1', from, to));
            row[lo] = e;
            this.count++;
          }
          return e;
        }
      }
    }
    return this.fresh(b.toString('latin1', from, to));
  }

  private fresh(key: string): KeyEntry<T> {
    return { key, data: this.make(key) };
  }
}

/**
 * b.indexOf(needle, pos). Records follow one another, so the next marker is a few bytes on
 * (after `";\n`, Sina's after `";\nvar `): those first bytes are tried here, since the native
 * search costs more to set up than to run.
 */
function markerAt(b: Buffer, needle: Buffer, pos: number): number {
  const n = needle.length;
  const first = needle[0]!;
  const near = Math.min(pos + 16, b.length - n + 1);
  for (let i = pos; i < near; i++) {
    if (b[i] !== first) continue;
    let j = 1;
    while (j < n && b[i + j] === needle[j]) j++;
    if (j === n) return i;
  }
  return near < pos ? -1 : b.indexOf(needle, near);
}

/**
 * Calls `onRecord(key, start, end)` for each well-framed record (fields in bytes [start, end)),
 * and `onBroken(key)` for a record with no closing quote on its line; `key` is the record's
 * entry in `keys`.
 */
export function forEachRecord<T>(
  bytes: Uint8Array,
  marker: string,
  keys: KeyTable<T>,
  onRecord: (key: KeyEntry<T>, start: number, end: number) => void,
  onBroken: (key: KeyEntry<T>) => void,
): void {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let needle = markers.get(marker);
  if (needle === undefined) {
    needle = Buffer.from(marker, 'latin1');
    markers.set(marker, needle);
  }
  const len = b.length;
  let pos = 0;
  // The first newline at or after `pos`, kept across records (each line is searched once).
  let nl = -2;
  while (pos < len) {
    const m = markerAt(b, needle, pos);
    if (m < 0) return;
    const keyStart = m + needle.length;
    // The usual case read in place: key bytes straight up to '="'. Anything else takes the
    // general search, which gives the same answer for it.
    let eq = keyStart;
    while (eq < len && eq - keyStart <= 24 && isKeyByte(b[eq]!)) eq++;
    if (!(eq > keyStart && eq - keyStart <= 24 && b[eq] === EQ && b[eq + 1] === QUOTE)) {
      eq = b.indexOf(EQ_QUOTE, keyStart);
      if (eq < 0) return;
      if (!isKey(b, keyStart, eq)) {
        pos = keyStart;
        continue;
      }
    }
    const key = keys.at(b, keyStart, eq);
    const start = eq + 2;
    const end = b.indexOf(QUOTE, start);
    if (nl !== -1 && nl < start) nl = b.indexOf(NL, start);
    if (end < 0 || (nl >= 0 && nl < end)) {
      onBroken(key);
      pos = nl >= 0 ? nl : len;
      continue;
    }
    onRecord(key, start, end);
    pos = end + 1;
  }
}
