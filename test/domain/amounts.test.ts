import { describe, expect, it } from 'vitest';
import { formatAmount, parseAmount } from '../../src/domain/amounts.ts';
import { InputError } from '../../src/domain/types.ts';

describe('parseAmount reads every form traders type, exactly', () => {
  it.each([
    ['2000w', 20_000_000],
    ['2000W', 20_000_000],
    ['2000万', 20_000_000],
    ['2000万元', 20_000_000],
    ['2000 万', 20_000_000],
    ['0.2亿', 20_000_000],
    ['.2亿', 20_000_000],
    ['0.2亿元', 20_000_000],
    ['2e7', 20_000_000],
    ['2E7', 20_000_000],
    ['20000000', 20_000_000],
    ['20,000,000', 20_000_000],
    ['20000000元', 20_000_000],
    ['+2000w', 20_000_000],
    ['0.1亿', 10_000_000],
    ['1.5亿', 150_000_000],
    ['1503万', 15_030_000],
    ['2.5e3万', 25_000_000],
    ['500k', 500_000],
    ['500K', 500_000],
    ['5千', 5_000],
    ['8500', 8_500],
    ['1', 1],
    ['1e12', 1_000_000_000_000],
    ['10000亿', 1_000_000_000_000],
  ])('%j -> %i yuan', (text, yuan) => {
    expect(parseAmount(text)).toBe(yuan);
  });
});

describe('parseAmount refuses anything that is not a positive whole sum up to 1e12', () => {
  it.each([
    ['-2000w', 'must be positive'],
    ['-1', 'must be positive'],
    ['0', 'greater than zero'],
    ['0w', 'greater than zero'],
    ['0.0亿', 'greater than zero'],
    ['NaN', 'expected a number'],
    ['Infinity', 'expected a number'],
    ['', 'expected a number'],
    ['abc', 'expected a number'],
    ['2000x', 'expected a number'],
    ['20亿万', 'expected a number'],
    ['2e', 'expected a number'],
    ['1.5', 'whole number of yuan'],
    ['1e-3', 'whole number of yuan'],
    ['1.00001万', 'whole number of yuan'],
    ['1e13', 'larger than'],
    ['10001亿', 'larger than'],
    ['1000000000001', 'larger than'],
  ])('%j: %s', (text, why) => {
    expect(() => parseAmount(text)).toThrow(InputError);
    expect(() => parseAmount(text)).toThrow(`invalid amount "${text}": `);
    expect(() => parseAmount(text)).toThrow(why);
  });
});

describe('formatAmount speaks in 元, 万 and 亿', () => {
  it.each([
    [20_000_000, '2000万'],
    [281_025_930, '2.81亿'],
    [15_030_000, '1503万'],
    [8_500, '8500元'],
    [0, '0元'],
    [9_999, '9999元'],
    [10_000, '1万'],
    [12_345, '1.23万'],
    [12_355, '1.24万'],
    [15_035_000, '1503.5万'],
    [99_999_999, '1亿'],
    [100_000_000, '1亿'],
    [150_000_000, '1.5亿'],
    [1_000_000_000_000, '10000亿'],
    [-20_000_000, '-2000万'],
  ])('%i -> %s', (yuan, text) => {
    expect(formatAmount(yuan)).toBe(text);
  });
});
