/**
 * The market as the engine last saw it: per symbol the security, the last snapshot and the limit
 * prices with the quote inputs they were resolved from. The one snapshot cache: the guard decides
 * on it, /list shows it, the paper broker fills against it (QuoteSink.quoteFrom).
 *
 * Limits are resolved once per symbol and day, again only when a quote's inputs to them change,
 * and not even compared when the snapshot is the very object they were resolved for (a repeated
 * quote, see market/recordMemo.ts).
 */
import { resolveLimits } from '../domain/limits.ts';
import { formatTicks } from '../domain/prices.ts';
import { parseSymbol } from '../domain/symbols.ts';
import { exchangeDate, exchangeDayNumber } from '../domain/time.ts';
import type { Security, Snapshot, Ticks } from '../domain/types.ts';
import type { GuardEvent } from './events.ts';

export interface Limits {
  up: Ticks;
  down: Ticks;
}

/** What is kept per symbol, found with one lookup per snapshot. */
export interface Slot {
  readonly sec: Security;
  last: Snapshot | undefined;
  /** The snapshot object `limits` were last resolved for: the same object needs no check. */
  limitsFrom: Snapshot | undefined;
  dayNo: number;
  prevClose: Ticks;
  limitUp: Snapshot['limitUp'];
  limitDown: Snapshot['limitDown'];
  name: string;
  limits: Limits | null;
}

export interface MarketBookOptions {
  /** Where a published limit that differs from the computed one is reported (once a day). */
  publish: (e: GuardEvent) => void;
  now: () => number;
}

export class MarketBook {
  private readonly slots = new Map<string, Slot>();
  private readonly mismatchReported = new Set<string>();

  constructor(private readonly o: MarketBookOptions) {}

  /**
   * Records the snapshot as the symbol's last; undefined for a code that is not a security.
   * `known`: the symbol's slot when the caller holds it already (no lookup).
   */
  see(s: Snapshot, known?: Slot): Slot | undefined {
    let slot = known ?? this.slots.get(s.symbol);
    if (slot === undefined) {
      try {
        slot = this.slot(s.symbol);
      } catch {
        return undefined;
      }
    }
    slot.last = s;
    return slot;
  }

  /** The symbol's slot, made on first sight; throws on a malformed code (as parseSymbol). */
  slot(symbol: string): Slot {
    let slot = this.slots.get(symbol);
    if (slot === undefined) {
      slot = {
        sec: parseSymbol(symbol),
        last: undefined,
        limitsFrom: undefined,
        dayNo: NaN,
        prevClose: 0,
        limitUp: undefined,
        limitDown: undefined,
        name: '',
        limits: null,
      };
      this.slots.set(symbol, slot);
    }
    return slot;
  }

  find(symbol: string): Slot | undefined {
    return this.slots.get(symbol);
  }

  lastSnapshot(symbol: string): Snapshot | undefined {
    return this.slots.get(symbol)?.last;
  }

  /** The limits for snapshot `s` of this slot's symbol (null: none apply, e.g. an IPO's first days). */
  limitsFor(slot: Slot, s: Snapshot): Limits | null {
    if (slot.limitsFrom === s) return slot.limits;
    const dayNo = exchangeDayNumber(s.ts);
    if (
      slot.dayNo === dayNo &&
      slot.prevClose === s.prevClose &&
      slot.limitUp === s.limitUp &&
      slot.limitDown === s.limitDown &&
      slot.name === s.name
    ) {
      slot.limitsFrom = s;
      return slot.limits;
    }
    const sec = slot.sec;
    const day = exchangeDate(s.ts);
    const r = resolveLimits(sec, s, day);
    if (r?.mismatch && !this.mismatchReported.has(`${day}|${sec.id}`)) {
      this.mismatchReported.add(`${day}|${sec.id}`);
      this.o.publish({
        type: 'LimitMismatch',
        at: this.o.now(),
        symbol: sec.id,
        name: s.name,
        published: `${formatTicks(r.up, sec.decimals)}/${formatTicks(r.down, sec.decimals)}`,
        computed: `${r.computedUp === null ? '-' : formatTicks(r.computedUp, sec.decimals)}/${r.computedDown === null ? '-' : formatTicks(r.computedDown, sec.decimals)}`,
      });
    }
    slot.limits = r ? { up: r.up, down: r.down } : null;
    slot.limitsFrom = s;
    slot.dayNo = dayNo;
    slot.prevClose = s.prevClose;
    slot.limitUp = s.limitUp;
    slot.limitDown = s.limitDown;
    slot.name = s.name;
    return slot.limits;
  }
}
