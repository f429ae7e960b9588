/**
 * What a trigger leads to, decided in one place and without I/O: tell (nothing is sold, and why),
 * ask (a confirm), or sell. The executor gathers the facts and carries the decision out.
 */
import type { Mode } from '../domain/modes.ts';

export type Decision =
  /** Nothing is sold; `mode` is what the alert shows (auto turns alert when paused or blocked). */
  { kind: 'tell'; mode: Mode; reason: string } | { kind: 'confirm' } | { kind: 'sell' };

export interface TriggerFacts {
  /** Shares the broker says may be sold today. */
  sellable: number;
  /** Of those, what one order may carry (whole lots; the board's rules). */
  sellQuantity: number;
}

/**
 * The conditions that stop a sell, asked in this order and only as far as needed (the later ones
 * scan today's orders).
 */
export interface SellGates {
  /** Why the broker cannot take orders now (a logged-out session), if so. */
  brokerUnavailable(): string | undefined;
  paused(): boolean;
  /** Why no order may go out today (the calendar), if so. */
  sellBlocked(): string | undefined;
  /** An earlier sell of the stock whose fate is unknown: its description. */
  uncertainSell(): string | undefined;
  /** A sell of the same shares still working at the broker: its description. */
  liveSell(): string | undefined;
}

export function decide(mode: Mode, f: TriggerFacts, g: SellGates): Decision {
  if (mode === 'alert') return { kind: 'tell', mode, reason: 'alert mode: message only' };
  // Before the quantity: a broker that cannot be reached also cannot say what is sellable.
  const down = g.brokerUnavailable();
  if (down) return { kind: 'tell', mode, reason: down };
  if (f.sellQuantity <= 0)
    return {
      kind: 'tell',
      mode,
      reason:
        f.sellable > 0
          ? 'sellable quantity is not a valid lot'
          : 'nothing sellable (not held, or bought today: T+1)',
    };
  if (mode === 'auto' && g.paused())
    return { kind: 'tell', mode: 'alert', reason: 'automatic selling is paused (/resume to re-enable)' };
  const blocked = g.sellBlocked();
  if (blocked) return { kind: 'tell', mode: 'alert', reason: blocked };
  const open = g.uncertainSell() ?? g.liveSell();
  if (open) return { kind: 'tell', mode, reason: open };
  return mode === 'confirm' ? { kind: 'confirm' } : { kind: 'sell' };
}
