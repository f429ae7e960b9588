/**
 * The quote GET on node:net (plainHttp.ts) against real servers: node:http's own server (what the
 * bench market and most test sources are) and raw net servers writing the byte sequences
 * RFC 9112 allows and real origins send, split at awkward places: framing by Content-Length,
 * chunked (extensions, trailers) and connection close (§6.3), interim 1xx answers (§15.2),
 * HTTP/1.0 keep-alive rules (§9.3), and the refusals node's llhttp makes (Content-Length with
 * Transfer-Encoding, a non-HTTP answer). The keep-alive cases follow node's agent: a kept
 * connection is reused, one the server closed in the meantime is not an error.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { getAnswer, QuoteHttpError } from '../../src/market/httpClient.ts';
import { closeIdleConnections } from '../../src/market/plainHttp.ts';
import { fixtureBytes } from '../helpers/fixtures.ts';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  closeIdleConnections();
  for (const c of closers.splice(0)) await c();
});

/** A raw TCP server: `onConnection(socket, n)` for the n-th connection (1-based); records request heads. */
async function rawServer(onRequest: (socket: net.Socket, conn: number, req: number) => void): Promise<{
  url: string;
  connections: () => number;
  heads: string[];
}> {
  let connections = 0;
  const heads: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    const conn = ++connections;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let pending = '';
    let reqs = 0;
    socket.on('data', (d) => {
      pending += d.toString('latin1');
      let end: number;
      while ((end = pending.indexOf('\r\n\r\n')) >= 0) {
        heads.push(pending.slice(0, end));
        pending = pending.slice(end + 4);
        onRequest(socket, conn, ++reqs);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  closers.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return { url: `http://127.0.0.1:${port}`, connections: () => connections, heads };
}

/** Writes `parts` one at a time, a few ms apart, so each arrives in a read of its own. */
function dribble(socket: net.Socket, parts: (string | Buffer)[], then?: () => void): void {
  socket.setNoDelay(true);
  let i = 0;
  const next = (): void => {
    if (socket.destroyed) return;
    if (i >= parts.length) return then?.();
    socket.write(parts[i++]!);
    setTimeout(next, 3);
  };
  next();
}

const body = fixtureBytes('tencent_20221122_gbk.txt');

describe('plain HTTP/1.1 on node:net, as node:http speaks it', () => {
  it('keeps the connection alive: a second poll goes on the same socket, no new handshake', async () => {
    const ports: number[] = [];
    const server = http.createServer((req, res) => {
      ports.push(req.socket.remotePort!);
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(
      () =>
        new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
    );
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/q=sz002116`;
    for (let i = 0; i < 3; i++)
      expect((await getAnswer('tencent', url, { retries: 0 })).body.equals(body)).toBe(true);
    expect(new Set(ports).size).toBe(1);
  });

  it('a kept connection the server closed as the next poll arrived is retried at once on a new one, not reported', async () => {
    const s = await rawServer((socket, conn) => {
      // The first connection answers once, then dies on the next request: the keep-alive race.
      if (conn === 1 && s.heads.length > 1) return void socket.destroy();
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`);
      socket.write(body);
    });
    const url = `${s.url}/q=sz002116`;
    await getAnswer('tencent', url, { retries: 0 });
    const again = await getAnswer('tencent', url, { retries: 0 });
    expect(again.body.equals(body)).toBe(true);
    expect(s.connections()).toBe(2);
  });

  it('a new connection closed before any answer is a network error (socket hang up), never retried unasked', async () => {
    const s = await rawServer((socket) => socket.destroy());
    const err = (await getAnswer('tencent', `${s.url}/q=x`, { retries: 0 }).catch(
      (e: unknown) => e,
    )) as QuoteHttpError;
    expect(err).toBeInstanceOf(QuoteHttpError);
    expect(err.kind).toBe('network');
    expect(err.message).toMatch(/cannot reach http:\/\/127\.0\.0\.1:\d+ \(ECONNRESET\)/);
    expect(s.connections()).toBe(1);
  });

  it('a chunked body with chunk extensions and trailers, every byte in a read of its own, arrives exact', async () => {
    const text = 'v_sz002116="51~x~002116~10.02";\n';
    const s = await rawServer((socket) => {
      const wire =
        'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' +
        `5;name=value\r\n${text.slice(0, 5)}\r\n` +
        `${(text.length - 5).toString(16).toUpperCase()}\r\n${text.slice(5)}\r\n` +
        '0\r\nX-Trailer: yes\r\n\r\n';
      dribble(socket, wire.split(''));
    });
    const a = await getAnswer('tencent', `${s.url}/q=sz002116`, { retries: 0 });
    expect(a.body.toString('latin1')).toBe(text);
  });

  it('HTTP/1.0 without a length: the body is what came before the server closed, and the socket is not kept', async () => {
    const s = await rawServer((socket) =>
      dribble(socket, ['HTTP/1.0 200 OK\r\n', 'Server: x\r\n\r\n', body], () => socket.end()),
    );
    const a = await getAnswer('tencent', `${s.url}/q=sz002116`, { retries: 0 });
    expect(a.body.equals(body)).toBe(true);
    await getAnswer('tencent', `${s.url}/q=sz002116`, { retries: 0 });
    expect(s.connections()).toBe(2);
  });

  it('an interim 100 Continue is skipped; the answer after it is the one read', async () => {
    const s = await rawServer((socket) =>
      socket.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello'),
    );
    const a = await getAnswer('tencent', `${s.url}/q=x`, { retries: 0 });
    expect(a.body.toString()).toBe('hello');
  });

  it('"Connection: close" and bytes past the answer both mean the socket is not reused', async () => {
    const s = await rawServer((socket, conn) =>
      socket.write(
        conn === 1
          ? 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok'
          : 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA',
      ),
    );
    for (let i = 0; i < 3; i++)
      expect((await getAnswer('tencent', `${s.url}/q=x`, { retries: 0 })).body.toString()).toBe('ok');
    expect(s.connections()).toBe(3);
  });

  it('Content-Length together with Transfer-Encoding is refused, as llhttp refuses it (request smuggling)', async () => {
    const s = await rawServer((socket) =>
      socket.write(
        'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
      ),
    );
    const err = (await getAnswer('tencent', `${s.url}/q=x`, { retries: 0 }).catch(
      (e: unknown) => e,
    )) as QuoteHttpError;
    expect(err.kind).toBe('network');
    expect(err.message).toMatch(/\(HPE_UNEXPECTED_CONTENT_LENGTH\)/);
  });

  it('an answer that is not HTTP at all is a network error naming the parse failure', async () => {
    const s = await rawServer((socket) => socket.end('SSH-2.0-OpenSSH_9.2\r\n\r\n'));
    const err = (await getAnswer('tencent', `${s.url}/q=x`, { retries: 0 }).catch(
      (e: unknown) => e,
    )) as QuoteHttpError;
    expect(err.kind).toBe('network');
    expect(err.message).toMatch(/\(HPE_INVALID_CONSTANT\)/);
  });

  it('a header value carrying CR/LF is refused before anything is sent (no header injection)', async () => {
    const s = await rawServer((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx'));
    const err = (await getAnswer('sina', `${s.url}/list=sh600519`, {
      retries: 0,
      headers: { Referer: 'https://finance.sina.com.cn/\r\nX-Injected: 1' },
    }).catch((e: unknown) => e)) as QuoteHttpError;
    expect(err.kind).toBe('network');
    expect(err.message).toMatch(/\(ERR_INVALID_CHAR\)/);
    expect(s.heads).toHaveLength(0);
  });

  it('the request line carries the path as given, Host with its port, credentials from the URL as Basic', async () => {
    const s = await rawServer((socket) => socket.write('HTTP/1.1 204 No Content\r\n\r\n'));
    const port = new URL(s.url).port;
    await getAnswer('tencent', `http://u%40x:p%3Aw@127.0.0.1:${port}/q=sh600519,sz000001#frag`, {
      retries: 0,
    }).catch(() => undefined);
    const lines = s.heads[0]!.split('\r\n');
    expect(lines[0]).toBe('GET /q=sh600519,sz000001 HTTP/1.1');
    expect(lines).toContain(`Host: 127.0.0.1:${port}`);
    expect(lines).toContain(`Authorization: Basic ${Buffer.from('u@x:p:w').toString('base64')}`);
  });

  it('a body past the cap on a chunked answer stops the read and the server', async () => {
    let written = 0;
    const s = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
      const chunk = Buffer.alloc(64 * 1024, 0x41);
      const pump = (): void => {
        while (!socket.destroyed && written < 64 * 1024 * 1024) {
          written += chunk.length;
          if (
            !socket.write(`${chunk.length.toString(16)}\r\n`) ||
            !socket.write(chunk) ||
            !socket.write('\r\n')
          )
            return void socket.once('drain', pump);
        }
      };
      pump();
    });
    const err = (await getAnswer('tencent', `${s.url}/q=x`, { retries: 0, maxBytes: 1024 * 1024 }).catch(
      (e: unknown) => e,
    )) as QuoteHttpError;
    expect(err.kind).toBe('too-large');
    expect(written).toBeLessThan(32 * 1024 * 1024);
  });
});
