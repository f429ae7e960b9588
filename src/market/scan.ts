/**
 * Number readers over bytes [from, to) of a response body, used by the Tencent and Sina parsers'
 * hot loops. They read decimal text straight into integers (no float ever holds a price) and
 * allocate nothing. Every reader returns NaN for anything that is not a plain number, so callers
 * reject the record instead of guessing.
 */

const ZERO = 48;
const NINE = 57;
const DOT = 46;
const MINUS = 45;

/**
 * A decimal price as integer units of 10^-decimals: "10.020" -> 1002 for decimals 2. Extra
 * fraction digits must be zeros; a price off the tick grid is garbage, not something to round.
 */
export function scanFixed(b: Uint8Array, from: number, to: number, decimals: number): number {
  if (from >= to) return NaN;
  let i = from;
  let neg = false;
  if (b[i] === MINUS) {
    neg = true;
    i++;
  }
  let n = 0;
  let digits = 0;
  for (; i < to; i++) {
    const c = b[i]!;
    if (c === DOT) break;
    if (c < ZERO || c > NINE) return NaN;
    n = n * 10 + (c - ZERO);
    digits++;
  }
  let frac = 0;
  if (i < to) {
    for (i++; i < to; i++) {
      const c = b[i]!;
      if (c < ZERO || c > NINE) return NaN;
      if (frac < decimals) {
        n = n * 10 + (c - ZERO);
        frac++;
      } else if (c !== ZERO) {
        return NaN;
      }
      digits++;
    }
  }
  if (digits === 0) return NaN;
  for (; frac < decimals; frac++) n *= 10;
  if (n > Number.MAX_SAFE_INTEGER) return NaN;
  return neg ? -n : n;
}

/** A non-negative integer ("280465"); a fraction part is floored ("180426623.060" -> 180426623). */
export function scanInt(b: Uint8Array, from: number, to: number): number {
  if (from >= to) return NaN;
  let n = 0;
  let i = from;
  for (; i < to; i++) {
    const c = b[i]!;
    if (c === DOT) break;
    if (c < ZERO || c > NINE) return NaN;
    n = n * 10 + (c - ZERO);
  }
  if (i === from) return NaN;
  for (i++; i < to; i++) {
    const c = b[i]!;
    if (c < ZERO || c > NINE) return NaN;
  }
  return n > Number.MAX_SAFE_INTEGER ? NaN : n;
}

/** Exactly `count` digits starting at `from`, as a number; NaN if any is not a digit. */
export function scanDigits(b: Uint8Array, from: number, count: number): number {
  let n = 0;
  for (let i = from; i < from + count; i++) {
    const c = b[i]!;
    if (c < ZERO || c > NINE) return NaN;
    n = n * 10 + (c - ZERO);
  }
  return n;
}

/** True when bytes [from, to) spell exactly `ascii`. */
export function bytesEqual(b: Uint8Array, from: number, to: number, ascii: string): boolean {
  if (to - from !== ascii.length) return false;
  for (let i = 0; i < ascii.length; i++) if (b[from + i] !== ascii.charCodeAt(i)) return false;
  return true;
}

const SHANGHAI_OFFSET_MS = 8 * 3_600_000;
let memoYmd = -1;
let memoDayStart = NaN;

/**
 * Beijing wall time -> epoch ms. Asia/Shanghai is a fixed UTC+8 with no DST, so the host's zone
 * never enters. Out-of-range parts give NaN rather than a silently normalised date. A body's
 * records share one date, so the day's start is memoised.
 */
export function beijingToEpoch(y: number, mo: number, d: number, h: number, mi: number, sec: number): number {
  if (!(h >= 0 && h <= 23 && mi >= 0 && mi <= 59 && sec >= 0 && sec <= 59)) return NaN;
  const ymd = y * 10_000 + mo * 100 + d;
  if (ymd !== memoYmd) {
    if (!(y >= 1990 && y <= 2200 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31)) return NaN;
    const ms = Date.UTC(y, mo - 1, d);
    if (new Date(ms).getUTCDate() !== d) return NaN;
    memoYmd = ymd;
    memoDayStart = ms - SHANGHAI_OFFSET_MS;
  }
  return memoDayStart + ((h * 60 + mi) * 60 + sec) * 1000;
}

/** "20221122115742" in [from, to) -> epoch ms; NaN unless it is 14 digits of a real instant. */
export function scanCompactStamp(b: Uint8Array, from: number, to: number): number {
  if (to - from !== 14) return NaN;
  return beijingToEpoch(
    scanDigits(b, from, 4),
    scanDigits(b, from + 4, 2),
    scanDigits(b, from + 6, 2),
    scanDigits(b, from + 8, 2),
    scanDigits(b, from + 10, 2),
    scanDigits(b, from + 12, 2),
  );
}
