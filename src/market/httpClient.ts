/**
 * The one HTTP GET the polling quote adapters share: bytes back (they decode GBK themselves),
 * a per-attempt timeout, and a small bounded retry with jittered back-off on the failures that
 * are usually transient: network errors, timeouts, 5xx, and empty bodies (Tencent's answer to
 * bursts, quotes.md §1.5.8). 4xx is never retried: the request itself is wrong.
 */
import axios from 'axios';

export interface HttpOptions {
  /** Per attempt, ms. */
  timeoutMs?: number;
  /** Extra attempts after the first. */
  retries?: number;
  /** First back-off, ms; doubles per retry, each scaled by a random 0.5-1.5. */
  backoffMs?: number;
  headers?: Record<string, string>;
}

export const HTTP_DEFAULTS = { timeoutMs: 3000, retries: 2, backoffMs: 150 } as const;

export class QuoteHttpError extends Error {
  override name = 'QuoteHttpError';
  constructor(
    readonly source: string,
    message: string,
    /** HTTP status when the server answered. */
    readonly status?: number,
  ) {
    super(message);
  }
}

const client = axios.create({
  responseType: 'arraybuffer',
  // Statuses are judged below, where a 5xx can be retried and a 4xx explained.
  validateStatus: () => true,
  // A plain UA is all the sources need (quotes.md §1.1); Sina's Referer comes per request.
  headers: { 'User-Agent': 'Mozilla/5.0 (SealGuard)', Accept: '*/*' },
  maxRedirects: 0,
});

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Error('aborted'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
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

/** GET `url` as bytes for `source` (used in error messages). Rejects with QuoteHttpError. */
export async function getBytes(
  source: string,
  url: string,
  opts: HttpOptions = {},
  signal?: AbortSignal,
): Promise<Buffer> {
  const timeoutMs = opts.timeoutMs ?? HTTP_DEFAULTS.timeoutMs;
  const retries = opts.retries ?? HTTP_DEFAULTS.retries;
  const backoffMs = opts.backoffMs ?? HTTP_DEFAULTS.backoffMs;
  let lastError: QuoteHttpError | undefined;
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) {
      const jitter = 0.5 + Math.random();
      await sleep(Math.round(backoffMs * 2 ** (attempt - 1) * jitter), signal).catch(() => undefined);
    }
    if (signal?.aborted) throw new QuoteHttpError(source, `${source}: request cancelled`);
    let res;
    try {
      res = await client.get<ArrayBuffer>(url, { timeout: timeoutMs, headers: opts.headers, signal });
    } catch (err) {
      const e = err as { code?: string; message?: string };
      const timedOut = e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT';
      if (signal?.aborted) throw new QuoteHttpError(source, `${source}: request cancelled`);
      lastError = new QuoteHttpError(
        source,
        timedOut
          ? `${source}: no answer from ${where(url)} within ${timeoutMs} ms`
          : `${source}: cannot reach ${where(url)} (${e.code ?? e.message ?? 'network error'})`,
      );
      continue;
    }
    const body = Buffer.from(res.data);
    if (res.status >= 500) {
      lastError = new QuoteHttpError(
        source,
        `${source}: ${where(url)} answered HTTP ${res.status}`,
        res.status,
      );
      continue;
    }
    if (res.status >= 300) {
      const hint = body.length < 200 ? `: ${JSON.stringify(body.toString('latin1').trim())}` : '';
      throw new QuoteHttpError(
        source,
        `${source}: ${where(url)} answered HTTP ${res.status}${hint}`,
        res.status,
      );
    }
    if (body.length === 0) {
      lastError = new QuoteHttpError(
        source,
        `${source}: ${where(url)} answered an empty body (throttled?)`,
        res.status,
      );
      continue;
    }
    return body;
  }
  throw lastError ?? new QuoteHttpError(source, `${source}: request failed`);
}

/**
 * `base` + `path`: the base is scheme://host[:port][/prefix] with any trailing slash dropped, so
 * TENCENT_QUOTE_URL=http://127.0.0.1:8080 and the real http://qt.gtimg.cn build the same paths.
 */
export function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, '') + path;
}
