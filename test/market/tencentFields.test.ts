/**
 * The WebAssembly field pass (src/market/tencentFields.wat) against its definition: each number
 * reads as scan.ts's scanFixed/scanInt read that field's bytes, each kept range is that field's
 * bytes, and a record short of field 48 is refused. The fields are found here independently, by
 * splitting the record's bytes at '~' (after the name, whose GBK bytes may hold one), on every
 * row of the captured Tencent payloads as GBK bytes, and on rows edited field by field.
 */
import { execFileSync } from 'node:child_process';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { securityFromPrefixed } from '../../src/market/codes.ts';
import { gbkFieldEnd } from '../../src/market/gbk.ts';
import { scanFixed, scanInt } from '../../src/market/scan.ts';
import {
  AS_INT,
  begin,
  fields,
  HOW2,
  HOW3,
  KEEP_RANGE,
  RANGE,
  readFields,
} from '../../src/market/tencentFields.ts';
import { fixtureText } from '../helpers/fixtures.ts';

const TILDE = 0x7e;

interface Row {
  bytes: Buffer;
  /** The record's fields: [from, to) in bytes. */
  spans: [number, number][];
  /** Index of the record's closing '"'. */
  end: number;
  decimals: 2 | 3;
}

/** One `v_<key>="...";` line as GBK bytes, its fields found by splitting at '~'. */
function row(line: string): Row | null {
  const m = /^v_([a-z]{2}\d{6})="/.exec(line);
  if (!m) return null;
  const sec = securityFromPrefixed(m[1]!);
  if (!sec) return null;
  const bytes = iconv.encode(line, 'gbk');
  const start = bytes.indexOf('="') + 2;
  const end = bytes.lastIndexOf(0x22);
  if (end <= start) return null;
  const spans: [number, number][] = [];
  const f0 = bytes.indexOf(TILDE, start);
  spans.push([start, f0]);
  const nameEnd = gbkFieldEnd(bytes, f0 + 1, end, TILDE);
  spans.push([f0 + 1, nameEnd]);
  let from = nameEnd + 1;
  for (;;) {
    let to = bytes.indexOf(TILDE, from);
    if (to < 0 || to > end) to = end;
    spans.push([from, to]);
    if (to === end) break;
    from = to + 1;
  }
  return { bytes, spans, end, decimals: sec.decimals };
}

const rowsOf = (file: string): Row[] =>
  fixtureText(file)
    .split('\n')
    .map(row)
    .filter((r): r is Row => r !== null);

/** What scan.ts reads field k as, by the table for these decimals (undefined: not a number). */
function expected(r: Row, k: number): number | undefined {
  const how = (r.decimals === 2 ? HOW2 : HOW3)[k]!;
  if (how < 0) return undefined;
  const [from, to] = r.spans[k]!;
  return how & AS_INT ? scanInt(r.bytes, from, to) : scanFixed(r.bytes, from, to, how & 7);
}

function check(r: Row): void {
  begin();
  const got = readFields(r.bytes, r.spans[2]![0], r.end, r.decimals);
  if (r.spans.length < 49) {
    expect(got).toBe(-1);
    return;
  }
  expect(got).toBe(r.spans[48]![1]);
  const how = r.decimals === 2 ? HOW2 : HOW3;
  for (let k = 2; k <= 48; k++) {
    const want = expected(r, k);
    if (want !== undefined) expect([k, fields.vals[k]]).toEqual([k, want]);
    if (how[k] === RANGE || (how[k]! >= 0 && how[k]! & KEEP_RANGE))
      expect([k, fields.starts[k], fields.ends[k]]).toEqual([k, ...r.spans[k]!]);
  }
}

/** The row with field k's bytes replaced by `text`. */
function edited(r: Row, k: number, text: string): Row {
  const line = iconv.decode(r.bytes, 'gbk');
  const bytes = r.bytes;
  const [from, to] = r.spans[k]!;
  const next = row(
    iconv.decode(
      Buffer.concat([bytes.subarray(0, from), Buffer.from(text, 'latin1'), bytes.subarray(to)]),
      'gbk',
    ),
  );
  if (!next) throw new Error(`editing field ${k} of ${line.slice(0, 12)} broke the row`);
  return next;
}

describe('Tencent field pass (WebAssembly)', () => {
  it('reads every field of every captured row as scan.ts reads it', () => {
    const rows = [
      ...rowsOf('tencent_20221122_full_900rows_utf8.txt'),
      ...rowsOf('tencent_20221122_utf8.txt'),
    ];
    expect(rows.length).toBeGreaterThan(900);
    for (const r of rows) check(r);
  });

  it('reads odd numbers as scan.ts does: signs, exponents, long digit runs, stray zeros, garbage', () => {
    const odd = [
      '',
      '0',
      '00',
      '1.',
      '.5',
      '12.3',
      '12.34',
      '12.345',
      '12.340',
      '12.3400000',
      '12.3401',
      '-1',
      '-0.5',
      '+1',
      '1e5',
      ' 1',
      '1 ',
      '1.2.3',
      'abc',
      '0.00',
      '999999999999999',
      '9999999999999999',
      '9007199254740991',
      '9007199254740993',
      '00000000000000000001',
      '18446744073709551617',
      '99999999999999999999999',
      '123456789012.345',
      '1234567890123.4',
      '10.20000000000000000001',
    ];
    const base = rowsOf('tencent_20221122_utf8.txt');
    // One 2-decimal and one 3-decimal code, every field the pass reads, every odd spelling.
    const picks = [base.find((r) => r.decimals === 2)!, base.find((r) => r.decimals === 3)].filter(
      (r): r is Row => r !== undefined,
    );
    expect(picks.length).toBeGreaterThan(0);
    for (const r of picks)
      for (let k = 2; k <= 48; k++) {
        if ((r.decimals === 2 ? HOW2 : HOW3)[k]! < 0) continue;
        for (const text of odd) check(edited(r, k, text));
      }
  });

  it('refuses a record that ends before field 48, and takes one that ends right after it', () => {
    const r = rowsOf('tencent_20221122_utf8.txt')[0]!;
    for (let last = 2; last <= 48; last++) {
      const cut = Buffer.concat([r.bytes.subarray(0, r.spans[last]![1]), Buffer.from('";')]);
      const short = row(iconv.decode(cut, 'gbk'))!;
      expect(short.spans.length).toBe(last + 1);
      check(short);
    }
  });

  it('reads a pooled buffer refilled with another body anew after begin()', () => {
    const [a, b] = rowsOf('tencent_20221122_utf8.txt');
    const pool = Buffer.alloc(Math.max(a!.bytes.length, b!.bytes.length) + 64);
    for (const r of [a!, b!, a!]) {
      pool.fill(0);
      r.bytes.copy(pool);
      check({ ...r, bytes: pool });
    }
  });

  it('grows its memory for a body larger than it has, and keeps reading smaller ones after', () => {
    const rows = rowsOf('tencent_20221122_full_900rows_utf8.txt');
    const big = rows[rows.length - 1]!;
    // The last row at the end of a ~2 MB body: its offsets are far past the first memory page.
    const pad = Buffer.alloc(2_000_000, 0x20);
    const bytes = Buffer.concat([pad, big.bytes]);
    check({
      bytes,
      spans: big.spans.map(([f, t]) => [f + pad.length, t + pad.length]),
      end: big.end + pad.length,
      decimals: big.decimals,
    });
    check(rows[0]!);
  });

  it('is the assembly of tencentFields.wat (the committed bytes are current)', () => {
    expect(() =>
      execFileSync(process.execPath, ['scripts/wasm.mjs', '--check'], { stdio: 'pipe' }),
    ).not.toThrow();
  });
});
