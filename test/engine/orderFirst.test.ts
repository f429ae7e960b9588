/**
 * The order before the alert (issue 15, item 4): on a trigger in auto mode the broker call starts
 * before any channel sees the SellTriggered that announces it; the alert follows, also when the
 * broker hangs. The broker here is the real paper broker, wrapped only to note when placeSell is
 * called (and, in one case, to never answer, as a hung bridge would not).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Broker, Order, SellRequest } from '../../src/broker/broker.ts';
import type { PaperBroker } from '../../src/broker/paper.ts';
import { EventBus } from '../../src/engine/bus.ts';
import type { GuardEvent } from '../../src/engine/events.ts';
import { sealedRun } from '../helpers/snapshots.ts';
import { harness, type Harness } from './harness.ts';

const open: Harness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** 1亿 draining to 1500万: the fifth snapshot is below the 2000万 threshold. */
const DRAIN = sealedRun('10:00:00', 3, [100_000_000, 100_000_000, 60_000_000, 30_000_000, 15_000_000]);

function recording(paper: PaperBroker, timeline: string[], hang = false): Broker {
  return new Proxy(paper, {
    get(target, prop, receiver) {
      if (prop === 'placeSell')
        return (req: SellRequest): Promise<Order> => {
          timeline.push(`placeSell ${req.symbol}`);
          return hang ? new Promise<Order>(() => {}) : target.placeSell(req);
        };
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

describe('EventBus.hold', () => {
  it('queues while held, counts holds, delivers in order once all are released', async () => {
    const bus = new EventBus();
    const got: string[] = [];
    bus.subscribe('t', (e) => {
      got.push(e.type === 'Info' ? e.text : e.type);
    });
    const a = bus.hold();
    const b = bus.hold();
    bus.publish({ type: 'Info', at: 0, text: 'one' });
    bus.publish({ type: 'Info', at: 0, text: 'two' });
    await sleep(10);
    a();
    a(); // idempotent: one release per hold
    await sleep(10);
    expect(got).toEqual([]);
    expect(bus.held).toBe(1);
    b();
    await bus.idle();
    expect(got).toEqual(['one', 'two']);
  });

  it('releases by itself after its cap, so a hung writer never silences the channels', async () => {
    const bus = new EventBus();
    const got: number[] = [];
    bus.subscribe('t', (e) => {
      got.push(e.at);
    });
    const t0 = performance.now();
    bus.hold(40);
    bus.publish({ type: 'Info', at: 1, text: 'x' });
    while (got.length === 0 && performance.now() - t0 < 1000) await sleep(5);
    expect(got).toEqual([1]);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(35);
    expect(bus.held).toBe(0);
  });
});

describe('order before alert', () => {
  it('auto mode: placeSell is called before any subscriber receives the SellTriggered', async () => {
    const timeline: string[] = [];
    const h = await harness({ wrap: (p) => recording(p, timeline) });
    open.push(h);
    h.bus.subscribe('channel', (e: GuardEvent) => {
      if (e.type === 'SellTriggered' || e.type === 'OrderPlaced') timeline.push(e.type);
    });
    for (const s of DRAIN) await h.feed(s);
    expect(timeline).toEqual(['placeSell 002116.SZ', 'SellTriggered', 'OrderPlaced']);
  });

  it('a broker that never answers: the alert still goes out, after the call was made', async () => {
    const timeline: string[] = [];
    const h = await harness({ wrap: (p) => recording(p, timeline, true) });
    open.push(h);
    h.bus.subscribe('channel', (e: GuardEvent) => {
      if (e.type === 'SellTriggered') timeline.push(`${e.type} ${e.mode}`);
    });
    for (const s of DRAIN.slice(0, -1)) await h.feed(s);
    h.clock.set(DRAIN.at(-1)!.ts);
    // Not awaited: the cycle waits on the hung broker; the channels must not.
    void h.engine.onSnapshots([DRAIN.at(-1)!]);
    const t0 = performance.now();
    while (timeline.length < 2 && performance.now() - t0 < 2000) await sleep(5);
    expect(timeline).toEqual(['placeSell 002116.SZ', 'SellTriggered auto']);
  });
});
