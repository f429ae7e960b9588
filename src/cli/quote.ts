/**
 * `sealguard quote <code>... [--source tencent|sina|eastmoney]`: one line of JSON per security
 * with the live level-1 snapshot and what the guard makes of it, judged on the process's market
 * clock exactly as the guard judges (SEALGUARD_CLOCK, or the host clock checked against the
 * source's Date header and quote times).
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { clockFromSpec, ExchangeClock, type Clock } from '../domain/clock.ts';
import { resolveLimits } from '../domain/limits.ts';
import { formatTicks } from '../domain/prices.ts';
import { bookSealedUp, isFresh, sealAmountUp, sealedUp, type SealGate } from '../domain/seal.ts';
import { phaseAt } from '../domain/session.ts';
import { symbolWarning, tryParseSymbol } from '../domain/symbols.ts';
import { exchangeDate, formatExchangeTime } from '../domain/time.ts';
import type { Level, Phase, Security, Snapshot } from '../domain/types.ts';
import { isPollingSource, pollingFeed, POLLING_SOURCES } from '../market/sources.ts';

const USAGE = `Usage: sealguard quote <code>... [--source tencent|sina|eastmoney]

Prints one line of JSON per code, in the order given:
  {"symbol":"002116.SZ","name":"中国海诚","time":"2022-11-22T11:57:42+08:00","status":"normal",
   "last":"10.02","prevClose":"9.11","limitUp":"10.02","limitDown":"8.20",
   "bids":[["10.02",28046500],...],"asks":[],"sealed":true,"sealedBook":true,"sealAmount":281025930}

  status      normal | suspended | delisted | not-listed
  limitUp/Down the source's published limits when it has them (Tencent, EastMoney), otherwise
              computed from prevClose for the snapshot's own date; null on a no-limit day
  bids/asks   [price, shares] best first; Tencent/EastMoney lots are shown as shares (x100)
  sealed      what the guard decides now: the book is sealed, trading is continuous, and the
              quote is fresh and dated today, all on the process's market clock
              (SEALGUARD_CLOCK when set, else the host clock checked against the source)
  sealedBook  the book alone shows a limit-up seal: status normal, last == bid1 == limitUp,
              bid1 > 0, no asks
  why         only when sealed and sealedBook differ: "stale: dated 2026-11-23",
              "opening call auction", ...
  sealAmount  bid1 price x bid1 shares in yuan (floored) when sealedBook, else 0

  <code>        600519, sh600519, 600519.SH, 920118.BJ, ...
  --source S    tencent (default), sina or eastmoney; base URLs from TENCENT_QUOTE_URL,
                SINA_QUOTE_URL, EASTMONEY_QUOTE_URL
  -h, --help    show this help

Exit codes: 0 all printed; 2 bad input (an invalid code: nothing is fetched) or a code the source
has no quote for (the others still print); 1 the source could not be reached.`;

function price(ticks: number, d: 2 | 3): string {
  return formatTicks(ticks, d);
}

function levels(ls: readonly Level[], d: 2 | 3): [string, number][] {
  return ls.map(([p, v]) => [price(p, d), v]);
}

const PHASE_TEXT: Record<Phase, string> = {
  closed: 'market closed',
  'pre-open': 'before the opening call auction',
  'opening-auction': 'opening call auction',
  'opening-auction-locked': 'opening call auction',
  'pre-continuous': 'opening call auction over, continuous trading not started',
  continuous: 'continuous trading',
  lunch: 'midday break',
  'closing-auction': 'closing call auction',
};

/** The guard's gate at market time `now` (src/engine/guard.ts onSnapshots builds the same). */
export function gateAt(now: number): SealGate {
  let phase: Phase;
  try {
    phase = phaseAt(now);
  } catch {
    phase = 'closed'; // no calendar for the year: the guard fails closed too
  }
  return { now, phase, today: exchangeDate(now) };
}

/** Why a sealed book is not a seal to the guard. */
function whyNot(s: Snapshot, gate: SealGate): string {
  const reasons: string[] = [];
  if (!isFresh(s, gate)) {
    const age = gate.now - s.ts;
    if (exchangeDate(s.ts) !== gate.today) reasons.push(`stale: dated ${exchangeDate(s.ts)}`);
    else if (age < 0) reasons.push(`from the future: ${Math.round(-age / 1000)} s ahead of the clock`);
    else reasons.push(`stale: ${Math.round(age / 1000)} s old`);
  }
  if (gate.phase !== 'continuous') reasons.push(PHASE_TEXT[gate.phase]);
  return reasons.join('; ');
}

export function quoteLine(sec: Security, s: Snapshot, gate: SealGate): Record<string, unknown> {
  const d = s.decimals;
  const limits = resolveLimits(sec, s, exchangeDate(s.ts));
  const sealedBook = limits !== null && bookSealedUp(s, limits.up);
  const sealed = limits !== null && sealedUp(s, limits.up, gate);
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
    sealedBook,
    ...(sealed !== sealedBook ? { why: whyNot(s, gate) } : {}),
    sealAmount: sealedBook ? sealAmountUp(s) : 0,
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

  let clock: Clock;
  let exchange: ExchangeClock | undefined;
  try {
    const spec = process.env.SEALGUARD_CLOCK;
    // As the guard: a simulated clock when set, else the host's checked against the source.
    clock = spec?.trim()
      ? clockFromSpec(spec, Date.now)
      : (exchange = new ExchangeClock(Date.now, () => performance.now(), { minSamples: 1 }));
  } catch (err) {
    process.stderr.write(`sealguard quote: ${(err as Error).message}\n`);
    return 2;
  }
  const feed = pollingFeed(source);
  const bySymbol = new Map<string, Snapshot>();
  const missing: string[] = [];
  try {
    for (let i = 0; i < secs.length; i += feed.maxBatch) {
      const res = await feed.fetch(secs.slice(i, i + feed.maxBatch).map((s) => s.id));
      for (const s of res.snapshots) bySymbol.set(s.symbol, s);
      missing.push(...res.missing);
      if (exchange && res.timing) {
        const newest = Math.max(...res.snapshots.map((s) => s.ts));
        exchange.observe({ ...res.timing, newestQuote: Number.isFinite(newest) ? newest : null });
      }
    }
  } catch (err) {
    process.stderr.write(`sealguard quote: ${(err as Error).message}\n`);
    return 1;
  }
  const gate = gateAt(clock.now());
  for (const sec of secs) {
    const s = bySymbol.get(sec.id);
    if (s) process.stdout.write(JSON.stringify(quoteLine(sec, s, gate)) + '\n');
  }
  for (const id of missing) process.stderr.write(`sealguard quote: ${source} has no quote for ${id}\n`);
  return missing.length > 0 ? 2 : 0;
}
