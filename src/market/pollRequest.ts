/**
 * What the three polling adapters share around their parsers: keep invalid codes out of the
 * request (one bad code can break a whole Tencent batch, quotes.md §1.2), and account for every
 * requested symbol as either a snapshot or missing.
 */
import type { Security } from '../domain/types.ts';
import type { FetchResult } from './feed.ts';
import { securityOf } from './codes.ts';
import type { ParseOutcome } from './quoteBody.ts';

export function splitValid(symbols: string[]): { valid: Security[]; invalid: string[] } {
  const valid: Security[] = [];
  const invalid: string[] = [];
  const seen = new Set<string>();
  for (const id of symbols) {
    if (seen.has(id)) continue;
    seen.add(id);
    const sec = securityOf(id);
    if (sec) valid.push(sec);
    else invalid.push(id);
  }
  return { valid, invalid };
}

/** Snapshots for requested symbols only; every other requested symbol is missing. */
export function toFetchResult(outcome: ParseOutcome, requested: Security[], invalid: string[]): FetchResult {
  // The usual answer: one snapshot per requested code, in the order asked. Checked in one pass,
  // without the two sets the general case needs (this runs for every batch of every poll).
  const snaps = outcome.snapshots;
  if (snaps.length === requested.length) {
    let inOrder = true;
    for (let i = 0; i < snaps.length; i++) {
      if (snaps[i]!.symbol !== requested[i]!.id) {
        inOrder = false;
        break;
      }
    }
    if (inOrder) return { snapshots: snaps, missing: invalid.length > 0 ? [...invalid] : [] };
  }
  const wanted = new Set(requested.map((s) => s.id));
  const snapshots = outcome.snapshots.filter((s) => wanted.has(s.symbol));
  const got = new Set(snapshots.map((s) => s.symbol));
  const missing = [...invalid, ...requested.filter((s) => !got.has(s.id)).map((s) => s.id)];
  return { snapshots, missing };
}

export function checkBatch(source: string, symbols: string[], maxBatch: number): void {
  if (symbols.length > maxBatch) {
    throw new RangeError(`${source}: ${symbols.length} symbols in one request, at most ${maxBatch}`);
  }
}
