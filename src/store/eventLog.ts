/**
 * Append-only history of engine events, one JSON object per line, one file per exchange day:
 * `${dataDir}/events/2026-11-24.jsonl`. The day comes from the event's own timestamp in
 * Asia/Shanghai, so a replayed or simulated day lands in its own file whatever the host's TZ.
 *
 * It is a history, not a source of truth (order intents live in a JsonStore), so lines are not
 * fsynced; a crash can at worst tear the last line, which readers skip and report.
 */
import { appendFile, mkdir, open, readFile, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { addDays, exchangeDate, parseDate } from '../domain/time.ts';
import { isErrno } from './durableFile.ts';

export interface LoggedEvent {
  /** Epoch ms of the event (exchange time decides the file). */
  ts: number;
  type: string;
  [field: string]: unknown;
}

/** The part of a pino logger the event log needs. */
export interface WarnLogger {
  warn(details: object, message: string): void;
}

export interface EventLogOptions {
  dataDir: string;
  /** Day files older than this many days before the newest event's day are deleted. Default 30. */
  retentionDays?: number;
  logger?: WarnLogger;
}

const DAY_FILE = /^(\d{4}-\d{2}-\d{2})\.jsonl$/;

export class EventLog {
  readonly dir: string;
  readonly retentionDays: number;
  readonly #logger: WarnLogger | undefined;
  #tail: Promise<unknown> = Promise.resolve();
  /** Files whose tail this process has already checked for a torn line. */
  readonly #checked = new Set<string>();
  #newestDay: string | undefined;

  constructor(opts: EventLogOptions) {
    const retention = opts.retentionDays ?? 30;
    if (!Number.isInteger(retention) || retention < 1) {
      throw new TypeError(
        `event log retentionDays must be a whole number of days >= 1 (got ${String(retention)})`,
      );
    }
    this.dir = join(opts.dataDir, 'events');
    this.retentionDays = retention;
    this.#logger = opts.logger;
  }

  /** Appends in call order; the first event of a newer day also prunes expired days. */
  append(event: LoggedEvent): Promise<void> {
    let line: string;
    let day: string;
    try {
      line = serialize(event);
      day = exchangeDate(event.ts);
    } catch (error) {
      return Promise.reject(error);
    }
    const run = this.#tail.then(() => this.#write(day, line));
    this.#tail = run.catch(() => {});
    return run;
  }

  /** The events of one exchange day, in file order; [] when there were none. */
  async readDay(date: string): Promise<LoggedEvent[]> {
    parseDate(date);
    const file = this.fileFor(date);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return [];
      throw error;
    }
    const lines = text.split('\n');
    const events: LoggedEvent[] = [];
    lines.forEach((line, index) => {
      const isLast = index === lines.length - 1;
      if (line === '') return;
      const event = parseLine(line);
      if (event) events.push(event);
      else if (isLast) {
        this.#logger?.warn(
          { file, bytes: Buffer.byteLength(line) },
          'event log: skipped a torn last line (the writer stopped mid-line)',
        );
      } else {
        this.#logger?.warn({ file, line: index + 1 }, 'event log: skipped a line that is not a valid event');
      }
    });
    return events;
  }

  /** Dates that have a day file, oldest first. */
  async days(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return [];
      throw error;
    }
    return names.flatMap((name) => DAY_FILE.exec(name)?.[1] ?? []).sort();
  }

  /** Deletes day files more than `retentionDays` before `today`; returns the dates removed. */
  async prune(today: string): Promise<string[]> {
    const cutoff = addDays(today, -this.retentionDays);
    const expired = (await this.days()).filter((day) => day < cutoff);
    for (const day of expired) await unlink(this.fileFor(day)).catch(() => {});
    return expired;
  }

  fileFor(date: string): string {
    return join(this.dir, `${date}.jsonl`);
  }

  async #write(day: string, line: string): Promise<void> {
    const file = this.fileFor(day);
    if (!this.#checked.has(file)) {
      await mkdir(this.dir, { recursive: true });
      // A torn line left by a crash must not swallow the next event: start on a fresh line.
      if (await endsMidLine(file)) line = `\n${line}`;
      this.#checked.add(file);
    }
    await appendFile(file, line);
    if (this.#newestDay === undefined || day > this.#newestDay) {
      this.#newestDay = day;
      await this.prune(day);
    }
  }
}

export function openEventLog(opts: EventLogOptions): EventLog {
  return new EventLog(opts);
}

function serialize(event: LoggedEvent): string {
  if (typeof event !== 'object' || event === null)
    throw new TypeError('event log: an event must be an object');
  if (!Number.isSafeInteger(event.ts)) {
    throw new TypeError(`event log: event.ts must be epoch milliseconds (got ${JSON.stringify(event.ts)})`);
  }
  if (typeof event.type !== 'string' || event.type === '') {
    throw new TypeError(
      `event log: event.type must be a non-empty string (got ${JSON.stringify(event.type)})`,
    );
  }
  return `${JSON.stringify(event)}\n`;
}

function parseLine(line: string): LoggedEvent | null {
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
    const event = value as LoggedEvent;
    return Number.isSafeInteger(event.ts) && typeof event.type === 'string' ? event : null;
  } catch {
    return null;
  }
}

async function endsMidLine(file: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return false;
    throw error;
  }
  try {
    const { size } = await handle.stat();
    if (size === 0) return false;
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, size - 1);
    return last[0] !== 0x0a;
  } finally {
    await handle.close();
  }
}
