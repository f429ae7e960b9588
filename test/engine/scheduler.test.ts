import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LAST_CALENDAR_YEAR, marketCalendar } from '../../src/domain/calendar.ts';
import { SimClock } from '../../src/domain/clock.ts';
import { exchangeTs } from '../../src/domain/time.ts';
import { dailyJobs, Scheduler } from '../../src/engine/scheduler.ts';

const open: Scheduler[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.stop();
});

interface Rig {
  clock: SimClock;
  runs: string[];
  warnings: string[];
  scheduler: Scheduler;
  at(date: string, hhmmss: string): Promise<string[]>;
}

async function rig(
  o: { dir?: string; start?: number; wall?: () => number; speed?: number } = {},
): Promise<Rig> {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'sg-sched-'));
  const clock = new SimClock(
    o.start ?? exchangeTs('2026-11-23', '08:00:00'),
    o.wall ?? (() => 0),
    o.speed ?? 1,
  );
  const runs: string[] = [];
  const warnings: string[] = [];
  const scheduler = await Scheduler.open({
    clock,
    dataDir: dir,
    jobs: dailyJobs({
      briefing: async (d) => void runs.push(`briefing@${d}`),
      summary: async (d) => void runs.push(`summary@${d}`),
    }),
    log: { info: () => {}, warn: (_d, m) => void warnings.push(m) },
  });
  open.push(scheduler);
  return {
    clock,
    runs,
    warnings,
    scheduler,
    async at(date, hhmmss) {
      clock.set(exchangeTs(date, hhmmss));
      return scheduler.tick();
    },
  };
}

describe('scheduler on the market clock', () => {
  it('runs 09:00 and 15:05 exactly once on a trading day, even when the clock jumps over them', async () => {
    const r = await rig();
    const d = '2026-11-23';
    expect(await r.at(d, '08:59:59')).toEqual([]);
    expect(await r.at(d, '09:07:00')).toEqual([`briefing@${d}`]);
    expect(await r.at(d, '11:00:00')).toEqual([]);
    expect(await r.at(d, '15:04:59')).toEqual([]);
    expect(await r.at(d, '15:12:00')).toEqual([`summary@${d}`]);
    expect(await r.at(d, '15:12:01')).toEqual([]);
    expect(await r.at(d, '23:00:00')).toEqual([]);
    // The next trading day gets its own.
    expect(await r.at('2026-11-24', '15:05:00')).toEqual(['summary@2026-11-24']);
    expect(r.runs).toEqual([`briefing@${d}`, `summary@${d}`, 'summary@2026-11-24']);
  });

  it('sends nothing on 2026-10-01 (National Day) or on a weekend', async () => {
    const r = await rig();
    for (const d of ['2026-10-01', '2026-10-07', '2026-11-21', '2026-11-22'])
      for (const hhmmss of ['09:00:00', '09:30:00', '15:05:00', '18:00:00']) await r.at(d, hhmmss);
    expect(r.runs).toEqual([]);
    // The first trading day after the holiday does run.
    await r.at('2026-10-08', '15:05:00');
    expect(r.runs).toEqual(['summary@2026-10-08']);
  });

  it('a provisional day (no calendar data) waits for the market to confirm it, never guessed', async () => {
    const r = await rig();
    const d = `${LAST_CALENDAR_YEAR + 1}-06-01`;
    await r.at(d, '09:00:00');
    await r.at(d, '09:10:00');
    expect(r.runs).toEqual([]);
    expect(r.warnings).toEqual([
      'provisional trading day not confirmed open by the market yet: daily jobs wait for it',
    ]);
    // The market shows it open at 09:15: what is still due runs; the summary at 15:05.
    marketCalendar.setObserved(d, { status: 'open', evidence: 'quotes advancing', at: 0 });
    expect(await r.at(d, '09:15:04')).toEqual([`briefing@${d}`]);
    expect(await r.at(d, '15:05:00')).toEqual([`summary@${d}`]);
    // A provisional day the market showed closed runs nothing.
    const closed = `${LAST_CALENDAR_YEAR + 1}-06-02`;
    marketCalendar.setObserved(closed, { status: 'closed', evidence: 'no quote dated today', at: 0 });
    for (const hhmmss of ['09:00:00', '15:05:00', '20:00:00']) await r.at(closed, hhmmss);
    expect(r.runs).toEqual([`briefing@${d}`, `summary@${d}`]);
  });

  it('2026-12-31 runs both jobs and the next morning is a provisional one', async () => {
    const r = await rig({ start: exchangeTs('2026-12-31', '08:00:00') });
    expect(await r.at('2026-12-31', '09:00:00')).toEqual(['briefing@2026-12-31']);
    expect(await r.at('2026-12-31', '15:05:00')).toEqual(['summary@2026-12-31']);
    // 2027-01-01 is not confirmed by anything: no briefing, no summary, no throw.
    expect(await r.at('2027-01-01', '09:00:00')).toEqual([]);
    expect(await r.at('2027-01-01', '15:05:00')).toEqual([]);
  });

  it('after a restart: never repeats a job, catches up a missed summary, drops a stale briefing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-sched-'));
    const d = '2026-11-23';
    const a = await rig({ dir });
    await a.at(d, '15:06:00');
    expect(a.runs).toEqual([`summary@${d}`]);
    await a.scheduler.stop();
    // Restarted the same evening: the summary already went out.
    const b = await rig({ dir });
    await b.at(d, '19:00:00');
    expect(b.runs).toEqual([]);
    expect(b.scheduler.lastRun('summary')).toBe(d);
    // Down over 09:00 and 15:05 the next day, back at 16:30: summary yes, briefing no.
    const c = await rig({ dir });
    await c.at('2026-11-24', '16:30:00');
    expect(c.runs).toEqual(['summary@2026-11-24']);
    // Back at 10:15 on Wednesday: the briefing still helps before the close.
    const e = await rig({ dir });
    await e.at('2026-11-25', '10:15:00');
    expect(e.runs).toEqual(['briefing@2026-11-25']);
  });

  it('driven by node-cron each wall second: a 300× clock crossing 15:05 fires once', async () => {
    const start = exchangeTs('2026-11-23', '15:04:50');
    const r = await rig({ start, wall: Date.now, speed: 300 });
    r.scheduler.start();
    const ran = r.scheduler.ran('summary', '2026-11-23');
    await Promise.race([
      ran,
      new Promise((_, no) => setTimeout(() => no(new Error('not fired in 4 s')), 4000)),
    ]);
    expect(r.clock.now()).toBeGreaterThan(exchangeTs('2026-11-23', '15:05:00'));
    await new Promise((ok) => setTimeout(ok, 1300)); // more ticks, minutes later on the market clock
    expect(r.runs).toEqual(['summary@2026-11-23']);
  });

  it('a failing job is logged and not retried the same day', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-sched-'));
    const clock = new SimClock(exchangeTs('2026-11-23', '15:05:00'), () => 0);
    const warnings: string[] = [];
    let calls = 0;
    const s = await Scheduler.open({
      clock,
      dataDir: dir,
      jobs: [
        {
          name: 'summary',
          at: '15:05:00',
          until: '23:59:59',
          run: async () => {
            calls++;
            throw new Error('disk full');
          },
        },
      ],
      log: { info: () => {}, warn: (d, m) => void warnings.push(`${m} ${JSON.stringify(d)}`) },
    });
    open.push(s);
    await s.tick();
    clock.set(exchangeTs('2026-11-23', '15:06:00'));
    await s.tick();
    expect(calls).toBe(1);
    expect(warnings.join('\n')).toContain('disk full');
  });

  it('refuses a job time that is not HH:MM:SS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-sched-'));
    const clock = new SimClock(0, () => 0);
    await expect(
      Scheduler.open({
        clock,
        dataDir: dir,
        jobs: [{ name: 'x', at: '9:00', until: '10:00:00', run: async () => {} }],
      }),
    ).rejects.toThrow(/HH:MM:SS/);
  });
});
