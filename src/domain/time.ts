/**
 * Exchange time. Asia/Shanghai has been a fixed UTC+8 with no daylight saving since 1991, so
 * shifting epoch ms by 8 h and reading the UTC fields is exact, needs no tz database, is fast on a
 * hot path and cannot be disturbed by the host's TZ.
 */
import { InputError } from './types.ts';

export const EXCHANGE_OFFSET_MS = 8 * 3_600_000;
const DAY_MS = 86_400_000;

function shifted(ts: number): Date {
  if (!Number.isFinite(ts)) throw new InputError(`invalid timestamp ${ts}`);
  return new Date(ts + EXCHANGE_OFFSET_MS);
}

/** Days since 1970-01-01 in exchange time: one integer per trading date, cheap to compare. */
export function exchangeDayNumber(ts: number): number {
  if (!Number.isFinite(ts)) throw new InputError(`invalid timestamp ${ts}`);
  return Math.floor((ts + EXCHANGE_OFFSET_MS) / DAY_MS);
}

// The hot path asks for the date of every snapshot, nearly always the same day: building a Date
// and an ISO string each time was a measurable share of the guard's CPU. One entry suffices.
let memoDay = NaN;
let memoDate = '';

/** Trading date of an instant, "2026-11-24". */
export function exchangeDate(ts: number): string {
  const day = exchangeDayNumber(ts);
  if (day !== memoDay) {
    memoDate = new Date(day * DAY_MS).toISOString().slice(0, 10);
    memoDay = day;
  }
  return memoDate;
}

/** Seconds since exchange midnight, 0..86399. */
export function exchangeSecondsOfDay(ts: number): number {
  if (!Number.isFinite(ts)) throw new InputError(`invalid timestamp ${ts}`);
  const ms = (((ts + EXCHANGE_OFFSET_MS) % DAY_MS) + DAY_MS) % DAY_MS;
  return Math.floor(ms / 1000);
}

/** Validates "YYYY-MM-DD" (a real calendar date) and returns its parts. */
export function parseDate(date: string): { y: number; m: number; d: number } {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(date));
  if (match) {
    const [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])];
    const back = new Date(Date.UTC(y, m - 1, d));
    if (back.getUTCFullYear() === y && back.getUTCMonth() === m - 1 && back.getUTCDate() === d)
      return { y, m, d };
  }
  throw new InputError(`invalid date "${date}": expected YYYY-MM-DD`);
}

/** Calendar arithmetic on date strings, independent of any time zone. */
export function addDays(date: string, days: number): string {
  const { y, m, d } = parseDate(date);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** ("2026-11-24", "09:30:00") -> epoch ms of that exchange-time instant. "09:30" also accepted. */
export function exchangeTs(date: string, hhmmss: string): number {
  const { y, m, d } = parseDate(date);
  const t = /^(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(String(hhmmss));
  const [h, mi, s] = t ? [Number(t[1]), Number(t[2]), Number(t[3] ?? 0)] : [NaN, NaN, NaN];
  if (!t || h > 23 || mi > 59 || s > 59) throw new InputError(`invalid time "${hhmmss}": expected HH:MM:SS`);
  return Date.UTC(y, m - 1, d, h, mi, s) - EXCHANGE_OFFSET_MS;
}

/** "2026-11-24T10:00:03+08:00" (milliseconds shown only when non-zero). */
export function formatExchangeTime(ts: number): string {
  const iso = shifted(ts).toISOString(); // "2026-11-24T10:00:03.000Z" in exchange wall time
  const ms = iso.slice(19, 23);
  return `${iso.slice(0, 19)}${ms === '.000' ? '' : ms}+08:00`;
}

/**
 * ISO 8601 date-time with any offset ("Z", "+08:00", "-0500"); without an offset it is read as
 * exchange time. Strict: no Date.parse leniency, impossible dates are refused.
 */
export function parseExchangeTime(iso: string): number {
  const m =
    /^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(
      String(iso).trim(),
    );
  const bad = (): InputError =>
    new InputError(`invalid time "${iso}": expected ISO 8601 such as 2026-11-24T10:00:00+08:00`);
  if (!m) throw bad();
  let local: number;
  try {
    local = exchangeTs(m[1] as string, `${m[2]}:${m[3]}:${m[4] ?? '00'}`);
  } catch {
    throw bad();
  }
  const ms = m[5] ? Math.floor(Number(`0.${m[5]}`) * 1000) : 0;
  const off = m[6];
  if (!off) return local + ms;
  let offsetMs = 0;
  if (off.toUpperCase() !== 'Z') {
    const o = /^([+-])(\d{2}):?(\d{2})?$/.exec(off);
    if (!o) throw bad();
    const [oh, om] = [Number(o[2]), Number(o[3] ?? 0)];
    if (oh > 14 || om > 59) throw bad();
    offsetMs = (o[1] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  // `local` assumed +08:00; correct for the offset actually given.
  return local + ms + EXCHANGE_OFFSET_MS - offsetMs;
}

/** 0 = Sunday … 6 = Saturday, for a "YYYY-MM-DD" date. */
export function weekdayOf(date: string): number {
  const { y, m, d } = parseDate(date);
  return new Date(Date.UTC(y, m - 1, d)).getUTCDay();
}
