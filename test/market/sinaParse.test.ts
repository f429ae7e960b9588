import { describe, expect, it } from 'vitest';
import { parseSina } from '../../src/market/sinaParse.ts';
import { fixtureBytes, fixtureText } from '../helpers/fixtures.ts';

const line = (code: string) =>
  fixtureText('sina_20221122_utf8.txt')
    .split('\n')
    .find((l) => l.includes(`hq_str_${code}=`))!;

describe('Sina parser', () => {
  it('reads the GBK bytes and the decoded text to identical snapshots', () => {
    const a = parseSina(fixtureBytes('sina_20221122_gbk.txt'));
    const b = parseSina(fixtureText('sina_20221122_utf8.txt'));
    expect(a.snapshots).toEqual(b.snapshots);
    expect(a.empty).toEqual(['002257.SZ']);
    expect(a.rejected).toEqual([]);
    expect(a.snapshots.map((s) => `${s.symbol} ${s.name} ${s.status}`)).toEqual([
      '002116.SZ 中国海诚 normal',
      '002143.SZ 印纪退 delisted',
      '002150.SZ 通润装备 suspended',
      '002348.SZ 高乐股份 normal',
      '002464.SZ 众应退 normal',
      '002710.SZ 慈铭体检 not-listed',
      '002812.SZ 恩捷股份 normal',
      '002846.SZ 英联股份 normal',
    ]);
  });

  it('reads the book as volume-then-price in shares, amount in yuan, and publishes no limits', () => {
    const s = parseSina(line('sz002116')).snapshots[0]!;
    expect([s.last, s.prevClose, s.open, s.high, s.low]).toEqual([1002, 911, 905, 1002, 905]);
    expect(s.bids).toEqual([
      [1002, 28046509],
      [1001, 48700],
      [996, 1100],
      [990, 1000],
      [989, 6200],
    ]);
    expect(s.asks).toEqual([]);
    expect(s.volume).toBe(18_687_975);
    expect(s.amount).toBe(180_426_623);
    expect(s.ts).toBe(Date.UTC(2022, 10, 22, 3, 30, 0));
    expect('limitUp' in s).toBe(false);
  });

  it('accepts the trailing comma after the status', () => {
    const withComma = line('sz002116').replace(',00";', ',00,";');
    expect(parseSina(withComma).snapshots).toEqual(parseSina(line('sz002116')).snapshots);
  });

  it('keeps the stale date of a dead code that looks sealed (众应退, 2022-06-27)', () => {
    const s = parseSina(line('sz002464')).snapshots[0]!;
    expect(s.ts).toBe(Date.UTC(2022, 5, 27, 7, 0, 3));
    expect(s.bids[0]).toEqual([26, 8233154]);
  });

  it('rejects a record with an unknown status or too few fields, keeping the others', () => {
    const body = [
      line('sz002116').replace(',00";', ',99";'),
      'var hq_str_sz002117="短,1.0,2.0";',
      line('sz002348'),
      'Forbidden',
    ].join('\n');
    const out = parseSina(body);
    expect(out.snapshots.map((s) => s.symbol)).toEqual(['002348.SZ']);
    expect(out.rejected).toEqual([
      { key: '002116.SZ', reason: 'unknown trading status (field 32)' },
      { key: '002117.SZ', reason: 'wrong number of fields' },
    ]);
  });

  it('parses the 850-row capture: 832 snapshots, 18 empty records', () => {
    const out = parseSina(fixtureText('sina_20221122_full_850rows_utf8.txt'));
    expect([out.snapshots.length, out.empty.length, out.rejected.length]).toEqual([832, 18, 0]);
  });
});
