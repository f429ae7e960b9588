/**
 * The one HTTP GET the polling quote adapters share: bytes back (they decode GBK themselves),
 * and a small bounded retry with jittered back-off on the failures that are usually transient:
 * network errors, timeouts, 5xx, and empty bodies (Tencent's answer to bursts, quotes.md §1.5.8).
 * 4xx is never retried: the request itself is wrong.
 *
 * Two limits make a slow or hostile server a failure instead of a silent stall:
 * - a total deadline over all attempts. axios' `timeout` is an idle timer on the socket, so a
 *   server trickling one byte a second never trips it (issue 16: 75 s without failover);
 * - a body cap. A real answer is far below it (500 Tencent records are ~300 KB).
 *
 * Two ways out. Straight to the server on node's own http/https (getDirect), which costs a
 * third less CPU per poll than axios did (issue 15); through axios when the environment names a
 * proxy, since axios (proxy-from-env) reads HTTP(S)_PROXY, ALL_PROXY and NO_PROXY as users
 * expect. Either way the same headers go out and the same decoded bytes come back.
 *
 * Bodies are copied into a few buffers kept for reuse and lent to the caller's synchronous parse
 * (`readAnswer`), so a steady poll allocates no body. Fresh ~300 KB buffers ten times a second
 * (axios' 'arraybuffer' concatenation) live outside V8's heap, and V8 answers external memory
 * growth with full mark-compacts: measured (issue 15), 4-6 whole-heap collections per 10 s and
 * about a third of the CPU per symbol went to them.
 *
 * Each answer also says when it was sent and received (monotonic ms) and the server's `Date`
 * header, so the caller can check the host clock against the exchange's.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import type { Readable, TransformCallback } from 'node:stream';
import { pipeline, Transform } from 'node:stream';
import { constants as zlibConstants, createBrotliDecompress, createUnzip } from 'node:zlib';
import axios from 'axios';
import { SealGuardError } from '../domain/errors.ts';
import {
  append,
  BodyIdle,
  BodyTooLarge,
  type Collected,
  giveBack,
  lease,
  POOL_KEEP_BYTES,
} from './bodyPool.ts';
import { getPlain } from './plainHttp.ts';

export interface HttpOptions {
  /** Idle timeout per attempt, ms. */
  timeoutMs?: number;
  /** Whole request including retries, ms. */
  deadlineMs?: number;
  /** Extra attempts after the first. */
  retries?: number;
  /** First back-off, ms; doubles per retry, each scaled by a random 0.5-1.5. */
  backoffMs?: number;
  /** Largest body accepted, bytes. */
  maxBytes?: number;
  headers?: Record<string, string>;
}

export const HTTP_DEFAULTS = {
  timeoutMs: 3000,
  deadlineMs: 5000,
  retries: 2,
  backoffMs: 150,
  maxBytes: 8 * 1024 * 1024,
} as const;

/** When an answer was sent and received (performance.now() ms) and the server's Date header. */
export interface ResponseTiming {
  sentAt: number;
  receivedAt: number;
  /** Epoch ms of the `Date` header (second resolution), null when absent or unparsable. */
  serverDate: number | null;
}

export interface HttpAnswer {
  body: Buffer;
  timing: ResponseTiming;
}

export type QuoteHttpFailure = 'deadline' | 'too-large' | 'network' | 'status' | 'empty' | 'cancelled';

export class QuoteHttpError extends SealGuardError {
  override name = 'QuoteHttpError';
  constructor(
    readonly source: string,
    message: string,
    /** HTTP status when the server answered. */
    readonly status?: number,
    readonly kind?: QuoteHttpFailure,
  ) {
    super(message);
  }
}

const HEADERS = { 'User-Agent': 'Mozilla/5.0 (SealGuard)', Accept: '*/*' };

const client = axios.create({
  responseType: 'stream',
  // The cap is enforced while copying (collect below): axios' own for streams wraps the body in
  // an async generator, a promise per chunk.
  maxContentLength: -1,
  // Statuses are judged below, where a 5xx can be retried and a 4xx explained.
  validateStatus: () => true,
  // A plain UA is all the sources need (quotes.md §1.1); Sina's Referer comes per request.
  headers: HEADERS,
  maxRedirects: 0,
});

/** An answer's status line and headers, its body still to be read (decoded when it was compressed). */
interface Answered {
  status: number;
  headers: IncomingHttpHeaders;
  body: Readable;
}

/** Through axios, which reads the proxy variables itself (NO_PROXY included). */
async function getViaAxios(
  url: string,
  headers: Record<string, string> | undefined,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Answered> {
  const res = await client.get<Readable>(url, { timeout: timeoutMs, headers, signal });
  return { status: res.status, headers: res.headers as IncomingHttpHeaders, body: res.data };
}

// What axios asks for and decodes (its http adapter, 1.x; br since every node it runs on has
// brotli): the same bytes arrive either way.
const DIRECT_HEADERS = { ...HEADERS, 'Accept-Encoding': 'gzip, compress, deflate, br' };
const ZLIB_FLUSH = { flush: zlibConstants.Z_SYNC_FLUSH, finishFlush: zlibConstants.Z_SYNC_FLUSH };
const BROTLI_FLUSH = {
  flush: zlibConstants.BROTLI_OPERATION_FLUSH,
  finishFlush: zlibConstants.BROTLI_OPERATION_FLUSH,
};

/** A raw deflate stream gets the zlib header it lacks, as axios' ZlibHeaderTransformStream does. */
class ZlibHeader extends Transform {
  private first = true;
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.first && chunk.length > 0) {
      this.first = false;
      if (chunk[0] !== 0x78) this.push(Buffer.from([0x78, 0x9c]));
    }
    done(null, chunk);
  }
}

function noop(): void {}

/**
 * The GET on node's own http/https, with the default (kept-alive) agent axios used too. Why not
 * axios here: per request it merges and hardens its config, builds an AxiosHeaders, wraps the
 * response in its own streams and settles through several promises. On the 300 KB loopback GET
 * that was 0.25-0.4 ms more than http.get and a sixth of the bytes allocated per poll at 5,000
 * watched (issue 15), and it sits ahead of every trigger on the poll-to-order path. Redirects
 * are not followed (axios was set to maxRedirects 0), statuses are judged by the caller.
 */
function getDirect(
  url: string,
  headers: Record<string, string> | undefined,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Answered> {
  return new Promise((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return reject(Object.assign(new TypeError('invalid URL'), { code: 'ERR_INVALID_URL' }));
    }
    const https = u.protocol === 'https:';
    if (!https && u.protocol !== 'http:')
      return reject(
        Object.assign(new Error(`unsupported protocol ${u.protocol}`), { code: 'ERR_BAD_REQUEST' }),
      );
    const req = (https ? httpsRequest : httpRequest)({
      protocol: u.protocol,
      // An IPv6 literal comes bracketed from URL, and node wants it bare.
      hostname: u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname,
      port: u.port === '' ? undefined : Number(u.port),
      path: u.pathname + u.search,
      method: 'GET',
      headers: headers === undefined ? DIRECT_HEADERS : { ...DIRECT_HEADERS, ...headers },
      auth: u.username ? `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}` : undefined,
      signal,
      // Idle time on the socket, as axios' `timeout` was (0: none); collect times the body.
      timeout: timeoutMs,
    });
    req.on('timeout', () =>
      req.destroy(Object.assign(new Error(`idle for ${timeoutMs} ms`), { code: 'ETIMEDOUT' })),
    );
    // Kept after the answer: an error later (a reset mid-body) reaches the body too, never unhandled.
    req.on('error', reject);
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      const encoding = status === 204 ? '' : (res.headers['content-encoding'] ?? '').toLowerCase();
      let body: Readable = res;
      if (
        encoding === 'gzip' ||
        encoding === 'x-gzip' ||
        encoding === 'compress' ||
        encoding === 'x-compress'
      )
        body = pipeline(res, createUnzip(ZLIB_FLUSH), noop);
      else if (encoding === 'deflate') body = pipeline(res, new ZlibHeader(), createUnzip(ZLIB_FLUSH), noop);
      else if (encoding === 'br') body = pipeline(res, createBrotliDecompress(BROTLI_FLUSH), noop);
      resolve({ status, headers: res.headers, body });
    });
    req.end();
  });
}

/**
 * Whether the environment names a proxy for this URL's scheme: the variables axios'
 * proxy-from-env reads (`<scheme>_proxy`, then `all_proxy`, lower case before upper). Such
 * requests go through axios, which applies NO_PROXY and speaks to the proxy; the rest go
 * straight out (getDirect).
 */
function proxied(url: string): boolean {
  const env = process.env;
  const proxy = url.startsWith('https:')
    ? env.https_proxy || env.HTTPS_PROXY || env.all_proxy || env.ALL_PROXY
    : env.http_proxy || env.HTTP_PROXY || env.all_proxy || env.ALL_PROXY;
  return !!proxy;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error('aborted'));
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new Error('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Where a URL points, without its query: enough to say what failed, never a token in a query. */
function where(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return 'the configured URL';
  }
}

function megabytes(n: number): string {
  return `${Math.round((n / (1024 * 1024)) * 10) / 10} MB`;
}

/**
 * Reads a response stream into a leased buffer, growing it as needed. Fails when the body
 * passes `maxBytes`, or announces more (`expected`, its Content-Length, -1 when none), with the
 * stream destroyed at once, so the sender is stopped too; or when no byte arrives for `idleMs`
 * (axios' idle timer stops at the headers).
 */
function collect(data: Readable, maxBytes: number, idleMs: number, expected: number): Promise<Collected> {
  if (expected > maxBytes) {
    // axios may still emit an abort 'error' on it: never an unhandled one.
    data.on('error', () => undefined);
    data.destroy();
    return Promise.reject(new BodyTooLarge());
  }
  return new Promise((resolve, reject) => {
    // Sized from Content-Length up to what the pool keeps, grown past it only by bytes that
    // came: a server announcing 8 MB and then stalling costs no 8 MB.
    const got: Collected = {
      buf: lease(Number.isFinite(expected) ? Math.min(Math.max(expected, 0), maxBytes, POOL_KEEP_BYTES) : 0),
      length: 0,
      leased: true,
    };
    let done = false;
    let lastAt = performance.now();
    const finish = (err: Error | null): void => {
      if (done) return;
      done = true;
      clearTimeout(idle);
      data.off('data', onData);
      data.off('end', onEnd);
      data.off('close', onClose);
      if (err === null) return resolve(got);
      if (got.leased) giveBack(got.buf);
      data.destroy();
      reject(err);
    };
    const onIdle = (): void => {
      const quiet = performance.now() - lastAt;
      if (quiet >= idleMs) return finish(new BodyIdle());
      idle = setTimeout(onIdle, idleMs - quiet);
    };
    // 0 = no idle limit, as axios reads its `timeout` (the deadline still applies).
    let idle = idleMs > 0 ? setTimeout(onIdle, idleMs) : undefined;
    const onData = (chunk: Buffer): void => {
      lastAt = performance.now();
      if (!append(got, chunk, 0, chunk.length, maxBytes)) finish(new BodyTooLarge());
    };
    const onEnd = (): void => finish(null);
    // A connection cut mid-body ends in 'close' without 'end' (and an 'error' on some paths).
    const onClose = (): void => finish(new Error('connection closed before the answer ended'));
    data.on('data', onData);
    data.once('end', onEnd);
    data.once('close', onClose);
    // Kept after finishing: a late error from a destroyed stream must not go unhandled.
    data.on('error', (err) => finish(err));
  });
}

/** GET `url` for `source` (used in error messages) as a copy of its bytes. Rejects with QuoteHttpError. */
export async function getAnswer(
  source: string,
  url: string,
  opts: HttpOptions = {},
  signal?: AbortSignal,
): Promise<HttpAnswer> {
  return readAnswer(source, url, opts, signal, (body, timing) => ({ body: Buffer.from(body), timing }));
}

/**
 * GET `url` and hand its body to `read`, which must finish with it before returning: the bytes
 * are a lent buffer, reused by the next answer. The quote parsers read synchronously and keep
 * copies only (RecordMemo, NameCache), so the steady poll allocates no body at all.
 */
export async function readAnswer<T>(
  source: string,
  url: string,
  opts: HttpOptions,
  signal: AbortSignal | undefined,
  read: (body: Buffer, timing: ResponseTiming) => T,
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? HTTP_DEFAULTS.timeoutMs;
  const deadlineMs = opts.deadlineMs ?? HTTP_DEFAULTS.deadlineMs;
  const retries = opts.retries ?? HTTP_DEFAULTS.retries;
  const backoffMs = opts.backoffMs ?? HTTP_DEFAULTS.backoffMs;
  const maxBytes = opts.maxBytes ?? HTTP_DEFAULTS.maxBytes;
  // One controller and one timer per request, both released when it ends. (AbortSignal.timeout
  // keeps its timer for the whole deadline after the answer came, and AbortSignal.any tracks its
  // sources through weak references: at ten requests a second both showed in the CPU profile.)
  const all = new AbortController();
  let deadlineHit = false;
  const timer = setTimeout(() => {
    deadlineHit = true;
    all.abort(new DOMException(`no answer within ${deadlineMs} ms`, 'TimeoutError'));
  }, deadlineMs);
  const forward = (): void => all.abort(signal?.reason);
  if (signal?.aborted) forward();
  else signal?.addEventListener('abort', forward, { once: true });
  try {
    return await attempts();
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', forward);
  }

  async function attempts(): Promise<T> {
    // The caller's own deadline (FeedManager's) is a deadline too, not a cancellation.
    const stopped = (): QuoteHttpError | null => {
      if (!all.signal.aborted) return null;
      const reason: unknown = signal?.aborted ? signal.reason : all.signal.reason;
      if (deadlineHit || (reason instanceof Error && reason.name === 'TimeoutError')) {
        const within = deadlineHit ? `within ${deadlineMs} ms` : 'in time';
        return new QuoteHttpError(
          source,
          `${source}: no complete answer from ${where(url)} ${within} (slow source)`,
          undefined,
          'deadline',
        );
      }
      return new QuoteHttpError(source, `${source}: request cancelled`, undefined, 'cancelled');
    };
    let lastError: QuoteHttpError | undefined;
    // Plain http straight to the server goes on plainHttp.ts (see there why); https and proxied
    // requests on node's clients.
    const plain = url.startsWith('http://') && !proxied(url);
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) {
        const jitter = 0.5 + Math.random();
        await sleep(Math.round(backoffMs * 2 ** (attempt - 1) * jitter), all.signal).catch(() => undefined);
      }
      const halted = stopped();
      if (halted) throw halted;
      let res: { status: number; headers: IncomingHttpHeaders };
      let got: Collected;
      const sentAt = performance.now();
      try {
        if (plain) {
          const a = await getPlain(url, DIRECT_HEADERS, opts.headers, timeoutMs, maxBytes, all.signal);
          res = a;
          got = a.got;
        } else {
          const a = await (proxied(url) ? getViaAxios : getDirect)(url, opts.headers, timeoutMs, all.signal);
          res = a;
          got = await collect(a.body, maxBytes, timeoutMs, Number(a.headers['content-length'] ?? -1));
        }
      } catch (err) {
        const late = stopped();
        if (late) throw late;
        if (err instanceof BodyTooLarge) {
          // Not retried: the same server would send the same flood.
          throw new QuoteHttpError(
            source,
            `${source}: ${where(url)} sent more than ${megabytes(maxBytes)}; answer cut off`,
            undefined,
            'too-large',
          );
        }
        const e = err as { code?: string; message?: string };
        const timedOut = err instanceof BodyIdle || e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT';
        lastError = new QuoteHttpError(
          source,
          timedOut
            ? `${source}: no answer from ${where(url)} within ${timeoutMs} ms`
            : `${source}: cannot reach ${where(url)} (${e.code ?? e.message ?? 'network error'})`,
          undefined,
          'network',
        );
        continue;
      }
      const receivedAt = performance.now();
      const { buf, length, leased } = got;
      try {
        if (res.status >= 500) {
          lastError = new QuoteHttpError(
            source,
            `${source}: ${where(url)} answered HTTP ${res.status}`,
            res.status,
            'status',
          );
          continue;
        }
        if (res.status >= 300) {
          const hint = length < 200 ? `: ${JSON.stringify(buf.toString('latin1', 0, length).trim())}` : '';
          throw new QuoteHttpError(
            source,
            `${source}: ${where(url)} answered HTTP ${res.status}${hint}`,
            res.status,
            'status',
          );
        }
        if (length === 0) {
          lastError = new QuoteHttpError(
            source,
            `${source}: ${where(url)} answered an empty body (throttled?)`,
            res.status,
            'empty',
          );
          continue;
        }
        const date = Date.parse(String(res.headers['date'] ?? ''));
        const result = read(buf.subarray(0, length), {
          sentAt,
          receivedAt,
          serverDate: Number.isFinite(date) ? date : null,
        });
        // The buffer goes back to the pool below: a reader still working on it would share it
        // with the next answer.
        if (result instanceof Promise) throw new Error('readAnswer: `read` must be synchronous');
        return result;
      } finally {
        if (leased) giveBack(buf);
      }
    }
    throw lastError ?? new QuoteHttpError(source, `${source}: request failed`);
  }
}

/**
 * `base` + `path`: the base is scheme://host[:port][/prefix] with any trailing slash dropped, so
 * TENCENT_QUOTE_URL=http://127.0.0.1:8080 and the real http://qt.gtimg.cn build the same paths.
 */
export function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, '') + path;
}
