/**
 * Reading a request body with a ceiling, for the servers SealGuard exposes on HTTP_PORT (WeCom
 * callbacks, the PTrade relay). Past the ceiling we stop reading at once and, after the refusal
 * is written, close the connection: answering 413 and then draining the rest (what node:http
 * does by default once the response ends) lets a client stream an endless body at full CPU.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SealGuardError } from '../domain/errors.ts';

export class BodyError extends SealGuardError {
  override name = 'BodyError';
  constructor(
    /** 413 too large, 408 too slow, 400 the client aborted. */
    readonly status: 400 | 408 | 413,
    message: string,
  ) {
    super(message);
  }
}

export interface BodyLimits {
  maxBytes: number;
  /** The whole body must arrive within this; default 15 s (slow-drip clients hold sockets). */
  timeoutMs?: number;
}

/** How long a refused connection may linger after the answer, so the client can read it. */
const LINGER_MS = 1000;

/** Resolves with the whole body, or rejects with a BodyError having stopped reading. */
export function readBoundedBody(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const { maxBytes } = limits;
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > maxBytes) {
      // Refused on the header alone: not a byte of the body is read.
      req.pause();
      reject(new BodyError(413, `body of ${declared} bytes is larger than ${maxBytes} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err?: BodyError) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      if (err) {
        req.pause();
        reject(err);
      } else resolve(Buffer.concat(chunks));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) finish(new BodyError(413, `body larger than ${maxBytes} bytes`));
      else chunks.push(chunk);
    };
    const onEnd = () => finish();
    const onError = () => finish(new BodyError(400, 'request body could not be read'));
    const onAborted = () => finish(new BodyError(400, 'client aborted the request'));
    const timer = setTimeout(
      () => finish(new BodyError(408, `body not received within ${limits.timeoutMs ?? 15_000} ms`)),
      limits.timeoutMs ?? 15_000,
    );
    timer.unref();
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

/**
 * Marks the response as the connection's last: `Connection: close`, and once it is written the
 * socket is half-closed and then destroyed, without reading whatever the client still sends.
 * Call before writing the refusal.
 */
export function closeAfterResponse(req: IncomingMessage, res: ServerResponse): void {
  if (!res.headersSent) res.setHeader('connection', 'close');
  const socket = req.socket;
  res.once('finish', () => {
    socket.end();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  });
  res.once('close', () => {
    if (!socket.destroyed) setTimeout(() => socket.destroy(), LINGER_MS).unref();
  });
}

/** Whether the request carries a body at all (a GET normally does not). */
export function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/**
 * For an answer given without reading the body (401, 404, 405, a GET): a request without a
 * body keeps its keep-alive connection; one with a body gets the connection closed, since
 * node:http would otherwise read and discard the body to its end, however long it is.
 */
export function skipBody(req: IncomingMessage, res: ServerResponse): void {
  if (hasBody(req)) {
    req.pause();
    closeAfterResponse(req, res);
  } else req.resume();
}
