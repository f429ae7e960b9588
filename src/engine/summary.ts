/**
 * The day in words: the 15:05 daily summary (and `/summary [date]` on demand), the 09:00
 * pre-open briefing, and the seal charts that go with the summary. Reads the day's history
 * (dayReport.ts) so a past date reads exactly what was recorded; today's report also takes the
 * live positions and quotes. Plain, compact, Chinese+English like the notifications.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Position } from '../broker/broker.ts';
import { formatAmount } from '../domain/amounts.ts';
import { dayInfo, marketCalendar, nextTradingDay, prevTradingDay } from '../domain/calendar.ts';
import type { Clock } from '../domain/clock.ts';
import { limitPrices } from '../domain/limits.ts';
import { describeTriggers } from '../domain/triggers.ts';
import { formatTicks, toTicks } from '../domain/prices.ts';
import { isRiskWarningName, parseSymbol } from '../domain/symbols.ts';
import { addDays, exchangeDate, exchangeTs, formatExchangeTime, parseDate } from '../domain/time.ts';
import type { Snapshot } from '../domain/types.ts';
import type { EventLog } from '../store/eventLog.ts';
import { RECORD_QUEUE, type EventBus } from './bus.ts';
import { sealChartPng } from './chart.ts';
import { CLOSE, readDayLine } from './dayLines.ts';
import { collectDay, type DayRecorder, type DayReport, type StockReport } from './dayReport.ts';
import type { GuardEvent } from './events.ts';
import type { Guard } from './guard.ts';
import { readPastDay } from './pastDay.ts';

const hms = (ts: number) => formatExchangeTime(ts).slice(11, 19);
/** A report with more stocks than this lists the rest by name only (chat messages stay readable). */
const MAX_STOCKS = 20;
const MAX_INCIDENTS = 8;
/** Charts per summary: Telegram shows each as a photo, so keep the chat from flooding. */
const MAX_CHARTS = 6;
const CHART_RETENTION_DAYS = 30;

function decimalsOf(symbol: string): 2 | 3 {
  try {
    return parseSymbol(symbol).decimals;
  } catch {
    return 2;
  }
}

/** Signed yuan of (a - b) per share × shares, from decimal price strings; undefined if unparsable. */
function pnl(a: string, b: string, shares: number, decimals: 2 | 3): number | undefined {
  try {
    const ticks = toTicks(a, decimals) - toTicks(b, decimals);
    return (ticks * shares) / 10 ** decimals;
  } catch {
    return undefined;
  }
}

function signed(yuan: number): string {
  return `${yuan > 0 ? '+' : ''}${formatAmount(yuan)}`;
}

function pctChange(a: string, b: string, decimals: 2 | 3): string {
  try {
    const x = toTicks(a, decimals);
    const y = toTicks(b, decimals);
    if (y <= 0) return '';
    const p = Math.round(((x - y) * 1000) / y) / 10;
    return `${p > 0 ? '+' : ''}${p}%`;
  } catch {
    return '';
  }
}

/** The summary text for a report. `now` decides "sealed to the close" versus "sealed now". */
export function renderSummary(report: DayReport, now: number): { title: string; lines: string[] } {
  const closed = now >= exchangeTs(report.date, '15:00:00');
  const title = `📊 Daily summary 每日总结 ${report.date}${closed ? '' : ` (so far, ${hms(now)})`}`;
  const lines: string[] = [];
  const day = dayInfo(report.date);
  if (day.status === 'closed') lines.push('Not a trading day 非交易日.');
  else if (day.status === 'candidate')
    lines.push('Provisional trading day 临时交易日: the market has not confirmed it open.');
  else if (day.source === 'observed')
    lines.push('Trading day confirmed by the market 行情确认开市 (provisional calendar).');
  const eventful = report.stocks.some((r) => r.segments.length || r.triggers.length || r.sells.length);
  if (!eventful) lines.push('No seal, trigger or sell recorded 今日无封板/触发/卖出.');
  for (const r of report.stocks.slice(0, MAX_STOCKS)) lines.push(...stockLines(r, closed));
  if (report.stocks.length > MAX_STOCKS)
    lines.push(
      `…and ${report.stocks.length - MAX_STOCKS} more: ${report.stocks
        .slice(MAX_STOCKS)
        .map((r) => r.symbol)
        .join(', ')}`,
    );
  if (report.incidents.length > 0) {
    lines.push(`Incidents 异常 (${report.incidents.length}):`);
    for (const i of report.incidents.slice(0, MAX_INCIDENTS)) lines.push(`  ${hms(i.at)} ${i.text}`);
    if (report.incidents.length > MAX_INCIDENTS)
      lines.push(`  …and ${report.incidents.length - MAX_INCIDENTS} more`);
  } else lines.push('Incidents 异常: none 无');
  return { title, lines };
}

function stockLines(r: StockReport, closed: boolean): string[] {
  const d = decimalsOf(r.symbol);
  const head = [`${r.name} ${r.symbol}`];
  if (r.limitUp) head.push(`涨停 ${r.limitUp}`);
  // Only a price seen at or after 15:00 is the close; anything earlier says when it was seen.
  const isClose = r.closeTs !== undefined && r.closeTs >= exchangeTs(exchangeDate(r.closeTs), '15:00:00');
  const vs = isClose ? 'vs close' : 'vs last';
  if (r.close) {
    const vsPrev = r.prevClose ? ` (${pctChange(r.close, r.prevClose, d)})` : '';
    const when = isClose || r.closeTs === undefined ? '' : ` @${hms(r.closeTs)}`;
    head.push(`${isClose ? 'close 收盘' : 'last 最新'} ${r.close}${vsPrev}${when}`);
  }
  if (r.sealedAtLast) head.push(isClose || closed ? '封板收盘 closed sealed' : '封板中 sealed now');
  else if (r.sealedAtLast === false && r.segments.length > 0 && isClose) head.push('未封收盘 closed open');
  if (!r.close) head.push('no quote today 今日无行情');
  const out = [head.join(' · ')];
  for (const s of r.segments) {
    const start = `${s.resealed ? '回封 re-sealed' : '封板 sealed'} ${hms(s.start)}`;
    const end =
      s.broke !== undefined
        ? `炸板 broke ${hms(s.broke)}${s.brokeLast ? ` (last ${s.brokeLast})` : ''}`
        : closed
          ? '封板至收盘 held to the close'
          : '封板中 sealed now';
    out.push(`  #${s.n} ${start} → ${end} · peak ${s.peak > 0 ? formatAmount(s.peak) : '—'}`);
  }
  if (r.segments.length > 1 && r.dayPeak > 0) out.push(`  Day peak 最高封单 ${formatAmount(r.dayPeak)}`);
  for (const t of r.triggers) {
    const what = t.noSellReason ? ` · no sell: ${t.noSellReason}` : t.outcome ? ` · ${t.outcome}` : '';
    out.push(`  ⚡ ${hms(t.at)} trigger 触发 ${t.rule} (${t.mode}): ${t.evidence}${what}`);
  }
  const cost = r.holding?.avgCost;
  for (const s of r.sells) {
    const price = s.avgPrice ?? s.limitPrice;
    const parts = [`  📤 ${hms(s.at)} sell 卖出 ${s.quantity} @ ${s.limitPrice} → ${s.status}`];
    if (s.filled > 0) {
      parts.push(`filled ${s.filled}${s.avgPrice ? ` @ ${s.avgPrice}` : ''}`);
      if (r.close) {
        const v = pnl(price, r.close, s.filled, d);
        if (v !== undefined) parts.push(`${vs} ${signed(v)}`);
      }
      if (cost) {
        const v = pnl(price, cost, s.filled, d);
        if (v !== undefined) parts.push(`vs cost ${cost}: ${signed(v)}`);
      }
    }
    if (s.error) parts.push(s.error);
    out.push(parts.join(' · '));
    if (s.follow) out.push(`    ↳ follow-through: ${s.follow}`);
  }
  if (r.holding && r.holding.quantity > 0) {
    const parts = [`  Holding 持仓 ${r.holding.quantity}`];
    if (cost && r.close) {
      const v = pnl(r.close, cost, r.holding.quantity, d);
      if (v !== undefined) parts.push(`cost ${cost} → ${signed(v)} (${pctChange(r.close, cost, d)})`);
    }
    out.push(parts.join(' · '));
  }
  return out;
}

export interface DaySummariesOptions {
  guard: Guard;
  eventLog: EventLog;
  bus: EventBus;
  clock: Clock;
  dataDir: string;
  recorder: DayRecorder;
  log?: { warn(details: object, message: string): void };
}

/** The summary provider for GuardApi, and the two scheduled jobs. */
export class DaySummaries {
  readonly chartsDir: string;

  constructor(private readonly o: DaySummariesOptions) {
    this.chartsDir = join(o.dataDir, 'charts');
  }

  /** Lets the recorder see guard events (cost of a held stock at its first seal). */
  start(): () => void {
    return this.o.bus.subscribe('day-report', (e) => this.o.recorder.onEvent(e), { maxQueue: RECORD_QUEUE });
  }

  private livePositions(): Position[] {
    return this.o.guard
      .watchedSymbols()
      .map((s) => this.o.guard.position(s))
      .filter((p): p is Position => p !== undefined);
  }

  async report(date: string): Promise<DayReport> {
    return (await this.dayReport(date)).report;
  }

  /** The report, and for an earlier day whose archive cannot be read, why (its sells may be missing). */
  private async dayReport(date: string): Promise<{ report: DayReport; archiveProblem?: string }> {
    parseDate(date);
    await this.o.recorder.flushed();
    const today = exchangeDate(this.o.clock.now());
    const events = await this.o.eventLog.readDay(date);
    if (date !== today) {
      // An earlier day's sells are in its archive (DATA_DIR/history), not in orders.json.
      const past = await readPastDay(this.o.guard.stores, date);
      const report = this.told(collectDay({ date, events, intents: past.intents, chains: past.follow }));
      return typeof past.archive === 'object' ? { report, archiveProblem: past.archive.problem } : { report };
    }
    const intents = Object.values(this.o.guard.stores.orders.data.intents).filter((i) => i.day === date);
    const chains = Object.values(this.o.guard.stores.orders.data.follow ?? {}).filter((c) => c.day === date);
    const quotes = new Map<string, Snapshot>();
    const sealedNow = new Map<string, boolean>();
    const watched: { symbol: string; name: string }[] = [];
    const g = this.o.guard;
    for (const s of g.watchedSymbols()) {
      const q = g.lastSnapshot(s);
      if (q) {
        quotes.set(s, q);
        sealedNow.set(s, !!g.marketView(s)?.sealedNow);
      }
      watched.push({
        symbol: s,
        name: q?.name ?? g.stores.settings.data.watches[s]?.name ?? g.position(s)?.name ?? '',
      });
    }
    return {
      report: this.told(
        collectDay({
          date,
          events,
          intents,
          chains,
          positions: this.livePositions(),
          quotes,
          watched,
          sealedNow,
        }),
      ),
    };
  }

  /** Says when history lines were left out, so a thin report can be traced to its file. */
  private told(report: DayReport): DayReport {
    if (report.skipped > 0)
      this.o.log?.warn(
        { date: report.date, skipped: report.skipped, file: this.o.eventLog.fileFor(report.date) },
        'day report: left out event-log lines of an unknown type or shape',
      );
    return report;
  }

  /** GuardApi's summary provider: today's or a past date's summary as text. */
  async text(date: string): Promise<string> {
    const { report, archiveProblem } = await this.dayReport(date);
    const r = renderSummary(report, this.o.clock.now());
    return [r.title, ...r.lines, ...archiveWarning(archiveProblem)].join('\n');
  }

  /** Writes one PNG per stock that sealed; returns what was written. */
  async charts(report: DayReport): Promise<{ symbol: string; name: string; file: string }[]> {
    const dir = join(this.chartsDir, report.date);
    const out: { symbol: string; name: string; file: string }[] = [];
    const sealed = report.stocks
      .filter((r) => r.segments.length > 0 && r.series.length > 0)
      .sort((a, b) => b.dayPeak - a.dayPeak)
      .slice(0, MAX_CHARTS);
    if (sealed.length === 0) return out;
    await mkdir(dir, { recursive: true });
    for (const r of sealed) {
      const png = sealChartPng({
        title: `${r.symbol}  ${report.date}  seal`,
        points: r.series,
        threshold: this.o.guard.effectiveTriggers(r.symbol).amount ?? null,
      });
      const file = join(dir, `${r.symbol}.png`);
      await writeFile(file, png);
      out.push({ symbol: r.symbol, name: r.name, file });
    }
    await this.pruneCharts(report.date);
    return out;
  }

  private async pruneCharts(today: string): Promise<void> {
    const cutoff = addDays(today, -CHART_RETENTION_DAYS);
    const days = await readdir(this.chartsDir).catch(() => [] as string[]);
    for (const d of days)
      if (/^\d{4}-\d{2}-\d{2}$/.test(d) && d < cutoff)
        await rm(join(this.chartsDir, d), { recursive: true, force: true });
  }

  /** The 15:05 job: record the closes and holdings, then publish the summary with its charts. */
  async runSummary(date: string): Promise<GuardEvent> {
    const today = date === exchangeDate(this.o.clock.now());
    if (today) {
      const symbols = new Set(this.o.guard.watchedSymbols());
      // Stocks sold out today are no longer watched, but their close is what the sale is judged by.
      for (const i of Object.values(this.o.guard.stores.orders.data.intents))
        if (i.day === date) symbols.add(i.symbol);
      await this.o.recorder.recordCloses(date, [...symbols]);
      await this.o.recorder.recordHoldings(this.livePositions());
    }
    const { report, archiveProblem } = await this.dayReport(date);
    const rendered = renderSummary(report, this.o.clock.now());
    const { title } = rendered;
    const lines = [...rendered.lines, ...archiveWarning(archiveProblem)];
    let charts: Awaited<ReturnType<DaySummaries['charts']>> = [];
    try {
      charts = await this.charts(report);
    } catch (err) {
      this.o.log?.warn({ err }, 'seal charts could not be written');
    }
    const e: GuardEvent = {
      type: 'DailySummary',
      at: this.o.clock.now(),
      kind: 'summary',
      date,
      title,
      text: lines.join('\n'),
      ...(charts.length ? { charts } : {}),
    };
    this.o.bus.publish(e);
    return e;
  }

  /** The 09:00 job: holdings, today's limit-up prices, thresholds and modes. */
  async runBriefing(date: string): Promise<GuardEvent> {
    const positions = (await this.o.guard.refreshPositions()) ?? this.livePositions();
    await this.o.recorder.recordHoldings(positions);
    const { title, lines } = await this.briefing(date, positions);
    const e: GuardEvent = {
      type: 'DailySummary',
      at: this.o.clock.now(),
      kind: 'briefing',
      date,
      title,
      text: lines.join('\n'),
    };
    this.o.bus.publish(e);
    return e;
  }

  async briefing(date: string, positions: Position[]): Promise<{ title: string; lines: string[] }> {
    const g = this.o.guard;
    const bases = await this.prevCloses(date);
    const held = new Map(positions.filter((p) => p.quantity > 0).map((p) => [p.symbol, p]));
    const watched = g.watchedSymbols();
    const lines: string[] = [
      `Default 默认: mode ${g.modeOf('')} · trigger ${describeTriggers(g.effectiveTriggers(undefined))}${g.paused ? ' · ⏸ auto-sell PAUSED 已暂停' : ''}`,
    ];
    const day = dayInfo(date);
    if (day.source === 'observed' && day.status === 'open')
      lines.push(
        `Today is a provisional trading day, confirmed open by the market 行情确认开市 (${day.note ?? ''}).`,
      );
    const next = dayInfo(nextTradingDay(date));
    lines.push(
      `Next trading day 下一交易日 ${next.date}${next.status === 'candidate' ? ' (provisional 待行情确认)' : ''}`,
    );
    const warning = marketCalendar.warning(date);
    if (warning) lines.push(`⚠️ ${warning}`);
    const row = (symbol: string): string => {
      const p = held.get(symbol);
      const name =
        p?.name ?? g.lastSnapshot(symbol)?.name ?? g.stores.settings.data.watches[symbol]?.name ?? '';
      const parts = [`${name} ${symbol}`.trim()];
      if (p) parts.push(`${p.quantity} (sellable ${p.sellable})${p.avgCost ? ` cost ${p.avgCost}` : ''}`);
      parts.push(this.limitUpText(symbol, name, date, bases.get(symbol)));
      const own = g.stores.settings.data.watches[symbol];
      if (own?.triggers || own?.mode)
        parts.push(`trigger ${describeTriggers(g.effectiveTriggers(symbol))} · ${g.modeOf(symbol)}`);
      return `  ${parts.join(' · ')}`;
    };
    const heldWatched = watched.filter((s) => held.has(s));
    const others = watched.filter((s) => !held.has(s));
    lines.push(`Holdings 持仓 (${held.size}):`);
    if (held.size === 0) lines.push('  none 无');
    for (const s of heldWatched.slice(0, MAX_STOCKS)) lines.push(row(s));
    const unwatched = [...held.keys()].filter((s) => !watched.includes(s));
    if (unwatched.length) lines.push(`  not watched 未盯: ${unwatched.join(', ')}`);
    if (others.length) {
      lines.push(`Watching 盯板 (${others.length}):`);
      for (const s of others.slice(0, MAX_STOCKS)) lines.push(row(s));
      if (others.length > MAX_STOCKS) lines.push(`  …and ${others.length - MAX_STOCKS} more (/list)`);
    }
    // Only before the 09:30 open is it a pre-open briefing; a later start gets the same as a status.
    const now = this.o.clock.now();
    const preOpen = exchangeDate(now) !== date || now < exchangeTs(date, '09:30:00');
    const title = preOpen
      ? `🌅 Pre-open briefing 盘前简报 ${date}`
      : `📋 Status 盘中状态 ${date} ${hms(now).slice(0, 5)}`;
    return { title, lines };
  }

  private limitUpText(symbol: string, name: string, date: string, base: string | undefined): string {
    if (!base) return '涨停 — (no previous close yet)';
    try {
      const sec = parseSymbol(symbol);
      const lim = limitPrices(sec, toTicks(base, sec.decimals), { date, st: isRiskWarningName(name) });
      if (!lim) return '无涨跌幅 no limit today';
      return `涨停 ${formatTicks(lim.up, sec.decimals)} (+${lim.pct}% on ${base})`;
    } catch {
      return '涨停 —';
    }
  }

  /** Yesterday's close per symbol: the last quote this process saw, else the recorded closes. */
  private async prevCloses(date: string): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    // The previous trading day with recorded closes. Across a year end the days before are
    // provisional candidates, some of them in fact closed (never observed while the process was
    // down): look back a few candidates rather than trust the first.
    let prev = date;
    for (let i = 0; i < 5 && out.size === 0; i++) {
      prev = prevTradingDay(prev);
      for (const raw of await this.o.eventLog.readDay(prev)) {
        const e = readDayLine(raw);
        if (e?.type === CLOSE) out.set(e.symbol, e.last);
      }
      if (!dayInfo(prev).provisional) break;
    }
    for (const symbol of this.o.guard.watchedSymbols()) {
      const s = this.o.guard.lastSnapshot(symbol);
      if (!s) continue;
      const d = exchangeDate(s.ts);
      if (d === date && s.prevClose > 0) out.set(symbol, formatTicks(s.prevClose, s.decimals));
      else if (d < date && s.last > 0 && s.status === 'normal')
        out.set(symbol, formatTicks(s.last, s.decimals));
    }
    return out;
  }
}

function archiveWarning(problem: string | undefined): string[] {
  return problem
    ? [`⚠️ The day's order archive cannot be read, so its sells may be missing here: ${problem}`]
    : [];
}
