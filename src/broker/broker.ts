/**
 * The one interface the engine sells through. Implementations: paper.ts (embedded simulator),
 * bridge.ts (BRIDGE-PROTOCOL.md client: QMT/miniQMT bridge), ptrade.ts (SealGuard-hosted relay for
 * the PTrade strategy), easytrader.ts (easytrader remote server: 同花顺, universal client, miniqmt).
 *
 * Prices cross this boundary as decimal strings with the instrument's tick precision ("10.02"),
 * quantities as integer shares, symbols as canonical ids ("002116.SZ").
 */
import type { Snapshot } from '../domain/types.ts';
import { SealGuardError } from '../domain/errors.ts';

/** The bridge protocol's order vocabulary; every adapter normalizes into it. */
export const ORDER_STATUSES = [
  'pending_new',
  'submitted',
  'partially_filled',
  'pending_cancel',
  'filled',
  'cancelled',
  'partially_cancelled',
  'rejected',
  'unknown',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const FINAL_STATUSES: ReadonlySet<OrderStatus> = new Set([
  'filled',
  'cancelled',
  'partially_cancelled',
  'rejected',
]);

export interface BrokerHealth {
  ok: boolean;
  broker: string;
  connected: boolean;
  accountId?: string;
  message?: string;
}

export interface Account {
  /** Masked, e.g. "****0365": never the full account number in logs or chat. */
  accountId: string;
  totalAsset: string;
  cashAvailable: string;
  marketValue: string;
}

export interface Position {
  symbol: string;
  name?: string;
  quantity: number;
  /** What may be sold today (T+1: excludes today's buys). Only this is ever sold. */
  sellable: number;
  avgCost?: string;
  lastPrice?: string;
  marketValue?: string;
}

export interface SellRequest {
  /** [A-Za-z0-9_-]{8,32}, derived from (trading day, account, symbol, seal segment). */
  clientOrderId: string;
  symbol: string;
  quantity: number;
  limitPrice: string;
  note?: string;
}

export interface Order {
  clientOrderId: string;
  brokerOrderId?: string;
  symbol: string;
  side: 'sell' | 'buy';
  quantity: number;
  filledQuantity: number;
  avgFillPrice?: string;
  limitPrice: string;
  status: OrderStatus;
  /** ISO-8601 with +08:00. */
  updatedAt: string;
  /** Broker's reason on reject or cancel, when it gives one. */
  message?: string;
}

export type BrokerErrorCode =
  | 'INVALID_ARGUMENT'
  | 'LOT_SIZE'
  | 'PRICE_OUT_OF_RANGE'
  | 'UNAUTHORIZED'
  | 'ORDER_NOT_FOUND'
  | 'IDEMPOTENCY_CONFLICT'
  | 'ORDER_IN_FLIGHT'
  | 'INSUFFICIENT_POSITION'
  | 'NOT_CANCELLABLE'
  | 'MARKET_CLOSED'
  | 'BROKER_REJECTED'
  | 'BRIDGE_NOT_READY'
  | 'BROKER_DISCONNECTED'
  | 'OUTCOME_UNKNOWN'
  | 'NETWORK';

export class BrokerError extends SealGuardError {
  override name = 'BrokerError';
  constructor(
    readonly code: BrokerErrorCode,
    message: string,
    /** True when the same request (same client order id) may be sent again later. */
    readonly retryable = false,
  ) {
    super(message);
  }
  /** The order may or may not exist at the broker: reconcile by querying, never resubmit under a new id. */
  get outcomeUnknown(): boolean {
    return this.code === 'OUTCOME_UNKNOWN' || this.code === 'NETWORK' || this.code === 'ORDER_IN_FLIGHT';
  }
}

/**
 * A broker a person must log in to (东方财富 web: captcha, SMS). Chat commands reach it through
 * GuardApi; the answers are one line for the user.
 */
export interface BrokerLoginControl {
  answerCaptcha(code: string): Promise<string>;
  answerSms(value: string): Promise<string>;
  restart(): Promise<string>;
  describe(): string;
}

export interface Broker {
  readonly name: string;
  /** Present on brokers that need a person to log in. */
  readonly login?: BrokerLoginControl;
  /** Why no order can be placed right now (not logged in ...); undefined when one can. */
  unavailable?(): string | undefined;
  health(): Promise<BrokerHealth>;
  account(): Promise<Account>;
  positions(): Promise<Position[]>;
  /**
   * Places a limit sell. Idempotent by clientOrderId: calling it again with the same request
   * returns the existing order and never places a second one. Throws BrokerError; when
   * `err.outcomeUnknown`, the caller reconciles with getOrder(clientOrderId).
   */
  placeSell(req: SellRequest): Promise<Order>;
  /** By client or broker order id; null when the broker has never seen it. */
  getOrder(id: string): Promise<Order | null>;
  cancel(id: string): Promise<void>;
  todayOrders(): Promise<Order[]>;
  close?(): Promise<void>;
}

/**
 * Takes the market's snapshots as they arrive (the paper broker fills its orders against them).
 * Called on the hot path: it must not block, and must not keep `batch`, which may be reused.
 */
export interface QuoteSink {
  onQuotes(batch: readonly Snapshot[]): void;
  /** Read quotes from the engine's one snapshot cache instead of keeping a copy of its own. */
  quoteFrom?(book: SnapshotBook): void;
}

/** Where the last snapshot of each symbol is kept (the guard's market book). */
export interface SnapshotBook {
  lastSnapshot(symbol: string): Snapshot | undefined;
}
