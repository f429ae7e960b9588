/**
 * A client that POSTs an endless chunked body as fast as the server takes it, the way the
 * issue-16 reproduction did (6 GB in 10 s): it reports what came back, whether the server closed
 * the connection, and how many body bytes the server let it push meanwhile.
 */
import { connect } from 'node:net';

export interface UploadOutcome {
  /** Everything the server sent back (status line, headers, body). */
  response: string;
  /** The server ended or reset the connection before `waitMs` ran out. */
  closed: boolean;
  /** Body bytes written into the connection before it closed (or time ran out). */
  written: number;
  ms: number;
}

export function endlessUpload(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  waitMs = 5000,
  /** Declare this Content-Length (and send a raw body) instead of chunked encoding. */
  o: { contentLength?: number } = {},
): Promise<UploadOutcome> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    const frame =
      o.contentLength === undefined
        ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')])
        : chunk;
    let response = '';
    let written = 0;
    let finished = false;
    const done = (closed: boolean) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ response, closed, written, ms: Date.now() - started });
    };
    const timer = setTimeout(() => done(false), waitMs);
    const pump = () => {
      while (!finished && !socket.destroyed) {
        written += chunk.length;
        if (!socket.write(frame)) return; // wait for 'drain': the server is not reading
      }
    };
    socket.on('connect', () => {
      const head = [
        `POST ${path} HTTP/1.1`,
        'Host: 127.0.0.1',
        o.contentLength === undefined ? 'Transfer-Encoding: chunked' : `Content-Length: ${o.contentLength}`,
        'Content-Type: application/octet-stream',
        ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
        '',
        '',
      ].join('\r\n');
      socket.write(head);
      pump();
    });
    socket.on('drain', pump);
    socket.on('data', (d: Buffer) => (response += d.toString('latin1')));
    socket.on('end', () => done(true));
    socket.on('close', () => done(true));
    socket.on('error', () => done(true));
  });
}
