/**
 * The process logger: pino, JSON lines for machines, pino-pretty for a human at a terminal.
 *
 * Secrets are kept out twice over. Key paths (pino `redact`) catch fields named like secrets even
 * when we do not know their value (a WeCom access_token fetched at run time). Value redaction
 * catches known secret values wherever they end up: grammY puts the bot token inside URLs in its
 * error messages and stacks, which no key path can reach. It runs on each finished line at the
 * destination, after serialization, so nothing (message, error, nested object) slips past it.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import type { Logger } from 'pino';
import { createRequire } from 'node:module';
import type PinoPretty from 'pino-pretty';
import type { Config } from './config.ts';

export type { Logger } from 'pino';

export interface LoggerSettings {
  level: string;
  /** Values to replace by "***" wherever they appear. */
  secrets: string[];
  /** Default: pretty when stdout is a TTY or LOG_PRETTY=1. */
  pretty?: boolean;
}

export interface LoggerOptions {
  /** Where finished lines go (tests capture them); default stdout. */
  destination?: { write(line: string): unknown };
  pretty?: boolean;
}

export const REDACTED = '***';

const SECRET_FIELDS = [
  'token',
  'secret',
  'key',
  'password',
  'authorization',
  'Authorization',
  'access_token',
  'corpsecret',
  'aesKey',
  'TELEGRAM_BOT_TOKEN',
  'BROKER_TOKEN',
  'WECOM_SECRET',
  'WECOM_TOKEN',
  'WECOM_AES_KEY',
  'WECOM_WEBHOOK_KEY',
];

/** The same names at the top level and two levels down, plus HTTP headers wherever they sit. */
export const REDACT_PATHS = [
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]),
  ...['authorization', 'Authorization', '"x-telegram-bot-api-secret-token"'].flatMap((h) => [
    `headers.${h}`,
    `*.headers.${h}`,
    `*.*.headers.${h}`,
  ]),
];

/** Secrets that have a recognisable shape even when we were never told their value. */
const SECRET_SHAPES: [RegExp, string][] = [
  [/(?<![0-9])\d{5,}:[A-Za-z0-9_-]{30,}/g, REDACTED], // Telegram bot token
  [/([?&](?:access_token|corpsecret|key|token|secret)=)[^&\s"\\]+/gi, `$1${REDACTED}`], // in query strings
];

/** pino-pretty costs ~10 MB resident; load it only when a human is watching. */
function loadPretty(): typeof PinoPretty {
  return createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
}

export function createLogger(source: Config | LoggerSettings, opts: LoggerOptions = {}): Logger {
  const settings: LoggerSettings =
    'log' in source
      ? { level: source.log.level, secrets: source.secrets, pretty: source.log.pretty }
      : source;
  const pretty =
    opts.pretty ?? settings.pretty ?? (process.env.LOG_PRETTY === '1' || process.stdout.isTTY === true);
  const output = pretty
    ? loadPretty()({
        colorize: !opts.destination && process.stdout.isTTY === true,
        sync: true,
        translateTime: 'SYS:HH:MM:ss.l',
        destination: opts.destination ? writableOf(opts.destination) : 1,
      })
    : (opts.destination ?? pino.destination({ dest: 1, sync: true }));
  const scrub = valueRedactor(settings.secrets);
  return pino(
    {
      level: settings.level,
      redact: { paths: REDACT_PATHS, censor: REDACTED },
    },
    { write: (line: string) => output.write(scrub(line)) },
  );
}

/** A logger for one module: every line carries `module`. */
export function child(logger: Logger, module: string): Logger {
  return logger.child({ module });
}

/** Replaces each secret value, raw or as it looks inside a JSON string, by "***". */
export function valueRedactor(secrets: readonly string[]): (line: string) => string {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (!secret) continue;
    forms.add(secret);
    forms.add(JSON.stringify(secret).slice(1, -1));
  }
  const ordered = [...forms].sort((a, b) => b.length - a.length);
  return (line) => {
    let out = line;
    for (const form of ordered) out = out.split(form).join(REDACTED);
    for (const [pattern, replacement] of SECRET_SHAPES) out = out.replace(pattern, replacement);
    return out;
  };
}

/** pino-pretty pipes into its destination, so it needs a real stream. */
function writableOf(destination: { write(line: string): unknown }): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      destination.write(chunk.toString());
      done();
    },
  });
}
