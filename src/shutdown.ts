/**
 * Stopping within a deadline. A stop step waits on the outside world (a broker call in flight, a
 * Telegram long poll, messages still queued for a chat server that is gone); with those servers
 * down an unbounded wait hung the process until a second SIGTERM. So each step gets a bounded
 * time and all of them share one budget; a step that overruns is logged and left behind. Nothing
 * durable depends on a step finishing: intents are persisted before any broker call and stores are
 * written atomically, so the next start reconciles whatever was cut short.
 */
import type { Logger } from './log.ts';

export interface StopStep {
  name: string;
  run: () => Promise<void> | void;
  /** Upper bound for this step (ms). */
  maxMs: number;
  /** Runs even when the shared budget is spent (local, quick work such as a last file write). */
  always?: boolean;
}

/** How long `app.stop()` may take in all; the CLI's hard exit comes later than this. */
export const STOP_BUDGET_MS = 3_000;
/** Bound for a step marked `always` once the budget is spent. */
const ALWAYS_MS = 300;

export async function runStopSteps(
  steps: StopStep[],
  log: Logger,
  budgetMs = STOP_BUDGET_MS,
  now: () => number = Date.now,
): Promise<void> {
  const deadline = now() + budgetMs;
  for (const step of steps) {
    const left = deadline - now();
    if (left <= 0 && !step.always) {
      log.warn({ step: step.name }, 'shutdown: time is up, step skipped');
      continue;
    }
    const ms = left > 0 ? Math.min(step.maxMs, left) : ALWAYS_MS;
    const outcome = await within(step.run, ms);
    if (outcome === 'timeout')
      log.warn({ step: step.name, ms }, 'shutdown: step did not finish in time, left behind');
    else if (outcome !== 'ok') log.warn({ step: step.name, err: outcome }, 'shutdown: step failed');
  }
}

async function within(run: () => Promise<void> | void, ms: number): Promise<'ok' | 'timeout' | unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    // Kept ref'd on purpose: once the inputs are stopped, a step waiting on a promise that owns no
    // handle (a drain whose only timers are unref'd) would otherwise let Node exit mid-stop with
    // code 13 (unsettled top-level await), skipping the lock release and the health file.
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([
      Promise.resolve()
        .then(run)
        .then(
          () => 'ok' as const,
          (err: unknown) => err ?? new Error('failed'),
        ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
