/**
 * SSE/SZSE/BSE trading days: Monday–Friday, not a statutory holiday, not an exchange-only closure.
 *
 * Holiday data comes from the `chinese-days` package's bundled JSON, looked up by "YYYY-MM-DD"
 * key. Its function API is avoided on purpose: it parses date strings through local-time Date
 * objects, so under a negative UTC offset (America/New_York) isWorkday('2027-02-08') answers for
 * 2027-02-07. Its make-up working weekends (调休上班) are ignored: the exchanges stay shut on them.
 */
import holidayData from 'chinese-days/dist/chinese-days.json' with { type: 'json' };
import { addDays, parseDate, weekdayOf } from './time.ts';

/** A date outside the years we have holiday data for. Callers must not guess: fail closed. */
export class CalendarError extends Error {
  override name = 'CalendarError';
}

const HOLIDAYS: ReadonlySet<string> = new Set(Object.keys(holidayData.holidays));

/**
 * Weekdays the exchanges closed although they were statutory workdays. Check each December's
 * "沪深北交易所…休市安排" notice against chinese-days and add any difference here.
 * 2024-02-09: 除夕, a statutory workday, exchanges closed (SSE notice 2023-12-26).
 * 2025 and 2026 closures were checked against the notices and match chinese-days exactly.
 */
const EXCHANGE_CLOSURES: ReadonlySet<string> = new Set(['2024-02-09']);

const YEARS = [...HOLIDAYS].map((d) => Number(d.slice(0, 4)));
/** The package's data range; for other years it would silently report every weekday as a workday. */
export const FIRST_CALENDAR_YEAR = Math.min(...YEARS);
export const LAST_CALENDAR_YEAR = Math.max(...YEARS);

function checkedYear(date: string): void {
  const { y } = parseDate(date);
  if (y < FIRST_CALENDAR_YEAR || y > LAST_CALENDAR_YEAR) {
    throw new CalendarError(
      `no exchange calendar for ${date}: holiday data covers ${FIRST_CALENDAR_YEAR}–${LAST_CALENDAR_YEAR}; ` +
        'update chinese-days (and the exchange closure list) for the new year',
    );
  }
}

export function isTradingDay(date: string): boolean {
  checkedYear(date);
  const wd = weekdayOf(date);
  return wd !== 0 && wd !== 6 && !HOLIDAYS.has(date) && !EXCHANGE_CLOSURES.has(date);
}

function step(date: string, dir: 1 | -1): string {
  // The longest closure (Spring Festival + weekends) is ~10 days; 30 is generous.
  let d = date;
  for (let i = 0; i < 30; i++) {
    d = addDays(d, dir);
    if (isTradingDay(d)) return d;
  }
  throw new CalendarError(`no trading day within 30 days ${dir > 0 ? 'after' : 'before'} ${date}`);
}

/** The first trading day strictly after `date`. */
export function nextTradingDay(date: string): string {
  parseDate(date);
  return step(date, 1);
}

/** The last trading day strictly before `date`. */
export function prevTradingDay(date: string): string {
  parseDate(date);
  return step(date, -1);
}

/**
 * Trading days in the inclusive range [from, to]; 0 when to < from. With from = listing date and
 * to = today this is the listed-days count used for the no-limit IPO days (day 1 = listing day).
 */
export function tradingDaysBetween(from: string, to: string): number {
  parseDate(from);
  parseDate(to);
  if (to < from) return 0;
  checkedYear(from);
  checkedYear(to);
  let n = 0;
  for (let d = from; d <= to; d = addDays(d, 1)) if (isTradingDay(d)) n++;
  return n;
}
