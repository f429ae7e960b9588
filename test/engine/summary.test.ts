/**
 * The daily summary over a scripted day on a real guard (paper broker, stores on disk, event log,
 * scheduler on the test-moved market clock): sealed, weakened, sold, broke, re-sealed, closed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { afterEach, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/chat/commands.ts';
import { exchangeTs } from '../../src/domain/time.ts';
import type { Snapshot } from '../../src/domain/types.ts';
import { GuardApi } from '../../src/engine/api.ts';
import { DayRecorder, collectDay } from '../../src/engine/dayReport.ts';
import type { GuardEvent } from '../../src/engine/events.ts';
import { dailyJobs, Scheduler } from '../../src/engine/scheduler.ts';
import { DaySummaries } from '../../src/engine/summary.ts';
import { EventLog } from '../../src/store/eventLog.ts';
import { DAY, opened, sealed, snap, SYMBOL, t } from '../helpers/snapshots.ts';
import { harness, silent, type Harness } from './harness.ts';

interface Rig {
  h: Harness;
  log: EventLog;
  summaries: DaySummaries;
  scheduler: Scheduler;
  recorder: DayRecorder;
  feed(s: Snapshot): Promise<void>;
  at(hhmmss: string, date?: string): Promise<string[]>;
  reports(): Extract<GuardEvent, { type: 'DailySummary' }>[];
}

const open: Rig[] = [];
afterEach(async () => {
  for (const r of open.splice(0)) {
    await r.scheduler.stop();
    await r.h.stop();
  }
});

async function rig(opts: { dir?: string; start?: string } = {}): Promise<Rig> {
  const h = await harness({ start: opts.start ?? '08:30:00', ...(opts.dir ? { dir: opts.dir } : {}) });
  const log = new EventLog({ dataDir: h.dir });
  // As app.ts does: every guard event goes to the day's history.
  h.bus.subscribe('event-log', (e) => log.append({ ...e, ts: e.at }));
  const recorder = new DayRecorder({ guard: h.guard, eventLog: log, now: () => h.clock.now() });
  const summaries = new DaySummaries({
    guard: h.guard,
    eventLog: log,
    bus: h.bus,
    clock: h.clock,
    dataDir: h.dir,
    recorder,
    log: silent,
  });
  summaries.start();
  const scheduler = await Scheduler.open({
    clock: h.clock,
    dataDir: h.dir,
    jobs: dailyJobs({ briefing: (d) => summaries.runBriefing(d), summary: (d) => summaries.runSummary(d) }),
    log: silent,
  });
  const r: Rig = {
    h,
    log,
    summaries,
    scheduler,
    recorder,
    async feed(s) {
      await h.feed(s);
      recorder.onSnapshot(s);
    },
    async at(hhmmss, date = DAY) {
      h.clock.set(exchangeTs(date, hhmmss));
      const fired = await scheduler.tick();
      await h.bus.idle();
      return fired;
    },
    reports: () => h.events.filter((e) => e.type === 'DailySummary'),
  };
  open.push(r);
  return r;
}

/** Every 3 s from `from` for `n` snapshots, the seal following `seal(i)`. */
async function sealedFor(r: Rig, from: string, n: number, seal: (i: number) => number): Promise<void> {
  for (let i = 0; i < n; i++) await r.feed(sealed(t(from) + i * 3000, seal(i)));
}

/**
 * 10:00 sealed with 1.5亿; drains to 1500万 by ~10:20 (2000万 rule: auto sell of 10000 @ 10.00,
 * filled from the queue); breaks at 10:25; re-seals 13:10 with 6000万 and holds; closes 9.95.
 */
async function scriptedDay(r: Rig): Promise<void> {
  // Held and also watched by the user, so it stays monitored after it is sold out.
  await r.h.guard.watch(SYMBOL, {});
  await r.feed(snap(t('09:31:00')));
  await sealedFor(r, '10:00:00', 2, () => 150_000_000);
  // 20 minutes, a snapshot every 30 s, draining linearly from 1.5亿 to 1500万.
  for (let i = 1; i <= 40; i++) {
    const ts = t('10:00:03') + i * 30_000;
    await r.feed(sealed(ts, Math.max(15_000_000, 150_000_000 - i * 3_400_000)));
    await r.feed(sealed(ts + 3000, Math.max(15_000_000, 150_000_000 - i * 3_400_000)));
  }
  await r.feed(opened(t('10:25:00'), 990, 985));
  await r.feed(opened(t('10:25:03'), 985, 980));
  await r.feed(snap(t('13:05:00'), { last: 985 }));
  await sealedFor(r, '13:10:00', 2, () => 60_000_000);
  for (let m = 11; m < 60 + 49; m += 7) {
    const ts = t('13:10:00') + m * 60_000;
    await r.feed(sealed(ts, 60_000_000));
    await r.feed(sealed(ts + 3000, 60_000_000));
  }
  // The seal gives way at 14:50; the closing auction prints 9.95.
  await r.feed(opened(t('14:50:00'), 998, 996));
  await r.feed(opened(t('14:50:03'), 997, 995));
  await r.feed(opened(t('14:58:00'), 995, 994));
  await r.feed(opened(t('15:00:00'), 995, 994));
}

describe('daily summary at 15:05 over a scripted day', () => {
  it('fires once when the market clock crosses 15:05, with segments, trigger, sell, result and a chart', async () => {
    const r = await rig();
    await scriptedDay(r);
    expect(await r.at('15:04:59')).toEqual([]);
    // A fast clock jumps past 15:05 between two ticks: it still fires, once.
    expect(await r.at('15:09:30')).toEqual([`summary@${DAY}`]);
    expect(await r.at('15:09:31')).toEqual([]);
    expect(await r.at('20:00:00')).toEqual([]);
    const reports = r.reports().filter((e) => e.kind === 'summary');
    expect(reports).toHaveLength(1);
    const e = reports[0]!;
    expect(e.date).toBe(DAY);
    expect(e.title).toContain(`每日总结 ${DAY}`);
    const text = e.text;
    expect(text).toContain(`中国海诚 ${SYMBOL} · 涨停 10.00 · close 收盘 9.95 (+9.5%)`);
    expect(text).toMatch(/#1 封板 sealed 10:00:03 → 炸板 broke 10:25:0\d \(last 9\.\d\d\) · peak 1\.5亿/);
    expect(text).toMatch(/#2 回封 re-sealed 13:10:03 → 炸板 broke 14:50:00 .*· peak 6000万/);
    expect(text).toMatch(/⚡ 10:\d\d:\d\d trigger 触发 amount \(auto\): 封单 1\d{3}万 < 2000万/);
    // Sold 10000 at 10.00, 0.05 above the 9.95 close (+500元), 1.00 above cost 9.00 (+1万).
    expect(text).toMatch(
      /📤 10:\d\d:\d\d sell 卖出 10000 @ 10\.00 → filled · filled 10000 @ 10\.00 · vs close \+500元 · vs cost 9\.00: \+1万/,
    );
    expect(text).toContain('Incidents 异常: none');
    // One chart for the stock that sealed: a real PNG with the seal drawn on it.
    expect(e.charts).toHaveLength(1);
    const png = PNG.sync.read(readFileSync(e.charts![0]!.file));
    expect([png.width, png.height]).toEqual([640, 320]);
  });

  it('sends nothing on 2026-10-01 (National Day) or on a weekend, with the real jobs wired', async () => {
    const r = await rig();
    for (const date of ['2026-10-01', '2026-11-21', '2026-11-22'])
      for (const hhmmss of ['09:00:00', '12:00:00', '15:05:00', '23:00:00']) await r.at(hhmmss, date);
    expect(r.reports()).toEqual([]);
    expect(r.scheduler.lastRun('summary')).toBeUndefined();
  });

  it('the briefing fires at 09:00 with holdings, cost and limit-up from the recorded previous close', async () => {
    const r = await rig({ start: '08:00:00' });
    // Friday's close as the 15:05 job of that day would have recorded it.
    await r.log.append({
      ts: exchangeTs('2026-11-20', '15:05:00'),
      type: 'Close',
      symbol: SYMBOL,
      name: '中国海诚',
      last: '9.09',
      prevClose: '8.27',
    });
    expect(await r.at('08:59:59')).toEqual([]);
    expect(await r.at('09:00:00')).toEqual([`briefing@${DAY}`]);
    expect(await r.at('09:00:01')).toEqual([]);
    const [b] = r.reports();
    expect(b?.kind).toBe('briefing');
    expect(b?.title).toBe(`🌅 Pre-open briefing 盘前简报 ${DAY}`);
    expect(b?.text).toContain('Default 默认: mode auto · trigger <2000万');
    expect(b?.text).toContain(
      `中国海诚 ${SYMBOL} · 10000 (sellable 10000) cost 9.00 · 涨停 10.00 (+10% on 9.09)`,
    );
  });

  it('/summary for a past date reads the history after a restart; an empty date says so', async () => {
    const first = await rig();
    await scriptedDay(first);
    await first.at('15:06:00');
    const dir = first.h.dir;
    await first.scheduler.stop();
    await first.h.stop();
    open.splice(open.indexOf(first), 1);

    // Next trading day, a new process: nothing of Monday is in memory.
    const r = await rig({ dir, start: '10:00:00' });
    r.h.clock.set(exchangeTs('2026-11-24', '10:00:00'));
    const api = new GuardApi({
      guard: r.h.guard,
      broker: r.h.broker,
      bus: r.h.bus,
      clock: r.h.clock,
      simulatedClock: true,
      sources: () => [],
      summary: (d) => r.summaries.text(d),
    });
    const past = await runCommand(api, { user: 'test', text: `/summary ${DAY}` });
    const text = [past.title ?? '', ...past.lines].join('\n');
    expect(text).toContain(`每日总结 ${DAY}`);
    expect(text).not.toContain('so far');
    expect(text).toContain('close 收盘 9.95');
    expect(text).toMatch(/#1 封板 sealed 10:00:03 → 炸板 broke/);
    expect(text).toMatch(/sell 卖出 10000 @ 10\.00 → filled/);
    // Cost from Monday's recorded holdings, though the position is gone now.
    expect(text).toContain('vs cost 9.00: +1万');
    const bad = await runCommand(api, { user: 'test', text: '/summary 2026-13-45' });
    expect(bad.lines.join('\n')).toMatch(/invalid date "2026-13-45"/);
    const empty = await runCommand(api, { user: 'test', text: '/summary 2026-11-19' });
    expect(empty.lines.join('\n')).toContain('No seal, trigger or sell recorded');
    // Today so far: nothing yet, and it says it is partial.
    expect((await api.summary()).split('\n')[0]).toContain('so far, 10:00:00');
  });

  it('records the seal series only for stocks that sealed, one sample per market minute', async () => {
    const r = await rig();
    await r.feed(snap(t('09:31:00')));
    await r.feed(snap(t('09:31:03')));
    await sealedFor(r, '10:00:00', 30, () => 50_000_000); // 90 s sealed
    await r.h.bus.idle();
    await r.recorder.flushed();
    const samples = (await r.log.readDay(DAY)).filter((e) => e.type === 'SealSample');
    expect(samples.map((s) => s.ts)).toEqual([t('10:00:03'), t('10:01:00')]);
    expect(samples[0]).toMatchObject({ symbol: SYMBOL, seal: 50_000_000, seg: 1, limitUp: '10.00' });
  });
});

describe('collectDay', () => {
  it('reports incidents and a sell from orders.json even when its events were lost', () => {
    const ts = t('10:30:00');
    const r = collectDay({
      date: DAY,
      events: [
        { ts, type: 'FeedStale', symbols: ['002116.SZ', 'a', 'b', 'c'], source: 'tencent' },
        { ts: ts + 1, type: 'SourceChanged', from: 'tencent', to: 'sina', reason: '3 failures' },
        { ts: ts + 2, type: 'BrokerDown', message: 'ECONNREFUSED' },
        { ts: ts + 3, type: 'BrokerUp' },
        { ts: ts + 4, type: 'LimitMismatch', symbol: SYMBOL, name: 'x', published: '1/2', computed: '1/3' },
        { ts: ts + 5, type: 'NotAKnownType' },
      ],
      intents: [
        {
          clientOrderId: 'abc12345',
          day: DAY,
          symbol: SYMBOL,
          name: '中国海诚',
          segment: 1,
          quantity: 500,
          limitPrice: '10.00',
          reason: 'r',
          rule: 'amount',
          createdAt: ts,
          state: 'failed',
          error: 'broker refused',
        },
        // Another day's intent is not today's sell.
        {
          clientOrderId: 'other',
          day: '2026-11-20',
          symbol: '600000.SH',
          name: '浦发银行',
          segment: 1,
          quantity: 100,
          limitPrice: '8.00',
          reason: 'r',
          rule: 'amount',
          createdAt: ts - 3 * 86_400_000,
          state: 'final',
        },
      ],
    });
    expect(r.incidents.map((i) => i.kind)).toEqual([
      'FeedStale',
      'SourceChanged',
      'BrokerDown',
      'BrokerUp',
      'LimitMismatch',
    ]);
    expect(r.incidents[0]!.text).toContain('+1');
    expect(r.stocks).toHaveLength(1);
    expect(r.stocks[0]!.sells).toEqual([
      expect.objectContaining({ quantity: 500, filled: 0, status: 'failed', error: 'broker refused' }),
    ]);
  });
});

describe('chart files', () => {
  it('are kept under DATA_DIR/charts/<date>/', async () => {
    const r = await rig();
    await scriptedDay(r);
    await r.at('15:05:00');
    const file = r.reports()[0]!.charts![0]!.file;
    expect(file).toBe(`${r.h.dir}/charts/${DAY}/${SYMBOL}.png`);
    expect(existsSync(file)).toBe(true);
  });
});
