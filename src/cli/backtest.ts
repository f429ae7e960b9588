/**
 * `sealguard backtest <recording.jsonl[.gz]>... [--threshold 2000w] [--drop-from-peak 50]
 *   [--drop-in-window 30/60s] [--cap-ratio 1] [--confirm 1] [--json]`
 */
import { parseArgs } from 'node:util';
import { parseAmount } from '../domain/amounts.ts';
import { TRIGGER_BOUNDS, type TriggerConfig } from '../domain/triggers.ts';
import { InputError } from '../domain/types.ts';
import { formatBacktest, readRecording, runBacktest, type Recording } from '../engine/backtest.ts';
import { SealGuardError } from '../domain/errors.ts';

const USAGE = `Usage: sealguard backtest <recording.jsonl[.gz]>... [options]

Replays one or more recordings (e.g. data/demo/*.jsonl.gz) through the seal monitor and reports, per symbol and seal segment, when each
trigger would have fired, whether the board broke, and the sale price against the close.

  --threshold <amount>       sell when the seal is below this (2000w, 0.2亿, 20000000); default 2000w
  --drop-from-peak <pct>     sell when the seal is pct % below the segment's peak
  --drop-in-window <pct/Ns>  sell when the seal fell pct % within N seconds (e.g. 30/60s)
  --cap-ratio <pct>          sell when the seal is below pct % of the float market cap
  --confirm <n>              extra snapshots on which the rule must still hold (default 0)
  --json                     print one JSON object instead of the text report`;

/** Long files only, and only when a person is watching stderr. */
const PROGRESS_MIN = 50_000;

function positivePct(name: string, raw: string, max: number = TRIGGER_BOUNDS.pctMax): number {
  const n = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw.trim()) || !(n > 0) || n > max) {
    throw new InputError(`--${name}: expected a percentage above 0 and at most ${max}, got "${raw}"`);
  }
  return n;
}

function parseWindow(raw: string): { pct: number; windowSec: number } {
  const m = /^\s*(\d+(?:\.\d+)?)%?\s*\/\s*(\d+)\s*(s|m)?\s*$/i.exec(raw);
  if (!m) throw new InputError(`--drop-in-window: expected <pct>/<seconds>s such as 30/60s, got "${raw}"`);
  const pct = positivePct('drop-in-window', m[1] as string);
  const windowSec = Number(m[2]) * ((m[3] ?? 's').toLowerCase() === 'm' ? 60 : 1);
  const [wMin, wMax] = TRIGGER_BOUNDS.windowSec;
  if (windowSec < wMin || windowSec > wMax) {
    throw new InputError(`--drop-in-window: the window must be ${wMin} s to ${wMax / 60} min, got "${raw}"`);
  }
  return { pct, windowSec };
}

export function parseBacktestArgs(args: string[]): {
  file: string;
  files: string[];
  triggers: TriggerConfig;
  json: boolean;
} {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        threshold: { type: 'string' },
        'drop-from-peak': { type: 'string' },
        'drop-in-window': { type: 'string' },
        'cap-ratio': { type: 'string' },
        confirm: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new InputError((e as Error).message);
  }
  const { values: v, positionals } = parsed;
  if (v.help) throw new HelpRequested();
  // Several recordings are one replay: the report is per symbol and day anyway.
  if (positionals.length === 0) throw new InputError('missing <recording.jsonl>');
  const triggers: TriggerConfig = {};
  if (v.threshold !== undefined) triggers.amount = parseAmount(v.threshold);
  if (v['drop-from-peak'] !== undefined)
    triggers.dropFromPeak = positivePct('drop-from-peak', v['drop-from-peak']);
  if (v['drop-in-window'] !== undefined) triggers.dropInWindow = parseWindow(v['drop-in-window']);
  if (v['cap-ratio'] !== undefined) triggers.capRatio = positivePct('cap-ratio', v['cap-ratio']);
  if (Object.keys(triggers).length === 0) triggers.amount = 20_000_000;
  if (v.confirm !== undefined) {
    const [cMin, cMax] = TRIGGER_BOUNDS.confirm;
    if (!/^\d+$/.test(v.confirm) || Number(v.confirm) < cMin || Number(v.confirm) > cMax) {
      throw new InputError(
        `--confirm: expected a whole number of snapshots ${cMin}-${cMax}, got "${v.confirm}"`,
      );
    }
    triggers.confirm = Number(v.confirm);
  }
  return { file: positionals[0] as string, files: positionals, triggers, json: v.json === true };
}

class HelpRequested extends SealGuardError {}

export async function run(args: string[]): Promise<number> {
  let opts;
  try {
    opts = parseBacktestArgs(args);
  } catch (e) {
    if (e instanceof HelpRequested) {
      process.stdout.write(USAGE + '\n');
      return 0;
    }
    if (e instanceof InputError) {
      process.stderr.write(`sealguard backtest: ${e.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
  const recording: Recording = { snapshots: [], skipped: [] };
  const several = opts.files.length > 1;
  try {
    for (const file of opts.files) {
      const r = await readRecording(file);
      for (const s of r.snapshots) recording.snapshots.push(s);
      for (const s of r.skipped) recording.skipped.push(several ? { file, ...s } : s);
    }
  } catch (e) {
    if (e instanceof InputError) {
      process.stderr.write(`sealguard backtest: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  for (const s of recording.skipped.slice(0, 10)) {
    process.stderr.write(`sealguard backtest: ${s.file ?? opts.file}:${s.line} skipped (${s.reason})\n`);
  }
  if (recording.skipped.length > 10) {
    process.stderr.write(`sealguard backtest: ... ${recording.skipped.length - 10} more bad lines skipped\n`);
  }
  if (recording.snapshots.length === 0) {
    process.stderr.write(`sealguard backtest: ${opts.files.join(', ')} holds no valid snapshot\n`);
    return 2;
  }
  const showProgress = process.stderr.isTTY === true && recording.snapshots.length >= PROGRESS_MIN;
  const report = runBacktest(recording.snapshots, {
    triggers: opts.triggers,
    ...(showProgress ? { onProgress: progressBar } : {}),
  });
  if (showProgress) process.stderr.write('\n');
  const provisional = [...new Set(report.symbols.filter((s) => s.calendarWarning).map((s) => s.date))];
  if (provisional.length)
    process.stderr.write(
      `sealguard backtest: warning: ${provisional.join(', ')}: no exchange calendar data, replayed as provisional trading day(s)\n`,
    );
  report.skipped = recording.skipped;
  process.stdout.write((opts.json ? JSON.stringify(report) : formatBacktest(report)) + '\n');
  return 0;
}

function progressBar(done: number, total: number): void {
  const width = 30;
  const filled = Math.round((done / total) * width);
  process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
}
