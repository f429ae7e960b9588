/**
 * 东方财富 web trading rows -> our types. Field names as the real site sends them (emta
 * `models/trading.py`, wmo-v/eastmoneyapi `model/order.go`, reference/eastmoney-quotes-calendar.md
 * §1.2): positions `Zqdm Zqmc Zqsl Kysl Cbjg Zxjg Zxsz Market`, assets `Zzc Kyzj Zxsz`, orders
 * `Wtrq Wtsj Wtbh Zqdm Zqmc Mmlb Wtzt Wtsl Wtjg Cjsl Cjjg Market`. Numbers arrive as strings.
 */
import type { Account, Order, OrderStatus, Position } from './broker.ts';
import type { Security, Ticks } from '../domain/types.ts';
import { formatTicks, numberToTicks, toTicks } from '../domain/prices.ts';
import { tryParseSymbol } from '../domain/symbols.ts';
import { exchangeTs } from '../domain/time.ts';

export type EmRow = Record<string, unknown>;

/**
 * The counter's 委托状态 words (the standard set; QMT maps the same to 48..57). Exact matches only:
 * a word we do not know is 'unknown' (uncertain), never guessed into a final state.
 */
const WTZT: Record<string, OrderStatus> = {
  未报: 'pending_new',
  正报: 'pending_new',
  待报: 'pending_new',
  已报: 'submitted',
  已报待撤: 'pending_cancel',
  部成待撤: 'pending_cancel',
  部撤: 'partially_cancelled',
  已撤: 'cancelled',
  部成: 'partially_filled',
  已成: 'filled',
  废单: 'rejected',
};

export function wtztStatus(wtzt: unknown): OrderStatus {
  return typeof wtzt === 'string' ? (WTZT[wtzt.trim()] ?? 'unknown') : 'unknown';
}

/** The `market` form field of SubmitTradeV2: HA 沪A, SA 深A, B 北交所 is BJ (emta). */
export function marketOf(sec: Security): string {
  return sec.exchange === 'SH' ? 'HA' : sec.exchange === 'SZ' ? 'SA' : 'BJ';
}

const MARKET_EXCHANGE: Record<string, 'SH' | 'SZ' | 'BJ'> = { HA: 'SH', SA: 'SZ', BJ: 'BJ', B: 'BJ' };

export function str(v: unknown): string {
  return typeof v === 'string' ? v.trim() : typeof v === 'number' && Number.isFinite(v) ? String(v) : '';
}

/** A whole number of shares from "1000", "1000.00" or 1000; undefined otherwise. */
export function shares(v: unknown): number | undefined {
  const s = str(v);
  if (!/^\d+(\.0*)?$/.test(s)) return undefined;
  const n = Number(s.split('.')[0]);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** A price on the instrument's grid; averages off the grid are rounded (they are only shown). */
export function priceTicks(v: unknown, decimals: 2 | 3): Ticks | undefined {
  const s = str(v);
  if (!/^\d+(\.\d+)?$/.test(s)) return undefined;
  try {
    return toTicks(s, decimals);
  } catch {
    return numberToTicks(Number(s), decimals);
  }
}

export function securityOf(row: EmRow): Security | undefined {
  const code = str(row.Zqdm);
  const ex = MARKET_EXCHANGE[str(row.Market).toUpperCase()];
  return tryParseSymbol(ex ? `${code}.${ex}` : code) ?? tryParseSymbol(code) ?? undefined;
}

export function positionFromRow(row: EmRow): Position | undefined {
  const sec = securityOf(row);
  const quantity = shares(row.Zqsl);
  if (!sec || quantity === undefined) return undefined;
  const p: Position = { symbol: sec.id, quantity, sellable: Math.min(shares(row.Kysl) ?? 0, quantity) };
  const name = str(row.Zqmc);
  if (name) p.name = name;
  const cost = priceTicks(row.Cbjg, sec.decimals);
  if (cost !== undefined) p.avgCost = formatTicks(cost, sec.decimals);
  const last = priceTicks(row.Zxjg, sec.decimals);
  if (last !== undefined) p.lastPrice = formatTicks(last, sec.decimals);
  const mv = str(row.Zxsz);
  if (mv) p.marketValue = mv;
  return p;
}

export function accountFromAsset(row: EmRow, account: string): Account {
  return {
    accountId: maskAccount(account),
    totalAsset: str(row.Zzc) || '0',
    cashAvailable: str(row.Kyzj) || '0',
    marketValue: str(row.Zxsz) || '0',
  };
}

/** "****0365": the 资金账号 never whole in logs or chat. */
export function maskAccount(account: string): string {
  return `****${account.slice(-4)}`;
}

/** One row of GetOrdersData, read into what reconciliation and status need. */
export interface EmOrderRow {
  /** "20261123_130662": RevokeOrders' id and our broker order id. */
  orderId: string;
  wtbh: string;
  date: string;
  sec: Security;
  side: 'sell' | 'buy';
  quantity: number;
  priceTicks: Ticks;
  filled: number;
  avgFillTicks?: Ticks;
  status: OrderStatus;
  statusText: string;
  /** Epoch ms of 委托时间 (Wtrq + Wtsj), when both are there. */
  time?: number;
}

export function orderRowFrom(row: EmRow): EmOrderRow | undefined {
  const sec = securityOf(row);
  const wtbh = str(row.Wtbh);
  const date = str(row.Wtrq);
  const quantity = shares(row.Wtsl);
  if (!sec || !wtbh || !/^\d{8}$/.test(date) || quantity === undefined) return undefined;
  const priceT = priceTicks(row.Wtjg, sec.decimals);
  if (priceT === undefined) return undefined;
  const mmlb = str(row.Mmlb).toUpperCase();
  const side = mmlb === 'S' || /卖/.test(str(row.Mmsm)) ? 'sell' : 'buy';
  const t = str(row.Wtsj).padStart(6, '0');
  const iso = `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}`;
  const r: EmOrderRow = {
    orderId: `${date}_${wtbh}`,
    wtbh,
    date: iso,
    sec,
    side,
    quantity,
    priceTicks: priceT,
    filled: shares(row.Cjsl) ?? 0,
    status: wtztStatus(row.Wtzt),
    statusText: str(row.Wtzt),
  };
  const avg = priceTicks(row.Cjjg, sec.decimals);
  if (avg !== undefined && avg > 0) r.avgFillTicks = avg;
  if (/^\d{6}$/.test(t)) r.time = exchangeTs(iso, `${t.slice(0, 2)}:${t.slice(2, 4)}:${t.slice(4, 6)}`);
  return r;
}

export function orderFromRow(r: EmOrderRow, clientOrderId: string, updatedAt: string): Order {
  const o: Order = {
    clientOrderId,
    brokerOrderId: r.orderId,
    symbol: r.sec.id,
    side: r.side,
    quantity: r.quantity,
    filledQuantity: r.filled,
    limitPrice: formatTicks(r.priceTicks, r.sec.decimals),
    status: r.status,
    updatedAt,
  };
  if (r.avgFillTicks !== undefined) o.avgFillPrice = formatTicks(r.avgFillTicks, r.sec.decimals);
  if (r.status === 'unknown') o.message = `东方财富 委托状态 "${r.statusText}" is not one SealGuard knows`;
  return o;
}

/**
 * RevokeOrders answers plain text, "委托编号: 执行结果", several joined by three spaces
 * (wmo-v/eastmoneyapi README). Returns wtbh -> result text.
 */
export function parseRevokeText(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.trim().split(/\s{3,}|\r?\n/)) {
    const m = /^\s*(?:\d{8}_)?(\d+)\s*[:：]\s*(.*)$/.exec(part);
    if (m) out.set(m[1]!, m[2]!.trim());
  }
  return out;
}

/** Whether a RevokeOrders result line says the cancel was refused. */
export function revokeRefused(result: string): boolean {
  return /失败|不能|不允许|错误|无效|不可|已成|已撤|废单/.test(result);
}
