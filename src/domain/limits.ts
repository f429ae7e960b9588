/**
 * Price limits (涨跌停价). limit = prevClose × (1 ± pct), half-up to the tick, in integer ticks
 * only: float maths gets real exchange-published limits wrong (002324 prev 17.15 is 18.87/15.44,
 * naive JS says 18.86/15.43). Rules: SSE 3.3.13/3.3.17, SZSE 3.3.15/3.3.19, 2026 revisions.
 */
import { InputError } from './types.ts';
import type { Security, Snapshot, Ticks } from './types.ts';
import { isRiskWarningName } from './symbols.ts';
import { parseDate } from './time.ts';
import { tickScale } from './prices.ts';

export interface LimitOptions {
  /** The trading date whose limits are wanted, YYYY-MM-DD (not the date of prevClose). */
  date: string;
  /** Under risk warning (ST/*ST) on that date. */
  st?: boolean;
  /** Trading days since listing, 1 = listing day. Decides the no-limit IPO days. */
  listedDays?: number;
  /** Explicit percentage; wins over the board table but not over a no-limit day. */
  pct?: number;
  /** The security's short name that day; for funds it tells a ChiNext/STAR index ETF (20%). */
  name?: string;
}

/** Main-board ST/*ST went from 5% to 10% with the 2026 trading rules (published 2026-04-24). */
const MAIN_ST_10PCT_FROM = '2026-07-06';
/** ChiNext registration reform: 20% from this date (10%, ST 5%, before it). */
const CHINEXT_20PCT_FROM = '2020-08-24';
/** Convertible bonds got a ±20% limit on this date; before it they had only intraday halts. */
const BOND_LIMIT_FROM = '2022-08-01';

/**
 * Funds whose index holds only 20%-limit stocks (ChiNext / STAR) have a 20% limit; every other
 * fund 10%. Besides this list: the whole SH 588 range (SSE's 科创板 ETF codes) and any fund whose
 * name says 创业板/科创/双创 (SZ ChiNext ETFs share 159 with 10% ones, so only the name tells).
 * For anything else pass an explicit pct, and where the feed publishes limits resolveLimits uses
 * them and flags a mismatch.
 */
export const TWENTY_PCT_FUNDS: ReadonlySet<string> = new Set([
  '159915', // 易方达创业板ETF (ChiNext index)
  '159948', // 南方创业板ETF
  '159949', // 华安创业板50ETF
  '159952', // 广发创业板ETF
  '588000', // 华夏科创50ETF
  '588050', // 工银科创ETF (STAR 50)
  '588080', // 易方达科创50ETF
  '588090', // 华泰柏瑞科创50ETF
  '588200', // 嘉实科创芯片ETF
]);

/** SSE's code range for 科创板 ETFs. */
const STAR_ETF_RANGE = /^588/;
/** Fund names that track ChiNext or STAR indices: 创业板ETF, 科创50ETF, 双创50ETF, ... */
const TWENTY_PCT_FUND_NAME = /创业板|科创|双创/;

function checkOptions(opts: LimitOptions): void {
  parseDate(opts.date);
  if (opts.listedDays !== undefined && !(Number.isSafeInteger(opts.listedDays) && opts.listedDays >= 1)) {
    throw new InputError(
      `invalid listed days ${opts.listedDays}: must be a whole number >= 1 (1 = listing day)`,
    );
  }
  if (opts.pct !== undefined && !(Number.isFinite(opts.pct) && opts.pct > 0 && opts.pct < 100)) {
    throw new InputError(`invalid limit percentage ${opts.pct}: must be above 0 and below 100`);
  }
}

/** No-limit IPO days: first five on main/ChiNext/STAR (registration-based), first only elsewhere. */
function isNoLimitDay(sec: Security, listedDays: number | undefined): boolean {
  if (listedDays === undefined) return false;
  switch (sec.board) {
    case 'main':
    case 'chinext':
    case 'star':
      return listedDays <= 5;
    case 'bse':
    case 'bshare':
      return listedDays === 1;
    case 'bond':
      // Day 1 of a convertible bond runs to +57.3%/−43.3% with halts, not a symmetric limit.
      return listedDays === 1;
    case 'fund':
      // ETFs have limits from day 1 (REITs: 30% on day 1, pass pct for that).
      return false;
  }
}

/** The limit percentage for that trading date, or null when the day has no limit. */
export function limitPct(sec: Security, opts: LimitOptions): number | null {
  checkOptions(opts);
  if (isNoLimitDay(sec, opts.listedDays)) return null;
  if (opts.pct !== undefined) return opts.pct;
  const st = opts.st === true;
  switch (sec.board) {
    case 'main':
      return st ? (opts.date >= MAIN_ST_10PCT_FROM ? 10 : 5) : 10;
    case 'chinext':
      if (opts.date < CHINEXT_20PCT_FROM) return st ? 5 : 10;
      return 20;
    case 'star':
      return 20;
    case 'bse':
      return 30;
    case 'fund':
      return TWENTY_PCT_FUNDS.has(sec.code) ||
        STAR_ETF_RANGE.test(sec.code) ||
        (opts.name !== undefined && TWENTY_PCT_FUND_NAME.test(opts.name))
        ? 20
        : 10;
    case 'bond':
      return opts.date < BOND_LIMIT_FROM ? null : 20;
    case 'bshare':
      // [unverified] whether the 2026 "main-board risk warning 10%" also covers B-shares.
      return st ? 5 : 10;
  }
}

/**
 * Exact limits in ticks for a percentage: half-up to the tick, at least one tick away from
 * prevClose (the exchanges' one-tick clause), and never below one tick.
 */
export function limitTicks(prevClose: Ticks, pct: number): { up: Ticks; down: Ticks } {
  // pct in basis points keeps fractional overrides (e.g. 57.3) exact in integers.
  const bp = Math.round(pct * 100);
  const p = BigInt(prevClose);
  const half = 5_000n;
  let up = Number((p * BigInt(10_000 + bp) + half) / 10_000n);
  let down = Number((p * BigInt(10_000 - bp) + half) / 10_000n);
  if (up - prevClose < 1) up = prevClose + 1;
  if (prevClose - down < 1) down = prevClose - 1;
  if (down < 1) down = 1;
  return { up, down };
}

export function limitPrices(
  sec: Security,
  prevClose: Ticks,
  opts: LimitOptions,
): { pct: number; up: Ticks; down: Ticks } | null {
  if (!(Number.isSafeInteger(prevClose) && prevClose > 0)) {
    throw new InputError(`invalid previous close ${prevClose}: must be a positive whole number of ticks`);
  }
  const pct = limitPct(sec, opts);
  if (pct === null) return null;
  return { pct, ...limitTicks(prevClose, pct) };
}

/**
 * Feed values that mean "this security has no limit today" rather than a price: -1 (Tencent,
 * delisted/non-trading), 0, one tick (SZSE binary lower bound), 999999999.9999 (SZSE binary upper),
 * anything >= 10000 (vendor convention, 99999.99). No A-share limit is anywhere near those.
 */
export function isNoLimitSentinel(published: number, decimals: 2 | 3): boolean {
  if (!Number.isFinite(published)) return true;
  const ticks = Math.round(published * tickScale(decimals));
  return ticks <= 1 || published >= 10_000;
}

export interface ResolvedLimits {
  up: Ticks;
  down: Ticks;
  /** From the board table; null when only the published values are known. */
  pct: number | null;
  source: 'published' | 'computed';
  computedUp: Ticks | null;
  computedDown: Ticks | null;
  /** Published limits differ from ours: raise an alarm, but trade on the published ones. */
  mismatch: boolean;
}

/**
 * The limits to act on for a snapshot. Published limits win (they carry ex-rights, fund NAV and
 * ST facts we may not know); ours are the cross-check, with ST read from the snapshot's name.
 * null: no limit that day (listedDays, or the source said so with null), or no prevClose.
 */
export function resolveLimits(
  sec: Security,
  s: Snapshot,
  date: string,
  opts: { listedDays?: number } = {},
): ResolvedLimits | null {
  if (!(s.prevClose > 0)) return null;
  if (s.limitUp === null || s.limitDown === null) return null;
  const computed = limitPrices(sec, s.prevClose, {
    date,
    st: isRiskWarningName(s.name),
    listedDays: opts.listedDays,
    name: s.name,
  });
  if (isNoLimitDay(sec, opts.listedDays)) return null;
  const computedUp = computed?.up ?? null;
  const computedDown = computed?.down ?? null;
  const pct = computed?.pct ?? null;
  const { limitUp, limitDown } = s;
  if (typeof limitUp === 'number' && typeof limitDown === 'number') {
    // A sentinel that slipped through the adapter as a "price" still means no limit.
    const scale = tickScale(s.decimals);
    if (limitUp <= 1 || limitDown <= 0 || limitUp >= 10_000 * scale) return null;
    const sane = limitUp > s.prevClose && limitDown < s.prevClose;
    if (sane) {
      return {
        up: limitUp,
        down: limitDown,
        pct,
        source: 'published',
        computedUp,
        computedDown,
        mismatch: limitUp !== computedUp || limitDown !== computedDown,
      };
    }
    if (!computed) return null;
    return {
      up: computed.up,
      down: computed.down,
      pct,
      source: 'computed',
      computedUp,
      computedDown,
      mismatch: true,
    };
  }
  if (!computed) return null;
  // Without published limits (Sina) and without a listing date, the exchange's name prefix is
  // the only hint of a no-limit IPO day: "N" on day 1, "C" on days 2-5 of a registration-based
  // IPO (rules.md §1.3). Computing a 10% limit there could mark a stock "sealed" that has none.
  if (opts.listedDays === undefined && s.limitUp === undefined && looksLikeNewListing(s.name)) return null;
  return {
    up: computed.up,
    down: computed.down,
    pct,
    source: 'computed',
    computedUp,
    computedDown,
    mismatch: false,
  };
}

/** "N海诚", "C宇树": a Latin N or C directly followed by the (CJK) name. */
export function looksLikeNewListing(name: string): boolean {
  return /^[NC][\u3400-\u9fff]/u.test(name.trim());
}
