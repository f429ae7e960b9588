/**
 * `sealguard quote <code>... [--source tencent|sina|eastmoney]`: one line of JSON per security
 * with the live level-1 snapshot and what the seal test makes of it.
 */
import { parseArgs } from 'node:util';
import { resolveLimits } from '../domain/limits.ts';
import { formatTicks } from '../domain/prices.ts';
import { bookSealedUp, sealAmountUp } from '../domain/seal.ts';
import { symbolWarning, tryParseSymbol } from '../domain/symbols.ts';
import { exchangeDate, formatExchangeTime } from '../domain/time.ts';
import type { Level, Security, Snapshot } from '../domain/types.ts';
import { isPollingSource, pollingFeed, POLLING_SOURCES } from '../market/sources.ts';

const USAGE = `Usage: sealguard quote <code>... [--source tencent|sina|eastmoney]

Prints one line of JSON per code, in the order given:
  {"symbol":"002116.SZ","name":"中国海诚","time":"2022-11-22T11:57:42+08:00","status":"normal",
   "last":"10.02","prevClose":"9.11","limitUp":"10.02","limitDown":"8.20",
   "bids":[["10.02",28046500],...],"asks":[],"sealed":true,"sealAmount":281025930}

  status      normal | suspended | delisted | not-listed
  limitUp/Down the source's published limits when it has them (Tencent, EastMoney), otherwise
              computed from prevClose for the snapshot's own date; null on a no-limit day
  bids/asks   [price, shares] best first; Tencent/EastMoney lots are shown as shares (x100)
  sealed      the book shows a limit-up seal: status normal, last == bid1 == limitUp, bid1 > 0,
              no asks. The live guard additionally requires continuous trading and a fresh
              quote dated today; this command does not, so a stale or lunch-time book can read true.
  sealAmount  bid1 price x bid1 shares in yuan (floored) when sealed, else 0

  <code>        600519, sh600519, 600519.SH, 920118.BJ, ...
  --source S    tencent (default), sina or eastmoney; base URLs from TENCENT_QUOTE_URL,
                SINA_QUOTE_URL, EASTMONEY_QUOTE_URL
  -h, --help    show this help

Exit codes: 0 all printed; 2 bad input (an invalid code: nothing is fetched) or a code the source
has no quote for (the others still print); 1 the source could not be reached.`;

function price(ticks: number, d: 2 | 3): string {
  return formatTicks(ticks, d);
}

function levels(ls: Level[], d: 2 | 3): [string, number][] {
  return ls.map(([p, v]) => [price(p, d), v]);
}

export function quoteLine(sec: Security, s: Snapshot): Record<string, unknown> {
  const d = s.decimals;
  const limits = resolveLimits(sec, s, exchangeDate(s.ts));
  const sealed = limits !== null && bookSealedUp(s, limits.up);
  return {
    symbol: s.symbol,
    name: s.name,
    time: formatExchangeTime(s.ts),
    status: s.status,
    last: price(s.last, d),
    prevClose: price(s.prevClose, d),
    limitUp: limits ? price(limits.up, d) : null,
    limitDown: limits ? price(limits.down, d) : null,
    bids: levels(s.bids, d),
    asks: levels(s.asks, d),
    sealed,
    sealAmount: sealed ? sealAmountUp(s) : 0,
  };
}

export async function run(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: { source: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    process.stderr.write(`sealguard quote: ${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const source = (parsed.values.source ?? 'tencent').trim().toLowerCase();
  if (!isPollingSource(source)) {
    process.stderr.write(
      `sealguard quote: invalid --source "${parsed.values.source}": expected ${POLLING_SOURCES.join(', ')}\n`,
    );
    return 2;
  }
  if (parsed.positionals.length === 0) {
    process.stderr.write(`sealguard quote: no code given\n\n${USAGE}\n`);
    return 2;
  }
  const secs: Security[] = [];
  let bad = false;
  for (const code of parsed.positionals) {
    const sec = tryParseSymbol(code);
    if (!sec) {
      process.stderr.write(
        `sealguard quote: invalid security code "${code}": expected e.g. 600519, sh600519 or 600519.SH\n`,
      );
      bad = true;
    } else if (!secs.some((s) => s.id === sec.id)) {
      const warning = symbolWarning(sec);
      if (warning) process.stderr.write(`sealguard quote: warning: ${warning}\n`);
      secs.push(sec);
    }
  }
  if (bad) return 2;

  const feed = pollingFeed(source);
  const bySymbol = new Map<string, Snapshot>();
  const missing: string[] = [];
  try {
    for (let i = 0; i < secs.length; i += feed.maxBatch) {
      const res = await feed.fetch(secs.slice(i, i + feed.maxBatch).map((s) => s.id));
      for (const s of res.snapshots) bySymbol.set(s.symbol, s);
      missing.push(...res.missing);
    }
  } catch (err) {
    process.stderr.write(`sealguard quote: ${(err as Error).message}\n`);
    return 1;
  }
  for (const sec of secs) {
    const s = bySymbol.get(sec.id);
    if (s) process.stdout.write(JSON.stringify(quoteLine(sec, s)) + '\n');
  }
  for (const id of missing) process.stderr.write(`sealguard quote: ${source} has no quote for ${id}\n`);
  return missing.length > 0 ? 2 : 0;
}
