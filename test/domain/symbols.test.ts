import { describe, expect, it } from 'vitest';
import { isRiskWarningName, parseSymbol, symbolWarning, tryParseSymbol } from '../../src/domain/symbols.ts';
import { InputError } from '../../src/domain/types.ts';

describe('parseSymbol accepts every common spelling of a code', () => {
  it.each(['600519', 'sh600519', 'SH600519', '600519.SH', '600519.sh', ' 600519 '])(
    '%s is 600519.SH main board',
    (input) => {
      expect(parseSymbol(input)).toEqual({
        code: '600519',
        exchange: 'SH',
        id: '600519.SH',
        board: 'main',
        decimals: 2,
      });
    },
  );

  it('reads sz and bj prefixes and the .BJ suffix', () => {
    expect(parseSymbol('sz000001').id).toBe('000001.SZ');
    expect(parseSymbol('bj920118')).toEqual({
      code: '920118',
      exchange: 'BJ',
      id: '920118.BJ',
      board: 'bse',
      decimals: 2,
    });
    expect(parseSymbol('920118.BJ').id).toBe('920118.BJ');
  });
});

describe('a bare code decides exchange, board and tick precision by its prefix', () => {
  it.each([
    ['600000', 'SH', 'main', 2],
    ['601318', 'SH', 'main', 2],
    ['603259', 'SH', 'main', 2],
    ['605499', 'SH', 'main', 2],
    ['688981', 'SH', 'star', 2],
    ['689009', 'SH', 'star', 2],
    ['000001', 'SZ', 'main', 2],
    ['001979', 'SZ', 'main', 2],
    ['002324', 'SZ', 'main', 2],
    ['003816', 'SZ', 'main', 2],
    ['300750', 'SZ', 'chinext', 2],
    ['301236', 'SZ', 'chinext', 2],
    ['302132', 'SZ', 'chinext', 2],
    ['920118', 'BJ', 'bse', 2],
    ['430047', 'BJ', 'bse', 2],
    ['830799', 'BJ', 'bse', 2],
    ['870199', 'BJ', 'bse', 2],
    ['510300', 'SH', 'fund', 3],
    ['508000', 'SH', 'fund', 3],
    ['520830', 'SH', 'fund', 3],
    ['560010', 'SH', 'fund', 3],
    ['588000', 'SH', 'fund', 3],
    ['159915', 'SZ', 'fund', 3],
    ['160922', 'SZ', 'fund', 3],
    ['180101', 'SZ', 'fund', 3],
    ['113052', 'SH', 'bond', 3],
    ['110059', 'SH', 'bond', 3],
    ['123107', 'SZ', 'bond', 3],
    ['128136', 'SZ', 'bond', 3],
    ['900901', 'SH', 'bshare', 3],
    ['200002', 'SZ', 'bshare', 2],
  ] as const)('%s -> %s %s, %i decimals', (code, exchange, board, decimals) => {
    const sec = parseSymbol(code);
    expect([sec.exchange, sec.board, sec.decimals, sec.id]).toEqual([
      exchange,
      board,
      decimals,
      `${code}.${exchange}`,
    ]);
  });
});

describe('parseSymbol refuses what is not a tradable code, naming the input', () => {
  it.each([
    '12345',
    'abcdef',
    '1234567',
    '000000',
    '',
    '600519.SZ',
    'sz600519',
    'sh000001',
    'bj600519',
    '920118.SH',
    '700001',
    '400001',
    '990001',
    '600519.HK',
    'sh 600519',
  ])('%j is refused', (input) => {
    expect(() => parseSymbol(input)).toThrow(InputError);
    expect(() => parseSymbol(input)).toThrow(`"${input}"`);
    expect(tryParseSymbol(input)).toBeNull();
  });

  it('explains a contradicting exchange tag', () => {
    expect(() => parseSymbol('sz600519')).toThrow(
      'invalid security code "sz600519": code 600519 is a Shanghai (SH) security, so the SZ tag contradicts it',
    );
  });
});

describe('retired BSE codes parse but carry a warning', () => {
  it('warns for 43/83/87, not for 920', () => {
    expect(symbolWarning(parseSymbol('830799'))).toContain('retired BSE code');
    expect(symbolWarning(parseSymbol('920118'))).toBeNull();
    expect(symbolWarning(parseSymbol('600519'))).toBeNull();
  });
});

describe('isRiskWarningName reads ST status from the exchange short name', () => {
  it.each(['ST佳缘', '*ST艾格', 'S*ST前锋', 'SST华塑', '＊ＳＴ海润', '* ST 大集'])(
    '%s is under risk warning',
    (name) => {
      expect(isRiskWarningName(name)).toBe(true);
    },
  );
  it.each(['贵州茅台', '众和退', 'C宇树', 'N高凯', '中ST', 'ABST', ''])('%j is not', (name) => {
    expect(isRiskWarningName(name)).toBe(false);
  });
});
