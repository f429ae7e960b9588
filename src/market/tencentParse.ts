/**
 * Tencent `qt.gtimg.cn` bodies -> Snapshots. Field map and pitfalls: reference/quotes.md §1.
 *
 * Why not `split('~')`: a record has 82-88 fields and we need 30 of the first 49, so splitting
 * allocates ~85 strings per record to keep a handful. This parser records the '~' positions of
 * fields 0-48 in one pass and reads numbers straight from the body text (scan.ts). Measured on
 * the 900-row capture: several times the ~120k records/s of decode-and-split (see the report).
 *
 * Units (evidence in quotes.md §1.5): book volumes are lots of 100 shares on every board,
 * including STAR (the 688981 sample shows 9 of 10 levels under 200, impossible in shares where
 * the STAR minimum order is 200); total volume is lots, except STAR where it is shares (its
 * volume x ~120 yuan = its amount). Amount comes from field 35 in yuan (field 37 is rounded 万元).
 */
import { isNoLimitSentinel } from '../domain/limits.ts';
import { tickScale } from '../domain/prices.ts';
import type { Level, QuoteStatus, Security, Snapshot } from '../domain/types.ts';
import { securityFromPrefixed } from './codes.ts';
import type { NameEncoding } from './gbk.ts';
import { bodyBytes, gbkFieldEnd, nameAt } from './gbk.ts';
import type { ParseOutcome } from './quoteBody.ts';
import { forEachRecord } from './quoteBody.ts';
import type { RecordMemo } from './recordMemo.ts';
import { bytesEqual, scanCompactStamp, scanFixed, scanInt } from './scan.ts';

const TILDE = 126;
const SLASH = 47;
/** Highest field index we read (48 = limit-down). */
const LAST_FIELD = 48;
// One scratch array reused for every record: field k spans [starts[k], ends[k]).
const starts = new Int32Array(LAST_FIELD + 1);
const ends = new Int32Array(LAST_FIELD + 1);

export type TencentStatus = QuoteStatus;

function statusOf(s: Uint8Array, from: number, to: number): QuoteStatus | null {
  while (from < to && s[from] === 32) from++;
  while (to > from && s[to - 1] === 32) to--;
  if (to === from) return 'normal';
  if (to - from !== 1) return null;
  switch (s[from]) {
    case 83: // S
      return 'suspended';
    case 68: // D
      return 'delisted';
    case 85: // U: seen for a never-listed/terminated code
      return 'not-listed';
    default:
      return null;
  }
}

function levels(s: Uint8Array, first: number, decimals: number, out: Level[]): boolean {
  for (let j = 0; j < 5; j++) {
    const p = first + 2 * j;
    const price = scanFixed(s, starts[p]!, ends[p]!, decimals);
    const lots = scanInt(s, starts[p + 1]!, ends[p + 1]!);
    if (Number.isNaN(price) || Number.isNaN(lots) || price < 0) return false;
    if (price > 0 && lots > 0) out.push([price, lots * 100]);
  }
  return true;
}

/** Locates fields 0..48; false when the record has fewer fields than that. */
function locateFields(s: Uint8Array, start: number, end: number, gbk: boolean): boolean {
  let i = start;
  for (let k = 0; k <= LAST_FIELD; k++) {
    starts[k] = i;
    let stop = -1;
    if (k === 1 && gbk) {
      // The name may hold a GBK trail byte equal to '~'.
      stop = gbkFieldEnd(s, i, end, TILDE);
    } else {
      for (let j = i; j < end; j++) {
        if (s[j] === TILDE) {
          stop = j;
          break;
        }
      }
    }
    if (stop < 0) {
      if (k < LAST_FIELD) return false;
      ends[k] = end;
      return true;
    }
    ends[k] = stop;
    i = stop + 1;
  }
  return true;
}

function parseRecord(
  s: Uint8Array,
  start: number,
  end: number,
  sec: Security,
  enc: NameEncoding,
  source: string,
): Snapshot | string {
  if (!locateFields(s, start, end, enc === 'gb18030')) return 'too few fields';
  if (!bytesEqual(s, starts[2]!, ends[2]!, sec.code)) return 'code field does not match the key';
  const status = statusOf(s, starts[40]!, ends[40]!);
  if (status === null) return 'unknown trading status (field 40)';
  const ts = scanCompactStamp(s, starts[30]!, ends[30]!);
  if (Number.isNaN(ts)) return 'bad timestamp';

  const d = sec.decimals;
  let last = scanFixed(s, starts[3]!, ends[3]!, d);
  const prevClose = scanFixed(s, starts[4]!, ends[4]!, d);
  const open = scanFixed(s, starts[5]!, ends[5]!, d);
  const high = scanFixed(s, starts[33]!, ends[33]!, d);
  const low = scanFixed(s, starts[34]!, ends[34]!, d);
  const rawVolume = scanInt(s, starts[6]!, ends[6]!);
  if (!(last >= 0 && prevClose >= 0 && open >= 0 && high >= 0 && low >= 0 && rawVolume >= 0))
    return 'bad price or volume';
  const volume = sec.board === 'star' ? rawVolume : rawVolume * 100;
  // Tencent repeats prevClose (suspended) or the last trade of a dead code as "last"; the
  // Snapshot contract says last is 0 when nothing traded today.
  if (volume === 0) last = 0;

  const bids: Level[] = [];
  const asks: Level[] = [];
  if (!levels(s, 9, d, bids) || !levels(s, 19, d, asks)) return 'bad order book';

  // Field 35 is "price/volume/amount" with the amount in yuan.
  let amount = NaN;
  let slash = ends[35]! - 1;
  while (slash >= starts[35]! && s[slash] !== SLASH) slash--;
  if (slash >= starts[35]!) amount = scanInt(s, slash + 1, ends[35]!);
  if (Number.isNaN(amount)) {
    const wan = scanInt(s, starts[37]!, ends[37]!);
    amount = Number.isNaN(wan) ? 0 : wan * 10_000;
  }

  const limitUp = limitField(s, 47, d);
  const limitDown = limitField(s, 48, d);
  if (Number.isNaN(limitUp) || Number.isNaN(limitDown)) return 'bad limit price';

  const name = nameAt(s, starts[1]!, ends[1]!, sec.id, enc);
  const snap: Snapshot = {
    symbol: sec.id,
    name,
    source,
    ts,
    status,
    decimals: d,
    last,
    prevClose,
    open,
    high,
    low,
    bids,
    asks,
    volume,
    amount,
  };
  if (limitUp !== undefined) snap.limitUp = limitUp;
  if (limitDown !== undefined) snap.limitDown = limitDown;
  // Field 44 is the float market cap in 亿元 (1e8) with 2 decimals: hundredths x 1e6 yuan.
  const cap = scanFixed(s, starts[44]!, ends[44]!, 2);
  if (cap > 0) snap.floatMarketCap = cap * 1_000_000;
  return snap;
}

/** undefined = field empty (not published); null = a no-limit sentinel such as -1; NaN = garbage. */
function limitField(s: Uint8Array, k: number, d: 2 | 3): number | null | undefined {
  if (starts[k] === ends[k]) return undefined;
  const v = scanFixed(s, starts[k]!, ends[k]!, d);
  if (Number.isNaN(v)) return NaN;
  return isNoLimitSentinel(v / tickScale(d), d) ? null : v;
}

/**
 * Parses a Tencent body: the raw GBK bytes (fast path: names alone are decoded) or text that was
 * already decoded. `v_pv_none_match` (every code unknown) yields an empty outcome.
 */
export function parseTencent(body: string | Uint8Array, source = 'tencent', memo?: RecordMemo): ParseOutcome {
  const { b: s, enc } = bodyBytes(body);
  const out: ParseOutcome = { snapshots: [], empty: [], rejected: [] };
  const buf = memo ? (Buffer.isBuffer(s) ? s : Buffer.from(s.buffer, s.byteOffset, s.byteLength)) : null;
  memo?.beginBody();
  forEachRecord(
    s,
    'v_',
    (key, start, end) => {
      if (key === 'pv_none_match') return;
      // The bytes are those that gave this snapshot last time: it is the same snapshot.
      const same = buf && end > start ? memo!.unchanged(key, buf, start, end) : undefined;
      if (same !== undefined) {
        out.snapshots.push(same);
        return;
      }
      const sec = securityFromPrefixed(key);
      if (!sec) {
        out.rejected.push({ key, reason: 'not a stock code SealGuard knows' });
        return;
      }
      if (end === start) {
        memo?.forget(key);
        out.empty.push(sec.id);
        return;
      }
      const r = parseRecord(s, start, end, sec, enc, source);
      if (typeof r === 'string') {
        memo?.forget(key);
        out.rejected.push({ key: sec.id, reason: r });
      } else {
        if (buf) memo!.remember(key, buf, start, end, r);
        out.snapshots.push(r);
      }
    },
    (key) => out.rejected.push({ key: securityFromPrefixed(key)?.id ?? key, reason: 'unterminated record' }),
  );
  return out;
}
