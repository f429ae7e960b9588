/**
 * easytrader answers with the grid columns of whichever client it drives (THS variants: Chinese
 * headers that differ per broker build; miniqmt: xtquant field names). These map one row to our
 * types through the alias table of reference/brokers.md §6.6.
 */
import type { Account, Order, OrderStatus, Position } from './broker.ts';
import type { Ticks } from '../domain/types.ts';
import { formatTicks, numberToTicks, toTicks } from '../domain/prices.ts';
import { tryParseSymbol } from '../domain/symbols.ts';
import { exchangeTs } from '../domain/time.ts';
import { qmtStatus, statusFromText } from './statusMap.ts';

export type Row = Record<string, unknown>;

const A = {
  totalAsset: ['总资产', 'total_asset'],
  cash: ['可用金额', '可用资金', 'cash'],
  marketValue: ['股票市值', '参考市值', 'market_value'],
  accountId: ['资金帐号', '资金账号', 'account_id'],
  code: ['证券代码', 'stock_code', 'security'],
  name: ['证券名称', 'instrument_name'],
  quantity: [
    '股票余额',
    '股份余额',
    '当前持仓',
    '实际数量',
    '证券数量',
    '拥股数量',
    '持仓数量',
    '库存数量',
    '参考持股',
    '持股数量',
    '当前余额',
    '当前拥股',
    'volume',
  ],
  sellable: ['可用余额', '股份可用', '可卖数量', 'can_use_volume'],
  avgCost: ['成本价', '参考成本价', '买入成本', 'avg_price', 'open_price'],
  lastPrice: ['市价', '参考市价', '最新价', '当前价', 'last_price'],
  positionValue: ['市值', '参考市值', 'market_value'],
  entrustNo: ['合同编号', '委托编号', '委托序号', 'order_id', 'entrust_no'],
  statusText: ['状态说明', '备注', '委托状态', 'order_status_name'],
  side: ['买卖标志', '操作', '买卖类别', 'order_type_name', 'offset_flag_name'],
  orderQuantity: ['委托数量', 'order_volume'],
  filled: ['成交数量', 'traded_volume'],
  limitPrice: ['委托价格', 'price'],
  avgFill: ['成交均价', 'traded_price'],
  time: ['委托时间', 'order_time'],
} as const;

export function pick(row: Row, keys: readonly string[]): unknown {
  for (const k of keys) {
    const v = row[k];
    if (v !== undefined && v !== null && v !== '') return v;
  }
  return undefined;
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v)) return Number(v);
  return undefined;
}

function shares(v: unknown): number | undefined {
  const n = num(v);
  return n !== undefined && Number.isSafeInteger(Math.round(n)) ? Math.round(n) : undefined;
}

/** A price cell as ticks: strings exactly, floats (pandas) rounded to the tick at once. */
export function priceTicks(v: unknown, decimals: 2 | 3): Ticks | undefined {
  try {
    if (typeof v === 'string') return toTicks(v.trim(), decimals);
    if (typeof v === 'number') return numberToTicks(v, decimals);
  } catch {
    return undefined;
  }
  return undefined;
}

function money(v: unknown): string {
  const n = num(v);
  return n === undefined ? '' : formatTicks(numberToTicks(n, 2), 2);
}

/** "600000" / "162411.SZ" → canonical id; easytrader's own prefix rule when ours does not know the code. */
export function symbolOf(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  const raw = String(v).trim();
  const code = raw.replace(/\.(SH|SZ|BJ|SS)$/i, '').padStart(6, '0');
  if (!/^\d{6}$/.test(code)) return undefined;
  const known = tryParseSymbol(code);
  if (known) return known.id;
  if (/^(43|83|87|92)/.test(code)) return `${code}.BJ`;
  if (/^([5679]|110|113|118|132|204)/.test(code)) return `${code}.SH`;
  return `${code}.SZ`;
}

export function decimalsOf(symbol: string): 2 | 3 {
  return tryParseSymbol(symbol)?.decimals ?? 2;
}

export function maskAccount(v: unknown): string {
  const s = v === undefined ? '' : String(v);
  return s.length >= 4 ? `****${s.slice(-4)}` : '****';
}

export function accountFromRows(body: unknown): Account {
  const row = (Array.isArray(body) ? body[0] : body) as Row | undefined;
  if (!row || typeof row !== 'object')
    return { accountId: '****', totalAsset: '', cashAvailable: '', marketValue: '' };
  const total = num(pick(row, A.totalAsset));
  const cash = num(pick(row, A.cash));
  let mv = pick(row, A.marketValue);
  // HTZQ / universal clients have no 股票市值: what is not cash is stock.
  if (mv === undefined && total !== undefined && cash !== undefined) {
    mv = (numberToTicks(total, 2) - numberToTicks(cash, 2)) / 100;
  }
  return {
    accountId: maskAccount(pick(row, A.accountId)),
    totalAsset: money(total),
    cashAvailable: money(cash),
    marketValue: money(mv),
  };
}

export function positionFromRow(row: Row): Position | undefined {
  const symbol = symbolOf(pick(row, A.code));
  const quantity = shares(pick(row, A.quantity));
  if (!symbol || quantity === undefined) return undefined;
  const d = decimalsOf(symbol);
  const sellable = shares(pick(row, A.sellable)) ?? 0;
  const p: Position = { symbol, quantity, sellable: Math.min(sellable, quantity) };
  const name = pick(row, A.name);
  if (typeof name === 'string') p.name = name;
  const cost = priceTicks(pick(row, A.avgCost), d);
  if (cost !== undefined) p.avgCost = formatTicks(cost, d);
  const last = priceTicks(pick(row, A.lastPrice), d);
  if (last !== undefined) p.lastPrice = formatTicks(last, d);
  const mv = pick(row, A.positionValue);
  if (mv !== undefined) p.marketValue = money(mv);
  return p;
}

/** One today_entrusts row, normalized; undefined when it is not an order row. */
export interface EntrustRow {
  entrustNo: string | number;
  symbol: string;
  side: 'sell' | 'buy' | undefined;
  quantity: number;
  filled: number;
  priceTicks: Ticks | undefined;
  avgFillTicks: Ticks | undefined;
  decimals: 2 | 3;
  status: OrderStatus;
  statusText?: string;
  /** Epoch ms, when the row says. */
  time?: number;
}

export function entrustFromRow(row: Row, day: string): EntrustRow | undefined {
  const entrustNo = pick(row, A.entrustNo);
  const symbol = symbolOf(pick(row, A.code));
  const quantity = shares(pick(row, A.orderQuantity));
  if ((typeof entrustNo !== 'string' && typeof entrustNo !== 'number') || !symbol || quantity === undefined)
    return undefined;
  const d = decimalsOf(symbol);
  const text = pick(row, A.statusText);
  let status: OrderStatus = typeof text === 'string' ? statusFromText(text) : 'unknown';
  const code = num(row.order_status);
  if (status === 'unknown' && code !== undefined) status = qmtStatus(code);
  const e: EntrustRow = {
    entrustNo,
    symbol,
    side: sideOf(row),
    quantity,
    filled: shares(pick(row, A.filled)) ?? 0,
    priceTicks: priceTicks(pick(row, A.limitPrice), d),
    avgFillTicks: priceTicks(pick(row, A.avgFill), d),
    decimals: d,
    status,
  };
  if (typeof text === 'string') e.statusText = text;
  const t = timeOf(pick(row, A.time), day);
  if (t !== undefined) e.time = t;
  return e;
}

function sideOf(row: Row): 'sell' | 'buy' | undefined {
  const t = pick(row, A.side);
  if (typeof t === 'string') {
    if (t.includes('卖')) return 'sell';
    if (t.includes('买')) return 'buy';
  }
  const type = num(row.order_type); // xtquant: 23 buy, 24 sell
  if (type === 24) return 'sell';
  if (type === 23) return 'buy';
  return undefined;
}

function timeOf(v: unknown, day: string): number | undefined {
  if (typeof v === 'number' && v > 1e9) return v < 1e11 ? v * 1000 : v; // xtquant: epoch seconds
  if (typeof v !== 'string') return undefined;
  const m = /^(\d{1,2}):?(\d{2}):?(\d{2})$/.exec(v.trim());
  if (!m) return undefined;
  try {
    return exchangeTs(day, `${m[1]!.padStart(2, '0')}:${m[2]}:${m[3]}`);
  } catch {
    return undefined;
  }
}

export function orderFromEntrust(e: EntrustRow, clientOrderId: string, updatedAt: string): Order {
  const o: Order = {
    clientOrderId,
    brokerOrderId: String(e.entrustNo),
    symbol: e.symbol,
    side: e.side ?? 'sell',
    quantity: e.quantity,
    filledQuantity: e.filled,
    limitPrice: e.priceTicks !== undefined ? formatTicks(e.priceTicks, e.decimals) : '',
    status: e.status,
    updatedAt,
  };
  if (e.avgFillTicks !== undefined && e.filled > 0) o.avgFillPrice = formatTicks(e.avgFillTicks, e.decimals);
  if (e.status === 'unknown' && e.statusText) o.message = `broker status "${e.statusText}"`;
  return o;
}
