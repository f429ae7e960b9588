/**
 * BROKER=bridge: the client of a BRIDGE-PROTOCOL.md v1 server (QMT/miniQMT bridge).
 *
 * Placement and the unknown outcome — the rules this file exists to get right:
 * - Every POST /v1/orders carries Idempotency-Key = client_order_id, and every retry reuses it.
 * - 503 (bridge or broker not ready) and a refused connection mean the order never reached a
 *   broker: retried with the SAME id, bounded, with backoff; then a retryable BrokerError.
 * - 504 OUTCOME_UNKNOWN, any other 5xx, a 409 ORDER_IN_FLIGHT: the bridge received the order and
 *   persisted its id before calling the broker, so the order is in its hands. We GET
 *   /v1/orders/{id} and never POST again: a 404 there means the bridge has not caught up, not that
 *   the order is absent, so we throw OUTCOME_UNKNOWN and the caller keeps reconciling via getOrder.
 * - A timeout or a reset with no response at all: the bridge may never have seen the request. We
 *   GET first; found → that is the answer. Only on a 404 — the bridge has never persisted this id,
 *   so it never acknowledged it — do we POST once more with the SAME id. That is the protocol's own
 *   replay: if the first POST did land meanwhile, the bridge answers 200 replayed or 409 in flight,
 *   never a second order. If that second attempt is also unanswered, OUTCOME_UNKNOWN.
 * - A new client order id is never minted here; that is the caller's decision and ours never.
 * - Only a clear refusal (400, 401/403, 422 — the bridge says it did not place it) is a
 *   rejection. Every other answer may mean a live order and is looked up by its id: a 2xx whose
 *   body is empty, HTML or not the protocol's (the bridge may have placed it and then failed to
 *   answer), any 409 (in flight, or the id already holds an order), 5xx, 404 and the rest. Found
 *   → that order; not found → OUTCOME_UNKNOWN, and the caller keeps looking.
 *
 * The token travels only in the Authorization header. A bridge may echo it back (an error body
 * quoting the request's headers), so every text made from an answer is passed through redact.ts
 * before it can become an error message.
 */
import type { z } from 'zod';
import type {
  Account,
  Broker,
  BrokerErrorCode,
  BrokerHealth,
  Order,
  Position,
  SellRequest,
} from './broker.ts';
import { BrokerError } from './broker.ts';
import type { CheckOptions, CheckResult } from '../domain/check.ts';
import type { Clock } from '../domain/clock.ts';
import { formatTicks } from '../domain/prices.ts';
import type { JsonResponse } from './httpJson.ts';
import { requestJson, TransportError } from './httpJson.ts';
import { formatExchangeTime } from '../domain/time.ts';
import { checkSellRequest } from './sellRequest.ts';
import {
  accountFromWire,
  knownErrorCode,
  orderFromWire,
  placeAckSchema,
  positionFromWire,
  wireAccountSchema,
  wireErrorSchema,
  wireOrderSchema,
  wirePositionSchema,
} from './bridgeWire.ts';
import { wireStatus } from './statusMap.ts';
import { redactor } from './redact.ts';

export interface BridgeBrokerOptions {
  /** BROKER_URL, e.g. http://127.0.0.1:8765 (paths below it start with /v1). */
  url: string;
  /** BROKER_TOKEN. */
  token: string;
  /** Per request, covering the body. Default 5000. */
  timeoutMs?: number;
  /** Attempts at one placement while the bridge answers 503 or refuses connections. Default 4. */
  notReadyAttempts?: number;
  /** First backoff delay, doubled after each not-ready answer. Default 500. */
  backoffMs?: number;
  /** For updatedAt when the bridge's answer has none. Default: the system clock. */
  clock?: Clock;
  /**
   * BROKER_ACCOUNT_TYPE. The bridge decides the account (QMT `--account-type credit` sells
   * collateral with CREDIT_SELL); SealGuard only checks that /v1/health reports the same type and
   * refuses to sell on a mismatch. A bridge without `account_type` runs a stock account.
   */
  accountType?: 'stock' | 'credit';
}

interface Sent {
  res?: JsonResponse;
  transport?: TransportError;
}

export class BridgeBroker implements Broker {
  /** doctor: is the bridge up, connected to the broker, and can it read the account? Read-only. */
  static async check(
    o: { url: string; token: string; accountType?: BridgeBrokerOptions['accountType'] },
    c: CheckOptions,
  ): Promise<CheckResult> {
    const name = 'broker bridge';
    const b = new BridgeBroker({
      url: o.url,
      token: o.token,
      timeoutMs: c.timeoutMs,
      clock: c.clock,
      ...(o.accountType ? { accountType: o.accountType } : {}),
    });
    const h = await b.health();
    if (!h.ok) {
      const msg = h.message ?? 'not connected';
      // A 200 that says "not connected" (no message, or "bridge status ...") means the bridge is up but QMT is not.
      const up = h.message === undefined || h.message.startsWith('bridge status');
      const fix = /401|UNAUTHORIZED|token/i.test(msg)
        ? 'BROKER_TOKEN must equal the token configured in the bridge'
        : msg.startsWith('BROKER_ACCOUNT_TYPE=')
          ? 'run the bridge with the same account type (QMT bridge: --account-type credit for 融资融券) or change BROKER_ACCOUNT_TYPE'
          : up
            ? 'the bridge runs but is not connected to the broker: start QMT/miniQMT and log in on the trading PC'
            : `start the bridge on the trading PC (bridges/qmt/README.md) and check that BROKER_URL ${o.url} is reachable from here`;
      // BridgeBroker's messages already name the request; do not say it twice.
      const detail = msg.includes('GET /v1/health') ? msg : `GET /v1/health: ${msg}`;
      return { name, ok: false, detail, fix };
    }
    try {
      const a = await b.account();
      return {
        name,
        ok: true,
        detail: `${h.broker} connected, account ${a.accountId}, cash available ${a.cashAvailable}`,
      };
    } catch (err) {
      return {
        name,
        ok: false,
        detail: `health ok, but GET /v1/account failed: ${(err as Error).message}`,
        fix: 'the bridge cannot read the account: check the account is logged in on QMT and the bridge log',
      };
    }
  }

  readonly name = 'bridge';
  private readonly base: string;
  private readonly token: string;
  private readonly timeoutMs: number;
  private readonly notReadyAttempts: number;
  private readonly backoffMs: number;
  private readonly now: () => number;
  private readonly scrub: (text: string) => string;
  private readonly accountType: 'stock' | 'credit';
  /** The bridge's account type as /v1/health last said it (undefined: not read yet). */
  private bridgeAccountType: string | undefined;

  constructor(opts: BridgeBrokerOptions) {
    let u: URL;
    try {
      u = new URL(opts.url);
    } catch {
      throw new BrokerError('INVALID_ARGUMENT', `BROKER_URL ${JSON.stringify(opts.url)} is not a URL`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new BrokerError('INVALID_ARGUMENT', `BROKER_URL must be http(s), got ${u.protocol}`);
    }
    if (!opts.token) throw new BrokerError('INVALID_ARGUMENT', 'BROKER_TOKEN is required for BROKER=bridge');
    this.base = u.href.replace(/\/+$/, '');
    this.token = opts.token;
    this.scrub = redactor([opts.token]);
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.notReadyAttempts = Math.max(1, opts.notReadyAttempts ?? 4);
    this.backoffMs = opts.backoffMs ?? 500;
    const clock = opts.clock;
    this.now = clock ? () => clock.now() : Date.now;
    this.accountType = opts.accountType ?? 'stock';
  }

  private accountMismatch(): string | undefined {
    const theirs = this.bridgeAccountType;
    if (theirs === undefined || theirs === this.accountType) return undefined;
    return `BROKER_ACCOUNT_TYPE=${this.accountType} but the bridge runs a ${theirs} account (QMT bridge --account-type ${this.accountType} pairs with it); not selling`;
  }

  async health(): Promise<BrokerHealth> {
    let res: JsonResponse;
    try {
      res = await this.send('GET', '/v1/health');
    } catch (err) {
      return { ok: false, broker: 'bridge', connected: false, message: (err as Error).message };
    }
    if (res.status !== 200) {
      const e = this.errorFrom(res, 'GET /v1/health');
      return { ok: false, broker: 'bridge', connected: false, message: e.message };
    }
    const b = (res.body ?? {}) as Record<string, unknown>;
    const h: BrokerHealth = {
      ok: b.status === 'ok' && b.connected === true,
      broker: typeof b.broker === 'string' ? `bridge:${b.broker}` : 'bridge',
      connected: b.connected === true,
    };
    if (typeof b.account_id === 'string') h.accountId = b.account_id;
    if (typeof b.status === 'string' && b.status !== 'ok') h.message = `bridge status ${b.status}`;
    this.bridgeAccountType = typeof b.account_type === 'string' ? b.account_type.toLowerCase() : 'stock';
    const mismatch = this.accountMismatch();
    if (mismatch) return { ...h, ok: false, message: mismatch };
    return h;
  }

  async account(): Promise<Account> {
    return accountFromWire(this.parse(wireAccountSchema, await this.getOk('/v1/account'), 'GET /v1/account'));
  }

  async positions(): Promise<Position[]> {
    const body = await this.getOk('/v1/positions');
    const list = (body as { positions?: unknown }).positions;
    if (!Array.isArray(list))
      throw new BrokerError('BROKER_REJECTED', 'GET /v1/positions: no "positions" array in the answer');
    return list.map((p) => positionFromWire(this.parse(wirePositionSchema, p, 'GET /v1/positions')));
  }

  async todayOrders(): Promise<Order[]> {
    const body = await this.getOk('/v1/orders');
    // The protocol shows one order's shape; accept a bare array or {"orders": [...]}.
    const list = Array.isArray(body) ? body : (body as { orders?: unknown }).orders;
    if (!Array.isArray(list))
      throw new BrokerError('BROKER_REJECTED', 'GET /v1/orders: no order list in the answer');
    const t = formatExchangeTime(this.now());
    return list.map((o) => orderFromWire(this.parse(wireOrderSchema, o, 'GET /v1/orders'), t));
  }

  async getOrder(id: string): Promise<Order | null> {
    const path = `/v1/orders/${encodeURIComponent(id)}`;
    const res = await this.send('GET', path);
    if (res.status === 404) return null;
    if (res.status !== 200) throw this.errorFrom(res, `GET ${path}`);
    return orderFromWire(
      this.parse(wireOrderSchema, res.body, `GET ${path}`),
      formatExchangeTime(this.now()),
    );
  }

  async cancel(id: string): Promise<void> {
    const path = `/v1/orders/${encodeURIComponent(id)}/cancel`;
    const res = await this.send('POST', path, {});
    if (res.status === 202 || res.status === 200) return;
    throw this.errorFrom(res, `POST ${path}`);
  }

  async placeSell(req: SellRequest): Promise<Order> {
    const c = checkSellRequest(req);
    // A credit account's collateral must not be sold through a bridge on a stock account (or the
    // reverse): checked once, before the first sell, when start-up could not read /v1/health.
    if (this.accountType === 'credit' && this.bridgeAccountType === undefined) await this.health();
    const mismatch = this.accountMismatch();
    if (mismatch) throw new BrokerError('BROKER_REJECTED', mismatch);
    const body: Record<string, unknown> = {
      client_order_id: c.clientOrderId,
      symbol: c.security.id,
      side: 'sell',
      quantity: c.quantity,
      order_type: 'limit',
      limit_price: formatTicks(c.priceTicks, c.security.decimals),
    };
    if (c.note) body.note = c.note;
    const id = c.clientOrderId;

    let sent = await this.postUntilReady(id, body);
    if (sent.transport) {
      // Unanswered: ask before anything else.
      const found = await this.reconcile(id, sent.transport.message);
      if (found) return found;
      sent = await this.postOnce(id, body);
      if (sent.transport) {
        throw new BrokerError(
          'OUTCOME_UNKNOWN',
          `order ${id}: ${sent.transport.message}; reconcile with getOrder`,
        );
      }
    }
    const res = sent.res!;
    if (res.status >= 200 && res.status < 300) {
      const ack = placeAckSchema.safeParse(res.body);
      if (ack.success && ack.data.client_order_id === id) return this.acknowledged(ack.data, body);
      // Placed, most likely, and then the answer broke: never "failed" — ask for the order.
      const why = `POST /v1/orders: HTTP ${res.status} with ${describeBody(res)}`;
      const found = await this.reconcile(id, why);
      if (found) return found;
      throw new BrokerError('OUTCOME_UNKNOWN', `order ${id}: ${this.scrub(why)}; reconcile with getOrder`);
    }
    const err = this.errorFrom(res, 'POST /v1/orders');
    if (CLEAR_REFUSAL.has(res.status)) throw err;
    const found = await this.reconcile(id, err.message);
    if (found) return found;
    throw new BrokerError(
      err.code === 'ORDER_IN_FLIGHT' ? 'ORDER_IN_FLIGHT' : 'OUTCOME_UNKNOWN',
      `order ${id}: ${err.message}; the bridge may have it but cannot show it yet; reconcile with getOrder`,
    );
  }

  /** POSTs until an answer that is not "not ready"; transport failures that may have been sent end the loop. */
  private async postUntilReady(id: string, body: Record<string, unknown>): Promise<Sent> {
    let last = '';
    let lastCode: BrokerErrorCode = 'BRIDGE_NOT_READY';
    for (let attempt = 0; attempt < this.notReadyAttempts; attempt++) {
      if (attempt > 0) await sleep(this.backoffMs * 2 ** (attempt - 1));
      const sent = await this.postOnce(id, body);
      if (sent.transport) {
        if (sent.transport.maybeSent) return sent;
        last = sent.transport.message;
        lastCode = 'BRIDGE_NOT_READY';
        continue;
      }
      if (sent.res!.status !== 503) return sent;
      const e = this.errorFrom(sent.res!, 'POST /v1/orders');
      last = e.message;
      lastCode = e.code;
    }
    throw new BrokerError(
      lastCode,
      `order ${id} not placed after ${this.notReadyAttempts} attempts: ${last}; retry later with the same id`,
      true,
    );
  }

  private async postOnce(id: string, body: Record<string, unknown>): Promise<Sent> {
    try {
      return { res: await this.send('POST', '/v1/orders', body, { 'Idempotency-Key': id }) };
    } catch (err) {
      if (err instanceof TransportError) return { transport: err };
      throw err;
    }
  }

  /** GET the order after an unknown outcome: the order, null on 404, OUTCOME_UNKNOWN when even that fails. */
  private async reconcile(id: string, why: string): Promise<Order | null> {
    try {
      return await this.getOrder(id);
    } catch (err) {
      throw new BrokerError(
        'OUTCOME_UNKNOWN',
        this.scrub(
          `order ${id}: ${why}; then GET failed: ${(err as Error).message}; reconcile with getOrder`,
        ),
      );
    }
  }

  private async acknowledged(
    ack: z.output<typeof placeAckSchema>,
    body: Record<string, unknown>,
  ): Promise<Order> {
    if (ack.replayed) {
      // A replay returns the result stored at first placement; the order may have moved since.
      const current = await this.getOrder(ack.client_order_id).catch(() => null);
      if (current) return current;
    }
    const o: Order = {
      clientOrderId: ack.client_order_id,
      symbol: body.symbol as string,
      side: 'sell',
      quantity: body.quantity as number,
      filledQuantity: 0,
      limitPrice: body.limit_price as string,
      status: wireStatus(ack.status),
      updatedAt: formatExchangeTime(this.now()),
    };
    if (ack.broker_order_id != null && ack.broker_order_id !== '') o.brokerOrderId = ack.broker_order_id;
    return o;
  }

  private async getOk(path: string): Promise<unknown> {
    const res = await this.send('GET', path);
    if (res.status !== 200) throw this.errorFrom(res, `GET ${path}`);
    return res.body;
  }

  /** Transport failures of reads surface as NETWORK (outcomeUnknown) BrokerErrors; placement catches TransportError itself. */
  private async send(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<JsonResponse> {
    try {
      return await requestJson({
        url: this.base + path,
        method,
        body,
        timeoutMs: this.timeoutMs,
        headers: { authorization: `Bearer ${this.token}`, ...headers },
      });
    } catch (err) {
      if (err instanceof TransportError && method === 'POST' && path === '/v1/orders') throw err;
      if (err instanceof TransportError) throw new BrokerError('NETWORK', `bridge ${err.message}`, true);
      throw err;
    }
  }

  private errorFrom(res: JsonResponse, where: string): BrokerError {
    const parsed = wireErrorSchema.safeParse(res.body);
    const wire = parsed.success ? parsed.data.error : undefined;
    const code = (wire && knownErrorCode(wire.code)) ?? codeForStatus(res.status);
    const detail = wire ? `${wire.code}${wire.message ? ` ${wire.message}` : ''}` : describeBody(res);
    const message = this.scrub(`${where}: HTTP ${res.status} ${detail}`.replace(/\s+$/, ''));
    const retryable = res.status === 503 || code === 'BRIDGE_NOT_READY' || code === 'BROKER_DISCONNECTED';
    return new BrokerError(res.status === 401 ? 'UNAUTHORIZED' : code, message, retryable);
  }

  private parse<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
    const r = schema.safeParse(value);
    if (!r.success) {
      const issue = r.error.issues[0];
      throw new BrokerError(
        'BROKER_REJECTED',
        this.scrub(`${where}: unexpected answer (${issue?.path.join('.') || 'body'}: ${issue?.message})`),
      );
    }
    return r.data;
  }
}

/** The answers in which the bridge says it did not place the order (BRIDGE-PROTOCOL.md errors table). */
const CLEAR_REFUSAL: ReadonlySet<number> = new Set([400, 401, 403, 422]);

/** A few words on a body that is not the protocol's, for the user and the log. */
function describeBody(res: JsonResponse): string {
  const text = res.text.trim();
  if (text === '') return 'an empty body';
  if (/^\s*</.test(text))
    return `an HTML body (${text
      .replace(/<[^>]*>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, 80)})`;
  if (res.body === undefined) return `a body that is not JSON (${text.slice(0, 80)})`;
  return `an answer that is not the protocol's (${text.slice(0, 120)})`;
}

function codeForStatus(status: number): BrokerErrorCode {
  if (status === 400) return 'INVALID_ARGUMENT';
  if (status === 401 || status === 403) return 'UNAUTHORIZED';
  if (status === 404) return 'ORDER_NOT_FOUND';
  if (status === 409) return 'ORDER_IN_FLIGHT';
  if (status === 422) return 'BROKER_REJECTED';
  if (status === 503) return 'BRIDGE_NOT_READY';
  if (status >= 500) return 'OUTCOME_UNKNOWN';
  return 'BROKER_REJECTED';
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
