/**
 * The engine's one view of "where quotes come from": the live feed manager (polling sources with
 * failover, an optional stream) and the demo's replay both look like this, so the engine is
 * wired the same way for a live run, the demo, the bench and the tests.
 */
import type { Clock } from '../domain/clock.ts';
import type { Snapshot } from '../domain/types.ts';
import type { ReplayFeed } from './replay.ts';

export interface SourceStatus {
  name: string;
  active: boolean;
  ok: boolean;
  /** Age of the newest quote from this source by the market clock, ms; undefined when none yet. */
  lastQuoteAgeMs?: number;
  lastError?: string;
}

/** Where a source delivers: the engine (Engine.onSnapshots). */
export interface SnapshotSink {
  /** One batch of snapshots (a poll request's answer, or one pushed snapshot). Must not throw. */
  onSnapshots(batch: Snapshot[]): void;
}

export interface QuoteSource {
  /** Begins delivering batches of snapshots for `symbols` (a poll cycle, or one pushed snapshot). */
  start(symbols: string[], sink: SnapshotSink): void;
  /** Replaces the symbols asked for. */
  setSymbols(symbols: string[]): void;
  /** Resolves once nothing more will be delivered. */
  stop(): Promise<void>;
  /** Per underlying source, for /status. */
  status(): SourceStatus[];
  /** Resolves when a finite source (a replayed day) has played to its end. */
  readonly finished?: Promise<void>;
}

/** The demo's replayed day as a quote source; each replayed snapshot is a batch of one. */
export function replaySource(
  replay: ReplayFeed,
  o: { clock: Clock; onState?: (state: string, detail?: string) => void },
): QuoteSource {
  let newest = 0;
  return {
    finished: replay.finished,
    start(symbols, sink) {
      replay.start(
        symbols,
        (s) => {
          if (s.ts > newest) newest = s.ts;
          sink.onSnapshots([s]);
        },
        o.onState,
      );
    },
    setSymbols: (symbols) => replay.setSymbols(symbols),
    stop: () => replay.stop(),
    status: () => [
      {
        name: 'replay',
        active: true,
        ok: true,
        ...(newest ? { lastQuoteAgeMs: o.clock.now() - newest } : {}),
      },
    ],
  };
}
