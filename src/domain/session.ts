/**
 * Trading phases in exchange time. Seal and break events are only meaningful in 'continuous';
 * auctions show an indicative price with bid1 = ask1 that looks like a seal but is not one.
 */
import type { Phase, Security } from './types.ts';
import { isCandidateDay } from './calendar.ts';
import { exchangeDate, exchangeSecondsOfDay } from './time.ts';

const hms = (h: number, m: number): number => h * 3600 + m * 60;

/** [start, end) in seconds of the exchange day. */
const SCHEDULE: ReadonlyArray<[number, number, Phase]> = [
  [hms(9, 15), hms(9, 20), 'opening-auction'],
  [hms(9, 20), hms(9, 25), 'opening-auction-locked'],
  [hms(9, 25), hms(9, 30), 'pre-continuous'],
  [hms(9, 30), hms(11, 30), 'continuous'],
  [hms(11, 30), hms(13, 0), 'lunch'],
  [hms(13, 0), hms(14, 57), 'continuous'],
  [hms(14, 57), hms(15, 0), 'closing-auction'],
];

/** SH funds traded continuously to 15:00 until the 2026 rules added their closing auction. */
const SH_FUND_CLOSING_AUCTION_FROM = '2026-07-06';

/**
 * The phase at `ts`: 'pre-open' on a trading day before 09:15, 'closed' after 15:00 and all day
 * on days known closed. A provisional weekday (a year without calendar data, not yet confirmed
 * either way) has its sessions: monitoring and alerts run on it, and what may sell is decided
 * elsewhere (a seal needs quotes dated today, a sell a known or confirmed-open day). Pass `sec`
 * to get the SH-fund exception (continuous until 15:00 before 2026-07-06).
 */
export function phaseAt(ts: number, sec?: Pick<Security, 'exchange' | 'board'>): Phase {
  const date = exchangeDate(ts);
  if (!isCandidateDay(date)) return 'closed';
  const s = exchangeSecondsOfDay(ts);
  for (const [start, end, phase] of SCHEDULE) {
    if (s >= start && s < end) {
      if (
        phase === 'closing-auction' &&
        sec?.exchange === 'SH' &&
        sec.board === 'fund' &&
        date < SH_FUND_CLOSING_AUCTION_FROM
      ) {
        return 'continuous';
      }
      return phase;
    }
  }
  return s < SCHEDULE[0]![0] ? 'pre-open' : 'closed';
}

export function isContinuous(ts: number, sec?: Pick<Security, 'exchange' | 'board'>): boolean {
  return phaseAt(ts, sec) === 'continuous';
}
