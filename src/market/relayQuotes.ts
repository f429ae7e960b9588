/**
 * Quote source `ptrade`: the PTrade strategy's get_snapshot quotes, posted to the relay SealGuard
 * hosts (`POST /v1/relay/quotes {"quotes": [<quote stream events>]}`, BRIDGE-PROTOCOL.md "Quote
 * stream (v1.1)" and bridges/ptrade/README.md). The relay is inbound, so this is a stream whose
 * connection is the strategy's posting: it is 'open' while posts arrive and 'closed' once none
 * came for `silenceMs` (the strategy posts every 3 s cycle while `watch` is non-empty, so about
 * two missed cycles), which hands the quotes to the next source in QUOTE_SOURCES; the next good
 * post opens it again.
 *
 * What SealGuard wants quotes for goes out in the `watch` field of the relay's commands answer
 * (`watch()`). A post is validated whole: one malformed event refuses the post (400, counted,
 * nothing delivered) rather than guessing at it or delivering half a market.
 */
import { performance } from 'node:perf_hooks';
import type { Snapshot } from '../domain/types.ts';
import { bridgeQuoteToSnapshot } from './bridgeQuotes.ts';
import type { StreamState, StreamingFeed } from './feed.ts';

/** Where refusals are reported (the app's HealthBoard; structural, so no engine import). */
export interface RelayQuoteHealth {
  set(key: string, component: string, level: 'warn' | 'error', text: string): boolean;
  clear(key: string): boolean;
  count(counter: string, by?: number): number;
}

export interface RelayQuoteOptions {
  /** Source name on snapshots and in messages. Default 'ptrade'. */
  name?: string;
  /** No good post for this long: the strategy is gone. Default 7.5 s (two 3 s cycles and a margin). */
  silenceMs?: number;
  health?: RelayQuoteHealth;
}

/** What the relay answers a post with. */
export type RelayQuoteVerdict =
  | { status: 200; body: { accepted: number; ignored: number } }
  | { status: 400; body: { error: { code: 'INVALID_ARGUMENT'; message: string; retryable: false } } };

export const REFUSED_COUNTER = 'ptrade quote posts refused';
const REFUSED_KEY = 'feed:refused:ptrade';
const MAX_QUOTES = 20_000;

/** Why one posted event is not a valid quote stream event, or its Snapshot. */
function checkEvent(ev: unknown, source: string): Snapshot | string {
  const s = bridgeQuoteToSnapshot(ev, source);
  if (typeof s === 'string') return s;
  const e = ev as Record<string, unknown>;
  // bridgeQuoteToSnapshot reads a missing volume as 0 (the bridge always sends one); a post must
  // not leave the unit check and the seal judging a guess.
  if (!Number.isSafeInteger(e.volume) || (e.volume as number) < 0)
    return `${s.symbol}: volume must be a whole number of shares`;
  if (e.seq !== undefined && !Number.isSafeInteger(e.seq)) return `${s.symbol}: seq must be an integer`;
  if (s.last <= 0 && s.status === 'normal') return `${s.symbol}: last must be positive`;
  if (typeof s.limitUp === 'number' && typeof s.limitDown === 'number' && s.limitUp < s.limitDown)
    return `${s.symbol}: limit_up below limit_down`;
  return s;
}

export class RelayQuoteFeed implements StreamingFeed {
  readonly kind = 'stream';
  readonly name: string;
  /** PTrade's book is in shares (README), but a lots slip is what the check exists to catch. */
  readonly crossCheckUnits = true;
  private symbols = new Set<string>();
  private running = false;
  private state: StreamState = 'closed';
  private lastGoodAt = -Infinity;
  private watchdog: ReturnType<typeof setInterval> | undefined;
  private onSnapshot: (s: Snapshot) => void = () => undefined;
  private onState: (s: StreamState, detail?: string) => void = () => undefined;
  private readonly silenceMs: number;

  constructor(private readonly opts: RelayQuoteOptions = {}) {
    this.name = opts.name ?? 'ptrade';
    this.silenceMs = opts.silenceMs ?? 7_500;
  }

  start(
    symbols: string[],
    onSnapshot: (s: Snapshot) => void,
    onState?: (s: StreamState, detail?: string) => void,
  ): void {
    if (this.running) throw new Error(`${this.name}: already started`);
    this.symbols = new Set(symbols);
    this.onSnapshot = onSnapshot;
    this.onState = onState ?? (() => undefined);
    this.running = true;
    this.setState('connecting');
    this.watchdog = setInterval(() => this.checkSilence(), Math.max(50, Math.min(1000, this.silenceMs / 4)));
    this.watchdog.unref?.();
  }

  setSymbols(symbols: string[]): void {
    this.symbols = new Set(symbols);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearInterval(this.watchdog);
    this.setState('closed', 'stopped');
  }

  /** Protocol symbols the strategy should post quotes for (the relay's `watch`); [] stops its posts. */
  watch(): string[] {
    return this.running ? [...this.symbols] : [];
  }

  /** One POST /v1/relay/quotes body (parsed JSON), answered as the relay should. */
  accept(body: unknown): RelayQuoteVerdict {
    const quotes = (body as { quotes?: unknown } | null)?.quotes;
    let problem: string | undefined;
    const good: Snapshot[] = [];
    if (typeof body !== 'object' || body === null || !Array.isArray(quotes)) {
      problem = 'body must be {"quotes": [...]}';
    } else if (quotes.length > MAX_QUOTES) {
      problem = `${quotes.length} quotes in one post; at most ${MAX_QUOTES}`;
    } else {
      for (let i = 0; i < quotes.length && !problem; i++) {
        const s = checkEvent(quotes[i], this.name);
        if (typeof s === 'string') problem = `quotes[${i}]: ${s}`;
        else good.push(s);
      }
    }
    if (problem) return this.refuse(problem);
    this.opts.health?.clear(REFUSED_KEY);
    if (!this.running) return { status: 200, body: { accepted: 0, ignored: good.length } };
    // A post in flight across a watch change may still carry a code no longer watched.
    const wanted = good.filter((s) => this.symbols.has(s.symbol));
    this.lastGoodAt = performance.now();
    this.setState('open');
    for (const s of wanted) this.onSnapshot(s);
    return { status: 200, body: { accepted: wanted.length, ignored: good.length - wanted.length } };
  }

  private refuse(message: string): RelayQuoteVerdict {
    const text = `${message}; the whole post was refused`;
    this.opts.health?.count(REFUSED_COUNTER);
    this.opts.health?.set(
      REFUSED_KEY,
      'feed',
      'warn',
      `The PTrade strategy's quotes are refused (${message}). Check sealguard_relay.py's version.`,
    );
    return { status: 400, body: { error: { code: 'INVALID_ARGUMENT', message: text, retryable: false } } };
  }

  private checkSilence(): void {
    if (!this.running || this.state !== 'open') return;
    if (performance.now() - this.lastGoodAt > this.silenceMs) {
      const quiet =
        this.silenceMs >= 1000 ? `${(this.silenceMs / 1000).toFixed(1)} s` : `${this.silenceMs} ms`;
      this.setState('closed', `no quotes from the PTrade strategy for ${quiet}`);
    }
  }

  private setState(s: StreamState, detail?: string): void {
    if (s === this.state) return;
    this.state = s;
    this.onState(s, detail);
  }
}
