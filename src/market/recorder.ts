/**
 * The recording format: one normalized Snapshot per line (JSON Lines). The recorder appends; the
 * replay feed reads the same lines back through `snapshotSchema`.
 */
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { z } from 'zod';
import type { Level, Snapshot } from '../domain/types.ts';

const count = z.number().int().nonnegative();
const level = z.tuple([count, count]);

export const snapshotSchema = z.object({
  symbol: z.string().regex(/^\d{6}\.(SH|SZ|BJ)$/, 'expected a canonical id like "002116.SZ"'),
  name: z.string(),
  source: z.string().min(1),
  ts: count,
  status: z.enum(['normal', 'suspended', 'delisted', 'not-listed']),
  decimals: z.union([z.literal(2), z.literal(3)]),
  last: count,
  prevClose: count,
  open: count,
  high: count,
  low: count,
  bids: z.array(level),
  asks: z.array(level),
  volume: count,
  amount: count,
  limitUp: count.nullable().optional(),
  limitDown: count.nullable().optional(),
  floatMarketCap: count.optional(),
});

// A recording must round-trip into the domain type; this fails to compile if the two drift apart.
const _sameShape: (s: z.infer<typeof snapshotSchema>) => Snapshot = (s) => s;

/** Parses one recorded line; throws a message naming what is wrong (the caller adds the line number). */
export function parseSnapshotLine(line: string): Snapshot {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    throw new Error('not JSON');
  }
  const parsed = snapshotSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') + ': ' : '';
    throw new Error(`not a snapshot (${where}${issue?.message ?? 'invalid'})`);
  }
  return parsed.data;
}

/** One JSON line with the fields in the Snapshot type's order, so recordings diff cleanly. */
export function snapshotToJson(s: Snapshot): string {
  const out: Record<string, unknown> = {
    symbol: s.symbol,
    name: s.name,
    source: s.source,
    ts: s.ts,
    status: s.status,
    decimals: s.decimals,
    last: s.last,
    prevClose: s.prevClose,
    open: s.open,
    high: s.high,
    low: s.low,
    bids: s.bids.map(copyLevel),
    asks: s.asks.map(copyLevel),
    volume: s.volume,
    amount: s.amount,
  };
  if (s.limitUp !== undefined) out.limitUp = s.limitUp;
  if (s.limitDown !== undefined) out.limitDown = s.limitDown;
  if (s.floatMarketCap !== undefined) out.floatMarketCap = s.floatMarketCap;
  return JSON.stringify(out);
}

function copyLevel(l: Level): Level {
  return [l[0], l[1]];
}

/**
 * Whether two snapshots of one symbol show the same market. The timestamp is ignored: polling
 * faster than the exchange publishes (3 s) returns the same record again, and some sources move
 * the time on records where nothing else changed (suspended stocks).
 */
export function sameMarket(a: Snapshot, b: Snapshot): boolean {
  return snapshotToJson({ ...a, ts: 0, source: '' }) === snapshotToJson({ ...b, ts: 0, source: '' });
}

/** Appends snapshots to a JSONL file, skipping any that repeat the symbol's last written market. */
export class SnapshotRecorder {
  private readonly lastWritten = new Map<string, Snapshot>();
  private failure: Error | undefined;
  private count = 0;

  private constructor(
    readonly path: string,
    private readonly out: WriteStream,
  ) {
    out.on('error', (err) => {
      this.failure = err;
    });
  }

  /** Opens (creating or appending to) the file; rejects with a message naming the path. */
  static async open(path: string): Promise<SnapshotRecorder> {
    const out = createWriteStream(path, { flags: 'a' });
    try {
      await once(out, 'open');
    } catch (err) {
      throw new Error(`cannot write recording ${path}: ${(err as Error).message}`, { cause: err });
    }
    return new SnapshotRecorder(path, out);
  }

  /** Snapshots written so far. */
  get written(): number {
    return this.count;
  }

  /** Writes the snapshot unless it repeats the last one written for its symbol; true when written. */
  write(s: Snapshot): boolean {
    if (this.failure) throw new Error(`cannot write recording ${this.path}: ${this.failure.message}`);
    const prev = this.lastWritten.get(s.symbol);
    if (prev && sameMarket(prev, s)) return false;
    this.lastWritten.set(s.symbol, s);
    this.out.write(snapshotToJson(s) + '\n');
    this.count++;
    return true;
  }

  /** Flushes everything written and closes the file. */
  async close(): Promise<void> {
    if (!this.out.closed) {
      const closed = once(this.out, 'close');
      this.out.end();
      await closed.catch(() => undefined);
    }
    if (this.failure) throw new Error(`cannot write recording ${this.path}: ${this.failure.message}`);
  }
}
