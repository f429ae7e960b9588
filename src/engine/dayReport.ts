/**
 * What happened in one trading day, collected from the day's history: the guard events the app
 * appends to the event log, the seal samples and close records this module adds to it, and the
 * sell intents in orders.json (the source of truth for sells: an event can be lost, an intent
 * cannot). Collection is pure (collectDay); rendering lives in summary.ts.
 *
 * Recording is kept cheap: a stock is sampled once per market minute, and only after it sealed
 * today (a chart is only drawn for stocks that sealed), so 5,000 quiet watched stocks cost one
 * Map lookup per snapshot each.
 */
import type { Position } from '../broker/broker.ts';
import { formatTicks, toTicks } from '../domain/prices.ts';
import { tryParseSymbol } from '../domain/symbols.ts';
import { sealAmountUp } from '../domain/seal.ts';
import { phaseAt } from '../domain/session.ts';
import { describeEvidence } from '../domain/triggers.ts';
import { exchangeDate, exchangeTs } from '../domain/time.ts';
import type { Snapshot } from '../domain/types.ts';
import type { EventLog } from '../store/eventLog.ts';
import type { SealPoint } from './chart.ts';
import type { GuardEvent } from './events.ts';
import type { Guard } from './guard.ts';
import type { FollowChain } from '../domain/followThrough.ts';
import { chainText } from './followThrough.ts';
import type { Intent } from './state.ts';
import {
  CLOSE,
  COST,
  HOLDINGS,
  readDayLines,
  SEAL_SAMPLE,
  type CloseLine,
  type HoldingsLine,
  type RecorderLine,
  type SealSampleLine,
} from './dayLines.ts';

export { CLOSE, COST, HOLDINGS, SEAL_SAMPLE } from './dayLines.ts';
export type { CloseLine, CostLine, HoldingsLine, SealSampleLine } from './dayLines.ts';

export interface DayRecorderOptions {
  guard: Guard;
  eventLog: EventLog;
  now: () => number;
  onError?: (err: unknown) => void;
}

/** Writes the seal series, the closes and the holdings into the day's event history. */
export class DayRecorder {
  private readonly minute = new Map<string, number>();
  private failed = false;

  constructor(private readonly o: DayRecorderOptions) {}

  /** Call after the guard has processed the snapshot (its monitor then shows this snapshot). */
  onSnapshot(s: Snapshot): void {
    const bucket = Math.floor(s.ts / 60_000);
    if (this.minute.get(s.symbol) === bucket) return;
    const st = this.o.guard.monitorStates().get(s.symbol);
    if (!st || st.segment === 0 || st.day !== exchangeDate(s.ts)) return;
    // Auction books (bid1 == ask1, indicative) are not seals; the monitor ignores them too.
    if (phaseAt(s.ts) !== 'continuous') return;
    this.minute.set(s.symbol, bucket);
    const view = this.o.guard.marketView(s.symbol);
    const line: SealSampleLine = {
      ts: s.ts,
      type: SEAL_SAMPLE,
      symbol: s.symbol,
      name: s.name,
      seal: view?.sealedNow ? sealAmountUp(s) : 0,
      seg: st.segment,
      segPeak: st.segmentPeak,
      dayPeak: st.dayPeak,
      last: formatTicks(s.last, s.decimals),
      ...(view?.limits ? { limitUp: formatTicks(view.limits.up, s.decimals) } : {}),
    };
    this.append(line);
  }

  /** The day's last quote of every watched stock (the close, once the market has closed). */
  recordCloses(date: string, symbols: string[] = this.o.guard.watchedSymbols()): Promise<void> {
    const lines: CloseLine[] = [];
    const now = this.o.now();
    for (const symbol of symbols) {
      const s = this.o.guard.lastSnapshot(symbol);
      if (!s || exchangeDate(s.ts) !== date || !(s.last > 0)) continue;
      const view = this.o.guard.marketView(symbol);
      const up = view?.limits?.up;
      lines.push({
        // The quote's own time: a stock no longer polled has an older last price, not a close.
        ts: Math.min(now, Math.max(s.ts, exchangeTs(date, '00:00:00'))),
        type: CLOSE,
        symbol,
        name: s.name,
        last: formatTicks(s.last, s.decimals),
        prevClose: formatTicks(s.prevClose, s.decimals),
        ...(up !== undefined ? { limitUp: formatTicks(up, s.decimals) } : {}),
        sealed: !!view?.sealedNow,
      });
    }
    return Promise.all(lines.map((l) => this.append(l))).then(() => undefined);
  }

  /**
   * Guard events the recorder reacts to: the first seal of a held stock records its cost, because
   * once it is sold out the broker no longer reports it and the summary still prices the sale.
   */
  onEvent(e: GuardEvent): void {
    if (e.type !== 'SealFormed' && e.type !== 'SellTriggered') return;
    const key = `${exchangeDate(e.at)}|${e.symbol}`;
    if (this.costed.has(key)) return;
    const p = this.o.guard.position(e.symbol);
    if (!p?.avgCost) return;
    this.costed.add(key);
    void this.append({ ts: e.at, type: COST, symbol: e.symbol, quantity: p.quantity, avgCost: p.avgCost });
  }

  private readonly costed = new Set<string>();

  /** Holdings with their cost, so a later summary can price sells against cost. */
  recordHoldings(positions: Position[]): Promise<void> {
    const line: HoldingsLine = {
      ts: this.o.now(),
      type: HOLDINGS,
      positions: positions.map((p) => ({
        symbol: p.symbol,
        ...(p.name ? { name: p.name } : {}),
        quantity: p.quantity,
        sellable: p.sellable,
        ...(p.avgCost ? { avgCost: p.avgCost } : {}),
      })),
    };
    return this.append(line);
  }

  /** Resolves when every line handed over so far is on disk (the log appends in call order). */
  flushed(): Promise<void> {
    return this.tail;
  }

  private tail: Promise<void> = Promise.resolve();

  private append(line: RecorderLine): Promise<void> {
    const p = this.o.eventLog.append(line).catch((err: unknown) => {
      // History is best effort: report the first failure, never disturb the trading path.
      if (!this.failed) this.o.onError?.(err);
      this.failed = true;
    });
    this.tail = p;
    return p;
  }
}

// ---- collection ---------------------------------------------------------------------------

export interface SegmentReport {
  n: number;
  start: number;
  /** A re-seal after a break (segment > 1). */
  resealed: boolean;
  peak: number;
  /** When the board broke; undefined while sealed or when it closed sealed. */
  broke?: number;
  brokeLast?: string;
}

export interface TriggerReport {
  at: number;
  rule: string;
  evidence: string;
  mode: string;
  noSellReason?: string;
  /** Confirm outcome (sold / held / expired...), when there was one. */
  outcome?: string;
}

export interface SellReport {
  clientOrderId: string;
  at: number;
  rule: string;
  quantity: number;
  filled: number;
  limitPrice: string;
  avgPrice?: string;
  /** The broker's order status, or the intent state when no order came back. */
  status: string;
  error?: string;
  /** The segment's follow-through, when it had one: the steps and the result vs the limit-up and close. */
  follow?: string;
}

export interface StockReport {
  symbol: string;
  name: string;
  limitUp?: string;
  segments: SegmentReport[];
  dayPeak: number;
  triggers: TriggerReport[];
  sells: SellReport[];
  /** Last price recorded on the day: the close once the day is over. */
  close?: string;
  /** When `close` was seen; a price from before 15:00 is only the last one seen. */
  closeTs?: number;
  prevClose?: string;
  /** The last quote of the day showed the board sealed (closed sealed, once the day is over). */
  sealedAtLast?: boolean;
  holding?: { quantity: number; avgCost?: string };
  /** Per-minute seal samples, for the chart. */
  series: SealPoint[];
}

export interface Incident {
  at: number;
  kind: 'FeedStale' | 'SourceChanged' | 'BrokerDown' | 'BrokerUp' | 'LimitMismatch';
  text: string;
}

export interface DayReport {
  date: string;
  stocks: StockReport[];
  incidents: Incident[];
  /** Event-log lines left out as unknown or ill-formed (a torn write, an older version's line). */
  skipped: number;
}

export interface CollectInput {
  date: string;
  /** The day's event-log lines as read from the file; each is checked before it is used. */
  events: readonly unknown[];
  intents: Intent[];
  /** Follow-through chains of the day (orders.json `follow`), told with their first sell. */
  chains?: FollowChain[];
  /** Live knowledge when the report is for today: newest positions and quotes win over history. */
  positions?: Position[];
  quotes?: Map<string, Pick<Snapshot, 'ts' | 'last' | 'prevClose' | 'decimals' | 'name'>>;
  /** Today: every watched code, so one without any event is in the report too. */
  watched?: { symbol: string; name: string }[];
  /** Today: whether each stock's last quote shows it sealed at limit-up. */
  sealedNow?: Map<string, boolean>;
}

/** Builds the day's report; lines that do not read as a known, well-formed type are counted and left out. */
export function collectDay(input: CollectInput): DayReport {
  const stocks = new Map<string, StockReport>();
  const stock = (symbol: string, name: string): StockReport => {
    let r = stocks.get(symbol);
    if (!r) {
      r = { symbol, name, segments: [], dayPeak: 0, triggers: [], sells: [], series: [] };
      stocks.set(symbol, r);
    }
    if (!r.name && name) r.name = name;
    return r;
  };
  const segment = (r: StockReport, n: number, at: number): SegmentReport => {
    let seg = r.segments.find((s) => s.n === n);
    if (!seg) {
      seg = { n, start: at, resealed: n > 1, peak: 0 };
      r.segments.push(seg);
    }
    return seg;
  };
  const incidents: Incident[] = [];
  const closes = new Map<string, CloseLine>();
  const holdings = new Map<string, { quantity: number; avgCost?: string }>();
  const lastTrigger = new Map<string, TriggerReport>();

  const { lines, skipped } = readDayLines(input.events);
  const events = lines.sort((a, b) => a.ts - b.ts);
  for (const e of events) {
    const at = e.ts;
    switch (e.type) {
      case 'SealFormed':
      case 'Resealed': {
        const r = stock(e.symbol, e.name);
        if (e.type === 'SealFormed' && e.limitUp) r.limitUp = e.limitUp;
        const seg = segment(r, e.segment, at);
        seg.peak = Math.max(seg.peak, e.sealAmount);
        break;
      }
      case 'SealWeakening': {
        const r = stock(e.symbol, e.name);
        const seg = segment(r, e.segment, at);
        seg.peak = Math.max(seg.peak, e.segmentPeak, e.sealAmount);
        break;
      }
      case 'BoardBroken': {
        const r = stock(e.symbol, e.name);
        const seg = segment(r, e.segment, at);
        seg.broke = at;
        seg.brokeLast = e.last;
        break;
      }
      case 'SellTriggered': {
        const r = stock(e.symbol, e.name);
        const ev = e.evidence;
        if (e.limitUp) r.limitUp = e.limitUp;
        const seg = segment(r, ev.segment, at);
        seg.peak = Math.max(seg.peak, ev.segmentPeak);
        r.dayPeak = Math.max(r.dayPeak, ev.dayPeak);
        const t: TriggerReport = { at, rule: ev.rule, evidence: describeEvidence(ev), mode: e.mode };
        if (e.noSellReason !== undefined) t.noSellReason = e.noSellReason;
        r.triggers.push(t);
        lastTrigger.set(e.symbol, t);
        break;
      }
      case 'ActionResolved':
      case 'ConfirmExpired': {
        const t = lastTrigger.get(e.symbol);
        if (t)
          t.outcome =
            e.type === 'ActionResolved'
              ? e.outcome
              : `no answer, default ${e.applied === 'sell' ? 'SELL' : 'HOLD'}`;
        break;
      }
      case SEAL_SAMPLE: {
        const r = stock(e.symbol, e.name);
        r.series.push({ ts: at, seal: e.seal });
        r.dayPeak = Math.max(r.dayPeak, e.dayPeak);
        if (e.seg > 0) {
          const seg = segment(r, e.seg, at);
          seg.peak = Math.max(seg.peak, e.segPeak, e.seal);
        }
        if (e.limitUp !== undefined && !r.limitUp) r.limitUp = e.limitUp;
        if (e.last) {
          r.close = e.last;
          r.closeTs = at;
        }
        break;
      }
      case CLOSE:
        closes.set(e.symbol, e);
        break;
      case HOLDINGS:
        // Each line is the whole account at that moment: a stock no longer listed was sold out.
        for (const h of holdings.values()) h.quantity = 0;
        for (const p of e.positions) {
          const prev = holdings.get(p.symbol);
          const avgCost = p.avgCost ?? prev?.avgCost;
          holdings.set(p.symbol, { quantity: p.quantity, ...(avgCost ? { avgCost } : {}) });
        }
        break;
      case COST:
        if (e.avgCost) holdings.set(e.symbol, { quantity: e.quantity, avgCost: e.avgCost });
        break;
      case 'FeedStale': {
        const syms = e.symbols;
        incidents.push({
          at,
          kind: 'FeedStale',
          text: `quotes stale 行情停滞 (${e.source}): ${syms.slice(0, 3).join(', ')}${syms.length > 3 ? ` +${syms.length - 3}` : ''}`,
        });
        break;
      }
      case 'SourceChanged':
        incidents.push({
          at,
          kind: 'SourceChanged',
          text: `quote source 行情源 ${e.from} → ${e.to}: ${e.reason}`,
        });
        break;
      case 'BrokerDown':
        incidents.push({ at, kind: 'BrokerDown', text: `broker down 券商断开: ${e.message}` });
        break;
      case 'BrokerUp':
        incidents.push({ at, kind: 'BrokerUp', text: 'broker back 券商恢复' });
        break;
      case 'LimitMismatch':
        incidents.push({
          at,
          kind: 'LimitMismatch',
          text: `${e.name} ${e.symbol}: published limits ${e.published} ≠ computed ${e.computed}`,
        });
        break;
      default:
        break;
    }
  }

  for (const i of input.intents) {
    if (i.day !== input.date) continue;
    const r = stock(i.symbol, i.name);
    const o = i.order;
    const sell: SellReport = {
      clientOrderId: i.clientOrderId,
      at: i.createdAt,
      rule: i.rule,
      quantity: o?.quantity ?? i.quantity,
      filled: o?.filledQuantity ?? 0,
      limitPrice: o?.limitPrice ?? i.limitPrice,
      status: o?.status ?? i.state,
    };
    if (o?.avgFillPrice) sell.avgPrice = o.avgFillPrice;
    if (i.error) sell.error = i.error;
    else if (o?.message && o.status === 'rejected') sell.error = o.message;
    r.sells.push(sell);
  }
  const chains = new Map((input.chains ?? []).map((c) => [c.rootId, c]));

  if (input.positions) for (const h of holdings.values()) h.quantity = 0;
  const names = new Map<string, string>();
  for (const p of input.positions ?? []) {
    const prev = holdings.get(p.symbol);
    const avgCost = p.avgCost ?? prev?.avgCost;
    holdings.set(p.symbol, { quantity: p.quantity, ...(avgCost ? { avgCost } : {}) });
    if (p.name) names.set(p.symbol, p.name);
  }
  // Every held and watched stock has a line, with or without events: a held stock is never
  // missing from the summary (past dates: from the recorded holdings and closes).
  for (const [symbol, h] of holdings) if (h.quantity > 0) stock(symbol, names.get(symbol) ?? '');
  for (const c of closes.values()) stock(c.symbol, c.name);
  for (const w of input.watched ?? []) stock(w.symbol, w.name);

  for (const r of stocks.values()) {
    r.segments.sort((a, b) => a.n - b.n);
    r.sells.sort((a, b) => a.at - b.at);
    for (const s of r.segments) r.dayPeak = Math.max(r.dayPeak, s.peak);
    // A stock sold out is no longer watched, so no BoardBroken event follows; the minute samples
    // (kept while it is still polled) show when the board opened.
    const lastSeg = r.segments[r.segments.length - 1];
    if (lastSeg && lastSeg.broke === undefined) {
      const open = r.series.find((p) => p.ts > lastSeg.start && p.seal === 0);
      if (open) lastSeg.broke = open.ts;
    }
    const c = closes.get(r.symbol);
    if (c) {
      r.close = c.last;
      r.closeTs = c.ts;
      r.prevClose = c.prevClose;
      if (c.limitUp && !r.limitUp) r.limitUp = c.limitUp;
      if (typeof c.sealed === 'boolean') r.sealedAtLast = c.sealed;
    }
    const q = input.quotes?.get(r.symbol);
    if (q && exchangeDate(q.ts) === input.date && q.last > 0) {
      r.close = formatTicks(q.last, q.decimals);
      r.closeTs = q.ts;
      r.prevClose = formatTicks(q.prevClose, q.decimals);
      const sealedNow = input.sealedNow?.get(r.symbol);
      if (sealedNow !== undefined) r.sealedAtLast = sealedNow;
    }
    if (!r.name && q?.name) r.name = q.name;
    const h = holdings.get(r.symbol);
    if (h) r.holding = h;
    for (const sell of r.sells) {
      const c = chains.get(sell.clientOrderId);
      // Only a chain that did more than rest is worth its own line.
      if (!c || c.steps.length < 2) continue;
      const sec = tryParseSymbol(r.symbol);
      if (!sec) continue;
      const up = r.limitUp ? toTicks(r.limitUp, sec.decimals) : null;
      const close = r.close ? toTicks(r.close, sec.decimals) : null;
      sell.follow = chainText(c, sec.decimals, up, close);
    }
  }

  const order = (r: StockReport) =>
    Math.min(r.segments[0]?.start ?? Infinity, r.triggers[0]?.at ?? Infinity, r.sells[0]?.at ?? Infinity);
  // Stocks with events in time order, then held ones (they must make the detailed part), then the rest.
  const rank = (r: StockReport) => (order(r) < Infinity ? 0 : (r.holding?.quantity ?? 0) > 0 ? 1 : 2);
  return {
    date: input.date,
    stocks: [...stocks.values()].sort(
      (a, b) => rank(a) - rank(b) || order(a) - order(b) || a.symbol.localeCompare(b.symbol),
    ),
    incidents,
    skipped,
  };
}
