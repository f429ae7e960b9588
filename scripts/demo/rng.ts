/** mulberry32: a tiny seeded PRNG, so the demo day is byte-for-byte reproducible. */
export type Rng = () => number;

export function seeded(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Integer in [lo, hi]. */
export function randInt(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

/** Roughly normal (mean 0, sd 1): sum of uniforms, good enough for price noise. */
export function gauss(rng: Rng): number {
  return rng() + rng() + rng() + rng() + rng() + rng() - 3;
}
