/** The EASTMONEY_* keys: validated like every other key, the password never echoed. */
import { describe, expect, it } from 'vitest';
import { loadConfig, type ConfigError } from '../../src/config.ts';

const load = (env: Record<string, string>) => loadConfig(env, { readDotEnv: false });
const problems = (env: Record<string, string>): string[] => {
  try {
    load(env);
    return [];
  } catch (err) {
    return (err as ConfigError).problems;
  }
};

describe('BROKER=eastmoney', () => {
  it('reads the keys with their defaults; DEFAULT_MODE unset is confirm', () => {
    const c = load({
      BROKER: 'eastmoney',
      EASTMONEY_ACCOUNT: '540100001234',
      EASTMONEY_PASSWORD: 'pw-Secret#135',
    });
    expect(c.eastmoney).toEqual({
      account: '540100001234',
      password: 'pw-Secret#135',
      tradeUrl: 'https://jywg.18.cn',
      durationMin: 180,
      credit: false,
    });
    expect(c.guard.mode).toBe('confirm');
    expect(c.secrets).toContain('pw-Secret#135');
  });

  it('needs the account and the password; refuses bad values in one line each, never echoing the password', () => {
    expect(problems({ BROKER: 'eastmoney' })).toEqual([
      'EASTMONEY_ACCOUNT: required when BROKER=eastmoney: the 12-digit 资金账号',
      'EASTMONEY_PASSWORD: required when BROKER=eastmoney: the trading password (kept in memory, sent only RSA-encrypted)',
    ]);
    const p = problems({
      BROKER: 'eastmoney',
      EASTMONEY_ACCOUNT: '5401',
      EASTMONEY_PASSWORD: 'has space',
      EASTMONEY_TRADE_URL: 'jywg.18.cn',
      EASTMONEY_RSA_PUBKEY: 'not-a-key!',
      EASTMONEY_DURATION: '5',
      EASTMONEY_CREDIT: 'maybe',
    });
    expect(p).toHaveLength(6);
    expect(p.join('\n')).not.toContain('has space');
    expect(p.find((x) => x.startsWith('EASTMONEY_PASSWORD'))).toMatch(/value hidden/);
    expect(p.find((x) => x.startsWith('EASTMONEY_RSA_PUBKEY'))).toMatch(/not an RSA public key/);
  });

  it('EASTMONEY_* with another broker is refused (no silent paper run); the site host can be the other one', () => {
    expect(problems({ EASTMONEY_ACCOUNT: '540100001234' })).toEqual([
      'EASTMONEY_ACCOUNT: only applies to BROKER=eastmoney, but BROKER is paper; remove it',
    ]);
    const c = load({
      BROKER: 'eastmoney',
      EASTMONEY_ACCOUNT: '540100001234',
      EASTMONEY_PASSWORD: 'x',
      EASTMONEY_TRADE_URL: 'https://jywg.eastmoneysec.com/',
      EASTMONEY_CREDIT: '1',
      EASTMONEY_DURATION: '360',
    });
    expect(c.eastmoney).toMatchObject({
      tradeUrl: 'https://jywg.eastmoneysec.com',
      credit: true,
      durationMin: 360,
    });
  });
});
