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

/**
 * Calls `onRecord(key, start, end)` for each well-framed record (fields in bytes [start, end)),
 * and `onBroken(key)` for a record with no closing quote on its line.
 */
export function forEachRecord(
  bytes: Uint8Array,
  marker: string,
  onRecord: (key: string, start: number, end: number) => void,
  onBroken: (key: string) => void,
): void {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = b.length;
  let pos = 0;
  while (pos < len) {
    const m = b.indexOf(marker, pos, 'latin1');
    if (m < 0) return;
    const keyStart = m + marker.length;
    const eq = b.indexOf('="', keyStart, 'latin1');
    if (eq < 0) return;
    if (!isKey(b, keyStart, eq)) {
      pos = keyStart;
      continue;
    }
    const key = b.toString('latin1', keyStart, eq);
    const start = eq + 2;
    const end = b.indexOf(QUOTE, start);
    const nl = b.indexOf(NL, start);
    if (end < 0 || (nl >= 0 && nl < end)) {
      onBroken(key);
      pos = nl >= 0 ? nl : len;
      continue;
    }
    onRecord(key, start, end);
    pos = end + 1;
  }
}
