/**
 * The process configuration: environment variables (and a `.env` file in the working directory)
 * validated into a typed Config. Every problem is reported at once, one line per bad key, and a
 * secret's value is never echoed back: these lines end up in terminals, logs and chat.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { z } from 'zod';
import { parseAmount } from './domain/amounts.ts';
import {
  CONFIRM_DEFAULTS,
  DEFAULT_CONFIRM,
  DEFAULT_MODE,
  MODES,
  type ConfirmDefault,
  type Mode,
} from './domain/modes.ts';
import { parseSymbol } from './domain/symbols.ts';
import { parseExchangeTime } from './domain/time.ts';
import { parsePublicKey } from './broker/eastmoneyRsa.ts';
import type { Shares, Yuan } from './domain/types.ts';
import { SealGuardError } from './domain/errors.ts';

export const QUOTE_SOURCES = ['tencent', 'sina', 'eastmoney', 'sina-ws', 'qmt', 'ptrade'] as const;
export const BROKERS = ['paper', 'bridge', 'ptrade', 'easytrader', 'eastmoney'] as const;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export type QuoteSourceName = (typeof QUOTE_SOURCES)[number];
export type BrokerKind = (typeof BROKERS)[number];
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  /** Present when TELEGRAM_BOT_TOKEN is set (then allowedUsers is never empty). */
  telegram?: { token: string; allowedUsers: number[]; apiRoot?: string; proxy?: string };
  /** Present when the WeCom app keys are set. `callback` when WeCom may send commands to us. */
  wecom?: {
    corpId: string;
    agentId: number;
    secret: string;
    allowedUsers: string[];
    apiRoot?: string;
    callback?: { token: string; aesKey: string };
  };
  /** WeCom group robot (send-only). */
  wecomWebhookKey?: string;
  /** WECOM_API_ROOT for the robot too, which works without the app keys. */
  wecomApiRoot?: string;
  httpPort?: number;
  quotes: {
    /** In order of preference. */
    sources: QuoteSourceName[];
    pollIntervalMs: number;
    tencentUrl?: string;
    sinaUrl?: string;
    eastmoneyUrl?: string;
    sinaWsUrl?: string;
  };
  broker: { kind: BrokerKind; url?: string; token?: string; accountType?: 'stock' | 'credit' };
  /** BROKER=eastmoney: 东方财富 web trading (jywg). */
  eastmoney?: {
    account: string;
    password: string;
    tradeUrl: string;
    publicKey?: string;
    durationMin: number;
    credit: boolean;
  };
  /** Starting state of the paper broker. */
  paper: { positions: { symbol: string; shares: Shares }[]; cash?: Yuan };
  guard: {
    mode: Mode;
    /** Seal amount below which a seal counts as weak, yuan. */
    threshold: Yuan;
    confirmTimeoutS: number;
    /** What happens when a confirm request lapses unanswered. */
    confirmDefault: ConfirmDefault;
    /** DEFAULT_FLOOR: lowest replacement price, hundredths of % from the previous close (+5% = 500). */
    defaultFloorCenti?: number;
    /** REPLACE_AFTER_MS: an unfilled sell is cancelled and re-sold this long after placement once the board opened. */
    replaceAfterMs: number;
    /** REPLACE_MAX: replacements per seal segment at most. */
    replaceMax: number;
  };
  /** Absolute. */
  dataDir: string;
  /** SEALGUARD_CLOCK as given (for domain/clock.ts clockFromSpec) and its instant. */
  clock?: { spec: string; startMs: number };
  log: { level: LogLevel; /** undefined: pretty when stdout is a TTY. */ pretty?: boolean };
  /** Every secret value, for log redaction. */
  secrets: string[];
  /** Keys that were set, from the environment or .env. */
  setKeys: string[];
  /** Non-fatal remarks, e.g. unknown keys in .env that look like typos of ours. */
  warnings: string[];
}

export class ConfigError extends SealGuardError {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** A rule a value broke; its message completes "<KEY>: ...". */
class Bad extends SealGuardError {}

type Parser<T> = (raw: string) => T;

interface KeySpec<T> {
  parse: Parser<T>;
  secret?: boolean;
}

const SECRET_KEYS = new Set([
  'TELEGRAM_BOT_TOKEN',
  'WECOM_SECRET',
  'WECOM_TOKEN',
  'WECOM_AES_KEY',
  'WECOM_WEBHOOK_KEY',
  'BROKER_TOKEN',
  'EASTMONEY_PASSWORD',
]);

const matching =
  (pattern: RegExp, must: string): Parser<string> =>
  (raw) => {
    if (!pattern.test(raw)) throw new Bad(must);
    return raw;
  };

const wholeNumber =
  (min: number, max: number, must: string): Parser<number> =>
  (raw) => {
    const parsed = z.coerce
      .number()
      .int()
      .min(min)
      .max(max)
      .safeParse(/^\d+$/.test(raw) ? raw : NaN);
    if (!parsed.success) throw new Bad(must);
    return parsed.data;
  };

const oneOf =
  <T extends string>(values: readonly T[]): Parser<T> =>
  (raw) => {
    const parsed = z.enum(values as [T, ...T[]]).safeParse(raw.toLowerCase());
    if (!parsed.success) throw new Bad(`must be one of ${values.join(', ')}`);
    return parsed.data;
  };

const url =
  (protocols: string[], example: string): Parser<string> =>
  (raw) => {
    const parsed = z.url({ protocol: new RegExp(`^(${protocols.join('|')})$`) }).safeParse(raw);
    if (!parsed.success) throw new Bad(`must be a ${protocols.join('/')} URL, e.g. ${example}`);
    return raw.replace(/\/+$/, '');
  };

const list =
  <T>(item: Parser<T>, must: string): Parser<T[]> =>
  (raw) => {
    const items = raw.split(',').map((s) => s.trim());
    if (items.some((s) => s === '')) throw new Bad(must);
    const out = items.map((s) => {
      try {
        return item(s);
      } catch {
        throw new Bad(must);
      }
    });
    if (new Set(items).size !== items.length) throw new Bad(`${must}, without repeats`);
    return out;
  };

const amount =
  (must: string): Parser<Yuan> =>
  (raw) => {
    try {
      return parseAmount(raw);
    } catch {
      throw new Bad(must);
    }
  };

const positions: Parser<{ symbol: string; shares: Shares }[]> = (raw) => {
  const must = 'must be code:shares pairs separated by commas, e.g. 600519:1000,002116:10000';
  const seen = new Set<string>();
  return raw.split(',').map((pair) => {
    const m = /^\s*([^:\s]+)\s*:\s*(\d+)\s*$/.exec(pair);
    if (!m) throw new Bad(must);
    let symbol: string;
    try {
      symbol = parseSymbol(m[1] as string).id;
    } catch (error) {
      throw new Bad(`${must}; ${(error as Error).message}`);
    }
    const shares = Number(m[2]);
    if (!Number.isSafeInteger(shares) || shares <= 0) throw new Bad(`${must}; shares must be positive`);
    if (seen.has(symbol)) throw new Bad(`${must}; ${symbol} is listed twice`);
    seen.add(symbol);
    return { symbol, shares };
  });
};

const flag: Parser<boolean> = (raw) => {
  const v = raw.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new Bad('must be 1 or 0');
};

const HTTP_URL = ['http', 'https'];

const SPECS = {
  TELEGRAM_BOT_TOKEN: {
    parse: matching(
      /^\d{5,}:[A-Za-z0-9_-]{30,}$/,
      'must look like 123456789:AAE…, the token @BotFather gave you',
    ),
  },
  TELEGRAM_ALLOWED_USERS: {
    parse: list(
      wholeNumber(1, Number.MAX_SAFE_INTEGER, ''),
      'must be numeric Telegram user ids separated by commas, e.g. 123456789,987654321',
    ),
  },
  TELEGRAM_API_ROOT: { parse: url(HTTP_URL, 'https://api.telegram.org') },
  TELEGRAM_PROXY: {
    parse: url(
      ['http', 'https', 'socks', 'socks4', 'socks4a', 'socks5', 'socks5h'],
      'socks5://127.0.0.1:1080',
    ),
  },
  WECOM_CORP_ID: {
    parse: matching(
      /^[A-Za-z0-9]{1,64}$/,
      'must be the corp id (企业ID) from the WeCom admin console, e.g. ww0123456789abcdef',
    ),
  },
  WECOM_AGENT_ID: {
    parse: wholeNumber(1, 2_147_483_647, 'must be the numeric AgentId of the WeCom app, e.g. 1000002'),
  },
  WECOM_SECRET: {
    parse: matching(/^\S+$/, 'must be the app Secret from the WeCom admin console (no spaces)'),
  },
  WECOM_TOKEN: {
    parse: matching(/^[A-Za-z0-9]{1,32}$/, 'must be the callback Token: 1 to 32 letters or digits'),
  },
  WECOM_AES_KEY: {
    parse: matching(
      /^[A-Za-z0-9+/]{43}$/,
      'must be the callback EncodingAESKey: exactly 43 base64 characters',
    ),
  },
  WECOM_ALLOWED_USERS: {
    parse: list(
      matching(/^[A-Za-z0-9_.@-]{1,64}$/, ''),
      'must be WeCom userids (账号) separated by commas, e.g. ZhangSan,LiSi',
    ),
  },
  WECOM_API_ROOT: { parse: url(HTTP_URL, 'https://qyapi.weixin.qq.com') },
  WECOM_WEBHOOK_KEY: {
    // People paste the whole robot address; the key is the only part we need.
    parse: (raw: string) => {
      const key = /[?&]key=([^&\s]+)/.exec(raw)?.[1] ?? raw;
      return matching(
        /^[A-Za-z0-9-]{8,}$/,
        'must be the group robot key (the key=… part of its webhook address)',
      )(key);
    },
  },
  HTTP_PORT: { parse: wholeNumber(0, 65_535, 'must be a TCP port number from 0 to 65535') },
  QUOTE_SOURCES: {
    parse: list(
      oneOf(QUOTE_SOURCES),
      `must be an ordered list of ${QUOTE_SOURCES.join(', ')}, e.g. tencent,sina`,
    ),
  },
  TENCENT_QUOTE_URL: { parse: url(HTTP_URL, 'https://qt.gtimg.cn') },
  SINA_QUOTE_URL: { parse: url(HTTP_URL, 'https://hq.sinajs.cn') },
  EASTMONEY_QUOTE_URL: { parse: url(HTTP_URL, 'https://push2.eastmoney.com') },
  SINA_WS_URL: { parse: url(['ws', 'wss'], 'wss://hq.sinajs.cn/wskt') },
  POLL_INTERVAL_MS: { parse: wholeNumber(200, 3_600_000, 'must be a whole number of milliseconds >= 200') },
  BROKER: { parse: oneOf(BROKERS) },
  BROKER_URL: { parse: url(HTTP_URL, 'http://127.0.0.1:8765') },
  BROKER_TOKEN: { parse: matching(/^\S+$/, 'must be the bridge token (no spaces)') },
  EASTMONEY_ACCOUNT: {
    parse: matching(/^[0-9]{12}$/, 'must be the 12-digit 资金账号 of the 东方财富 account'),
  },
  EASTMONEY_PASSWORD: { parse: matching(/^\S+$/, 'must be the trading password (no spaces)') },
  EASTMONEY_TRADE_URL: { parse: url(HTTP_URL, 'https://jywg.18.cn') },
  EASTMONEY_RSA_PUBKEY: {
    parse: (raw: string) => {
      try {
        parsePublicKey(raw);
      } catch (err) {
        throw new Bad((err as Error).message);
      }
      return raw;
    },
  },
  EASTMONEY_DURATION: {
    parse: wholeNumber(15, 1800, 'must be the session length in minutes, 15 to 1800 (e.g. 180)'),
  },
  EASTMONEY_CREDIT: { parse: flag },
  PAPER_POSITIONS: { parse: positions },
  PAPER_CASH: { parse: amount('must be an amount of yuan such as 1000000, 100w or 100万') },
  DEFAULT_MODE: { parse: oneOf(MODES) },
  DEFAULT_THRESHOLD: {
    parse: amount('must be a seal amount in yuan such as 2000w, 2000万, 0.2亿 or 20000000'),
  },
  CONFIRM_TIMEOUT_S: { parse: wholeNumber(1, 3600, 'must be a whole number of seconds from 1 to 3600') },
  CONFIRM_DEFAULT: { parse: oneOf(CONFIRM_DEFAULTS) },
  DEFAULT_FLOOR: {
    parse: (raw: string) => {
      // An offset from the previous close: "+5%", "0%", "-3.5%" (the limit-down is the floor without it).
      const m = /^([+-]?)(\d{1,2}(?:\.\d{1,2})?)%$/.exec(raw.trim());
      if (!m) throw new Bad('must be a percentage offset from the previous close such as +5%, 0% or -3%');
      const [whole = '0', frac = ''] = (m[2] as string).split('.');
      const centi = Number(whole) * 100 + Number(frac.padEnd(2, '0'));
      if (centi > 3000) throw new Bad('must be within ±30% of the previous close');
      return m[1] === '-' ? -centi : centi;
    },
  },
  REPLACE_AFTER_MS: {
    parse: wholeNumber(500, 600_000, 'must be a whole number of milliseconds from 500 to 600000'),
  },
  REPLACE_MAX: { parse: wholeNumber(0, 20, 'must be a whole number of replacements from 0 to 20') },
  BROKER_ACCOUNT_TYPE: { parse: oneOf(['stock', 'credit'] as const) },
  DATA_DIR: { parse: matching(/\S/, 'must be a directory path') },
  SEALGUARD_CLOCK: {
    parse: (raw: string) => {
      try {
        return { spec: raw, startMs: parseExchangeTime(raw) };
      } catch {
        throw new Bad('must be an ISO time such as 2026-11-24T09:30:00+08:00');
      }
    },
  },
  LOG_LEVEL: { parse: oneOf(LOG_LEVELS) },
  LOG_PRETTY: { parse: flag },
} satisfies Record<string, KeySpec<unknown>>;

type Key = keyof typeof SPECS;
type Parsed = { [K in Key]?: ReturnType<(typeof SPECS)[K]['parse']> };

export const CONFIG_KEYS = Object.keys(SPECS) as Key[];

export interface LoadConfigOptions {
  /** Where to look for `.env`. Default: process.cwd(). Also the base of a relative DATA_DIR. */
  cwd?: string;
  /** Read `<cwd>/.env`. Default: only when `env` is process.env, so tests passing an env are hermetic. */
  readDotEnv?: boolean;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, opts: LoadConfigOptions = {}): Config {
  const cwd = opts.cwd ?? process.cwd();
  const problems: string[] = [];
  const warnings: string[] = [];
  let merged: Record<string, string | undefined> = { ...env };
  if (opts.readDotEnv ?? env === process.env) {
    const dotEnv = readDotEnv(join(cwd, '.env'), problems);
    // Real environment variables win, as with every dotenv loader.
    merged = { ...dotEnv, ...env };
    for (const key of Object.keys(dotEnv)) {
      if (
        !(key in SPECS) &&
        /^(TELEGRAM|WECOM|BROKER|EASTMONEY|PAPER|SEALGUARD|QUOTE|DEFAULT|CONFIRM|POLL|LOG)_/.test(key)
      ) {
        warnings.push(`.env: ${key} is not a SealGuard setting (a typo?); it is ignored`);
      }
    }
  }

  // zod does the per-key work (each key a string -> typed transform) and collects every issue.
  const shape = Object.fromEntries(
    CONFIG_KEYS.map((key) => [
      key,
      z
        .string()
        .optional()
        .transform((raw, ctx) => {
          const value = raw?.trim();
          if (value === undefined || value === '') return undefined;
          try {
            return SPECS[key].parse(value);
          } catch (error) {
            if (!(error instanceof Bad)) throw error;
            ctx.addIssue({ code: 'custom', message: `${error.message} (${shown(key, value)})` });
            return z.NEVER;
          }
        }),
    ]),
  );
  const result = z.object(shape).safeParse(merged);
  const bad = new Set<string>();
  let v: Parsed;
  if (result.success) v = result.data as Parsed;
  else {
    for (const issue of result.error.issues) {
      const key = String(issue.path[0]);
      bad.add(key);
      problems.push(`${key}: ${issue.message}`);
    }
    // Still validate the keys that are fine, so cross-field rules can report on them too.
    v = Object.fromEntries(
      CONFIG_KEYS.filter((k) => !bad.has(k)).map((k) => {
        const raw = merged[k]?.trim();
        return [k, raw ? SPECS[k].parse(raw) : undefined];
      }),
    ) as Parsed;
  }
  const setKeys = CONFIG_KEYS.filter((k) => (merged[k]?.trim() ?? '') !== '');
  const isSet = (k: Key) => setKeys.includes(k);
  const problem = (key: Key, text: string) => {
    if (bad.has(key)) return;
    bad.add(key);
    problems.push(`${key}: ${text}`);
  };

  // Never run an open bot: whoever finds it could sell your holdings.
  if (isSet('TELEGRAM_BOT_TOKEN') && !isSet('TELEGRAM_ALLOWED_USERS')) {
    problem(
      'TELEGRAM_ALLOWED_USERS',
      'required with TELEGRAM_BOT_TOKEN so that only you can command the bot (your numeric user id, e.g. from @userinfobot)',
    );
  }

  const appKeys: Key[] = ['WECOM_CORP_ID', 'WECOM_AGENT_ID', 'WECOM_SECRET'];
  const callbackKeys: Key[] = ['WECOM_TOKEN', 'WECOM_AES_KEY'];
  const callbackSet = callbackKeys.some(isSet);
  if (appKeys.some(isSet) || callbackSet) {
    for (const key of appKeys.filter((k) => !isSet(k))) {
      problem(
        key,
        `required with ${[...appKeys, ...callbackKeys].filter(isSet).join(', ')}: the WeCom app keys go together`,
      );
    }
  }
  if (callbackSet) {
    for (const key of callbackKeys.filter((k) => !isSet(k))) {
      problem(
        key,
        `required with ${callbackKeys.filter(isSet).join(', ')}: WeCom callbacks need both the Token and the EncodingAESKey`,
      );
    }
    if (!isSet('HTTP_PORT'))
      problem(
        'HTTP_PORT',
        'required for WeCom callbacks (WECOM_TOKEN/WECOM_AES_KEY): WeCom calls /wecom/callback on this port',
      );
    if (!isSet('WECOM_ALLOWED_USERS')) {
      problem(
        'WECOM_ALLOWED_USERS',
        'required with WeCom callbacks so that only you can command the bot (your WeCom userid)',
      );
    }
  }

  const broker = v.BROKER ?? 'paper';
  if (v.BROKER_ACCOUNT_TYPE === 'credit' && broker !== 'bridge')
    problem(
      'BROKER_ACCOUNT_TYPE',
      `credit needs BROKER=bridge (the QMT bridge with --account-type credit); BROKER is ${broker}`,
    );
  if (broker === 'paper') {
    for (const key of ['BROKER_URL', 'BROKER_TOKEN'] as const) {
      // A live-trading setup that silently fell back to paper would "sell" nothing while the user relies on it.
      if (isSet(key))
        problem(
          'BROKER',
          `is paper${isSet('BROKER') ? '' : ' (the default)'}, which never trades for real, yet ${key} is set; set BROKER=bridge, ptrade or easytrader, or remove ${key}`,
        );
    }
  } else {
    if ((broker === 'bridge' || broker === 'easytrader') && !isSet('BROKER_URL')) {
      problem(
        'BROKER_URL',
        `required when BROKER=${broker}: the address of the broker ${broker === 'bridge' ? 'bridge' : 'easytrader server'}, e.g. http://127.0.0.1:8765`,
      );
    }
    if ((broker === 'bridge' || broker === 'ptrade') && !isSet('BROKER_TOKEN')) {
      problem(
        'BROKER_TOKEN',
        `required when BROKER=${broker}: the shared secret the ${broker === 'bridge' ? 'bridge' : 'PTrade strategy'} presents`,
      );
    }
    if (broker === 'eastmoney') {
      for (const key of ['EASTMONEY_ACCOUNT', 'EASTMONEY_PASSWORD'] as const)
        if (!isSet(key))
          problem(
            key,
            `required when BROKER=eastmoney: ${key === 'EASTMONEY_ACCOUNT' ? 'the 12-digit 资金账号' : 'the trading password (kept in memory, sent only RSA-encrypted)'}`,
          );
      for (const key of ['BROKER_URL', 'BROKER_TOKEN'] as const)
        if (isSet(key))
          problem(
            key,
            'does not apply to BROKER=eastmoney (the site address is EASTMONEY_TRADE_URL); remove it',
          );
    }
    if (broker === 'ptrade' && !isSet('HTTP_PORT')) {
      problem(
        'HTTP_PORT',
        'required when BROKER=ptrade: the PTrade strategy polls SealGuard’s relay on this port',
      );
    }
    for (const key of ['PAPER_POSITIONS', 'PAPER_CASH'] as const) {
      if (isSet(key)) problem(key, `only applies to BROKER=paper, but BROKER is ${broker}; remove it`);
    }
  }

  if (broker !== 'eastmoney')
    for (const key of CONFIG_KEYS.filter((k) => /^EASTMONEY_(?!QUOTE)/.test(k) && isSet(k)))
      problem(key, `only applies to BROKER=eastmoney, but BROKER is ${broker}; remove it`);
  const sources = v.QUOTE_SOURCES ?? [];
  // A streaming source is the primary or nothing (FeedManager): later in the list it would be ignored.
  if (sources.indexOf('qmt') > 0)
    problem('QUOTE_SOURCES', 'qmt streams, so it must come first (e.g. qmt,tencent)');
  if (sources.includes('qmt') && (broker !== 'bridge' || !isSet('BROKER_URL') || !isSet('BROKER_TOKEN'))) {
    problem(
      'QUOTE_SOURCES',
      "qmt is the broker bridge's own quote stream: it needs BROKER=bridge with BROKER_URL and BROKER_TOKEN",
    );
  }
  if (sources.indexOf('ptrade') > 0)
    problem(
      'QUOTE_SOURCES',
      'ptrade streams (the strategy posts its quotes), so it must come first (e.g. ptrade,tencent)',
    );
  if (sources.includes('ptrade') && broker !== 'ptrade')
    problem(
      'QUOTE_SOURCES',
      "ptrade is the PTrade strategy's get_snapshot quotes, posted to the relay: it needs BROKER=ptrade",
    );

  if (problems.length > 0) {
    const rank = (line: string) => CONFIG_KEYS.indexOf(line.slice(0, line.indexOf(':')) as Key);
    throw new ConfigError(problems.sort((a, b) => rank(a) - rank(b)));
  }

  const config: Config = {
    quotes: {
      sources: v.QUOTE_SOURCES ?? ['tencent', 'sina'],
      pollIntervalMs: v.POLL_INTERVAL_MS ?? 1000,
      tencentUrl: v.TENCENT_QUOTE_URL,
      sinaUrl: v.SINA_QUOTE_URL,
      eastmoneyUrl: v.EASTMONEY_QUOTE_URL,
      sinaWsUrl: v.SINA_WS_URL,
    },
    broker: {
      kind: broker,
      url: v.BROKER_URL,
      token: v.BROKER_TOKEN,
      ...(v.BROKER_ACCOUNT_TYPE ? { accountType: v.BROKER_ACCOUNT_TYPE } : {}),
    },
    paper: { positions: v.PAPER_POSITIONS ?? [], cash: v.PAPER_CASH },
    guard: {
      mode: v.DEFAULT_MODE ?? DEFAULT_MODE,
      threshold: v.DEFAULT_THRESHOLD ?? 20_000_000,
      confirmTimeoutS: v.CONFIRM_TIMEOUT_S ?? 60,
      confirmDefault: v.CONFIRM_DEFAULT ?? DEFAULT_CONFIRM,
      ...(v.DEFAULT_FLOOR !== undefined ? { defaultFloorCenti: v.DEFAULT_FLOOR } : {}),
      replaceAfterMs: v.REPLACE_AFTER_MS ?? 2000,
      replaceMax: v.REPLACE_MAX ?? 5,
    },
    dataDir: resolve(cwd, v.DATA_DIR ?? './data'),
    clock: v.SEALGUARD_CLOCK,
    log: { level: v.LOG_LEVEL ?? 'info', pretty: v.LOG_PRETTY },
    httpPort: v.HTTP_PORT,
    wecomWebhookKey: v.WECOM_WEBHOOK_KEY,
    wecomApiRoot: v.WECOM_API_ROOT,
    secrets: [],
    setKeys,
    warnings,
  };
  if (v.TELEGRAM_BOT_TOKEN && v.TELEGRAM_ALLOWED_USERS) {
    config.telegram = {
      token: v.TELEGRAM_BOT_TOKEN,
      allowedUsers: v.TELEGRAM_ALLOWED_USERS,
      apiRoot: v.TELEGRAM_API_ROOT,
      proxy: v.TELEGRAM_PROXY,
    };
  }
  if (v.WECOM_CORP_ID && v.WECOM_AGENT_ID && v.WECOM_SECRET) {
    config.wecom = {
      corpId: v.WECOM_CORP_ID,
      agentId: v.WECOM_AGENT_ID,
      secret: v.WECOM_SECRET,
      allowedUsers: v.WECOM_ALLOWED_USERS ?? [],
      apiRoot: v.WECOM_API_ROOT,
      callback:
        v.WECOM_TOKEN && v.WECOM_AES_KEY ? { token: v.WECOM_TOKEN, aesKey: v.WECOM_AES_KEY } : undefined,
    };
  }
  if (broker === 'eastmoney' && v.EASTMONEY_ACCOUNT && v.EASTMONEY_PASSWORD) {
    config.eastmoney = {
      account: v.EASTMONEY_ACCOUNT,
      password: v.EASTMONEY_PASSWORD,
      tradeUrl: v.EASTMONEY_TRADE_URL ?? 'https://jywg.18.cn',
      ...(v.EASTMONEY_RSA_PUBKEY ? { publicKey: v.EASTMONEY_RSA_PUBKEY } : {}),
      durationMin: v.EASTMONEY_DURATION ?? 180,
      credit: v.EASTMONEY_CREDIT ?? false,
    };
  }
  config.secrets = collectSecrets(merged);
  return config;
}

/** True when nothing connects SealGuard to the world: no chat, no broker, no quote choices. */
export function isDemo(config: Config): boolean {
  const connecting: Key[] = [
    'TELEGRAM_BOT_TOKEN',
    'WECOM_CORP_ID',
    'WECOM_WEBHOOK_KEY',
    'HTTP_PORT',
    'QUOTE_SOURCES',
    'TENCENT_QUOTE_URL',
    'SINA_QUOTE_URL',
    'EASTMONEY_QUOTE_URL',
    'SINA_WS_URL',
    'BROKER_URL',
    'BROKER_TOKEN',
    'PAPER_POSITIONS',
    'PAPER_CASH',
  ];
  return config.broker.kind === 'paper' && !connecting.some((k) => config.setKeys.includes(k));
}

function readDotEnv(file: string, problems: string[]): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    problems.push(`.env: cannot be read (${(error as Error).message})`);
    return {};
  }
  return Object.fromEntries(
    Object.entries(parseEnv(text)).filter((e): e is [string, string] => e[1] !== undefined),
  );
}

/** The value as it may appear in an error: secrets hidden, URL passwords masked. */
function shown(key: string, value: string): string {
  if (SECRET_KEYS.has(key)) return 'value hidden';
  return `got ${JSON.stringify(maskUrl(value))}`;
}

function maskUrl(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^/@\s]*)@/i, (_m, scheme: string, userinfo: string) => {
    const user = userinfo.split(':')[0];
    return `${scheme}${userinfo.includes(':') ? `${user}:***` : '***'}@`;
  });
}

function collectSecrets(env: Record<string, string | undefined>): string[] {
  const secrets = new Set<string>();
  for (const key of SECRET_KEYS) {
    const value = env[key]?.trim();
    if (value) secrets.add(value);
  }
  // WECOM_WEBHOOK_KEY may have been given as a whole URL: the bare key is the secret too.
  const webhook = /[?&]key=([^&\s]+)/.exec(env.WECOM_WEBHOOK_KEY ?? '')?.[1];
  if (webhook) secrets.add(webhook);
  for (const key of CONFIG_KEYS) {
    const password = /^[a-z][a-z0-9+.-]*:\/\/[^/@\s:]*:([^/@\s]+)@/i.exec(env[key]?.trim() ?? '')?.[1];
    if (password) {
      secrets.add(password);
      try {
        secrets.add(decodeURIComponent(password));
      } catch {
        // not percent-encoded
      }
    }
  }
  return [...secrets];
}
