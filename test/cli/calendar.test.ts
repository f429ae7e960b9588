/**
 * `/calendar` in chat and `npx sealguard calendar`: the next 10 weekdays with status and source,
 * edits that persist in DATA_DIR/calendar.json across a restart, and refusals that change nothing.
 * Also the market's observations: stored in DATA_DIR and reused after a restart.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/chat/commands.ts';
import { TradingCalendar } from '../../src/domain/calendar.ts';
import { SimClock } from '../../src/domain/clock.ts';
import { exchangeTs } from '../../src/domain/time.ts';
import { GuardApi } from '../../src/engine/api.ts';
import { HealthBoard } from '../../src/engine/health.ts';
import { MarketDays } from '../../src/engine/marketDays.ts';
import { harness, type Harness } from '../engine/harness.ts';
import { snap } from '../helpers/snapshots.ts';

const BIN = join(import.meta.dirname, '../../bin/sealguard.js');
const run = promisify(execFile);
const open: Harness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.stop();
});

async function rig(dir: string, at: number) {
  const h = await harness({ dir });
  open.push(h);
  const clock = new SimClock(at, () => 0);
  const health = new HealthBoard(() => 0);
  const days = await MarketDays.open({ dataDir: dir, clock, calendar: new TradingCalendar(), health });
  const api = new GuardApi({
    guard: h.guard,
    broker: h.broker,
    bus: h.bus,
    clock,
    simulatedClock: true,
    sources: () => [],
    calendar: days,
    health,
  });
  const say = async (text: string) => {
    const r = await runCommand(api, { user: 'test', text });
    return [r.title ?? '', ...r.lines].join('\n');
  };
  return { days, api, say, clock, health };
}

describe('/calendar', () => {
  it('shows the next 10 weekdays with status and source, and the warning', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-cal-'));
    const { say } = await rig(dir, exchangeTs('2026-12-28', '10:00:00'));
    const text = await say('/calendar');
    const rows = text.split('\n').filter((l) => /^\d{4}-\d{2}-\d{2} /.test(l));
    expect(rows).toHaveLength(10);
    expect(rows[0]).toBe('2026-12-28 Mon · open · bundled');
    expect(rows[4]).toBe('2027-01-01 Fri · candidate · provisional (not confirmed yet)');
    expect(rows[9]).toBe('2027-01-08 Fri · candidate · provisional (not confirmed yet)');
    expect(text).toContain("⚠️ The exchanges' 2027 closures are not known yet");
  });

  it('close 2027-02-08 春节 persists across a restart; bad dates, weekends and past dates change nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-cal-'));
    const file = join(dir, 'calendar.json');
    const a = await rig(dir, exchangeTs('2027-02-01', '10:00:00'));
    expect(await a.say('/calendar close 2027-13-01')).toMatch(
      /^✗ 2027-13-01 is not a real calendar date\. Example: \/calendar close 2027-02-08 春节/m,
    );
    expect(await a.say('/calendar close 2027-02-06')).toContain(
      '✗ 2027-02-06 is a Saturday: the exchanges never trade on weekends',
    );
    expect(await a.say('/calendar close 2027-01-29')).toContain(
      '✗ 2027-01-29 is in the past (today is 2027-02-01)',
    );
    expect(await a.say('/calendar close 27-2-8')).toContain(
      '✗ "27-2-8" is not a date: write it as YYYY-MM-DD',
    );
    expect(await a.say('/calendar shut 2027-02-08')).toContain(
      '✗ calendar takes nothing, or close/open and a date',
    );
    expect(existsSync(file)).toBe(false);
    expect(await a.say('/calendar close 2027-02-08 春节')).toBe(
      '\n✓ 2027-02-08 is now closed · yours (春节).',
    );
    expect(await a.say('/calendar open 2027-02-09 SSE notice')).toBe(
      '\n✓ 2027-02-09 is now open · yours (SSE notice).',
    );
    // Refused after a good edit: the file still holds exactly the good edits.
    const before = readFileSync(file, 'utf8');
    expect(await a.say('/calendar close 2027-13-01')).toMatch(/^✗/m);
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(JSON.parse(before).data.days['2027-02-08']).toMatchObject({ status: 'closed', note: '春节' });

    // A new process on the same DATA_DIR, on that day: it is closed, by your entry.
    const b = await rig(dir, exchangeTs('2027-02-08', '10:00:00'));
    expect(b.days.calendar.day('2027-02-08')).toMatchObject({
      status: 'closed',
      source: 'user',
      note: '春节',
    });
    expect(b.days.calendar.isCandidateDay('2027-02-08')).toBe(false);
    expect(b.days.sellBlockedReason()).toBe('today (2027-02-08) is not a trading day');
    expect((await b.say('/calendar')).split('\n')[1]).toBe('2027-02-08 Mon · closed · yours (春节)');
    expect(b.days.calendar.isTradingDay('2027-02-09')).toBe(true);
  });

  it('the market’s decision is stored and reused after a restart; the warning is on the health board', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-cal-'));
    const day = '2027-01-04';
    const a = await rig(dir, exchangeTs(day, '09:15:04'));
    expect(a.health.get('calendar:provisional')?.text).toContain('Trading days of 2027 are provisional');
    expect(a.days.sellBlockedReason()).toMatch(
      /provisional trading day the market has not confirmed open yet/,
    );
    a.days.onSnapshots([snap(exchangeTs(day, '09:15:03'), { source: 'tencent' })]);
    a.clock.set(exchangeTs(day, '09:15:07'));
    a.days.onSnapshots([snap(exchangeTs(day, '09:15:06'), { source: 'tencent' })]);
    expect(a.days.sellBlockedReason()).toBeUndefined();
    await new Promise((r) => setTimeout(r, 100)); // the observation is written in the background
    const saved = JSON.parse(readFileSync(join(dir, 'calendar-observed.json'), 'utf8'));
    expect(saved.data.days[day]).toMatchObject({ status: 'open' });

    const b = await rig(dir, exchangeTs(day, '15:04:00'));
    expect(b.days.calendar.day(day)).toMatchObject({ status: 'open', source: 'observed' });
    expect(b.days.sellBlockedReason()).toBeUndefined();
  });
});

describe('npx sealguard calendar', () => {
  it('prints the same rows from DATA_DIR, read-only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-cal-'));
    const a = await rig(dir, exchangeTs('2027-02-01', '10:00:00'));
    await a.say('/calendar close 2027-02-08 春节');
    const { stdout } = await run(process.execPath, [BIN, 'calendar'], {
      env: { PATH: process.env.PATH ?? '', DATA_DIR: dir, SEALGUARD_CLOCK: '2027-02-01T10:00:00+08:00' },
    });
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toContain('Calendar 交易日历 from 2027-02-01');
    expect(lines).toContain('2027-02-08 Mon · closed · yours (春节)');
    expect(lines).toContain('2027-02-01 Mon · candidate · provisional (not confirmed yet)');
    expect(lines.filter((l) => /^\d{4}-/.test(l))).toHaveLength(10);
    expect(stdout).toContain('⚠️ Trading days of 2027 are provisional');
  }, 30_000);

  it('refuses a bad --days', async () => {
    const err = await run(process.execPath, [BIN, 'calendar', '--days', 'x'], {
      env: { PATH: process.env.PATH ?? '', DATA_DIR: mkdtempSync(join(tmpdir(), 'sg-cal-')) },
    }).catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 2, stderr: expect.stringContaining('--days must be a whole number') });
  }, 30_000);
});
