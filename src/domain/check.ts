/**
 * What a health check reports, the same for every adapter (brokers, quote sources, chat): `doctor`
 * asks each adapter's own check and prints one line per result, with the fix under a failure.
 */
import type { Clock } from './clock.ts';

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
  /** What the user should do, for a failure. */
  fix?: string;
}

export interface CheckOptions {
  /** Deadline of each network call, ms. */
  timeoutMs: number;
  /** The market clock (brokers stamp requests with it). */
  clock: Clock;
}
