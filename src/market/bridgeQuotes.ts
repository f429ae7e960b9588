/**
 * Quote source `qmt`: the broker bridge's own market data, `GET /v1/quotes/stream?symbols=...`
 * (Server-Sent Events, BRIDGE-PROTOCOL.md "Quote stream (v1.1)"). One `data:` event per symbol on
 * connect, then one per change; a `: keepalive` comment at least every 5 s, so silence longer than
 * `silenceMs` means a dead bridge, not a quiet market. 503 BRIDGE_NOT_READY while the terminal's
 * quote service is down. The list is part of the URL: a new set is a new connection.
 *
 * The bridge has converted volumes to shares and takes `time` from the tick itself (exchange
 * time), so the event maps to a Snapshot directly; a malformed event is dropped, never guessed.
 */
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { toTicks } from '../domain/prices.ts';
import { parseExchangeTime } from '../domain/time.ts';
import type { Level, QuoteStatus, Snapshot } from '../domain/types.ts';
import { securityOf } from './codes.ts';
import type { StreamState, StreamingFeed } from './feed.ts';

export interface BridgeQuoteOptions {
  /** The bridge's base URL (BROKER_URL). */
  url: string;
  /** Bearer token (BROKER_TOKEN); never logged. */
  token: string;
  /** Source name on snapshots and in messages. */
  name?: string;
  /** No byte (event or keepalive) for this long: the connection is dead. Default 12 s. */
  silenceMs?: number;
  /** First reconnect delay, doubling up to 30 s. */
  retryMs?: number;
  onWarn?: (msg: string) => void;
}

const STATUSES: Record<string, QuoteStatus> = {
  normal: 'normal',
  suspended: 'suspended',
  delisted: 'delisted',
};

function levels(raw: unknown, decimals: 2 | 3): Level[] | null {
  if (!Array.isArray(raw)) return null;
  const out: Level[] = [];
  for (const l of raw) {
    if (!Array.isArray(l) || typeof l[0] !== 'string' || !Number.isSafeInteger(l[1]) || (l[1] as number) < 0)
      return null;
    const p = toTicks(l[0], decimals);
    if (p > 0 && (l[1] as number) > 0) out.push([p, l[1] as number]);
  }
  return out;
}

/** One stream event as a Snapshot, or null (with the reason) when it is not a valid event. */
export function bridgeQuoteToSnapshot(ev: unknown, source: string): Snapshot | string {
  if (typeof ev !== 'object' || ev === null) return 'not an object';
  const e = ev as Record<string, unknown>;
  const sec = typeof e.symbol === 'string' ? securityOf(e.symbol) : null;
  if (!sec) return `unknown symbol ${JSON.stringify(e.symbol)}`;
  const status = typeof e.status === 'string' ? STATUSES[e.status] : undefined;
  if (!status) return `${sec.id}: unknown status ${JSON.stringify(e.status)}`;
  let ts: number;
  try {
    ts = parseExchangeTime(String(e.time));
  } catch {
    return `${sec.id}: bad time ${JSON.stringify(e.time)}`;
  }
  const d = sec.decimals;
  try {
    const price = (k: string): number => {
      const v = e[k];
      if (typeof v !== 'string') throw new Error(`${k} missing`);
      return toTicks(v, d);
    };
    const limit = (k: string): number | null => (e[k] === null ? null : price(k));
    const bids = levels(e.bids, d);
    const asks = levels(e.asks, d);
    if (!bids || !asks) return `${sec.id}: bad book`;
    const volume = Number.isSafeInteger(e.volume) ? (e.volume as number) : 0;
    return {
      symbol: sec.id,
      name: typeof e.name === 'string' ? e.name : '',
      source,
      ts,
      status,
      decimals: d,
      last: price('last'),
      prevClose: price('prev_close'),
      open: typeof e.open === 'string' ? price('open') : 0,
      high: typeof e.high === 'string' ? price('high') : 0,
      low: typeof e.low === 'string' ? price('low') : 0,
      bids,
      asks,
      volume,
      amount: 0,
      limitUp: limit('limit_up'),
      limitDown: limit('limit_down'),
    };
  } catch (err) {
    return `${sec.id}: ${(err as Error).message}`;
  }
}

export class BridgeQuoteStream implements StreamingFeed {
  readonly kind = 'stream';
  readonly name: string;
  readonly crossCheckUnits = true;
  private symbols: string[] = [];
  private running = false;
  private req: http.ClientRequest | undefined;
  private onSnapshot: (s: Snapshot) => void = () => undefined;
  private onState: (s: StreamState, detail?: string) => void = () => undefined;
  private state: StreamState = 'closed';
  private lastHeard = 0;
  private watchdog: ReturnType<typeof setInterval> | undefined;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private failures = 0;
  private readonly silenceMs: number;
  private readonly retryMs: number;

  constructor(private readonly opts: BridgeQuoteOptions) {
    this.name = opts.name ?? 'qmt';
    this.silenceMs = opts.silenceMs ?? 12_000;
    this.retryMs = opts.retryMs ?? 1000;
  }

  start(
    symbols: string[],
    onSnapshot: (s: Snapshot) => void,
    onState?: (s: StreamState, detail?: string) => void,
  ): void {
    if (this.running) throw new Error(`${this.name}: already started`);
    this.symbols = [...symbols];
    this.onSnapshot = onSnapshot;
    this.onState = onState ?? (() => undefined);
    this.running = true;
    this.watchdog = setInterval(() => this.checkSilence(), Math.min(1000, this.silenceMs / 4));
    this.watchdog.unref?.();
    this.connect();
  }

  setSymbols(symbols: string[]): void {
    const next = [...new Set(symbols)].sort();
    if (next.join(',') === [...new Set(this.symbols)].sort().join(',')) return;
    this.symbols = next;
    if (!this.running) return;
    this.drop();
    this.clearRetry();
    this.failures = 0;
    this.connect();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearInterval(this.watchdog);
    this.clearRetry();
    this.drop();
    this.setState('closed', 'stopped');
  }

  private connect(): void {
    if (this.symbols.length === 0) {
      this.setState('closed', 'no symbols');
      return;
    }
    this.setState('connecting');
    let url: URL;
    try {
      url = new URL(`${this.opts.url.replace(/\/+$/, '')}/v1/quotes/stream`);
    } catch {
      this.setState('ended', 'invalid bridge URL');
      return;
    }
    url.searchParams.set('symbols', this.symbols.join(','));
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.get(url, {
      headers: { authorization: `Bearer ${this.opts.token}`, accept: 'text/event-stream' },
    });
    this.req = req;
    this.lastHeard = performance.now();
    req.on('response', (res) => {
      if (this.req !== req) return void res.destroy();
      if (res.statusCode !== 200) {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (body.length < 300) body += c;
        });
        res.on('end', () => this.failed(req, `HTTP ${res.statusCode}${codeOf(body)}`));
        res.on('error', () => this.failed(req, `HTTP ${res.statusCode}`));
        return;
      }
      this.setState('open');
      res.setEncoding('utf8');
      let buf = '';
      let data: string[] = [];
      res.on('data', (chunk: string) => {
        if (this.req !== req) return;
        this.lastHeard = performance.now();
        buf += chunk;
        if (buf.length > 1_000_000) return this.failed(req, 'an event over 1 MB');
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).replace(/\r$/, '');
          buf = buf.slice(nl + 1);
          if (line === '') {
            if (data.length) this.event(data.join('\n'));
            data = [];
          } else if (line.startsWith('data:')) {
            data.push(line.slice(line[5] === ' ' ? 6 : 5));
          }
          // ':' comments (keepalive), event:, id:, retry: only prove the bridge is alive.
        }
      });
      res.on('end', () => this.failed(req, 'the bridge closed the stream'));
      res.on('error', (err) => this.failed(req, err.message));
    });
    req.on('error', (err) => this.failed(req, (err as NodeJS.ErrnoException).code ?? err.message));
  }

  private event(text: string): void {
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch {
      this.opts.onWarn?.(`${this.name}: ignored an event that is not JSON`);
      return;
    }
    const s = bridgeQuoteToSnapshot(obj, this.name);
    if (typeof s === 'string') {
      this.opts.onWarn?.(`${this.name}: ignored an event: ${s}`);
      return;
    }
    this.failures = 0;
    this.onSnapshot(s);
  }

  private checkSilence(): void {
    if (!this.req || this.state === 'closed') return;
    if (performance.now() - this.lastHeard > this.silenceMs) {
      const quiet =
        this.silenceMs >= 1000 ? `${Math.round(this.silenceMs / 1000)} s` : `${this.silenceMs} ms`;
      this.failed(this.req, `nothing for ${quiet}, not even a keepalive`);
    }
  }

  private failed(req: http.ClientRequest, why: string): void {
    if (this.req !== req) return;
    this.drop();
    this.setState('closed', why);
    if (!this.running) return;
    const delay = Math.min(30_000, this.retryMs * 2 ** this.failures++);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (this.running) this.connect();
    }, delay);
  }

  private drop(): void {
    const req = this.req;
    this.req = undefined;
    req?.destroy();
  }

  private clearRetry(): void {
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
  }

  private setState(s: StreamState, detail?: string): void {
    if (s === this.state && s !== 'closed') return;
    if (s === 'closed' && this.state === 'closed' && detail === undefined) return;
    this.state = s;
    this.onState(s, detail);
  }
}

/** ": BRIDGE_NOT_READY" from the bridge's error body, when it has one. */
function codeOf(body: string): string {
  try {
    const e = (JSON.parse(body) as { error?: { code?: unknown } }).error;
    return typeof e?.code === 'string' ? ` ${e.code}` : '';
  } catch {
    return '';
  }
}
