/**
 * chinese-days' holiday list, read at run time from node_modules (never bundled into dist/): a
 * newer chinese-days that brings next year's holidays is used as soon as it is installed.
 *
 * This is the one read of static package data in the domain, done once at load like an import;
 * everything else here stays pure. Keys only ("YYYY-MM-DD"), never the package's Date-based
 * functions, which shift a day under a negative host UTC offset (rules.md §4.3).
 */
import { createRequire } from 'node:module';

export interface HolidayData {
  holidays: ReadonlySet<string>;
  firstYear: number;
  lastYear: number;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Builds the data from chinese-days' JSON document shape ({ holidays: { "2026-01-01": ... } }). */
export function holidayDataFrom(doc: unknown): HolidayData {
  const h = (doc as { holidays?: unknown } | null)?.holidays;
  if (!h || typeof h !== 'object') throw new Error('chinese-days data has no "holidays" object');
  const keys = Object.keys(h).filter((k) => DATE.test(k));
  if (keys.length === 0) throw new Error('chinese-days data lists no holidays');
  const years = keys.map((d) => Number(d.slice(0, 4)));
  return { holidays: new Set(keys), firstYear: Math.min(...years), lastYear: Math.max(...years) };
}

/**
 * Reads the chinese-days that Node's resolution finds from `base` (a module URL or path). A
 * computed require that esbuild leaves alone: the JSON is resolved from node_modules at run time.
 */
export function loadHolidayData(base: string | URL = import.meta.url): HolidayData {
  const req = createRequire(base);
  const spec = ['chinese-days', 'dist', 'chinese-days.json'].join('/');
  return holidayDataFrom(req(spec));
}

let cached: HolidayData | undefined;

/** The installed chinese-days' data (read once per process). */
export function holidayData(): HolidayData {
  return (cached ??= loadHolidayData());
}
