import { describe, expect, it } from 'vitest';
import {
  CalendarError,
  FIRST_CALENDAR_YEAR,
  LAST_CALENDAR_YEAR,
  isTradingDay,
  nextTradingDay,
  prevTradingDay,
  tradingDaysBetween,
} from '../../src/domain/calendar.ts';
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

describe('fail closed outside the calendar data', () => {
  it(`covers ${2004}–${2026} today`, () => {
    expect([FIRST_CALENDAR_YEAR, LAST_CALENDAR_YEAR]).toEqual([2004, 2026]);
  });
  it.each(['2027-01-04', '2030-06-03', '2003-06-02'])('%s throws CalendarError', (d) => {
    expect(() => isTradingDay(d)).toThrow(CalendarError);
    expect(() => isTradingDay(d)).toThrow('update chinese-days');
  });
  it('does not step past the last year it knows', () => {
    expect(() => nextTradingDay('2026-12-31')).toThrow(CalendarError);
    expect(prevTradingDay('2026-12-31')).toBe('2026-12-30');
  });
  it('refuses malformed dates as input errors', () => {
    expect(() => isTradingDay('2026-2-3')).toThrow(InputError);
    expect(() => nextTradingDay('tomorrow')).toThrow('invalid date "tomorrow"');
  });
});
