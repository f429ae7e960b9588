/**
 * Lots or shares? A broker terminal's book can be in lots of 100 where SealGuard expects shares
 * (QMT's bidVol/askVol/volume are lots for stocks and differ for ETFs, eastmoney-quotes-calendar.md
 * §2.1; peiqi688/miniQMT's seal rule was 100x off for exactly this). A seal computed from such a
 * book is 100x too small (a sale nobody wanted) or too large (no sale when one was due), so a
 * source whose volumes are 100x or 0.01x a web source's for the same stock must not be trusted.
 */
import type { Snapshot } from '../domain/types.ts';

/** Snapshots further apart than this are not compared: books move. */
const MAX_APART_MS = 60_000;

function factorOf(a: number, b: number): 100 | 0.01 | 1 | null {
  if (!(a > 0) || !(b > 0)) return null;
  const r = a / b;
  if (r >= 30 && r <= 300) return 100;
  if (r >= 1 / 300 && r <= 1 / 30) return 0.01;
  if (r >= 0.5 && r <= 2) return 1;
  return null; // too different to say which way, or too close to call
}

/**
 * How `a`'s volumes compare with `b`'s for the same stock: 100 (a is in shares where b is in
 * lots... or a's unit is 100x b's), 0.01, 1 (same unit), null (cannot tell). Cumulative traded
 * volume first (it moves slowly), else bid1 at the same price.
 */
export function unitFactor(a: Snapshot, b: Snapshot): 100 | 0.01 | 1 | null {
  if (a.symbol !== b.symbol || Math.abs(a.ts - b.ts) > MAX_APART_MS) return null;
  const byVolume = factorOf(a.volume, b.volume);
  if (byVolume !== null) return byVolume;
  const ab = a.bids?.[0];
  const bb = b.bids?.[0];
  if (ab && bb && ab[0] === bb[0]) return factorOf(ab[1], bb[1]);
  return null;
}

export interface UnitVerdict {
  /** 100 or 0.01 when most comparable stocks disagree by that factor; null when the units agree or nothing compared. */
  factor: 100 | 0.01 | null;
  compared: number;
  /** A stock that shows it, for the message. */
  example?: string;
}

/** Compares `checked`'s snapshots with `reference`'s, stock by stock. */
export function compareUnits(checked: Snapshot[], reference: Snapshot[]): UnitVerdict {
  const ref = new Map(reference.map((s) => [s.symbol, s]));
  let compared = 0;
  const off = { 100: [] as string[], 0.01: [] as string[] };
  for (const s of checked) {
    const r = ref.get(s.symbol);
    if (!r) continue;
    const f = unitFactor(s, r);
    if (f === null) continue;
    compared++;
    if (f !== 1) off[f].push(s.symbol);
  }
  for (const f of [100, 0.01] as const) {
    if (off[f].length > 0 && off[f].length * 2 > compared) {
      return { factor: f, compared, example: off[f][0]! };
    }
  }
  return { factor: null, compared };
}
