/**
 * EastMoney push2 `api/qt/stock/get` (fltt=2) JSON -> Snapshot. Field map: reference/quotes.md §3.1.
 *
 * One security per request: the batch endpoint (ulist.np) uses another field set with no bid1
 * volume (§3.2), so it cannot give a seal amount. Book and total volumes are lots (akshare ×100).
 * fltt=2 prices arrive as JSON numbers; a real price's double is within far less than half a tick
 * of the decimal it was printed from, so rounding to the tick is exact, and we refuse values that
 * are not close to the tick grid rather than round garbage.
 * "-" means "no value" (empty book level, no trade yet).
 */
import { isNoLimitSentinel } from '../domain/limits.ts';
import { tickScale } from '../domain/prices.ts';
import type { Level, QuoteStatus, Security, Snapshot } from '../domain/types.ts';
import type { ParseOutcome } from './quoteBody.ts';

/** Every field the parser reads, for the request's `fields=` parameter. */
export const EASTMONEY_FIELDS = [
  'f43',
  'f44',
  'f45',
  'f46',
  'f47',
  'f48',
  'f51',
  'f52',
  'f57',
  'f58',
  'f60',
  'f86',
  'f117',
  'f19',
  'f20',
  'f17',
  'f18',
  'f15',
  'f16',
  'f13',
  'f14',
  'f11',
  'f12',
  'f39',
  'f40',
  'f37',
  'f38',
  'f35',
  'f36',
  'f33',
  'f34',
  'f31',
  'f32',
].join(',');

const BID_FIELDS = [19, 17, 15, 13, 11];
const ASK_FIELDS = [39, 37, 35, 33, 31];

type Data = Record<string, unknown>;

/** Ticks from a fltt=2 number; 0 for "-"/absent; NaN for anything off the tick grid or not a number. */
function ticks(v: unknown, d: 2 | 3): number {
  if (v === '-' || v === undefined || v === null || v === '') return 0;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) return NaN;
  const scaled = v * tickScale(d);
  const t = Math.round(scaled);
  return Math.abs(scaled - t) < 1e-6 ? t : NaN;
}

function count(v: unknown): number {
  if (v === '-' || v === undefined || v === null || v === '') return 0;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) return NaN;
  return Math.floor(v);
}

function levels(data: Data, fields: number[], d: 2 | 3, out: Level[]): boolean {
  for (const f of fields) {
    const price = ticks(data[`f${f}`], d);
    const lots = count(data[`f${f + 1}`]);
    if (Number.isNaN(price) || Number.isNaN(lots)) return false;
    if (price > 0 && lots > 0) out.push([price, lots * 100]);
  }
  return true;
}

function limit(v: unknown, d: 2 | 3): number | null | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number') return null;
  if (isNoLimitSentinel(v, d)) return null;
  return ticks(v, d);
}

function parseData(data: Data, sec: Security, source: string): Snapshot | string {
  if (data.f57 !== sec.code) return 'code field does not match the request';
  if (typeof data.f86 !== 'number' || !(data.f86 > 0)) return 'missing update time (f86)';
  const d = sec.decimals;
  let last = ticks(data.f43, d);
  const prevClose = ticks(data.f60, d);
  const open = ticks(data.f46, d);
  const high = ticks(data.f44, d);
  const low = ticks(data.f45, d);
  const lots = count(data.f47);
  const amount = count(data.f48);
  if ([last, prevClose, open, high, low, lots, amount].some(Number.isNaN)) return 'bad price or volume';
  const volume = lots * 100;
  // (inferred) EastMoney prints "-" as the last price of a stock that has not traded, which for a
  // listed stock with a previous close during the day means a suspension.
  const status: QuoteStatus = data.f43 === '-' && prevClose > 0 && volume === 0 ? 'suspended' : 'normal';
  if (volume === 0) last = 0;
  const bids: Level[] = [];
  const asks: Level[] = [];
  if (!levels(data, BID_FIELDS, d, bids) || !levels(data, ASK_FIELDS, d, asks)) return 'bad order book';
  const limitUp = limit(data.f51, d);
  const limitDown = limit(data.f52, d);
  if (Number.isNaN(limitUp) || Number.isNaN(limitDown)) return 'bad limit price';
  const snap: Snapshot = {
    symbol: sec.id,
    name: typeof data.f58 === 'string' ? data.f58 : '',
    source,
    ts: data.f86 * 1000,
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
  if (typeof data.f117 === 'number' && data.f117 > 0) snap.floatMarketCap = Math.floor(data.f117);
  return snap;
}

/**
 * Parses one stock/get response for `sec`. `data: null` is EastMoney's answer for an unknown
 * secid. Throws only when the body is not an EastMoney JSON object at all.
 */
export function parseEastmoney(body: string | Uint8Array, sec: Security, source = 'eastmoney'): ParseOutcome {
  const text =
    typeof body === 'string'
      ? body
      : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`EastMoney answered something that is not JSON: ${JSON.stringify(text.slice(0, 60))}`);
  }
  if (typeof json !== 'object' || json === null || !('data' in json)) {
    throw new Error(`EastMoney answered JSON without a "data" member: ${JSON.stringify(text.slice(0, 60))}`);
  }
  const data = (json as { data: unknown }).data;
  const out: ParseOutcome = { snapshots: [], empty: [], rejected: [] };
  if (data === null) out.empty.push(sec.id);
  else if (typeof data !== 'object') out.rejected.push({ key: sec.id, reason: 'data is not an object' });
  else {
    const r = parseData(data as Data, sec, source);
    if (typeof r === 'string') out.rejected.push({ key: sec.id, reason: r });
    else out.snapshots.push(r);
  }
  return out;
}
