/**
 * The summary covers every holding and watched code, also those with no event; whether each
 * closed sealed comes from its last snapshot; the briefing is "pre-open" only before 09:30; the
 * calendar's warning reaches the briefing. Real guard, paper broker, event log on disk.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { marketCalendar } from '../../src/domain/calendar.ts';
import { exchangeTs } from '../../src/domain/time.ts';
import { DayRecorder } from '../../src/engine/dayReport.ts';
import { DaySummaries } from '../../src/engine/summary.ts';
import { EventLog } from '../../src/store/eventLog.ts';
import { DAY, sealed, snap, SYMBOL, t } from '../helpers/snapshots.ts';
import { harness, silent, type Harness } from './harness.ts';

const open: Harness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.stop();
});

async function rig(start = '15:04:00') {
  const h = await harness({ start });
  open.push(h);
  const eventLog = new EventLog({ dataDir: h.dir });
  h.bus.subscribe('event-log', (e) => eventLog.append({ ...e, ts: e.at }));
  const recorder = new DayRecorder({ guard: h.guard, eventLog, now: () => h.clock.now() });
  const summaries = new DaySummaries({
    guard: h.guard,
    eventLog,
    bus: h.bus,
    clock: h.clock,
    dataDir: h.dir,
    recorder,
    log: silent,
  });
  return { h, summaries };
}

describe('the daily summary names every holding and watched code', () => {
  it('a held stock with no event, seen only after the close, has its line: close, change, cost', async () => {
    const { h, summaries } = await rig('15:04:00');
    // The first (and only) quote this process ever saw: the close, 9.60 on 9.09.
    await h.feed(snap(t('15:00:03'), { last: 960 }));
    h.clock.set(t('15:05:00'));
    const e = await summaries.runSummary(DAY);
    expect(e.type === 'DailySummary' && e.text).toContain(
      `中国海诚 ${SYMBOL} · 涨停 10.00 · close 收盘 9.60 (+5.6%)`,
    );
    const text = e.type === 'DailySummary' ? e.text : '';
    expect(text).toContain('Holding 持仓 10000 · cost 9.00 → +6000元 (+6.7%)');
    expect(text).toContain('No seal, trigger or sell recorded');
  });

  it('a watched code without any quote is named, and a board sealed at the close says so', async () => {
    const { h, summaries } = await rig('14:50:00');
    await h.guard.watch('600519', {});
    for (let i = 0; i < 6; i++) await h.feed(sealed(t('14:55:00') + i * 3000, 80_000_000));
    await h.feed(sealed(t('15:00:03'), 80_000_000));
    h.clock.set(t('15:05:00'));
    const e = await summaries.runSummary(DAY);
    const text = e.type === 'DailySummary' ? e.text : '';
    expect(text).toMatch(
      new RegExp(
        `中国海诚 ${SYMBOL} · 涨停 10\\.00 · close 收盘 10\\.00 \\(\\+10%\\) · 封板收盘 closed sealed`,
      ),
    );
    expect(text).toContain('600519.SH · no quote today 今日无行情');
  });
});

describe('the briefing', () => {
  it('is a pre-open briefing before 09:30 and a status after it', async () => {
    const { h, summaries } = await rig('09:10:00');
    const pre = await summaries.runBriefing(DAY);
    expect(pre.type === 'DailySummary' && pre.title).toBe(`🌅 Pre-open briefing 盘前简报 ${DAY}`);
    h.clock.set(t('10:42:00'));
    const late = await summaries.runBriefing(DAY);
    expect(late.type === 'DailySummary' && late.title).toBe(`📋 Status 盘中状态 ${DAY} 10:42`);
    expect(late.type === 'DailySummary' && late.text).toContain(
      `中国海诚 ${SYMBOL} · 10000 (sellable 10000)`,
    );
  });

  it('from 1 December says that next year’s closures are not known and how to add them', async () => {
    const { h, summaries } = await rig('09:00:00');
    h.clock.set(exchangeTs('2026-12-01', '09:00:00'));
    const e = await summaries.runBriefing('2026-12-01');
    const text = e.type === 'DailySummary' ? e.text : '';
    expect(text).toMatch(
      /⚠️ The exchanges' 2027 closures are not known yet.*\/calendar close YYYY-MM-DD.*npm update chinese-days/,
    );
    // In November it does not.
    h.clock.set(t('09:00:00'));
    const nov = await summaries.runBriefing(DAY);
    expect(nov.type === 'DailySummary' && nov.text).not.toContain('⚠️');
  });

  it('on a provisional day confirmed open says so, and finds the previous close across the year end', async () => {
    const { h, summaries } = await rig('09:00:00');
    marketCalendar.setObserved('2027-01-04', {
      status: 'open',
      evidence: '002116.SZ quoted 09:15:03 → 09:15:06',
      at: 0,
    });
    // The last close the process recorded was on 2026-12-31; 2027-01-01 was a closed candidate.
    const log = new EventLog({ dataDir: h.dir });
    await log.append({
      ts: exchangeTs('2026-12-31', '15:05:00'),
      type: 'Close',
      symbol: SYMBOL,
      name: '中国海诚',
      last: '9.09',
      prevClose: '8.27',
    });
    h.clock.set(exchangeTs('2027-01-04', '09:16:00'));
    const e = await summaries.runBriefing('2027-01-04');
    const text = e.type === 'DailySummary' ? e.text : '';
    expect(e.type === 'DailySummary' && e.title).toBe('🌅 Pre-open briefing 盘前简报 2027-01-04');
    expect(text).toContain('Today is a provisional trading day, confirmed open by the market');
    expect(text).toContain('⚠️ Trading days of 2027 are provisional');
    expect(text).toContain('Next trading day 下一交易日 2027-01-05 (provisional 待行情确认)');
    expect(text).toContain('涨停 10.00 (+10% on 9.09)');
  });
});
