/**
 * The calendar's two files in DATA_DIR:
 * - calendar.json: the user's own days (`/calendar close 2027-02-08 春节`), which win over the
 *   bundled data. Written only by the running guard's /calendar command.
 * - calendar-observed.json: what the market showed on provisional days (confirmed open /
 *   confirmed closed), so a restart reuses it instead of deciding the day again.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { parseDate } from '../domain/time.ts';
import { openJsonStore, type JsonStore } from './jsonStore.ts';

export const CALENDAR_FILE = 'calendar.json';
export const OBSERVED_FILE = 'calendar-observed.json';

const dateKey = z.string().refine(
  (d) => {
    try {
      parseDate(d);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'must be a real date YYYY-MM-DD' },
);

const userDaySchema = z.object({
  status: z.enum(['open', 'closed']),
  /** Where it came from: "春节", "SSE notice 2026-12-22", ... */
  note: z.string().max(200).optional(),
  /** Wall ms of the edit. */
  setAt: z.number().int().nonnegative().optional(),
});

export const userCalendarSchema = z.object({ days: z.record(dateKey, userDaySchema) });
export type UserCalendar = z.infer<typeof userCalendarSchema>;

const observedDaySchema = z.object({
  status: z.enum(['open', 'closed']),
  evidence: z.string().max(300),
  at: z.number().int().nonnegative(),
});

export const observedCalendarSchema = z.object({ days: z.record(dateKey, observedDaySchema) });
export type ObservedCalendar = z.infer<typeof observedCalendarSchema>;

export interface CalendarStores {
  user: JsonStore<UserCalendar>;
  observed: JsonStore<ObservedCalendar>;
}

export async function openCalendarStores(dataDir: string): Promise<CalendarStores> {
  const [user, observed] = await Promise.all([
    openJsonStore({
      file: join(dataDir, CALENDAR_FILE),
      schema: userCalendarSchema,
      version: 1,
      defaults: () => ({ days: {} }),
    }),
    openJsonStore({
      file: join(dataDir, OBSERVED_FILE),
      schema: observedCalendarSchema,
      version: 1,
      defaults: () => ({ days: {} }),
    }),
  ]);
  return { user, observed };
}

/**
 * Read-only look at both files for another process (`sealguard calendar`, doctor) next to a live
 * guard: never opens the stores (that would remove a live writer's temp files). A missing file is
 * empty; an unreadable one is reported, not guessed.
 */
export async function readCalendarFiles(
  dataDir: string,
): Promise<{ user: UserCalendar; observed: ObservedCalendar; problems: string[] }> {
  const problems: string[] = [];
  const read = async <T>(file: string, schema: z.ZodType<T>, empty: T): Promise<T> => {
    const path = join(dataDir, file);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        problems.push(`${path}: ${(err as Error).message}`);
      return empty;
    }
    try {
      const doc = JSON.parse(text) as { data?: unknown };
      const parsed = schema.safeParse(doc?.data);
      if (parsed.success) return parsed.data;
      problems.push(`${path}: invalid contents (${parsed.error.issues[0]?.message ?? 'schema'})`);
    } catch (err) {
      problems.push(`${path}: not JSON (${(err as Error).message})`);
    }
    return empty;
  };
  const [user, observed] = await Promise.all([
    read(CALENDAR_FILE, userCalendarSchema, { days: {} }),
    read(OBSERVED_FILE, observedCalendarSchema, { days: {} }),
  ]);
  return { user, observed, problems };
}
