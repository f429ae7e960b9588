import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CONFIG_KEYS, ConfigError, isDemo, loadConfig } from '../src/config.ts';

const TOKEN = '7012345678:AAHk2bSecretValue0123456789abcdefXYZ';
const AES = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const load = (env: Record<string, string>) => loadConfig(env, { readDotEnv: false });

function problemsOf(env: Record<string, string>): string[] {
  try {
    load(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('defaults', () => {
  it('an empty environment is a valid demo configuration with the documented defaults', () => {
    const config = loadConfig({}, { readDotEnv: false, cwd: '/srv/sg' });
    expect(isDemo(config)).toBe(true);
    expect(config).toMatchObject({
      quotes: { sources: ['tencent', 'sina'], pollIntervalMs: 1000 },
      broker: { kind: 'paper' },
      paper: { positions: [] },
      guard: { mode: 'confirm', threshold: 20_000_000, confirmTimeoutS: 60, confirmDefault: 'hold' },
      dataDir: '/srv/sg/data',
      log: { level: 'info' },
      secrets: [],
    });
    expect(config.telegram).toBeUndefined();
    expect(config.wecom).toBeUndefined();
    expect(config.clock).toBeUndefined();
  });

  it('blank values count as unset', () => {
    expect(isDemo(load({ TELEGRAM_BOT_TOKEN: '', BROKER_URL: '  ', POLL_INTERVAL_MS: '' }))).toBe(true);
  });
});

describe('values', () => {
  it('parses every kind of key into typed values', () => {
    const config = load({
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_ALLOWED_USERS: '123456789, 987654321',
      TELEGRAM_API_ROOT: 'http://127.0.0.1:8081/',
      QUOTE_SOURCES: 'sina,tencent',
      POLL_INTERVAL_MS: '500',
      DEFAULT_THRESHOLD: '0.3亿',
      DEFAULT_MODE: 'AUTO',
      CONFIRM_DEFAULT: 'sell',
      DEFAULT_FLOOR: '-2.5%',
      REPLACE_AFTER_MS: '3000',
      REPLACE_MAX: '2',
      PAPER_POSITIONS: '600519:1000,002116.SZ:10000',
      PAPER_CASH: '100w',
      SEALGUARD_CLOCK: '2026-11-24T09:30:00+08:00',
      WECOM_WEBHOOK_KEY: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4',
      DATA_DIR: '/var/lib/sealguard',
      LOG_LEVEL: 'debug',
    });
    expect(config.telegram).toEqual({
      token: TOKEN,
      allowedUsers: [123456789, 987654321],
      apiRoot: 'http://127.0.0.1:8081',
      proxy: undefined,
    });
    expect(config.quotes.sources).toEqual(['sina', 'tencent']);
    expect(config.quotes.pollIntervalMs).toBe(500);
    expect(config.guard).toEqual({
      mode: 'auto',
      threshold: 30_000_000,
      confirmTimeoutS: 60,
      confirmDefault: 'sell',
      defaultFloorCenti: -250,
      replaceAfterMs: 3000,
      replaceMax: 2,
    });
    expect(config.paper).toEqual({
      positions: [
        { symbol: '600519.SH', shares: 1000 },
        { symbol: '002116.SZ', shares: 10000 },
      ],
      cash: 1_000_000,
    });
    expect(config.clock).toEqual({
      spec: '2026-11-24T09:30:00+08:00',
      startMs: Date.UTC(2026, 10, 24, 1, 30),
    });
    expect(config.wecomWebhookKey).toBe('693a91f6-7xxx-4bc4');
    expect(config.dataDir).toBe('/var/lib/sealguard');
    expect(isDemo(config)).toBe(false);
  });

  it('reports one clear line per bad key, naming the key, the rule and the value', () => {
    expect(
      problemsOf({
        POLL_INTERVAL_MS: 'fast',
        QUOTE_SOURCES: 'tencent,yahoo',
        HTTP_PORT: '70000',
        BROKER: 'futu',
        DEFAULT_THRESHOLD: '-5w',
        CONFIRM_TIMEOUT_S: '1.5',
        LOG_LEVEL: 'verbose',
        SEALGUARD_CLOCK: 'tomorrow',
        TELEGRAM_API_ROOT: 'api.telegram.org',
      }),
    ).toEqual([
      'TELEGRAM_API_ROOT: must be a http/https URL, e.g. https://api.telegram.org (got "api.telegram.org")',
      'HTTP_PORT: must be a TCP port number from 0 to 65535 (got "70000")',
      'QUOTE_SOURCES: must be an ordered list of tencent, sina, eastmoney, sina-ws, qmt, ptrade, e.g. tencent,sina (got "tencent,yahoo")',
      'POLL_INTERVAL_MS: must be a whole number of milliseconds >= 200 (got "fast")',
      'BROKER: must be one of paper, bridge, ptrade, easytrader, eastmoney (got "futu")',
      'DEFAULT_THRESHOLD: must be a seal amount in yuan such as 2000w, 2000万, 0.2亿 or 20000000 (got "-5w")',
      'CONFIRM_TIMEOUT_S: must be a whole number of seconds from 1 to 3600 (got "1.5")',
      'SEALGUARD_CLOCK: must be an ISO time such as 2026-11-24T09:30:00+08:00 (got "tomorrow")',
      'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (got "verbose")',
    ]);
  });

  it('follow-through keys: a floor offset, a replacement delay and count, a credit account only over the bridge', () => {
    expect(problemsOf({ DEFAULT_FLOOR: '9.80', REPLACE_AFTER_MS: '100', REPLACE_MAX: 'many' })).toEqual([
      'DEFAULT_FLOOR: must be a percentage offset from the previous close such as +5%, 0% or -3% (got "9.80")',
      'REPLACE_AFTER_MS: must be a whole number of milliseconds from 500 to 600000 (got "100")',
      'REPLACE_MAX: must be a whole number of replacements from 0 to 20 (got "many")',
    ]);
    expect(problemsOf({ DEFAULT_FLOOR: '+45%' })).toEqual([
      'DEFAULT_FLOOR: must be within ±30% of the previous close (got "+45%")',
    ]);
    expect(loadConfig({ DEFAULT_FLOOR: '+5%' }).guard.defaultFloorCenti).toBe(500);
    expect(loadConfig({ DEFAULT_FLOOR: '0%' }).guard.defaultFloorCenti).toBe(0);
    expect(problemsOf({ BROKER_ACCOUNT_TYPE: 'credit' })).toEqual([
      'BROKER_ACCOUNT_TYPE: credit needs BROKER=bridge (the QMT bridge with --account-type credit); BROKER is paper',
    ]);
    const c = loadConfig({
      BROKER: 'bridge',
      BROKER_URL: 'http://127.0.0.1:8765',
      BROKER_TOKEN: 'tok-123456',
      BROKER_ACCOUNT_TYPE: 'CREDIT',
    });
    expect(c.broker.accountType).toBe('credit');
  });

  it('refuses a poll interval under 200 ms and a repeated quote source', () => {
    expect(problemsOf({ POLL_INTERVAL_MS: '199', QUOTE_SOURCES: 'sina,sina' })).toEqual([
      'QUOTE_SOURCES: must be an ordered list of tencent, sina, eastmoney, sina-ws, qmt, ptrade, e.g. tencent,sina, without repeats (got "sina,sina")',
      'POLL_INTERVAL_MS: must be a whole number of milliseconds >= 200 (got "199")',
    ]);
  });

  it('explains a bad paper position', () => {
    expect(problemsOf({ PAPER_POSITIONS: '600519:1000,600519:200' })).toEqual([
      'PAPER_POSITIONS: must be code:shares pairs separated by commas, e.g. 600519:1000,002116:10000; 600519.SH is listed twice (got "600519:1000,600519:200")',
    ]);
  });
});

describe('secrets', () => {
  it('never echoes a secret value in a problem, and masks URL passwords', () => {
    const problems = problemsOf({
      TELEGRAM_BOT_TOKEN: 'hunter2-not-a-token',
      BROKER_TOKEN: 'tok en with spaces',
      BROKER: 'bridge',
      BROKER_URL: 'http://127.0.0.1:8765',
      WECOM_AES_KEY: 'short-aes-secret',
      TELEGRAM_PROXY: 'ftp://me:pa55word@proxy:21',
    });
    expect(problems).toContain(
      'TELEGRAM_BOT_TOKEN: must look like 123456789:AAE…, the token @BotFather gave you (value hidden)',
    );
    expect(problems).toContain('BROKER_TOKEN: must be the bridge token (no spaces) (value hidden)');
    expect(problems).toContain(
      'TELEGRAM_PROXY: must be a http/https/socks/socks4/socks4a/socks5/socks5h URL, e.g. socks5://127.0.0.1:1080 (got "ftp://me:***@proxy:21")',
    );
    const text = problems.join('\n');
    for (const secret of ['hunter2', 'tok en', 'short-aes-secret', 'pa55word'])
      expect(text).not.toContain(secret);
  });

  it('lists every secret for the logger, including proxy passwords, so it masks them everywhere', () => {
    const config = load({
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_ALLOWED_USERS: '1',
      TELEGRAM_PROXY: 'socks5://me:pa55word@127.0.0.1:1080',
      BROKER: 'bridge',
      BROKER_URL: 'http://127.0.0.1:8765',
      BROKER_TOKEN: 'bridge-secret',
      WECOM_CORP_ID: 'ww0123456789abcdef',
      WECOM_AGENT_ID: '1000002',
      WECOM_SECRET: 'wecom-app-secret',
    });
    expect(config.secrets.sort()).toEqual([TOKEN, 'bridge-secret', 'pa55word', 'wecom-app-secret'].sort());
  });
});

describe('cross-field rules', () => {
  it('a Telegram token without allowed users is an error: never run an open bot', () => {
    expect(problemsOf({ TELEGRAM_BOT_TOKEN: TOKEN })).toEqual([
      'TELEGRAM_ALLOWED_USERS: required with TELEGRAM_BOT_TOKEN so that only you can command the bot (your numeric user id, e.g. from @userinfobot)',
    ]);
  });

  it('bridge needs BROKER_URL and BROKER_TOKEN; easytrader needs the URL; ptrade the token and HTTP_PORT', () => {
    expect(problemsOf({ BROKER: 'bridge' })).toEqual([
      'BROKER_URL: required when BROKER=bridge: the address of the broker bridge, e.g. http://127.0.0.1:8765',
      'BROKER_TOKEN: required when BROKER=bridge: the shared secret the bridge presents',
    ]);
    expect(problemsOf({ BROKER: 'easytrader' })).toEqual([
      'BROKER_URL: required when BROKER=easytrader: the address of the broker easytrader server, e.g. http://127.0.0.1:8765',
    ]);
    expect(problemsOf({ BROKER: 'ptrade' })).toEqual([
      'HTTP_PORT: required when BROKER=ptrade: the PTrade strategy polls SealGuard’s relay on this port',
      'BROKER_TOKEN: required when BROKER=ptrade: the shared secret the PTrade strategy presents',
    ]);
    expect(load({ BROKER: 'ptrade', BROKER_TOKEN: 't', HTTP_PORT: '8080' }).broker).toEqual({
      kind: 'ptrade',
      url: undefined,
      token: 't',
    });
  });

  it('a broker address with the paper broker is an error, not a silent paper run', () => {
    expect(problemsOf({ BROKER_URL: 'http://127.0.0.1:8765' })).toEqual([
      'BROKER: is paper (the default), which never trades for real, yet BROKER_URL is set; set BROKER=bridge, ptrade or easytrader, or remove BROKER_URL',
    ]);
    expect(
      problemsOf({ BROKER: 'bridge', BROKER_URL: 'http://h:1', BROKER_TOKEN: 't', PAPER_CASH: '1w' }),
    ).toEqual(['PAPER_CASH: only applies to BROKER=paper, but BROKER is bridge; remove it']);
  });

  it('WeCom app keys go all together or not at all', () => {
    expect(problemsOf({ WECOM_CORP_ID: 'ww01' })).toEqual([
      'WECOM_AGENT_ID: required with WECOM_CORP_ID: the WeCom app keys go together',
      'WECOM_SECRET: required with WECOM_CORP_ID: the WeCom app keys go together',
    ]);
  });

  it('WeCom callback keys need each other, HTTP_PORT, the app keys and an allow-list', () => {
    const app = { WECOM_CORP_ID: 'ww01', WECOM_AGENT_ID: '1000002', WECOM_SECRET: 's' };
    expect(problemsOf({ ...app, WECOM_TOKEN: 'Tok3n' })).toEqual([
      'WECOM_AES_KEY: required with WECOM_TOKEN: WeCom callbacks need both the Token and the EncodingAESKey',
      'WECOM_ALLOWED_USERS: required with WeCom callbacks so that only you can command the bot (your WeCom userid)',
      'HTTP_PORT: required for WeCom callbacks (WECOM_TOKEN/WECOM_AES_KEY): WeCom calls /wecom/callback on this port',
    ]);
    const config = load({
      ...app,
      WECOM_TOKEN: 'Tok3n',
      WECOM_AES_KEY: AES,
      WECOM_ALLOWED_USERS: 'ZhangSan',
      HTTP_PORT: '0',
    });
    expect(config.wecom).toEqual({
      corpId: 'ww01',
      agentId: 1000002,
      secret: 's',
      allowedUsers: ['ZhangSan'],
      apiRoot: undefined,
      callback: { token: 'Tok3n', aesKey: AES },
    });
    expect(config.httpPort).toBe(0);
  });
});

describe('.env', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sg-env-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is read from the working directory and real environment variables win over it', async () => {
    await writeFile(
      join(dir, '.env'),
      '# comment\nPOLL_INTERVAL_MS=300\nLOG_LEVEL=debug\nDATA_DIR=state\nTELEGRAM_TOKEN=typo\nDEFAULT_MODE="alert"\n',
    );
    const config = loadConfig({ LOG_LEVEL: 'warn' }, { cwd: dir, readDotEnv: true });
    expect(config.quotes.pollIntervalMs).toBe(300);
    expect(config.log.level).toBe('warn');
    expect(config.guard.mode).toBe('alert');
    expect(config.dataDir).toBe(join(dir, 'state'));
    expect(config.warnings).toEqual([
      '.env: TELEGRAM_TOKEN is not a SealGuard setting (a typo?); it is ignored',
    ]);
  });

  it('is not read when an explicit env is passed, unless asked', async () => {
    await writeFile(join(dir, '.env'), 'POLL_INTERVAL_MS=300\n');
    expect(loadConfig({}, { cwd: dir }).quotes.pollIntervalMs).toBe(1000);
  });

  it('problems in .env are reported like any other', async () => {
    await writeFile(join(dir, '.env'), 'POLL_INTERVAL_MS=fast\n');
    expect(() => loadConfig({}, { cwd: dir, readDotEnv: true })).toThrow(
      'Invalid configuration:\n  - POLL_INTERVAL_MS: must be a whole number of milliseconds >= 200 (got "fast")',
    );
  });
});

describe('.env.example', () => {
  const example = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');
  const examples = parseEnv(
    example
      .split('\n')
      .map((line) => (/^# [A-Z_]+=/.test(line) ? line.slice(2) : line))
      .join('\n'),
  ) as Record<string, string>;

  it('documents every key, each with an example that passes its own validation', () => {
    expect(Object.keys(examples).sort()).toEqual([...CONFIG_KEYS].sort());
    const problems = (() => {
      try {
        load(examples);
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    })();
    // All examples at once only clash across keys (paper broker with a bridge URL, ...).
    expect(problems.filter((p) => / \(got |value hidden\)$/.test(p))).toEqual([]);
  });

  it('copied to .env unchanged, still runs the demo', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sg-example-'));
    try {
      await writeFile(join(dir, '.env'), example);
      expect(isDemo(loadConfig({}, { cwd: dir, readDotEnv: true }))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('WECOM_API_ROOT without the app', () => {
  it('reaches the group robot too (it needs no app keys)', () => {
    const c = loadConfig(
      { WECOM_WEBHOOK_KEY: '00000000-robot-key', WECOM_API_ROOT: 'http://127.0.0.1:1' },
      { readDotEnv: false },
    );
    expect(c.wecom).toBeUndefined();
    expect(c.wecomApiRoot).toBe('http://127.0.0.1:1');
  });
});

describe('QUOTE_SOURCES qmt (the bridge quote stream)', () => {
  it('needs the bridge broker and must come first', async () => {
    const { loadConfig: load } = await import('../src/config.ts');
    const bridge = { BROKER: 'bridge', BROKER_URL: 'http://127.0.0.1:8765', BROKER_TOKEN: 'tok-123456' };
    expect(load({ ...bridge, QUOTE_SOURCES: 'qmt,tencent' }, { readDotEnv: false }).quotes.sources).toEqual([
      'qmt',
      'tencent',
    ]);
    expect(() => load({ ...bridge, QUOTE_SOURCES: 'tencent,qmt' }, { readDotEnv: false })).toThrow(
      /QUOTE_SOURCES: qmt streams, so it must come first/,
    );
    expect(() => load({ QUOTE_SOURCES: 'qmt' }, { readDotEnv: false })).toThrow(
      /QUOTE_SOURCES: qmt is the broker bridge's own quote stream: it needs BROKER=bridge/,
    );
  });
});

describe('QUOTE_SOURCES ptrade (the PTrade strategy posting quotes to the relay)', () => {
  it('needs BROKER=ptrade and must come first', async () => {
    const { loadConfig: load } = await import('../src/config.ts');
    const relay = { BROKER: 'ptrade', BROKER_TOKEN: 'tok-123456', HTTP_PORT: '8080' };
    expect(load({ ...relay, QUOTE_SOURCES: 'ptrade,tencent' }, { readDotEnv: false }).quotes.sources).toEqual(
      ['ptrade', 'tencent'],
    );
    expect(() => load({ ...relay, QUOTE_SOURCES: 'tencent,ptrade' }, { readDotEnv: false })).toThrow(
      /QUOTE_SOURCES: ptrade streams \(the strategy posts its quotes\), so it must come first/,
    );
    expect(() => load({ QUOTE_SOURCES: 'ptrade,tencent' }, { readDotEnv: false })).toThrow(
      /QUOTE_SOURCES: ptrade is the PTrade strategy's get_snapshot quotes, posted to the relay: it needs BROKER=ptrade/,
    );
  });
});
