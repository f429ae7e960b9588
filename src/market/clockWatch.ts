/**
 * Feeds the quote sources' answer timings into the live market clock and tells the user when
 * the host clock disagrees with the exchange: once, on every channel, and in /status and doctor
 * (a health item, component 'clock'). The market clock already follows the exchange; the alert is
 * so the user fixes the host (protocol signatures, WeCom's ±300 s window, logs run on it).
 */
import type { ExchangeClock, TimeEvidence } from '../domain/clock.ts';
import type { HealthSink } from './feedManager.ts';

export const CLOCK_SKEW_KEY = 'clock:skew';

export interface ClockWatchOptions {
  /** Skew at which the user is told. */
  alertMs?: number;
  /** Skew below which the alert is withdrawn (below alertMs, so a skew at the edge does not flap). */
  clearMs?: number;
}

export class ClockWatch {
  private readonly alertMs: number;
  private readonly clearMs: number;

  constructor(
    private readonly clock: ExchangeClock,
    private readonly health: HealthSink | undefined,
    opts: ClockWatchOptions = {},
  ) {
    this.alertMs = opts.alertMs ?? 5_000;
    this.clearMs = opts.clearMs ?? 3_000;
  }

  observe(e: TimeEvidence): void {
    this.clock.observe(e);
    const skew = this.clock.skewMs();
    if (skew === null || !this.health) return;
    const abs = Math.abs(skew);
    if (abs >= this.alertMs) {
      this.health.set(CLOCK_SKEW_KEY, 'clock', 'warn', skewText(skew));
    } else if (abs < this.clearMs) {
      this.health.clear(CLOCK_SKEW_KEY);
    }
  }
}

/** "host clock 60 s behind the exchange (...)": whole seconds, so jitter rarely rewrites it. */
export function skewText(skewMs: number): string {
  const s = Math.round(Math.abs(skewMs) / 1000);
  const amount = s >= 120 ? `${Math.round(s / 60)} min` : `${s} s`;
  return `host clock ${amount} ${skewMs > 0 ? 'behind' : 'ahead of'} the exchange (measured from quote times and HTTP Date); freshness follows the exchange. Fix the host's time (NTP).`;
}
