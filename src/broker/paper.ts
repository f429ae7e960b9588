/**
 * BROKER=paper: an embedded simulator, persisted in `${dataDir}/paper.json`.
 *
 * Fills follow the exchange's price priority against the level-1 book the engine is watching:
 * a limit sell at P trades only against bids >= P, best bid first, at the bid's price, and never
 * for more than the volume shown. Our paper fills do not really remove shares from the exchange
 * queue, so what earlier paper sells took at a price level is remembered and subtracted until a
 * snapshot shows that level gone (the queue broke); otherwise one 5,000-share queue could "fill"
 * any number of paper orders. At the limit-up price that means: fills only while bid1 at the limit
 * has volume, partial fills when the queue is smaller than the order.
 *
 * Simplifications, on purpose: no fees, no auction phases (a crossing quote fills whenever it
 * arrives), cancels take effect at once, buys are not simulated.
 *
 * T+1: a new trading day by the injected Clock makes every held share sellable, and yesterday's
 * open orders expire (dropped with the rest of yesterday's orders).
 *
 * Updates: the engine polls getOrder, or subscribes with onOrderUpdate(listener), which is called
 * with the new Order after each change (placement, fill, cancel) has been written to disk.
 */
import { join } from 'node:path';
import { z } from 'zod';
import type {
  Account,
  Broker,
  BrokerHealth,
  Order,
  OrderStatus,
  Position,
  QuoteSink,
  SnapshotBook,
  SellRequest,
} from './broker.ts';
import { BrokerError } from './broker.ts';
import type { Clock } from '../domain/clock.ts';
import type { Snapshot, Ticks } from '../domain/types.ts';
import { InputError } from '../domain/types.ts';
import { isValidSellQuantity } from '../domain/lots.ts';
import { formatTicks, toTicks } from '../domain/prices.ts';
import { parseSymbol } from '../domain/symbols.ts';
import { exchangeDate, formatExchangeTime } from '../domain/time.ts';
import { openJsonStore } from '../store/jsonStore.ts';
import type { JsonStore } from '../store/jsonStore.ts';
import { checkSellRequest, sameSell } from './sellRequest.ts';

export interface PaperStartPosition {
  symbol: string;
  name?: string;
  quantity: number;
  sellable: number;
  avgCost?: string;
}

export interface PaperBrokerOptions {
  dataDir: string;
  clock: Clock;
  /** The latest live or replayed snapshot of a symbol; fills are tried against it on placement. */
  quotes?: (symbol: string) => Snapshot | undefined;
  /** Applied only when `${dataDir}/paper.json` does not exist yet. */
  positions?: PaperStartPosition[];
  /** Starting cash in yuan ("500000.00" or 500000); only when no state file exists yet. */
  cash?: string | number;
  /** Where failures of the fire-and-forget onQuote go. Default: process.emitWarning. */
  onError?: (err: Error) => void;
}

const int = z.number().int().nonnegative();
const orderSchema = z.object({
  clientOrderId: z.string(),
  brokerOrderId: z.string(),
  symbol: z.string(),
  decimals: z.union([z.literal(2), z.literal(3)]),
  quantity: int,
  limitTicks: int,
  filledQuantity: int,
  /** Sum of fill price (ticks) × shares: exact, so the average is exact too. */
  fillValue: int,
  status: z.enum(['submitted', 'partially_filled', 'filled', 'cancelled', 'partially_cancelled']),
  createdAt: z.number(),
  updatedAt: z.number(),
  note: z.string().optional(),
});
const positionSchema = z.object({
  symbol: z.string(),
  name: z.string().optional(),
  quantity: int,
  sellable: int,
  avgCost: z.string().optional(),
});
const stateSchema = z.object({
  tradingDay: z.string(),
  /** Cash in 0.001 yuan (li), so fills of 3-decimal instruments stay exact. */
  cashLi: int,
  seq: int,
  positions: z.array(positionSchema),
  orders: z.array(orderSchema),
  /** symbol → price (ticks, as a string key) → shares our paper sells already took at that level. */
  taken: z.record(z.string(), z.record(z.string(), int)),
});
type PaperState = z.infer<typeof stateSchema>;
type PaperOrder = z.infer<typeof orderSchema>;

const OPEN: ReadonlySet<string> = new Set(['submitted', 'partially_filled']);

export class PaperBroker implements Broker, QuoteSink {
  readonly name = 'paper';
  private readonly listeners = new Set<(o: Order) => void>();
  /** The quotes seen, unless the engine's book is read instead (quoteFrom). */
  private readonly lastSeen = new Map<string, Snapshot>();
  private book: SnapshotBook | undefined;
  /**
   * Symbols with an open order, rebuilt after each change of the state: onQuote sees every
   * snapshot of every watched symbol, and scanning all orders for each was O(orders) per quote.
   */
  private openSymbols: Set<string> | undefined;
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly store: JsonStore<PaperState>,
    private readonly opts: PaperBrokerOptions,
  ) {}

  static async open(opts: PaperBrokerOptions): Promise<PaperBroker> {
    const start = startingState(opts);
    const store = await openJsonStore<PaperState>({
      file: join(opts.dataDir, 'paper.json'),
      schema: stateSchema,
      version: 1,
      defaults: () => start,
    });
    const broker = new PaperBroker(store, opts);
    // Written at once so the starting positions are fixed by the first run, not by later configs.
    await store.update(() => {});
    return broker;
  }

  /** Subscribe to order changes; returns the unsubscribe function. */
  onOrderUpdate(listener: (o: Order) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The engine calls this for every snapshot. Safe to fire and forget: it never rejects (failures
   * go to options.onError); await it to know the fills it caused are on disk.
   */
  /** QuoteSink: every snapshot of a batch, fire and forget (failures go to options.onError). */
  onQuotes(batch: readonly Snapshot[]): void {
    // Most quotes concern no paper order: decided without a promise per quote, and the day
    // (does the state roll over?) once per batch, not per quote.
    const newDay = this.store.data.tradingDay !== exchangeDate(this.opts.clock.now());
    // With the engine's book as the quote cache and nothing open or taken, no quote matters.
    if (!newDay && this.book !== undefined && this.idle()) return;
    for (const s of batch) if (this.see(s) || newDay) void this.fill(s);
  }

  /** No open paper order and nothing taken from the book today. */
  private idle(): boolean {
    const d = this.store.data;
    this.openSymbols ??= new Set(d.orders.filter((o) => OPEN.has(o.status)).map((o) => o.symbol));
    if (this.openSymbols.size > 0) return false;
    for (const _ in d.taken) return false;
    return true;
  }

  onQuote(s: Snapshot): Promise<void> {
    const newDay = this.store.data.tradingDay !== exchangeDate(this.opts.clock.now());
    return this.see(s) || newDay ? this.fill(s) : Promise.resolve();
  }

  /** Remembers the quote; true when it may fill an order. */
  private see(s: Snapshot): boolean {
    if (this.book === undefined) this.lastSeen.set(s.symbol, s);
    const d = this.store.data;
    this.openSymbols ??= new Set(d.orders.filter((o) => OPEN.has(o.status)).map((o) => o.symbol));
    return this.openSymbols.has(s.symbol) || d.taken[s.symbol] !== undefined;
  }

  private fill(s: Snapshot): Promise<void> {
    return this.exclusive(() =>
      this.mutate((draft, ctx) => match(draft, s, this.opts.clock.now(), ctx)),
    ).then(
      () => {},
      (err: unknown) => (this.opts.onError ?? ((e: Error) => process.emitWarning(e)))(err as Error),
    );
  }

  async health(): Promise<BrokerHealth> {
    return { ok: true, broker: 'paper', connected: true, accountId: 'paper' };
  }

  async account(): Promise<Account> {
    return this.exclusive(async () => {
      await this.mutate(() => {});
      const d = this.store.data;
      let valueLi = 0;
      for (const p of d.positions) {
        const q = this.quote(p.symbol);
        const sec = parseSymbol(p.symbol);
        const px = q && q.last > 0 ? q.last : p.avgCost ? toTicks(p.avgCost, sec.decimals) : 0;
        valueLi += px * p.quantity * (sec.decimals === 2 ? 10 : 1);
      }
      return {
        accountId: 'paper',
        totalAsset: formatLi(d.cashLi + valueLi),
        cashAvailable: formatLi(d.cashLi),
        marketValue: formatLi(valueLi),
      };
    });
  }

  async positions(): Promise<Position[]> {
    return this.exclusive(async () => {
      await this.mutate(() => {});
      return this.store.data.positions
        .filter((p) => p.quantity > 0)
        .map((p) => {
          const out: Position = { symbol: p.symbol, quantity: p.quantity, sellable: p.sellable };
          if (p.name) out.name = p.name;
          if (p.avgCost) out.avgCost = p.avgCost;
          const q = this.quote(p.symbol);
          if (q && q.last > 0) {
            out.lastPrice = formatTicks(q.last, q.decimals);
            out.marketValue = formatLi(q.last * p.quantity * (q.decimals === 2 ? 10 : 1));
          }
          return out;
        });
    });
  }

  async placeSell(req: SellRequest): Promise<Order> {
    const c = checkSellRequest(req);
    return this.exclusive(async () => {
      let id = '';
      await this.mutate((draft, ctx) => {
        const now = this.opts.clock.now();
        const existing = draft.orders.find((o) => o.clientOrderId === c.clientOrderId);
        if (existing) {
          if (
            !sameSell(c, {
              symbol: existing.symbol,
              quantity: existing.quantity,
              priceTicks: existing.limitTicks,
            })
          ) {
            throw new BrokerError(
              'IDEMPOTENCY_CONFLICT',
              `order ${c.clientOrderId} exists as ${existing.symbol} ${existing.quantity} @ ${formatTicks(existing.limitTicks, existing.decimals)}`,
            );
          }
          id = existing.clientOrderId;
          return;
        }
        const sym = c.security.id;
        const q = this.quote(sym);
        if (q?.limitUp != null && c.priceTicks > q.limitUp) {
          throw new BrokerError(
            'PRICE_OUT_OF_RANGE',
            `limitPrice ${req.limitPrice} is above the limit-up price ${formatTicks(q.limitUp, q.decimals)}`,
          );
        }
        if (q?.limitDown != null && c.priceTicks < q.limitDown) {
          throw new BrokerError(
            'PRICE_OUT_OF_RANGE',
            `limitPrice ${req.limitPrice} is below the limit-down price ${formatTicks(q.limitDown, q.decimals)}`,
          );
        }
        const pos = draft.positions.find((p) => p.symbol === sym);
        const committed = draft.orders
          .filter((o) => o.symbol === sym && OPEN.has(o.status))
          .reduce((n, o) => n + o.quantity - o.filledQuantity, 0);
        const available = Math.max(0, (pos?.sellable ?? 0) - committed);
        if (c.quantity > available) {
          throw new BrokerError(
            'INSUFFICIENT_POSITION',
            `${sym}: selling ${c.quantity} but only ${available} sellable (${pos?.sellable ?? 0} sellable today, ${committed} in open sells)`,
          );
        }
        if (!isValidSellQuantity(c.security.board, c.quantity, available, c.security.exchange)) {
          throw new BrokerError(
            'LOT_SIZE',
            `${sym}: ${c.quantity} shares is not a valid sell quantity with ${available} available`,
          );
        }
        draft.seq += 1;
        const order: PaperOrder = {
          clientOrderId: c.clientOrderId,
          brokerOrderId: `P${String(draft.seq).padStart(6, '0')}`,
          symbol: sym,
          decimals: c.security.decimals,
          quantity: c.quantity,
          limitTicks: c.priceTicks,
          filledQuantity: 0,
          fillValue: 0,
          status: 'submitted',
          createdAt: now,
          updatedAt: now,
        };
        if (c.note) order.note = c.note;
        draft.orders.push(order);
        ctx.changed.add(order.clientOrderId);
        id = order.clientOrderId;
        if (q) match(draft, q, now, ctx);
      });
      return toOrder(this.store.data.orders.find((o) => o.clientOrderId === id)!);
    });
  }

  async getOrder(id: string): Promise<Order | null> {
    return this.exclusive(async () => {
      await this.mutate(() => {});
      const o = this.find(id);
      return o ? toOrder(o) : null;
    });
  }

  async cancel(id: string): Promise<void> {
    await this.exclusive(() =>
      this.mutate((draft, ctx) => {
        const o = draft.orders.find((x) => x.clientOrderId === id || x.brokerOrderId === id);
        if (!o) throw new BrokerError('ORDER_NOT_FOUND', `no paper order ${JSON.stringify(id)} today`);
        if (!OPEN.has(o.status))
          throw new BrokerError('NOT_CANCELLABLE', `order ${o.clientOrderId} is already ${o.status}`);
        o.status = o.filledQuantity > 0 ? 'partially_cancelled' : 'cancelled';
        o.updatedAt = this.opts.clock.now();
        ctx.changed.add(o.clientOrderId);
      }),
    );
  }

  async todayOrders(): Promise<Order[]> {
    return this.exclusive(async () => {
      await this.mutate(() => {});
      return this.store.data.orders.map(toOrder);
    });
  }

  private find(id: string): PaperOrder | undefined {
    return this.store.data.orders.find((o) => o.clientOrderId === id || o.brokerOrderId === id);
  }

  private quote(symbol: string): Snapshot | undefined {
    return this.opts.quotes?.(symbol) ?? this.book?.lastSnapshot(symbol) ?? this.lastSeen.get(symbol);
  }

  quoteFrom(book: SnapshotBook): void {
    this.book = book;
    this.lastSeen.clear();
  }

  /** Runs one change (after the day rollover), writes only when something changed, then notifies. */
  private async mutate(fn: (draft: PaperState, ctx: Ctx) => void): Promise<void> {
    const today = exchangeDate(this.opts.clock.now());
    const ctx: Ctx = { changed: new Set(), dirty: false };
    this.openSymbols = undefined;
    await this.store
      .update((draft) => {
        if (draft.tradingDay !== today) {
          rollover(draft, today);
          ctx.dirty = true;
        }
        fn(draft, ctx);
        if (!ctx.dirty && ctx.changed.size === 0) throw NOTHING;
      })
      .catch((err: unknown) => {
        if (err !== NOTHING) throw err;
      })
      .finally(() => {
        this.openSymbols = undefined;
      });
    for (const id of ctx.changed) {
      const o = this.store.data.orders.find((x) => x.clientOrderId === id);
      if (!o) continue;
      const order = toOrder(o);
      for (const l of this.listeners) l(order);
    }
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn);
    this.tail = run.catch(() => {});
    return run;
  }
}

// Thrown out of a no-op mutation so the store skips a pointless fsync; caught in mutate().
const NOTHING = Symbol('nothing changed');

interface Ctx {
  /** Orders whose state changed (listeners hear about these). */
  changed: Set<string>;
  /** Something else changed that must be written. */
  dirty: boolean;
}

function rollover(d: PaperState, today: string): void {
  d.tradingDay = today;
  for (const p of d.positions) p.sellable = p.quantity;
  d.positions = d.positions.filter((p) => p.quantity > 0);
  d.orders = [];
  d.taken = {};
}

/** Trade the symbol's open paper sells against one snapshot's bids (see the file comment). */
function match(d: PaperState, s: Snapshot, now: number, ctx: Ctx): void {
  const taken = d.taken[s.symbol];
  if (taken) {
    for (const price of Object.keys(taken)) {
      if (!s.bids.some(([p, v]) => p === Number(price) && v > 0)) {
        delete taken[price];
        ctx.dirty = true;
      }
    }
    if (Object.keys(taken).length === 0) delete d.taken[s.symbol];
  }
  if (s.status !== 'normal') return;
  const open = d.orders
    .filter((o) => o.symbol === s.symbol && OPEN.has(o.status))
    .sort((a, b) => a.createdAt - b.createdAt);
  for (const o of open) {
    let remaining = o.quantity - o.filledQuantity;
    for (const [price, volume] of s.bids) {
      if (remaining === 0 || price < o.limitTicks) break;
      const level = (d.taken[s.symbol] ??= {});
      const free = volume - (level[String(price)] ?? 0);
      if (free <= 0) continue;
      const x = Math.min(free, remaining);
      level[String(price)] = (level[String(price)] ?? 0) + x;
      remaining -= x;
      fill(d, o, price, x, now);
      ctx.changed.add(o.clientOrderId);
    }
  }
}

function fill(d: PaperState, o: PaperOrder, price: Ticks, shares: number, now: number): void {
  o.filledQuantity += shares;
  o.fillValue += price * shares;
  o.status = o.filledQuantity === o.quantity ? 'filled' : 'partially_filled';
  o.updatedAt = now;
  d.cashLi += price * shares * (o.decimals === 2 ? 10 : 1);
  const pos = d.positions.find((p) => p.symbol === o.symbol);
  if (pos) {
    pos.quantity -= shares;
    pos.sellable -= shares;
  }
}

function toOrder(o: PaperOrder): Order {
  const out: Order = {
    clientOrderId: o.clientOrderId,
    brokerOrderId: o.brokerOrderId,
    symbol: o.symbol,
    side: 'sell',
    quantity: o.quantity,
    filledQuantity: o.filledQuantity,
    limitPrice: formatTicks(o.limitTicks, o.decimals),
    status: o.status as OrderStatus,
    updatedAt: formatExchangeTime(o.updatedAt),
  };
  if (o.filledQuantity > 0) out.avgFillPrice = averagePrice(o.fillValue, o.filledQuantity, o.decimals);
  return out;
}

/** Exact when the fills share one price (the usual case at the limit); else to 1/1000 of a tick. */
function averagePrice(value: number, shares: number, decimals: 2 | 3): string {
  if (value % shares === 0) return formatTicks(value / shares, decimals);
  const places = decimals + 3;
  const scaled = Math.round((value * 1000) / shares);
  const scale = 10 ** places;
  const frac = String(scaled % scale)
    .padStart(places, '0')
    .replace(/0+$/, '');
  return `${Math.floor(scaled / scale)}.${frac.padEnd(decimals, '0')}`;
}

function formatLi(li: number): string {
  return li % 10 === 0 ? formatTicks(li / 10, 2) : formatTicks(li, 3);
}

function startingState(opts: PaperBrokerOptions): PaperState {
  const positions = (opts.positions ?? []).map((p, i) => {
    const where = `paper position #${i + 1} (${JSON.stringify(p.symbol)})`;
    let sec;
    try {
      sec = parseSymbol(p.symbol);
    } catch (err) {
      throw new InputError(`${where}: ${(err as Error).message}`);
    }
    if (!Number.isSafeInteger(p.quantity) || p.quantity < 0)
      throw new InputError(`${where}: quantity must be a whole number of shares`);
    if (!Number.isSafeInteger(p.sellable) || p.sellable < 0 || p.sellable > p.quantity) {
      throw new InputError(
        `${where}: sellable must be a whole number between 0 and quantity (${p.quantity})`,
      );
    }
    const out: PaperState['positions'][number] = {
      symbol: sec.id,
      quantity: p.quantity,
      sellable: p.sellable,
    };
    if (p.name) out.name = p.name;
    if (p.avgCost !== undefined) {
      try {
        out.avgCost = formatTicks(toTicks(p.avgCost, sec.decimals), sec.decimals);
      } catch (err) {
        throw new InputError(`${where}: avgCost ${(err as Error).message}`);
      }
    }
    return out;
  });
  let cashLi = 0;
  if (opts.cash !== undefined) {
    try {
      cashLi = toTicks(String(opts.cash), 3);
    } catch (err) {
      throw new InputError(`paper cash ${JSON.stringify(opts.cash)}: ${(err as Error).message}`);
    }
  }
  return { tradingDay: exchangeDate(opts.clock.now()), cashLi, seq: 0, positions, orders: [], taken: {} };
}
