/**
 * One JSON request over node's http/https with a kept-alive agent per protocol. Not fetch: on
 * loopback undici's per-request machinery (Request/Headers objects, web streams) cost ~0.5 ms of
 * the poll-to-POST path, about half of the POST's time (issue 15 item 5); not axios: no
 * dependency is needed for this. An AbortSignal gives a hard deadline covering the body too, and
 * the errors' codes tell "never left this host" from "sent, answer lost" — the one distinction
 * order placement depends on.
 */
import { SealGuardError } from '../domain/errors.ts';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface JsonResponse {
  status: number;
  /** Parsed JSON, or undefined when the body was empty or not JSON (see `text`). */
  body: unknown;
  text: string;
}

export class TransportError extends SealGuardError {
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

// Idle sockets are dropped after 4 s (as undici did), sooner when the server's Keep-Alive hint
// says so: a socket the server has already closed would turn an order into an unknown outcome.
const AGENT_OPTIONS = { keepAlive: true, timeout: 4000 };
const agents = { http: new HttpAgent(AGENT_OPTIONS), https: new HttpsAgent(AGENT_OPTIONS) };

export async function requestJson(req: JsonRequest): Promise<JsonResponse> {
  const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
  let payload: Buffer | undefined;
  if (req.body !== undefined) {
    payload = Buffer.from(JSON.stringify(req.body), 'utf8');
    headers['content-type'] = 'application/json; charset=utf-8';
  }
  const url = new URL(req.url);
  const where = `${req.method} ${url.pathname}`;
  try {
    const { status, raw } = await send(url, req.method, headers, payload, req.timeoutMs);
    // As fetch's text() did: UTF-8, a leading byte-order mark dropped.
    let text = raw.toString('utf8');
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    let body: unknown;
    if (text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
    }
    return { status, body, text };
  } catch (err) {
    throw classify(err, where, req.timeoutMs);
  }
}

function send(
  url: URL,
  method: 'GET' | 'POST',
  headers: Record<string, string>,
  payload: Buffer | undefined,
  timeoutMs: number,
): Promise<{ status: number; raw: Buffer }> {
  const https = url.protocol === 'https:';
  if (payload) headers['content-length'] = String(payload.length);
  return new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, raw: Buffer.concat(chunks) }));
      // A connection closed mid-body ends nothing: say so rather than hand on half an answer.
      res.on('close', () => {
        if (!res.complete) reject(Object.assign(new Error('answer cut off'), { code: 'ECONNRESET' }));
      });
    };
    const options = {
      method,
      headers,
      agent: https ? agents.https : agents.http,
      signal: AbortSignal.timeout(timeoutMs),
    };
    const r = https ? httpsRequest(url, options, onResponse) : httpRequest(url, options, onResponse);
    r.on('error', reject);
    r.end(payload);
  });
}

function classify(err: unknown, where: string, timeoutMs: number): TransportError {
  const e = err as { name?: string; message?: string; code?: string };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') {
    return new TransportError(`${where}: no answer within ${timeoutMs} ms`, true, true);
  }
  const code = e.code;
  const detail = code ?? e.message ?? String(err);
  return new TransportError(`${where}: ${detail}`, !(code && NOT_SENT.has(code)), false);
}
