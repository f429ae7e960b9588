import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { isNoLimitSentinel } from '../../src/domain/limits.ts';
import { scanFixed, scanInt } from '../../src/market/scan.ts';
import { parseSina } from '../../src/market/sinaParse.ts';
import { parseTencent } from '../../src/market/tencentParse.ts';
import { fixtureText } from '../helpers/fixtures.ts';

// The parsers read plain decimals in place and hand anything else to scan.ts: whatever a number
// field holds, the record must come out as scanFixed/scanInt read that text. Spellings around
// the fast path's edges: extra zeros, a fraction past the tick, no digits on one side, signs,
// padding, overflow.
const PRICES = ['10.02', '10.020', '10.0200', '10.021', '10.2', '10', '10.', '.5', '-1', '-10.02', '', '1e3'];
const PRICES_TOO = ['010.02', '10.02 ', ' 10.02', '10..0', '1.2.3', '99999999999999999.99', '0', '0.00'];
const INTS = ['243', '243.0', '243.5', '243.', '0', '', '-5', '2a', '00243', '.5', '9007199254740993'];

const ascii = (text: string) => Buffer.from(text, 'latin1');
const fixed = (text: string) => scanFixed(ascii(text), 0, text.length, 2);
const int = (text: string) => scanInt(ascii(text), 0, text.length);

/** `row` (a `<key>="f0<sep>f1..."` line) with field k replaced. */
function withField(row: string, sep: string, k: number, text: string): string {
  const open = row.indexOf('="') + 2;
  const close = row.lastIndexOf('"');
  const f = row.slice(open, close).split(sep);
  f[k] = text;
  return row.slice(0, open) + f.join(sep) + row.slice(close);
}

describe('number fields read exactly as scan.ts reads their text', () => {
  const tencent = fixtureText('tencent_20221122_utf8.txt')
    .split('\n')
    .find((l) => l.startsWith('v_sz002116'))!;
  const tParse = (row: string) => parseTencent(iconv.encode(row + '\n', 'gbk'));

  it('Tencent last price (field 3)', () => {
    for (const text of [...PRICES, ...PRICES_TOO]) {
      const out = tParse(withField(tencent, '~', 3, text));
      const v = fixed(text);
      if (Number.isNaN(v) || v < 0)
        expect(out.rejected, text).toEqual([{ key: '002116.SZ', reason: 'bad price or volume' }]);
      else expect(out.snapshots[0]!.last, text).toBe(v);
    }
  });

  it('Tencent bid 1 lots (field 10)', () => {
    for (const text of INTS) {
      const out = tParse(withField(tencent, '~', 10, text));
      const v = int(text);
      if (Number.isNaN(v))
        expect(out.rejected, text).toEqual([{ key: '002116.SZ', reason: 'bad order book' }]);
      else if (v === 0) expect(out.snapshots[0]!.bids[0], text).toEqual([1001, 48700]);
      else expect(out.snapshots[0]!.bids[0], text).toEqual([1002, v * 100]);
    }
  });

  it('Tencent limit up (field 47): empty is "not published", a sentinel is null', () => {
    for (const text of [...PRICES, ...PRICES_TOO]) {
      const out = tParse(withField(tencent, '~', 47, text));
      const v = fixed(text);
      if (text === '') expect(out.snapshots[0]!.limitUp, text).toBeUndefined();
      else if (Number.isNaN(v))
        expect(out.rejected, text).toEqual([{ key: '002116.SZ', reason: 'bad limit price' }]);
      else expect(out.snapshots[0]!.limitUp, text).toBe(isNoLimitSentinel(v / 100, 2) ? null : v);
    }
  });

  const sina = fixtureText('sina_20221122_utf8.txt')
    .split('\n')
    .find((l) => l.includes('hq_str_sz002116='))!;
  const sParse = (row: string) => parseSina(iconv.encode(row + '\n', 'gbk'));

  it('Sina last price (field 3), given with three decimals', () => {
    for (const text of [...PRICES, ...PRICES_TOO]) {
      const out = sParse(withField(sina, ',', 3, text));
      const v = fixed(text);
      if (Number.isNaN(v) || v < 0)
        expect(out.rejected, text).toEqual([{ key: '002116.SZ', reason: 'bad price or volume' }]);
      else expect(out.snapshots[0]!.last, text).toBe(v);
    }
  });

  it('Sina amount (field 9, a fraction floored) and bid 1 shares (field 10)', () => {
    for (const text of INTS) {
      const amount = sParse(withField(sina, ',', 9, text));
      const v = int(text);
      if (Number.isNaN(v))
        expect(amount.rejected, text).toEqual([{ key: '002116.SZ', reason: 'bad price or volume' }]);
      else expect(amount.snapshots[0]!.amount, text).toBe(v);

      const bid = sParse(withField(sina, ',', 10, text));
      if (Number.isNaN(v))
        expect(bid.rejected, text).toEqual([{ key: '002116.SZ', reason: 'bad order book' }]);
      else if (v === 0) expect(bid.snapshots[0]!.bids[0], text).toEqual([1001, 48700]);
      else expect(bid.snapshots[0]!.bids[0], text).toEqual([1002, v]);
    }
  });
});
