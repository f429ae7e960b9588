import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  TradingCalendar,
  dayInfo,
  describeDay,
  isCandidateDay,
  FIRST_CALENDAR_YEAR,
  LAST_CALENDAR_YEAR,
  isTradingDay,
  nextTradingDay,
  prevTradingDay,
  tradingDaysBetween,
} from '../../src/domain/calendar.ts';
import { holidayDataFrom, loadHolidayData } from '../../src/domain/holidayData.ts';
import { addDays } from '../../src/domain/time.ts';
import { InputError } from '../../src/domain/types.ts';

function weekdayClosures(year: number): string[] {
  const out: string[] = [];
  for (let d = `${year}-01-01`; d.startsWith(String(year)); d = addDays(d, 1)) {
    const wd = new Date(`${d}T00:00:00Z`).getUTCDay();
    if (wd !== 0 && wd !== 6 && !isTradingDay(d)) out.push(d);
  }
  return out;
}

describe('trading days', () => {
  it('2024-02-09 (除夕, a statutory workday) was an exchange closure', () => {
    expect(isTradingDay('2024-02-09')).toBe(false);
    expect(isTradingDay('2024-02-08')).toBe(true);
  });
  it('National Day is closed', () => {
    expect(isTradingDay('2026-10-01')).toBe(false);
  });
  it('make-up working weekends (调休上班) are not trading days', () => {
    expect(isTradingDay('2026-02-14')).toBe(false);
    expect(isTradingDay('2026-09-20')).toBe(false);
    expect(isTradingDay('2026-02-28')).toBe(false);
  });
  it('an ordinary weekday is open, an ordinary weekend closed', () => {
    expect(isTradingDay('2026-11-24')).toBe(true);
    expect(isTradingDay('2026-11-28')).toBe(false);
  });
  it('matches the exchanges’ 2025 and 2026 closure notices and trading-day counts', () => {
    expect(weekdayClosures(2025)).toEqual([
      '2025-01-01',
      '2025-01-28',
      '2025-01-29',
      '2025-01-30',
      '2025-01-31',
      '2025-02-03',
      '2025-02-04',
      '2025-04-04',
      '2025-05-01',
      '2025-05-02',
      '2025-05-05',
      '2025-06-02',
      '2025-10-01',
      '2025-10-02',
      '2025-10-03',
      '2025-10-06',
      '2025-10-07',
      '2025-10-08',
    ]);
    expect(weekdayClosures(2026)).toEqual([
      '2026-01-01',
      '2026-01-02',
      '2026-02-16',
      '2026-02-17',
      '2026-02-18',
      '2026-02-19',
      '2026-02-20',
      '2026-02-23',
      '2026-04-06',
      '2026-05-01',
      '2026-05-04',
      '2026-05-05',
      '2026-06-19',
      '2026-09-25',
      '2026-10-01',
      '2026-10-02',
      '2026-10-05',
      '2026-10-06',
      '2026-10-07',
    ]);
    expect(tradingDaysBetween('2025-01-01', '2025-12-31')).toBe(243);
    expect(tradingDaysBetween('2026-01-01', '2026-12-31')).toBe(242);
  });
});

describe('stepping across the Spring Festival 2026', () => {
  it('the day after 2026-02-13 is 2026-02-24, and back', () => {
    expect(nextTradingDay('2026-02-13')).toBe('2026-02-24');
    expect(prevTradingDay('2026-02-24')).toBe('2026-02-13');
    expect(nextTradingDay('2026-02-14')).toBe('2026-02-24');
    expect(prevTradingDay('2026-02-16')).toBe('2026-02-13');
  });
  it('counts listed days inclusively: listing day is day 1', () => {
    expect(tradingDaysBetween('2026-02-12', '2026-02-24')).toBe(3);
    expect(tradingDaysBetween('2026-11-24', '2026-11-24')).toBe(1);
    expect(tradingDaysBetween('2026-11-28', '2026-11-28')).toBe(0);
    expect(tradingDaysBetween('2026-11-25', '2026-11-24')).toBe(0);
  });
});

describe('outside the bundled data: provisional, never a throw', () => {
  it(`the installed chinese-days covers ${2004}–${2026} today`, () => {
    expect([FIRST_CALENDAR_YEAR, LAST_CALENDAR_YEAR]).toEqual([2004, 2026]);
  });
  it.each(['2027-01-04', '2030-06-03', '2003-06-02'])('%s is a candidate, not a known trading day', (d) => {
    expect(() => isTradingDay(d)).not.toThrow();
    expect(isTradingDay(d)).toBe(false);
    expect(isCandidateDay(d)).toBe(true);
    expect(dayInfo(d)).toMatchObject({ status: 'candidate', source: 'provisional', provisional: true });
  });
  it('weekends stay closed in a provisional year', () => {
    expect(dayInfo('2027-01-02')).toMatchObject({ status: 'closed', source: 'weekend' });
    expect(isCandidateDay('2027-01-03')).toBe(false);
  });
  it('steps across the year end without throwing', () => {
    expect(nextTradingDay('2026-12-31')).toBe('2027-01-01');
    expect(prevTradingDay('2026-12-31')).toBe('2026-12-30');
    expect(prevTradingDay('2027-01-04')).toBe('2027-01-01');
    // Listed-day counts (IPO no-limit days) across the year end count provisional weekdays.
    expect(tradingDaysBetween('2026-12-30', '2027-01-05')).toBe(5);
  });
  it('refuses malformed dates as input errors', () => {
    expect(() => isTradingDay('2026-2-3')).toThrow(InputError);
    expect(() => nextTradingDay('tomorrow')).toThrow('invalid date "tomorrow"');
  });
});

describe('sources in order: yours, bundled, provisional + what the market showed', () => {
  const fresh = () => new TradingCalendar();
  it('your closure wins over the provisional candidate and over bundled data', () => {
    const c = fresh();
    c.setUserDays([
      ['2027-02-08', { status: 'closed', note: '春节' }],
      ['2026-12-30', { status: 'closed' }],
    ]);
    expect(c.day('2027-02-08')).toMatchObject({ status: 'closed', source: 'user', note: '春节' });
    expect(c.isCandidateDay('2027-02-08')).toBe(false);
    expect(c.isTradingDay('2026-12-30')).toBe(false);
    expect(c.nextTradingDay('2027-02-05')).toBe('2027-02-09');
  });
  it('an observation decides a provisional day, never a bundled one', () => {
    const c = fresh();
    c.setObserved('2027-01-01', { status: 'closed', evidence: 'no quote dated today', at: 1 });
    c.setObserved('2027-01-04', { status: 'open', evidence: 'advancing', at: 2 });
    c.setObserved('2026-12-31', { status: 'closed', evidence: 'a stale feed', at: 3 });
    expect(c.day('2027-01-01')).toMatchObject({ status: 'closed', source: 'observed' });
    expect(c.isTradingDay('2027-01-04')).toBe(true);
    expect(c.isTradingDay('2026-12-31')).toBe(true);
    expect(c.prevTradingDay('2027-01-04')).toBe('2026-12-31');
    expect(describeDay(c.day('2027-01-04'))).toBe('confirmed open · market (advancing)');
    expect(describeDay(c.day('2027-01-05'))).toBe('candidate · provisional (not confirmed yet)');
  });
  it('warns from 1 December and on every provisional day, not before', () => {
    const c = fresh();
    expect(c.warning('2026-11-30')).toBeUndefined();
    expect(c.warning('2026-12-01')).toMatch(
      /2027 closures are not known yet.*\/calendar close.*npm update chinese-days/,
    );
    expect(c.warning('2027-03-01')).toMatch(/Trading days of 2027 are provisional.*\/calendar close/);
  });
});

describe('chinese-days read at run time', () => {
  it('a newer chinese-days that brings 2027 is used where it is installed', () => {
    // A package tree like npm's, holding a chinese-days whose data reaches 2027.
    const root = mkdtempSync(join(tmpdir(), 'sg-cd-'));
    const dist = join(root, 'node_modules', 'chinese-days', 'dist');
    mkdirSync(dist, { recursive: true });
    const real = JSON.parse(
      readFileSync(
        join(import.meta.dirname, '../../node_modules/chinese-days/dist/chinese-days.json'),
        'utf8',
      ),
    ) as { holidays: Record<string, string> };
    const newer = { ...real, holidays: { ...real.holidays, '2027-01-01': "New Year's Day,元旦,1" } };
    writeFileSync(join(dist, 'chinese-days.json'), JSON.stringify(newer));
    writeFileSync(join(root, 'node_modules', 'chinese-days', 'package.json'), '{"name":"chinese-days"}');
    const data = loadHolidayData(pathToFileURL(join(root, 'main.js')));
    expect(data.lastYear).toBe(2027);
    const c = new TradingCalendar(data);
    expect(c.day('2027-01-01')).toMatchObject({ status: 'closed', source: 'bundled' });
    expect(c.isTradingDay('2027-01-04')).toBe(true);
    expect(c.warning('2026-12-01')).toBeUndefined();
  });
  it('reads the holidays by key, so the host time zone cannot shift a day', () => {
    // chinese-days' own functions go through local-time Dates (rules.md §4.3); the keys cannot.
    const data = loadHolidayData();
    expect(data.holidays.has('2026-10-01')).toBe(true);
    expect(data.holidays.has('2026-09-30')).toBe(false);
    expect(holidayDataFrom({ holidays: { '2027-01-01': 'x' } })).toMatchObject({
      firstYear: 2027,
      lastYear: 2027,
    });
    expect(() => holidayDataFrom({})).toThrow('no "holidays"');
  });
});
