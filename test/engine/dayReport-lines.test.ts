/**
 * The day's event log reads back typed: every guard event and recorder line comes back as it was
 * written, anything else (unknown type, wrong field type, garbage, a torn last line) is left out
 * and counted, and a log written before the typed reader existed gives the same report.
 */
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectDay, type DayReport } from '../../src/engine/dayReport.ts';
import { readDayLine, type DayLine, type RecorderLine } from '../../src/engine/dayLines.ts';
import type { GuardEvent, GuardEventType } from '../../src/engine/events.ts';
import { guardEventSchemas } from '../../src/engine/eventSchemas.ts';
import type { FollowChain } from '../../src/domain/followThrough.ts';
import type { Intent } from '../../src/engine/state.ts';
import { EventLog } from '../../src/store/eventLog.ts';
import { DAY, SYMBOL, t } from '../helpers/snapshots.ts';

const at = t('10:00:03');
const who = { at, symbol: SYMBOL, name: '中国海诚' };
const order = {
  clientOrderId: 'sg-1',
  brokerOrderId: 'b-1',
  symbol: SYMBOL,
  side: 'sell' as const,
  quantity: 10000,
  filledQuantity: 10000,
  avgFillPrice: '10.00',
  limitPrice: '10.00',
  status: 'filled' as const,
  updatedAt: '2026-11-23T10:20:00+08:00',
};
const evidence = {
  rule: 'dropInWindow' as const,
  at,
  segment: 1,
  sealAmount: 17_400_000,
  segmentPeak: 150_000_000,
  dayPeak: 150_000_000,
  dropPct: 88.4,
  windowSec: 60,
  windowDropPct: 40.5,
  threshold: '30%',
};

/** One event of every type, optional fields filled in: the mapped type makes a missing type a compile error. */
const oneOfEach: { [K in GuardEventType]: Extract<GuardEvent, { type: K }> } = {
  SealFormed: { type: 'SealFormed', ...who, segment: 1, sealAmount: 150_000_000, limitUp: '10.00' },
  SealWeakening: {
    type: 'SealWeakening',
    ...who,
    segment: 1,
    sealAmount: 70_000_000,
    segmentPeak: 150_000_000,
    dropPct: 53.3,
    limitUp: '10.00',
  },
  SellTriggered: {
    type: 'SellTriggered',
    ...who,
    evidence,
    mode: 'confirm',
    limitUp: '10.00',
    sellable: 10000,
    actionId: 'a1',
    deadline: at + 30_000,
    onTimeout: 'hold',
    noSellReason: 'paused',
  },
  OrderPlaced: { type: 'OrderPlaced', ...who, order, reason: 'amount' },
  OrderFilled: { type: 'OrderFilled', ...who, order },
  OrderRejected: { type: 'OrderRejected', ...who, order, clientOrderId: 'sg-1', reason: 'LOT_SIZE' },
  OrderUpdate: { type: 'OrderUpdate', ...who, order: { ...order, message: 'partly' } },
  FollowStep: {
    type: 'FollowStep',
    ...who,
    step: 'replaced',
    clientOrderId: 'sg-2',
    text: 'replaced @ 9.98',
  },
  BoardBroken: { type: 'BoardBroken', ...who, segment: 1, bid1: null, last: '9.90', triggered: true },
  Resealed: { type: 'Resealed', ...who, segment: 2, sealAmount: 60_000_000 },
  ConfirmExpired: { type: 'ConfirmExpired', ...who, actionId: 'a1', applied: 'sell' },
  ActionResolved: { type: 'ActionResolved', ...who, actionId: 'a1', outcome: 'sold', byUser: 'tg:1' },
  LimitMismatch: { type: 'LimitMismatch', ...who, published: '10.00/8.18', computed: '10.00/8.19' },
  FeedStale: { type: 'FeedStale', at, symbols: [SYMBOL, '600000.SH'], source: 'tencent' },
  SourceChanged: { type: 'SourceChanged', at, from: 'tencent', to: 'sina', reason: '3 failures' },
  BrokerDown: { type: 'BrokerDown', at, message: 'ECONNREFUSED' },
  BrokerUp: { type: 'BrokerUp', at },
  Info: { type: 'Info', at, text: 'started' },
  LoginChallenge: { type: 'LoginChallenge', at, broker: 'eastmoney', text: 'captcha', file: 'c.png' },
  Incident: {
    type: 'Incident',
    at,
    key: 'disk',
    component: 'store',
    level: 'error',
    text: 'disk full',
    resolved: false,
  },
  DailySummary: {
    type: 'DailySummary',
    at,
    kind: 'summary',
    date: DAY,
    title: '每日总结',
    text: '…',
    charts: [{ symbol: SYMBOL, name: '中国海诚', file: 'charts/x.png' }],
  },
};

const recorderLines: RecorderLine[] = [
  {
    ts: at,
    type: 'SealSample',
    symbol: SYMBOL,
    name: '中国海诚',
    seal: 150_000_000,
    seg: 1,
    segPeak: 150_000_000,
    dayPeak: 150_000_000,
    last: '10.00',
    limitUp: '10.00',
  },
  {
    ts: at,
    type: 'Close',
    symbol: SYMBOL,
    name: '中国海诚',
    last: '9.95',
    prevClose: '9.09',
    limitUp: '10.00',
    sealed: false,
  },
  {
    ts: at,
    type: 'Holdings',
    positions: [{ symbol: SYMBOL, name: '中国海诚', quantity: 10000, sellable: 10000, avgCost: '9.00' }],
  },
  { ts: at, type: 'Cost', symbol: SYMBOL, quantity: 10000, avgCost: '9.00' },
];

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'sg-daylines-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('event-log lines read back typed', () => {
  it('every guard event type has a schema, and every schema an event type', () => {
    expect(Object.keys(guardEventSchemas).sort()).toEqual(Object.keys(oneOfEach).sort());
  });

  it('a line of each known type, written to the day file as the app writes it, reads back equal', async () => {
    const log = new EventLog({ dataDir });
    const written: DayLine[] = [
      // As engine.ts appends every published event.
      ...Object.values(oneOfEach).map((e) => ({ ...e, ts: e.at })),
      ...recorderLines,
    ];
    for (const line of written) await log.append({ ...line });
    const read = (await log.readDay(DAY)).map(readDayLine);
    expect(read).toEqual(written);
  });

  it('a guard event line with only `ts` takes its `at` from it', () => {
    expect(readDayLine({ ts: at, type: 'BrokerUp' })).toEqual({ ts: at, at, type: 'BrokerUp' });
  });

  it('leaves out and counts a wrong field type, an unknown type and garbage, without throwing', () => {
    const good = { ...oneOfEach.SealFormed, ts: at };
    const bad: unknown[] = [
      { ...good, segment: '1' },
      { ...good, sealAmount: 1.5 },
      { ...good, limitUp: undefined },
      { ...oneOfEach.SellTriggered, ts: at, evidence: { ...evidence, rule: 'hunch' } },
      { ...oneOfEach.SellTriggered, ts: at, mode: 'yolo' },
      { ...recorderLines[0], seal: null },
      { ...recorderLines[2], positions: 'all of them' },
      { ...good, ts: 'yesterday' },
      { ts: at, type: 'NotAKnownType' },
      { ts: at, type: 'toString' },
      { ts: at },
      'garbage',
      42,
      null,
      [good],
    ];
    for (const raw of bad) expect(readDayLine(raw), JSON.stringify(raw)).toBeUndefined();
    const report = collectDay({ date: DAY, events: [good, ...bad], intents: [] });
    expect(report.skipped).toBe(bad.length);
    expect(report.stocks.map((s) => [s.symbol, s.segments.length])).toEqual([[SYMBOL, 1]]);
  });

  it('a torn last line is left out of the report and told, never thrown', async () => {
    const warnings: string[] = [];
    const log = new EventLog({ dataDir, logger: { warn: (_d, message) => warnings.push(message) } });
    await log.append({ ...oneOfEach.SealFormed, ts: at });
    await appendFile(log.fileFor(DAY), '{"ts":1795399263000,"type":"SealSa');
    const report = collectDay({ date: DAY, events: await log.readDay(DAY), intents: [] });
    expect(report.stocks[0]?.segments).toHaveLength(1);
    // The log drops what is not JSON and says so; the report counts what was JSON but not a line it knows.
    expect(warnings).toEqual(['event log: skipped a torn last line (the writer stopped mid-line)']);
    expect(report.skipped).toBe(0);
  });
});

describe('an event log written before the typed reader', () => {
  it('gives the same report (scripted day of summary.test.ts, recorded with the earlier code)', async () => {
    const fixtures = join(import.meta.dirname, '../fixtures');
    const events = await new EventLog({ dataDir: fixtures }).readDay(DAY);
    const read = async <T>(name: string) =>
      JSON.parse(await readFile(join(fixtures, 'events', name), 'utf8')) as T;
    const { intents, chains } = await read<{ intents: Intent[]; chains: FollowChain[] }>(
      `${DAY}.orders.json`,
    );
    const before = await read<Omit<DayReport, 'skipped'>>(`${DAY}.report.json`);
    expect(events.length).toBeGreaterThan(40);
    expect(collectDay({ date: DAY, events, intents, chains })).toEqual({ ...before, skipped: 0 });
  });
});
