/**
 * Daily jobs on the MARKET clock: the 09:00 pre-open briefing and the 15:05 daily summary.
 *
 * node-cron fires on wall time, but a SEALGUARD_CLOCK run or the demo's replayed day (90× or
 * faster) has its own 15:05. So cron is only the ticker (every wall second, Asia/Shanghai) and
 * each tick asks the market clock where it is. A job is due when, on a trading day, the market
 * clock is at or past its time and not yet past its cutoff, and it has not run for that date.
 * That rule is all there is, so a fast clock that jumps from 15:04 to 15:09 between two ticks
 * still fires 15:05 exactly once, and nothing depends on hitting a tick at the right second.
 *
 * Catch-up after a restart (the same rule): a job missed while the process was down runs on the
 * first tick if its day has not passed its cutoff — the briefing until the 15:00 close (after
 * that the summary says more), the summary until midnight. A missed day is never replayed the
 * next day; `/summary YYYY-MM-DD` covers that.
 *
 * Never twice: the date is written to scheduler.json (atomic) BEFORE the job runs. A crash in
 * the moment between loses that one message (and /summary still has it); a crash loop can never
 * repeat it.
 *
 * Not trading days (weekends, holidays such as 2026-10-01, a provisional day the market showed
 * closed): nothing runs. A provisional weekday (a year without calendar data) waits until the
 * market confirms it open (domain/marketDayWatch.ts), then runs what is still due: guessing would
 * send a summary on a holiday. One log line per such date says so.
 */
import { join } from 'node:path';
import cron, { type ScheduledTask } from 'node-cron';
import { z } from 'zod';
import { dayInfo } from '../domain/calendar.ts';
import type { Clock } from '../domain/clock.ts';
import { exchangeDate, exchangeTs } from '../domain/time.ts';
import { openJsonStore, type JsonStore } from '../store/jsonStore.ts';

export interface DailyJob {
  name: string;
  /** Market time the job is due, HH:MM:SS (exchange time). */
  at: string;
  /** Market time after which a missed run is dropped for the day, HH:MM:SS. */
  until: string;
  run(date: string): Promise<unknown>;
}

export interface SchedulerLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

export interface SchedulerOptions {
  clock: Clock;
  dataDir: string;
  jobs: DailyJob[];
  log?: SchedulerLog;
  /** The wall-clock ticker, a node-cron expression. Default: every second. */
  tick?: string;
}

const stateSchema = z.object({
  /** Job name -> the last market date it ran for (YYYY-MM-DD). */
  lastRun: z.record(z.string(), z.string()),
});
type SchedulerState = z.infer<typeof stateSchema>;

const HHMMSS = /^([01]\d|2[0-3]):[0-5]\d:[0-5]\d$/;

export class Scheduler {
  private task: ScheduledTask | undefined;
  private ticking: Promise<string[]> | undefined;
  private readonly calendarWarned = new Set<string>();
  private readonly waiters: { key: string; resolve: () => void }[] = [];

  private constructor(
    private readonly o: SchedulerOptions,
    private readonly store: JsonStore<SchedulerState>,
  ) {
    for (const j of o.jobs) {
      if (!HHMMSS.test(j.at) || !HHMMSS.test(j.until) || j.until < j.at)
        throw new TypeError(`job ${j.name}: at/until must be HH:MM:SS with until >= at`);
    }
  }

  static async open(o: SchedulerOptions): Promise<Scheduler> {
    const store = await openJsonStore({
      file: join(o.dataDir, 'scheduler.json'),
      schema: stateSchema,
      version: 1,
      defaults: () => ({ lastRun: {} }),
    });
    return new Scheduler(o, store);
  }

  /** Starts the wall-clock ticker. */
  start(): void {
    if (this.task) return;
    const log = this.o.log;
    this.task = cron.schedule(this.o.tick ?? '* * * * * *', () => this.tick(), {
      timezone: 'Asia/Shanghai',
      name: 'sealguard-daily-jobs',
      noOverlap: true,
      // A busy event loop can delay a tick: the next one catches up by the rule above.
      suppressMissedWarning: true,
      logger: {
        info: () => {},
        debug: () => {},
        warn: (m) => log?.warn({ cron: m }, 'scheduler'),
        error: (m) => log?.warn({ cron: String(m) }, 'scheduler'),
      },
    });
  }

  async stop(): Promise<void> {
    const t = this.task;
    this.task = undefined;
    if (t) await t.destroy();
    await this.ticking;
  }

  /** The last date a job ran for, if any. */
  lastRun(name: string): string | undefined {
    return this.store.data.lastRun[name];
  }

  /** Resolves once `name` has run (finished) for `date`. */
  ran(name: string, date: string): Promise<void> {
    if ((this.lastRun(name) ?? '') >= date && !this.running.has(`${name}@${date}`)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ key: `${name}@${date}`, resolve }));
  }

  private readonly running = new Set<string>();

  /** One look at the market clock; runs what is due. Returns "job@date" for each job run. */
  tick(): Promise<string[]> {
    // Overlapping ticks (a slow job) wait for the running one: it already covers this moment.
    this.ticking ??= this.check().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async check(): Promise<string[]> {
    const now = this.o.clock.now();
    const date = exchangeDate(now);
    const fired: string[] = [];
    for (const job of this.o.jobs) {
      if ((this.lastRun(job.name) ?? '') >= date) continue;
      if (now < exchangeTs(date, job.at) || now > exchangeTs(date, job.until) + 999) continue;
      if (!this.tradingDay(date)) continue;
      const key = `${job.name}@${date}`;
      await this.store.update((d) => {
        d.lastRun[job.name] = date;
      });
      this.running.add(key);
      try {
        await job.run(date);
        this.o.log?.info({ job: job.name, date }, 'daily job done');
      } catch (err) {
        this.o.log?.warn(
          { job: job.name, date, err: err instanceof Error ? err.message : String(err) },
          'daily job failed',
        );
      } finally {
        this.running.delete(key);
        fired.push(key);
        for (const w of this.waiters.filter((x) => x.key === key)) w.resolve();
        this.waiters.splice(0, this.waiters.length, ...this.waiters.filter((x) => x.key !== key));
      }
    }
    return fired;
  }

  private tradingDay(date: string): boolean {
    const d = dayInfo(date);
    if (d.status === 'candidate' && !this.calendarWarned.has(date)) {
      this.calendarWarned.add(date);
      this.o.log?.warn(
        { date },
        'provisional trading day not confirmed open by the market yet: daily jobs wait for it',
      );
    }
    return d.status === 'open';
  }
}

/** The product's two jobs at their times. */
export function dailyJobs(run: {
  briefing: (date: string) => Promise<unknown>;
  summary: (date: string) => Promise<unknown>;
}): DailyJob[] {
  return [
    { name: 'briefing', at: '09:00:00', until: '15:00:00', run: run.briefing },
    { name: 'summary', at: '15:05:00', until: '23:59:59', run: run.summary },
  ];
}
