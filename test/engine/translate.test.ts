/** Monitor events as the guard tells them: decimal prices, the quote's name, triggers left to the executor. */
import { describe, expect, it } from 'vitest';
import { parseSymbol } from '../../src/domain/symbols.ts';
import { guardEventOf } from '../../src/engine/translate.ts';
import { LIMITS, SYMBOL, opened, sealed, t } from '../helpers/snapshots.ts';

const sec = parseSymbol(SYMBOL);

describe('guardEventOf', () => {
  it('a seal formed: the limit-up as text, the monitor time, the quote name', () => {
    const s = sealed(t('10:00:03'), 50_000_000);
    const e = guardEventOf(
      { type: 'SealFormed', symbol: SYMBOL, at: t('10:00:00'), segment: 1, sealAmount: 50_000_000 },
      { sec, snapshot: s, limits: LIMITS },
      t('10:00:05'),
    );
    expect(e).toEqual({
      type: 'SealFormed',
      at: t('10:00:00'),
      symbol: SYMBOL,
      name: '中国海诚',
      segment: 1,
      sealAmount: 50_000_000,
      limitUp: '10.00',
    });
  });

  it('a break: best bid and last from the quote; no limits on a no-limit day leave limitUp empty', () => {
    const s = opened(t('10:01:00'), 1000, 998);
    const e = guardEventOf(
      {
        type: 'BoardBroken',
        symbol: SYMBOL,
        at: t('10:01:00'),
        segment: 2,
        bid1: 998,
        last: 1000,
        triggered: true,
      },
      { sec, snapshot: s, limits: null },
      t('10:01:00'),
    );
    expect(e).toMatchObject({
      type: 'BoardBroken',
      bid1: '9.98',
      last: '10.00',
      triggered: true,
      segment: 2,
    });
    const weak = guardEventOf(
      {
        type: 'SealWeakening',
        symbol: SYMBOL,
        at: t('10:01:00'),
        segment: 2,
        sealAmount: 1,
        segmentPeak: 2,
        dropPct: 50,
      },
      { sec, snapshot: s, limits: null },
      t('10:01:00'),
    );
    expect(weak).toMatchObject({ type: 'SealWeakening', limitUp: '' });
  });
});
