/**
 * BROKER=eastmoney: selling through 东方财富证券's web trading site (jywg.18.cn or
 * jywg.eastmoneysec.com), the route every open-source client takes (riiy/emtl, zsmatrix62/emtl,
 * jadepeng/pytrader, wmo-v/eastmoneyapi, Depblu/emt_trade). Unofficial: the login, the captcha and
 * the page layout can change without notice. Login lives in eastmoneySession.ts.
 *
 * Every call goes to `<path>?validatekey=<key>` on the session's cookie jar, one at a time (the
 * site throttles busy accounts: "您的资金账号已被网页端临时限制").
 *
 * The site has no client order id, so once-only is ours, as in easytrader.ts: the intent is
 * written to DATA_DIR/eastmoney.json before SubmitTradeV2; its `Wtbh` is stored on success. After
 * an ambiguous result (timeout, reset, 5xx, the session expiring mid-call, an answer we cannot
 * read) the intent is 'unknown' and is looked for in GetOrdersData — a sell of the same code,
 * quantity and price entered no earlier than the intent and not bound to another intent — after
 * a re-login if the session died. Exactly one match binds it. It is never submitted again before
 * such a look; it may be submitted once more only when a look at least `resendAfterMs` after the
 * ambiguity found nothing AND the position's 可用 (Kysl) still covers the quantity (an accepted
 * sell freezes its shares, so a lost-but-accepted order cannot hide from both checks).
 * A restart treats every intent still 'sending' the same way.
 */
import { join } from 'node:path';
import { z } from 'zod';
import type {
  Account,
  Broker,
  BrokerHealth,
  BrokerLoginControl,
  Order,
  Position,
  SellRequest,
} from './broker.ts';
import { BrokerError } from './broker.ts';
import type { Clock } from '../domain/clock.ts';
import { formatTicks } from '../domain/prices.ts';
import { exchangeDate, formatExchangeTime } from '../domain/time.ts';
import { openJsonStore, type JsonStore } from '../store/jsonStore.ts';
import { EmHttp, type EmResponse } from './eastmoneyHttp.ts';
import { sitePublicKey } from './eastmoneyRsa.ts';
import {
  accountFromAsset,
  marketOf,
  maskAccount,
  orderFromRow,
  orderRowFrom,
  parseRevokeText,
  positionFromRow,
  priceTicks,
  revokeRefused,
  shares,
  str,
  type EmOrderRow,
  type EmRow,
} from './eastmoneyRows.ts';
import {
  EmSession,
  jsonOf,
  looksExpired,
  messageOf,
  statusOf,
  type HealthSink,
  type LoginPrompt,
} from './eastmoneySession.ts';
import { TransportError } from './httpJson.ts';
import { checkSellRequest, sameSell } from './sellRequest.ts';
import { parseSymbol } from '../domain/symbols.ts';

export const DEFAULT_TRADE_URL = 'https://jywg.18.cn';

export interface EastmoneyBrokerOptions {
  account: string;
  password: string;
  tradeUrl?: string;
  /** PEM or base64 DER; default the site's key. */
  publicKey?: string;
  durationMin?: number;
  credit?: boolean;
  dataDir: string;
  clock: Clock;
  wallNow?: () => number;
  /** Captcha pictures and login news for the owner (the app publishes them as LoginChallenge). */
  prompt: (p: LoginPrompt) => void;
  health?: HealthSink;
  log?: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
  timeoutMs?: number;
  sellTimeoutMs?: number;
  keepAliveMs?: number;
  /** Ask for a new login this long before the session runs out (default 5 min). */
  renewBeforeMs?: number;
  /** Earliest resend after an ambiguous submit that a look did not find (default 15 s). */
  resendAfterMs?: number;
  /** How far a row's 委托时间 may precede the intent (clock skew with the counter). Default 60 s. */
  clockSkewMs?: number;
  maxFailures?: number;
}

const intentSchema = z.object({
  symbol: z.string(),
  name: z.string().optional(),
  quantity: z.number().int().positive(),
  priceTicks: z.number().int().positive(),
  decimals: z.union([z.literal(2), z.literal(3)]),
  day: z.string(),
  createdAt: z.number(),
  state: z.enum(['sending', 'placed', 'unknown', 'rejected']),
  /** "YYYYMMDD_Wtbh" once known. */
  orderId: z.string().optional(),
  ambiguousAt: z.number().optional(),
  resends: z.number().int().optional(),
  message: z.string().optional(),
});
const stateSchema = z.object({ intents: z.record(z.string(), intentSchema) });
type Intent = z.infer<typeof intentSchema>;
type State = z.infer<typeof stateSchema>;

export class EastmoneyBroker implements Broker {
  readonly name = 'eastmoney';
  readonly session: EmSession;
  private readonly http: EmHttp;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly credit: boolean;

  private constructor(
    private readonly store: JsonStore<State>,
    private readonly o: EastmoneyBrokerOptions,
  ) {
    this.credit = o.credit ?? false;
    this.http = new EmHttp(o.tradeUrl ?? DEFAULT_TRADE_URL, o.timeoutMs ?? 10_000);
    this.session = new EmSession({
      http: this.http,
      account: o.account,
      password: o.password,
      publicKey: sitePublicKey(o.publicKey),
      durationMin: o.durationMin ?? 180,
      credit: this.credit,
      dataDir: o.dataDir,
      clock: o.clock,
      prompt: o.prompt,
      ...(o.wallNow ? { wallNow: o.wallNow } : {}),
      ...(o.health ? { health: o.health } : {}),
      ...(o.log ? { log: o.log } : {}),
      ...(o.keepAliveMs ? { keepAliveMs: o.keepAliveMs } : {}),
      ...(o.renewBeforeMs ? { renewBeforeMs: o.renewBeforeMs } : {}),
      ...(o.maxFailures ? { maxFailures: o.maxFailures } : {}),
      onLoggedIn: () => void this.reconcileOpen(),
    });
  }

  /** Opens the intent store (a restart marks unfinished submits ambiguous) and starts logging in. */
  static async open(o: EastmoneyBrokerOptions): Promise<EastmoneyBroker> {
    const store = await openJsonStore<State>({
      file: join(o.dataDir, 'eastmoney.json'),
      schema: stateSchema,
      version: 1,
      defaults: () => ({ intents: {} }),
    });
    await store.update((d) => {
      for (const i of Object.values(d.intents))
        if (i.state === 'sending') {
          // Killed between writing the intent and hearing back: it may be at the broker.
          i.state = 'unknown';
          i.ambiguousAt = i.createdAt;
          i.message = 'SealGuard stopped while the order was being sent';
        }
    });
    const b = new EastmoneyBroker(store, o);
    b.session.start();
    return b;
  }

  get login(): BrokerLoginControl {
    const s = this.session;
    return {
      answerCaptcha: (c) => s.answerCaptcha(c),
      answerSms: (v) => s.answerSms(v),
      restart: () => s.restart(),
      describe: () => s.stageText(),
    };
  }

  /** Why selling through 东方财富 is impossible right now; undefined when it is possible. */
  unavailable(): string | undefined {
    const why = this.session.unavailable();
    return why === undefined ? undefined : `selling through 东方财富 is unavailable: ${why}`;
  }

  async close(): Promise<void> {
    await this.session.stop();
  }

  async health(): Promise<BrokerHealth> {
    const why = this.session.unavailable();
    return {
      ok: why === undefined,
      broker: 'eastmoney',
      connected: why === undefined,
      accountId: maskAccount(this.o.account),
      ...(why !== undefined ? { message: `东方财富 not logged in: ${why}` } : {}),
    };
  }

  async account(): Promise<Account> {
    const body = await this.exclusive(() => this.read('/Com/queryAssetAndPositionV1', { moneyType: 'RMB' }));
    const row = (body.Data as EmRow[] | undefined)?.[0];
    if (!row) throw new BrokerError('BROKER_REJECTED', '东方财富 queryAssetAndPositionV1: no asset row');
    return accountFromAsset(row, this.o.account);
  }

  async positions(): Promise<Position[]> {
    const rows = await this.exclusive(() => this.positionRows());
    return rows.flatMap((r) => {
      const p = positionFromRow(r);
      return p && p.quantity > 0 ? [p] : [];
    });
  }

  async todayOrders(): Promise<Order[]> {
    return this.exclusive(async () => {
      const rows = await this.orderRows();
      const t = formatExchangeTime(this.o.clock.now());
      return rows.map((r) => orderFromRow(r, this.idFor(r.orderId), t));
    });
  }

  async getOrder(id: string): Promise<Order | null> {
    return this.exclusive(async () => {
      const intent = this.intent(id);
      if (intent) {
        if (intent.state === 'rejected') return this.intentOrder(id, intent, 'rejected');
        const found = await this.locate(id, intent);
        if (found) return this.withFills(orderFromRow(found, id, this.stamp()), found);
        // Ambiguous and not found yet: null sends the executor back to placeSell, which looks
        // again (and only there decides whether a resend is safe).
        if (intent.state === 'unknown' || intent.state === 'sending') return null;
        return this.intentOrder(id, intent, 'submitted');
      }
      const row = (await this.orderRows()).find((r) => r.orderId === id || r.wtbh === id);
      return row ? orderFromRow(row, this.idFor(row.orderId), this.stamp()) : null;
    });
  }

  async placeSell(req: SellRequest): Promise<Order> {
    const c = checkSellRequest(req);
    const id = c.clientOrderId;
    return this.exclusive(async () => {
      const existing = this.intent(id);
      if (existing) {
        if (!sameSell(c, existing))
          throw new BrokerError(
            'IDEMPOTENCY_CONFLICT',
            `order ${id} was already sent as ${existing.symbol} ${existing.quantity} @ ${formatTicks(existing.priceTicks, existing.decimals)}`,
          );
        if (existing.state === 'rejected')
          throw new BrokerError('BROKER_REJECTED', existing.message ?? `order ${id} was rejected`);
        return this.settle(id, existing);
      }
      this.session.key(); // not logged in: BRIDGE_NOT_READY before anything is written
      const now = this.o.clock.now();
      const intent: Intent = {
        symbol: c.security.id,
        quantity: c.quantity,
        priceTicks: c.priceTicks,
        decimals: c.security.decimals,
        day: exchangeDate(now),
        createdAt: now,
        state: 'sending',
      };
      await this.store.update((d) => {
        for (const [k, v] of Object.entries(d.intents)) if (v.day !== intent.day) delete d.intents[k];
        d.intents[id] = intent;
      });
      return this.submit(id, intent);
    });
  }

  async cancel(id: string): Promise<void> {
    await this.exclusive(async () => {
      const intent = this.intent(id);
      let orderId = intent?.orderId;
      if (intent && !orderId && intent.state !== 'rejected')
        orderId = (await this.locate(id, intent))?.orderId;
      if (!intent) orderId = (await this.orderRows()).find((r) => r.orderId === id || r.wtbh === id)?.orderId;
      if (!orderId)
        throw new BrokerError('ORDER_NOT_FOUND', `no 东方财富 order known for ${JSON.stringify(id)}`);
      const res = await this.call('/Trade/RevokeOrders', { revokes: orderId });
      if (looksExpired(res)) {
        this.session.expired('RevokeOrders');
        throw new BrokerError(
          'BRIDGE_NOT_READY',
          '东方财富 session expired; log in again, then cancel',
          true,
        );
      }
      if (res.status !== 200)
        throw new BrokerError('NETWORK', `东方财富 RevokeOrders answered HTTP ${res.status}`, true);
      const wtbh = orderId.split('_')[1] ?? orderId;
      const result = parseRevokeText(res.text).get(wtbh);
      if (result === undefined) {
        const j = jsonOf(res);
        throw new BrokerError(
          'BROKER_REJECTED',
          `东方财富 RevokeOrders ${orderId}: ${j ? messageOf(j) || 'no result' : res.text.trim().slice(0, 200)}`,
        );
      }
      if (revokeRefused(result))
        throw new BrokerError('NOT_CANCELLABLE', `东方财富 RevokeOrders ${orderId}: ${result}`);
    });
  }

  // ---- submit and reconcile -----------------------------------------------------------------

  private async submit(id: string, intent: Intent): Promise<Order> {
    const sec = parseSymbol(intent.symbol);
    const price = formatTicks(intent.priceTicks, intent.decimals);
    const fields: Record<string, string | number> = this.credit
      ? {
          stockCode: sec.code,
          stockName: intent.name ?? '',
          price,
          amount: intent.quantity,
          tradeType: 'S',
          xyjylx: '7', // 担保品卖出
          market: marketOf(sec),
        }
      : {
          stockCode: sec.code,
          tradeType: 'S',
          zqmc: intent.name ?? '',
          market: marketOf(sec),
          price,
          amount: intent.quantity,
          gddm: '',
        };
    const path = this.credit ? '/MarginTrade/SubmitTradeV2' : '/Trade/SubmitTradeV2';
    let res: EmResponse;
    try {
      res = await this.http.postForm(
        `${path}?validatekey=${encodeURIComponent(this.session.key())}`,
        fields,
        {
          referer: `${this.http.base}${this.credit ? '/MarginTrade/Sale' : '/Trade/Sale'}`,
        },
        this.o.sellTimeoutMs ?? 15_000,
      );
    } catch (err) {
      const unsent = err instanceof BrokerError || (err instanceof TransportError && !err.maybeSent);
      if (unsent && (intent.resends ?? 0) > 0) {
        // A second send that did not leave: the first one's fate is still what was unknown.
        await this.mark(id, { state: 'unknown', message: intent.message ?? (err as Error).message });
        throw new BrokerError('OUTCOME_UNKNOWN', `order ${id}: ${(err as Error).message}; still reconciling`);
      }
      if (err instanceof BrokerError) {
        await this.forget(id);
        throw err;
      }
      if (err instanceof TransportError && !err.maybeSent) {
        await this.forget(id);
        throw new BrokerError(
          'BRIDGE_NOT_READY',
          `东方财富 ${err.message}; not sent, retry later with the same id`,
          true,
        );
      }
      return this.ambiguous(id, `东方财富 ${(err as Error).message}`);
    }
    if (looksExpired(res)) {
      this.session.expired('SubmitTradeV2');
      return this.ambiguous(id, '东方财富 session expired during the submit');
    }
    if (res.status >= 500) return this.ambiguous(id, `东方财富 SubmitTradeV2 answered HTTP ${res.status}`);
    const body = jsonOf(res);
    const status = statusOf(body);
    const wtbh = str((body as { Data?: EmRow[] } | undefined)?.Data?.[0]?.Wtbh);
    if (status === 0 && wtbh) {
      const orderId = `${exchangeDate(this.o.clock.now()).replace(/-/g, '')}_${wtbh}`;
      await this.mark(id, { state: 'placed', orderId, message: undefined, ambiguousAt: undefined });
      this.session.ok();
      return this.intentOrder(id, this.intent(id)!, 'submitted');
    }
    if (status !== undefined && status !== 0) {
      const msg = messageOf(body) || `Status ${status}`;
      await this.mark(id, { state: 'rejected', message: msg });
      throw new BrokerError('BROKER_REJECTED', `东方财富 SubmitTradeV2: ${msg}`);
    }
    return this.ambiguous(id, `东方财富 SubmitTradeV2 answered HTTP ${res.status} ${res.text.slice(0, 120)}`);
  }

  private async ambiguous(id: string, why: string): Promise<Order> {
    await this.mark(id, { state: 'unknown', message: why, ambiguousAt: this.o.clock.now() });
    this.o.log?.warn({ clientOrderId: id, why }, '东方财富 sell outcome unknown; looking in today’s orders');
    return this.settle(id, this.intent(id)!);
  }

  /** The intent's order, found in today's orders; or OUTCOME_UNKNOWN. Resends only per the header. */
  private async settle(id: string, intent: Intent): Promise<Order> {
    if (intent.state === 'placed' && intent.orderId && !this.session.loggedIn)
      return this.intentOrder(id, intent, 'submitted');
    let found: EmOrderRow | undefined;
    try {
      found = await this.locate(id, intent);
    } catch (err) {
      throw new BrokerError(
        'OUTCOME_UNKNOWN',
        `order ${id}: ${intent.message ?? 'sent'}; cannot look in today's orders yet (${(err as Error).message}); never resent before that`,
      );
    }
    if (found) return this.withFills(orderFromRow(found, id, this.stamp()), found);
    if (intent.state === 'placed') return this.intentOrder(id, intent, 'submitted');
    const since = intent.ambiguousAt ?? intent.createdAt;
    if ((intent.resends ?? 0) < 1 && this.o.clock.now() - since >= (this.o.resendAfterMs ?? 15_000)) {
      const held = (await this.positionRows()).find((r) => positionFromRow(r)?.symbol === intent.symbol);
      const free = held ? (shares(held.Kysl) ?? 0) : 0;
      if (free >= intent.quantity) {
        await this.mark(id, {
          state: 'sending',
          resends: (intent.resends ?? 0) + 1,
          createdAt: this.o.clock.now(),
        });
        this.o.log?.warn(
          { clientOrderId: id },
          '东方财富: not in today’s orders and the shares are not frozen; sending once more',
        );
        return this.submit(id, this.intent(id)!);
      }
    }
    throw new BrokerError(
      'OUTCOME_UNKNOWN',
      `order ${id}: ${intent.message ?? 'sent'}; not in today's orders yet; reconcile with getOrder, never resend blindly`,
    );
  }

  /** The intent's GetOrdersData row, binding the order id when first found. */
  private async locate(id: string, intent: Intent): Promise<EmOrderRow | undefined> {
    const rows = await this.orderRows();
    if (intent.orderId) return rows.find((r) => r.orderId === intent.orderId);
    const claimed = new Set(
      Object.entries(this.store.data.intents)
        .filter(([k, v]) => k !== id && v.orderId)
        .map(([, v]) => v.orderId),
    );
    const earliest = intent.createdAt - (this.o.clockSkewMs ?? 60_000);
    const matches = rows.filter(
      (r) =>
        !claimed.has(r.orderId) &&
        r.sec.id === intent.symbol &&
        r.side === 'sell' &&
        r.quantity === intent.quantity &&
        r.priceTicks === intent.priceTicks &&
        (r.time === undefined || r.time >= earliest),
    );
    if (matches.length !== 1) return undefined;
    const row = matches[0]!;
    await this.mark(id, { state: 'placed', orderId: row.orderId, message: undefined });
    return row;
  }

  /** After a (re-)login: look up every open intent of today, as a restart must. */
  private async reconcileOpen(): Promise<void> {
    const open = Object.entries(this.store.data.intents).filter(
      ([, i]) =>
        i.day === exchangeDate(this.o.clock.now()) &&
        (i.state === 'unknown' || (i.state === 'placed' && !i.orderId)),
    );
    if (open.length === 0) return;
    await this.exclusive(async () => {
      for (const [id, i] of open) {
        try {
          await this.locate(id, i);
        } catch (err) {
          this.o.log?.warn(
            { clientOrderId: id, err: (err as Error).message },
            '东方财富 reconcile after login failed',
          );
        }
      }
    }).catch(() => {});
  }

  /** Fills the average price from GetDealData when the order row has none. */
  private async withFills(o: Order, r: EmOrderRow): Promise<Order> {
    if (o.filledQuantity === 0 || o.avgFillPrice) return o;
    try {
      const body = await this.read('/Search/GetDealData', { qqhs: 100, dwc: '' });
      const deals = ((body.Data as EmRow[] | undefined) ?? []).filter((d) => str(d.Wtbh) === r.wtbh);
      let qty = 0;
      let value = 0;
      for (const d of deals) {
        const q = shares(d.Cjsl) ?? 0;
        const p = priceTicks(d.Cjjg, r.sec.decimals) ?? 0;
        qty += q;
        value += q * p;
      }
      if (qty > 0) o.avgFillPrice = formatTicks(Math.round(value / qty), r.sec.decimals);
    } catch {
      // the order stands without an average
    }
    return o;
  }

  // ---- reads ------------------------------------------------------------------------------------

  private async positionRows(): Promise<EmRow[]> {
    const body = await this.read('/Search/GetStockList', { qqhs: 500, dwc: '' });
    this.session.ok('positions');
    return (body.Data as EmRow[] | undefined) ?? [];
  }

  private async orderRows(): Promise<EmOrderRow[]> {
    const body = await this.read('/Search/GetOrdersData', { qqhs: 100, dwc: '' });
    return ((body.Data as EmRow[] | undefined) ?? []).flatMap((r) => {
      const o = orderRowFrom(r);
      return o ? [o] : [];
    });
  }

  /** A JSON read; expiry asks for a new login; Status != 0 is the site's message. */
  private async read(
    path: string,
    fields: Record<string, string | number>,
  ): Promise<Record<string, unknown>> {
    let res: EmResponse;
    try {
      res = await this.call(path, fields);
    } catch (err) {
      if (err instanceof TransportError) throw new BrokerError('NETWORK', `东方财富 ${err.message}`, true);
      throw err;
    }
    if (looksExpired(res)) {
      this.session.expired(path);
      throw new BrokerError(
        'BRIDGE_NOT_READY',
        `东方财富 session expired (${path}); a new login was asked for`,
        true,
      );
    }
    if (res.status !== 200)
      throw new BrokerError('NETWORK', `东方财富 ${path} answered HTTP ${res.status}`, true);
    const body = jsonOf(res);
    if (!body || typeof body !== 'object')
      throw new BrokerError('BROKER_REJECTED', `东方财富 ${path}: not JSON (${res.text.slice(0, 80)})`);
    const status = statusOf(body);
    if (status !== 0) {
      const msg = messageOf(body) || `Status ${String((body as { Status?: unknown }).Status)}`;
      if (/临时限制/.test(msg))
        this.o.health?.set(
          'eastmoney:throttled',
          'broker',
          'warn',
          `东方财富 throttles this account: ${msg}`,
        );
      throw new BrokerError('BROKER_REJECTED', `东方财富 ${path}: ${msg}`, true);
    }
    this.o.health?.clear('eastmoney:throttled');
    this.session.ok();
    return body as Record<string, unknown>;
  }

  private call(path: string, fields: Record<string, string | number>): Promise<EmResponse> {
    return this.http.postForm(`${path}?validatekey=${encodeURIComponent(this.session.key())}`, fields);
  }

  // ---- plumbing -----------------------------------------------------------------------------------

  private stamp(): string {
    return formatExchangeTime(this.o.clock.now());
  }

  private intent(id: string): Intent | undefined {
    const i = this.store.data.intents[id];
    return i && i.day === exchangeDate(this.o.clock.now()) ? i : undefined;
  }

  private idFor(orderId: string): string {
    const hit = Object.entries(this.store.data.intents).find(([, v]) => v.orderId === orderId);
    return hit ? hit[0] : `em-${orderId}`;
  }

  private intentOrder(id: string, i: Intent, status: Order['status']): Order {
    const o: Order = {
      clientOrderId: id,
      symbol: i.symbol,
      side: 'sell',
      quantity: i.quantity,
      filledQuantity: 0,
      limitPrice: formatTicks(i.priceTicks, i.decimals),
      status,
      updatedAt: this.stamp(),
    };
    if (i.orderId) o.brokerOrderId = i.orderId;
    if (i.message && status !== 'submitted') o.message = i.message;
    return o;
  }

  private mark(id: string, patch: Partial<Intent>): Promise<void> {
    return this.store.update((d) => {
      const cur = d.intents[id];
      if (!cur) return;
      Object.assign(cur, patch);
      for (const k of Object.keys(patch) as Array<keyof Intent>) if (patch[k] === undefined) delete cur[k];
    });
  }

  private forget(id: string): Promise<void> {
    return this.store.update((d) => {
      delete d.intents[id];
    });
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn);
    this.tail = run.catch(() => {});
    return run;
  }
}
