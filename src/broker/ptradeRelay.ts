/**
 * BROKER=ptrade: PTrade strategies cannot be called from outside, so SealGuard hosts the relay of
 * BRIDGE-PROTOCOL.md and the strategy (bridges/ptrade/sealguard_relay.py) polls it every 3 s. The
 * wire contract is bridges/ptrade/README.md ("The relay contract (v1)"):
 *
 *   GET  /v1/relay/commands?after=<cursor>  → [{"command_id","kind","order","cursor"}] not yet answered
 *                                             (v1.1, while a quote sink is attached:
 *                                             {"commands":[...], "watch":["002116.SZ",...]})
 *   POST /v1/relay/results                  ← {"results":[...], "snapshot":{account,positions,orders}}
 *   POST /v1/relay/quotes (v1.1)            ← {"quotes":[<quote stream events>]}, judged by the sink
 *
 * Both need `Authorization: Bearer <BROKER_TOKEN>`. command_id is the idempotency key: a place
 * command's id is the client order id, so asking twice queues one command. A result is either the
 * order's fields flat (the strategy's shape: GET /v1/orders/{id} fields plus command_id, kind,
 * ok) or nested under "order"; a failure is {"command_id","ok":false,"error":{"code","message"}}.
 *
 * Cursors carry this process's start time, so a strategy that polls across a SealGuard restart
 * gets the whole new queue instead of skipping it.
 *
 * placeSell waits (bounded) for the result. If the strategy never fetched the command, it is
 * withdrawn and the error is retryable BRIDGE_NOT_READY (provably not placed). If it was fetched
 * but no result came back, OUTCOME_UNKNOWN: getOrder then answers 'unknown' until a result or a
 * snapshot tells.
 *
 * Everything lives in memory: after a restart the strategy's next snapshot (every 30 s, or on
 * demand) restores orders, positions and the account; the strategy's own done-map keeps commands
 * from running twice.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { Account, Broker, BrokerHealth, Order, Position, SellRequest } from './broker.ts';
import { BrokerError } from './broker.ts';
import type { Clock } from '../domain/clock.ts';
import { formatTicks } from '../domain/prices.ts';
import { BodyError, closeAfterResponse, readBoundedBody, skipBody } from '../net/boundedBody.ts';
import { formatExchangeTime } from '../domain/time.ts';
import { knownErrorCode } from './bridgeWire.ts';
import { checkSellRequest, sameSell } from './sellRequest.ts';
import type { CheckedSell } from './sellRequest.ts';
import { wireStatus } from './statusMap.ts';

export interface PtradeRelayOptions {
  /** BROKER_TOKEN, shared with the strategy. */
  token: string;
  clock: Clock;
  /** How long placeSell and cancel wait for the strategy's answer. Default 10 s (three polls). */
  resultTimeoutMs?: number;
  /** The strategy counts as connected if it polled within this long. Default 10 s. */
  connectedWithinMs?: number;
}

/**
 * The `ptrade` quote source (src/market/relayQuotes.ts), seen structurally so the broker needs no
 * market import: what to ask quotes for, and the verdict on a posted body.
 */
export interface RelayQuotePosts {
  watch(): string[];
  accept(body: unknown): { status: number; body: unknown };
}

interface Command {
  command_id: string;
  kind: 'place' | 'cancel' | 'snapshot';
  order: Record<string, unknown>;
  cursor: string;
  seq: number;
  served: boolean;
  sell?: CheckedSell;
}

type Result = { ok: true; order?: Order } | { ok: false; code: string; message: string };

const MAX_BODY = 1 << 20;
/** 5,000 watched codes' events are about 2 MB. */
const MAX_QUOTES_BODY = 8 << 20;

const decimalOrNull = z.union([z.string(), z.number().transform(String)]).nullish();
const relayOrderSchema = z.object({
  client_order_id: z.string().nullish(),
  broker_order_id: z.union([z.string(), z.number().transform(String)]).nullish(),
  symbol: z.string(),
  side: z.enum(['sell', 'buy']).catch('sell'),
  quantity: z.number().int().nonnegative(),
  filled_quantity: z.number().int().nonnegative().nullish(),
  avg_fill_price: decimalOrNull,
  limit_price: decimalOrNull,
  status: z.string(),
  updated_at: z.string().nullish(),
  message: z.string().nullish(),
});
const resultSchema = z.looseObject({
  command_id: z.union([z.string(), z.number().transform(String)]),
  ok: z.boolean(),
  order: z.unknown().optional(),
  error: z.object({ code: z.string(), message: z.string().nullish() }).nullish(),
});
const snapshotSchema = z.object({
  account: z
    .object({
      account_id: z.union([z.string(), z.number().transform(String)]),
      total_asset: decimalOrNull,
      cash_available: decimalOrNull,
      market_value: decimalOrNull,
    })
    .nullish(),
  positions: z
    .array(
      z.object({
        symbol: z.string(),
        name: z.string().nullish(),
        quantity: z.number().int().nonnegative(),
        sellable_quantity: z.number().int().nonnegative(),
        avg_cost: decimalOrNull,
        last_price: decimalOrNull,
        market_value: decimalOrNull,
      }),
    )
    .nullish(),
  orders: z.array(z.unknown()).nullish(),
});
const resultsBodySchema = z.object({
  results: z.array(z.unknown()).default([]),
  snapshot: snapshotSchema.nullish(),
});

export class PtradeRelayBroker implements Broker {
  readonly name = 'ptrade';
  private readonly epoch: string;
  private seq = 0;
  private readonly commands = new Map<string, Command>();
  private readonly results = new Map<string, Result>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly orders = new Map<string, Order>();
  private account_?: Account;
  private positions_?: Position[];
  private lastPollAt = -Infinity;
  private readonly resultTimeoutMs: number;
  private readonly connectedWithinMs: number;
  private server?: Server;
  private quotes?: RelayQuotePosts;

  constructor(private readonly opts: PtradeRelayOptions) {
    if (!opts.token) throw new BrokerError('INVALID_ARGUMENT', 'BROKER_TOKEN is required for BROKER=ptrade');
    this.epoch = opts.clock.now().toString(36);
    this.resultTimeoutMs = opts.resultTimeoutMs ?? 10_000;
    this.connectedWithinMs = opts.connectedWithinMs ?? 10_000;
  }

  // ---- HTTP side (the strategy) -------------------------------------------------------------

  /** Handles /v1/relay/* and returns true; returns false for any other path (another handler's). */
  handle = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = new URL(req.url ?? '/', 'http://relay');
    if (!url.pathname.startsWith('/v1/relay/')) return false;
    if (!this.authorized(req.headers.authorization)) {
      skipBody(req, res);
      send(res, 401, { error: { code: 'UNAUTHORIZED', message: 'missing or wrong bearer token' } });
      return true;
    }
    if (req.method === 'GET' && url.pathname === '/v1/relay/commands') {
      skipBody(req, res);
      this.lastPollAt = this.opts.clock.now();
      const commands = this.pending(url.searchParams.get('after') ?? '');
      // A v1 strategy only understands the array: the object goes out only when quotes are wanted.
      send(res, 200, this.quotes ? { commands, watch: this.quotes.watch() } : commands);
      return true;
    }
    if (req.method === 'POST' && url.pathname === '/v1/relay/quotes') {
      this.receiveQuotes(req, res);
      return true;
    }
    if (req.method === 'POST' && url.pathname === '/v1/relay/results') {
      readBody(req)
        .then((text) => {
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            return send(res, 400, { error: { code: 'INVALID_ARGUMENT', message: 'body is not JSON' } });
          }
          const parsed = resultsBodySchema.safeParse(json);
          if (!parsed.success) {
            const i = parsed.error.issues[0];
            return send(res, 400, {
              error: { code: 'INVALID_ARGUMENT', message: `${i?.path.join('.') || 'body'}: ${i?.message}` },
            });
          }
          this.lastPollAt = this.opts.clock.now();
          const accepted = this.accept(parsed.data);
          send(res, 200, { accepted });
        })
        .catch((err: unknown) => {
          // The body was not read to its end (too big, too slow, aborted): answer and close the
          // connection rather than drain whatever the client keeps sending.
          closeAfterResponse(req, res);
          send(res, err instanceof BodyError ? err.status : 400, {
            error: { code: 'INVALID_ARGUMENT', message: (err as Error).message },
          });
        });
      return true;
    }
    skipBody(req, res);
    send(res, 404, {
      error: { code: 'ORDER_NOT_FOUND', message: `no relay route ${req.method} ${url.pathname}` },
    });
    return true;
  };

  /** Attaches the `ptrade` quote source: from now on the commands answer carries `watch`. */
  attachQuotes(sink: RelayQuotePosts): void {
    this.quotes = sink;
  }

  private receiveQuotes(req: IncomingMessage, res: ServerResponse): void {
    const sink = this.quotes;
    if (!sink) {
      skipBody(req, res);
      send(res, 404, {
        error: {
          code: 'INVALID_ARGUMENT',
          message: 'quotes are not wanted: ptrade is not in QUOTE_SOURCES',
          retryable: false,
        },
      });
      return;
    }
    readBoundedBody(req, { maxBytes: MAX_QUOTES_BODY, timeoutMs: 15_000 })
      .then((buf) => {
        let json: unknown;
        try {
          json = JSON.parse(buf.toString('utf8'));
        } catch {
          const v = sink.accept(undefined); // counted and reported like any other refused post
          return send(res, v.status, {
            error: { code: 'INVALID_ARGUMENT', message: 'body is not JSON', retryable: false },
          });
        }
        this.lastPollAt = this.opts.clock.now();
        const v = sink.accept(json);
        send(res, v.status, v.body);
      })
      .catch((err: unknown) => {
        closeAfterResponse(req, res);
        send(res, err instanceof BodyError ? err.status : 400, {
          error: { code: 'INVALID_ARGUMENT', message: (err as Error).message },
        });
      });
  }

  /** A standalone server (tests, or when nothing else shares HTTP_PORT). */
  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    const server = createServer((req, res) => {
      if (!this.handle(req, res))
        send(res, 404, { error: { code: 'ORDER_NOT_FOUND', message: 'not found' } });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  private authorized(header: string | undefined): boolean {
    const want = Buffer.from(`Bearer ${this.opts.token}`);
    const got = Buffer.from(header ?? '');
    return got.length === want.length && timingSafeEqual(got, want);
  }

  private pending(after: string): unknown[] {
    const [epoch, n] = after.split('-');
    const from = epoch === this.epoch && n !== undefined && /^\d+$/.test(n) ? Number(n) : 0;
    const out: unknown[] = [];
    for (const c of [...this.commands.values()].sort((a, b) => a.seq - b.seq)) {
      if (c.seq <= from || this.results.has(c.command_id)) continue;
      c.served = true;
      out.push({ command_id: c.command_id, kind: c.kind, order: c.order, cursor: c.cursor });
    }
    return out;
  }

  private accept(body: z.output<typeof resultsBodySchema>): number {
    let accepted = 0;
    const now = formatExchangeTime(this.opts.clock.now());
    for (const raw of body.results) {
      const r = resultSchema.safeParse(raw);
      if (!r.success) continue;
      const id = r.data.command_id;
      const cmd = this.commands.get(id);
      let result: Result;
      if (r.data.ok) {
        const fields = r.data.order && typeof r.data.order === 'object' ? r.data.order : raw;
        const order = this.toOrder(fields, now, cmd);
        if (order) this.orders.set(order.clientOrderId, order);
        result = order ? { ok: true, order } : { ok: true };
      } else {
        result = {
          ok: false,
          code: r.data.error?.code ?? 'BROKER_REJECTED',
          message: r.data.error?.message ?? 'rejected by the strategy',
        };
        if (cmd?.kind === 'place' && cmd.sell) {
          const status = wireStatus((raw as { status?: unknown }).status);
          this.orders.set(cmd.command_id, {
            clientOrderId: cmd.command_id,
            symbol: cmd.sell.security.id,
            side: 'sell',
            quantity: cmd.sell.quantity,
            filledQuantity: 0,
            limitPrice: formatTicks(cmd.sell.priceTicks, cmd.sell.security.decimals),
            status:
              result.code === 'OUTCOME_UNKNOWN' ? 'unknown' : status === 'unknown' ? 'rejected' : status,
            updatedAt: now,
            message: `${result.code}: ${result.message}`,
          });
        }
      }
      this.results.set(id, result);
      accepted++;
      for (const wake of this.waiters.get(id) ?? []) wake();
    }
    const s = body.snapshot;
    if (s?.account) {
      this.account_ = {
        accountId: s.account.account_id,
        totalAsset: s.account.total_asset ?? '',
        cashAvailable: s.account.cash_available ?? '',
        marketValue: s.account.market_value ?? '',
      };
    }
    if (s?.positions) {
      this.positions_ = s.positions.map((p) => {
        const out: Position = { symbol: p.symbol, quantity: p.quantity, sellable: p.sellable_quantity };
        if (p.name) out.name = p.name;
        if (p.avg_cost != null) out.avgCost = p.avg_cost;
        if (p.last_price != null) out.lastPrice = p.last_price;
        if (p.market_value != null) out.marketValue = p.market_value;
        return out;
      });
    }
    for (const raw of s?.orders ?? []) {
      const o = this.toOrder(raw, now);
      if (o) this.orders.set(o.clientOrderId, o);
    }
    return accepted;
  }

  private toOrder(raw: unknown, now: string, cmd?: Command): Order | undefined {
    const p = relayOrderSchema.safeParse(raw);
    if (!p.success) return undefined;
    const w = p.data;
    const clientOrderId =
      w.client_order_id ||
      (cmd?.kind === 'place' ? cmd.command_id : undefined) ||
      (w.broker_order_id ? `ptrade-${w.broker_order_id}` : undefined);
    if (!clientOrderId) return undefined;
    const limit =
      w.limit_price ??
      (cmd?.sell
        ? formatTicks(cmd.sell.priceTicks, cmd.sell.security.decimals)
        : (this.orders.get(clientOrderId)?.limitPrice ?? ''));
    const o: Order = {
      clientOrderId,
      symbol: w.symbol,
      side: w.side,
      quantity: w.quantity,
      filledQuantity: w.filled_quantity ?? 0,
      limitPrice: limit,
      status: wireStatus(w.status),
      updatedAt: w.updated_at ?? now,
    };
    if (w.broker_order_id) o.brokerOrderId = w.broker_order_id;
    if (w.avg_fill_price != null) o.avgFillPrice = w.avg_fill_price;
    if (w.message) o.message = w.message;
    return o;
  }

  // ---- Broker side (the engine) -------------------------------------------------------------

  async health(): Promise<BrokerHealth> {
    const age = this.opts.clock.now() - this.lastPollAt;
    const connected = age <= this.connectedWithinMs;
    const h: BrokerHealth = { ok: connected, broker: 'ptrade', connected };
    if (this.account_) h.accountId = this.account_.accountId;
    if (!connected) {
      h.message = Number.isFinite(age)
        ? `the PTrade strategy last polled ${Math.round(age / 1000)} s ago`
        : 'the PTrade strategy has not polled yet';
    }
    return h;
  }

  async account(): Promise<Account> {
    await this.ensureSnapshot();
    return { ...this.account_! };
  }

  async positions(): Promise<Position[]> {
    await this.ensureSnapshot();
    return (this.positions_ ?? []).map((p) => ({ ...p }));
  }

  async todayOrders(): Promise<Order[]> {
    return [...this.orders.values()].map((o) => ({ ...o }));
  }

  async getOrder(id: string): Promise<Order | null> {
    const known = this.orders.get(id) ?? [...this.orders.values()].find((o) => o.brokerOrderId === id);
    if (known) return { ...known };
    const cmd = this.commands.get(id);
    if (cmd?.kind === 'place' && cmd.sell) {
      // Queued: the strategy has it or will; served without an answer: nobody knows yet.
      return {
        clientOrderId: id,
        symbol: cmd.sell.security.id,
        side: 'sell',
        quantity: cmd.sell.quantity,
        filledQuantity: 0,
        limitPrice: formatTicks(cmd.sell.priceTicks, cmd.sell.security.decimals),
        status: cmd.served ? 'unknown' : 'pending_new',
        updatedAt: formatExchangeTime(this.opts.clock.now()),
      };
    }
    return null;
  }

  async placeSell(req: SellRequest): Promise<Order> {
    const c = checkSellRequest(req);
    const id = c.clientOrderId;
    const existing = this.commands.get(id);
    if (existing) {
      if (
        existing.kind !== 'place' ||
        !existing.sell ||
        !sameSell(c, {
          symbol: existing.sell.security.id,
          quantity: existing.sell.quantity,
          priceTicks: existing.sell.priceTicks,
        })
      ) {
        throw new BrokerError('IDEMPOTENCY_CONFLICT', `command ${id} already exists with a different body`);
      }
    } else {
      const order: Record<string, unknown> = {
        client_order_id: id,
        symbol: c.security.id,
        side: 'sell',
        quantity: c.quantity,
        order_type: 'limit',
        limit_price: formatTicks(c.priceTicks, c.security.decimals),
      };
      if (c.note) order.note = c.note;
      this.enqueue(id, 'place', order, c);
    }
    const result = await this.waitFor(id);
    if (result.ok) {
      const o = this.orders.get(id);
      if (o) return { ...o };
      throw new BrokerError(
        'OUTCOME_UNKNOWN',
        `the strategy acknowledged ${id} without the order; reconcile with getOrder`,
      );
    }
    throw new BrokerError(
      knownErrorCode(result.code) ?? 'BROKER_REJECTED',
      `PTrade: ${result.code} ${result.message}`,
    );
  }

  async cancel(id: string): Promise<void> {
    const known = this.orders.get(id) ?? [...this.orders.values()].find((o) => o.brokerOrderId === id);
    const clientOrderId = known?.clientOrderId ?? id;
    // Command ids are never reused (the strategy replays a known id's stored result), so every
    // cancel request is a new command; cancelling twice is harmless at the broker.
    const commandId = `cancel-${this.epoch}-${this.seq + 1}`;
    const order: Record<string, unknown> = { client_order_id: clientOrderId };
    if (known?.brokerOrderId) order.broker_order_id = known.brokerOrderId;
    this.enqueue(commandId, 'cancel', order);
    const r = await this.waitFor(commandId);
    if (!r.ok)
      throw new BrokerError(
        knownErrorCode(r.code) ?? 'BROKER_REJECTED',
        `PTrade cancel ${clientOrderId}: ${r.code} ${r.message}`,
      );
  }

  private async ensureSnapshot(): Promise<void> {
    if (this.account_) return;
    const id = `snapshot-${this.epoch}-${this.seq + 1}`;
    this.enqueue(id, 'snapshot', {});
    await this.waitFor(id);
    if (!this.account_)
      throw new BrokerError(
        'BRIDGE_NOT_READY',
        'the PTrade strategy answered without an account snapshot',
        true,
      );
  }

  private enqueue(
    id: string,
    kind: Command['kind'],
    order: Record<string, unknown>,
    sell?: CheckedSell,
  ): void {
    this.seq += 1;
    this.commands.set(id, {
      command_id: id,
      kind,
      order,
      cursor: `${this.epoch}-${this.seq}`,
      seq: this.seq,
      served: false,
      sell,
    });
  }

  /** Resolves with the command's result, or throws when none arrives in time (see the file comment). */
  private waitFor(id: string): Promise<Result> {
    const done = this.results.get(id);
    if (done) return Promise.resolve(done);
    return new Promise<Result>((resolve, reject) => {
      const set = this.waiters.get(id) ?? new Set<() => void>();
      this.waiters.set(id, set);
      const wake = (): void => {
        clearTimeout(timer);
        set.delete(wake);
        resolve(this.results.get(id)!);
      };
      const timer = setTimeout(() => {
        set.delete(wake);
        const cmd = this.commands.get(id);
        if (cmd && !cmd.served) {
          this.commands.delete(id);
          reject(
            new BrokerError(
              'BRIDGE_NOT_READY',
              `the PTrade strategy did not poll within ${this.resultTimeoutMs} ms; ${id} was withdrawn, not placed`,
              true,
            ),
          );
        } else {
          reject(
            new BrokerError(
              'OUTCOME_UNKNOWN',
              `the PTrade strategy took ${id} but sent no result within ${this.resultTimeoutMs} ms; reconcile with getOrder`,
            ),
          );
        }
      }, this.resultTimeoutMs);
      set.add(wake);
    });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  return (await readBoundedBody(req, { maxBytes: MAX_BODY, timeoutMs: 15_000 })).toString('utf8');
}
