/**
 * Sina `hq.sinajs.cn` bodies -> Snapshots. Field map and pitfalls: reference/quotes.md §2.
 * Volumes are shares and the amount is yuan, as given. The book is volume-then-price (Tencent is
 * price-then-volume). Sina publishes no limit prices, so limitUp/limitDown stay undefined.
 * A trailing comma after the status comes and goes (quotes.md §2.2); both forms parse.
 * Measured as tencentParse.ts says, on the 850-row capture: ~1.4M records/s, iconv decode +
 * split('\n') + split(',') ~0.48M.
 */
import type { Level, QuoteStatus, Security, Snapshot } from '../domain/types.ts';
import { securityFromPrefixed } from './codes.ts';
import type { NameEncoding } from './gbk.ts';
import { bodyBytes, NameCache } from './gbk.ts';
import type { ParseOutcome } from './quoteBody.ts';
import { forEachRecord, KeyTable } from './quoteBody.ts';
import { beijingToEpoch, scanDigits, scanFixed, scanInt } from './scan.ts';

interface KeyInfo {
  sec: Security | null;
  name: NameCache;
}
const keys = new KeyTable<KeyInfo>((key) => ({ sec: securityFromPrefixed(key), name: new NameCache() }));

const COMMA = 44;
const ZERO = 48;
const NINE = 57;
const DOT = 46;
const MINUS = 45;
const LAST_FIELD = 32; // 0..32; a 34th, empty, follows a trailing comma
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
// Reused for every record: field k spans [starts[k], ends[k]) and, when it is a number
// parseRecord reads, vals[k] holds it (NaN for garbage, as scan.ts reads it).
const starts = new Int32Array(LAST_FIELD + 1);
const ends = new Int32Array(LAST_FIELD + 1);
const vals = new Float64Array(LAST_FIELD + 1);

/** Field 32 (tianapi's table, cross-checked against the capture: 03 = the Tencent 'S' rows). */
function statusOf(b: Uint8Array, from: number, to: number): QuoteStatus | 'no-record' | null {
  if (to - from !== 2) return null;
  const c = b[from + 1]!;
  if (b[from] === ZERO) {
    switch (c) {
      case 48: // 00
        return 'normal';
      case 49: // 01 halted for an hour
      case 50: // 02 halted for the day
      case 51: // 03 suspended
      case 52: // 04 halted intraday
      case 53: // 05 halted half a day
      case 55: // 07 paused
        return 'suspended';
    }
  } else if (b[from] === MINUS) {
    switch (c) {
      case 49: // -1
        return 'no-record';
      case 50: // -2
        return 'not-listed';
      case 51: // -3
        return 'delisted';
    }
  }
  return null;
}

/*
 * How parseRecord reads field k, per security decimals: RANGE = only its byte range, else a number
 * with (how & 7) decimals, or read as scanInt reads it (AS_INT). The one pass below is the one
 * tencentParse.ts explains (numbers read while their comma is looked for), with what Sina needs
 * besides: prices carry a third decimal ("32.400") and the amount a fraction ("341643944.520").
 */
const RANGE = -1;
const AS_INT = 8;
function fieldTable(d: 2 | 3): Int8Array {
  const t = new Int8Array(LAST_FIELD + 1).fill(RANGE);
  for (let k = 1; k <= 5; k++) t[k] = d; // open, prevClose, last, high, low (6, 7: bid, ask unread)
  t[8] = AS_INT; // volume
  t[9] = AS_INT; // amount
  for (let k = 10; k < 30; k += 2) {
    t[k] = AS_INT; // book shares
    t[k + 1] = d; // book price
  }
  return t;
}
const HOW2 = fieldTable(2);
const HOW3 = fieldTable(3);

/**
 * Fields 0..32 in one pass; false when the record has fewer. s[end] is the record's closing '"'
 * (quoteBody.ts), which stops the digit loops without an `i < end` test of their own.
 */
function readFields(b: Uint8Array, start: number, end: number, how: Int8Array): boolean {
  let i = start;
  for (let k = 0; ; k++) {
    const from = i;
    const h = how[k]!;
    if (h === RANGE) {
      while (i < end && b[i] !== COMMA) i++;
      starts[k] = from;
      ends[k] = i;
    } else {
      const dec = h & 7;
      const int = h === AS_INT;
      let n = 0;
      let frac = 0;
      let c: number;
      for (; ; i++) {
        c = b[i]!;
        if (c < ZERO || c > NINE) break;
        n = n * 10 + (c - ZERO);
      }
      let plain = i > from;
      if (plain && c === DOT) {
        // Past `dec`, fraction digits may only be zeros; scanInt floors any.
        for (i++; ; i++) {
          c = b[i]!;
          if (c < ZERO || c > NINE) break;
          if (int) continue;
          if (frac < dec) {
            n = n * 10 + (c - ZERO);
            frac++;
          } else if (c !== ZERO) {
            plain = false;
            break;
          }
        }
      }
      // Each loop above stops with c = b[i]; b[end] is '"', not a comma.
      if (plain && (c === COMMA || i === end)) {
        for (; frac < dec; frac++) n *= 10;
        vals[k] = n > MAX_SAFE ? NaN : n;
      } else {
        while (i < end && b[i] !== COMMA) i++;
        vals[k] = int ? scanInt(b, from, i) : scanFixed(b, from, i, dec);
      }
    }
    if (k === LAST_FIELD) return true;
    if (i === end) return false;
    i++;
  }
}

function levels(first: number): Level[] | null {
  const out: Level[] = [];
  for (let v = first; v < first + 10; v += 2) {
    const shares = vals[v]!;
    const price = vals[v + 1]!;
    if (Number.isNaN(price) || Number.isNaN(shares) || price < 0) return null;
    if (price > 0 && shares > 0) out.push([price, shares]);
  }
  return out;
}

/** "2022-11-22" + "11:30:00" (Beijing) -> epoch ms. */
function stampOf(b: Uint8Array): number {
  const d = starts[30]!;
  const t = starts[31]!;
  if (ends[30]! - d !== 10 || ends[31]! - t !== 8) return NaN;
  if (b[d + 4] !== 45 || b[d + 7] !== 45 || b[t + 2] !== 58 || b[t + 5] !== 58) return NaN;
  return beijingToEpoch(
    scanDigits(b, d, 4),
    scanDigits(b, d + 5, 2),
    scanDigits(b, d + 8, 2),
    scanDigits(b, t, 2),
    scanDigits(b, t + 3, 2),
    scanDigits(b, t + 6, 2),
  );
}

function parseRecord(
  b: Uint8Array,
  start: number,
  end: number,
  sec: Security,
  names: NameCache,
  enc: NameEncoding,
  source: string,
): Snapshot | string | null {
  const d = sec.decimals;
  if (!readFields(b, start, end, d === 2 ? HOW2 : HOW3)) return 'wrong number of fields';
  const status = statusOf(b, starts[32]!, ends[32]!);
  if (status === null) return 'unknown trading status (field 32)';
  if (status === 'no-record') return null;
  const ts = stampOf(b);
  if (Number.isNaN(ts)) return 'bad date or time';
  let last = vals[3]!;
  const prevClose = vals[2]!;
  const open = vals[1]!;
  const high = vals[4]!;
  const low = vals[5]!;
  const volume = vals[8]!;
  const amount = vals[9]!;
  if (!(last >= 0 && prevClose >= 0 && open >= 0 && high >= 0 && low >= 0 && volume >= 0 && amount >= 0)) {
    return 'bad price or volume';
  }
  if (volume === 0) last = 0;
  const bids = levels(10);
  const asks = bids && levels(20);
  if (!bids || !asks) return 'bad order book';
  return {
    symbol: sec.id,
    name: names.read(b, starts[0]!, ends[0]!, enc),
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
}

/** Parses a Sina body: raw GBK bytes, or text that was already decoded. */
export function parseSina(body: string | Uint8Array, source = 'sina'): ParseOutcome {
  const { b, enc } = bodyBytes(body);
  const out: ParseOutcome = { snapshots: [], empty: [], rejected: [] };
  forEachRecord(
    b,
    'hq_str_',
    keys,
    ({ key, data }, start, end) => {
      const sec = data.sec;
      if (!sec) {
        out.rejected.push({ key, reason: 'not a stock code SealGuard knows' });
        return;
      }
      const r = end === start ? null : parseRecord(b, start, end, sec, data.name, enc, source);
      if (r === null) out.empty.push(sec.id);
      else if (typeof r === 'string') out.rejected.push({ key: sec.id, reason: r });
      else out.snapshots.push(r);
    },
    ({ key, data }) => out.rejected.push({ key: data.sec?.id ?? key, reason: 'unterminated record' }),
  );
  return out;
}
