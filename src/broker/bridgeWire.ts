/**
 * BRIDGE-PROTOCOL.md v1 wire shapes (snake_case JSON) and their mapping to the Broker types.
 * Shared by the bridge client and the PTrade relay, which speak the same order shape.
 */
import { z } from 'zod';
import type { Account, BrokerErrorCode, Order, Position } from './broker.ts';
import { wireStatus } from './statusMap.ts';

// The protocol says decimal strings; a number is tolerated (rendered by String) because a
// bridge in Python can easily emit one, and it is only echoed, never compared.
const decimal = z.union([
  z.string().regex(/^-?\d+(\.\d+)?$/),
  z
    .number()
    .finite()
    .transform((n) => String(n)),
]);
const id = z.union([z.string(), z.number().transform((n) => String(n))]);

export const wireOrderSchema = z.object({
  client_order_id: z.string().min(1),
  broker_order_id: id.nullish(),
  symbol: z.string(),
  side: z.enum(['sell', 'buy']),
  quantity: z.number().int().nonnegative(),
  filled_quantity: z.number().int().nonnegative().nullish(),
  avg_fill_price: decimal.nullish(),
  limit_price: decimal,
  status: z.string(),
  updated_at: z.string().nullish(),
  reject_reason: z.string().nullish(),
  message: z.string().nullish(),
});
export type WireOrder = z.input<typeof wireOrderSchema>;

export function orderFromWire(w: z.output<typeof wireOrderSchema>, fallbackTime: string): Order {
  const o: Order = {
    clientOrderId: w.client_order_id,
    symbol: w.symbol,
    side: w.side,
    quantity: w.quantity,
    filledQuantity: w.filled_quantity ?? 0,
    limitPrice: w.limit_price,
    status: wireStatus(w.status),
    updatedAt: w.updated_at ?? fallbackTime,
  };
  if (w.broker_order_id != null && w.broker_order_id !== '') o.brokerOrderId = w.broker_order_id;
  if (w.avg_fill_price != null) o.avgFillPrice = w.avg_fill_price;
  const msg = w.reject_reason ?? w.message;
  if (msg) o.message = msg;
  return o;
}

export const placeAckSchema = z.object({
  client_order_id: z.string(),
  broker_order_id: id.nullish(),
  status: z.string(),
  replayed: z.boolean().optional(),
});

export const wireAccountSchema = z.object({
  account_id: id,
  total_asset: decimal,
  cash_available: decimal,
  market_value: decimal,
});

export function accountFromWire(w: z.output<typeof wireAccountSchema>): Account {
  return {
    accountId: w.account_id,
    totalAsset: w.total_asset,
    cashAvailable: w.cash_available,
    marketValue: w.market_value,
  };
}

export const wirePositionSchema = z.object({
  symbol: z.string(),
  name: z.string().nullish(),
  quantity: z.number().int().nonnegative(),
  sellable_quantity: z.number().int().nonnegative(),
  avg_cost: decimal.nullish(),
  last_price: decimal.nullish(),
  market_value: decimal.nullish(),
});

export function positionFromWire(w: z.output<typeof wirePositionSchema>): Position {
  const p: Position = { symbol: w.symbol, quantity: w.quantity, sellable: w.sellable_quantity };
  if (w.name) p.name = w.name;
  if (w.avg_cost != null) p.avgCost = w.avg_cost;
  if (w.last_price != null) p.lastPrice = w.last_price;
  if (w.market_value != null) p.marketValue = w.market_value;
  return p;
}

export const wireErrorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string().optional(), retryable: z.boolean().optional() }),
});

const CODES: ReadonlySet<string> = new Set<BrokerErrorCode>([
  'INVALID_ARGUMENT',
  'LOT_SIZE',
  'PRICE_OUT_OF_RANGE',
  'UNAUTHORIZED',
  'ORDER_NOT_FOUND',
  'IDEMPOTENCY_CONFLICT',
  'ORDER_IN_FLIGHT',
  'INSUFFICIENT_POSITION',
  'NOT_CANCELLABLE',
  'MARKET_CLOSED',
  'BROKER_REJECTED',
  'BRIDGE_NOT_READY',
  'BROKER_DISCONNECTED',
  'OUTCOME_UNKNOWN',
  'NETWORK',
]);

export function knownErrorCode(code: string): BrokerErrorCode | undefined {
  return CODES.has(code) ? (code as BrokerErrorCode) : undefined;
}
