/**
 * How SealGuard calls Telegram: every call that posts into a chat takes that chat's turn (about
 * 1 message per second per chat, 20 per minute in a group, 30 per second overall, the limits of
 * the Bot FAQ), highest priority first, and retries a bounded number of times.
 *
 * Why not @grammyjs/auto-retry: it retries network errors without limit (its HttpError loop
 * ignores maxRetryAttempts, with backoff doubling up to an hour), so one dead proxy stalled every
 * later message. Here a 429 waits its retry_after only up to a cap, network errors and 5xx get a
 * few attempts with short backoff, each attempt has a timeout, and then the call fails and the
 * caller reports the message as undelivered.
 */
import { GrammyError, HttpError } from 'grammy';

export interface GateOptions {
  /** Minimum spacing between two messages to one chat, ms (Telegram: about 1 per second). */
  chatGapMs?: number;
  /** Messages per minute to one group chat (Telegram: 20). */
  groupPerMinute?: number;
  /** Messages per second over all chats (Telegram: 30). */
  globalPerSecond?: number;
  now?: () => number;
}

interface Waiter {
  prio: number;
  seq: number;
  grant: () => void;
}

interface ChatState {
  busy: boolean;
  lastAt: number;
  pausedUntil: number;
  recent: number[];
  waiters: Waiter[];
  timer: NodeJS.Timeout | undefined;
}

/** Per-chat turns: one call in flight per chat, spaced, priority order among the waiting. */
export class SendGate {
  private readonly chats = new Map<number, ChatState>();
  private readonly global: number[] = [];
  private seq = 0;
  private readonly gap: number;
  private readonly groupPerMinute: number;
  private readonly globalPerSecond: number;
  private readonly now: () => number;

  constructor(o: GateOptions = {}) {
    // A little over Telegram's 1 s: the server measures arrival, we measure departure.
    this.gap = o.chatGapMs ?? 1_100;
    this.groupPerMinute = o.groupPerMinute ?? 19;
    this.globalPerSecond = o.globalPerSecond ?? 28;
    this.now = o.now ?? (() => Date.now());
  }

  /** Waits for the chat's turn; returns the release to call when the request is done. */
  acquire(chat: number, prio: number): Promise<() => void> {
    const st = this.state(chat);
    return new Promise<() => void>((resolve) => {
      st.waiters.push({
        prio,
        seq: this.seq++,
        grant: () =>
          resolve(() => {
            st.busy = false;
            this.schedule(chat);
          }),
      });
      this.schedule(chat);
    });
  }

  /** Telegram said 429 for this chat: nothing goes there before `until` (wall ms). */
  pause(chat: number, until: number): void {
    const st = this.state(chat);
    st.pausedUntil = Math.max(st.pausedUntil, until);
  }

  pausedFor(chat: number): number {
    return Math.max(0, (this.chats.get(chat)?.pausedUntil ?? 0) - this.now());
  }

  private state(chat: number): ChatState {
    let st = this.chats.get(chat);
    if (!st) {
      st = { busy: false, lastAt: -Infinity, pausedUntil: 0, recent: [], waiters: [], timer: undefined };
      this.chats.set(chat, st);
    }
    return st;
  }

  private schedule(chat: number): void {
    const st = this.state(chat);
    if (st.busy || st.timer || st.waiters.length === 0) return;
    const now = this.now();
    while (st.recent.length && st.recent[0]! <= now - 60_000) st.recent.shift();
    while (this.global.length && this.global[0]! <= now - 1_000) this.global.shift();
    let wait = Math.max(st.lastAt + this.gap - now, st.pausedUntil - now);
    // Negative ids are groups (and channels): 20 messages a minute.
    if (chat < 0 && st.recent.length >= this.groupPerMinute)
      wait = Math.max(wait, st.recent[st.recent.length - this.groupPerMinute]! + 60_000 - now);
    if (this.global.length >= this.globalPerSecond)
      wait = Math.max(wait, this.global[this.global.length - this.globalPerSecond]! + 1_000 - now);
    if (wait > 0) {
      st.timer = setTimeout(() => {
        st.timer = undefined;
        this.schedule(chat);
      }, Math.ceil(wait));
      // A chat paused by a 429 must not keep a stopping process alive.
      st.timer.unref();
      return;
    }
    let best = 0;
    for (let i = 1; i < st.waiters.length; i++) {
      const w = st.waiters[i]!;
      const b = st.waiters[best]!;
      if (w.prio < b.prio || (w.prio === b.prio && w.seq < b.seq)) best = i;
    }
    const w = st.waiters.splice(best, 1)[0]!;
    st.busy = true;
    st.lastAt = now;
    st.recent.push(now);
    this.global.push(now);
    w.grant();
  }
}

export interface CallPolicy {
  /** Attempts in all (first try included). */
  attempts: number;
  /** A 429 asking to wait longer than this fails the call at once, seconds. */
  maxRetryAfterS: number;
  /** Per attempt, ms. */
  timeoutMs: number;
  /** First backoff after a network error or 5xx, ms (doubles). */
  backoffMs: number;
}

export const SEND_POLICY: CallPolicy = {
  attempts: 3,
  maxRetryAfterS: 15,
  timeoutMs: 15_000,
  backoffMs: 1_000,
};

export function retryAfterOf(err: unknown): number | undefined {
  if (err instanceof GrammyError && err.error_code === 429) return err.parameters.retry_after ?? 1;
  return undefined;
}

/** Worth another attempt: the network, a timeout, or Telegram's side (5xx, a 502 from a proxy). */
export function isTransient(err: unknown): boolean {
  return err instanceof HttpError || (err instanceof GrammyError && err.error_code >= 500);
}

/** The chat cannot be reached until it writes to the bot again (blocked, deleted, never started). */
export function isUnreachable(err: unknown): boolean {
  if (!(err instanceof GrammyError)) return false;
  if (err.error_code === 403) return true;
  return err.error_code === 400 && /chat not found|user not found|PEER_ID_INVALID/i.test(err.description);
}

export function isUnauthorized(err: unknown): boolean {
  return err instanceof GrammyError && err.error_code === 401;
}

export function isConflict(err: unknown): boolean {
  return err instanceof GrammyError && err.error_code === 409;
}

/** A short reason for logs and the health board; never the URL (it holds the token). */
export function describeError(err: unknown): string {
  if (err instanceof GrammyError) return `${err.error_code} ${err.description}`;
  if (err instanceof HttpError) {
    const cause = err.error as { code?: string; cause?: { code?: string }; name?: string } | undefined;
    const code =
      cause?.code ?? cause?.cause?.code ?? (cause?.name === 'TimeoutError' ? 'timeout' : undefined);
    return `network: ${code ?? err.message.replace(/ failed!.*$/, ' failed')}`;
  }
  return err instanceof Error ? err.message : String(err);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done);
  });
}

/**
 * One call into a chat: the chat's turn (priority `prio`, lower first), then the request with a
 * timeout; a 429 pauses the chat for its retry_after and retries if that is within the cap; a
 * network error or 5xx is retried after a short backoff; anything else fails at once.
 */
export async function callInChat<T>(
  gate: SendGate,
  chat: number,
  prio: number,
  fn: (signal: AbortSignal) => Promise<T>,
  policy: CallPolicy = SEND_POLICY,
  stop?: AbortSignal,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    // Telegram asked this chat to wait longer than we would: fail now rather than hold its queue.
    const paused = gate.pausedFor(chat);
    if (paused > policy.maxRetryAfterS * 1000)
      throw new Error(
        `Telegram asked to wait ${Math.ceil(paused / 1000)} s before writing to this chat (429)`,
      );
    const release = await gate.acquire(chat, prio);
    let backoff = 0;
    try {
      return await fn(
        stop
          ? AbortSignal.any([stop, AbortSignal.timeout(policy.timeoutMs)])
          : AbortSignal.timeout(policy.timeoutMs),
      );
    } catch (err) {
      if (stop?.aborted) throw err;
      const ra = retryAfterOf(err);
      if (ra !== undefined) {
        gate.pause(chat, Date.now() + ra * 1000);
        if (ra > policy.maxRetryAfterS || attempt >= policy.attempts) throw err;
      } else if (isTransient(err) && attempt < policy.attempts) {
        backoff = policy.backoffMs * 2 ** (attempt - 1);
      } else throw err;
    } finally {
      release();
    }
    if (backoff) await sleep(backoff, stop);
  }
}
