/**
 * Wall-clock time for the WeCom protocol side (rate windows, token lifetimes, signature windows).
 * WeCom's limits run on real time even when SEALGUARD_CLOCK simulates the market, so this is never
 * the market clock. Injectable so tests can step a minute without waiting one.
 */
export interface WallClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: WallClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
