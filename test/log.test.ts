import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { child, createLogger } from '../src/log.ts';
import { StoreError } from '../src/store/errors.ts';

const BOT_TOKEN = '7012345678:AAHk2b-Secret_Value_0123456789abcdef';
const BROKER_TOKEN = 'br0ker-t0ken-\\"quoted';

function capture(level = 'info', secrets = [BOT_TOKEN, BROKER_TOKEN]) {
  const lines: string[] = [];
  const logger = createLogger(
    { level, secrets },
    { destination: { write: (l: string) => lines.push(l) }, pretty: false },
  );
  return { logger, lines, text: () => lines.join('') };
}

describe('logger', () => {
  it('writes one JSON line per entry at or above LOG_LEVEL', () => {
    const { logger, lines } = capture('warn');
    logger.info('quiet');
    logger.warn({ symbol: '600519.SH' }, 'seal weakening');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 40, symbol: '600519.SH', msg: 'seal weakening' });
  });

  it('never prints a known secret inside a message string', () => {
    const { logger, text } = capture();
    logger.info(`GET https://api.telegram.org/bot${BOT_TOKEN}/getUpdates failed`);
    logger.info(`bridge said: bad token ${BROKER_TOKEN}`);
    expect(text()).not.toContain(BOT_TOKEN);
    expect(text()).not.toContain('br0ker-t0ken');
    expect(text()).toContain('https://api.telegram.org/bot***/getUpdates failed');
  });

  it('never prints a known secret inside an error message or stack', () => {
    const { logger, text } = capture();
    const error = new Error(
      `Network request for 'sendMessage' failed! https://api.telegram.org/bot${BOT_TOKEN}/sendMessage`,
    );
    logger.error(error, 'telegram send failed');
    logger.error({ err: error, attempt: 2 }, 'retrying');
    expect(text()).not.toContain(BOT_TOKEN);
    expect(JSON.parse(text().split('\n')[0]!).err.message).toBe(
      "Network request for 'sendMessage' failed! https://api.telegram.org/bot***/sendMessage",
    );
  });

  it('logs our own error with its stack, its context and its cause, a secret in it still masked', () => {
    const { logger, text } = capture();
    const cause = new Error(`ECONNRESET on https://api.telegram.org/bot${BOT_TOKEN}/getMe`);
    const err = new StoreError(`/data/orders.json`, `bridge said: bad token ${BROKER_TOKEN}`, undefined, {
      cause,
      context: { symbol: '600519.SH', clientOrderId: 'sg-1', token: 'named-like-a-secret' },
    });
    logger.error({ err }, 'orders could not be saved');
    expect(text()).not.toContain(BOT_TOKEN);
    expect(text()).not.toContain('br0ker-t0ken');
    expect(text()).not.toContain('named-like-a-secret');
    const line = JSON.parse(text()) as { err: Record<string, unknown> };
    expect(line.err).toMatchObject({
      type: 'StoreError',
      name: 'StoreError',
      file: '/data/orders.json',
      context: { file: '/data/orders.json', symbol: '600519.SH', clientOrderId: 'sg-1', token: '***' },
    });
    // The stack is the thrower's, with the cause's after it, both masked.
    expect(line.err.stack).toMatch(/^StoreError: \/data\/orders\.json: bridge said: bad token \*\*\*/);
    expect(line.err.stack).toContain('test/log.test.ts');
    expect(line.err.stack).toContain('caused by: Error: ECONNRESET on https://api.telegram.org/bot***/getMe');
  });

  it('never prints a known secret nested in an object, nor fields named like secrets', () => {
    const { logger, text } = capture();
    logger.info({ request: { url: `/v1/orders`, note: { echo: BROKER_TOKEN } } }, 'nested');
    logger.info({
      headers: { authorization: 'Bearer unknown-at-config-time' },
      wecom: { access_token: 'runtime-tok' },
    });
    expect(text()).not.toContain('br0ker-t0ken');
    expect(text()).not.toContain('unknown-at-config-time');
    expect(text()).not.toContain('runtime-tok');
    const [nested, fields] = text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(nested.request.note.echo).toBe('***');
    expect(fields.headers.authorization).toBe('***');
    expect(fields.wecom.access_token).toBe('***');
  });

  it('masks bot tokens and query-string credentials it was never told about', () => {
    const { logger, text } = capture('info', []);
    logger.warn(`https://api.telegram.org/bot${BOT_TOKEN}/getMe`);
    logger.warn('POST https://qyapi.weixin.qq.com/cgi-bin/message/send?access_token=AbC123xyz&debug=1');
    logger.warn('POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4');
    expect(text()).not.toContain(BOT_TOKEN);
    expect(text()).toContain('send?access_token=***&debug=1');
    expect(text()).toContain('webhook/send?key=***"');
  });

  it('takes level and secrets from a Config, and child loggers carry their module', () => {
    const config = loadConfig(
      {
        LOG_LEVEL: 'debug',
        TELEGRAM_BOT_TOKEN: BOT_TOKEN,
        TELEGRAM_ALLOWED_USERS: '123456789',
        WECOM_WEBHOOK_KEY: 'abcd1234-webhook-key',
      },
      { readDotEnv: false },
    );
    const lines: string[] = [];
    const logger = createLogger(config, {
      destination: { write: (l: string) => lines.push(l) },
      pretty: false,
    });
    child(logger, 'chat/telegram').debug(`token ${BOT_TOKEN} robot abcd1234-webhook-key`);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 20,
      module: 'chat/telegram',
      msg: 'token *** robot ***',
    });
  });

  it('redacts in pretty output too', async () => {
    const lines: string[] = [];
    const logger = createLogger(
      { level: 'info', secrets: [BOT_TOKEN] },
      { destination: { write: (l: string) => lines.push(l) }, pretty: true },
    );
    logger.info({ url: `bot${BOT_TOKEN}` }, `failed: ${BOT_TOKEN}`);
    await new Promise((r) => setTimeout(r, 50));
    expect(lines.join('')).toContain('failed: ***');
    expect(lines.join('')).toContain('bot***');
    expect(lines.join('')).not.toContain(BOT_TOKEN);
  });
});
