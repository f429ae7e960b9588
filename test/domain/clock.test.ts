import { describe, expect, it } from 'vitest';
import { ExchangeClock, SimClock, SystemClock, clockFromSpec } from '../../src/domain/clock.ts';
import { InputError } from '../../src/domain/types.ts';

function fakeWall(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('SimClock', () => {
  it('starts where told and advances with the injected wall time', () => {
    const wall = fakeWall();
    const c = new SimClock(5_000, wall.now);
    expect(c.now()).toBe(5_000);
    wall.advance(1_500);
    expect(c.now()).toBe(6_500);
  });
  it('runs at a chosen speed and keeps elapsed time across speed changes', () => {
    const wall = fakeWall();
    const c = new SimClock(0, wall.now, 10);
    wall.advance(100);
    expect(c.now()).toBe(1_000);
    c.setSpeed(0);
    wall.advance(5_000);
    expect(c.now()).toBe(1_000);
    c.setSpeed(2);
    wall.advance(10);
    expect(c.now()).toBe(1_020);
  });
  it('can be set to another instant and runs on from there', () => {
    const wall = fakeWall();
    const c = new SimClock(0, wall.now);
    wall.advance(50);
    c.set(9_000);
    expect(c.now()).toBe(9_000);
    wall.advance(1);
    expect(c.now()).toBe(9_001);
  });
  it('refuses a negative or non-finite speed', () => {
    expect(() => new SimClock(0, Date.now, -1)).toThrow(InputError);
    expect(() => new SimClock(0, Date.now).setSpeed(NaN)).toThrow(InputError);
  });
});

describe('clockFromSpec (SEALGUARD_CLOCK)', () => {
  it('is the system clock when unset or blank', () => {
    const wall = fakeWall(42);
    for (const spec of [undefined, '', '  ']) {
      const c = clockFromSpec(spec, wall.now);
      expect(c).toBeInstanceOf(SystemClock);
      expect(c.now()).toBe(42);
    }
  });
  it('starts a simulated clock at the given exchange time, then runs in real time', () => {
    const wall = fakeWall();
    const c = clockFromSpec('2026-11-24T10:00:00+08:00', wall.now);
    expect(c).toBeInstanceOf(SimClock);
    expect(c.now()).toBe(Date.UTC(2026, 10, 24, 2, 0, 0));
    wall.advance(3_000);
    expect(c.now()).toBe(Date.UTC(2026, 10, 24, 2, 0, 3));
  });
  it.each(['junk', 'now', '2026-11-24', '1700000000000', '2026-13-01T10:00:00+08:00'])(
    'refuses %j',
    (spec) => {
      expect(() => clockFromSpec(spec, Date.now)).toThrow(InputError);
      expect(() => clockFromSpec(spec, Date.now)).toThrow(`invalid SEALGUARD_CLOCK "${spec}"`);
    },
  );
});

/**
 * A world with three clocks the test moves: the exchange's true time, the host's wall clock
 * (which may be off or stepped) and a monotonic clock. A quote source answers `rtt` ms after the
 * request with a Date header (floored to the second, as HTTP does) and quotes `lag` ms old,
 * floored to the second as Tencent/Sina stamps are.
 */
function world(hostOffsetMs: number) {
  const w = { exchange: Date.parse('2026-11-23T10:00:00.300+08:00'), mono: 5_000, hostOffset: hostOffsetMs };
  const wall = () => w.exchange + w.hostOffset;
  const mono = () => w.mono;
  const advance = (ms: number) => {
    w.exchange += ms;
    w.mono += ms;
  };
  const answer = (c: ExchangeClock, opts: { lag?: number; date?: boolean; quote?: number | null } = {}) => {
    const sentAt = w.mono;
    advance(20);
    const sec = (t: number) => t - (t % 1000);
    c.observe({
      sentAt,
      receivedAt: w.mono,
      serverDate: opts.date === false ? null : sec(w.exchange - 10),
      newestQuote: opts.quote !== undefined ? opts.quote : sec(w.exchange - (opts.lag ?? 1500)),
    });
  };
  return { w, wall, mono, advance, answer };
}

describe('ExchangeClock (the live market clock)', () => {
  it('follows the exchange when the host clock is 60 s behind, after three answers, and measures the skew', () => {
    const x = world(-60_000);
    const c = new ExchangeClock(x.wall, x.mono);
    expect(c.now()).toBe(x.w.exchange - 60_000);
    x.answer(c);
    x.advance(1000);
    x.answer(c);
    expect(c.following()).toBe(false); // two answers are not enough to move the clock
    x.advance(1000);
    x.answer(c);
    expect(c.following()).toBe(true);
    expect(Math.abs(c.now() - x.w.exchange)).toBeLessThan(1000);
    expect(Math.round(c.skewMs()! / 1000)).toBe(60);
  });

  it('a host 20 s ahead cannot be seen from quote times (they only push forward); the Date header pulls the clock back', () => {
    const x = world(+20_000);
    const c = new ExchangeClock(x.wall, x.mono);
    for (let i = 0; i < 3; i++) {
      x.answer(c, { date: false });
      x.advance(1000);
    }
    expect(c.following()).toBe(false);
    for (let i = 0; i < 3; i++) {
      x.answer(c);
      x.advance(1000);
    }
    expect(c.following()).toBe(true);
    expect(Math.abs(c.now() - x.w.exchange)).toBeLessThan(1000);
    expect(Math.round(c.skewMs()! / 1000)).toBe(-20);
  });

  it('stays put while the host agrees with the exchange', () => {
    const x = world(0);
    const c = new ExchangeClock(x.wall, x.mono);
    for (let i = 0; i < 10; i++) {
      x.answer(c);
      x.advance(1000);
    }
    expect(c.following()).toBe(false);
    expect(c.now()).toBe(x.w.exchange);
    expect(Math.abs(c.skewMs()!)).toBeLessThan(100);
  });

  it('a forward step of the wall clock moves neither the market clock nor anything on it', () => {
    const x = world(0);
    const c = new ExchangeClock(x.wall, x.mono);
    const before = c.now();
    x.w.hostOffset += 600_000; // someone sets the host 10 minutes ahead
    x.advance(1000);
    expect(c.now()).toBe(before + 1000);
    for (let i = 0; i < 5; i++) {
      x.answer(c);
      x.advance(1000);
    }
    expect(c.following()).toBe(false);
    expect(Math.round(c.skewMs()! / 1000)).toBe(-600);
  });

  it('a backward step of 30 s changes nothing and is reported as the host being 30 s behind', () => {
    const x = world(0);
    const c = new ExchangeClock(x.wall, x.mono);
    x.w.hostOffset -= 30_000;
    for (let i = 0; i < 4; i++) {
      x.answer(c);
      x.advance(1000);
    }
    expect(c.now()).toBe(x.w.exchange);
    expect(Math.round(c.skewMs()! / 1000)).toBe(30);
  });

  it('one answer with a bogus timestamp (a day ahead) does not move the clock', () => {
    const x = world(0);
    const c = new ExchangeClock(x.wall, x.mono);
    for (let i = 0; i < 4; i++) {
      x.answer(c, i === 1 ? { quote: x.w.exchange + 86_400_000 } : {});
      x.advance(1000);
    }
    expect(c.following()).toBe(false);
    expect(c.now()).toBe(x.w.exchange);
  });

  it('a quiet stock whose time does not move (Sina) never drags the clock back', () => {
    const x = world(0);
    const c = new ExchangeClock(x.wall, x.mono);
    const frozen = x.w.exchange - 240_000;
    for (let i = 0; i < 5; i++) {
      x.answer(c, { date: false, quote: frozen });
      x.advance(1000);
    }
    expect(c.now()).toBe(x.w.exchange);
  });

  it('is not measured without recent answers', () => {
    const x = world(-60_000);
    const c = new ExchangeClock(x.wall, x.mono, { windowMs: 10_000 });
    for (let i = 0; i < 3; i++) x.answer(c);
    expect(c.measured()).toBe(true);
    x.advance(11_000);
    expect(c.measured()).toBe(false);
    expect(c.skewMs()).toBeNull();
  });
});
