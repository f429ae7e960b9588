/** The trigger decision on its own: which condition wins, what the alert shows, and what is not asked. */
import { describe, expect, it } from 'vitest';
import { decide, type SellGates } from '../../src/engine/decide.ts';

const held = { sellable: 10_000, sellQuantity: 10_000 };

function gates(over: Partial<Record<keyof SellGates, unknown>> = {}, asked: string[] = []): SellGates {
  const g = (k: keyof SellGates, v: unknown) => () => {
    asked.push(k);
    return v as never;
  };
  return {
    brokerUnavailable: g('brokerUnavailable', over.brokerUnavailable),
    paused: g('paused', over.paused ?? false),
    sellBlocked: g('sellBlocked', over.sellBlocked),
    uncertainSell: g('uncertainSell', over.uncertainSell),
    liveSell: g('liveSell', over.liveSell),
  };
}

describe('decide', () => {
  it('sells in auto mode, asks in confirm mode, only tells in alert mode (asking nothing)', () => {
    expect(decide('auto', held, gates())).toEqual({ kind: 'sell' });
    expect(decide('confirm', held, gates())).toEqual({ kind: 'confirm' });
    const asked: string[] = [];
    expect(decide('alert', held, gates({}, asked))).toEqual({
      kind: 'tell',
      mode: 'alert',
      reason: 'alert mode: message only',
    });
    expect(asked).toEqual([]);
  });

  it('an unreachable broker is said before the quantity; T+1 and odd lots are told apart', () => {
    expect(
      decide('auto', { sellable: 0, sellQuantity: 0 }, gates({ brokerUnavailable: 'logged out' })),
    ).toEqual({ kind: 'tell', mode: 'auto', reason: 'logged out' });
    expect(decide('auto', { sellable: 0, sellQuantity: 0 }, gates()).kind).toBe('tell');
    expect(decide('confirm', { sellable: 0, sellQuantity: 0 }, gates())).toMatchObject({
      reason: 'nothing sellable (not held, or bought today: T+1)',
    });
    expect(decide('auto', { sellable: 50, sellQuantity: 0 }, gates())).toMatchObject({
      reason: 'sellable quantity is not a valid lot',
    });
  });

  it('pause turns auto into alert but leaves confirm asking; the calendar blocks both as alert', () => {
    expect(decide('auto', held, gates({ paused: true }))).toEqual({
      kind: 'tell',
      mode: 'alert',
      reason: 'automatic selling is paused (/resume to re-enable)',
    });
    expect(decide('confirm', held, gates({ paused: true }))).toEqual({ kind: 'confirm' });
    expect(decide('confirm', held, gates({ sellBlocked: 'provisional day' }))).toEqual({
      kind: 'tell',
      mode: 'alert',
      reason: 'provisional day',
    });
  });

  it('an uncertain earlier sell wins over a live chain, and the chain is then not even asked', () => {
    const asked: string[] = [];
    expect(decide('auto', held, gates({ uncertainSell: 'earlier', liveSell: 'chain' }, asked))).toEqual({
      kind: 'tell',
      mode: 'auto',
      reason: 'earlier',
    });
    expect(asked).not.toContain('liveSell');
    expect(decide('confirm', held, gates({ liveSell: 'chain' }))).toEqual({
      kind: 'tell',
      mode: 'confirm',
      reason: 'chain',
    });
  });
});
