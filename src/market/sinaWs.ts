/**
 * Sina's push quotes: wss://hq.sinajs.cn/wskt?list=sz002116,sh600519 (reference/quotes.md §2.5).
 * Each text frame carries one record per line, `<code>=<the HTTP comma body>`, plus control lines
 * such as `sys_nxkey=...`. The subscription lives in the URL, so a new symbol list means a new
 * connection.
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import type { Snapshot } from '../domain/types.ts';
import { prefixedCode, securityOf } from './codes.ts';
import type { StreamState, StreamingFeed } from './feed.ts';
import { parseSina } from './sinaParse.ts';

export const SINA_WS_URL = 'wss://hq.sinajs.cn/wskt';
/** The server refuses connections without a Sina Origin (alwqx/sec, a Rust collector). */
export const SINA_ORIGIN = 'https://finance.sina.com.cn';

/**
 * Turns one record line (`sz002116=中国海诚,9.050,...`) into a snapshot; null for an empty or
 * unusable record; throws on a malformed one.
 */
export type SinaLineParser = (line: string) => Snapshot | null;

/** The push line is the HTTP record without its `var hq_str_` and quotes; the HTTP parser reads it once re-framed. */
export const parseSinaWsLine: SinaLineParser = (line) => {
  const eq = line.indexOf('=');
  if (eq < 0 || line.includes('"')) throw new Error('not a quote record');
  const out = parseSina(`var hq_str_${line.slice(0, eq)}="${line.slice(eq + 1)}";\n`, 'sina-ws');
  const rejected = out.rejected[0];
  if (rejected) throw new Error(rejected.reason);
  return out.snapshots[0] ?? null;
};

export interface SinaWsOptions {
  /** Base URL without the query; default SINA_WS_URL env, else wss://hq.sinajs.cn/wskt. */
  url?: string;
  origin?: string;
  /** Default parseSinaWsLine; injectable for sources that push a variant. */
  parseLine?: SinaLineParser;
  /** WebSocket ping cadence; the Rust collector in quotes.md §2.5 pings every 20 s. */
  pingIntervalMs?: number;
  /** A connection that has been silent (no frame, no pong) this long is treated as dead. */
  silenceTimeoutMs?: number;
  reconnectInitialMs?: number;
  reconnectMaxMs?: number;
  /** Source of jitter in [0, 1); injectable so tests can pin it. */
  random?: () => number;
  /** Malformed lines and transport errors, already safe to log (no secrets are involved). */
  onWarning?: (message: string) => void;
}

const RECORD_LINE = /^(sh|sz|bj)\d{6}=/;

/** "002116.SZ" -> "sz002116"; throws on anything that is not a canonical id. */
export function toSinaCode(symbol: string): string {
  const sec = securityOf(symbol);
  if (!sec) throw new Error(`sina-ws: "${symbol}" is not a canonical symbol like 002116.SZ`);
  return prefixedCode(sec);
}

export class SinaWsFeed implements StreamingFeed {
  readonly kind = 'stream' as const;
  readonly name = 'sina-ws';

  private readonly baseUrl: string;
  private readonly origin: string;
  private readonly parseLine: SinaLineParser;
  private readonly pingIntervalMs: number;
  private readonly silenceTimeoutMs: number;
  private readonly reconnectInitialMs: number;
  private readonly reconnectMaxMs: number;
  private readonly random: () => number;
  private readonly warn: (message: string) => void;

  private codes: string[] = [];
  private wanted = new Set<string>();
  private onSnapshot: (s: Snapshot) => void = () => undefined;
  private onState: (s: StreamState, detail?: string) => void = () => undefined;
  private ws: WebSocket | undefined;
  private running = false;
  private failures = 0;
  private lastHeard = 0;
  private keepalive: ReturnType<typeof setInterval> | undefined;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private state: StreamState | undefined;

  constructor(options: SinaWsOptions = {}) {
    this.baseUrl = options.url ?? process.env.SINA_WS_URL ?? SINA_WS_URL;
    this.origin = options.origin ?? SINA_ORIGIN;
    this.parseLine = options.parseLine ?? parseSinaWsLine;
    this.pingIntervalMs = options.pingIntervalMs ?? 20_000;
    this.silenceTimeoutMs = options.silenceTimeoutMs ?? 45_000;
    this.reconnectInitialMs = options.reconnectInitialMs ?? 1_000;
    this.reconnectMaxMs = options.reconnectMaxMs ?? 30_000;
    this.random = options.random ?? Math.random;
    this.warn = options.onWarning ?? (() => undefined);
  }

  start(
    symbols: string[],
    onSnapshot: (s: Snapshot) => void,
    onState?: (s: StreamState, detail?: string) => void,
  ): void {
    if (this.running) throw new Error('sina-ws: already started');
    this.codes = symbols.map(toSinaCode);
    this.wanted = new Set(symbols);
    this.onSnapshot = onSnapshot;
    this.onState = onState ?? (() => undefined);
    this.running = true;
    this.failures = 0;
    this.connect();
  }

  setSymbols(symbols: string[]): void {
    const codes = symbols.map(toSinaCode);
    if (sameSet(codes, this.codes)) return;
    this.codes = codes;
    this.wanted = new Set(symbols);
    if (!this.running) return;
    // The list is part of the URL: resubscribing is a fresh connection, made at once.
    this.dropConnection();
    this.clearRetry();
    this.failures = 0;
    this.connect();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.clearRetry();
    const ws = this.dropConnection();
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => ws.once('close', () => resolve()));
    }
    this.setState('closed', 'stopped');
  }

  private connect(): void {
    if (this.codes.length === 0) {
      this.setState('closed', 'no symbols');
      return;
    }
    this.setState('connecting');
    const url = `${this.baseUrl}?list=${this.codes.join(',')}`;
    const ws = new WebSocket(url, { origin: this.origin, handshakeTimeout: 10_000 });
    this.ws = ws;
    let lastError = '';

    ws.on('open', () => {
      if (this.ws !== ws) return;
      this.lastHeard = performance.now();
      this.startKeepalive(ws);
      this.setState('open');
    });
    ws.on('message', (data, isBinary) => {
      if (this.ws !== ws) return;
      this.lastHeard = performance.now();
      // A connection that delivers is a good one; only then does the back-off start over.
      this.failures = 0;
      if (isBinary) {
        this.warn('sina-ws: ignored a binary frame');
        return;
      }
      this.handleFrame(rawText(data));
    });
    ws.on('pong', () => {
      if (this.ws === ws) this.lastHeard = performance.now();
    });
    ws.on('error', (err) => {
      lastError = err.message;
    });
    ws.on('close', (code) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.stopKeepalive();
      this.setState('closed', lastError || `connection closed (${code})`);
      if (this.running) this.scheduleReconnect();
    });
  }

  private handleFrame(text: string): void {
    for (const rawLine of text.split('\n')) {
      const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
      if (line === '' || line.startsWith('sys_')) continue;
      if (!RECORD_LINE.test(line)) {
        this.warn(`sina-ws: skipped a line that is not a quote record: ${preview(line)}`);
        continue;
      }
      let snap: Snapshot | null;
      try {
        snap = this.parseLine(line);
      } catch (err) {
        this.warn(`sina-ws: skipped a malformed record (${(err as Error).message}): ${preview(line)}`);
        continue;
      }
      // Frames in flight from an older subscription can still arrive; only the current list counts.
      if (!snap || !this.wanted.has(snap.symbol)) continue;
      try {
        this.onSnapshot({ ...snap, source: this.name });
      } catch (err) {
        this.warn(`sina-ws: snapshot handler failed: ${(err as Error).message}`);
      }
    }
  }

  private startKeepalive(ws: WebSocket): void {
    this.stopKeepalive();
    this.keepalive = setInterval(() => {
      if (performance.now() - this.lastHeard > this.silenceTimeoutMs) {
        this.warn(`sina-ws: nothing heard for ${this.silenceTimeoutMs} ms, reconnecting`);
        ws.terminate();
        return;
      }
      ws.ping();
    }, this.pingIntervalMs);
  }

  private stopKeepalive(): void {
    if (this.keepalive) clearInterval(this.keepalive);
    this.keepalive = undefined;
  }

  private scheduleReconnect(): void {
    // Capped exponential back-off with equal jitter: never hammer the server, never sync up with
    // other clients that dropped at the same moment.
    const cap = Math.min(this.reconnectMaxMs, this.reconnectInitialMs * 2 ** this.failures);
    const delay = Math.round(cap / 2 + (this.random() * cap) / 2);
    this.failures++;
    this.clearRetry();
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (this.running) this.connect();
    }, delay);
  }

  private clearRetry(): void {
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
  }

  /** Forgets the current connection (its events are ignored from now on) and kills it. */
  private dropConnection(): WebSocket | undefined {
    const ws = this.ws;
    this.ws = undefined;
    this.stopKeepalive();
    if (ws) ws.terminate();
    return ws;
  }

  private setState(state: StreamState, detail?: string): void {
    if (state === this.state && state !== 'connecting') return;
    this.state = state;
    try {
      this.onState(state, detail);
    } catch (err) {
      this.warn(`sina-ws: state handler failed: ${(err as Error).message}`);
    }
  }
}

function rawText(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function sameSet(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((x) => s.has(x));
}

function preview(line: string): string {
  return line.length > 60 ? `${line.slice(0, 60)}…` : line;
}
