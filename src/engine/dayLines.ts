/**
 * The lines of a day's event log, read back typed: a guard event (events.ts, as the bus published
 * it, plus the log's `ts`) or one of the day recorder's own lines. A line that is neither, or is
 * ill-formed (a torn write, a file from an older version, a hand edit), reads as undefined: the
 * history is best effort and must never stop a report.
 */
import { z } from 'zod';
import type { GuardEvent } from './events.ts';
import { guardEventSchemaFor } from './eventSchemas.ts';

/** Event-log line types the day recorder writes next to the guard events. */
export const SEAL_SAMPLE = 'SealSample';
export const CLOSE = 'Close';
export const HOLDINGS = 'Holdings';
export const COST = 'Cost';

const epochMs = z.int();

export const sealSampleLineSchema = z.object({
  ts: epochMs,
  type: z.literal(SEAL_SAMPLE),
  symbol: z.string(),
  name: z.string(),
  /** Seal on the book now, yuan; 0 while the board is open. */
  seal: z.int(),
  seg: z.int(),
  segPeak: z.int(),
  dayPeak: z.int(),
  last: z.string(),
  limitUp: z.string().optional(),
});
export type SealSampleLine = z.infer<typeof sealSampleLineSchema>;

export const closeLineSchema = z.object({
  ts: epochMs,
  type: z.literal(CLOSE),
  symbol: z.string(),
  name: z.string(),
  last: z.string(),
  prevClose: z.string(),
  limitUp: z.string().optional(),
  /** The last quote showed the board sealed at limit-up. */
  sealed: z.boolean().optional(),
});
export type CloseLine = z.infer<typeof closeLineSchema>;

export const holdingsLineSchema = z.object({
  ts: epochMs,
  type: z.literal(HOLDINGS),
  positions: z.array(
    z.object({
      symbol: z.string(),
      name: z.string().optional(),
      quantity: z.int(),
      sellable: z.int(),
      avgCost: z.string().optional(),
    }),
  ),
});
export type HoldingsLine = z.infer<typeof holdingsLineSchema>;

/** A held stock's cost at its first seal, kept for pricing its sale after it is sold out. */
export const costLineSchema = z.object({
  ts: epochMs,
  type: z.literal(COST),
  symbol: z.string(),
  quantity: z.int(),
  avgCost: z.string(),
});
export type CostLine = z.infer<typeof costLineSchema>;

export type RecorderLine = SealSampleLine | CloseLine | HoldingsLine | CostLine;
/** A guard event as the event log holds it: `ts` is the event's `at` (the file is chosen by it). */
export type LoggedGuardEvent = GuardEvent & { ts: number };
export type DayLine = LoggedGuardEvent | RecorderLine;

const recorderSchemas: Record<RecorderLine['type'], z.ZodType<RecorderLine>> = {
  [SEAL_SAMPLE]: sealSampleLineSchema,
  [CLOSE]: closeLineSchema,
  [HOLDINGS]: holdingsLineSchema,
  [COST]: costLineSchema,
};

/** One event-log line (parsed JSON) as a typed line, or undefined when it is unknown or ill-formed. */
export function readDayLine(raw: unknown): DayLine | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const line = raw as { type?: unknown; ts?: unknown; at?: unknown };
  if (typeof line.type !== 'string') return undefined;
  const recorder = Object.hasOwn(recorderSchemas, line.type)
    ? recorderSchemas[line.type as RecorderLine['type']]
    : undefined;
  if (recorder) return recorder.safeParse(raw).data;
  const event = guardEventSchemaFor(line.type);
  if (!event || !Number.isSafeInteger(line.ts)) return undefined;
  // The log writes `ts: e.at`; a line carrying only `ts` (written by hand or by a test) has the same time.
  const parsed = event.safeParse(line.at === undefined ? { ...line, at: line.ts } : raw).data;
  return parsed && { ...parsed, ts: line.ts as number };
}

/** A day's lines, typed, with how many were skipped as unknown or ill-formed. */
export function readDayLines(raws: readonly unknown[]): { lines: DayLine[]; skipped: number } {
  const lines: DayLine[] = [];
  for (const raw of raws) {
    const line = readDayLine(raw);
    if (line) lines.push(line);
  }
  return { lines, skipped: raws.length - lines.length };
}
