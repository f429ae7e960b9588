/**
 * A scripted trading day for spawned-process tests, played on the real clock: each held stock
 * trades below its limit, seals with a large bid queue at limit-up, drains below the threshold and
 * breaks, then stays open, so each stock has exactly one seal segment and any second order for it
 * is a duplicate. Non-sealing "quiet" stocks exist so /watch can look them up.
 */
import { formatExchangeTime } from '../../src/domain/time.ts';
import type { Book, TencentMarket } from '../helpers/tencentMarket.ts';

export interface ScriptedStock {
  code: string;
  exchange: 'sz' | 'sh';
  name: string;
  /** ms after the script start. */
  sealAt: number;
  drainFrom: number;
  drainTo: number;
  breakAt: number;
}

/** prevClose 10.00 for every stock: limit-up 11.00, limit-down 9.00 (main board, 10%). */
const PREV = '10.00';
const UP = '11.00';
const DOWN = '9.00';
/** 1亿 at 11.00 and 1000万 at 11.00, in lots. */
const BIG_LOTS = 90_909;
const SMALL_LOTS = 9_090;

export function heldStocks(count: number, firstSealMs: number, spacingMs: number): ScriptedStock[] {
  const codes: [string, 'sz' | 'sh', string][] = [
    ['002116', 'sz', '中国海诚'],
    ['600111', 'sh', '北方稀土'],
    ['000858', 'sz', '五粮液'],
    ['601012', 'sh', '隆基绿能'],
    ['000725', 'sz', '京东方A'],
    ['600104', 'sh', '上汽集团'],
  ];
  return codes.slice(0, count).map(([code, exchange, name], k) => {
    const sealAt = firstSealMs + k * spacingMs;
    return {
      code,
      exchange,
      name,
      sealAt,
      drainFrom: sealAt + 2000,
      drainTo: sealAt + 5000,
      breakAt: sealAt + 10_000,
    };
  });
}

export const QUIET: [string, 'sz' | 'sh', string][] = [
  ['600519', 'sh', '贵州茅台'],
  ['000001', 'sz', '平安银行'],
  ['600036', 'sh', '招商银行'],
  ['601318', 'sh', '中国平安'],
  ['000333', 'sz', '美的集团'],
  ['600900', 'sh', '长江电力'],
];

function stamp(ts: number): { date: string; time: string } {
  const iso = formatExchangeTime(ts);
  return { date: iso.slice(0, 10), time: iso.slice(11, 19) };
}

export function bookOf(s: ScriptedStock, elapsed: number, marketTs: number): Book {
  const base = {
    code: s.code,
    exchange: s.exchange,
    name: s.name,
    prevClose: PREV,
    limitUp: UP,
    limitDown: DOWN,
    ...stamp(marketTs),
  };
  if (elapsed < s.sealAt) {
    return {
      ...base,
      last: '10.80',
      bids: [['10.79', 500]],
      asks: [
        ['10.80', 300],
        ['10.81', 200],
      ],
    };
  }
  if (elapsed < s.breakAt) {
    const f = Math.min(1, Math.max(0, (elapsed - s.drainFrom) / (s.drainTo - s.drainFrom)));
    const lots = Math.round(BIG_LOTS - f * (BIG_LOTS - SMALL_LOTS));
    return {
      ...base,
      last: UP,
      high: UP,
      bids: [
        [UP, lots],
        ['10.99', 800],
      ],
      asks: [],
    };
  }
  return { ...base, last: '10.95', high: UP, bids: [['10.95', 500]], asks: [[UP, 300]] };
}

export function quietBook(code: string, exchange: 'sz' | 'sh', name: string, marketTs: number): Book {
  return {
    code,
    exchange,
    name,
    prevClose: PREV,
    limitUp: UP,
    limitDown: DOWN,
    ...stamp(marketTs),
    last: '10.10',
    bids: [['10.09', 100]],
    asks: [['10.10', 100]],
  };
}

/** Keeps the market's books at the script's current moment until stopped. */
export function playDay(
  market: TencentMarket,
  stocks: ScriptedStock[],
  startMarketTs: number,
  startWall = Date.now(),
): { elapsed(): number; marketNow(): number; stop(): void } {
  const elapsed = () => Date.now() - startWall;
  const tick = () => {
    const e = elapsed();
    const ts = startMarketTs + e;
    for (const s of stocks) market.set(bookOf(s, e, ts));
    for (const [code, ex, name] of QUIET) market.set(quietBook(code, ex, name, ts));
  };
  tick();
  const timer = setInterval(tick, 50);
  return { elapsed, marketNow: () => startMarketTs + elapsed(), stop: () => clearInterval(timer) };
}

/** The bridge's GET /v1/positions rows for these stocks, 10,000 shares each, all sellable. */
export function bridgePositions(stocks: ScriptedStock[]): Record<string, unknown>[] {
  return stocks.map((s) => ({
    symbol: `${s.code}.${s.exchange.toUpperCase()}`,
    name: s.name,
    quantity: 10_000,
    sellable_quantity: 10_000,
    avg_cost: '9.50',
    last_price: '10.80',
    market_value: '108000.00',
  }));
}
