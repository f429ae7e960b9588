/**
 * A GET over plain HTTP/1.1 on node:net, for the polling sources that speak http: (Tencent's
 * qt.gtimg.cn, Sina's hq.sinajs.cn, and the loopback servers of tests and the bench).
 *
 * Why our own and not node:http: the poll is ten ~300 KB GETs a second, and node:http spends
 * ~1.2 ms of CPU on each (an IncomingMessage and its stream machinery, a Buffer per read, the
 * agent's bookkeeping, llhttp callbacks per header) against ~0.6 ms here, measured on this
 * project's bench host (issue 15): 1-1.5 µs per watched symbol per poll of a 5 µs budget. What
 * makes the difference is reading straight into one shared 64 KB buffer (`onread`) and copying
 * the body once into a pooled buffer (bodyPool.ts), with no stream between. undici's Pool cost
 * the same as node:http. https and proxied requests stay on node's clients (httpClient.ts).
 *
 * What it keeps of HTTP/1.1 (RFC 9112) is what a GET needs and what node's llhttp enforces:
 * Content-Length, chunked and close-delimited bodies; 1xx answers skipped; conflicting or
 * malformed framing refused (llhttp's error codes, so a log reads the same as node's); header
 * names and values checked for CR/LF before anything is sent (node's ERR_INVALID_CHAR); bodies
 * decoded as axios decodes them (gzip/x-gzip/compress/x-compress, deflate with or without its
 * zlib header, br, all Z_SYNC_FLUSH so a body cut just short yields what came). Connections are
 * kept alive per host:port as node's default agent does; a kept connection the server closed
 * meanwhile (its keep-alive timeout racing our next poll) is retried once, at once, on a new one
 * when no byte of the answer had come: the request had never been seen.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import zlib from 'node:zlib';
import {
  append,
  BodyIdle,
  BodyTooLarge,
  type Collected,
  giveBack,
  lease,
  POOL_KEEP_BYTES,
} from './bodyPool.ts';

export interface PlainAnswer {
  status: number;
  /** Lower-case names; repeated headers joined with ", " as node joins them. */
  headers: Record<string, string>;
  got: Collected;
}

/** An error with node's style of code (ECONNRESET, HPE_*, ERR_INVALID_CHAR). */
function coded(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

const READ_BUFFER_BYTES = 64 * 1024;
// Every socket reads into this one buffer: each read is handed over synchronously and copied
// out before the next one can happen, so sharing it is safe.
const readBuffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
const MAX_HEAD_BYTES = 16 * 1024; // node's --max-http-header-size default
const MAX_IDLE_PER_HOST = 8;
const MAX_LINE = 1024; // a chunk-size line or a trailer line

/** One connection; `reader` is the request reading from it now, null while it waits in the pool. */
interface Conn {
  socket: net.Socket;
  key: string;
  reader: Reader | null;
  /** Whether it served an answer before (so a close before any byte may be a stale keep-alive). */
  reused: boolean;
}

interface Reader {
  bytes(buf: Buffer, n: number): void;
  ended(err: Error | null): void;
}

const idle = new Map<string, Conn[]>();

function dropIdle(conn: Conn): void {
  const list = idle.get(conn.key);
  if (list === undefined) return;
  const i = list.indexOf(conn);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) idle.delete(conn.key);
}

function connect(host: string, port: number, key: string): Conn {
  const conn: Conn = { socket: undefined as unknown as net.Socket, key, reader: null, reused: false };
  conn.socket = net.connect({
    host,
    port,
    noDelay: true,
    onread: {
      buffer: readBuffer,
      callback: (n: number, buf: Uint8Array): boolean => {
        const r = conn.reader;
        // Bytes nobody asked for (a kept connection is quiet between answers): not ours to read.
        if (r === null) conn.socket.destroy();
        else r.bytes(buf as Buffer, n);
        return true;
      },
    },
  });
  conn.socket.on('error', (err) => {
    const r = conn.reader;
    conn.reader = null;
    dropIdle(conn);
    r?.ended(err);
  });
  // Half-closed by the server: the end of a close-delimited body, or a kept connection let go.
  conn.socket.on('end', () => conn.reader?.ended(null));
  conn.socket.on('close', () => {
    const r = conn.reader;
    conn.reader = null;
    dropIdle(conn);
    r?.ended(coded('socket hang up', 'ECONNRESET'));
  });
  return conn;
}

function takeIdle(key: string): Conn | null {
  const list = idle.get(key);
  while (list !== undefined && list.length > 0) {
    // The most recently used: the least likely to have been closed by the server meanwhile.
    const conn = list.pop()!;
    if (list.length === 0) idle.delete(key);
    if (!conn.socket.destroyed && conn.socket.readyState === 'open') {
      conn.socket.ref();
      return conn;
    }
    conn.socket.destroy();
  }
  return null;
}

function release(conn: Conn): void {
  conn.reader = null;
  conn.reused = true;
  let list = idle.get(conn.key);
  if (list === undefined) idle.set(conn.key, (list = []));
  if (conn.socket.destroyed || list.length >= MAX_IDLE_PER_HOST) return void conn.socket.destroy();
  // A kept connection never holds the process open (node's agent unrefs its free sockets too).
  conn.socket.unref();
  list.push(conn);
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// What node:http refuses in a header value (its checkInvalidHeaderChar): CR, LF, NUL, other
// controls but tab, and anything past U+00FF.
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** What a request needs of its URL's origin, parsed once per origin. */
interface Origin {
  /** For net.connect: an IPv6 literal bare. */
  hostname: string;
  port: number;
  /** The Host header: host[:port], the port only when not 80 (as URL.host gives it). */
  host: string;
  /** Basic credentials from the URL's userinfo, or null. */
  authorization: string | null;
}

const origins = new Map<string, Origin>();

function originOf(origin: string): Origin {
  let o = origins.get(origin);
  if (o !== undefined) return o;
  let u: URL;
  try {
    u = new URL(origin + '/');
  } catch {
    throw Object.assign(new TypeError('invalid URL'), { code: 'ERR_INVALID_URL' });
  }
  const user =
    u.username === '' ? null : `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`;
  o = {
    hostname: u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname,
    port: u.port === '' ? 80 : Number(u.port),
    host: u.host,
    authorization: user === null ? null : 'Basic ' + Buffer.from(user, 'utf8').toString('base64'),
  };
  // A handful in practice (the sources' bases); bounded all the same.
  if (origins.size >= 64) origins.clear();
  origins.set(origin, o);
  return o;
}

// A path a request line can carry as it is: visible ASCII, no dot segments or backslashes for
// URL to normalise. Anything else goes through URL, which percent-encodes and resolves it.
const PLAIN_PATH = /^\/[\x21-\x7e]*$/;
const NEEDS_URL = /\\|\/\.|%2e/i;

/**
 * Splits an http: URL into its origin (parsed once, cached) and the request target. Why not
 * `new URL` per request: a Tencent URL carries 500 codes (~4.5 KB), and parsing it each time
 * showed in the profile (~50 µs per request).
 */
function target(url: string): [Origin, string] {
  let i = 7; // after "http://"
  while (i < url.length) {
    const c = url.charCodeAt(i);
    if (c === 0x2f || c === 0x3f || c === 0x23) break;
    i++;
  }
  const o = originOf(url.slice(0, i));
  let path = url.slice(i);
  const hash = path.indexOf('#');
  if (hash >= 0) path = path.slice(0, hash);
  if (path === '' || path[0] === '?') path = '/' + path;
  if (!PLAIN_PATH.test(path) || NEEDS_URL.test(path)) {
    const u = new URL(url);
    path = u.pathname + u.search;
    // What node:http refuses in a path (its INVALID_PATH_REGEX); URL has encoded the rest.
    if (/[^\x21-\xff]/.test(path))
      throw coded('Request path contains unescaped characters', 'ERR_UNESCAPED_CHARACTERS');
  }
  return [o, path];
}

/**
 * The request head: our defaults, then the caller's headers over them by name regardless of
 * case. Throws (nothing sent) on a name or value that would split or corrupt the request.
 */
function requestHead(
  o: Origin,
  path: string,
  defaults: Record<string, string>,
  extra: Record<string, string> | undefined,
): string {
  const merged = new Map<string, [string, string]>();
  for (const [k, v] of Object.entries(defaults)) merged.set(k.toLowerCase(), [k, v]);
  if (extra !== undefined)
    for (const [k, v] of Object.entries(extra)) merged.set(k.toLowerCase(), [k, String(v)]);
  if (o.authorization !== null && !merged.has('authorization'))
    merged.set('authorization', ['Authorization', o.authorization]);
  // Ours to say: one connection kept alive, framing is the answer's.
  for (const k of ['host', 'connection', 'content-length', 'transfer-encoding']) merged.delete(k);
  let head = `GET ${path} HTTP/1.1\r\nHost: ${o.host}\r\nConnection: keep-alive\r\n`;
  for (const [name, value] of merged.values()) {
    if (!TOKEN.test(name))
      throw coded(`Header name must be a valid HTTP token ["${name}"]`, 'ERR_INVALID_HTTP_TOKEN');
    if (BAD_VALUE.test(value))
      throw coded(`Invalid character in header content ["${name}"]`, 'ERR_INVALID_CHAR');
    head += `${name}: ${value}\r\n`;
  }
  return head + '\r\n';
}

const ZLIB_OPTIONS = { finishFlush: zlib.constants.Z_SYNC_FLUSH };
const BROTLI_OPTIONS = { finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH };
const ZLIB_HEADER = Buffer.from([0x78, 0x9c]);

/** The body as axios decodes it (see the header comment); `raw` as is when it was not encoded. */
function decode(encoding: string, raw: Collected, maxBytes: number): Collected {
  const zlibCoded =
    encoding === 'gzip' ||
    encoding === 'x-gzip' ||
    encoding === 'compress' ||
    encoding === 'x-compress' ||
    encoding === 'deflate';
  // Nothing to decode: an unknown coding is handed on as it came, as axios does.
  if (raw.length === 0 || (!zlibCoded && encoding !== 'br')) return raw;
  let bytes = raw.buf.subarray(0, raw.length);
  let out: Buffer;
  try {
    if (zlibCoded) {
      // A raw deflate stream gets the zlib header it lacks, as axios' ZlibHeaderTransformStream adds it.
      if (encoding === 'deflate' && bytes[0] !== 0x78) bytes = Buffer.concat([ZLIB_HEADER, bytes]);
      out = zlib.unzipSync(bytes, { ...ZLIB_OPTIONS, maxOutputLength: maxBytes });
    } else out = zlib.brotliDecompressSync(bytes, { ...BROTLI_OPTIONS, maxOutputLength: maxBytes });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new BodyTooLarge();
    throw err;
  } finally {
    if (raw.leased) giveBack(raw.buf);
  }
  // zlib's own buffer, not one of the pool's: it is not given back.
  return { buf: out, length: out.length, leased: false };
}

const enum Stage {
  Head,
  Fixed,
  UntilClose,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  Done,
}

/**
 * GET `u` (an http: URL) with `headers`; the answer's status, headers and body (decoded). Fails
 * with BodyTooLarge past `maxBytes`, BodyIdle (or ETIMEDOUT before the first byte) after
 * `timeoutMs` (0: never) without a byte, node-style coded errors otherwise, and the signal's
 * reason when aborted.
 */
export async function getPlain(
  url: string,
  defaults: Record<string, string>,
  headers: Record<string, string> | undefined,
  timeoutMs: number,
  maxBytes: number,
  signal: AbortSignal,
): Promise<PlainAnswer> {
  const [o, path] = target(url);
  const head = requestHead(o, path, defaults, headers);
  const key = `${o.hostname}:${o.port}`;
  if (signal.aborted) throw signal.reason;
  const kept = takeIdle(key);
  try {
    return await exchange(kept ?? connect(o.hostname, o.port, key), head, timeoutMs, maxBytes, signal);
  } catch (err) {
    if (!(err instanceof StaleConnection)) throw err;
    return exchange(connect(o.hostname, o.port, key), head, timeoutMs, maxBytes, signal);
  }
}

/** Where a head ends: the index of its blank line and that line's length with the one before. */
function headEnd(b: Buffer, from: number): [number, number] | null {
  const crlf = b.indexOf('\r\n\r\n', from, 'latin1');
  // Bare LF line ends, which llhttp tolerates too.
  const lf = b.indexOf('\n\n', from, 'latin1');
  if (lf >= 0 && (crlf < 0 || lf < crlf)) return [lf, 2];
  return crlf >= 0 ? [crlf, 4] : null;
}

/** A kept connection closed before any byte of the answer: the request is safe to send again. */
class StaleConnection extends Error {}

function exchange(
  conn: Conn,
  request: string,
  timeoutMs: number,
  maxBytes: number,
  signal: AbortSignal,
): Promise<PlainAnswer> {
  return new Promise<PlainAnswer>((resolve, reject) => {
    if (signal.aborted) {
      conn.socket.destroy();
      return reject(signal.reason as Error);
    }
    let stage = Stage.Head;
    let seen = false; // any byte of the answer
    let headBytes: Buffer | null = null; // a head split over reads, gathered
    let status = 0;
    let headers: Record<string, string> = {};
    let keepAlive = true;
    let encoding = '';
    let remaining = 0; // of a Content-Length body or of the current chunk
    let line = '';
    let body: Collected | null = null;
    let settled = false;
    let lastAt = performance.now();

    const finish = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      if (err !== null) {
        conn.reader = null;
        conn.socket.destroy();
        if (body?.leased) giveBack(body.buf);
        return reject(err);
      }
      if (keepAlive) release(conn);
      else {
        conn.reader = null;
        conn.socket.destroy();
      }
      let got: Collected = body ?? { buf: lease(0), length: 0, leased: true };
      try {
        got = encoding === '' ? got : decode(encoding, got, maxBytes);
      } catch (e) {
        return reject(e as Error);
      }
      resolve({ status, headers, got });
    };
    const onAbort = (): void =>
      finish(signal.reason instanceof Error ? signal.reason : coded('aborted', 'ABORT_ERR'));
    signal.addEventListener('abort', onAbort, { once: true });
    const onIdle = (): void => {
      const quiet = performance.now() - lastAt;
      if (quiet >= timeoutMs)
        return finish(seen ? new BodyIdle() : coded(`idle for ${timeoutMs} ms`, 'ETIMEDOUT'));
      timer = setTimeout(onIdle, timeoutMs - quiet);
    };
    let timer = timeoutMs > 0 ? setTimeout(onIdle, timeoutMs) : undefined;

    /** Takes a complete head; the error when it is not one we accept. */
    const takeHead = (text: string): Error | null => {
      const lines = text.split(/\r?\n/);
      const m = /^HTTP\/1\.([01]) (\d{3})(?: [^\r\n]*)?$/.exec(lines[0]!);
      if (m === null) return coded('Parse Error: Expected HTTP/', 'HPE_INVALID_CONSTANT');
      status = Number(m[2]);
      const h: Record<string, string> = {};
      for (let i = 1; i < lines.length; i++) {
        const l = lines[i]!;
        if (l === '') continue;
        const colon = l.indexOf(':');
        const name = colon > 0 ? l.slice(0, colon) : '';
        // No obsolete line folding, no space before the colon (RFC 9112 §5.1, §5.2): llhttp refuses both.
        if (!TOKEN.test(name)) return coded('Parse Error: Invalid header token', 'HPE_INVALID_HEADER_TOKEN');
        const k = name.toLowerCase();
        const v = l.slice(colon + 1).trim();
        h[k] = h[k] === undefined ? v : `${h[k]}, ${v}`;
      }
      headers = h;
      if (status < 200) return null; // 1xx: an interim answer; the real one follows
      const connection = (h['connection'] ?? '').toLowerCase();
      keepAlive =
        m[1] === '1'
          ? !/(?:^|,)\s*close\s*(?:,|$)/.test(connection)
          : /(?:^|,)\s*keep-alive\s*(?:,|$)/.test(connection);
      encoding = status === 204 ? '' : (h['content-encoding'] ?? '').trim().toLowerCase();
      if (encoding === 'identity') encoding = '';
      const te = h['transfer-encoding'];
      const cl = h['content-length'];
      if (te !== undefined && cl !== undefined)
        return coded(
          "Parse Error: Content-Length can't be present with Transfer-Encoding",
          'HPE_UNEXPECTED_CONTENT_LENGTH',
        );
      if (status === 204 || status === 304) {
        stage = Stage.Done;
        return null;
      }
      if (te !== undefined) {
        const codings = te
          .toLowerCase()
          .split(',')
          .map((s) => s.trim());
        if (codings[codings.length - 1] === 'chunked') stage = Stage.ChunkSize;
        else {
          stage = Stage.UntilClose;
          keepAlive = false;
        }
      } else if (cl !== undefined) {
        const values = cl.split(',').map((s) => s.trim());
        if (!values.every((v) => /^\d+$/.test(v) && v === values[0]))
          return coded('Parse Error: Invalid Content-Length', 'HPE_UNEXPECTED_CONTENT_LENGTH');
        remaining = Number(values[0]);
        if (remaining > maxBytes) return new BodyTooLarge();
        stage = remaining === 0 ? Stage.Done : Stage.Fixed;
      } else {
        stage = Stage.UntilClose;
        keepAlive = false;
      }
      // Sized from Content-Length up to what the pool keeps, grown past it only by bytes that
      // came: a server announcing 8 MB and then stalling costs no 8 MB.
      body = {
        buf: lease(stage === Stage.Fixed ? Math.min(remaining, POOL_KEEP_BYTES) : 0),
        length: 0,
        leased: true,
      };
      return null;
    };

    const put = (buf: Buffer, from: number, to: number): boolean => {
      if (append(body!, buf, from, to, maxBytes)) return true;
      finish(new BodyTooLarge());
      return false;
    };

    /** One line (no CR/LF) of a chunked body's framing, or null until it is complete. */
    const lineFrom = (buf: Buffer, at: number, n: number): [string | null, number] => {
      // Searched within this read only: past `n` the shared buffer holds an earlier read's bytes.
      const lf = buf.subarray(at, n).indexOf(0x0a);
      const end = lf < 0 ? n : at + lf;
      line += buf.toString('latin1', at, end);
      if (line.length > MAX_LINE) {
        finish(coded('Parse Error: Chunk size line too long', 'HPE_INVALID_CHUNK_SIZE'));
        return [null, n];
      }
      if (end === n) return [null, n];
      const out = line.endsWith('\r') ? line.slice(0, -1) : line;
      line = '';
      return [out, end + 1];
    };

    const bytes = (buf: Buffer, n: number): void => {
      if (settled) return;
      if (n < 0) return; // an error; the socket reports it as 'error'
      lastAt = performance.now();
      seen = true;
      let at = 0;
      while (at < n && !settled) {
        switch (stage) {
          case Stage.Head: {
            // The head may come split over reads: what came so far is kept in headBytes.
            const fresh = buf.subarray(at, n);
            const prior = headBytes === null ? 0 : headBytes.length;
            const joined = headBytes === null ? fresh : Buffer.concat([headBytes, fresh]);
            const found = headEnd(joined, Math.max(0, prior - 3));
            if (found === null) {
              if (joined.length > MAX_HEAD_BYTES)
                return finish(coded('Parse Error: Header overflow', 'HPE_HEADER_OVERFLOW'));
              // A copy: `fresh` is the shared read buffer, overwritten by the next read.
              headBytes = Buffer.from(joined);
              at = n;
              break;
            }
            const [end, sep] = found;
            if (end > MAX_HEAD_BYTES)
              return finish(coded('Parse Error: Header overflow', 'HPE_HEADER_OVERFLOW'));
            headBytes = null;
            at += end + sep - prior;
            const failed = takeHead(joined.toString('latin1', 0, end));
            if (failed !== null) return finish(failed);
            break;
          }
          case Stage.Fixed:
          case Stage.ChunkData: {
            // A Content-Length body or one chunk: `remaining` bytes still to come.
            const take = Math.min(remaining, n - at);
            if (!put(buf, at, at + take)) return;
            at += take;
            remaining -= take;
            if (remaining === 0) stage = stage === Stage.Fixed ? Stage.Done : Stage.ChunkDataEnd;
            break;
          }
          case Stage.UntilClose:
            if (!put(buf, at, n)) return;
            at = n;
            break;
          case Stage.ChunkSize: {
            const [l, next] = lineFrom(buf, at, n);
            at = next;
            if (l === null) break;
            const size = /^([0-9a-fA-F]{1,8})[ \t]*(?:;.*)?$/.exec(l);
            if (size === null)
              return finish(coded('Parse Error: Invalid character in chunk size', 'HPE_INVALID_CHUNK_SIZE'));
            remaining = parseInt(size[1]!, 16);
            stage = remaining === 0 ? Stage.Trailers : Stage.ChunkData;
            if (remaining > maxBytes - body!.length) return finish(new BodyTooLarge());
            break;
          }
          case Stage.ChunkDataEnd: {
            const [l, next] = lineFrom(buf, at, n);
            at = next;
            if (l === null) break;
            if (l !== '') return finish(coded('Parse Error: Expected LF after chunk data', 'HPE_STRICT'));
            stage = Stage.ChunkSize;
            break;
          }
          case Stage.Trailers: {
            const [l, next] = lineFrom(buf, at, n);
            at = next;
            if (l === null) break;
            if (l === '') stage = Stage.Done;
            break;
          }
        }
        if (stage === Stage.Done) {
          // Bytes past the answer: nothing was asked for them, so this connection is not reused.
          if (at < n) keepAlive = false;
          return finish(null);
        }
      }
    };

    const ended = (err: Error | null): void => {
      if (settled) return;
      if (err === null && stage === Stage.UntilClose) return finish(null);
      if (!seen && conn.reused && !signal.aborted) return finish(new StaleConnection());
      // As node:http names them: closed before any answer, or part-way through one.
      finish(
        err ??
          (seen
            ? new Error('connection closed before the answer ended')
            : coded('socket hang up', 'ECONNRESET')),
      );
    };
    conn.reader = { bytes, ended };
    conn.socket.write(request, 'latin1');
  });
}

/** Closes every kept connection (tests, shutdown). */
export function closeIdleConnections(): void {
  for (const list of [...idle.values()]) for (const c of [...list]) c.socket.destroy();
  idle.clear();
}
