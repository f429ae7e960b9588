/**
 * Money amounts as traders type and read them: "2000w", "2000万", "0.2亿", "2e7". Parsed with
 * exact decimal arithmetic (BigInt), so "0.1亿" is exactly 10,000,000 and never 9,999,999.99….
 */
import { InputError } from './types.ts';
import type { Yuan } from './types.ts';

const MAX_YUAN = 1_000_000_000_000n;

const UNITS: Record<string, bigint> = {
  '': 1n,
  元: 1n,
  k: 1_000n,
  千: 1_000n,
  w: 10_000n,
  万: 10_000n,
  万元: 10_000n,
  亿: 100_000_000n,
  亿元: 100_000_000n,
};

export function parseAmount(input: string): Yuan {
  const bad = (why: string): InputError => new InputError(`invalid amount "${input}": ${why}`);
  const text = String(input).trim().replace(/,/g, '').toLowerCase();
  const m = /^\+?(\d+(?:\.\d*)?|\.\d+)(?:e([+-]?\d{1,3}))?\s*(元|k|千|w|万元|万|亿元|亿)?$/.exec(text);
  if (!m) {
    if (/^-/.test(text)) throw bad('must be positive');
    throw bad('expected a number with an optional unit, e.g. 2000w, 2000万, 0.2亿, 2e7 or 20000000');
  }
  const [intPart = '', fracPart = ''] = (m[1] as string).split('.');
  const exp = Number(m[2] ?? 0) - fracPart.length;
  const unit = UNITS[m[3] ?? ''] as bigint;
  // value = digits × 10^exp × unit, kept as a fraction num/den until the end.
  let num = BigInt((intPart + fracPart).replace(/^0+(?=\d)/, '') || '0') * unit;
  let den = 1n;
  if (exp >= 0) num *= 10n ** BigInt(exp);
  else den = 10n ** BigInt(-exp);
  if (num === 0n) throw bad('must be greater than zero');
  if (num % den !== 0n) throw bad('must be a whole number of yuan');
  const yuan = num / den;
  if (yuan > MAX_YUAN) throw bad('larger than 1万亿 (1e12), surely a typo');
  return Number(yuan);
}

/** 20000000 -> "2000万", 281025930 -> "2.81亿", 15030000 -> "1503万", 8500 -> "8500元". */
export function formatAmount(yuan: Yuan): string {
  if (!Number.isFinite(yuan)) return String(yuan);
  const sign = yuan < 0 ? '-' : '';
  const abs = Math.round(Math.abs(yuan));
  if (abs < 10_000) return `${sign}${abs}元`;
  // Two decimals of the unit, half-up in integers; 9999.995万 rounds into 亿 territory.
  const wan = Math.floor((abs + 50) / 100); // hundredths of 万
  if (wan < 1_000_000) return `${sign}${trim(wan)}万`;
  const yi = Math.floor((abs + 500_000) / 1_000_000); // hundredths of 亿
  return `${sign}${trim(yi)}亿`;
}

function trim(hundredths: number): string {
  const whole = Math.floor(hundredths / 100);
  const frac = String(hundredths % 100)
    .padStart(2, '0')
    .replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : String(whole);
}
