import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { RecordMemo } from '../../src/market/recordMemo.ts';
import { MEMO_SLOT_BYTES } from '../../src/market/tencentFields.ts';
import { parseTencent } from '../../src/market/tencentParse.ts';
import { fixtureText } from '../helpers/fixtures.ts';

// The 900-row capture, as the wire has it (GBK), split into its records.
const ROWS = fixtureText('tencent_20221122_full_900rows_utf8.txt')
  .split('\n')
  .filter((l) => l.startsWith('v_'));
const gbk = (rows: string[]) => iconv.encode(rows.join('\n') + '\n', 'gbk');

/** Row i with its timestamp (field 30) moved on by `step` seconds and its bid1 volume changed. */
function moved(row: string, step: number): string {
  const eq = row.indexOf('="');
  const f = row.slice(eq + 2, row.lastIndexOf('"')).split('~');
  if (f.length < 49 || !/^\d{14}$/.test(f[30]!)) return row;
  f[30] = String(Number(f[30]) + step);
  f[10] = String(Number(f[10]) + step);
  return `${row.slice(0, eq)}="${f.join('~')}";`;
}

describe('unchanged records (RecordMemo)', () => {
  it('a replay of moving books parses to the same snapshots with the memo as without it', () => {
    const memo = new RecordMemo();
    for (let poll = 0; poll < 12; poll++) {
      // Every third record moves each poll; the others repeat what the last poll said.
      const rows = ROWS.map((r, i) => (i % 3 === poll % 3 ? moved(r, poll) : moved(r, poll - (poll % 3))));
      const body = gbk(rows);
      const plain = parseTencent(body);
      const memoed = parseTencent(body, 'tencent', memo);
      expect(memoed.snapshots).toEqual(plain.snapshots);
      expect(memoed.rejected).toEqual(plain.rejected);
      expect(memoed.empty).toEqual(plain.empty);
    }
  });

  it('an unchanged record is answered with the very snapshot parsed before; a changed one is parsed', () => {
    const memo = new RecordMemo();
    const first = parseTencent(gbk(ROWS), 'tencent', memo).snapshots;
    const again = parseTencent(gbk(ROWS), 'tencent', memo).snapshots;
    expect(again.length).toBe(first.length);
    expect(again.every((s, i) => s === first[i])).toBe(true);

    const i = ROWS.findIndex((r) => moved(r, 3) !== r);
    const changed = parseTencent(gbk(ROWS.map((r, k) => (k === i ? moved(r, 3) : r))), 'tencent', memo);
    const sym = first.find((s) => changed.snapshots.some((c) => c.symbol === s.symbol && c !== s))!;
    const now = changed.snapshots.find((s) => s.symbol === sym.symbol)!;
    expect(now.ts - sym.ts).toBe(3000);
    expect(changed.snapshots.filter((s, k) => s !== again[k])).toEqual([now]);
  });

  it('a changed record keeps the levels that did not change: the same tuples, the same untouched side', () => {
    const memo = new RecordMemo();
    const first = parseTencent(gbk(ROWS), 'tencent', memo).snapshots;
    const next = parseTencent(gbk(ROWS.map((r) => moved(r, 3))), 'tencent', memo).snapshots;
    let checked = 0;
    for (const now of next) {
      const before = first.find((s) => s.symbol === now.symbol)!;
      if (now === before || before.bids.length < 2) continue;
      // moved() changes bid1's volume and the time: bid1 is new, the rest is shared.
      expect(now.bids[0]).not.toBe(before.bids[0]);
      expect(now.bids[0]![1] - before.bids[0]![1]).toBe(300);
      for (let k = 1; k < now.bids.length; k++) expect(now.bids[k]).toBe(before.bids[k]);
      expect(now.asks).toBe(before.asks);
      checked++;
    }
    expect(checked).toBeGreaterThan(500);
    // Shared, and still equal to a parse from nothing.
    expect(next).toEqual(parseTencent(gbk(ROWS.map((r) => moved(r, 3)))).snapshots);
  });

  it('a record that was rejected or empty is read afresh, never served from memory', () => {
    const memo = new RecordMemo();
    const row = ROWS.find((r) => moved(r, 1) !== r)!;
    parseTencent(gbk([row]), 'tencent', memo);
    const key = row.slice(2, row.indexOf('='));
    const broken = `v_${key}="1~x";`;
    expect(parseTencent(gbk([broken]), 'tencent', memo).rejected).toHaveLength(1);
    expect(parseTencent(gbk([`v_${key}="";`]), 'tencent', memo).empty).toHaveLength(1);
    expect(memo.size).toBe(0);
    expect(parseTencent(gbk([row]), 'tencent', memo).snapshots).toEqual(parseTencent(gbk([row])).snapshots);
  });

  it('codes no longer asked for are forgotten after a while (memory stays bounded)', () => {
    const memo = new RecordMemo();
    parseTencent(gbk(ROWS.slice(0, 100)), 'tencent', memo);
    const kept = memo.size;
    expect(kept).toBeGreaterThan(50);
    for (let k = 0; k < 600; k++) parseTencent(gbk(ROWS.slice(100, 110)), 'tencent', memo);
    expect(memo.size).toBeLessThanOrEqual(10);
  });
});

describe('where the memo keeps its copies (fixed slots in the parser memory)', () => {
  it('a record longer than a slot is never answered from the memo, and still parses exactly every poll', () => {
    const memo = new RecordMemo();
    const row = ROWS.find((r) => moved(r, 3) !== r)!;
    // Field 49 onwards carry nothing the parser reads: padding them past a slot changes no snapshot.
    const long = row.replace(/";$/, '~' + 'x'.repeat(MEMO_SLOT_BYTES) + '";');
    const plain = parseTencent(gbk([long])).snapshots;
    const a = parseTencent(gbk([long]), 'tencent', memo).snapshots;
    const b = parseTencent(gbk([long]), 'tencent', memo).snapshots;
    expect(a).toEqual(plain);
    expect(b).toEqual(plain);
    expect(b[0]).not.toBe(a[0]);
    expect(memo.size).toBe(0);
  });

  it('memos side by side (two feeds) never answer with each other’s snapshots', () => {
    const one = new RecordMemo();
    const two = new RecordMemo();
    const rows = ROWS.slice(0, 50);
    const a1 = parseTencent(gbk(rows), 'tencent', one).snapshots;
    const movedRows = rows.map((r) => moved(r, 3));
    const b1 = parseTencent(gbk(movedRows), 'tencent', two).snapshots;
    expect(parseTencent(gbk(rows), 'tencent', one).snapshots.every((s, i) => s === a1[i])).toBe(true);
    expect(parseTencent(gbk(movedRows), 'tencent', two).snapshots.every((s, i) => s === b1[i])).toBe(true);
    expect(parseTencent(gbk(movedRows), 'tencent', one).snapshots).toEqual(
      parseTencent(gbk(movedRows)).snapshots,
    );
  });
});
