/**
 * Replay a recording through the seal monitor and report, per symbol and seal segment, when each
 * trigger rule would have fired, whether the board broke, and what selling then was worth.
 *
 * Every enabled rule runs in its own monitor (so the report can say which one is early, late or
 * noisy) next to the combination the guard would actually run. Segments are numbered the same in
 * all monitors: forming and breaking a seal does not depend on the trigger settings.
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { z } from 'zod';
import { formatAmount } from '../domain/amounts.ts';
import { resolveLimits } from '../domain/limits.ts';
import { formatTicks, toTicks } from '../domain/prices.ts';
import { advance, initialMonitorState } from '../domain/sealMonitor.ts';
import type { MonitorEvent, MonitorState } from '../domain/sealMonitor.ts';
import { dayInfo } from '../domain/calendar.ts';
import { phaseAt } from '../domain/session.ts';
import { tryParseSymbol } from '../domain/symbols.ts';
import { exchangeDate, formatExchangeTime } from '../domain/time.ts';
import { describeEvidence, SEAL_RULES } from '../domain/triggers.ts';
import type { SealRule, TriggerConfig, TriggerEvidence, TriggerRule } from '../domain/triggers.ts';
import { InputError } from '../domain/types.ts';
import type { Snapshot, Ticks, Yuan } from '../domain/types.ts';
import { modelSale, type SaleModel } from './backtestFollow.ts';

const int = z.number().int();
const level = z.tuple([int.nonnegative(), int.nonnegative()]);
const snapshotSchema = z.object({
  symbol: z.string().regex(/^\d{6}\.(SH|SZ|BJ)$/),
  name: z.string(),
  source: z.string(),
  ts: int.positive(),
  status: z.enum(['normal', 'suspended', 'delisted', 'not-listed']),
  decimals: z.union([z.literal(2), z.literal(3)]),
  last: int.nonnegative(),
  prevClose: int.nonnegative(),
  open: int.nonnegative(),
  high: int.nonnegative(),
  low: int.nonnegative(),
  bids: z.array(level),
  asks: z.array(level),
  volume: z.number().nonnegative(),
  amount: z.number().nonnegative(),
  limitUp: int.nullable().optional(),
  limitDown: int.nullable().optional(),
  floatMarketCap: z.number().nonnegative().optional(),
});

export interface SkippedLine {
  /** Set when several recordings were read together. */
  file?: string;
  line: number;
  reason: string;
}

export interface Recording {
  snapshots: Snapshot[];
  skipped: SkippedLine[];
}

/** JSON lines, one Snapshot each; bad lines are skipped and listed with their line number. */
export function parseRecording(text: string): Recording {
  const snapshots: Snapshot[] = [];
  const skipped: SkippedLine[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] as string).trim();
    if (raw === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      skipped.push({ line: i + 1, reason: 'not valid JSON' });
      continue;
    }
    const parsed = snapshotSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      skipped.push({
        line: i + 1,
        reason: `${issue?.path.join('.') || 'line'}: ${issue?.message ?? 'invalid'}`,
      });
      continue;
    }
    snapshots.push(parsed.data as Snapshot);
  }
  return { snapshots, skipped };
}

/** Reads a .jsonl or .jsonl.gz recording. Throws InputError naming the file when it cannot. */
export async function readRecording(path: string): Promise<Recording> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new InputError(`cannot read recording ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch {
      throw new InputError(`recording ${path} looks gzipped but does not decompress`);
    }
  }
  return parseRecording(bytes.toString('utf8'));
}

export type Verdict = 'caught' | 'premature' | 'false-alarm' | 'missed' | 'held';

export interface TriggerOutcome {
  /** A single rule, or 'combined' (all enabled rules together, as the guard runs them). */
  name: SealRule | 'combined';
  firedAt: number | null;
  rule: TriggerRule | null;
  sealAmount: Yuan | null;
  evidence: string | null;
  /** Seconds from the trigger to the break; null when either did not happen. */
  leadSec: number | null;
  /** Sale price: the limit-up while sealed, bid1 after a break (onBreak). */
  salePrice: string | null;
  vsClosePct: number | null;
  vsLowAfterBreakPct: number | null;
  verdict: Verdict;
  /** The combined trigger only: the sell's life after it, with follow-through on and off. */
  follow?: { on: SaleModel; off: SaleModel };
}

export interface SegmentReport {
  segment: number;
  formedAt: number;
  formed: string;
  peak: Yuan;
  brokeAt: number | null;
  broke: string | null;
  /** Lowest trade price from the break to the close. */
  lowAfterBreak: string | null;
  triggers: TriggerOutcome[];
  combined: TriggerOutcome;
}

export interface SymbolReport {
  symbol: string;
  name: string;
  date: string;
  limitUp: string | null;
  limitDown: string | null;
  close: string | null;
  closedSealed: boolean;
  snapshots: number;
  segments: SegmentReport[];
  limitDownSeals: { sealedAt: string; openedAt: string | null; peak: Yuan }[];
  note?: string;
  /** Set when the date is not a known trading day: a provisional one (no calendar data for its year). */
  calendarWarning?: string;
}

export interface BacktestReport {
  triggers: TriggerConfig;
  snapshots: number;
  skipped: SkippedLine[];
  symbols: SymbolReport[];
}

export interface BacktestOptions {
  triggers: TriggerConfig;
  /** Shares the modelled sell is for. Default 10,000. */
  quantity?: number;
  /** Follow-through model (REPLACE_AFTER_MS, REPLACE_MAX). Defaults 2000, 5. */
  replaceAfterMs?: number;
  replaceMax?: number;
  sealConfirm?: number;
  onProgress?: (done: number, total: number) => void;
}

/** One monitor per enabled rule, plus the combination. */
function monitorConfigs(t: TriggerConfig): { name: SealRule | 'combined'; cfg: TriggerConfig }[] {
  const out: { name: SealRule | 'combined'; cfg: TriggerConfig }[] = [];
  const confirm = t.confirm ?? 0;
  for (const rule of SEAL_RULES) {
    if (t[rule] != null) out.push({ name: rule, cfg: { [rule]: t[rule], confirm } });
  }
  out.push({ name: 'combined', cfg: t });
  return out;
}

const hms = (ts: number): string => formatExchangeTime(ts).slice(11, 19);
const pctDiff = (a: Ticks, b: Ticks): number | null => (b > 0 ? Math.round(((a - b) * 1000) / b) / 10 : null);

export function runBacktest(all: Snapshot[], opts: BacktestOptions): BacktestReport {
  const groups = new Map<string, Snapshot[]>();
  for (const s of all) {
    const key = `${s.symbol} ${exchangeDate(s.ts)}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(s);
  }
  const symbols: SymbolReport[] = [];
  let done = 0;
  for (const [key, snaps] of groups) {
    snaps.sort((a, b) => a.ts - b.ts);
    symbols.push(backtestOne(key.split(' ')[1] as string, snaps, opts));
    done += snaps.length;
    opts.onProgress?.(done, all.length);
  }
  symbols.sort((a, b) =>
    a.symbol === b.symbol ? a.date.localeCompare(b.date) : a.symbol.localeCompare(b.symbol),
  );
  return { triggers: opts.triggers, snapshots: all.length, skipped: [], symbols };
}

function backtestOne(date: string, snaps: Snapshot[], opts: BacktestOptions): SymbolReport {
  const first = snaps[0] as Snapshot;
  const d = first.decimals;
  const lastTrade = [...snaps].reverse().find((s) => s.last > 0);
  const report: SymbolReport = {
    symbol: first.symbol,
    name: first.name,
    date,
    limitUp: null,
    limitDown: null,
    close: lastTrade ? formatTicks(lastTrade.last, d) : null,
    closedSealed: false,
    snapshots: snaps.length,
    segments: [],
    limitDownSeals: [],
  };
  // Answered by the rules on a day the calendar cannot vouch for, as limits --date does.
  const day = dayInfo(date);
  if (day.provisional && day.status !== 'closed')
    report.calendarWarning = `${date} is a provisional trading day (no exchange calendar data for ${date.slice(0, 4)}): replayed by the rules as a trading day`;
  const sec = tryParseSymbol(first.symbol);
  const ref = snaps.find((s) => s.prevClose > 0);
  const limits = sec && ref ? resolveLimits(sec, ref, date) : null;
  if (!limits) {
    report.note = sec ? 'no price limit today (or no prevClose): never sealed' : 'unknown symbol';
    return report;
  }
  report.limitUp = formatTicks(limits.up, d);
  report.limitDown = formatTicks(limits.down, d);
  report.closedSealed = lastTrade?.last === limits.up;
  const close = lastTrade?.last ?? 0;

  const monitors = monitorConfigs(opts.triggers).map((m) => ({
    ...m,
    state: initialMonitorState(first.symbol, date) as MonitorState,
    events: [] as MonitorEvent[],
  }));
  const peaks = new Map<number, Yuan>();
  const combined = monitors[monitors.length - 1]!;
  for (const s of snaps) {
    const ctx = {
      limits: { up: limits.up, down: limits.down },
      phase: phaseAt(s.ts, sec ?? undefined),
      now: s.ts,
      today: date,
      held: true,
      ...(opts.sealConfirm !== undefined ? { sealConfirm: opts.sealConfirm } : {}),
    };
    for (const m of monitors) advance(m.state, s, { ...ctx, triggers: m.cfg }, m.events);
    const st = combined.state;
    if (st.segment > 0 && st.status !== 'broken' && st.status !== 'idle' && st.status !== 'sealing') {
      peaks.set(st.segment, st.segmentPeak);
    }
  }

  const lowAfter = (from: number): Ticks | null => {
    let low: Ticks | null = null;
    for (const s of snaps) if (s.ts >= from && s.last > 0 && (low === null || s.last < low)) low = s.last;
    return low;
  };

  for (const e of combined.events) {
    if (e.type === 'SealFormed' || e.type === 'Resealed') {
      report.segments.push({
        segment: e.segment,
        formedAt: e.at,
        formed: hms(e.at),
        peak: 0,
        brokeAt: null,
        broke: null,
        lowAfterBreak: null,
        triggers: [],
        combined: undefined as unknown as TriggerOutcome,
      });
    } else if (e.type === 'BoardBroken') {
      const seg = report.segments.find((x) => x.segment === e.segment);
      if (seg) {
        seg.brokeAt = e.at;
        seg.broke = hms(e.at);
        const low = lowAfter(e.at);
        seg.lowAfterBreak = low === null ? null : formatTicks(low, d);
      }
    } else if (e.type === 'LimitDownSealed') {
      report.limitDownSeals.push({ sealedAt: hms(e.at), openedAt: null, peak: e.sealAmount });
    } else if (e.type === 'LimitDownOpened') {
      const open = report.limitDownSeals[report.limitDownSeals.length - 1];
      if (open) {
        open.openedAt = hms(e.at);
        open.peak = e.peak;
      }
    }
  }
  if (combined.state.down.status === 'sealed') {
    const open = report.limitDownSeals[report.limitDownSeals.length - 1];
    if (open) open.peak = combined.state.down.peak;
  }

  for (const seg of report.segments) {
    seg.peak = peaks.get(seg.segment) ?? 0;
    const breakBid = (
      combined.events.find((e) => e.type === 'BoardBroken' && e.segment === seg.segment) as
        Extract<MonitorEvent, { type: 'BoardBroken' }> | undefined
    )?.bid1;
    const low = seg.lowAfterBreak === null ? null : lowAfter(seg.brokeAt as number);
    const outcomes = monitors.map((m) => {
      const fired = m.events.find(
        (e): e is Extract<MonitorEvent, { type: 'Triggered' }> =>
          e.type === 'Triggered' && e.evidence.segment === seg.segment,
      );
      return outcome(
        m.name,
        fired?.evidence ?? null,
        seg,
        limits.up,
        breakBid ?? null,
        close,
        low,
        report.closedSealed,
        d,
      );
    });
    seg.combined = outcomes.pop() as TriggerOutcome;
    seg.triggers = outcomes;
    const ev = combined.events.find(
      (e): e is Extract<MonitorEvent, { type: 'Triggered' }> =>
        e.type === 'Triggered' && e.evidence.segment === seg.segment,
    );
    const at = ev ? snaps.findIndex((x) => x.ts >= ev.evidence.at) : -1;
    if (ev && at >= 0 && sec) {
      const model = (chase: boolean) =>
        modelSale({
          snaps,
          from: at,
          quantity: opts.quantity ?? 10_000,
          price: seg.combined.salePrice === null ? limits.up : toTicks(seg.combined.salePrice, d),
          limits: { up: limits.up, down: limits.down },
          sec,
          config: {
            chase,
            replaceAfterMs: opts.replaceAfterMs ?? 2000,
            replaceMax: opts.replaceMax ?? 5,
            floor: null,
          },
        });
      seg.combined.follow = { on: model(true), off: model(false) };
    }
  }
  return report;
}

function outcome(
  name: SealRule | 'combined',
  ev: TriggerEvidence | null,
  seg: SegmentReport,
  limitUp: Ticks,
  breakBid: Ticks | null,
  close: Ticks,
  lowAfterBreak: Ticks | null,
  closedSealed: boolean,
  d: 2 | 3,
): TriggerOutcome {
  const broke = seg.brokeAt !== null;
  let verdict: Verdict;
  if (!ev) verdict = broke ? 'missed' : 'held';
  else if (!broke) verdict = 'false-alarm';
  else verdict = closedSealed ? 'premature' : 'caught';
  const sale = ev ? (ev.rule === 'onBreak' ? breakBid : limitUp) : null;
  return {
    name,
    firedAt: ev?.at ?? null,
    rule: ev?.rule ?? null,
    sealAmount: ev?.sealAmount ?? null,
    evidence: ev ? describeEvidence(ev) : null,
    leadSec: ev && seg.brokeAt !== null ? Math.round((seg.brokeAt - ev.at) / 1000) : null,
    salePrice: sale === null ? null : formatTicks(sale, d),
    vsClosePct: sale === null ? null : pctDiff(sale, close),
    vsLowAfterBreakPct: sale === null || lowAfterBreak === null ? null : pctDiff(sale, lowAfterBreak),
    verdict,
  };
}

const VERDICT_TEXT: Record<Verdict, string> = {
  caught: 'caught: sold before the break',
  premature: 'premature exit: the board broke but re-sealed and closed at the limit',
  'false-alarm': 'false alarm: the seal held, sold a board that never broke',
  missed: 'missed: the board broke with no trigger',
  held: 'held: no trigger, no break',
};

const signed = (n: number): string => `${n >= 0 ? '+' : ''}${n}%`;

function describeThreshold(t: TriggerConfig): string {
  const parts: string[] = [];
  if (t.amount != null) parts.push(`amount < ${formatAmount(t.amount)}`);
  if (t.dropFromPeak != null) parts.push(`drop from peak >= ${t.dropFromPeak}%`);
  if (t.dropInWindow != null) parts.push(`drop >= ${t.dropInWindow.pct}% in ${t.dropInWindow.windowSec}s`);
  if (t.capRatio != null) parts.push(`seal < ${t.capRatio}% of float cap`);
  if (t.confirm) parts.push(`confirm ${t.confirm}`);
  return parts.join(', ');
}

function outcomeLine(o: TriggerOutcome): string {
  const label = o.name.padEnd(12);
  if (o.firedAt === null) return `    ${label} did not fire — ${VERDICT_TEXT[o.verdict]}`;
  const parts = [`fired ${hms(o.firedAt)}`];
  if (o.name === 'combined' && o.rule) parts.push(`(${o.rule})`);
  parts.push(`${o.evidence}`);
  if (o.leadSec !== null) parts.push(`— ${o.leadSec} s before the break`);
  let sale = '';
  if (o.salePrice !== null) {
    sale = `; sell ${o.salePrice}`;
    if (o.vsClosePct !== null) sale += ` ${signed(o.vsClosePct)} vs close`;
    if (o.vsLowAfterBreakPct !== null) sale += `, ${signed(o.vsLowAfterBreakPct)} vs low after the break`;
  }
  return `    ${label} ${parts.join(' ')}${sale} — ${VERDICT_TEXT[o.verdict]}`;
}

function saleLine(m: SaleModel): string {
  const head = `    chase ${m.chase ? 'on ' : 'off'}    `;
  const sold =
    m.sold > 0
      ? `sold ${m.sold} avg ${m.avgPrice} (${m.vsLimitUpPct !== null ? signed(m.vsLimitUpPct) : '-'} vs all at the limit-up)`
      : 'sold nothing';
  const left = m.left > 0 ? `, ${m.left} left unsold` : '';
  return `${head}${sold}${left}, ${m.replacements} replacement(s): ${m.steps}`;
}

/** The human report. */
export function formatBacktest(r: BacktestReport): string {
  const out: string[] = [`Backtest: ${describeThreshold(r.triggers)} over ${r.snapshots} snapshots`];
  if (r.skipped.length > 0) out.push(`(${r.skipped.length} bad line(s) skipped)`);
  for (const s of r.symbols) {
    out.push('');
    const head = `${s.symbol} ${s.name} ${s.date}`;
    if (s.calendarWarning) out.push(`⚠️ ${s.calendarWarning}`);
    if (s.note) {
      out.push(`${head}: ${s.note}`);
      continue;
    }
    out.push(`${head}  limit-up ${s.limitUp}  close ${s.close ?? '-'}${s.closedSealed ? ' (sealed)' : ''}`);
    if (s.segments.length === 0 && s.limitDownSeals.length === 0) out.push('  never sealed');
    for (const seg of s.segments) {
      out.push(
        `  segment ${seg.segment}: formed ${seg.formed}, peak ${formatAmount(seg.peak)}, ` +
          (seg.broke ? `broke ${seg.broke}` : 'held to the close'),
      );
      for (const o of seg.triggers) out.push(outcomeLine(o));
      out.push(outcomeLine(seg.combined));
      if (seg.combined.follow)
        for (const m of [seg.combined.follow.on, seg.combined.follow.off]) out.push(saleLine(m));
    }
    for (const dseal of s.limitDownSeals) {
      out.push(
        `  limit-down seal ${dseal.sealedAt}–${dseal.openedAt ?? 'close'}, peak ${formatAmount(dseal.peak)} (reported only, never sold on)`,
      );
    }
  }
  return out.join('\n');
}
