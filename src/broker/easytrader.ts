/**
 * BROKER=easytrader: the client of easytrader's remote server (server.py, reference/brokers.md
 * §1.1): GET /balance, /position, /today_entrusts; POST /sell {security, price, amount} and
 * POST /cancel_entrust {entrust_no}. POSTs succeed with 201; any Python exception is a 400
 * {"error": "<class ...>: message"}. There is no auth and no idempotency.
 *
 * One request at a time: the server drives a GUI client through pywinauto and is not re-entrant.
 *
 * Idempotency is ours. Before /sell is called, the intent (client order id → symbol, quantity,
 * price, time) is written to `${dataDir}/easytrader.json`. After that the id is never sent again:
 * - {"entrust_no": n} binds n to the id (n <= 0 is miniqmt's "failed": rejected);
 * - a 400 is a rejection ONLY when it is easytrader's own: its TradeError (pop_dialog_handler.py
 *   raises it with the text of a 同花顺 "提示" dialog that does not say 成功) or, from a patched
 *   server that answers without the class, a 同花顺 rejection text. server.py's error_handle turns
 *   EVERY Python exception into a 400, including ones raised after the order was entered: the
 *   success dialog without an order number makes `re.search(...).group()` raise
 *   AttributeError while the order is live. Those are unknown outcomes, reconciled like a timeout;
 * - {"message": "success"} (THS configured without order replies) and any answer we cannot read,
 *   a timeout or a reset: reconcile through /today_entrusts — a sell of the same symbol, price and
 *   quantity, entered no earlier than the intent, not already bound to another id. Exactly one
 *   match binds it; none or several leave the order 'unknown' (getOrder keeps looking) and
 *   placeSell throws OUTCOME_UNKNOWN. Asking placeSell again reconciles again; it never resends.
 * - Only provably unsent orders may go again under the same id: a refused connection, or the
 *   server's KeyError 'user' (nobody called /prepare, so it failed before touching the client).
 *
 * A /sell that timed out may still be running in the GUI; the reconcile waits reconcileDelayMs
 * before asking, so it does not drive the client concurrently more than it must.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import type { Account, Broker, BrokerHealth, Order, Position, SellRequest } from './broker.ts';
import { BrokerError } from './broker.ts';
import type { CheckOptions, CheckResult } from '../domain/check.ts';
import type { Clock } from '../domain/clock.ts';
import { formatTicks } from '../domain/prices.ts';
import { exchangeDate, formatExchangeTime } from '../domain/time.ts';
import { openJsonStore } from '../store/jsonStore.ts';
import type { JsonStore } from '../store/jsonStore.ts';
import type { JsonResponse } from './httpJson.ts';
import { requestJson, TransportError } from './httpJson.ts';
import { checkSellRequest, sameSell } from './sellRequest.ts';
import type { EntrustRow, Row } from './easytraderRows.ts';
import { accountFromRows, entrustFromRow, orderFromEntrust, positionFromRow } from './easytraderRows.ts';

export interface EasytraderBrokerOptions {
  /** BROKER_URL of the remote server, e.g. http://192.168.1.20:1430. */
  url: string;
  dataDir: string;
  clock: Clock;
  /** Reads and cancels. Default 10 s (the GUI is slow). */
  timeoutMs?: number;
  /** /sell. Default 20 s. */
  sellTimeoutMs?: number;
  /** Pause before reconciling an unanswered /sell. Default 2 s. */
  reconcileDelayMs?: number;
  /** How far a broker row's 委托时间 may precede the intent (clock skew with the client PC). Default 60 s. */
  clockSkewMs?: number;
}

const intentSchema = z.object({
  symbol: z.string(),
  quantity: z.number().int().positive(),
  priceTicks: z.number().int().positive(),
  decimals: z.union([z.literal(2), z.literal(3)]),
  day: z.string(),
  createdAt: z.number(),
  state: z.enum(['sending', 'placed', 'unknown', 'rejected']),
  /** As the server gave it: THS cancels by the string 合同编号, miniqmt by the integer order id. */
  entrustNo: z.union([z.string(), z.number()]).optional(),
  message: z.string().optional(),
});
const stateSchema = z.object({ intents: z.record(z.string(), intentSchema) });
type Intent = z.infer<typeof intentSchema>;
type State = z.infer<typeof stateSchema>;

/** 提示 texts of a cancel the client accepted (申报/提交/受理 of the 撤单, or 撤单成功). */
const CANCEL_ACCEPTED = /撤单(?:申请|委托|请求)?(?:已)?(?:成功|提交|受理|申报)|已(?:提交|受理)撤单/;

export class EasytraderBroker implements Broker {
  /** doctor: does the easytrader server answer and is it logged in? Read-only, on a scratch dir. */
  static async check(o: { url: string }, c: CheckOptions): Promise<CheckResult> {
    const name = 'broker easytrader';
    const dir = mkdtempSync(join(tmpdir(), 'sealguard-doctor-'));
    try {
      const b = await EasytraderBroker.open({
        url: o.url,
        dataDir: dir,
        clock: c.clock,
        timeoutMs: c.timeoutMs,
      });
      const h = await b.health();
      if (h.ok) return { name, ok: true, detail: `GET /balance answered; account ${h.accountId ?? '?'}` };
      const msg = h.message ?? 'failed';
      // server.py keeps its one trader in global_store["user"], which only /prepare sets: the
      // server is up and BROKER_URL is right; what is missing is the login.
      if (notPrepared(msg) || /POST \/prepare/.test(msg)) {
        return {
          name,
          ok: false,
          detail: `the easytrader server at ${o.url} answers, but nobody has logged it in (KeyError 'user')`,
          fix:
            `log it in once after each server start: POST ${o.url.replace(/\/+$/, '')}/prepare with your client's ` +
            `login, e.g. {"broker":"universal_client","user":"...","password":"...","exe_path":"C:\\...\\xiadan.exe"} ` +
            `(miniqmt: {"broker":"miniqmt","kwargs":{"miniqmt_path":"...","stock_account":"..."}}; ` +
            `easytrader's remoteclient.use(...).prepare(...) sends the same)`,
        };
      }
      return {
        name,
        ok: false,
        detail: `GET /balance: ${msg}`,
        fix: `start the easytrader remote server on the trading PC (logged in to the client) and check BROKER_URL ${o.url}`,
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  readonly name = 'easytrader';
  private tail: Promise<unknown> = Promise.resolve();
  private readonly base: string;

  private constructor(
    private readonly store: JsonStore<State>,
    private readonly opts: EasytraderBrokerOptions,
  ) {
    this.base = opts.url.replace(/\/+$/, '');
  }

  static async open(opts: EasytraderBrokerOptions): Promise<EasytraderBroker> {
    try {
      const u = new URL(opts.url);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
    } catch {
      throw new BrokerError(
        'INVALID_ARGUMENT',
        `BROKER_URL ${JSON.stringify(opts.url)} is not an http(s) URL`,
      );
    }
    const store = await openJsonStore<State>({
      file: join(opts.dataDir, 'easytrader.json'),
      schema: stateSchema,
      version: 1,
      defaults: () => ({ intents: {} }),
    });
    return new EasytraderBroker(store, opts);
  }

  async health(): Promise<BrokerHealth> {
    try {
      const a = await this.exclusive(() => this.read('/balance'));
      return { ok: true, broker: 'easytrader', connected: true, accountId: accountFromRows(a).accountId };
    } catch (err) {
      return { ok: false, broker: 'easytrader', connected: false, message: (err as Error).message };
    }
  }

  async account(): Promise<Account> {
    return accountFromRows(await this.exclusive(() => this.read('/balance')));
  }

  async positions(): Promise<Position[]> {
    const body = await this.exclusive(() => this.read('/position'));
    if (!Array.isArray(body))
      throw new BrokerError('BROKER_REJECTED', 'easytrader GET /position: expected a list');
    return body.flatMap((r) => {
      const p = positionFromRow(r as Row);
      return p && p.quantity > 0 ? [p] : [];
    });
  }

  async todayOrders(): Promise<Order[]> {
    return this.exclusive(async () => {
      const rows = await this.entrusts();
      const t = formatExchangeTime(this.opts.clock.now());
      return rows.map((e) => orderFromEntrust(e, this.idFor(e.entrustNo), t));
    });
  }

  async getOrder(id: string): Promise<Order | null> {
    return this.exclusive(async () => {
      const intent = this.intent(id);
      if (intent) {
        if (intent.state === 'rejected') return this.intentOrder(id, intent, 'rejected');
        const found = await this.locate(id, intent);
        if (found) return orderFromEntrust(found, id, formatExchangeTime(this.opts.clock.now()));
        return this.intentOrder(
          id,
          intent,
          intent.state === 'placed' && intent.entrustNo !== undefined ? 'submitted' : 'unknown',
        );
      }
      const row = (await this.entrusts()).find((e) => String(e.entrustNo) === id);
      return row
        ? orderFromEntrust(row, this.idFor(row.entrustNo), formatExchangeTime(this.opts.clock.now()))
        : null;
    });
  }

  async placeSell(req: SellRequest): Promise<Order> {
    const c = checkSellRequest(req);
    const id = c.clientOrderId;
    return this.exclusive(async () => {
      const existing = this.intent(id);
      if (existing) {
        if (
          !sameSell(c, {
            symbol: existing.symbol,
            quantity: existing.quantity,
            priceTicks: existing.priceTicks,
          })
        ) {
          throw new BrokerError(
            'IDEMPOTENCY_CONFLICT',
            `order ${id} was already sent as ${existing.symbol} ${existing.quantity} @ ${formatTicks(existing.priceTicks, existing.decimals)}`,
          );
        }
        if (existing.state === 'rejected')
          throw new BrokerError('BROKER_REJECTED', existing.message ?? `order ${id} was rejected`);
        return this.settle(id, existing, 'asked again');
      }
      const now = this.opts.clock.now();
      const intent: Intent = {
        symbol: c.security.id,
        quantity: c.quantity,
        priceTicks: c.priceTicks,
        decimals: c.security.decimals,
        day: exchangeDate(now),
        createdAt: now,
        state: 'sending',
      };
      try {
        await this.store.update((d) => {
          for (const [k, v] of Object.entries(d.intents)) if (v.day !== intent.day) delete d.intents[k];
          d.intents[id] = intent;
        });
      } catch (err) {
        // Unrecorded means unsendable (a restart could not recognize it): provably not sent.
        throw new BrokerError(
          'BRIDGE_NOT_READY',
          `easytrader: cannot record the order intent (${(err as Error).message}); not sent, retry later with the same id`,
          true,
        );
      }

      let res: JsonResponse;
      try {
        res = await requestJson({
          url: `${this.base}/sell`,
          method: 'POST',
          // easytrader wants a float price; it is rendered from exact ticks, so nothing is lost.
          body: {
            security: c.security.code,
            price: Number(formatTicks(c.priceTicks, c.security.decimals)),
            amount: c.quantity,
          },
          timeoutMs: this.opts.sellTimeoutMs ?? 20_000,
        });
      } catch (err) {
        const t = err as TransportError;
        if (t instanceof TransportError && !t.maybeSent) {
          await this.forget(id);
          throw new BrokerError(
            'BRIDGE_NOT_READY',
            `easytrader ${t.message}; not sent, retry later with the same id`,
            true,
          );
        }
        return this.afterUnknown(id, `easytrader ${(err as Error).message}`, true);
      }

      if (res.status === 400) {
        const text = errorText(res);
        if (notPrepared(text)) {
          // global_store["user"] failed before any GUI was touched: provably not entered.
          await this.forget(id);
          throw new BrokerError(
            'BRIDGE_NOT_READY',
            `easytrader is not logged in: POST /prepare to its server first (${text})`,
            true,
          );
        }
        const refusal = rejectionText(text);
        if (refusal !== undefined) {
          await this.mark(id, { state: 'rejected', message: refusal });
          throw new BrokerError('BROKER_REJECTED', `easytrader /sell rejected: ${refusal}`);
        }
        return this.afterUnknown(
          id,
          `easytrader /sell answered HTTP 400 with a Python error raised after the order may have been entered (${text.slice(0, 200)})`,
          true,
        );
      }
      const body = res.body as Record<string, unknown> | undefined;
      const no = body?.entrust_no;
      if (
        (res.status === 200 || res.status === 201) &&
        (typeof no === 'string' || typeof no === 'number') &&
        String(no) !== ''
      ) {
        if (Number(no) <= 0) {
          const message = `easytrader /sell returned entrust_no ${String(no)}: the broker refused the order`;
          await this.mark(id, { state: 'rejected', message });
          throw new BrokerError('BROKER_REJECTED', message);
        }
        await this.mark(id, { state: 'placed', entrustNo: no });
        return this.intentOrder(id, this.intent(id)!, 'submitted');
      }
      if ((res.status === 200 || res.status === 201) && body?.message === 'success') {
        // Placed, but this client does not say which order it is.
        await this.mark(id, { state: 'placed' });
        return this.settle(id, this.intent(id)!, 'no order number in the answer', false);
      }
      return this.afterUnknown(
        id,
        `easytrader /sell answered HTTP ${res.status} ${res.text.slice(0, 200)}`,
        false,
      );
    });
  }

  async cancel(id: string): Promise<void> {
    await this.exclusive(async () => {
      const intent = this.intent(id);
      let entrustNo: string | number | undefined = intent?.entrustNo;
      if (intent && entrustNo === undefined && intent.state !== 'rejected')
        entrustNo = (await this.locate(id, intent))?.entrustNo;
      if (!intent) entrustNo = (await this.entrusts()).find((e) => String(e.entrustNo) === id)?.entrustNo;
      if (entrustNo === undefined)
        throw new BrokerError('ORDER_NOT_FOUND', `no broker order known for ${JSON.stringify(id)}`);
      const res = await this.call('POST', '/cancel_entrust', { entrust_no: entrustNo });
      if (res.status === 400)
        throw new BrokerError('BROKER_REJECTED', `easytrader /cancel_entrust: ${errorText(res)}`);
      const b = (res.body ?? {}) as Record<string, unknown>;
      const msg = typeof b.message === 'string' ? b.message : '';
      // What a cancel that went through says: clienttrader.py's {"message": "success"} when no
      // dialog followed, miniqmt's {"success": true}, or the 提示 dialog's own text, which
      // pop_dialog_handler.py passes on as the message (e.g. 撤单成功 / 撤单委托已提交; the exact
      // wording is the broker build's [unverified]). Either way the engine reads the outcome back
      // from /today_entrusts before it acts on it.
      if (b.success === true || msg === 'success' || CANCEL_ACCEPTED.test(msg)) return;
      if (/不能撤单|已经成交|已撤|已成/.test(msg) || b.success === false) {
        throw new BrokerError(
          'NOT_CANCELLABLE',
          `easytrader /cancel_entrust ${String(entrustNo)}: ${msg || 'failed'}`,
        );
      }
      throw new BrokerError(
        'BROKER_REJECTED',
        `easytrader /cancel_entrust ${String(entrustNo)}: ${msg || res.text.slice(0, 200)}`,
      );
    });
  }

  // ---- reconciliation -----------------------------------------------------------------------

  private async afterUnknown(id: string, why: string, wait: boolean): Promise<Order> {
    await this.mark(id, { state: 'unknown', message: why });
    return this.settle(id, this.intent(id)!, why, wait);
  }

  /** Find the intent's order at the broker; the order, or OUTCOME_UNKNOWN (never a resend). */
  private async settle(id: string, intent: Intent, why: string, wait = false): Promise<Order> {
    if (wait) await sleep(this.opts.reconcileDelayMs ?? 2000);
    let found: EntrustRow | undefined;
    try {
      found = await this.locate(id, intent);
    } catch (err) {
      throw new BrokerError(
        'OUTCOME_UNKNOWN',
        `order ${id}: ${why}; /today_entrusts failed too: ${(err as Error).message}`,
      );
    }
    if (found) return orderFromEntrust(found, id, formatExchangeTime(this.opts.clock.now()));
    if (intent.state === 'placed' && intent.entrustNo !== undefined)
      return this.intentOrder(id, intent, 'submitted');
    if (intent.state === 'placed') return this.intentOrder(id, intent, 'submitted');
    throw new BrokerError(
      'OUTCOME_UNKNOWN',
      `order ${id}: ${why}; not in today's orders yet; reconcile with getOrder, never resend`,
    );
  }

  /** The intent's row in /today_entrusts, binding the entrust number when first found. */
  private async locate(id: string, intent: Intent): Promise<EntrustRow | undefined> {
    const rows = await this.entrusts();
    if (intent.entrustNo !== undefined)
      return rows.find((e) => String(e.entrustNo) === String(intent.entrustNo));
    const claimed = new Set(
      Object.entries(this.store.data.intents)
        .filter(([k, v]) => k !== id && v.entrustNo !== undefined)
        .map(([, v]) => String(v.entrustNo)),
    );
    const earliest = intent.createdAt - (this.opts.clockSkewMs ?? 60_000);
    const matches = rows.filter(
      (e) =>
        !claimed.has(String(e.entrustNo)) &&
        e.symbol === intent.symbol &&
        e.side === 'sell' &&
        e.quantity === intent.quantity &&
        e.priceTicks === intent.priceTicks &&
        (e.time === undefined || e.time >= earliest),
    );
    if (matches.length !== 1) return undefined;
    const row = matches[0]!;
    await this.mark(id, { state: 'placed', entrustNo: row.entrustNo, message: undefined });
    return row;
  }

  private async entrusts(): Promise<EntrustRow[]> {
    const body = await this.read('/today_entrusts');
    if (!Array.isArray(body))
      throw new BrokerError('BROKER_REJECTED', 'easytrader GET /today_entrusts: expected a list');
    const day = exchangeDate(this.opts.clock.now());
    return body.flatMap((r) => {
      const e = r && typeof r === 'object' ? entrustFromRow(r as Row, day) : undefined;
      return e ? [e] : [];
    });
  }

  // ---- plumbing -----------------------------------------------------------------------------

  private intent(id: string): Intent | undefined {
    const i = this.store.data.intents[id];
    return i && i.day === exchangeDate(this.opts.clock.now()) ? i : undefined;
  }

  private idFor(entrustNo: string | number): string {
    const hit = Object.entries(this.store.data.intents).find(
      ([, v]) => v.entrustNo !== undefined && String(v.entrustNo) === String(entrustNo),
    );
    return hit ? hit[0] : `et-${entrustNo}`;
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
      updatedAt: formatExchangeTime(this.opts.clock.now()),
    };
    if (i.entrustNo !== undefined) o.brokerOrderId = String(i.entrustNo);
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

  private async read(path: string): Promise<unknown> {
    const res = await this.call('GET', path);
    if (res.status === 400) {
      const text = errorText(res);
      const notReady = notPrepared(text);
      throw new BrokerError(
        notReady ? 'BRIDGE_NOT_READY' : 'BROKER_REJECTED',
        notReady
          ? `easytrader GET ${path}: not logged in, POST /prepare to its server first (${text})`
          : `easytrader GET ${path}: ${text}`,
        notReady,
      );
    }
    if (res.status !== 200)
      throw new BrokerError('BROKER_REJECTED', `easytrader GET ${path}: HTTP ${res.status}`);
    return res.body;
  }

  private async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<JsonResponse> {
    try {
      return await requestJson({
        url: this.base + path,
        method,
        body,
        timeoutMs: this.opts.timeoutMs ?? 10_000,
      });
    } catch (err) {
      if (err instanceof TransportError) throw new BrokerError('NETWORK', `easytrader ${err.message}`, true);
      throw err;
    }
  }

  /** One call at a time, whole operations included: the remote GUI is not re-entrant. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn);
    this.tail = run.catch(() => {});
    return run;
  }
}

/** server.py's answer to any call before /prepare: global_store["user"] raises KeyError. */
export function notPrepared(text: string): boolean {
  return /KeyError/.test(text) && /'user'/.test(text);
}

/**
 * 同花顺 rejection texts, for servers patched to answer the dialog text without the exception
 * class. Deliberately narrow: anything not recognized is an unknown outcome, never a rejection.
 */
const THS_REJECTION =
  /(委托失败|下单失败|可用股份不足|股份不足|可卖数量不足|可用数量不足|证券可用数量不足|资金不足|可用资金不足|废单|不允许|非交易时间|价格.*超出|超出.*(涨跌停|范围)|无此证券|证券代码.*(错误|不存在)|股东.*(不存在|错误)|禁止|拒绝)/;

/**
 * The rejection in an easytrader 400, or undefined when the 400 is some other exception.
 * `"<class 'easytrader.exceptions.TradeError'>: 可用股份不足"` → "可用股份不足".
 */
export function rejectionText(text: string): string | undefined {
  const m = /^<class '([\w.]+)'>:\s*([\s\S]*)$/.exec(text.trim());
  if (m) {
    const cls = m[1]!;
    return cls === 'TradeError' || cls.endsWith('.TradeError') ? m[2]!.trim() || cls : undefined;
  }
  return THS_REJECTION.test(text) ? text.trim() : undefined;
}

function errorText(res: JsonResponse): string {
  const e = (res.body as { error?: unknown } | undefined)?.error;
  return typeof e === 'string' ? e : res.text.slice(0, 200);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
