/**
 * Buffers kept for answer bodies, shared by both ways a quote GET reads one (plainHttp.ts on
 * node:net, httpClient.ts' streams for https and proxies). Fresh ~300 KB buffers ten times a
 * second live outside V8's heap, and V8 answers external memory growth with full mark-compacts
 * (issue 15: 4-6 whole-heap collections per 10 s, a third of the CPU per symbol), so a steady poll
 * reads every body into one of these and the parser borrows it.
 *
 * Ten requests a cycle run at once, so about ten are in use; a buffer grown for a big answer is
 * kept up to POOL_KEEP_BYTES, a rare larger one is let go.
 */
const POOL_SIZE = 16;
const POOL_FIRST_BYTES = 64 * 1024;
export const POOL_KEEP_BYTES = 2 * 1024 * 1024;
const pool: Buffer[] = [];

export function lease(atLeast: number): Buffer {
  const b = pool.pop();
  if (b !== undefined && b.length >= atLeast) return b;
  // A buffer of its own (not a slice of Node's shared 8 KB pool), never zero-filled: every byte
  // read is one the answer wrote.
  return Buffer.allocUnsafeSlow(Math.max(atLeast, b?.length ?? POOL_FIRST_BYTES));
}

export function giveBack(b: Buffer): void {
  if (pool.length < POOL_SIZE && b.length <= POOL_KEEP_BYTES) pool.push(b);
}

/** A body read into a buffer: bytes [0, length) of `buf`; `leased` when it goes back to the pool. */
export interface Collected {
  buf: Buffer;
  length: number;
  leased: boolean;
}

/** The body passed the caller's cap (or announced that it would). */
export class BodyTooLarge extends Error {}
/** No byte for the idle timeout once the answer had begun. */
export class BodyIdle extends Error {}

/**
 * Copies `src[from, to)` onto the end of `into`, growing its buffer (up to `maxBytes`) as needed.
 * Returns false, having copied nothing, when the body would pass `maxBytes`.
 */
export function append(into: Collected, src: Buffer, from: number, to: number, maxBytes: number): boolean {
  const end = into.length + (to - from);
  if (end > maxBytes) return false;
  if (end > into.buf.length) {
    const bigger = Buffer.allocUnsafeSlow(Math.min(maxBytes, Math.max(end, into.buf.length * 2)));
    into.buf.copy(bigger, 0, 0, into.length);
    if (into.leased) giveBack(into.buf);
    into.buf = bigger;
    into.leased = true;
  }
  src.copy(into.buf, into.length, from, to);
  into.length = end;
  return true;
}
