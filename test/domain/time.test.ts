import { describe, expect, it } from 'vitest';
import {
  addDays,
  exchangeDate,
  exchangeDayNumber,
  exchangeSecondsOfDay,
  exchangeTs,
  formatExchangeTime,
  parseExchangeTime,
  weekdayOf,
} from '../../src/domain/time.ts';
import { InputError } from '../../src/domain/types.ts';

// 2026-11-24T10:00:03+08:00 == 2026-11-24T02:00:03Z
const T = Date.UTC(2026, 10, 24, 2, 0, 3);

describe('exchange time is UTC+8 whatever the host TZ', () => {
  it('runs under a foreign TZ (the suite sets America/New_York)', () => {
    expect(process.env.TZ).toBe('America/New_York');
  });
  it('converts instants to exchange date, seconds of day and ISO text', () => {
    expect(exchangeDate(T)).toBe('2026-11-24');
    expect(exchangeSecondsOfDay(T)).toBe(10 * 3600 + 3);
    expect(formatExchangeTime(T)).toBe('2026-11-24T10:00:03+08:00');
    expect(formatExchangeTime(T + 250)).toBe('2026-11-24T10:00:03.250+08:00');
  });
  it('puts 16:00Z into the next exchange day', () => {
    const t = Date.UTC(2026, 10, 23, 16, 0, 0);
    expect(exchangeDate(t)).toBe('2026-11-24');
    expect(exchangeSecondsOfDay(t)).toBe(0);
    expect(exchangeSecondsOfDay(t - 1)).toBe(86399);
    expect(exchangeDate(t - 1)).toBe('2026-11-23');
  });
  it('numbers exchange days, and the memoised date follows every change of day in either direction', () => {
    const midnight = Date.UTC(2026, 10, 23, 16, 0, 0); // 2026-11-24T00:00+08:00
    expect(exchangeDayNumber(midnight)).toBe(exchangeDayNumber(midnight - 1) + 1);
    expect(exchangeDayNumber(midnight) * 86_400_000).toBe(Date.UTC(2026, 10, 24));
    // Alternating days defeats a one-entry memo: each answer must still be the right date.
    for (const [ts, date] of [
      [midnight, '2026-11-24'],
      [midnight - 1, '2026-11-23'],
      [midnight + 5, '2026-11-24'],
      [Date.UTC(1969, 11, 31, 12), '1969-12-31'],
      [midnight - 1, '2026-11-23'],
    ] as const)
      expect(exchangeDate(ts)).toBe(date);
    expect(() => exchangeDayNumber(Infinity)).toThrow(InputError);
  });
  it('builds instants from exchange date and time', () => {
    expect(exchangeTs('2026-11-24', '10:00:03')).toBe(T);
    expect(exchangeTs('2026-11-24', '09:30')).toBe(Date.UTC(2026, 10, 24, 1, 30));
    expect(exchangeTs('2026-01-01', '00:00:00')).toBe(Date.UTC(2025, 11, 31, 16));
  });
  it('refuses bad dates and times, naming them', () => {
    expect(() => exchangeTs('2026-02-30', '09:30:00')).toThrow('invalid date "2026-02-30"');
    expect(() => exchangeTs('2026-11-24', '24:00:00')).toThrow('invalid time "24:00:00"');
    expect(() => exchangeTs('24/11/2026', '09:30:00')).toThrow(InputError);
    expect(() => exchangeDate(NaN)).toThrow(InputError);
  });
});

describe('parseExchangeTime reads ISO 8601 with any offset', () => {
  it.each([
    ['2026-11-24T10:00:03+08:00', T],
    ['2026-11-24T02:00:03Z', T],
    ['2026-11-24T02:00:03z', T],
    ['2026-11-23T21:00:03-05:00', T],
    ['2026-11-24T10:00:03+0800', T],
    ['2026-11-24T10:00:03+08', T],
    ['2026-11-24 10:00:03+08:00', T],
    ['2026-11-24T10:00:03', T], // no offset: exchange time
    ['2026-11-24T10:00:03.250+08:00', T + 250],
    ['2026-11-24T10:00+08:00', T - 3000],
  ])('%s', (text, ts) => {
    expect(parseExchangeTime(text)).toBe(ts);
  });
  it.each([
    '',
    'junk',
    '2026-11-24',
    '2026-02-30T10:00:00+08:00',
    '2026-11-24T25:00:00Z',
    '2026-11-24T10:00:00+15:00',
    '1700000000000',
  ])('refuses %j', (text) => {
    expect(() => parseExchangeTime(text)).toThrow(InputError);
    expect(() => parseExchangeTime(text)).toThrow(`"${text}"`);
  });
  it('round-trips with formatExchangeTime', () => {
    for (const t of [T, T + 1, T + 999, Date.UTC(2024, 1, 29, 23, 59, 59)])
      expect(parseExchangeTime(formatExchangeTime(t))).toBe(t);
  });
});

describe('calendar dates', () => {
  it('knows the weekday of a date string (0 = Sunday)', () => {
    expect(weekdayOf('2026-11-24')).toBe(2);
    expect(weekdayOf('2026-02-14')).toBe(6);
    expect(weekdayOf('2026-09-20')).toBe(0);
  });
  it('adds days across months and leap days', () => {
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
  });
});
