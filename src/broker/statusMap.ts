/**
 * Order-status normalization (reference/brokers.md §6.5). Every adapter ends in the bridge
 * protocol's vocabulary; anything not recognized becomes 'unknown' so a human looks at it rather
 * than the engine guessing.
 */
import { ORDER_STATUSES, type OrderStatus } from './broker.ts';

const WIRE: ReadonlySet<string> = new Set<OrderStatus>(ORDER_STATUSES);

/** A bridge-protocol `status` string; unrecognized values become 'unknown'. */
export function wireStatus(s: unknown): OrderStatus {
  return typeof s === 'string' && WIRE.has(s) ? (s as OrderStatus) : 'unknown';
}

const QMT: Record<number, OrderStatus> = {
  48: 'pending_new',
  49: 'pending_new',
  50: 'submitted',
  51: 'pending_cancel',
  52: 'pending_cancel',
  53: 'partially_cancelled',
  54: 'cancelled',
  55: 'partially_filled',
  56: 'filled',
  57: 'rejected',
};

/** xtquant `order_status` (48..57, 255). */
export function qmtStatus(code: number): OrderStatus {
  return QMT[code] ?? 'unknown';
}

const PTRADE: Record<string, OrderStatus> = {
  '0': 'pending_new',
  '1': 'pending_new',
  '+': 'pending_new',
  '2': 'submitted',
  '-': 'submitted',
  V: 'submitted',
  '3': 'pending_cancel',
  '4': 'pending_cancel',
  '7': 'partially_filled',
  '8': 'filled',
  '6': 'cancelled',
  '5': 'partially_cancelled',
  '9': 'rejected',
};

/** PTrade `Order.status` ('0'..'9', '+', '-', 'V'). */
export function ptradeStatus(code: string): OrderStatus {
  return PTRADE[code] ?? 'unknown';
}

// Longest first: the texts nest ("部成待撤" contains "部成", "已报待撤" contains "已报").
const TEXT: Array<[string, OrderStatus]> = (
  [
    ['已报待撤', 'pending_cancel'],
    ['部成待撤', 'pending_cancel'],
    ['部分成交', 'partially_filled'],
    ['全部成交', 'filled'],
    ['全部撤单', 'cancelled'],
    ['部分撤单', 'partially_cancelled'],
    ['正常撤单', 'cancelled'],
    ['场内撤单', 'cancelled'],
    ['已成交', 'filled'],
    ['未成交', 'submitted'],
    ['未报', 'pending_new'],
    ['待报', 'pending_new'],
    ['正报', 'pending_new'],
    ['已报', 'submitted'],
    ['部成', 'partially_filled'],
    ['已成', 'filled'],
    ['已撤', 'cancelled'],
    ['部撤', 'partially_cancelled'],
    ['废单', 'rejected'],
  ] as Array<[string, OrderStatus]>
).sort((a, b) => b[0].length - a[0].length);

/** THS / EastMoney / easytrader 状态说明 text ("已成", "部成", "已报待撤", "废单", ...). */
export function statusFromText(text: string): OrderStatus {
  const t = text.trim();
  for (const [k, v] of TEXT) if (t === k) return v;
  for (const [k, v] of TEXT) if (t.includes(k)) return v;
  return 'unknown';
}
