/**
 * The account as the engine knows it: the broker's positions (what is held, what is sellable
 * today under T+1), whether the broker answers, and the account's key for client order ids.
 * Refreshed on a timer, after an order is final and after a login; each refresh that changes the
 * holdings is told to onChange listeners (the watch list follows the holdings).
 */
import type { Logger } from 'pino';
import type { Broker, Position } from '../broker/broker.ts';
import type { Clock } from '../domain/clock.ts';
import type { EventBus } from './bus.ts';

export interface AccountBookOptions {
  broker: Broker;
  bus: EventBus;
  clock: Clock;
  log: Logger;
  refreshMs?: number;
}

export interface BrokerStatus {
  /** undefined until the first answer. */
  ok: boolean | undefined;
  error: string;
  /** Market-clock ms of the last positions read; 0 before the first. */
  positionsAt: number;
}

export class AccountBook {
  private positions = new Map<string, Position>();
  private ok: boolean | undefined;
  private error = '';
  private positionsAt = 0;
  private key = '';
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly o: AccountBookOptions) {}

  /** The account's id as the broker names it: part of every client order id (one sell per segment). */
  get accountKey(): string {
    return this.key || this.o.broker.name;
  }

  /** Reads the account id, then the positions, then keeps them fresh. */
  async start(): Promise<void> {
    try {
      const h = await this.o.broker.health();
      this.key = `${this.o.broker.name}:${h.accountId ?? ''}`;
    } catch {
      this.key = this.o.broker.name;
    }
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.o.refreshMs ?? 30_000);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Called when the held symbols may have changed. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The broker's positions now; undefined (and BrokerDown once) when it does not answer. */
  async refresh(): Promise<Position[] | undefined> {
    try {
      const list = await this.o.broker.positions();
      const before = this.heldKey();
      this.positions = new Map(list.map((p) => [p.symbol, p]));
      this.positionsAt = this.o.clock.now();
      if (this.ok === false) this.o.bus.publish({ type: 'BrokerUp', at: this.o.clock.now() });
      this.ok = true;
      this.error = '';
      if (this.heldKey() !== before) for (const l of this.listeners) l();
      return list;
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (this.ok !== false) this.o.bus.publish({ type: 'BrokerDown', at: this.o.clock.now(), message: msg });
      this.ok = false;
      this.error = msg;
      this.o.log.warn({ err: msg }, 'broker positions failed');
      return undefined;
    }
  }

  /** A refresh soon, without waiting for it (an order just finished). */
  refreshSoon(): void {
    void this.refresh();
  }

  status(): BrokerStatus {
    return { ok: this.ok, error: this.error, positionsAt: this.positionsAt };
  }

  position(symbol: string): Position | undefined {
    return this.positions.get(symbol);
  }

  /** Shares that may be sold today (T+1: not those bought today). */
  sellable(symbol: string): number {
    return this.positions.get(symbol)?.sellable ?? 0;
  }

  all(): IterableIterator<Position> {
    return this.positions.values();
  }

  private heldKey(): string {
    const held: string[] = [];
    for (const p of this.positions.values()) if (p.quantity > 0) held.push(p.symbol);
    return held.sort().join(',');
  }
}
