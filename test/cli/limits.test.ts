import { afterEach, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/cli/limits.ts';

async function limits(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    return { code: await run(args), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

afterEach(() => {
  delete process.env.SEALGUARD_CLOCK;
});

describe('sealguard limits prints one line of JSON in a fixed key order', () => {
  it.each([
    [
      ['600519', '1685', '--date', '2026-03-02'],
      '{"symbol":"600519.SH","board":"main","pct":10,"prevClose":"1685.00","limitUp":"1853.50","limitDown":"1516.50"}',
    ],
    [
      ['002324', '17.15', '--date', '2026-03-02'],
      '{"symbol":"002324.SZ","board":"main","pct":10,"prevClose":"17.15","limitUp":"18.87","limitDown":"15.44"}',
    ],
    [
      ['600000', '4.30', '--st', '--date', '2026-07-03'],
      '{"symbol":"600000.SH","board":"main","pct":5,"prevClose":"4.30","limitUp":"4.52","limitDown":"4.09"}',
    ],
    [
      ['600000', '4.30', '--st', '--date', '2026-07-06'],
      '{"symbol":"600000.SH","board":"main","pct":10,"prevClose":"4.30","limitUp":"4.73","limitDown":"3.87"}',
    ],
    [
      ['920118', '6.35', '--date', '2026-03-02'],
      '{"symbol":"920118.BJ","board":"bse","pct":30,"prevClose":"6.35","limitUp":"8.26","limitDown":"4.45"}',
    ],
    [
      ['510300', '3.905', '--date', '2026-03-02'],
      '{"symbol":"510300.SH","board":"fund","pct":10,"prevClose":"3.905","limitUp":"4.296","limitDown":"3.515"}',
    ],
    [
      ['588888', '1.000', '--pct', '20', '--date', '2026-03-02'],
      '{"symbol":"588888.SH","board":"fund","pct":20,"prevClose":"1.000","limitUp":"1.200","limitDown":"0.800"}',
    ],
    [
      ['688001', '50', '--listed-days', '3', '--date', '2026-03-02'],
      '{"symbol":"688001.SH","board":"star","pct":null,"prevClose":"50.00","limitUp":null,"limitDown":null}',
    ],
  ])('%j', async (args, line) => {
    const r = await limits(...args);
    expect(r).toEqual({ code: 0, out: line + '\n', err: '' });
  });

  it('defaults the date to today in exchange time, honouring SEALGUARD_CLOCK', async () => {
    process.env.SEALGUARD_CLOCK = '2026-07-05T23:30:00-05:00'; // 2026-07-06 12:30 in Shanghai
    expect((await limits('600000', '4.30', '--st')).out).toContain('"pct":10');
    process.env.SEALGUARD_CLOCK = '2026-07-03T10:00:00+08:00';
    expect((await limits('600000', '4.30', '--st')).out).toContain('"pct":5');
  });

  it('warns on stderr about a retired BSE code but still answers', async () => {
    const r = await limits('830799', '10', '--date', '2026-03-02');
    expect(r.code).toBe(0);
    expect(r.err).toContain('retired BSE code');
  });
});

describe('a --date that is not a known trading day still answers, with a warning naming it', () => {
  it.each([
    [['600000', '4.30', '--st', '--date', '2026-07-04'], 5, '2026-07-04 is not a trading day'],
    [['600000', '4.30', '--st', '--date', '2026-10-01'], 10, '2026-10-01 is not a trading day'],
    [
      ['600519', '1685', '--date', '2027-01-04'],
      10,
      '2027-01-04 is in a year without exchange calendar data: a provisional trading day',
    ],
  ] as const)('%j', async (args, pct, warning) => {
    const r = await limits(...args);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).pct).toBe(pct);
    expect(r.err).toContain(`sealguard limits: warning: ${warning}`);
  });

  it('says nothing for a trading day', async () => {
    expect((await limits('600000', '4.30', '--st', '--date', '2026-07-06')).err).toBe('');
  });
});

describe('bad input: a clear message on stderr, exit 2, nothing on stdout', () => {
  it.each([
    [['12345', '1'], 'invalid security code "12345"'],
    [['600519', '-5'], 'invalid value "-5"'],
    [['600519', 'abc'], 'invalid price "abc"'],
    [['600519', '0'], 'invalid previous close "0"'],
    [['600519', '10.005'], 'finer than the 0.01 tick'],
    [['600519'], 'expected <code> <prevClose>'],
    [['600519', '10', '--date', '2026-02-30'], 'invalid date "2026-02-30"'],
    [['600519', '10', '--listed-days', 'x'], 'invalid --listed-days "x"'],
    [['600519', '10', '--listed-days', '0'], 'invalid listed days 0'],
    [['600519', '10', '--pct', 'ten'], 'invalid --pct "ten"'],
    [['600519', '10', '--bogus'], "Unknown option '--bogus'"],
  ])('%j', async (args, message) => {
    const r = await limits(...args);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain(message);
  });

  it('refuses a junk SEALGUARD_CLOCK', async () => {
    process.env.SEALGUARD_CLOCK = 'yesterday';
    const r = await limits('600519', '10');
    expect([r.code, r.out]).toEqual([2, '']);
    expect(r.err).toContain('invalid SEALGUARD_CLOCK "yesterday"');
  });
});

describe('--help', () => {
  it('prints usage and exits 0', async () => {
    const r = await limits('--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Usage: sealguard limits <code> <prevClose>/);
  });
});
