import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { parseTencent } from '../../src/market/tencentParse.ts';
import { fixtureBytes, fixtureText } from '../helpers/fixtures.ts';

const bySymbol = (body: string | Uint8Array) =>
  new Map(parseTencent(body).snapshots.map((s) => [s.symbol, s]));
const REC_002116 = fixtureText('tencent_20221122_utf8.txt')
  .split('\n')
  .find((l) => l.startsWith('v_sz002116'))!;

describe('Tencent parser', () => {
  it('reads the GBK bytes and the decoded text to identical snapshots, names included', () => {
    const fromBytes = parseTencent(fixtureBytes('tencent_20221122_gbk.txt'));
    const fromText = parseTencent(fixtureText('tencent_20221122_utf8.txt'));
    expect(fromBytes.snapshots).toEqual(fromText.snapshots);
    expect(fromBytes.snapshots.map((s) => s.name)).toEqual([
      '众和退',
      '凯瑞德',
      '中国海诚',
      '通润装备',
      '高乐股份',
      '慈铭体检',
      '恩捷股份',
      '英联股份',
    ]);
    expect(fromBytes.rejected).toEqual([]);
  });

  it('matches the expected table in quotes.md §1.7 in ticks and shares', () => {
    const m = bySymbol(fixtureBytes('tencent_20221122_gbk.txt'));
    const row = (id: string) => {
      const s = m.get(id)!;
      return [s.status, s.last, s.prevClose, s.limitUp, s.limitDown, s.bids[0] ?? null, s.asks[0] ?? null];
    };
    expect(row('002072.SZ')).toEqual(['normal', 988, 898, 988, 808, [988, 5226700], null]);
    expect(row('002116.SZ')).toEqual(['normal', 1002, 911, 1002, 820, [1002, 28046500], null]);
    expect(row('002348.SZ')).toEqual(['normal', 294, 267, 294, 240, [294, 38508000], null]);
    expect(row('002846.SZ')).toEqual(['normal', 1077, 979, 1077, 881, [1077, 12913800], null]);
    expect(row('002812.SZ')).toEqual(['normal', 14017, 15574, 17131, 14017, null, [14017, 21886400]]);
    // Suspended: Tencent repeats prevClose as "last"; nothing traded, so last is 0. Limits still published.
    expect(row('002150.SZ')).toEqual(['suspended', 0, 955, 1051, 860, null, null]);
    // Delisted: -1 limits are the no-limit sentinel.
    expect(row('002070.SZ')).toEqual(['delisted', 0, 71, null, null, null, null]);
    expect(m.get('002710.SZ')!.status).toBe('not-listed');
  });

  it('reads volume in shares, amount in yuan, Beijing time, float market cap in yuan', () => {
    const s = bySymbol(REC_002116).get('002116.SZ')!;
    expect(s.volume).toBe(18_688_000); // 186880 lots
    expect(s.amount).toBe(180_426_623);
    expect(s.ts).toBe(Date.UTC(2022, 10, 22, 3, 57, 42)); // 11:57:42 +08:00
    expect(s.floatMarketCap).toBe(4_172_000_000); // 41.72 亿
    expect(s.bids).toEqual([
      [1002, 28046500],
      [1001, 48700],
      [996, 1100],
      [990, 1000],
      [989, 6200],
    ]);
    expect(s.asks).toEqual([]);
    expect(s.source).toBe('tencent');
  });

  it('reads STAR total volume as shares but its book as lots (quotes.md §1.5.3)', () => {
    const star =
      'v_sh688981="1~中芯国际~688981~119.98~121.39~121.10~18660976~8774952~9886024~119.98~506~119.97~34~119.96~56~119.95~42~119.94~2~119.99~19~120.00~91~120.01~16~120.03~10~120.04~60~~20260924161453~-1.41~-1.16~121.39~119.63~119.98/18660976/2246348480~18660976~224635~0.93~142.54~~121.39~119.63~1.45~2400.31~10273.01~5.99~145.67~97.11~0.67~444~120.38~114.98~203.80~~~2.03~224634.8480~165.9683~13833~A RA~GP-A-KCB~-2.32~1.15~0.00~4.20~2.64~176.34~91.20~0.67~-5.03~-16.74~2000593909~8562264585~53.11~-2.06~2000593909~~~-11.11~-0.07~~CNY~0~___D__F__NY~119.90~94~100";';
    const s = bySymbol(star).get('688981.SH')!;
    expect(s.volume).toBe(18_660_976);
    expect(s.bids[0]).toEqual([11998, 50600]);
    expect(s.limitUp).toBe(14567);
  });

  it('answers v_pv_none_match with nothing, and empty records as empty', () => {
    expect(parseTencent('v_pv_none_match="1";\n')).toEqual({ snapshots: [], empty: [], rejected: [] });
    expect(parseTencent('v_sz002257="";\n')).toEqual({ snapshots: [], empty: ['002257.SZ'], rejected: [] });
  });

  it('rejects a garbage record without touching its neighbours', () => {
    const lines = fixtureText('tencent_20221122_utf8.txt').trim().split('\n');
    const body = [
      lines[1],
      'v_sz002117="51~broken~002117~1O.02~x";', // too few fields
      'v_sz002118="51~坏~002118~10.0x' + REC_002116.slice(REC_002116.indexOf('~10.02~') + 6), // bad price, wrong code
      'v_sz002119="51~未完~002119~10.02~9.11', // no closing quote on its line
      lines[2],
      '<html>garbage</html>',
      'v_sz002116="' + REC_002116.split('"')[1]!.replace('20221122115742', '2022112211574') + '";',
    ].join('\n');
    const out = parseTencent(body);
    expect(out.snapshots.map((s) => s.symbol)).toEqual(['002072.SZ', '002116.SZ']);
    expect(out.rejected.map((r) => r.key)).toEqual(['002117.SZ', '002118.SZ', '002119.SZ', '002116.SZ']);
    expect(out.rejected[3]!.reason).toBe('bad timestamp');
  });

  it('keeps names with spaces, and a GBK name whose trail byte is "~"', () => {
    // Find a real GBK character whose second byte is 0x7E: a plain split on "~" would cut it.
    let tildeChar = '';
    for (let cp = 0x4e00; cp < 0x9fa5 && !tildeChar; cp++) {
      const b = iconv.encode(String.fromCharCode(cp), 'gbk');
      if (b.length === 2 && b[1] === 0x7e) tildeChar = String.fromCharCode(cp);
    }
    expect(tildeChar).not.toBe('');
    const rec = REC_002116.replace('中国海诚', `粤 ${tildeChar} 媒`);
    const snaps = parseTencent(iconv.encode(rec, 'gbk')).snapshots;
    expect(snaps.map((s) => [s.name, s.last])).toEqual([[`粤 ${tildeChar} 媒`, 1002]]);
  });

  it('keeps the real timestamp of a row dated another day, so freshness gates can reject it', () => {
    const rec = REC_002116.replace('20221122115742', '20220627150003');
    expect(parseTencent(rec).snapshots[0]!.ts).toBe(Date.UTC(2022, 5, 27, 7, 0, 3));
  });

  it('parses every row of the 900-row capture, none rejected', () => {
    const out = parseTencent(fixtureText('tencent_20221122_full_900rows_utf8.txt'));
    expect(out.snapshots.length).toBe(900);
    expect(out.rejected).toEqual([]);
    const statuses: Record<string, number> = {};
    for (const s of out.snapshots) statuses[s.status] = (statuses[s.status] ?? 0) + 1;
    expect(statuses).toEqual({ normal: 884, delisted: 12, suspended: 3, 'not-listed': 1 });
  });
});
