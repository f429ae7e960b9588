/**
 * What the engine needs from a quote source. Polling sources (tencent, sina, eastmoney) answer a
 * batch request; streaming sources (sina-ws, replay) push snapshots as they arrive.
 */
import type { Snapshot } from '../domain/types.ts';
import type { ResponseTiming } from './httpClient.ts';

export interface FetchResult {
  snapshots: Snapshot[];
  /** Requested symbols the source answered for with no usable record (unknown code, empty record). */
  missing: string[];
  /** When the answer was sent/received and the server's Date header: evidence of exchange time. */
  timing?: ResponseTiming;
}

export interface PollingFeed {
  readonly kind: 'poll';
  readonly name: string;
  /** Most codes one request may carry (Tencent 500, Sina 800, ...). */
  readonly maxBatch: number;
  /**
   * One request for at most maxBatch canonical symbols. Rejects on transport or protocol failure,
   * and when no complete answer came within `deadlineMs` (all retries included).
   */
  fetch(symbols: string[], signal?: AbortSignal, deadlineMs?: number): Promise<FetchResult>;
}

export type StreamState = 'connecting' | 'open' | 'closed' | 'ended';

export interface StreamingFeed {
  readonly kind: 'stream';
  readonly name: string;
  /**
   * Its volumes may be in lots where shares are expected (a broker terminal's book): the feed
   * manager compares it with a polling source now and then and stops it on a 100x disagreement.
   */
  readonly crossCheckUnits?: boolean;
  start(
    symbols: string[],
    onSnapshot: (s: Snapshot) => void,
    onState?: (s: StreamState, detail?: string) => void,
  ): void;
  setSymbols(symbols: string[]): void;
  stop(): Promise<void>;
}

export type QuoteFeed = PollingFeed | StreamingFeed;
