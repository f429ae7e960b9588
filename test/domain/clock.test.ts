import { describe, expect, it } from 'vitest';
import { SimClock, SystemClock, clockFromSpec } from '../../src/domain/clock.ts';
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
