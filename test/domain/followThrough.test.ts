/**
 * The follow-through state machine on its own: explicit inputs (the current attempt as the broker
 * reports it, the market facts, the time, the config), one command out. Prices are ticks of 0.01
 * on the main board (limit-up 10.00, limit-down 8.18, as test/helpers/snapshots.ts).
 */
import { describe, expect, it } from 'vitest';
import {
  attemptId,
  CANCEL_RETRY_MS,
  CANCEL_SLOW_RETRY_MS,
  decide,
  floorFromPrevClose,
  replacementPrice,
  startChain,
  type AttemptFacts,
  type FollowChain,
  type FollowConfig,
  type FollowInput,
  type MarketFacts,
} from '../../src/domain/followThrough.ts';

const ROOT = 'sg20261123002116Ss1ab12';
const T0 = 1_000_000;
const cfg: FollowConfig = { chase: true, replaceAfterMs: 2000, replaceMax: 5, floor: null };
const broken: MarketFacts = {
  board: 'main',
  continuous: true,
  sealed: false,
  bid1: 985,
  reference: 985,
  limitUp: 1000,
  limitDown: 818,
};
const sealedM: MarketFacts = { ...broken, sealed: true, bid1: 1000, reference: 1000 };
const open = (filled = 0): AttemptFacts => ({
  status: 'open',
  filledQty: filled,
  avgFillPrice: filled ? 1000 : null,
});
const chain0 = (qty = 10_000): FollowChain =>
  startChain({
    rootId: ROOT,
    symbol: '002116.SZ',
    day: '2026-11-23',
    segment: 1,
    quantity: qty,
    price: 1000,
    placedAt: T0,
  });
const run = (c: FollowChain, over: Partial<FollowInput>) =>
  decide(c, { now: T0, attempt: open(), market: broken, config: cfg, ...over });

/** Drives a chain from resting to the broker-confirmed cancel of the first attempt. */
function toCancelled(filled: number, qty = 10_000): ReturnType<typeof decide> {
  const c1 = run(chain0(qty), { now: T0 + 2000, attempt: open(filled) });
  expect(c1.command).toEqual({ kind: 'cancel', id: ROOT });
  return run(c1.chain, {
    now: T0 + 2500,
    attempt: { status: 'cancelled', filledQty: filled, avgFillPrice: filled ? 1000 : null },
  });
}

describe('follow-through state machine', () => {
  it('derives attempt ids from the segment id and the attempt; attempt 0 is the segment id', () => {
    expect(attemptId(ROOT, 0)).toBe(ROOT);
    expect(attemptId(ROOT, 3)).toBe(`${ROOT}r3`);
    expect(() => attemptId('x'.repeat(31), 1)).toThrow(/longer than 32/);
  });

  it('rests before REPLACE_AFTER_MS, while sealed (a re-seal keeps it first in the queue), in a break, or with chase off', () => {
    const c = chain0();
    // Not yet: only the break is noted, when first seen.
    const early = run(c, { now: T0 + 1999 });
    expect(early.command).toEqual({ kind: 'none' });
    expect(early.chain.steps.map((s) => [s.kind, s.at])).toEqual([
      ['placed', T0],
      ['broke', T0 + 1999],
    ]);
    expect(run(early.chain, { now: T0 + 1999 }).changed).toBe(false);
    expect(run(c, { now: T0 + 5000, market: sealedM }).changed).toBe(false);
    expect(run(c, { now: T0 + 5000, market: { ...broken, continuous: false } }).changed).toBe(false);
    expect(run(c, { now: T0 + 5000, config: { ...cfg, chase: false } }).command).toEqual({ kind: 'none' });
    expect(run(c, { now: T0 + 5000, attempt: null }).changed).toBe(false);
  });

  it('after a break and REPLACE_AFTER_MS unfilled: one cancel of the current order, the break time noted', () => {
    const d = run(chain0(), { now: T0 + 2000 });
    expect(d.command).toEqual({ kind: 'cancel', id: ROOT });
    expect(d.chain.phase).toBe('cancelling');
    expect(d.chain.steps.map((s) => s.kind)).toEqual(['placed', 'broke', 'cancelRequested']);
    expect(d.chain.steps[1]).toMatchObject({ at: T0 + 2000, price: 985 });
  });

  it('never replaces before the broker reports the old order final; a cancel lost on the way is asked again', () => {
    const c = run(chain0(), { now: T0 + 2000 }).chain;
    expect(run(c, { now: T0 + 2100, attempt: open() }).changed).toBe(false);
    expect(run(c, { now: T0 + 2100, attempt: null }).changed).toBe(false);
    const pending: AttemptFacts = { status: 'pending_cancel', filledQty: 0, avgFillPrice: null };
    expect(run(c, { now: T0 + 2000 + CANCEL_RETRY_MS, attempt: pending }).changed).toBe(false);
    const again = run(c, { now: T0 + 2000 + CANCEL_RETRY_MS, attempt: open() });
    expect(again.command).toEqual({ kind: 'cancel', id: ROOT });
    expect(again.chain.cancelTries).toBe(2);
    // pending_cancel: the broker is on it; asked again only after CANCEL_SLOW_RETRY_MS.
    expect(run(c, { now: T0 + 2000 + CANCEL_SLOW_RETRY_MS, attempt: pending }).command).toEqual({
      kind: 'cancel',
      id: ROOT,
    });
  });

  it('a cancelled order: the whole quantity again at the best bid, under attempt 1 of the segment', () => {
    const d = toCancelled(0);
    expect(d.command).toEqual({ kind: 'place', id: `${ROOT}r1`, attempt: 1, quantity: 10_000, price: 985 });
    expect(d.chain).toMatchObject({
      phase: 'resting',
      attempt: 1,
      currentId: `${ROOT}r1`,
      placedAt: T0 + 2500,
    });
  });

  it('a partial fill of 3,000 then a break: the replacement is for 7,000; an odd-lot remainder is sold whole', () => {
    expect(toCancelled(3000).command).toMatchObject({ kind: 'place', quantity: 7000 });
    expect(toCancelled(2950).command).toMatchObject({ kind: 'place', quantity: 7050 });
  });

  it('the order filled meanwhile (the cancel came too late): done, nothing sent', () => {
    const c = run(chain0(), { now: T0 + 2000 }).chain;
    const d = run(c, {
      now: T0 + 2200,
      attempt: { status: 'filled', filledQty: 10_000, avgFillPrice: 1000 },
    });
    expect(d.command).toEqual({ kind: 'none' });
    expect(d.chain.phase).toBe('done');
  });

  it('the price: best bid, never below the floor or the limit-down, inside the cage, never above the limit-up', () => {
    expect(replacementPrice(broken, null)).toBe(985);
    expect(replacementPrice(broken, 990)).toBe(990);
    expect(replacementPrice({ ...broken, bid1: 700, reference: 700 }, null)).toBe(818);
    expect(replacementPrice(broken, 1200)).toBe(1000);
    // No bid at all, the reference is ask1 10.00: the cage (min(98% = 9.80, 10.00 - 10 ticks = 9.90)) lifts the limit-down floor.
    expect(replacementPrice({ ...broken, bid1: null, reference: 1000 }, null)).toBe(980);
    // STAR: 98% without the tick leg.
    expect(replacementPrice({ ...broken, board: 'star', bid1: null, reference: 1001 }, null)).toBe(981);
  });

  it('the floor bounds a replacement', () => {
    const d = decide(run(chain0(), { now: T0 + 2000 }).chain, {
      now: T0 + 2500,
      attempt: { status: 'cancelled', filledQty: 0, avgFillPrice: null },
      market: { ...broken, bid1: 950, reference: 950 },
      config: { ...cfg, floor: 980 },
    });
    expect(d.command).toMatchObject({ kind: 'place', price: 980 });
  });

  it('a cancelled remainder waits for continuous trading; chase turned off meanwhile stops it with the rest told', () => {
    const c = run(chain0(), { now: T0 + 2000 }).chain;
    const waiting = decide(c, {
      now: T0 + 2500,
      attempt: { status: 'cancelled', filledQty: 3000, avgFillPrice: 1000 },
      market: { ...broken, continuous: false },
      config: cfg,
    });
    expect(waiting.command).toEqual({ kind: 'none' });
    expect(waiting.chain.phase).toBe('cancelled');
    expect(run(waiting.chain, { now: T0 + 3000, attempt: null }).command.kind).toBe('place');
    const off = run(waiting.chain, { now: T0 + 3000, attempt: null, config: { ...cfg, chase: false } });
    expect(off.command).toEqual({ kind: 'none' });
    expect(off.chain.phase).toBe('stopped');
    expect(off.chain.steps.at(-1)).toMatchObject({ kind: 'stopped', qty: 7000, note: 'chase is off' });
  });

  it('at most REPLACE_MAX replacements, then it stops with what is left and leaves the last order resting', () => {
    let c = chain0();
    let now = T0;
    const sent: string[] = [];
    for (let n = 0; n < 10; n++) {
      now += 2000;
      const falling = { ...broken, bid1: 985 - n, reference: 985 - n };
      const d1 = run(c, { now, attempt: open(), market: falling });
      if (d1.command.kind !== 'cancel') {
        c = d1.chain;
        break;
      }
      sent.push(`cancel ${d1.command.id}`);
      now += 100;
      const d2 = run(d1.chain, {
        now,
        attempt: { status: 'cancelled', filledQty: 0, avgFillPrice: null },
        market: falling,
      });
      if (d2.command.kind === 'place') sent.push(`place ${d2.command.id}`);
      c = d2.chain;
    }
    expect(sent.filter((s) => s.startsWith('place'))).toEqual(
      [1, 2, 3, 4, 5].map((n) => `place ${ROOT}r${n}`),
    );
    expect(sent.filter((s) => s.startsWith('cancel'))).toHaveLength(5);
    expect(c.phase).toBe('exhausted');
    expect(c.steps.at(-1)).toMatchObject({ kind: 'exhausted', qty: 10_000 });
  });

  it('REPLACE_MAX 2: two replacements, then exhausted without a third cancel', () => {
    const two = { ...cfg, replaceMax: 2 };
    let c = chain0();
    let now = T0;
    let places = 0;
    let cancels = 0;
    for (let n = 0; n < 6; n++) {
      now += 2000;
      const falling = { ...broken, bid1: 985 - n, reference: 985 - n };
      const d1 = decide(c, { now, attempt: open(), market: falling, config: two });
      c = d1.chain;
      if (d1.command.kind !== 'cancel') break;
      cancels++;
      now += 100;
      const d2 = decide(c, {
        now,
        attempt: { status: 'cancelled', filledQty: 0, avgFillPrice: null },
        market: falling,
        config: two,
      });
      if (d2.command.kind === 'place') places++;
      c = d2.chain;
    }
    expect({ places, cancels, phase: c.phase }).toEqual({ places: 2, cancels: 2, phase: 'exhausted' });
  });

  it('a replacement at the best bid is not chased again (it is being matched); one the bids fell away from is', () => {
    const r1 = toCancelled(0).chain;
    expect(run(r1, { now: T0 + 9000 }).changed).toBe(false);
    const lower = { ...broken, bid1: 984, reference: 984 };
    expect(run(r1, { now: T0 + 9000, market: lower }).command).toEqual({ kind: 'cancel', id: `${ROOT}r1` });
  });

  it('a refused replacement, or an order cancelled at the broker by someone else, stops the chase', () => {
    const r1 = toCancelled(0).chain;
    const refused = run(r1, {
      now: T0 + 2600,
      attempt: { status: 'rejected', filledQty: 0, avgFillPrice: null, reason: 'INSUFFICIENT_POSITION' },
    });
    expect(refused.chain.phase).toBe('stopped');
    expect(refused.chain.steps.at(-1)?.note).toMatch(/INSUFFICIENT_POSITION/);
    const byHand = run(chain0(), {
      now: T0 + 500,
      attempt: { status: 'cancelled', filledQty: 0, avgFillPrice: null },
    });
    expect(byHand.chain.phase).toBe('stopped');
    expect(byHand.command).toEqual({ kind: 'none' });
  });

  it('a limit-up order that is filled in part by the maximum order size: the rest is sold after it', () => {
    const c = { ...chain0(), totalQty: 12_000, currentQty: 10_000 };
    const d = run(c, { now: T0 + 500, attempt: { status: 'filled', filledQty: 10_000, avgFillPrice: 1000 } });
    expect(d.command).toMatchObject({ kind: 'place', quantity: 2000 });
  });

  it('a finished chain changes no more', () => {
    const c = run(chain0(), { attempt: { status: 'filled', filledQty: 10_000, avgFillPrice: 1000 } }).chain;
    expect(c.phase).toBe('done');
    expect(run(c, { now: T0 + 9000 }).changed).toBe(false);
  });

  it('DEFAULT_FLOOR from the previous close rounds up to the tick', () => {
    expect(floorFromPrevClose(909, 0)).toBe(909);
    expect(floorFromPrevClose(909, 500)).toBe(955); // 954.45 -> 9.55
    expect(floorFromPrevClose(909, -300)).toBe(882); // 881.73 -> 8.82
  });
});
