/**
 * SSE/SZSE/BSE trading days, from three sources in order:
 *   1. the user's own entries (DATA_DIR/calendar.json, `/calendar close|open`),
 *   2. the bundled data: chinese-days' holidays plus our exchange-only closures,
 *   3. for a year with no bundled data, a PROVISIONAL calendar: every weekday is a candidate,
 *      which the market itself then confirms open (quotes dated today with advancing exchange
 *      times) or closed (a session passing without a quote dated today).
 *
 * Failing closed for a year without data was right for *selling on a guessed day* and wrong for
 * everything else: a guard that throws on 2027-01-04 guards nothing. So nothing here throws for
 * a date outside the data; callers ask what they need: `isTradingDay` (known or confirmed open:
 * selling, the daily jobs), `isCandidateDay` (not known closed: sessions, monitoring, alerts).
 *
 * The holiday data is read by "YYYY-MM-DD" key from chinese-days' JSON. Its function API is
 * avoided on purpose: it parses date strings through local-time Date objects, so under a negative
 * UTC offset (America/New_York) isWorkday('2027-02-08') answers for 2027-02-07. Its make-up
 * working weekends (调休上班) are ignored: the exchanges stay shut on them.
 */
import { holidayData, type HolidayData } from './holidayData.ts';
import { addDays, parseDate, weekdayOf } from './time.ts';
import { SealGuardError } from './errors.ts';

/** Kept for callers that still catch it; the calendar itself no longer throws it. */
export class CalendarError extends SealGuardError {
  override name = 'CalendarError';
}

/**
 * Weekdays the exchanges closed although they were statutory workdays. Check each December's
 * "沪深北交易所…休市安排" notice against chinese-days and add any difference here.
 * 2024-02-09: 除夕, a statutory workday, exchanges closed (SSE notice 2023-12-26).
 * 2025 and 2026 closures were checked against the notices and match chinese-days exactly.
 */
export const EXCHANGE_CLOSURES: ReadonlySet<string> = new Set(['2024-02-09']);

/** A day the user declared in calendar.json. */
export interface UserDay {
  status: 'open' | 'closed';
  note?: string;
}

/** What the market showed on a provisional day. */
export interface ObservedDay {
  status: 'open' | 'closed';
  /** One line saying what was seen ("600519.SH 09:15:03 → 09:15:06 dated today"). */
  evidence: string;
  /** Market-clock ms when it was decided. */
  at: number;
}

export type DayStatus = 'open' | 'closed' | 'candidate';
export type DaySource = 'weekend' | 'user' | 'bundled' | 'provisional' | 'observed';

export interface DayInfo {
  date: string;
  /** candidate: a provisional weekday the market has not shown either way yet. */
  status: DayStatus;
  source: DaySource;
  note?: string;
  /** The date falls in a year without bundled data (its weekdays are provisional). */
  provisional: boolean;
}

/** The calendar the process runs on: bundled data plus the user's entries and observations. */
export class TradingCalendar {
  readonly firstYear: number;
  readonly lastYear: number;
  private readonly holidays: ReadonlySet<string>;
  private user = new Map<string, UserDay>();
  private readonly observed = new Map<string, ObservedDay>();

  constructor(
    data: HolidayData = holidayData(),
    private readonly exchangeClosures: ReadonlySet<string> = EXCHANGE_CLOSURES,
  ) {
    this.holidays = data.holidays;
    this.firstYear = data.firstYear;
    this.lastYear = data.lastYear;
  }

  /** Replaces the user's entries (calendar.json). */
  setUserDays(days: Iterable<[string, UserDay]>): void {
    this.user = new Map(days);
  }

  /** Records what the market showed on a day (only provisional days are decided by it). */
  setObserved(date: string, o: ObservedDay): void {
    parseDate(date);
    this.observed.set(date, o);
  }

  observation(date: string): ObservedDay | undefined {
    return this.observed.get(date);
  }

  userDay(date: string): UserDay | undefined {
    return this.user.get(date);
  }

  /** Does the bundled data cover this year? */
  hasData(year: number): boolean {
    return year >= this.firstYear && year <= this.lastYear;
  }

  day(date: string): DayInfo {
    const { y } = parseDate(date);
    const provisional = !this.hasData(y);
    const wd = weekdayOf(date);
    if (wd === 0 || wd === 6) return { date, status: 'closed', source: 'weekend', provisional };
    const u = this.user.get(date);
    if (u)
      return { date, status: u.status, source: 'user', provisional, ...(u.note ? { note: u.note } : {}) };
    if (!provisional) {
      const closed = this.holidays.has(date) || this.exchangeClosures.has(date);
      return { date, status: closed ? 'closed' : 'open', source: 'bundled', provisional };
    }
    const o = this.observed.get(date);
    if (o) return { date, status: o.status, source: 'observed', provisional, note: o.evidence };
    return { date, status: 'candidate', source: 'provisional', provisional };
  }

  /** Known (bundled or yours) or confirmed open: selling and the daily jobs may run. */
  isTradingDay(date: string): boolean {
    return this.day(date).status === 'open';
  }

  /** Not known closed: sessions, monitoring and alerts run (a provisional weekday included). */
  isCandidateDay(date: string): boolean {
    return this.day(date).status !== 'closed';
  }

  private step(date: string, dir: 1 | -1): string {
    // The longest closure (Spring Festival + weekends) is ~10 days; a provisional year has a
    // candidate every weekday, so the loop always ends well inside 60 days.
    let d = date;
    for (let i = 0; i < 60; i++) {
      d = addDays(d, dir);
      if (this.isCandidateDay(d)) return d;
    }
    // Only a user who closed two months of weekdays gets here; answer the next weekday.
    d = date;
    do d = addDays(d, dir);
    while (weekdayOf(d) === 0 || weekdayOf(d) === 6);
    return d;
  }

  /** The first candidate-or-open day strictly after `date` (see `day()` for how sure it is). */
  nextTradingDay(date: string): string {
    parseDate(date);
    return this.step(date, 1);
  }

  /** The last candidate-or-open day strictly before `date`. */
  prevTradingDay(date: string): string {
    parseDate(date);
    return this.step(date, -1);
  }

  /**
   * Trading days in the inclusive range [from, to]; 0 when to < from; provisional weekdays count
   * unless known closed. With from = listing date and to = today this is the listed-days count
   * used for the no-limit IPO days (day 1 = listing day).
   */
  tradingDaysBetween(from: string, to: string): number {
    parseDate(from);
    parseDate(to);
    if (to < from) return 0;
    let n = 0;
    for (let d = from; d <= to; d = addDays(d, 1)) if (this.isCandidateDay(d)) n++;
    return n;
  }

  /**
   * The warning a trader must see (briefing, /status, doctor) when the calendar is guessing
   * now or will be from 1 January: undefined when the data covers today and, in December, next
   * year too.
   */
  warning(today: string): string | undefined {
    const { y, m } = parseDate(today);
    const how =
      `add each weekday closure from the exchanges' 休市安排 notice with /calendar close YYYY-MM-DD [note] ` +
      `(or \`npx sealguard calendar\` to review), or install a newer chinese-days (npm update chinese-days)`;
    if (!this.hasData(y))
      return (
        `Trading days of ${y} are provisional: the exchanges' ${y} closures are not in the bundled calendar, ` +
        `so a weekday counts as open only once the market shows it (no automatic sell before that); ${how}.`
      );
    if (m === 12 && !this.hasData(y + 1))
      return (
        `The exchanges' ${y + 1} closures are not known yet: from ${y + 1}-01-01 trading days are provisional ` +
        `(confirmed by the market each morning); ${how}.`
      );
    return undefined;
  }
}

/** Human words for a day's status and source, as /calendar and `sealguard calendar` show them. */
export function describeDay(d: DayInfo): string {
  switch (d.source) {
    case 'weekend':
      return 'closed · weekend';
    case 'user':
      return `${d.status} · yours${d.note ? ` (${d.note})` : ''}`;
    case 'bundled':
      return `${d.status} · bundled`;
    case 'observed':
      return `confirmed ${d.status} · market${d.note ? ` (${d.note})` : ''}`;
    case 'provisional':
      return 'candidate · provisional (not confirmed yet)';
  }
}

/**
 * The process's calendar. One per process, like its market clock: the app loads the user's
 * entries and the observations into it at start and the observer adds to it while running.
 */
export const marketCalendar = new TradingCalendar();

export const FIRST_CALENDAR_YEAR = marketCalendar.firstYear;
export const LAST_CALENDAR_YEAR = marketCalendar.lastYear;

/** Known or confirmed open (selling, daily jobs). Never throws for a date outside the data. */
export function isTradingDay(date: string): boolean {
  return marketCalendar.isTradingDay(date);
}

/** Not known closed (sessions, monitoring, alerts). */
export function isCandidateDay(date: string): boolean {
  return marketCalendar.isCandidateDay(date);
}

export function dayInfo(date: string): DayInfo {
  return marketCalendar.day(date);
}

export function nextTradingDay(date: string): string {
  return marketCalendar.nextTradingDay(date);
}

export function prevTradingDay(date: string): string {
  return marketCalendar.prevTradingDay(date);
}

export function tradingDaysBetween(from: string, to: string): number {
  return marketCalendar.tradingDaysBetween(from, to);
}
