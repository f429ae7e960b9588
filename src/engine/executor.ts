/**
 * Turns a trigger into at most one sell per seal segment, through whichever broker is configured.
 *
 * Order of operations is the safety argument: the intent (with its deterministic client order id)
 * is persisted before the broker is called; an unknown outcome is reconciled by querying that id,
 * and any resend uses the same id, which every Broker implementation treats idempotently. So a
 * repeated trigger, a double tap, a timeout or a kill -9 can never produce a second order.
 */
import type { Logger } from 'pino';
import type { Broker, Order, SellRequest } from '../broker/broker.ts';
import { BrokerError, FINAL_STATUSES } from '../broker/broker.ts';
import type { Clock } from '../domain/clock.ts';
import { formatTicks } from '../domain/prices.ts';
import { exchangeDate } from '../domain/time.ts';
import { maxSellQuantity } from '../domain/lots.ts';
import { describeEvidence, type TriggerEvidence } from '../domain/triggers.ts';
import type { Security, Snapshot, Ticks } from '../domain/types.ts';
import type { EventBus } from './bus.ts';
import type { Mode } from './events.ts';
import { clientOrderId, newActionId } from './ids.ts';
import type { GuardStores, Intent, PendingAction } from './state.ts';

/** What the executor needs to know about a stock at the moment it acts. */
export interface MarketView {
  sec: Security;
  name: string;
  snapshot?: Snapshot;
  limits: { up: Ticks; down: Ticks } | null;
  /** The book shows a seal at limit-up right now. */
  sealedNow: boolean;
  sellable: number;
  floor?: Ticks;
}

export interface ExecutorOptions {
  broker: Broker;
  stores: GuardStores;
  bus: EventBus;
  clock: Clock;
  log: Logger;
  /** Stable account key for client order ids (masked account id or broker name). */
  account: () => string;
  view: (symbol: string) => MarketView | undefined;
  isPaused: () => boolean;
  confirmTimeoutS: number;
  confirmDefault: 'sell' | 'hold';
  /** Called after an order reaches a final state, so positions get refreshed. */
  onOrderFinal?: (o: Order) => void;
  /** How long an unknown-outcome order may stay unfound before the same id is sent again. */
  unknownResendMs?: number;
}

export interface TriggerInput {
  symbol: string;
  evidence: TriggerEvidence;
  mode: Mode;
}

export interface ResolveResult {
  ok: boolean;
  /** Plain words for the user: what happened, or why nothing changed. */
  message: string;
  action?: PendingAction;
}

const SELL_RETRY_LIMIT = 5;

export class Executor {
  private readonly inFlight = new Set<string>();
  private readonly placing = new Set<string>();
  private readonly unknownSince = new Map<string, number>();
  /** Confirms whose deadline was restarted at their prompt's first delivery. */
  private readonly delivered = new Set<string>();

  constructor(private readonly o: ExecutorOptions) {}

  private now(): number {
    return this.o.clock.now();
  }

  /** Called once per trigger firing (the monitor fires at most once per segment). */
  async onTrigger(t: TriggerInput): Promise<void> {
    const v = this.o.view(t.symbol);
    if (!v) return;
    const e = t.evidence;
    const limitUp = v.limits ? formatTicks(v.limits.up, v.sec.decimals) : '';
    const qty = maxSellQuantity(v.sec.board, v.sellable);
    const base = { at: this.now(), symbol: t.symbol, name: v.name, evidence: e, limitUp, sellable: qty };
    let mode = t.mode;
    let noSellReason: string | undefined;
    if (mode === 'alert') noSellReason = 'alert mode: message only';
    else if (qty <= 0)
      noSellReason =
        v.sellable > 0
          ? 'sellable quantity is not a valid lot'
          : 'nothing sellable (not held, or bought today: T+1)';
    else if (mode === 'auto' && this.o.isPaused()) {
      mode = 'alert';
      noSellReason = 'automatic selling is paused (/resume to re-enable)';
    }
    if (noSellReason) {
      this.o.bus.publish({ type: 'SellTriggered', ...base, mode, noSellReason });
      return;
    }
    if (mode === 'confirm') {
      const action: PendingAction = {
        id: newActionId(),
        day: exchangeDate(this.now()),
        symbol: t.symbol,
        name: v.name,
        segment: e.segment,
        rule: e.rule,
        evidenceText: describeEvidence(e),
        sellable: qty,
        limitUp,
        createdAt: this.now(),
        deadline: this.now() + this.o.confirmTimeoutS * 1000,
        onTimeout: this.o.confirmDefault,
        status: 'pending',
        messages: {},
      };
      await this.o.stores.actions.update((d) => {
        d.actions[action.id] = action;
      });
      this.o.bus.publish({
        type: 'SellTriggered',
        ...base,
        mode,
        actionId: action.id,
        deadline: action.deadline,
        onTimeout: action.onTimeout,
      });
      return;
    }
    this.o.bus.publish({ type: 'SellTriggered', ...base, mode });
    await this.sell(t.symbol, e.segment, e.rule, describeEvidence(e));
  }

  /**
   * A user's tap (or typed confirm) on a pending action. The pending -> executing step is decided
   * synchronously before the first await, so two taps racing each other cannot both pass.
   */
  async resolve(actionId: string, decision: 'sell' | 'hold', by: string): Promise<ResolveResult> {
    const a = this.o.stores.actions.data.actions[actionId];
    if (!a) return { ok: false, message: `No pending action ${actionId} (unknown, or from an earlier run).` };
    if (this.inFlight.has(actionId) || a.status === 'executing')
      return { ok: false, message: `Already being handled: ${a.name} ${a.symbol}.`, action: a };
    if (a.status !== 'pending') return { ok: false, message: finishedText(a), action: a };
    if (this.now() > a.deadline)
      return { ok: false, message: `Too late: the confirm deadline for ${a.symbol} has passed.`, action: a };
    this.inFlight.add(actionId);
    try {
      return await this.execute(a, decision, by);
    } finally {
      this.inFlight.delete(actionId);
    }
  }

  private async execute(a: PendingAction, decision: 'sell' | 'hold', by: string): Promise<ResolveResult> {
    if (decision === 'hold') {
      const outcome = `Held by ${by}: no order placed.`;
      await this.setAction(a.id, { status: 'held', resolvedBy: by, resolvedAt: this.now(), outcome });
      this.publishResolved(a, outcome, by);
      return { ok: true, message: outcome, action: this.o.stores.actions.data.actions[a.id] };
    }
    await this.setAction(a.id, { status: 'executing', resolvedBy: by, resolvedAt: this.now() });
    const intent = await this.sell(a.symbol, a.segment, a.rule, a.evidenceText, a.id);
    const ok = !!intent && intent.state !== 'failed';
    const outcome = intent
      ? intentOutcome(intent)
      : 'No order: the stock is no longer watched or nothing is sellable.';
    await this.setAction(a.id, {
      status: ok ? 'sold' : 'failed',
      outcome,
      ...(intent ? { clientOrderId: intent.clientOrderId } : {}),
    });
    this.publishResolved(a, outcome, by);
    return { ok, message: outcome, action: this.o.stores.actions.data.actions[a.id] };
  }

  private publishResolved(a: PendingAction, outcome: string, by: string): void {
    this.o.bus.publish({
      type: 'ActionResolved',
      at: this.now(),
      symbol: a.symbol,
      name: a.name,
      actionId: a.id,
      outcome,
      byUser: by,
    });
  }

  private async setAction(id: string, patch: Partial<PendingAction>): Promise<void> {
    await this.o.stores.actions.update((d) => {
      const cur = d.actions[id];
      if (cur) Object.assign(cur, patch);
    });
  }

  /**
   * The confirm's prompt reached the user (first channel to deliver it): the deadline counts from
   * now, not from when the prompt was queued behind a throttled chat. Only ever extends it, once.
   * Returns the deadline in force (undefined for an unknown action).
   */
  async promptDelivered(actionId: string): Promise<number | undefined> {
    const a = this.o.stores.actions.data.actions[actionId];
    if (!a || a.status !== 'pending' || this.delivered.has(actionId)) return a?.deadline;
    this.delivered.add(actionId);
    const deadline = this.now() + this.o.confirmTimeoutS * 1000;
    if (deadline > a.deadline) await this.setAction(actionId, { deadline });
    return this.o.stores.actions.data.actions[actionId]?.deadline;
  }

  /** Remembers where a confirm was shown (channel -> message reference) so it can be edited. */
  async attachMessage(actionId: string, channel: string, ref: string): Promise<void> {
    await this.o.stores.actions.update((d) => {
      const a = d.actions[actionId];
      if (a) a.messages[channel] = ref;
    });
  }

  /**
   * Places (or re-finds) the one order of this seal segment. Returns the intent, or undefined when
   * there is nothing to sell.
   */
  async sell(
    symbol: string,
    segment: number,
    rule: string,
    reason: string,
    actionId?: string,
  ): Promise<Intent | undefined> {
    const v = this.o.view(symbol);
    if (!v) return undefined;
    const day = exchangeDate(this.now());
    const id = clientOrderId(day, this.o.account(), symbol, segment);
    const existing = this.o.stores.orders.data.intents[id];
    if (existing) return existing; // one seal segment never sells twice
    if (this.placing.has(id)) return undefined;
    const quantity = maxSellQuantity(v.sec.board, v.sellable);
    const price = this.sellPrice(v, rule);
    if (quantity <= 0 || price === null) return undefined;
    this.placing.add(id);
    try {
      const intent: Intent = {
        clientOrderId: id,
        day,
        symbol,
        name: v.name,
        segment,
        quantity,
        limitPrice: formatTicks(price, v.sec.decimals),
        reason,
        rule,
        createdAt: this.now(),
        state: 'intent',
        ...(actionId ? { actionId } : {}),
      };
      await this.o.stores.orders.update((d) => {
        d.intents[id] = intent;
      });
      return await this.send(id);
    } finally {
      this.placing.delete(id);
    }
  }

  /**
   * While sealed: the limit-up price, which fills against the bid queue and never lower. After a
   * break: the best bid (always inside the price cage for a sell) but never below the user's floor
   * (default: the limit-down price).
   */
  private sellPrice(v: MarketView, rule: string): Ticks | null {
    if (!v.limits) return null;
    if (v.sealedNow && rule !== 'onBreak') return v.limits.up;
    const bid1 = v.snapshot?.bids[0]?.[0];
    const floor = Math.max(v.floor ?? v.limits.down, v.limits.down);
    if (bid1 === undefined) return v.sealedNow ? v.limits.up : floor;
    return Math.min(Math.max(bid1, floor), v.limits.up);
  }

  private async send(id: string): Promise<Intent | undefined> {
    const intent = this.o.stores.orders.data.intents[id];
    if (!intent) return undefined;
    const req: SellRequest = {
      clientOrderId: id,
      symbol: intent.symbol,
      quantity: intent.quantity,
      limitPrice: intent.limitPrice,
      note: intent.reason.slice(0, 60),
    };
    try {
      const order = await this.o.broker.placeSell(req);
      await this.patchIntent(id, {
        state: FINAL_STATUSES.has(order.status) ? 'final' : 'placed',
        order,
        error: undefined,
      });
      this.o.bus.publish({
        type: 'OrderPlaced',
        at: this.now(),
        symbol: intent.symbol,
        name: intent.name,
        order,
        reason: intent.reason,
      });
      this.afterUpdate(intent, undefined, order);
    } catch (err) {
      const be = err instanceof BrokerError ? err : undefined;
      if (!be || be.outcomeUnknown) {
        this.unknownSince.set(id, this.now());
        await this.patchIntent(id, { state: 'unknown', error: errText(err) });
        this.o.log.warn(
          { clientOrderId: id, err: errText(err) },
          'sell outcome unknown; reconciling by client order id',
        );
      } else if (be.retryable) {
        // The broker never took it (503): keep the intent; tick() resends the identical request.
        await this.patchIntent(id, { state: 'intent', error: errText(err) });
        this.o.log.warn(
          { clientOrderId: id, err: errText(err) },
          'broker not ready; will resend with the same id',
        );
      } else {
        await this.patchIntent(id, { state: 'failed', error: errText(err) });
        this.o.bus.publish({
          type: 'OrderRejected',
          at: this.now(),
          symbol: intent.symbol,
          name: intent.name,
          clientOrderId: id,
          reason: errText(err),
        });
      }
    }
    return this.o.stores.orders.data.intents[id];
  }

  private async patchIntent(id: string, patch: Partial<Intent>): Promise<void> {
    await this.o.stores.orders.update((d) => {
      const cur = d.intents[id];
      if (!cur) return;
      Object.assign(cur, patch);
      if (patch.error === undefined && 'error' in patch) delete cur.error;
    });
  }

  private afterUpdate(intent: Intent, before: Order | undefined, order: Order): void {
    const base = { at: this.now(), symbol: intent.symbol, name: intent.name };
    if (before && before.status === order.status && before.filledQuantity === order.filledQuantity) return;
    if (order.status === 'filled') this.o.bus.publish({ type: 'OrderFilled', ...base, order });
    else if (order.status === 'rejected')
      this.o.bus.publish({
        type: 'OrderRejected',
        ...base,
        order,
        clientOrderId: intent.clientOrderId,
        reason: order.message ?? 'rejected by the broker',
      });
    else if (before) this.o.bus.publish({ type: 'OrderUpdate', ...base, order });
    if (FINAL_STATUSES.has(order.status)) this.o.onOrderFinal?.(order);
  }

  /**
   * Periodic work: follow open orders to their final state, reconcile unknown outcomes, resend
   * not-yet-accepted intents under the same id, and apply confirm deadlines.
   */
  async tick(): Promise<void> {
    const today = exchangeDate(this.now());
    for (const intent of Object.values(this.o.stores.orders.data.intents)) {
      if (intent.day !== today || intent.state === 'final' || intent.state === 'failed') continue;
      if (this.placing.has(intent.clientOrderId)) continue;
      try {
        await this.follow(intent);
      } catch (err) {
        this.o.log.warn({ clientOrderId: intent.clientOrderId, err: errText(err) }, 'order follow-up failed');
      }
    }
    for (const a of Object.values(this.o.stores.actions.data.actions)) {
      if (a.status === 'pending' && this.now() > a.deadline && !this.inFlight.has(a.id)) await this.expire(a);
    }
  }

  private async follow(intent: Intent): Promise<void> {
    const id = intent.clientOrderId;
    if (intent.state === 'intent') {
      // Written but never acknowledged (broker not ready, or killed before the call): ask first,
      // then resend the identical request; the broker's idempotency makes that safe.
      const found = await this.o.broker.getOrder(id);
      if (found) return this.record(intent, found);
      const attempts = intent.attempts ?? 0;
      if (attempts >= SELL_RETRY_LIMIT) {
        await this.patchIntent(id, { state: 'failed', error: `${intent.error ?? 'not accepted'}; gave up` });
        this.o.bus.publish({
          type: 'OrderRejected',
          at: this.now(),
          symbol: intent.symbol,
          name: intent.name,
          clientOrderId: id,
          reason: `the broker did not accept the order after ${attempts + 1} attempts`,
        });
        return;
      }
      this.placing.add(id);
      try {
        await this.patchIntent(id, { attempts: attempts + 1 });
        await this.send(id);
      } finally {
        this.placing.delete(id);
      }
      return;
    }
    const order = await this.o.broker.getOrder(id);
    if (order) {
      this.unknownSince.delete(id);
      return this.record(intent, order);
    }
    if (intent.state === 'unknown') {
      const since = this.unknownSince.get(id) ?? this.now();
      this.unknownSince.set(id, since);
      if (this.now() - since >= (this.o.unknownResendMs ?? 10_000)) {
        this.unknownSince.set(id, this.now());
        this.placing.add(id);
        try {
          await this.send(id);
        } finally {
          this.placing.delete(id);
        }
      }
    }
  }

  private async record(intent: Intent, order: Order): Promise<void> {
    const before = intent.order;
    const wasUnacknowledged = intent.state !== 'placed' && intent.state !== 'final';
    await this.patchIntent(intent.clientOrderId, {
      state: FINAL_STATUSES.has(order.status) ? 'final' : 'placed',
      order,
      error: undefined,
    });
    if (wasUnacknowledged && !before)
      this.o.bus.publish({
        type: 'OrderPlaced',
        at: this.now(),
        symbol: intent.symbol,
        name: intent.name,
        order,
        reason: intent.reason,
      });
    this.afterUpdate(intent, before ?? (wasUnacknowledged ? undefined : order), order);
  }

  private async expire(a: PendingAction): Promise<void> {
    if (a.onTimeout === 'sell') {
      this.inFlight.add(a.id);
      try {
        await this.execute(a, 'sell', 'deadline');
      } finally {
        this.inFlight.delete(a.id);
      }
    } else {
      await this.setAction(a.id, {
        status: 'expired',
        resolvedAt: this.now(),
        outcome: 'No answer before the deadline: held (the configured default).',
      });
    }
    this.o.bus.publish({
      type: 'ConfirmExpired',
      at: this.now(),
      symbol: a.symbol,
      name: a.name,
      actionId: a.id,
      applied: a.onTimeout,
    });
  }

  /**
   * At start: pending confirms from an earlier run are closed (a tap on them must change nothing),
   * and unfinished intents of today are left for tick() to reconcile by id.
   */
  async recover(): Promise<{ expired: number; reconciling: number }> {
    let expired = 0;
    await this.o.stores.actions.update((d) => {
      for (const a of Object.values(d.actions)) {
        if (a.status === 'pending' || a.status === 'executing') {
          a.status = a.status === 'executing' && a.clientOrderId ? 'sold' : 'expired';
          a.outcome ??= 'Closed by a restart of SealGuard: no order was placed from this confirm.';
          expired++;
        }
      }
    });
    const today = exchangeDate(this.now());
    const reconciling = Object.values(this.o.stores.orders.data.intents).filter(
      (i) => i.day === today && (i.state === 'intent' || i.state === 'unknown' || i.state === 'placed'),
    ).length;
    return { expired, reconciling };
  }

  intentsOf(day: string): Intent[] {
    return Object.values(this.o.stores.orders.data.intents).filter((i) => i.day === day);
  }
}

function finishedText(a: PendingAction): string {
  switch (a.status) {
    case 'sold':
      return `Already done: ${a.outcome ?? 'sell order placed'}`;
    case 'held':
      return `Already decided: held (${a.resolvedBy ?? 'user'}).`;
    case 'expired':
      return `This confirm has closed: ${a.outcome ?? 'deadline passed'}`;
    case 'failed':
      return `Already tried: ${a.outcome ?? 'the sell failed'}`;
    default:
      return `This action is ${a.status}.`;
  }
}

export function intentOutcome(i: Intent): string {
  const o = i.order;
  switch (i.state) {
    case 'failed':
      return `Sell of ${i.quantity} ${i.symbol} refused: ${i.error ?? 'rejected'}`;
    case 'unknown':
      return `Sell of ${i.quantity} ${i.symbol} @ ${i.limitPrice} sent; the broker's answer is not known yet, checking by order id ${i.clientOrderId}.`;
    case 'intent':
      return `Sell of ${i.quantity} ${i.symbol} @ ${i.limitPrice} waiting for the broker (${i.error ?? 'not yet sent'}).`;
    default:
      if (o && o.filledQuantity > 0)
        return `Sold ${o.filledQuantity}/${o.quantity} ${i.symbol} @ ${o.avgFillPrice ?? o.limitPrice} (${o.status}).`;
      return `Sell order placed: ${i.quantity} ${i.symbol} @ ${i.limitPrice} (${o?.status ?? 'submitted'}).`;
  }
}

function errText(err: unknown): string {
  if (err instanceof BrokerError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
