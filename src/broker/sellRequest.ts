/**
 * Client-side checks every adapter runs before a sell leaves the process, so bad input is
 * refused with a message naming the field and nothing reaches a broker.
 */
import type { SellRequest } from './broker.ts';
import { BrokerError } from './broker.ts';
import type { Security, Ticks } from '../domain/types.ts';
import { parseSymbol } from '../domain/symbols.ts';
import { toTicks } from '../domain/prices.ts';

export const CLIENT_ORDER_ID = /^[A-Za-z0-9_-]{8,32}$/;

export interface CheckedSell {
  clientOrderId: string;
  security: Security;
  quantity: number;
  priceTicks: Ticks;
  note?: string;
}

export function checkSellRequest(req: SellRequest): CheckedSell {
  if (typeof req.clientOrderId !== 'string' || !CLIENT_ORDER_ID.test(req.clientOrderId)) {
    throw new BrokerError(
      'INVALID_ARGUMENT',
      `clientOrderId ${JSON.stringify(req.clientOrderId)} must match [A-Za-z0-9_-]{8,32}`,
    );
  }
  let security: Security;
  try {
    security = parseSymbol(req.symbol);
  } catch (err) {
    throw new BrokerError(
      'INVALID_ARGUMENT',
      `symbol ${JSON.stringify(req.symbol)}: ${(err as Error).message}`,
    );
  }
  if (!Number.isSafeInteger(req.quantity) || req.quantity <= 0) {
    throw new BrokerError(
      'INVALID_ARGUMENT',
      `quantity ${JSON.stringify(req.quantity)} must be a positive whole number of shares`,
    );
  }
  const priceTicks = checkPrice(req.limitPrice, security);
  return { clientOrderId: req.clientOrderId, security, quantity: req.quantity, priceTicks, note: req.note };
}

function checkPrice(price: unknown, security: Security): Ticks {
  const shape = security.decimals === 2 ? /^\d{1,7}(\.\d{1,2})?$/ : /^\d{1,7}(\.\d{1,3})?$/;
  if (typeof price !== 'string' || !shape.test(price)) {
    throw new BrokerError(
      'INVALID_ARGUMENT',
      `limitPrice ${JSON.stringify(price)} for ${security.id} must be a decimal string with at most ${security.decimals} decimals`,
    );
  }
  let ticks: Ticks;
  try {
    ticks = toTicks(price, security.decimals);
  } catch (err) {
    throw new BrokerError(
      'INVALID_ARGUMENT',
      `limitPrice ${JSON.stringify(price)}: ${(err as Error).message}`,
    );
  }
  if (!(ticks > 0))
    throw new BrokerError('PRICE_OUT_OF_RANGE', `limitPrice ${JSON.stringify(price)} must be above zero`);
  return ticks;
}

/** What makes two requests under one client order id "the same order". */
export function sameSell(
  a: CheckedSell,
  b: { symbol: string; quantity: number; priceTicks: Ticks },
): boolean {
  return a.security.id === b.symbol && a.quantity === b.quantity && a.priceTicks === b.priceTicks;
}
