/**
 * Issue 16 item 9: the callback server answers an oversized body with 413 and closes the
 * connection instead of draining an endless upload (the reproduction pushed 6 GB in 10 s).
 */
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WecomApp } from '../../src/chat/wecom/app.ts';
import { MAX_BODY_BYTES, WecomCallbackServer } from '../../src/chat/wecom/callbackServer.ts';
import type { WecomInbound } from '../../src/chat/wecom/inbound.ts';
import { endlessUpload } from '../helpers/endlessUpload.ts';

const silent = pino({ level: 'silent' });
let server: Server;
let port: number;
let bytesRead: () => number;

beforeEach(async () => {
  const inbound: WecomInbound = { onText: async () => '', onButton: async () => '' };
  const callback = new WecomCallbackServer({
    token: 'QDG6eK',
    encodingAESKey: 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C',
    corpId: 'wx5823bf96d3bd56c7',
    allowedUsers: ['ZhangSan'],
    app: new WecomApp({
      corpId: 'wx5823bf96d3bd56c7',
      agentId: 1,
      secret: 's',
      logger: silent,
      apiRoot: 'http://127.0.0.1:9',
    }),
    inbound,
    logger: silent,
  });
  server = await callback.listen(0, '127.0.0.1');
  port = (server.address() as AddressInfo).port;
  let total = 0;
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => (total += s.bytesRead));
  });
  bytesRead = () => total + [...sockets].filter((s) => !s.destroyed).reduce((n, s) => n + s.bytesRead, 0);
});
afterEach(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const QUERY =
  '/wecom/callback?msg_signature=0123456789abcdef0123456789abcdef01234567&timestamp=1767594725&nonce=42';

describe('bounded callback bodies', () => {
  it('an endless chunked body: 413, the connection is closed and the server stops reading', async () => {
    const out = await endlessUpload(port, QUERY);
    expect(out.response).toMatch(/^HTTP\/1\.1 413/);
    expect(out.response.toLowerCase()).toContain('connection: close');
    expect(out.closed).toBe(true);
    expect(out.ms).toBeLessThan(3000);
    // What the server took off the wire: the 64 KB ceiling plus one socket read, not the stream.
    expect(bytesRead()).toBeLessThan(MAX_BODY_BYTES + 512 * 1024);
    // The server is still there for the next (normal) request.
    const res = await fetch(`http://127.0.0.1:${port}${QUERY}`, { method: 'POST', body: '<xml></xml>' });
    expect(res.status).toBe(400);
  });

  it('a declared Content-Length over the ceiling is refused before any body byte is read', async () => {
    const out = await endlessUpload(port, QUERY, {}, 5000, { contentLength: 10 * 1024 * 1024 * 1024 });
    expect(out.response).toMatch(/^HTTP\/1\.1 413/);
    expect(out.closed).toBe(true);
    expect(bytesRead()).toBeLessThan(512 * 1024);
  });

  it('a request refused before its body is read (no signature) is closed, not drained', async () => {
    const out = await endlessUpload(port, '/wecom/callback');
    expect(out.response).toMatch(/^HTTP\/1\.1 400/);
    expect(out.closed).toBe(true);
    expect(bytesRead()).toBeLessThan(512 * 1024);
  });
});
