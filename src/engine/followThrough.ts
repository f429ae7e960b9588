/**
 * The follow-through driver: runs domain/followThrough.ts for every seal segment's sell of today,
 * once per executor tick, with the current attempt as the executor last read it from the broker.
 *
 * Safety order, per step: the chain (and, for a replacement, its intent with the derived client
 * order id) is written to disk in ONE write before the broker is called; a failed write sends
 * nothing and the step is decided again next tick from the chain on disk. A replacement goes out
 * through the executor's own send path, so a 503, a 504 or an unreadable answer is handled as for
 * any sell: same id, reconciled by querying, never a second order under another id.
 *
 * A cancel's answer is never taken as the outcome: whatever the broker says to the cancel request
 * (accepted, 504, NOT_CANCELLABLE because it just filled), the chain waits for the order itself to
 * read final, which the executor's tick looks up by client order id.
 */
import type { Logger } from 'pino';
import type { Broker, Order } from '../broker/broker.ts';
import { BrokerError } from '../broker/broker.ts';
import type { Clock } from '../domain/clock.ts';
import {
  CANCEL_RETRY_MS,
  CANCEL_TRIES,
  decide,
  startChain,
  TERMINAL,
  type AttemptFacts,
  type FollowChain,
  type FollowConfig,
  type FollowStep,
  type MarketFacts,
  chainResult,
} from '../domain/followThrough.ts';
import { sellReference } from '../domain/priceCage.ts';
import { formatTicks, numberToTicks, toTicks } from '../domain/prices.ts';
import { phaseAt } from '../domain/session.ts';
import { exchangeDate, formatExchangeTime } from '../domain/time.ts';
import type { Security, Snapshot, Ticks } from '../domain/types.ts';
import type { EventBus } from './bus.ts';
import type { HealthBoard } from './health.ts';
import type { GuardStores, Intent } from './state.ts';

/** What the driver reads about a stock (the executor's MarketView satisfies it). */
export interface FollowView {
  sec: Security;
  name: string;
  snapshot?: Snapshot;
  limits: { up: Ticks; down: Ticks } | null;
  sealedNow: boolean;
  floor?: Ticks;
  /** False when the user turned chasing off for this stock (or it is in alert mode). */
  chase?: boolean;
}

/** What the driver asks of the executor (which implements it). */
export interface IntentDesk {
  /** The newest copy of an intent (the executor may hold one not yet written). */
  intent(id: string): Intent | undefined;
  intents(): Intent[];
  /** Sends an intent already on disk through the executor's send path. */
  sendRecorded(id: string): Promise<void>;
}

export interface FollowDriverOptions {
  broker: Broker;
  stores: GuardStores;
  bus: EventBus;
  clock: Clock;
  log: Logger;
  health: HealthBoard;
  market: { marketView(symbol: string): FollowView | undefined };
  /** The executor: its intents and its one send path. */
  desk: IntentDesk;
  replaceAfterMs: number;
  replaceMax: number;
  redact: (text: string) => string;
}

export const REPLACE_AFTER_MS = 2000;
export const REPLACE_MAX = 5;

export class FollowThrough {
  constructor(private readonly o: FollowDriverOptions) {}

  private now(): number {
    return this.o.clock.now();
  }

  chains(): FollowChain[] {
    return Object.values(this.o.stores.orders.data.follow ?? {});
  }

  chainsOf(day: string): FollowChain[] {
    return this.chains().filter((c) => c.day === day);
  }

  /**
   * Today's chain of this stock from another segment whose order may still sell: the same shares
   * must not get a second live sell from a new segment's trigger.
   */
  liveChain(symbol: string, segment: number): FollowChain | undefined {
    const today = exchangeDate(this.now());
    return this.chainsOf(today).find((c) => {
      if (c.symbol !== symbol || c.segment === segment) return false;
      if (!TERMINAL.has(c.phase)) return true;
      // Exhausted or stopped with its last order still open at the broker.
      const i = this.o.desk.intent(c.currentId);
      return !!i && i.state !== 'final' && i.state !== 'failed';
    });
  }

  /** The chain an intent belongs to (its own, or the one that placed it as a replacement). */
  chainOf(i: Intent): FollowChain | undefined {
    return this.o.stores.orders.data.follow?.[i.rootId ?? i.clientOrderId];
  }

  async tick(): Promise<void> {
    const today = exchangeDate(this.now());
    const known = this.o.stores.orders.data.follow ?? {};
    const fresh: FollowChain[] = [];
    for (const i of this.o.desk.intents()) {
      if (i.day !== today || i.rootId || known[i.clientOrderId]) continue;
      if (i.state !== 'placed' && i.state !== 'final') continue;
      const v = this.o.market.marketView(i.symbol);
      if (!v) continue;
      fresh.push(
        startChain({
          rootId: i.clientOrderId,
          symbol: i.symbol,
          day: i.day,
          segment: i.segment,
          quantity: i.quantity,
          price: toTicks(i.limitPrice, v.sec.decimals),
          placedAt: i.createdAt,
        }),
      );
    }
    if (fresh.length > 0) {
      const ok = await this.write((d) => {
        d.follow ??= {};
        for (const c of fresh) d.follow[c.rootId] ??= c;
      });
      if (!ok) return;
    }
    for (const c of this.chainsOf(today)) {
      if (TERMINAL.has(c.phase)) continue;
      try {
        await this.step(c);
      } catch (err) {
        this.o.log.warn({ rootId: c.rootId, err: this.o.redact(String(err)) }, 'follow-through step failed');
      }
    }
  }

  private async step(chain: FollowChain): Promise<void> {
    const v = this.o.market.marketView(chain.symbol);
    const attempt = facts(this.o.desk.intent(chain.currentId), v?.sec.decimals ?? 2);
    const market = v ? marketFacts(v, this.now()) : null;
    const config: FollowConfig = {
      chase: v?.chase !== false,
      replaceAfterMs: this.o.replaceAfterMs,
      replaceMax: this.o.replaceMax,
      floor: v?.floor ?? null,
    };
    const d = decide(chain, { now: this.now(), attempt, market, config });
    this.watchCancel(d.chain, v);
    if (!d.changed) return;
    const cmd = d.command;
    const next = d.chain;
    let replacement: Intent | undefined;
    if (cmd.kind === 'place') {
      const root = this.o.desk.intent(chain.rootId);
      if (!root || !v) return;
      replacement = {
        clientOrderId: cmd.id,
        day: chain.day,
        symbol: chain.symbol,
        name: root.name,
        segment: chain.segment,
        quantity: cmd.quantity,
        limitPrice: formatTicks(cmd.price, v.sec.decimals),
        reason: `replacement ${cmd.attempt} of ${root.clientOrderId}: ${root.reason}`,
        rule: root.rule,
        createdAt: this.now(),
        state: 'intent',
        rootId: chain.rootId,
        attempt: cmd.attempt,
      };
      // The derived id may already be on disk (a restart after the write): that order is the
      // replacement, never a second one.
      const existing = this.o.desk.intent(cmd.id);
      if (existing) replacement = undefined;
    }
    const written = await this.write((doc) => {
      doc.follow ??= {};
      doc.follow[next.rootId] = next;
      if (replacement) doc.intents[replacement.clientOrderId] = replacement;
    });
    if (!written) return; // nothing sent; decided again next tick from the chain on disk
    this.tell(chain, next, v, config);
    if (cmd.kind === 'cancel') await this.cancel(next, cmd.id);
    // An intent already on disk under the derived id is the executor's to follow (it was sent,
    // or is resent under the same id by its own tick).
    else if (cmd.kind === 'place' && replacement) await this.o.desk.sendRecorded(cmd.id);
  }

  /**
   * A cancel asked CANCEL_TRIES times and still not final: the user hears it once (the remainder
   * is not re-sold until the broker shows the order final, so it may sit unsold), and hears when
   * it ends.
   */
  private watchCancel(c: FollowChain, v: FollowView | undefined): void {
    const key = `follow:${c.rootId}`;
    const stuck =
      c.phase === 'cancelling' &&
      (c.cancelTries ?? 0) >= CANCEL_TRIES &&
      this.now() - (c.cancelSentAt ?? 0) >= CANCEL_RETRY_MS;
    if (stuck && !this.o.health.has(key)) {
      const name = v?.name ?? c.symbol;
      this.o.health.set(
        key,
        'broker',
        'warn',
        this.o.redact(
          `${name} ${c.symbol}: the cancel of ${c.currentId} was asked ${c.cancelTries} times and the broker still does not show the order final. ` +
            `Nothing more is sold until it does (two live sells could sell the same shares twice); check 当日委托 at the broker.`,
        ),
      );
    } else if (!stuck && this.o.health.has(key)) this.o.health.clear(key);
  }

  private async cancel(c: FollowChain, id: string): Promise<void> {
    try {
      await this.o.broker.cancel(id);
    } catch (err) {
      // Whatever the answer (504, NOT_CANCELLABLE because it filled meanwhile, a refusal), the
      // order's own state decides; the executor looks it up by id on every tick.
      const text = err instanceof BrokerError ? `${err.code}: ${err.message}` : String(err);
      this.o.log.warn(
        { clientOrderId: id, rootId: c.rootId, err: this.o.redact(text) },
        'cancel not confirmed; the order is looked up',
      );
    }
  }

  private async write(
    mutate: (d: { intents: Record<string, Intent>; follow?: Record<string, FollowChain> }) => void,
  ): Promise<boolean> {
    const key = 'disk:follow';
    try {
      await this.o.stores.orders.update(mutate);
      if (this.o.health.has(key)) this.o.health.clear(key);
      return true;
    } catch (err) {
      this.o.health.set(
        key,
        'disk',
        'error',
        this.o.redact(
          `cannot record a follow-through step: ${err instanceof Error ? err.message : String(err)} — no cancel or replacement is sent until it can be (free space in DATA_DIR)`,
        ),
      );
      return false;
    }
  }

  /** One message per new step, in the chain's own words. */
  private tell(before: FollowChain, after: FollowChain, v: FollowView | undefined, cfg: FollowConfig): void {
    const dec = v?.sec.decimals ?? 2;
    const name = v?.name ?? this.o.desk.intent(after.rootId)?.name ?? after.symbol;
    for (const s of after.steps.slice(before.steps.length)) {
      // A sell that simply filled needs no follow-through message: "Sold" says it all.
      if (s.kind === 'filled' && before.steps.every((x) => x.kind === 'placed')) continue;
      const text = stepText(cfg, after, s, dec, v?.limits?.up ?? null, v?.snapshot?.last ?? null);
      this.o.bus.publish({
        type: 'FollowStep',
        at: this.now(),
        symbol: after.symbol,
        name,
        step: s.kind,
        clientOrderId: s.attempt === after.attempt ? after.currentId : before.currentId,
        text: this.o.redact(text),
      });
    }
  }
}

/** The chain told as the user reads it: "placed at the limit 10:00:05 · broke 10:48:02 · ...". */
export function chainText(
  c: FollowChain,
  decimals: 2 | 3,
  limitUp: Ticks | null,
  close: Ticks | null,
  closeLabel = 'close',
): string {
  const parts = c.steps.map((s) => stepWords(s, decimals, limitUp));
  const r = resultText(c, decimals, limitUp, close, closeLabel);
  return r ? `${parts.join(' · ')} · ${r}` : parts.join(' · ');
}

function stepWords(s: FollowStep, dec: 2 | 3, limitUp: Ticks | null): string {
  const t = formatExchangeTime(s.at).slice(11, 19);
  const p = s.price !== undefined ? formatTicks(s.price, dec) : '';
  switch (s.kind) {
    case 'placed':
      return `placed ${s.qty} ${s.price === limitUp ? 'at the limit ' : ''}@ ${p} ${t}`;
    case 'broke':
      return s.attempt > 0 ? `bid fell to ${p} ${t}` : `broke at ${t}${p ? ` (bid ${p})` : ''}`;
    case 'cancelRequested':
      return `cancel asked ${t}`;
    case 'cancelled':
      return `cancelled ${s.qty} ${t}`;
    case 'replaced':
      return `replaced at ${p} (${s.qty}, attempt ${s.attempt}) ${t}`;
    case 'filled':
      return `filled ${t}`;
    case 'exhausted':
      return `stopped after ${s.attempt} replacement(s): ${s.qty} left ${t}`;
    case 'stopped':
      return `stopped: ${s.note ?? ''}, ${s.qty} left ${t}`;
  }
}

function resultText(
  c: FollowChain,
  dec: 2 | 3,
  limitUp: Ticks | null,
  close: Ticks | null,
  closeLabel: string,
): string {
  const r = chainResult(c);
  if (r.sold <= 0 || !r.priced) return '';
  // Average in ticks x shares; compared against the limit-up and the close on the same scale.
  const avg = formatTicks(Math.round(r.value / r.sold), dec);
  const vs = (label: string, ref: Ticks | null): string =>
    ref === null ? '' : `, ${signed(r.value - ref * r.sold, dec)} vs ${label} ${formatTicks(ref, dec)}`;
  return `sold ${r.sold} avg ${avg}${vs('limit-up', limitUp)}${vs(closeLabel, close)}`;
}

/** Ticks x shares as signed yuan, e.g. "-1,050.00" (two decimals for stocks). */
function signed(tickShares: number, dec: 2 | 3): string {
  const yuan = tickShares / 10 ** dec;
  const s = Math.abs(yuan).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return `${yuan < 0 ? '-' : '+'}${s}`;
}

function stepText(
  cfg: FollowConfig,
  c: FollowChain,
  s: FollowStep,
  dec: 2 | 3,
  limitUp: Ticks | null,
  last: Ticks | null,
): string {
  const p = s.price !== undefined ? formatTicks(s.price, dec) : '';
  const t = formatExchangeTime(s.at).slice(11, 19);
  switch (s.kind) {
    case 'placed':
      return `↪️ following the sell of ${s.qty} @ ${p}`;
    case 'broke':
      return s.attempt > 0
        ? `📉 the bid fell to ${p} at ${t} below the resting ${attemptLabel(s.attempt)}: cancelling the rest to sell it lower`
        : `💥 board broke at ${t} with the sell unfilled${p ? ` (bid ${p})` : ''}: ` +
            (cfg.chase
              ? 'unless it re-seals at once, the rest is cancelled and sold at the bid'
              : 'chase is off, the order rests at the broker');
    case 'cancelRequested':
      return `↩️ cancel asked for ${s.qty} (${attemptLabel(s.attempt)})`;
    case 'cancelled':
      return `↩️ cancelled ${s.qty} at ${t} (confirmed by the broker)`;
    case 'replaced':
      return `🔁 replaced: sell ${s.qty} @ ${p} (replacement ${s.attempt} of at most ${cfg.replaceMax})`;
    case 'filled':
      return `✅ follow-through done: ${chainText(c, dec, limitUp, last, 'last')}`;
    case 'exhausted':
      return `🛑 follow-through stopped after ${s.attempt} replacement(s): ${s.qty} shares still unsold; the last order stays at the broker and nothing more is sent. ${chainText(c, dec, limitUp, last, 'last')}`;
    case 'stopped':
      return `🛑 follow-through stopped (${s.note ?? ''}): ${s.qty} shares unsold; nothing more is sent.`;
  }
}

function attemptLabel(n: number): string {
  return n === 0 ? 'the first sell' : `replacement ${n}`;
}

/** The current attempt as the executor last read it; null while its outcome is not known. */
export function facts(i: Intent | undefined, decimals: 2 | 3): AttemptFacts | null {
  if (!i) return null;
  if (i.state === 'failed')
    return { status: 'rejected', filledQty: 0, avgFillPrice: null, ...(i.error ? { reason: i.error } : {}) };
  if ((i.state !== 'placed' && i.state !== 'final') || !i.order) return null;
  return orderFacts(i.order, decimals);
}

export function orderFacts(o: Order, decimals: 2 | 3): AttemptFacts {
  const avg = priceOrNull(o.avgFillPrice, decimals);
  switch (o.status) {
    case 'filled':
      // "filled" is the whole order, whatever a lagging filled figure says.
      return { status: 'filled', filledQty: Math.max(o.filledQuantity, o.quantity), avgFillPrice: avg };
    case 'cancelled':
    case 'partially_cancelled':
      return { status: 'cancelled', filledQty: o.filledQuantity, avgFillPrice: avg };
    case 'rejected':
      return {
        status: 'rejected',
        filledQty: o.filledQuantity,
        avgFillPrice: avg,
        ...(o.message ? { reason: o.message } : {}),
      };
    case 'pending_cancel':
      return { status: 'pending_cancel', filledQty: o.filledQuantity, avgFillPrice: avg };
    default:
      return { status: 'open', filledQty: o.filledQuantity, avgFillPrice: avg };
  }
}

function priceOrNull(s: string | undefined, decimals: 2 | 3): Ticks | null {
  if (!s) return null;
  // Averages carry more decimals than a tick: rounded to the nearest tick, for the result line only.
  const n = Number(s);
  if (!Number.isFinite(n) || n <= 0) return null;
  return numberToTicks(n, decimals);
}

export function marketFacts(v: FollowView, now: number): MarketFacts | null {
  const s = v.snapshot;
  if (!s || !v.limits) return null;
  let continuous: boolean;
  try {
    continuous = phaseAt(now, v.sec) === 'continuous';
  } catch {
    continuous = false; // a year without calendar data: not assumed open
  }
  return {
    board: v.sec.board,
    continuous,
    sealed: v.sealedNow,
    bid1: s.bids[0]?.[0] ?? null,
    reference: sellReference(s),
    limitUp: v.limits.up,
    limitDown: v.limits.down,
  };
}
