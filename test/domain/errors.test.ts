/**
 * Every error SealGuard throws of its own is a SealGuardError with its own name, so a catch can
 * tell ours from a library's and a log line names the class; messages stay as they were.
 */
import { describe, expect, it } from 'vitest';
import { BrokerError } from '../../src/broker/broker.ts';
import { WecomApiError } from '../../src/chat/wecom/app.ts';
import { WecomCryptoError } from '../../src/chat/wecom/crypto.ts';
import { XmlError } from '../../src/chat/wecom/xml.ts';
import { ConfigError } from '../../src/config.ts';
import { CalendarError } from '../../src/domain/calendar.ts';
import { SealGuardError } from '../../src/domain/errors.ts';
import { InputError } from '../../src/domain/types.ts';
import { NotWatchedError, UnknownCodeError } from '../../src/engine/watchBook.ts';
import { QuoteHttpError } from '../../src/market/httpClient.ts';
import { BodyError } from '../../src/net/boundedBody.ts';
import { StoreError } from '../../src/store/errors.ts';
import { LockError } from '../../src/store/lock.ts';

describe('SealGuardError', () => {
  it('carries context and cause, and takes the subclass name', () => {
    class Probe extends SealGuardError {}
    const cause = new Error('disk full');
    const e = new Probe('save failed', { cause, context: { file: 'orders.json' } });
    expect(e).toBeInstanceOf(Error);
    expect([e.name, e.message, e.cause, e.context]).toEqual([
      'Probe',
      'save failed',
      cause,
      { file: 'orders.json' },
    ]);
    expect(new Probe('plain').context).toBeUndefined();
  });

  it('is the base of every project error, each keeping its name and message', () => {
    const errors: [SealGuardError, string, string][] = [
      [new InputError('bad code'), 'InputError', 'bad code'],
      [new BrokerError('LOT_SIZE', 'not a lot', false), 'BrokerError', 'not a lot'],
      [
        new StoreError('/d/x.json', 'not JSON'),
        'StoreError',
        '/d/x.json: not JSON. The file was left untouched.',
      ],
      [new CalendarError('no year'), 'CalendarError', 'no year'],
      [new ConfigError(['A: bad']), 'ConfigError', 'Invalid configuration:\n  - A: bad'],
      [new QuoteHttpError('tencent', 'HTTP 502', 502, 'status'), 'QuoteHttpError', 'HTTP 502'],
      [new LockError('held by 12'), 'LockError', 'held by 12'],
      [new BodyError(413, 'too large'), 'BodyError', 'too large'],
      [new XmlError('unclosed'), 'XmlError', 'unclosed'],
      [new WecomCryptoError(-40001, 'bad signature'), 'WecomCryptoError', 'bad signature'],
      [
        new WecomApiError('send', 40014, 'invalid token'),
        'WecomApiError',
        'WeCom send failed: errcode 40014 invalid token',
      ],
      [new UnknownCodeError('no such code'), 'UnknownCodeError', 'no such code'],
      [new NotWatchedError('not watched'), 'NotWatchedError', 'not watched'],
    ];
    for (const [e, name, message] of errors) {
      expect(e, name).toBeInstanceOf(SealGuardError);
      expect([e.name, e.message]).toEqual([name, message]);
    }
  });

  it('keeps the file of a store error in its context', () => {
    expect(new StoreError('/d/x.json', 'not JSON').context).toEqual({ file: '/d/x.json' });
  });
});
