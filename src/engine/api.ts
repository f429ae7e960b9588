/**
 * The engine as the chat layer sees it. Channels call these and render the answers; they never
 * touch a broker or a feed themselves.
 */
import type { Account, Broker, BrokerLoginControl, Order, Position } from '../broker/broker.ts';
import type { Clock } from '../domain/clock.ts';
import { phaseAt } from '../domain/session.ts';
import { tryParseSymbol } from '../domain/symbols.ts';
import { exchangeDate, formatExchangeTime, parseDate } from '../domain/time.ts';
import type { Phase } from '../domain/types.ts';
import type { SourceStatus } from '../market/source.ts';
import type { EventBus, Listener } from './bus.ts';
import { HealthBoard, type HealthSnapshot } from './health.ts';
import type { ConfirmDefault, Mode } from '../domain/modes.ts';
import type { ResolveResult } from './executor.ts';
import type { Guard, StockView } from './guard.ts';
import type { DayRow } from './marketDays.ts';
import { chainText } from './followThrough.ts';
import { readPastDay } from './pastDay.ts';
import type { Intent, PendingAction, TriggerOverrides, Watch } from './state.ts';

export interface StatusInfo {
  clock: string;
  simulated: boolean;
  phase: Phase;
  tradingDay: string;
  paused: boolean;
  broker: { name: string; ok: boolean | undefined; error: string };
  sources: SourceStatus[];
  watched: number;
  pendingActions: number;
  /** Problems around the guard right now, and counters (undelivered notifications, ...). */
  health: HealthSnapshot;
  /** Free space for DATA_DIR, when the app measures it. */
  disk?: DiskStatus;
}

export interface DiskStatus {
  freeBytes: number;
  totalBytes: number;
  /** The health board warns below this. */
  lowBytes: number;
}

/** The running guard's calendar, for /calendar (engine/marketDays.ts). */
export interface CalendarProvider {
  upcoming(n?: number): DayRow[];
  warning(): string | undefined;
  setDay(date: string, status: 'open' | 'closed', note?: string): Promise<DayRow>;
}

export interface SummaryProvider {
  (date: string): Promise<string>;
}

/** One day's sell orders as /orders shows them. */
export interface OrdersView {
  orders: Order[];
  intents: Intent[];
  /** Each segment's follow-through in words, keyed by its first order's client order id. */
  follow: Record<string, string>;
  /** The day asked for (today when none was). */
  day: string;
  when: 'today' | 'past' | 'future';
  /** An earlier day: its archive (DATA_DIR/history/<day>.json), none, or why it cannot be read. */
  archive?: 'found' | 'none' | { file: string; problem: string };
  /** Archived orders that were still open when their day ended, id -> why nothing changes them. */
  unfinished?: Record<string, string>;
}

export interface GuardApiOptions {
  guard: Guard;
  broker: Broker;
  bus: EventBus;
  clock: Clock;
  simulatedClock: boolean;
  sources: () => SourceStatus[];
  summary?: SummaryProvider;
  /** Shared with the adapters that report into it; a private one when not given (tests). */
  health?: HealthBoard;
  disk?: () => DiskStatus | undefined;
  calendar?: CalendarProvider;
}

export class GuardApi {
  readonly health: HealthBoard;

  constructor(private readonly o: GuardApiOptions) {
    this.health = o.health ?? new HealthBoard();
  }

  now(): number {
    return this.o.clock.now();
  }

  subscribe(name: string, fn: Listener): () => void {
    return this.o.bus.subscribe(name, fn);
  }

  watch(code: string, threshold: number | undefined, mode?: Mode): Promise<Watch> {
    return this.o.guard.watch(code, {
      ...(threshold !== undefined ? { threshold } : {}),
      ...(mode ? { mode } : {}),
    });
  }

  unwatch(code: string): ReturnType<Guard['unwatch']> {
    return this.o.guard.unwatch(code);
  }

  list(): StockView[] {
    return this.o.guard.watchedSymbols().map((s) => this.o.guard.view(s));
  }

  setMode(target: string, mode: Mode): Promise<string[]> {
    return this.o.guard.setMode(target, mode);
  }

  setTriggers(target: string, patch: TriggerOverrides): ReturnType<Guard['setTriggers']> {
    return this.o.guard.setTriggers(target, patch);
  }

  setFloor(target: string, floor: string | undefined): Promise<void> {
    return this.o.guard.setFloor(target, floor);
  }

  async positions(): Promise<Position[]> {
    return (
      (await this.o.guard.refreshPositions()) ??
      Promise.reject(new Error(this.o.guard.brokerStatus().error || 'broker unavailable'))
    );
  }

  /** The broker's login controls (/captcha, /sms, /login), when it needs a person to log in. */
  brokerLogin(): BrokerLoginControl | undefined {
    return this.o.broker.login;
  }

  balance(): Promise<Account> {
    return this.o.broker.account();
  }

  /**
   * Today's orders (the broker's list, with our intents), or an earlier day's from its archive
   * with no broker call: the broker only knows today's. Throws InputError for a malformed date.
   */
  async orders(date?: string): Promise<OrdersView> {
    const today = exchangeDate(this.now());
    if (date !== undefined && date !== today) {
      parseDate(date);
      if (date > today) return { orders: [], intents: [], follow: {}, day: date, when: 'future' };
      return this.pastOrders(date);
    }
    const day = today;
    const intents = this.o.guard.executor.intentsOf(day);
    // Each segment's follow-through in words, keyed by its first order's client order id.
    const follow: Record<string, string> = {};
    for (const c of this.o.guard.executor.followThrough.chainsOf(day)) {
      if (c.steps.length < 2) continue;
      const v = this.o.guard.marketView(c.symbol);
      if (!v) continue;
      const last = v.snapshot && v.snapshot.last > 0 ? v.snapshot.last : null;
      follow[c.rootId] = chainText(c, v.sec.decimals, v.limits?.up ?? null, last, 'last');
    }
    let orders: Order[];
    try {
      orders = await this.o.broker.todayOrders();
    } catch {
      orders = intents.flatMap((i) => (i.order ? [i.order] : []));
    }
    return { orders, intents, follow, day, when: 'today' };
  }

  private async pastOrders(day: string): Promise<OrdersView> {
    const past = await readPastDay(this.o.guard.stores, day);
    const follow: Record<string, string> = {};
    for (const c of past.follow) {
      if (c.steps.length < 2) continue;
      // The day's limit-up and close are not kept with the chain: its steps are told without them.
      follow[c.rootId] = chainText(c, tryParseSymbol(c.symbol)?.decimals ?? 2, null, null);
    }
    const orders = past.intents.flatMap((i) => (i.order ? [i.order] : []));
    const unfinished: Record<string, string> = {};
    for (const i of past.intents) {
      const note = past.unfinished[i.clientOrderId];
      if (note) unfinished[i.clientOrderId] = note;
    }
    return { orders, intents: past.intents, follow, day, when: 'past', archive: past.archive, unfinished };
  }

  async summary(date?: string): Promise<string> {
    const d = date ?? exchangeDate(this.now());
    if (!this.o.summary) return `No summary available for ${d}.`;
    return this.o.summary(d);
  }

  get calendar(): CalendarProvider | undefined {
    return this.o.calendar;
  }

  pause(): Promise<void> {
    return this.o.guard.setPaused(true);
  }

  resume(): Promise<void> {
    return this.o.guard.setPaused(false);
  }

  get paused(): boolean {
    return this.o.guard.paused;
  }

  resolve(actionId: string, decision: ConfirmDefault, by: string): Promise<ResolveResult> {
    return this.o.guard.executor.resolve(actionId, decision, by);
  }

  /** A channel delivered the confirm's prompt: its deadline starts now (see Executor). */
  promptDelivered(actionId: string): Promise<number | undefined> {
    return this.o.guard.executor.promptDelivered(actionId);
  }

  attachMessage(actionId: string, channel: string, ref: string): Promise<void> {
    return this.o.guard.executor.attachMessage(actionId, channel, ref);
  }

  pendingActions(): PendingAction[] {
    return Object.values(this.o.guard.stores.actions.data.actions).filter((a) => a.status === 'pending');
  }

  action(id: string): PendingAction | undefined {
    return this.o.guard.stores.actions.data.actions[id];
  }

  actionByOrder(clientOrderId: string): PendingAction | undefined {
    const st = this.o.guard.stores;
    const actionId = st.orders.data.intents[clientOrderId]?.actionId;
    return actionId ? st.actions.data.actions[actionId] : undefined;
  }

  status(): StatusInfo {
    const now = this.now();
    const b = this.o.guard.brokerStatus();
    const disk = this.o.disk?.();
    return {
      clock: formatExchangeTime(now),
      simulated: this.o.simulatedClock,
      phase: phaseAt(now),
      tradingDay: exchangeDate(now),
      paused: this.o.guard.paused,
      broker: { name: this.o.broker.name, ok: b.ok, error: b.error },
      sources: this.o.sources(),
      watched: this.o.guard.watchedSymbols().length,
      pendingActions: this.pendingActions().length,
      health: this.health.snapshot(),
      ...(disk ? { disk } : {}),
    };
  }
}
