/**
 * `sealguard limits <code> <prevClose> [--st] [--date YYYY-MM-DD] [--listed-days N] [--pct N]`:
 * one line of JSON with the limit prices, for checking the engine's numbers by hand or in scripts.
 */
import { parseArgs } from 'node:util';
import { dayInfo } from '../domain/calendar.ts';
import { clockFromSpec } from '../domain/clock.ts';
import { limitPrices } from '../domain/limits.ts';
import { formatTicks, toTicks } from '../domain/prices.ts';
import { parseSymbol, symbolWarning } from '../domain/symbols.ts';
import { exchangeDate, parseDate } from '../domain/time.ts';
import { InputError } from '../domain/types.ts';

const USAGE = `Usage: sealguard limits <code> <prevClose> [options]

Prints the limit-up / limit-down prices as one line of JSON:
  {"symbol":"600519.SH","board":"main","pct":10,"prevClose":"1685.00","limitUp":"1853.50","limitDown":"1516.50"}
pct and the limits are null on a day without a price limit (IPO days).

  <code>             600519, sh600519, 600519.SH, 920118.BJ, ...
  <prevClose>        the exchange's previous close (昨收), e.g. 17.15 or 3.905 for funds
  --st               the stock is under risk warning (ST / *ST) on that date
  --date YYYY-MM-DD  trading date whose limits to compute (default: today, exchange time)
  --listed-days N    trading days since listing, 1 = listing day (no limit on IPO days)
  --pct N            use this limit percentage instead of the board's
  -h, --help         show this help`;

function fail(message: string): number {
  process.stderr.write(`sealguard limits: ${message}\n`);
  return 2;
}

/** Whole numbers only: "3", not "3.5", "3e0" or "". */
function parseCount(flag: string, text: string): number {
  if (!/^\d{1,6}$/.test(text.trim()))
    throw new InputError(`invalid ${flag} "${text}": expected a whole number`);
  return Number(text);
}

/**
 * The rules decide by date alone, so a limit for any date can be computed; but a date the
 * exchanges do not trade on (or that the calendar cannot vouch for) is likely a typo: say so.
 */
function dateWarning(date: string): string | null {
  const d = dayInfo(date);
  if (d.status === 'closed') return `${date} is not a trading day`;
  if (d.provisional && d.source !== 'user')
    return `${date} is in a year without exchange calendar data: a provisional trading day (limits computed by the rules)`;
  return null;
}

function parsePct(text: string): number {
  if (!/^\d+(\.\d+)?$/.test(text.trim()))
    throw new InputError(`invalid --pct "${text}": expected a number such as 10 or 20`);
  return Number(text);
}

export async function run(args: string[]): Promise<number> {
  // parseArgs would read "-5" as an unknown option; say what is actually wrong.
  const negative = args.find((a) => /^-(\d|\.\d)/.test(a));
  if (negative !== undefined) return fail(`invalid value "${negative}": prices and counts must be positive`);
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        st: { type: 'boolean' },
        date: { type: 'string' },
        'listed-days': { type: 'string' },
        pct: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    return fail(`${(e as Error).message}\nRun \`sealguard limits --help\` for usage.`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (positionals.length !== 2) {
    return fail(`expected <code> <prevClose>, got ${positionals.length} argument(s)\n\n${USAGE}`);
  }
  const [codeArg, prevArg] = positionals as [string, string];
  try {
    const sec = parseSymbol(codeArg);
    const warning = symbolWarning(sec);
    if (warning) process.stderr.write(`sealguard limits: warning: ${warning}\n`);
    const prevClose = toTicks(prevArg, sec.decimals);
    if (prevClose <= 0) throw new InputError(`invalid previous close "${prevArg}": must be positive`);
    let date = values.date;
    if (date === undefined) {
      date = exchangeDate(clockFromSpec(process.env.SEALGUARD_CLOCK, Date.now).now());
    } else {
      parseDate(date);
      const warning = dateWarning(date);
      if (warning) process.stderr.write(`sealguard limits: warning: ${warning}\n`);
    }
    const limits = limitPrices(sec, prevClose, {
      date,
      st: values.st === true,
      listedDays:
        values['listed-days'] === undefined ? undefined : parseCount('--listed-days', values['listed-days']),
      pct: values.pct === undefined ? undefined : parsePct(values.pct),
    });
    const out = {
      symbol: sec.id,
      board: sec.board,
      pct: limits?.pct ?? null,
      prevClose: formatTicks(prevClose, sec.decimals),
      limitUp: limits ? formatTicks(limits.up, sec.decimals) : null,
      limitDown: limits ? formatTicks(limits.down, sec.decimals) : null,
    };
    process.stdout.write(JSON.stringify(out) + '\n');
    return 0;
  } catch (e) {
    if (e instanceof InputError) return fail(e.message);
    throw e;
  }
}
