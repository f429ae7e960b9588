import { describe, expect, it } from 'vitest';
import { formatTicks, numberToTicks, toTicks } from '../../src/domain/prices.ts';
import { InputError } from '../../src/domain/types.ts';

describe('toTicks turns a decimal string into integer ticks exactly', () => {
  it.each([
    ['10.02', 2, 1002],
    ['10.020', 2, 1002],
    ['10.2', 2, 1020],
    ['10', 2, 1000],
    ['10.', 2, 1000],
    ['0.01', 2, 1],
    ['0', 2, 0],
    ['1685.00', 2, 168500],
    [' 17.15 ', 2, 1715],
    ['+3.905', 3, 3905],
    ['3.905', 3, 3905],
    ['3.9', 3, 3900],
    ['123.4560', 3, 123456],
  ] as const)('%j with %i decimals -> %i', (text, d, ticks) => {
    expect(toTicks(text, d)).toBe(ticks);
  });

  it.each([
    ['10.025', 2],
    ['3.9051', 3],
    ['abc', 2],
    ['', 2],
    ['-1', 2],
    ['1e3', 2],
    ['1,000', 2],
    ['.5', 2],
    ['NaN', 2],
    ['99999999999999999999', 2],
  ] as const)('refuses %j (decimals %i)', (text, d) => {
    expect(() => toTicks(text, d)).toThrow(InputError);
    expect(() => toTicks(text, d)).toThrow(`"${text}"`);
  });
});

describe('numberToTicks rounds a feed float to the nearest tick', () => {
  it('absorbs binary representation error', () => {
    expect(0.29 * 100).not.toBe(29); // 28.999999999999996
    expect(numberToTicks(0.29, 2)).toBe(29);
    expect(numberToTicks(18.87, 2)).toBe(1887);
    expect(numberToTicks(10.02, 2)).toBe(1002);
    expect(numberToTicks(0.1 + 0.2, 2)).toBe(30);
    expect(numberToTicks(4.296, 3)).toBe(4296);
    expect(numberToTicks(-1, 2)).toBe(-100);
    expect(Object.is(numberToTicks(-0.001, 2), 0)).toBe(true);
  });
  it('is for feed prices, not for computing limits: the float product has already lost the tie', () => {
    expect(numberToTicks(1.15 * 1.1, 2)).toBe(126); // the exact limit-up is 1.27
  });
  it('refuses non-finite numbers', () => {
    expect(() => numberToTicks(NaN, 2)).toThrow(InputError);
    expect(() => numberToTicks(Infinity, 3)).toThrow(InputError);
  });
});

describe('formatTicks renders ticks with the instrument precision', () => {
  it.each([
    [1002, 2, '10.02'],
    [1, 2, '0.01'],
    [0, 2, '0.00'],
    [185350, 2, '1853.50'],
    [4296, 3, '4.296'],
    [5, 3, '0.005'],
    [-100, 2, '-1.00'],
  ] as const)('%i with %i decimals -> %s', (ticks, d, text) => {
    expect(formatTicks(ticks, d)).toBe(text);
  });
  it('round-trips with toTicks', () => {
    for (const t of [1, 99, 100, 101, 12345, 999999]) {
      expect(toTicks(formatTicks(t, 2), 2)).toBe(t);
      expect(toTicks(formatTicks(t, 3), 3)).toBe(t);
    }
  });
  it('refuses a non-integer tick count', () => {
    expect(() => formatTicks(10.5, 2)).toThrow(InputError);
  });
});
