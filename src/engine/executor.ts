/**
 * Turns a trigger into at most one sell per seal segment, through whichever broker is configured.
 *
 * Order of operations is the safety argument: the intent (with its deterministic client order id)
 * is persisted before the broker is called; an unknown outcome is reconciled by querying that id,
 * and any resend uses the same id, which every Broker implementation treats idempotently. So a
 * repeated trigger, a double tap, a timeout or a kill -9 can never produce a second order.
 *
 * An answer that is not a clear rejection is never reported as "failed": the order may be live,
 * and a user told "failed" sells by hand a second time. Such an order is "unknown": the user is
 * told at once that it is being checked (a HealthBoard item, so every channel hears it), it is
 * looked up by its id with backoff, the outcome is reported when found, and after
 * `unknownAlertMs` the user is told plainly to look at the broker.
 *
 * Durable writes can fail (a full DATA_DIR). No order leaves without its intent on disk, so a
 * failed intent write stops that sell, is told on every channel at once, and is retried each tick
 * until it succeeds; then the sell goes out, once. Writes after the broker answered are kept in
 * memory (the order is still followed) and retried the same way.
 */
import type { Logger } from 'pino';
import type { Broker, Order, SellRequest } from '../broker/broker.ts';
import { BrokerError, FINAL_STATUSES } from '../broker/broker.ts';
import type { Clock } from '../domain/clock.ts';
import { formatTicks } from '../domain/prices.ts';
import { raiseIntoSellCage, sellReference } from '../domain/priceCage.ts';
import { exchangeDate } from '../domain/time.ts';
import { maxSellQuantity } from '../domain/lots.ts';
import { describeEvidence, type TriggerEvidence } from '../domain/triggers.ts';
import type { Security, Snapshot, Ticks } from '../domain/types.ts';
import { formatExchangeTime } from '../domain/time.ts';
import type { EventBus } from './bus.ts';
import type { ConfirmDefault, Mode } from '../domain/modes.ts';
import { DayRollover } from './dayRollover.ts';
import { decide } from './decide.ts';
import { HealthBoard } from './health.ts';
import { FollowThrough, REPLACE_AFTER_MS, REPLACE_MAX } from './followThrough.ts';
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
  /** Follow-through after a break (false: `/trigger <code> chase off`, or alert mode). */
  chase?: boolean;
}

/**
 * Where the executor reads the market and position facts of a stock when it acts on its own
 * (a confirm tap, a retry, a follow-through step). A trigger brings its facts with it instead.
 * The guard implements it.
 */
export interface MarketFacts {
  marketView(symbol: string): MarketView | undefined;
}

/** The account side of an order: the key in client order ids, and a refresh after a final order. */
export interface OrderAccount {
  /** Stable account key for client order ids (masked account id or broker name). */
  readonly accountKey: string;
  /** An order reached a final state: positions changed. */
  refreshSoon(): void;
}

/** The user's /pause switch. */
export interface PauseSwitch {
  readonly paused: boolean;
}

export interface ExecutorOptions {
  broker: Broker;
  stores: GuardStores;
  bus: EventBus;
  clock: Clock;
  log: Logger;
  market: MarketFacts;
  account: OrderAccount;
  pause: PauseSwitch;
  confirmTimeoutS: number;
  confirmDefault: ConfirmDefault;
  /** How long an unknown-outcome order may stay unfound before the same id is sent again. */
  unknownResendMs?: number;
  /** Where order and disk problems are reported (and so told on every channel). */
  health?: HealthBoard;
  /** After this long unknown (market ms), the user is told plainly to check at the broker. Default 5 min. */
  unknownAlertMs?: number;
  /** Longest pause between two look-ups of an unknown order (market ms). Default 30 s. */
  maxCheckIntervalMs?: number;
  /** Hides secrets (BROKER_TOKEN, ...) in every text that reaches a channel or a file. */
  redact?: (text: string) => string;
  /** Why no order may go out today (a provisional day not yet confirmed open), if so. */
  sellBlocked?: () => string | undefined;
  /** Follow-through: an unfilled sell is replaced this long after placement once the board opened. */
  replaceAfterMs?: number;
  /** Follow-through: at most this many replacements per seal segment. */
  replaceMax?: number;
}

/** What one attempt at the segment's sell came to. */
type SellResult =
  { kind: 'intent'; intent: Intent } | { kind: 'unrecorded'; reason: string } | { kind: 'nothing' };

interface SellArgs {
  symbol: string;
  segment: number;
  rule: string;
  reason: string;
  actionId?: string;
}

interface TriggerBase {
  at: number;
  symbol: string;
  name: string;
  evidence: TriggerEvidence;
  limitUp: string;
  sellable: number;
}

interface Unknown {
  since: number;
  nextCheck: number;
  interval: number;
  alerted: boolean;
}

export interface TriggerInput {
  symbol: string;
  evidence: TriggerEvidence;
  mode: Mode;
  /** The stock's market and position facts as of the snapshot that fired. */
  view: MarketView;
  /** Called once the broker call has been made, or when none will be: the alerts may go. */
  dispatched?: () => void;
}

/** Whom a sell tells that its broker call was made, and the facts it decides on. */
interface SellGate {
  dispatched?: (() => void) | undefined;
  /** The facts the trigger decided on; read afresh from the market when absent. */
  view?: MarketView | undefined;
}

export interface ResolveResult {
  ok: boolean;
  /** Plain words for the user: what happened, or why nothing changed. */
  message: string;
  action?: PendingAction;
}

const SELL_RETRY_LIMIT = 5;
const UNKNOWN_ALERT_MS = 5 * 60_000;
const FIRST_CHECK_INTERVAL_MS = 1000;

export class Executor {
  private readonly inFlight = new Set<string>();
  private readonly placing = new Set<string>();
  private readonly unknownSince = new Map<string, number>();
  private readonly unknown = new Map<string, Unknown>();
  /** Intents whose latest state could not be written yet (newer than the store's). */
  private readonly overlay = new Map<string, Intent>();
  /** Intents in the write-ahead log whose orders.json rewrite has not landed yet. */
  private readonly walPending = new Set<string>();
  /** Sells whose intent could not be written: nothing was sent; retried each tick. */
  private readonly unrecorded = new Map<string, SellArgs & { day: string }>();
  /** Confirms that could not be written: shown without a button; retried each tick. */
  private readonly unrecordedActions = new Map<string, { action: PendingAction; base: TriggerBase }>();
  private readonly health: HealthBoard;
  private readonly redact: (text: string) => string;
  /** Confirms whose deadline was restarted at their prompt's first delivery. */
  private readonly delivered = new Set<string>();
  readonly followThrough: FollowThrough;
  /** Earlier days out of the stores this walks every tick (orders.json, actions.json). */
  private readonly rollover: DayRollover;

  constructor(private readonly o: ExecutorOptions) {
    this.health = o.health ?? new HealthBoard();
    this.redact = o.redact ?? ((t) => t);
    this.rollover = new DayRollover({
      stores: o.stores,
      health: this.health,
      log: o.log,
      clock: o.clock,
      redact: this.redact,
    });
    this.followThrough = new FollowThrough({
      broker: o.broker,
      stores: o.stores,
      bus: o.bus,
      clock: o.clock,
      log: o.log,
      health: this.health,
      market: o.market,
      desk: this,
      replaceAfterMs: o.replaceAfterMs ?? REPLACE_AFTER_MS,
      replaceMax: o.replaceMax ?? REPLACE_MAX,
      redact: this.redact,
    });
  }

  /** A follow-through replacement whose intent the driver wrote: sent like any sell, once. */
  async sendRecorded(id: string): Promise<void> {
    if (this.placing.has(id)) return;
    this.placing.add(id);
    try {
      await this.send(id);
    } finally {
      this.placing.delete(id);
    }
  }

  private now(): number {
    return this.o.clock.now();
  }

  /** Called once per trigger firing (the monitor fires at most once per segment). */
  async onTrigger(t: TriggerInput): Promise<void> {
    try {
      await this.handleTrigger(t);
    } finally {
      // Every path that places nothing (alert mode, a confirm, a refusal, an error) ends here.
      t.dispatched?.();
    }
  }

  private async handleTrigger(t: TriggerInput): Promise<void> {
    const v = t.view;
    const e = t.evidence;
    const limitUp = v.limits ? formatTicks(v.limits.up, v.sec.decimals) : '';
    const qty = maxSellQuantity(v.sec.board, v.sellable);
    const base = { at: this.now(), symbol: t.symbol, name: v.name, evidence: e, limitUp, sellable: qty };
    const d = decide(
      t.mode,
      { sellable: v.sellable, sellQuantity: qty },
      {
        brokerUnavailable: () => this.o.broker.unavailable?.(),
        paused: () => this.o.pause.paused,
        sellBlocked: () => this.o.sellBlocked?.(),
        uncertainSell: () => {
          const open = this.uncertainSell(t.symbol, e.segment);
          return open && uncertainText(open);
        },
        liveSell: () => {
          const live = this.followThrough.liveChain(t.symbol, e.segment);
          return live
            ? `the sell of segment ${live.segment} (${live.currentId}) is still working at the broker; no second sell of the same shares`
            : undefined;
        },
      },
    );
    if (d.kind === 'tell') {
      this.o.bus.publish({ type: 'SellTriggered', ...base, mode: d.mode, noSellReason: d.reason });
      return;
    }
    const mode = t.mode;
    if (d.kind === 'confirm') {
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
      const written = await this.tryWrite(`disk:confirm:${t.symbol}`, () =>
        this.o.stores.actions.update((d) => {
          d.actions[action.id] = action;
        }),
      );
      if (written !== true) {
        // A button for an action that is not on disk would answer "no such action": the alert
        // goes out without one, saying why, and the confirm follows once it can be recorded.
        this.unrecordedActions.set(action.id, { action, base });
        this.diskProblem(
          `disk:confirm:${t.symbol}`,
          `cannot record the confirm for ${v.name} ${t.symbol}: ${written} — nothing is sold from this alert until it can be recorded; the confirm follows then (free space in DATA_DIR)`,
        );
        this.o.bus.publish({
          type: 'SellTriggered',
          ...base,
          mode,
          noSellReason: `the confirm could not be recorded (${written}); nothing is sold yet — it will be sent again once it can be recorded`,
        });
        return;
      }
      this.publishConfirm(action, base);
      return;
    }
    this.o.bus.publish({ type: 'SellTriggered', ...base, mode });
    await this.sell(
      { symbol: t.symbol, segment: e.segment, rule: e.rule, reason: describeEvidence(e) },
      { dispatched: t.dispatched, view: v },
    );
  }

  private publishConfirm(action: PendingAction, base: TriggerBase): void {
    this.o.bus.publish({
      type: 'SellTriggered',
      ...base,
      mode: 'confirm',
      actionId: action.id,
      deadline: action.deadline,
      onTimeout: action.onTimeout,
    });
  }

  /**
   * A user's tap (or typed confirm) on a pending action. The pending -> executing step is decided
   * synchronously before the first await, so two taps racing each other cannot both pass.
   */
  async resolve(actionId: string, decision: ConfirmDefault, by: string): Promise<ResolveResult> {
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

  private async execute(a: PendingAction, decision: ConfirmDefault, by: string): Promise<ResolveResult> {
    if (decision === 'hold') {
      const outcome = `Held by ${by}: no order placed.`;
      await this.setAction(a.id, { status: 'held', resolvedBy: by, resolvedAt: this.now(), outcome });
      this.publishResolved(a, outcome, by);
      return { ok: true, message: outcome, action: this.o.stores.actions.data.actions[a.id] };
    }
    await this.setAction(a.id, { status: 'executing', resolvedBy: by, resolvedAt: this.now() });
    const r = await this.sell({
      symbol: a.symbol,
      segment: a.segment,
      rule: a.rule,
      reason: a.evidenceText,
      actionId: a.id,
    });
    if (r.kind === 'unrecorded') {
      // Nothing was sent. The confirm stays open for the retry, which sells once the intent is on disk.
      const outcome = `Not sold yet: ${r.reason}. It will be sold once it can be recorded.`;
      this.publishResolved(a, outcome, by);
      return { ok: false, message: outcome, action: this.o.stores.actions.data.actions[a.id] };
    }
    const intent = r.kind === 'intent' ? r.intent : undefined;
    const outcome = intent
      ? intentOutcome(intent)
      : 'No order: the stock is no longer watched or nothing is sellable.';
    // Only a broker's acknowledgement is "sold"; an unknown outcome stays executing until it is found.
    const status = !intent
      ? 'failed'
      : intent.state === 'failed'
        ? 'failed'
        : intent.state === 'placed' || intent.state === 'final'
          ? 'sold'
          : 'executing';
    await this.setAction(a.id, {
      status,
      outcome,
      ...(intent ? { clientOrderId: intent.clientOrderId } : {}),
    });
    this.publishResolved(a, outcome, by);
    return {
      ok: !!intent && intent.state !== 'failed',
      message: outcome,
      action: this.o.stores.actions.data.actions[a.id],
    };
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

  /** Best effort: a confirm's bookkeeping failing to save must not stop the sell it asked for. */
  private async setAction(id: string, patch: Partial<PendingAction>): Promise<void> {
    await this.tryWrite('disk:actions', () =>
      this.o.stores.actions.update((d) => {
        const cur = d.actions[id];
        if (cur) Object.assign(cur, patch);
      }),
    );
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

  /** Places (or re-finds) the one order of this seal segment. */
  private async sell(args: SellArgs, gate: SellGate = {}): Promise<SellResult> {
    const { symbol, segment, rule, reason, actionId } = args;
    const v = gate.view ?? this.o.market.marketView(symbol);
    if (!v) return { kind: 'nothing' };
    const day = exchangeDate(this.now());
    const id = clientOrderId(day, this.o.account.accountKey, symbol, segment);
    const existing = this.intent(id);
    if (existing) return { kind: 'intent', intent: existing }; // one seal segment never sells twice
    if (this.placing.has(id)) return { kind: 'nothing' };
    // Those shares may already be sold by the order nobody could confirm: never a second sell.
    if (this.uncertainSell(symbol, segment) || this.followThrough.liveChain(symbol, segment))
      return { kind: 'nothing' };
    const quantity = maxSellQuantity(v.sec.board, v.sellable);
    const price = this.sellPrice(v, rule);
    if (quantity <= 0 || price === null) return { kind: 'nothing' };
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
      const key = `disk:intent:${symbol}`;
      // The intent alone is on disk before the broker call; the seal journal follows the call
      // (Guard.sellFirst says why that is safe).
      const log = this.o.stores.intentLog;
      // Counted before the append is queued: a reset queued behind it must see it pending.
      if (log) this.walPending.add(id);
      const written = await this.tryWrite(
        key,
        log
          ? () => log.appendNow([JSON.stringify(intent)])
          : () =>
              this.o.stores.orders.update((d) => {
                d.intents[id] = intent;
              }),
      );
      if (written !== true) {
        this.walPending.delete(id);
        // Without its intent on disk an order could be sent twice after a restart: not sending.
        this.unrecorded.set(id, { ...args, day });
        const why = `cannot record the order intent: ${written}`;
        this.diskProblem(
          key,
          `${why} — not selling ${v.name} ${symbol} until it can be recorded (free space in DATA_DIR)`,
        );
        return { kind: 'unrecorded', reason: why };
      }
      if (this.unrecorded.delete(id))
        this.diskResolved(key, `order intent for ${v.name} ${symbol} recorded; selling now`);
      if (log) this.overlay.set(id, intent);
      // send() calls placeSell before its first await: the request is out when this returns.
      const sending = this.send(id, gate.dispatched);
      if (log)
        // On disk in the log; orders.json follows after the broker call, never ahead of it (its
        // clone, check and stringify are ~0.5 ms of CPU). A failed rewrite stays in the overlay
        // and is retried each tick, like any order update.
        setImmediate(() => void this.flushIntent(id));
      const sent = await sending;
      return sent ? { kind: 'intent', intent: sent } : { kind: 'nothing' };
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
    if (bid1 === undefined) return v.sealedNow ? v.limits.up : this.caged(v, floor);
    return Math.min(this.caged(v, Math.max(bid1, floor)), v.limits.up);
  }

  /** Raised into the price cage (价格笼子): a sell below it is refused or parked by the exchange. */
  private caged(v: MarketView, price: Ticks): Ticks {
    const ref = v.snapshot ? sellReference(v.snapshot) : null;
    return Math.min(raiseIntoSellCage(v.sec.board, ref, price), v.limits?.up ?? price);
  }

  private async send(id: string, dispatched?: () => void): Promise<Intent | undefined> {
    const intent = this.intent(id);
    if (!intent) return undefined;
    const req: SellRequest = {
      clientOrderId: id,
      symbol: intent.symbol,
      quantity: intent.quantity,
      limitPrice: intent.limitPrice,
      note: intent.reason.slice(0, 60),
    };
    let order: Order;
    try {
      const placing = this.o.broker.placeSell(req);
      // The request is on its way: what was held back for it (the alert) may be delivered now.
      dispatched?.();
      order = await placing;
    } catch (err) {
      const be = err instanceof BrokerError ? err : undefined;
      const text = this.errText(err);
      if (!be || be.outcomeUnknown) {
        await this.becameUnknown(intent, text);
      } else if (be.retryable) {
        // The broker never took it (503): keep the intent; tick() resends the identical request.
        await this.patchIntent(id, { state: 'intent', error: text });
        this.o.log.warn({ clientOrderId: id, err: text }, 'broker not ready; will resend with the same id');
      } else {
        await this.patchIntent(id, { state: 'failed', error: text });
        this.o.bus.publish({
          type: 'OrderRejected',
          at: this.now(),
          symbol: intent.symbol,
          name: intent.name,
          clientOrderId: id,
          reason: text,
        });
        await this.settleAction(this.intent(id)!);
      }
      return this.intent(id);
    }
    order = this.clean(order);
    if (!knownAtBroker(order)) {
      await this.becameUnknown(intent, `the broker answered, but with status "${order.status}"`, order);
      return this.intent(id);
    }
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
    await this.settleAction(this.intent(id)!);
    return this.intent(id);
  }

  /** The order may be live: say so at once, and look it up from now on (never "failed"). */
  private async becameUnknown(intent: Intent, why: string, order?: Order): Promise<void> {
    const id = intent.clientOrderId;
    this.unknownSince.set(id, this.now());
    this.trackUnknown(id);
    await this.patchIntent(id, { state: 'unknown', error: why, ...(order ? { order } : {}) });
    this.o.log.warn({ clientOrderId: id, err: why }, 'sell outcome unknown; reconciling by client order id');
    this.tellUnknown(this.intent(id) ?? intent, why);
  }

  private trackUnknown(id: string): Unknown {
    let u = this.unknown.get(id);
    if (!u) {
      const now = this.now();
      // The first look-up is on the next tick; the pauses double from there.
      u = { since: now, nextCheck: now, interval: FIRST_CHECK_INTERVAL_MS, alerted: false };
      this.unknown.set(id, u);
    }
    return u;
  }

  private tellUnknown(i: Intent, why: string): void {
    this.health.set(
      `order:${i.clientOrderId}`,
      'broker',
      'warn',
      this.redact(
        `${i.name} ${i.symbol}: sell of ${i.quantity} @ ${i.limitPrice} sent, but the broker's answer is unclear (${why}). ` +
          `Checking the order at the broker; it will not be sent twice. Do not sell these shares by hand until this is resolved.`,
      ),
    );
  }

  /** Reports what an unknown order turned out to be, on the item that said "checking". */
  private resolveUnknown(i: Intent, order: Order): void {
    this.unknown.delete(i.clientOrderId);
    const key = `order:${i.clientOrderId}`;
    if (!this.health.has(key)) return;
    const fill = order.filledQuantity > 0 ? `, filled ${order.filledQuantity}/${order.quantity}` : '';
    // Updating the text first makes the "resolved" notice carry the outcome, not the question.
    this.health.set(
      key,
      'broker',
      'warn',
      this.redact(
        `${i.name} ${i.symbol}: the sell of ${i.quantity} @ ${i.limitPrice} was found at the broker: ${order.status}${fill}${order.brokerOrderId ? ` (order ${order.brokerOrderId})` : ''}.`,
      ),
    );
    this.health.clear(key);
  }

  private async patchIntent(id: string, patch: Partial<Intent>): Promise<void> {
    const cur = this.intent(id);
    if (!cur) return;
    const next = { ...cur, ...patch } as Intent;
    if ('error' in patch && patch.error === undefined) delete next.error;
    if (next.error !== undefined) next.error = this.redact(next.error);
    this.overlay.set(id, next);
    await this.flushIntent(id);
  }

  /** Writes an intent's newest state; on failure it stays in memory and tick() tries again. */
  private async flushIntent(id: string): Promise<boolean> {
    const next = this.overlay.get(id);
    if (!next) return true;
    const written = await this.tryWrite('disk:orders', () =>
      this.o.stores.orders.update((d) => {
        d.intents[id] = next;
      }),
    );
    if (written !== true) {
      this.diskProblem(
        'disk:orders',
        `cannot record order updates: ${written} — orders are still followed, and the update is written when space returns (free space in DATA_DIR)`,
      );
      return false;
    }
    if (this.overlay.get(id) === next) this.overlay.delete(id);
    if (this.walPending.delete(id) && this.walPending.size === 0)
      // Everything the log held is in orders.json now: it can start empty again.
      void this.o.stores.intentLog
        ?.resetWhen(() => this.walPending.size === 0)
        .catch((err: unknown) => this.o.log.warn({ err: this.errText(err) }, 'intent log reset failed'));
    return true;
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
        reason: this.redact(order.message ?? 'rejected by the broker'),
      });
    else if (before) this.o.bus.publish({ type: 'OrderUpdate', ...base, order });
    if (FINAL_STATUSES.has(order.status)) this.o.account.refreshSoon();
  }

  /** A confirm whose sell was unknown is closed once its order is known (sold) or refused (failed). */
  private async settleAction(i: Intent): Promise<void> {
    if (!i.actionId) return;
    const a = this.o.stores.actions.data.actions[i.actionId];
    if (!a || a.status !== 'executing' || this.inFlight.has(a.id)) return;
    const status =
      i.state === 'failed' ? 'failed' : i.state === 'placed' || i.state === 'final' ? 'sold' : undefined;
    if (!status) return;
    await this.setAction(a.id, { status, outcome: intentOutcome(i), clientOrderId: i.clientOrderId });
  }

  /**
   * Periodic work: write what could not be written, follow open orders to their final state,
   * reconcile unknown outcomes, resend not-yet-accepted intents under the same id, and apply
   * confirm deadlines.
   */
  async tick(): Promise<void> {
    const today = exchangeDate(this.now());
    await this.retryWrites(today);
    // After the retries: an update held back for an earlier day's intent is archived with it.
    await this.rollover.run(today);
    for (const intent of this.intents()) {
      if (intent.day !== today || intent.state === 'final' || intent.state === 'failed') continue;
      if (this.placing.has(intent.clientOrderId)) continue;
      try {
        await this.follow(intent);
      } catch (err) {
        this.o.log.warn(
          { clientOrderId: intent.clientOrderId, err: this.errText(err) },
          'order follow-up failed',
        );
      }
    }
    // After every order's state was read this tick: cancel, replace or finish what broke.
    await this.followThrough
      .tick()
      .catch((err: unknown) => this.o.log.warn({ err: this.errText(err) }, 'follow-through tick failed'));
    const tapped = new Set([...this.unrecorded.values()].map((u) => u.actionId));
    for (const a of Object.values(this.o.stores.actions.data.actions)) {
      // A confirm tapped "sell" while its intent could not be written is decided, not lapsing.
      if (a.status === 'pending' && this.now() > a.deadline && !this.inFlight.has(a.id) && !tapped.has(a.id))
        await this.expire(a);
    }
  }

  /** What a full disk held back: order updates, confirms, and sells whose intent was not written. */
  private async retryWrites(today: string): Promise<void> {
    let allWritten = true;
    for (const id of [...this.overlay.keys()]) allWritten = (await this.flushIntent(id)) && allWritten;
    if (allWritten) this.diskResolved('disk:orders', 'order updates recorded again');
    for (const [id, { action: a, base }] of [...this.unrecordedActions]) {
      if (a.day !== today) {
        this.unrecordedActions.delete(id);
        continue;
      }
      const key = `disk:confirm:${a.symbol}`;
      // The user could not answer while it was unrecorded: the deadline counts from now.
      const fresh: PendingAction = { ...a, deadline: this.now() + this.o.confirmTimeoutS * 1000 };
      const written = await this.tryWrite(key, () =>
        this.o.stores.actions.update((d) => {
          d.actions[a.id] = fresh;
        }),
      );
      if (written !== true) continue;
      this.unrecordedActions.delete(id);
      this.diskResolved(key, `confirm for ${a.name} ${a.symbol} recorded; sent again`);
      this.publishConfirm(fresh, { ...base, at: this.now() });
    }
    for (const [id, args] of [...this.unrecorded]) {
      if (args.day !== today) {
        this.unrecorded.delete(id);
        continue;
      }
      if (this.placing.has(id)) continue;
      const r = await this.sell(args);
      if (r.kind === 'nothing' && this.unrecorded.delete(id))
        this.diskResolved(`disk:intent:${args.symbol}`, `nothing left to sell of ${args.symbol}; no order`);
    }
  }

  private async follow(intent: Intent): Promise<void> {
    const id = intent.clientOrderId;
    if (intent.state === 'intent') {
      // Written but never acknowledged (broker not ready, or killed before the call): ask first,
      // then resend the identical request; the broker's idempotency makes that safe.
      const found = await this.o.broker.getOrder(id);
      if (found && knownAtBroker(found)) return this.record(intent, this.clean(found));
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
        await this.settleAction(this.intent(id)!);
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
    if (intent.state === 'unknown') {
      const u = this.trackUnknown(id);
      const now = this.now();
      // After a restart the board is new: say "checking" again.
      if (!this.health.has(`order:${id}`)) this.tellUnknown(intent, intent.error ?? 'outcome not known');
      if (!u.alerted && now - u.since >= (this.o.unknownAlertMs ?? UNKNOWN_ALERT_MS)) {
        u.alerted = true;
        this.alertUnknown(intent, now - u.since);
      }
      if (now < u.nextCheck) return;
      u.interval = Math.min(u.interval * 2, this.o.maxCheckIntervalMs ?? 30_000);
      u.nextCheck = now + u.interval;
    }
    const order = await this.o.broker.getOrder(id);
    if (order && knownAtBroker(order)) {
      this.unknownSince.delete(id);
      return this.record(intent, this.clean(order));
    }
    if (intent.state === 'unknown') {
      const since = this.unknownSince.get(id) ?? this.now();
      this.unknownSince.set(id, since);
      if (this.now() - since >= (this.o.unknownResendMs ?? 10_000)) {
        // The same id again: every broker answers it with the existing order, never a second one.
        this.unknownSince.set(id, this.now());
        this.placing.add(id);
        try {
          await this.resendUnknown(id);
        } finally {
          this.placing.delete(id);
        }
      }
    }
  }

  /** Same id, same request; a clear answer settles it, anything else stays unknown (no new message). */
  private async resendUnknown(id: string): Promise<void> {
    const intent = this.intent(id);
    if (!intent) return;
    let order: Order;
    try {
      order = this.clean(
        await this.o.broker.placeSell({
          clientOrderId: id,
          symbol: intent.symbol,
          quantity: intent.quantity,
          limitPrice: intent.limitPrice,
          note: intent.reason.slice(0, 60),
        }),
      );
    } catch (err) {
      const be = err instanceof BrokerError ? err : undefined;
      if (be && !be.outcomeUnknown && !be.retryable && be.code !== 'IDEMPOTENCY_CONFLICT') {
        // A clear refusal of the only copy of this order: it was never placed.
        await this.patchIntent(id, { state: 'failed', error: this.errText(err) });
        this.resolveUnknownRefused(intent, this.errText(err));
        this.o.bus.publish({
          type: 'OrderRejected',
          at: this.now(),
          symbol: intent.symbol,
          name: intent.name,
          clientOrderId: id,
          reason: this.errText(err),
        });
        await this.settleAction(this.intent(id)!);
      } else {
        await this.patchIntent(id, { error: this.errText(err) });
      }
      return;
    }
    if (knownAtBroker(order)) await this.record(intent, order);
  }

  private resolveUnknownRefused(i: Intent, why: string): void {
    this.unknown.delete(i.clientOrderId);
    const key = `order:${i.clientOrderId}`;
    if (!this.health.has(key)) return;
    this.health.set(
      key,
      'broker',
      'warn',
      this.redact(
        `${i.name} ${i.symbol}: the sell of ${i.quantity} @ ${i.limitPrice} was not placed: ${why}.`,
      ),
    );
    this.health.clear(key);
  }

  /** Minutes without an answer: plain words and what to look at, once. */
  private alertUnknown(i: Intent, forMs: number): void {
    const minutes = Math.max(1, Math.round(forMs / 60_000));
    const text = this.redact(
      `🛑 ${i.name} ${i.symbol}: outcome still unknown after ${minutes} min for the sell of ${i.quantity} @ ${i.limitPrice} ` +
        `sent at ${formatExchangeTime(i.createdAt).slice(11, 19)}. Check at the broker (today's orders / 当日委托) whether it is there; ` +
        `SealGuard will not send it again and keeps checking (client order id ${i.clientOrderId}).`,
    );
    this.health.set(`order:${i.clientOrderId}`, 'broker', 'error', text);
    this.o.bus.publish({ type: 'Info', at: this.now(), text });
  }

  private async record(intent: Intent, order: Order): Promise<void> {
    const before = intent.order && knownAtBroker(intent.order) ? intent.order : undefined;
    const wasUnacknowledged = intent.state !== 'placed' && intent.state !== 'final';
    await this.patchIntent(intent.clientOrderId, {
      state: FINAL_STATUSES.has(order.status) ? 'final' : 'placed',
      order,
      error: undefined,
    });
    const now = this.intent(intent.clientOrderId) ?? intent;
    if (intent.state === 'unknown') this.resolveUnknown(now, order);
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
    if (wasUnacknowledged) await this.settleAction(now);
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
   * unfinished intents of today are left for tick() to reconcile by id, and earlier days' records
   * are archived (after the closing, so an archived confirm says it was closed).
   */
  async recover(): Promise<{ expired: number; reconciling: number }> {
    let expired = 0;
    await this.o.stores.actions.update((d) => {
      for (const a of Object.values(d.actions)) {
        if (a.status === 'pending' || a.status === 'executing') {
          const intent = a.clientOrderId ? this.intent(a.clientOrderId) : undefined;
          if (
            a.status === 'executing' &&
            intent &&
            (intent.state === 'intent' || intent.state === 'unknown')
          ) {
            // Its order is still being reconciled; settleAction closes it when that ends.
            continue;
          }
          a.status = a.status === 'executing' && a.clientOrderId ? 'sold' : 'expired';
          a.outcome ??= 'Closed by a restart of SealGuard: no order was placed from this confirm.';
          expired++;
        }
      }
    });
    const today = exchangeDate(this.now());
    await this.rollover.run(today);
    const reconciling = this.intents().filter(
      (i) => i.day === today && (i.state === 'intent' || i.state === 'unknown' || i.state === 'placed'),
    ).length;
    return { expired, reconciling };
  }

  intentsOf(day: string): Intent[] {
    return this.intents().filter((i) => i.day === day);
  }

  // ---- plumbing -----------------------------------------------------------------------------

  /** Today's sell of this stock from another segment whose fate is not known yet (unknown, or never acknowledged). */
  private uncertainSell(symbol: string, segment: number): Intent | undefined {
    const today = exchangeDate(this.now());
    for (const i of this.eachIntent())
      if (
        i.day === today &&
        i.symbol === symbol &&
        i.segment !== segment &&
        (i.state === 'unknown' || i.state === 'intent')
      )
        return i;
    return undefined;
  }

  intent(id: string): Intent | undefined {
    return this.overlay.get(id) ?? this.o.stores.orders.data.intents[id];
  }

  /** A copy, for loops that await (the store changes under them). */
  intents(): Intent[] {
    return [...this.eachIntent()];
  }

  /**
   * Every intent, the overlay's version where one is pending, without copying the store: the
   * check before each sell walks these. The store holds today's (earlier days are archived).
   */
  private *eachIntent(): Generator<Intent> {
    const stored = this.o.stores.orders.data.intents;
    for (const id in stored) yield this.overlay.get(id) ?? stored[id]!;
    for (const [id, i] of this.overlay) if (!(id in stored)) yield i;
  }

  /** Broker texts can echo request headers; nothing secret goes on in an order's message. */
  private clean(o: Order): Order {
    return o.message === undefined ? o : { ...o, message: this.redact(o.message) };
  }

  private errText(err: unknown): string {
    return this.redact(errText(err));
  }

  /** true, or why the write failed in words ("disk full"). Never throws. */
  private async tryWrite(key: string, write: () => Promise<void>): Promise<true | string> {
    try {
      await write();
      return true;
    } catch (err) {
      const why = writeFailure(err);
      // Retried every tick while the disk is full: the first failure is the one worth a log line.
      this.o.log[this.health.has(key) ? 'debug' : 'error'](
        { key, err: this.redact(errText(err)) },
        'durable write failed',
      );
      return why;
    }
  }

  private diskProblem(key: string, text: string): void {
    this.health.set(key, 'disk', 'error', this.redact(text));
  }

  private diskResolved(key: string, text: string): void {
    if (!this.health.has(key)) return;
    this.health.set(key, 'disk', 'error', this.redact(text));
    this.health.clear(key);
  }
}

function uncertainText(i: Intent): string {
  return `an earlier sell of ${i.quantity} ${i.symbol} @ ${i.limitPrice} (${i.clientOrderId}) is not confirmed by the broker yet; no second sell of the same shares until it is`;
}

/** The broker knows this order: a real status, or at least its own order number. */
function knownAtBroker(o: Order): boolean {
  return o.status !== 'unknown' || (o.brokerOrderId !== undefined && o.brokerOrderId !== '');
}

/** "disk full" for ENOSPC (what the user must fix), else the error's own words. */
function writeFailure(err: unknown): string {
  let e: unknown = err;
  for (let depth = 0; e && depth < 4; depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC') return 'disk full';
    if (code === 'EDQUOT') return 'disk quota exceeded';
    if (code === 'EROFS') return 'the disk is read-only';
    if (code === 'EACCES' || code === 'EPERM') return 'DATA_DIR is not writable';
    e = (e as { cause?: unknown }).cause;
  }
  return err instanceof Error ? err.message : String(err);
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
