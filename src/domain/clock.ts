/**
 * The one notion of "now" for the engine. Wall time is injected so the domain never reads it and a
 * simulated day (demo, replay, tests) runs through exactly the same code as a live one.
 */
import { InputError } from './types.ts';
import { parseExchangeTime } from './time.ts';

export interface Clock {
  now(): number;
}

export class SystemClock implements Clock {
  constructor(private readonly wallNow: () => number) {}
  now(): number {
    return this.wallNow();
  }
}

/** Starts at `startMs` and advances `speed` simulated ms per wall ms. */
export class SimClock implements Clock {
  private baseSim: number;
  private baseWall: number;
  private speed: number;

  constructor(
    startMs: number,
    private readonly wallNow: () => number,
    speed = 1,
  ) {
    checkSpeed(speed);
    if (!Number.isFinite(startMs)) throw new InputError(`invalid clock start ${startMs}`);
    this.baseSim = startMs;
    this.baseWall = wallNow();
    this.speed = speed;
  }

  now(): number {
    return this.baseSim + Math.floor((this.wallNow() - this.baseWall) * this.speed);
  }

  set(ms: number): void {
    if (!Number.isFinite(ms)) throw new InputError(`invalid clock time ${ms}`);
    this.baseSim = ms;
    this.baseWall = this.wallNow();
  }

  /** Rebased first, so time already elapsed keeps the old speed. 0 freezes the clock. */
  setSpeed(speed: number): void {
    checkSpeed(speed);
    this.set(this.now());
    this.speed = speed;
  }
}

function checkSpeed(speed: number): void {
  if (!Number.isFinite(speed) || speed < 0)
    throw new InputError(`invalid clock speed ${speed}: must be >= 0`);
}

/**
 * SEALGUARD_CLOCK: "2026-11-24T10:00:00+08:00" starts a SimClock there that then runs in real
 * time; unset or blank means the system clock; anything else is refused, never ignored.
 */
export function clockFromSpec(spec: string | undefined, wallNow: () => number): Clock {
  if (spec === undefined || spec.trim() === '') return new SystemClock(wallNow);
  let start: number;
  try {
    start = parseExchangeTime(spec);
  } catch {
    throw new InputError(
      `invalid SEALGUARD_CLOCK "${spec}": expected an ISO time such as 2026-11-24T10:00:00+08:00`,
    );
  }
  return new SimClock(start, wallNow);
}
