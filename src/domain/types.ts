/**
 * Shared domain vocabulary. Everything here is plain data: prices are integer ticks, volumes are
 * shares, money is integer yuan, times are epoch milliseconds (rendered in exchange time,
 * Asia/Shanghai, by domain/time.ts). Adapters convert the outside world into these at the edge.
 */
import { SealGuardError } from './errors.ts';

export type Exchange = 'SH' | 'SZ' | 'BJ';

/** main = SH/SZ main board; fund covers ETFs/LOFs/REITs; bshare = SH B-shares (USD, 0.001 tick). */
export type Board = 'main' | 'chinext' | 'star' | 'bse' | 'fund' | 'bond' | 'bshare';

export interface Security {
  /** Six digits, e.g. "600519". */
  code: string;
  exchange: Exchange;
  /** Canonical id used everywhere inside SealGuard and on the bridge wire: "600519.SH". */
  id: string;
  board: Board;
  /** Price decimals: 2 for stocks (tick 0.01), 3 for funds, bonds and SH B-shares (tick 0.001). */
  decimals: 2 | 3;
}

/** An integer count of ticks (fen for stocks, li for 3-decimal instruments). */
export type Ticks = number;
/** An integer count of shares (never lots). */
export type Shares = number;
/** Integer yuan. */
export type Yuan = number;

/**
 * One book level: [price in ticks, volume in shares]. Read-only, as are the sides of a Snapshot:
 * parsers hand the previous snapshot's unchanged levels (and whole unchanged sides) to the next.
 */
export type Level = readonly [Ticks, Shares];

export type QuoteStatus = 'normal' | 'suspended' | 'delisted' | 'not-listed';

/**
 * A normalized level-1 snapshot from any source. Sources differ in units and sentinels; by the
 * time a Snapshot exists those differences are gone.
 */
export interface Snapshot {
  /** Canonical id, "002116.SZ". */
  symbol: string;
  name: string;
  /** Which source produced it: "tencent", "sina", "eastmoney", "sina-ws", "replay", ... */
  source: string;
  /** The exchange's timestamp of this snapshot, epoch ms. */
  ts: number;
  status: QuoteStatus;
  decimals: 2 | 3;
  /** 0 when there has been no trade today. */
  last: Ticks;
  prevClose: Ticks;
  open: Ticks;
  high: Ticks;
  low: Ticks;
  /** Best first; empty levels (price 0 or volume 0) are omitted, so an empty array = no orders on that side. */
  bids: readonly Level[];
  asks: readonly Level[];
  /** Cumulative traded volume today, shares. */
  volume: Shares;
  /** Cumulative turnover today, yuan. */
  amount: Yuan;
  /**
   * Limit prices as the source publishes them: a number of ticks; null when the source says
   * "no limit" (sentinels such as -1); undefined when the source does not publish limits (Sina).
   */
  limitUp?: Ticks | null;
  limitDown?: Ticks | null;
  /** Float (circulating) market cap in yuan, where the source gives it. */
  floatMarketCap?: Yuan;
}

/** Session phase at an instant, in exchange time. */
export type Phase =
  | 'closed' // not a trading day, or from 15:00 to midnight
  | 'pre-open' // a trading day before the 09:15 opening auction
  | 'opening-auction' // 09:15–09:20, orders may be cancelled
  | 'opening-auction-locked' // 09:20–09:25, no cancels
  | 'pre-continuous' // 09:25–09:30, orders accepted, not matched
  | 'continuous' // 09:30–11:30, 13:00–14:57
  | 'lunch' // 11:30–13:00
  | 'closing-auction'; // 14:57–15:00

/** Thrown for bad user or feed input; the message names the input and is safe to show a user. */
export class InputError extends SealGuardError {
  override name = 'InputError';
}
