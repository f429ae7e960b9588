/**
 * Is the market open today? Decided from the quotes themselves, for provisional days (a year the
 * calendar data does not cover):
 * - confirmed OPEN: one stock's quotes dated today whose exchange time advances inside the
 *   session (09:15 opening auction to the 15:00 close). A source repeating yesterday's last
 *   snapshot on a holiday stamps it with yesterday's date and time; only a trading exchange
 *   publishes new, later times dated today. After the close nothing advances any more, so there
 *   a quote stamped today inside the session is the evidence (a process started at 15:04 on a
 *   provisional day still knows the day traded).
 * - confirmed CLOSED: the opening auction and the first minutes of continuous trading have passed
 *   (from 09:35) and quotes keep arriving, none dated today, over at least two deliveries 10 s
 *   apart. No quote at all (a dead feed) decides nothing: silence is not evidence.
 * Open evidence later the same day overrides a closed decision; open is final for the day.
 * Pure: the caller feeds snapshots with the market-clock time they arrived at.
 */
import { exchangeDate, exchangeTs, formatExchangeTime } from './time.ts';
import type { Snapshot } from './types.ts';

export interface DayDecision {
  date: string;
  status: 'open' | 'closed';
  evidence: string;
}

const hms = (ts: number): string => formatExchangeTime(ts).slice(11, 19);

/** From this market time on, a weekday without a quote dated today counts as closed. */
export const CLOSED_AFTER = '09:35:00';
const CLOSED_MIN_SPAN_MS = 10_000;

export class MarketDayWatch {
  private date = '';
  private sessionFrom = 0;
  private sessionTo = 0;
  private dayFrom = 0;
  private dayTo = 0;
  private closedFrom = 0;
  private closeAt = 0;
  private readonly first = new Map<string, number>();
  private sawToday = false;
  private staleSince: number | undefined;
  private staleDeliveries = 0;
  private decided: 'open' | 'closed' | undefined;

  /** Feed every delivered batch; returns a decision when this batch makes (or reverses) one. */
  onSnapshots(snaps: readonly Snapshot[], now: number): DayDecision | undefined {
    const today = exchangeDate(now);
    if (today !== this.date) this.reset(today);
    if (this.decided === 'open' || snaps.length === 0) return undefined;
    let newest = 0;
    for (const s of snaps) {
      if (s.ts > newest) newest = s.ts;
      if (s.ts < this.dayFrom || s.ts >= this.dayTo) continue;
      this.sawToday = true;
      if (s.status !== 'normal' || s.ts < this.sessionFrom || s.ts >= this.sessionTo) continue;
      const before = this.first.get(s.symbol);
      if (now >= this.closeAt) {
        this.decided = 'open';
        return {
          date: today,
          status: 'open',
          evidence: `${s.symbol} last quoted ${hms(s.ts)} dated ${today}, seen after the close (${s.source})`,
        };
      }
      if (before === undefined) this.first.set(s.symbol, s.ts);
      else if (s.ts > before) {
        this.decided = 'open';
        return {
          date: today,
          status: 'open',
          evidence: `${s.symbol} quoted ${hms(before)} → ${hms(s.ts)} dated ${today} (${s.source})`,
        };
      }
    }
    if (this.sawToday || this.decided === 'closed' || now < this.closedFrom) return undefined;
    this.staleSince ??= now;
    this.staleDeliveries++;
    if (this.staleDeliveries < 2 || now - this.staleSince < CLOSED_MIN_SPAN_MS) return undefined;
    this.decided = 'closed';
    const src = snaps[0]?.source ?? '';
    return {
      date: today,
      status: 'closed',
      evidence: `no quote dated ${today} by ${hms(now)}; newest quote dated ${exchangeDate(newest)} ${hms(newest)} (${src})`,
    };
  }

  private reset(today: string): void {
    this.date = today;
    this.dayFrom = exchangeTs(today, '00:00:00');
    this.dayTo = this.dayFrom + 86_400_000;
    this.sessionFrom = exchangeTs(today, '09:15:00');
    this.sessionTo = exchangeTs(today, '15:01:00');
    this.closedFrom = exchangeTs(today, CLOSED_AFTER);
    this.closeAt = exchangeTs(today, '15:00:00');
    this.first.clear();
    this.sawToday = false;
    this.staleSince = undefined;
    this.staleDeliveries = 0;
    this.decided = undefined;
  }

  /** A decision already stored for today (after a restart): nothing more to decide, or only a reversal. */
  restore(date: string, status: 'open' | 'closed'): void {
    if (date !== this.date) this.reset(date);
    this.decided = status;
  }
}
