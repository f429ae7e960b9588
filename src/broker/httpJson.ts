/**
 * One JSON request over node's built-in fetch. Built-in fetch (not axios) because it needs no
 * dependency, takes an AbortSignal for a hard deadline covering the body too, and its failure
 * causes are precise enough to tell "never left this host" from "sent, answer lost" — the one
 * distinction order placement depends on.
 */

export interface JsonResponse {
  status: number;
  /** Parsed JSON, or undefined when the body was empty or not JSON (see `text`). */
  body: unknown;
  text: string;
}

export class TransportError extends Error {
  override name = 'TransportError';
  constructor(
    message: string,
    /** False only when the request provably never reached the server (refused, DNS). */
    readonly maybeSent: boolean,
    readonly timedOut: boolean,
  ) {
    super(message);
  }
}

const NOT_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
]);

export interface JsonRequest {
  url: string;
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: unknown;
  timeoutMs: number;
}

export async function requestJson(req: JsonRequest): Promise<JsonResponse> {
  const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
  let payload: string | undefined;
  if (req.body !== undefined) {
    payload = JSON.stringify(req.body);
    headers['content-type'] = 'application/json; charset=utf-8';
  }
  const where = `${req.method} ${new URL(req.url).pathname}`;
  try {
    const res = await fetch(req.url, {
      method: req.method,
      headers,
      body: payload,
      signal: AbortSignal.timeout(req.timeoutMs),
    });
    const text = await res.text();
    let body: unknown;
    if (text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
    }
    return { status: res.status, body, text };
  } catch (err) {
    throw classify(err, where, req.timeoutMs);
  }
}

function classify(err: unknown, where: string, timeoutMs: number): TransportError {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') {
    return new TransportError(`${where}: no answer within ${timeoutMs} ms`, true, true);
  }
  const code = e.cause?.code;
  const detail = code ?? e.cause?.message ?? e.message ?? String(err);
  return new TransportError(`${where}: ${detail}`, !(code && NOT_SENT.has(code)), false);
}
