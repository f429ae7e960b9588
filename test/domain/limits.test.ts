import { describe, expect, it } from 'vitest';
import { fixtureText } from '../helpers/fixtures.ts';
import {
  isNoLimitSentinel,
  limitPct,
  limitPrices,
  limitTicks,
  resolveLimits,
} from '../../src/domain/limits.ts';
import { formatTicks, toTicks } from '../../src/domain/prices.ts';
import { isRiskWarningName, parseSymbol } from '../../src/domain/symbols.ts';
import { InputError } from '../../src/domain/types.ts';
import type { Security, Snapshot } from '../../src/domain/types.ts';

interface Vector {
  id: string;
  code: string;
  prev: string;
  pct: number;
  d: 2 | 3;
  up: string;
  down: string;
}

const vectors = JSON.parse(fixtureText('limit-vectors.json')) as Vector[];
const REAL_CODE = /^\d{6}\.(SH|SZ|BJ)$/;

function limitsOf(
  sec: Security,
  prev: string,
  opts: Parameters<typeof limitPrices>[2],
): [string, string] | null {
  const r = limitPrices(sec, toTicks(prev, sec.decimals), opts);
  return r && [formatTicks(r.up, sec.decimals), formatTicks(r.down, sec.decimals)];
}

describe('every researched limit vector reproduces exactly (integer half-up, one-tick clause)', () => {
  it('has all 56 vectors', () => {
    expect(vectors).toHaveLength(56);
  });

  it.each(vectors.map((v) => [v.id, v.code, v.prev, v.pct, v] as const))(
    '%s %s prev %s at %i%%',
    (_id, _code, _prev, _pct, v) => {
      const up = toTicks(v.prev, v.d);
      const { up: u, down: dn } = limitTicks(up, v.pct);
      expect([formatTicks(u, v.d), formatTicks(dn, v.d)]).toEqual([v.up, v.down]);
    },
  );

  const real = vectors.filter((v) => REAL_CODE.test(v.code));
  it('uses the real codes among them through parseSymbol', () => {
    expect(real.length).toBe(35);
  });
  it.each(real.map((v) => [v.id, v.code, v] as const))('%s %s via parseSymbol', (_id, code, v) => {
    const sec = parseSymbol(code);
    expect(sec.decimals).toBe(v.d);
    expect(limitsOf(sec, v.prev, { date: '2026-03-02', pct: v.pct })).toEqual([v.up, v.down]);
  });

  it('gets the board percentage right for the real codes whose vector is in force today', () => {
    // 5% rows are ST main-board names (dated before 2026-07-06); 300216/300021 are pre-2020 ChiNext.
    for (const v of real) {
      const sec = parseSymbol(v.code);
      const date = sec.board === 'chinext' && v.pct === 10 ? '2019-06-25' : '2026-03-02';
      expect(limitPct(sec, { date, st: v.pct === 5 }), v.id).toBe(v.pct);
    }
  });
});

describe('the census: every Tencent row of 2022-11-22 that publishes limits matches our computation', () => {
  const rows = fixtureText('tencent_20221122_full_900rows_utf8.txt')
    .split('\n')
    .filter((l) => l.startsWith('v_'))
    .map((l) => {
      const market = l.slice(2, 4);
      const f = l.slice(l.indexOf('"') + 1, l.lastIndexOf('"')).split('~');
      return {
        symbol: `${market}${f[2]}`,
        name: f[1] as string,
        prev: f[4] as string,
        up: f[47] as string,
        down: f[48] as string,
      };
    });

  it('has 900 rows: 887 with limits and 13 with the -1 "no limit" sentinel', () => {
    expect(rows).toHaveLength(900);
    expect(
      rows.filter((r) => isNoLimitSentinel(Number(r.up), 2) && isNoLimitSentinel(Number(r.down), 2)),
    ).toHaveLength(13);
    expect(rows.filter((r) => r.up === '-1' && r.down === '-1')).toHaveLength(13);
  });

  it('matches 887 of 887 published limit pairs, 41 of them ST at 5%', () => {
    const published = rows.filter((r) => !isNoLimitSentinel(Number(r.up), 2));
    const mismatches: string[] = [];
    let st = 0;
    for (const r of published) {
      const sec = parseSymbol(r.symbol);
      const isSt = isRiskWarningName(r.name);
      if (isSt) st++;
      const got = limitsOf(sec, r.prev, { date: '2022-11-22', st: isSt });
      if (got?.[0] !== r.up || got?.[1] !== r.down)
        mismatches.push(`${r.symbol} ${r.name} ${r.prev}: ${got} vs ${r.up}/${r.down}`);
    }
    expect(mismatches).toEqual([]);
    expect(published).toHaveLength(887);
    expect(st).toBe(41);
  });

  it('resolves every row as published with no mismatch, and the sentinel rows as no limit', () => {
    let resolved = 0;
    for (const r of rows) {
      const sec = parseSymbol(r.symbol);
      const sentinel = isNoLimitSentinel(Number(r.up), 2);
      const s = snap(
        sec,
        r.name,
        toTicks(r.prev, 2),
        sentinel ? null : toTicks(r.up, 2),
        sentinel ? null : toTicks(r.down, 2),
      );
      const got = resolveLimits(sec, s, '2022-11-22');
      if (sentinel) {
        expect(got).toBeNull();
        continue;
      }
      expect(got?.source).toBe('published');
      expect(got?.mismatch, r.symbol).toBe(false);
      resolved++;
    }
    expect(resolved).toBe(887);
  });
});

function snap(
  sec: Security,
  name: string,
  prevClose: number,
  limitUp?: number | null,
  limitDown?: number | null,
): Snapshot {
  const s: Snapshot = {
    symbol: sec.id,
    name,
    source: 'test',
    ts: 0,
    status: 'normal',
    decimals: sec.decimals,
    last: prevClose,
    prevClose,
    open: prevClose,
    high: prevClose,
    low: prevClose,
    bids: [],
    asks: [],
    volume: 0,
    amount: 0,
  };
  if (limitUp !== undefined) s.limitUp = limitUp;
  if (limitDown !== undefined) s.limitDown = limitDown;
  return s;
}

describe('limit percentage by board, status and trading date', () => {
  const main = parseSymbol('600000');
  it('main board: 10%; ST 5% up to 2026-07-03 and 10% from 2026-07-06, by the trading date', () => {
    expect(limitPct(main, { date: '2026-07-03' })).toBe(10);
    expect(limitPct(main, { date: '2026-07-03', st: true })).toBe(5);
    expect(limitPct(main, { date: '2026-07-06', st: true })).toBe(10);
    expect(limitPct(parseSymbol('002052'), { date: '2025-07-01', st: true })).toBe(5);
  });
  it('ChiNext and STAR 20% (ST too), ChiNext 10% before 2020-08-24', () => {
    expect(limitPct(parseSymbol('300750'), { date: '2026-03-02' })).toBe(20);
    expect(limitPct(parseSymbol('300750'), { date: '2026-03-02', st: true })).toBe(20);
    expect(limitPct(parseSymbol('301001'), { date: '2020-08-24' })).toBe(20);
    expect(limitPct(parseSymbol('300216'), { date: '2020-08-21' })).toBe(10);
    expect(limitPct(parseSymbol('688981'), { date: '2026-03-02', st: true })).toBe(20);
  });
  it('BSE 30%, ST too', () => {
    expect(limitPct(parseSymbol('920118'), { date: '2026-03-02', st: true })).toBe(30);
  });
  it('funds 10%, the listed ChiNext/STAR index ETFs 20%, and an explicit pct wins', () => {
    expect(limitPct(parseSymbol('510300'), { date: '2026-03-02' })).toBe(10);
    for (const code of ['159915', '159949', '588000', '588080', '588050', '588090']) {
      expect(limitPct(parseSymbol(code), { date: '2026-03-02' }), code).toBe(20);
    }
    expect(limitPct(parseSymbol('588888'), { date: '2026-03-02', pct: 20 })).toBe(20);
    expect(limitPct(parseSymbol('508000'), { date: '2026-03-02', pct: 30 })).toBe(30);
  });
  it('every SH 588xxx fund is a STAR-board ETF at 20%, listed here or not', () => {
    // SSE gives the 588 range to 科创板 ETFs; their indices hold only 20%-limit STAR stocks.
    for (const code of ['588030', '588100', '588180', '588888']) {
      expect(limitPct(parseSymbol(code), { date: '2026-03-02' }), code).toBe(20);
    }
    expect(limitPct(parseSymbol('560010'), { date: '2026-03-02' })).toBe(10);
    expect(limitPct(parseSymbol('159919'), { date: '2026-03-02' })).toBe(10);
  });
  it('a fund whose name says ChiNext or STAR (创业板/科创/双创) is 20%; its name cannot lift a stock', () => {
    expect(limitPct(parseSymbol('159977'), { date: '2026-03-02', name: '创业板ETF天弘' })).toBe(20);
    expect(limitPct(parseSymbol('159781'), { date: '2026-03-02', name: '双创50ETF' })).toBe(20);
    expect(limitPct(parseSymbol('515000'), { date: '2026-03-02', name: '科创芯片ETF' })).toBe(20);
    expect(limitPct(parseSymbol('159919'), { date: '2026-03-02', name: '沪深300ETF' })).toBe(10);
    expect(limitPct(parseSymbol('600000'), { date: '2026-03-02', name: '科创股份' })).toBe(10);
  });
  it('resolveLimits reads the fund name, so a ChiNext ETF without published limits is at 20%', () => {
    const etf = parseSymbol('159977');
    const s: Snapshot = {
      symbol: etf.id,
      name: '创业板ETF天弘',
      source: 'sina',
      ts: 0,
      status: 'normal',
      decimals: 3,
      last: 2000,
      prevClose: 2000,
      open: 2000,
      high: 2000,
      low: 2000,
      bids: [],
      asks: [],
      volume: 1,
      amount: 1,
    };
    expect(resolveLimits(etf, s, '2026-03-02')).toMatchObject({ up: 2400, down: 1600, pct: 20 });
    // Tencent publishes 20% for it: no false mismatch alarm.
    expect(resolveLimits(etf, { ...s, limitUp: 2400, limitDown: 1600 }, '2026-03-02')?.mismatch).toBe(false);
  });
  it('convertible bonds 20% from 2022-08-01, none before', () => {
    expect(limitPct(parseSymbol('113052'), { date: '2026-03-02' })).toBe(20);
    expect(limitPct(parseSymbol('123107'), { date: '2022-07-29' })).toBeNull();
  });
  it('B-shares 10%, ST 5% (unverified after 2026)', () => {
    expect(limitPct(parseSymbol('900901'), { date: '2026-09-01' })).toBe(10);
    expect(limitPct(parseSymbol('200002'), { date: '2026-09-01', st: true })).toBe(5);
  });
  it('no limit on IPO days 1–5 on main/ChiNext/STAR, day 1 only on BSE', () => {
    for (const code of ['600000', '000001', '300750', '688981']) {
      const sec = parseSymbol(code);
      expect(
        [1, 5, 6].map((n) => limitPct(sec, { date: '2026-03-02', listedDays: n })),
        code,
      ).toEqual([null, null, sec.board === 'main' ? 10 : 20]);
    }
    const bse = parseSymbol('920118');
    expect([1, 2].map((n) => limitPct(bse, { date: '2026-03-02', listedDays: n }))).toEqual([null, 30]);
    expect(limitPct(parseSymbol('510300'), { date: '2026-03-02', listedDays: 1 })).toBe(10);
    expect(limitPrices(parseSymbol('688001'), 5000, { date: '2026-03-02', listedDays: 3 })).toBeNull();
    expect(
      limitPrices(parseSymbol('688001'), 5000, { date: '2026-03-02', listedDays: 3, pct: 20 }),
    ).toBeNull();
  });
  it('refuses bad options, naming them', () => {
    expect(() => limitPct(main, { date: '2026-13-01' })).toThrow('invalid date "2026-13-01"');
    expect(() => limitPct(main, { date: '2026-03-02', listedDays: 0 })).toThrow(InputError);
    expect(() => limitPct(main, { date: '2026-03-02', listedDays: 1.5 })).toThrow('invalid listed days 1.5');
    expect(() => limitPct(main, { date: '2026-03-02', pct: 0 })).toThrow('invalid limit percentage 0');
    expect(() => limitPct(main, { date: '2026-03-02', pct: 100 })).toThrow(InputError);
    expect(() => limitPrices(main, 0, { date: '2026-03-02' })).toThrow('invalid previous close 0');
    expect(() => limitPrices(main, 10.5, { date: '2026-03-02' })).toThrow(InputError);
  });
});

describe('exact limit arithmetic', () => {
  it('rounds exact ties half-up on both sides', () => {
    expect(limitTicks(845, 10)).toEqual({ up: 930, down: 761 }); // 9.295 / 7.605
    expect(limitTicks(150, 5)).toEqual({ up: 158, down: 143 }); // 1.575 / 1.425
    expect(limitTicks(635, 30)).toEqual({ up: 826, down: 445 }); // 8.255 / 4.445
  });
  it('keeps limits at least one tick from prevClose, and never below one tick', () => {
    expect(limitTicks(4, 10)).toEqual({ up: 5, down: 3 });
    expect(limitTicks(9, 5)).toEqual({ up: 10, down: 8 });
    expect(limitTicks(1, 10)).toEqual({ up: 2, down: 1 });
  });
  it('stays exact for the largest prices (BigInt, no 2^53 overflow)', () => {
    expect(limitTicks(999_999_999_999, 10)).toEqual({ up: 1_099_999_999_999, down: 899_999_999_999 });
  });
  it('handles a fractional pct exactly (57.3% for convertible-bond day one)', () => {
    expect(limitTicks(100_000, 57.3)).toEqual({ up: 157_300, down: 42_700 });
  });
});

describe('no-limit sentinels in feeds', () => {
  it.each([
    [-1, 2],
    [0, 2],
    [0.01, 2],
    [0.001, 3],
    [999999999.9999, 2],
    [99999.99, 2],
    [10000, 2],
    [NaN, 2],
  ])('%d is a sentinel (decimals %i)', (n, d) => {
    expect(isNoLimitSentinel(n, d as 2 | 3)).toBe(true);
  });
  it.each([
    [10.02, 2],
    [0.02, 2],
    [9999.99, 2],
    [4.296, 3],
    [0.002, 3],
  ])('%d is a price (decimals %i)', (n, d) => {
    expect(isNoLimitSentinel(n, d as 2 | 3)).toBe(false);
  });
});

describe('resolveLimits prefers published limits and cross-checks them', () => {
  const sec = parseSymbol('002116');
  it('uses published limits and reports no mismatch when they agree', () => {
    expect(resolveLimits(sec, snap(sec, '中国海诚', 911, 1002, 820), '2022-11-22')).toEqual({
      up: 1002,
      down: 820,
      pct: 10,
      source: 'published',
      computedUp: 1002,
      computedDown: 820,
      mismatch: false,
    });
  });
  it('flags a mismatch but still trusts the exchange (e.g. an ex-rights day we did not know of)', () => {
    expect(resolveLimits(sec, snap(sec, '中国海诚', 911, 1001, 819), '2022-11-22')).toMatchObject({
      up: 1001,
      down: 819,
      source: 'published',
      mismatch: true,
    });
  });
  it('takes ST from the name: *ST at 5% before 2026-07-06, 10% after', () => {
    const st = parseSymbol('002052');
    expect(resolveLimits(st, snap(st, '*ST同洲', 250), '2022-11-22')).toMatchObject({
      up: 263,
      down: 238,
      pct: 5,
      source: 'computed',
      mismatch: false,
    });
    expect(resolveLimits(st, snap(st, '*ST同洲', 250), '2026-07-06')).toMatchObject({
      up: 275,
      down: 225,
      pct: 10,
    });
  });
  it('computes when the source publishes none (Sina)', () => {
    expect(resolveLimits(sec, snap(sec, '中国海诚', 911), '2022-11-22')).toMatchObject({
      up: 1002,
      down: 820,
      source: 'computed',
      mismatch: false,
    });
  });
  it('is null when the source says no limit, on IPO days, or without a prevClose', () => {
    expect(resolveLimits(sec, snap(sec, '众和退', 71, null, null), '2022-11-22')).toBeNull();
    expect(
      resolveLimits(sec, snap(sec, 'C新股', 1000, 1100, 900), '2026-03-02', { listedDays: 2 }),
    ).toBeNull();
    expect(resolveLimits(sec, snap(sec, 'C新股', 1000), '2026-03-02', { listedDays: 5 })).toBeNull();
    expect(resolveLimits(sec, snap(sec, '停牌', 0), '2026-03-02')).toBeNull();
  });
  it('treats a sentinel that slipped through as a price as no limit', () => {
    expect(resolveLimits(sec, snap(sec, 'x', 911, -100, -100), '2022-11-22')).toBeNull();
    expect(resolveLimits(sec, snap(sec, 'x', 911, 99_999_999_999, 1), '2022-11-22')).toBeNull();
  });
  it('falls back to the computed limits, flagged, when published ones are impossible', () => {
    expect(resolveLimits(sec, snap(sec, 'x', 911, 900, 800), '2022-11-22')).toMatchObject({
      up: 1002,
      down: 820,
      source: 'computed',
      mismatch: true,
    });
  });
});

describe('new listings seen only through their name', () => {
  const base = {
    symbol: '001234.SZ',
    name: 'N海诚',
    source: 'sina',
    ts: 0,
    status: 'normal' as const,
    decimals: 2 as const,
    last: 1500,
    prevClose: 1000,
    open: 1400,
    high: 1600,
    low: 1300,
    bids: [],
    asks: [],
    volume: 1,
    amount: 1,
  };
  const sec = parseSymbol('001234');
  it('an N- or C-prefixed name with no published limits and no listing date has no limit', () => {
    expect(resolveLimits(sec, base, '2026-11-23')).toBeNull();
    expect(resolveLimits(sec, { ...base, name: 'C海诚' }, '2026-11-23')).toBeNull();
  });
  it('an ordinary name, or a published limit, still gets limits', () => {
    expect(resolveLimits(sec, { ...base, name: '海诚股份' }, '2026-11-23')?.up).toBe(1100);
    expect(resolveLimits(sec, { ...base, name: 'TCL科技' }, '2026-11-23')?.up).toBe(1100);
    expect(resolveLimits(sec, { ...base, limitUp: 1100, limitDown: 900 }, '2026-11-23')?.source).toBe(
      'published',
    );
  });
});
