/**
 * `sealguard calendar [--days N]`: the next weekdays with their status and source, as /calendar
 * shows them, from the bundled data plus DATA_DIR/calendar.json (yours) and
 * calendar-observed.json (what the market showed). Read-only, safe next to a running guard:
 * edits go through /calendar in chat, which the guard writes itself.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.ts';
import { TradingCalendar } from '../domain/calendar.ts';
import { clockFromSpec } from '../domain/clock.ts';
import { exchangeDate } from '../domain/time.ts';
import { InputError } from '../domain/types.ts';
import { calendarLines, upcomingWeekdays } from '../engine/marketDays.ts';
import { readCalendarFiles } from '../store/calendarStore.ts';

const USAGE = `Usage: sealguard calendar [--days N]

Prints the next N weekdays (default 10, today included) and whether the exchanges trade on each:
  bundled              chinese-days' holidays plus SealGuard's list of exchange-only closures
  yours                your entries in DATA_DIR/calendar.json (/calendar close|open in chat)
  provisional          a year without bundled data: a candidate, not yet confirmed
  confirmed open/closed what the market showed that day (quotes dated today, or none)
Uses DATA_DIR and SEALGUARD_CLOCK like start. Changes nothing.
  --days N     how many weekdays (1-60)
  -h, --help   show this help`;

export async function run(args: string[]): Promise<number> {
  let values: { days?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      options: { days: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (e) {
    process.stderr.write(`sealguard calendar: ${(e as Error).message}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const days = values.days === undefined ? 10 : Number(values.days);
  if (!Number.isInteger(days) || days < 1 || days > 60 || !/^\d+$/.test(values.days ?? '10')) {
    process.stderr.write(`sealguard calendar: --days must be a whole number 1-60 (got "${values.days}")\n`);
    return 2;
  }
  let dataDir: string;
  let clockSpec: string | undefined;
  try {
    const config = loadConfig();
    dataDir = config.dataDir;
    clockSpec = config.clock?.spec;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`sealguard calendar: invalid configuration:\n  ${err.problems.join('\n  ')}\n`);
    return 2;
  }
  let today: string;
  try {
    today = exchangeDate(clockFromSpec(clockSpec, Date.now).now());
  } catch (err) {
    if (err instanceof InputError) {
      process.stderr.write(`sealguard calendar: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const files = await readCalendarFiles(dataDir);
  const cal = new TradingCalendar();
  cal.setUserDays(Object.entries(files.user.days));
  for (const [d, o] of Object.entries(files.observed.days)) cal.setObserved(d, o);
  const out = (l: string) => process.stdout.write(l + '\n');
  out(`Calendar 交易日历 from ${today} (bundled data ${cal.firstYear}–${cal.lastYear}; DATA_DIR ${dataDir})`);
  for (const l of calendarLines(upcomingWeekdays(cal, today, days), cal.warning(today))) out(l);
  for (const p of files.problems) process.stderr.write(`sealguard calendar: warning: ${p}\n`);
  return files.problems.length ? 1 : 0;
}
