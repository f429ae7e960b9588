/**
 * Sina `hq.sinajs.cn` bodies -> Snapshots. Field map and pitfalls: reference/quotes.md §2.
 * Volumes are shares and the amount is yuan, as given. The book is volume-then-price (Tencent is
 * price-then-volume). Sina publishes no limit prices, so limitUp/limitDown stay undefined.
 * A trailing comma after the status comes and goes (quotes.md §2.2); both forms parse.
 */
import type { Level, QuoteStatus, Security, Snapshot } from '../domain/types.ts';
import { securityFromPrefixed } from './codes.ts';
import type { NameEncoding } from './gbk.ts';
import { bodyBytes, nameAt } from './gbk.ts';
import type { ParseOutcome } from './quoteBody.ts';
import { forEachRecord } from './quoteBody.ts';
import { beijingToEpoch, scanDigits, scanFixed, scanInt } from './scan.ts';

const COMMA = 44;
const FIELDS = 33; // 0..32; a 34th, empty, follows a trailing comma
const starts = new Int32Array(FIELDS);
const ends = new Int32Array(FIELDS);

/** Field 32 (tianapi's table, cross-checked against the capture: 03 = the Tencent 'S' rows). */
function statusOf(b: Uint8Array, from: number, to: number): QuoteStatus | 'no-record' | null {
  const text = String.fromCharCode(...b.subarray(from, Math.min(to, from + 3)));
  switch (text) {
    case '00':
      return 'normal';
    case '01': // halted for an hour
    case '02': // halted for the day
    case '03': // suspended
    case '04': // halted intraday
    case '05': // halted half a day
    case '07': // paused
      return 'suspended';
    case '-1':
      return 'no-record';
    case '-2':
      return 'not-listed';
    case '-3':
      return 'delisted';
    default:
      return null;
  }
}

function locateFields(b: Uint8Array, start: number, end: number): boolean {
  let i = start;
  for (let k = 0; k < FIELDS; k++) {
    starts[k] = i;
    let stop = end;
    for (let j = i; j < end; j++) {
      if (b[j] === COMMA) {
        stop = j;
        break;
      }
    }
    ends[k] = stop;
    if (stop === end) return k === FIELDS - 1;
    i = stop + 1;
  }
  return true;
}

function levels(b: Uint8Array, first: number, decimals: number, out: Level[]): boolean {
  for (let j = 0; j < 5; j++) {
    const v = first + 2 * j;
    const shares = scanInt(b, starts[v]!, ends[v]!);
    const price = scanFixed(b, starts[v + 1]!, ends[v + 1]!, decimals);
    if (Number.isNaN(price) || Number.isNaN(shares) || price < 0) return false;
    if (price > 0 && shares > 0) out.push([price, shares]);
  }
  return true;
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
  enc: NameEncoding,
  source: string,
): Snapshot | string | null {
  if (!locateFields(b, start, end)) return 'wrong number of fields';
  const status = statusOf(b, starts[32]!, ends[32]!);
  if (status === null) return 'unknown trading status (field 32)';
  if (status === 'no-record') return null;
  const ts = stampOf(b);
  if (Number.isNaN(ts)) return 'bad date or time';
  const d = sec.decimals;
  let last = scanFixed(b, starts[3]!, ends[3]!, d);
  const prevClose = scanFixed(b, starts[2]!, ends[2]!, d);
  const open = scanFixed(b, starts[1]!, ends[1]!, d);
  const high = scanFixed(b, starts[4]!, ends[4]!, d);
  const low = scanFixed(b, starts[5]!, ends[5]!, d);
  const volume = scanInt(b, starts[8]!, ends[8]!);
  const amount = scanInt(b, starts[9]!, ends[9]!);
  if (!(last >= 0 && prevClose >= 0 && open >= 0 && high >= 0 && low >= 0 && volume >= 0 && amount >= 0)) {
    return 'bad price or volume';
  }
  if (volume === 0) last = 0;
  const bids: Level[] = [];
  const asks: Level[] = [];
  if (!levels(b, 10, d, bids) || !levels(b, 20, d, asks)) return 'bad order book';
  return {
    symbol: sec.id,
    name: nameAt(b, starts[0]!, ends[0]!, sec.id, enc),
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
    (key, start, end) => {
      const sec = securityFromPrefixed(key);
      if (!sec) {
        out.rejected.push({ key, reason: 'not a stock code SealGuard knows' });
        return;
      }
      const r = end === start ? null : parseRecord(b, start, end, sec, enc, source);
      if (r === null) out.empty.push(sec.id);
      else if (typeof r === 'string') out.rejected.push({ key: sec.id, reason: r });
      else out.snapshots.push(r);
    },
    (key) => out.rejected.push({ key: securityFromPrefixed(key)?.id ?? key, reason: 'unterminated record' }),
  );
  return out;
}
