/**
 * `sealguard record <code>... --out file.jsonl`: polls a quote source and appends each changed
 * snapshot as one JSON line, ready for `backtest` and the replay feed. Ctrl-C flushes and exits 0.
 */
import { parseArgs } from 'node:util';
import { tryParseSymbol } from '../domain/symbols.ts';
import type { PollingFeed } from '../market/feed.ts';
import { SnapshotRecorder } from '../market/recorder.ts';
import { isPollingSource, pollingFeed, POLLING_SOURCES } from '../market/sources.ts';

const USAGE = `Usage: sealguard record <code>... --out file.jsonl [--source tencent|sina|eastmoney] [--interval ms] [--duration s]

Polls the source every --interval ms and appends one normalized snapshot per line to --out
(created if missing, appended to otherwise). A snapshot that repeats the symbol's last written
market (only the time moved) is not written again. Stops after --duration seconds, or on Ctrl-C;
either way everything polled is flushed and the exit code is 0.

  <code>          600519, sh600519, 600519.SH, ...
  --out FILE      the recording (JSON Lines; replay it with the demo/backtest commands)
  --source S      tencent (default), sina or eastmoney; base URLs from TENCENT_QUOTE_URL,
                  SINA_QUOTE_URL, EASTMONEY_QUOTE_URL
  --interval MS   poll cadence, default 3000 (the exchange publishes level-1 every 3 s)
  --duration S    stop after this many seconds; default: run until interrupted
  -h, --help      show this help

Exit codes: 0 stopped normally; 2 bad input (nothing is polled or written); 1 the file could not
be written while recording.`;

const MIN_INTERVAL_MS = 100;

function fail(message: string): number {
  process.stderr.write(`sealguard record: ${message}\n`);
  return 2;
}

export async function run(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        out: { type: 'string' },
        source: { type: 'string' },
        interval: { type: 'string' },
        duration: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    process.stderr.write(`sealguard record: ${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (positionals.length === 0) return fail(`no codes given\n\n${USAGE}`);
  if (!values.out) return fail('--out FILE is required');

  const symbols: string[] = [];
  for (const code of positionals) {
    const sec = tryParseSymbol(code);
    if (!sec) return fail(`invalid code "${code}": expected e.g. 600519, sh600519 or 600519.SH`);
    if (!symbols.includes(sec.id)) symbols.push(sec.id);
  }
  const source = (values.source ?? 'tencent').toLowerCase();
  if (!isPollingSource(source))
    return fail(`invalid --source "${values.source}": expected ${POLLING_SOURCES.join(', ')}`);
  const interval = values.interval === undefined ? 3000 : Number(values.interval);
  if (!Number.isInteger(interval) || interval < MIN_INTERVAL_MS) {
    return fail(
      `invalid --interval "${values.interval}": expected whole milliseconds, at least ${MIN_INTERVAL_MS}`,
    );
  }
  const duration = values.duration === undefined ? Infinity : Number(values.duration);
  if (!(duration > 0))
    return fail(`invalid --duration "${values.duration}": expected a positive number of seconds`);

  let recorder: SnapshotRecorder;
  try {
    recorder = await SnapshotRecorder.open(values.out);
  } catch (err) {
    return fail((err as Error).message);
  }
  return record(pollingFeed(source), symbols, recorder, interval, duration * 1000);
}

async function record(
  feed: PollingFeed,
  symbols: string[],
  recorder: SnapshotRecorder,
  intervalMs: number,
  durationMs: number,
): Promise<number> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const deadline = setTimeout(onSignal, Math.min(durationMs, 2 ** 31 - 1));
  const reportedMissing = new Set<string>();
  let polls = 0;
  let code = 0;
  const start = Date.now();
  process.stderr.write(
    `recording ${symbols.join(', ')} from ${feed.name} to ${recorder.path} (Ctrl-C to stop)\n`,
  );

  try {
    while (!stop.signal.aborted) {
      for (let i = 0; i < symbols.length && !stop.signal.aborted; i += feed.maxBatch) {
        try {
          const { snapshots, missing } = await feed.fetch(symbols.slice(i, i + feed.maxBatch), stop.signal);
          for (const s of snapshots) recorder.write(s);
          for (const m of missing) {
            if (!reportedMissing.has(m))
              process.stderr.write(`sealguard record: ${feed.name} has no quote for ${m}\n`);
            reportedMissing.add(m);
          }
        } catch (err) {
          if (stop.signal.aborted) break;
          if ((err as Error).message.startsWith('cannot write recording')) throw err;
          process.stderr.write(`sealguard record: poll failed, will retry: ${(err as Error).message}\n`);
        }
      }
      polls++;
      // Keep to the cadence from the start, so slow answers do not make the recording drift.
      await sleep(start + polls * intervalMs - Date.now(), stop.signal);
    }
  } catch (err) {
    process.stderr.write(`sealguard record: ${(err as Error).message}\n`);
    code = 1;
  } finally {
    clearTimeout(deadline);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  try {
    await recorder.close();
  } catch (err) {
    process.stderr.write(`sealguard record: ${(err as Error).message}\n`);
    code = 1;
  }
  process.stderr.write(`recorded ${recorder.written} snapshots in ${polls} polls to ${recorder.path}\n`);
  return code;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}
