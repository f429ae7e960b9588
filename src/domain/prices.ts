/**
 * Decimal strings <-> integer ticks. Prices are compared and computed only as integer ticks;
 * floats appear only where a feed hands us one, and are rounded to the tick immediately.
 */
import { InputError } from './types.ts';
import type { Ticks } from './types.ts';

const SCALE = { 2: 100, 3: 1000 } as const;

/**
 * "10.020" with decimals 2 -> 1002. Digits beyond the tick must be zeros: a price that is not on
 * the tick grid is a bug upstream, and silently rounding it would hide that.
 */
export function toTicks(price: string, decimals: 2 | 3): Ticks {
  const m = /^\s*\+?(\d+)(?:\.(\d*))?\s*$/.exec(String(price));
  if (!m) throw new InputError(`invalid price "${price}": expected a non-negative decimal such as 10.02`);
  const intPart = m[1] as string;
  const frac = m[2] ?? '';
  if (/[1-9]/.test(frac.slice(decimals))) {
    throw new InputError(
      `invalid price "${price}": finer than the ${decimals === 2 ? '0.01' : '0.001'} tick`,
    );
  }
  const ticks = Number(intPart) * SCALE[decimals] + Number(frac.slice(0, decimals).padEnd(decimals, '0'));
  if (!Number.isSafeInteger(ticks)) throw new InputError(`invalid price "${price}": too large`);
  return ticks;
}

/**
 * From a feed float. Math.round is safe here: a double's representation error on a real price is
 * many orders of magnitude below half a tick, unlike limit *computation*, where it is not.
 */
export function numberToTicks(price: number, decimals: 2 | 3): Ticks {
  if (!Number.isFinite(price)) throw new InputError(`invalid price ${price}: not a finite number`);
  const ticks = Math.round(price * SCALE[decimals]);
  if (!Number.isSafeInteger(ticks)) throw new InputError(`invalid price ${price}: too large`);
  return ticks === 0 ? 0 : ticks; // no -0
}

/** 1002 -> "10.02"; 4296 with decimals 3 -> "4.296". */
export function formatTicks(ticks: Ticks, decimals: 2 | 3): string {
  if (!Number.isSafeInteger(ticks)) throw new InputError(`invalid tick count ${ticks}: not an integer`);
  const sign = ticks < 0 ? '-' : '';
  const abs = Math.abs(ticks);
  const scale = SCALE[decimals];
  const frac = String(abs % scale).padStart(decimals, '0');
  return `${sign}${Math.floor(abs / scale)}.${frac}`;
}

export function tickScale(decimals: 2 | 3): number {
  return SCALE[decimals];
}
