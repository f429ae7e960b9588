/**
 * The running guard's calendar: the user's days and the market's observations, loaded from
 * DATA_DIR into the process calendar at start, kept on disk as they change, and the warnings
 * that go with a calendar that has to guess.
 *
 * Fed from the snapshot path (before the guard sees the same batch, so a day confirmed open by
 * this batch is already open for a trigger in it). Work per batch is a few comparisons per
 * snapshot, and only on a provisional weekday until it is decided open; on a day the bundled
 * data covers it returns at once.
 */
import { describeDay, marketCalendar, type DayInfo, type TradingCalendar } from '../domain/calendar.ts';
import type { Clock } from '../domain/clock.ts';
import { MarketDayWatch, type DayDecision } from '../domain/marketDayWatch.ts';
import { addDays, exchangeDate, parseDate, weekdayOf } from '../domain/time.ts';
import type { Snapshot } from '../domain/types.ts';
import { InputError } from '../domain/types.ts';
import { openCalendarStores, type CalendarStores } from '../store/calendarStore.ts';
import type { EventBus } from './bus.ts';
import type { HealthBoard } from './health.ts';

export const CALENDAR_HEALTH_KEY = 'calendar:provisional';

export interface MarketDaysOptions {
  dataDir: string;
  clock: Clock;
  calendar?: TradingCalendar;
  health?: HealthBoard;
  bus?: EventBus;
  log?: { warn(details: object, message: string): void; info(details: object, message: string): void };
  /** Wall clock for the edit stamps in calendar.json. */
  wallNow?: () => number;
}

export interface DayRow extends DayInfo {
  text: string;
}

export class MarketDays {
  readonly calendar: TradingCalendar;
  private readonly watch = new MarketDayWatch();
  private watchDate = '';
  private watching = false;
  private warnedDate = '';

  private constructor(
    private readonly o: MarketDaysOptions,
    private readonly stores: CalendarStores,
  ) {
    this.calendar = o.calendar ?? marketCalendar;
    this.calendar.setUserDays(Object.entries(stores.user.data.days));
    for (const [date, d] of Object.entries(stores.observed.data.days)) this.calendar.setObserved(date, d);
  }

  static async open(o: MarketDaysOptions): Promise<MarketDays> {
    const m = new MarketDays(o, await openCalendarStores(o.dataDir));
    m.refreshWarning();
    // The warning follows the date also when no quote arrives (a weekend, a dead feed).
    setInterval(() => m.refreshWarning(), 60_000).unref();
    return m;
  }

  private today(): string {
    return exchangeDate(this.o.clock.now());
  }

  /** Call with every delivered batch of snapshots, before the guard handles it. */
  onSnapshots(snaps: readonly Snapshot[]): void {
    try {
      this.observe(snaps);
    } catch (err) {
      // The calendar must never disturb the trading path; a failure here only delays a decision.
      this.o.log?.warn({ err }, 'calendar observation failed');
    }
  }

  private observe(snaps: readonly Snapshot[]): void {
    const now = this.o.clock.now();
    const today = exchangeDate(now);
    if (today !== this.watchDate) {
      this.watchDate = today;
      this.refreshWarning();
      const d = this.calendar.day(today);
      // Only a provisional weekday is decided by the market; a closed one can still be reversed.
      this.watching = d.source === 'provisional' || (d.source === 'observed' && d.status === 'closed');
      if (d.source === 'observed') this.watch.restore(today, d.status === 'open' ? 'open' : 'closed');
    }
    if (!this.watching) return;
    const decision = this.watch.onSnapshots(snaps, now);
    if (decision) this.record(decision, now);
  }

  private record(d: DayDecision, now: number): void {
    const obs = { status: d.status, evidence: d.evidence.slice(0, 300), at: now };
    this.calendar.setObserved(d.date, obs);
    if (d.status === 'open') this.watching = false;
    this.o.log?.info(
      { date: d.date, status: d.status, evidence: d.evidence },
      'provisional day decided by the market',
    );
    this.stores.observed
      .update((doc) => {
        doc.days[d.date] = obs;
      })
      .catch((err: unknown) =>
        this.o.log?.warn({ err }, 'calendar observation could not be saved (kept in memory)'),
      );
    this.o.bus?.publish({
      type: 'Info',
      at: now,
      text:
        d.status === 'open'
          ? `📅 ${d.date}: the market is open (provisional calendar, confirmed by ${d.evidence}). Selling is armed.`
          : `📅 ${d.date}: the market is closed today (provisional calendar: ${d.evidence}). No monitoring, no summary.`,
    });
  }

  /** Known or confirmed open today; otherwise why a sell must wait. */
  sellBlockedReason(): string | undefined {
    const d = this.calendar.day(this.today());
    if (d.status === 'open') return undefined;
    if (d.status === 'candidate')
      return `today (${d.date}) is a provisional trading day the market has not confirmed open yet: no order on a guessed day`;
    return `today (${d.date}) is not a trading day`;
  }

  /** Sets or clears the board's calendar warning for today (from 1 December, and on provisional days). */
  refreshWarning(): void {
    const today = this.today();
    if (today === this.warnedDate) return;
    this.warnedDate = today;
    const text = this.calendar.warning(today);
    if (!this.o.health) return;
    if (text) this.o.health.set(CALENDAR_HEALTH_KEY, 'calendar', 'warn', text);
    else this.o.health.clear(CALENDAR_HEALTH_KEY);
  }

  warning(): string | undefined {
    return this.calendar.warning(this.today());
  }

  /** The next `n` weekdays from today (today included), with status and source. */
  upcoming(n = 10): DayRow[] {
    return upcomingWeekdays(this.calendar, this.today(), n);
  }

  /**
   * `/calendar close|open <date> [note]`. Refuses (InputError, nothing changed) a malformed or
   * impossible date, a weekend, a date before today.
   */
  async setDay(date: string, status: 'open' | 'closed', note?: string): Promise<DayRow> {
    checkEditableDate(date, this.today());
    const n = note?.trim();
    if (n && n.length > 200) throw new InputError('the note is too long (200 characters at most)');
    await this.stores.user.update((doc) => {
      doc.days[date] = { status, ...(n ? { note: n } : {}), setAt: (this.o.wallNow ?? Date.now)() };
    });
    this.calendar.setUserDays(Object.entries(this.stores.user.data.days));
    if (date === this.today()) this.watchDate = ''; // re-evaluate today's watching on the next batch
    const d = this.calendar.day(date);
    return { ...d, text: describeDay(d) };
  }
}

/** Throws InputError saying why the date cannot be edited. */
export function checkEditableDate(date: string, today: string): void {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date))
    throw new InputError(`"${date}" is not a date: write it as YYYY-MM-DD, e.g. 2027-02-08`);
  try {
    parseDate(date);
  } catch {
    throw new InputError(`${date} is not a real calendar date`);
  }
  const wd = weekdayOf(date);
  if (wd === 0 || wd === 6)
    throw new InputError(
      `${date} is a ${wd === 0 ? 'Sunday' : 'Saturday'}: the exchanges never trade on weekends`,
    );
  if (date < today)
    throw new InputError(`${date} is in the past (today is ${today}): only today or later can be set`);
}

export function upcomingWeekdays(cal: TradingCalendar, from: string, n: number): DayRow[] {
  const out: DayRow[] = [];
  for (let d = from; out.length < n; d = addDays(d, 1)) {
    const wd = weekdayOf(d);
    if (wd === 0 || wd === 6) continue;
    const info = cal.day(d);
    out.push({ ...info, text: describeDay(info) });
  }
  return out;
}

const WEEKDAY = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** The lines /calendar and `sealguard calendar` print. */
export function calendarLines(rows: DayRow[], warning: string | undefined): string[] {
  const lines = rows.map((r) => `${r.date} ${WEEKDAY[weekdayOf(r.date)]} · ${r.text}`);
  if (warning) lines.push(`⚠️ ${warning}`);
  lines.push('Edit: /calendar close YYYY-MM-DD [note] · /calendar open YYYY-MM-DD [note]');
  return lines;
}
