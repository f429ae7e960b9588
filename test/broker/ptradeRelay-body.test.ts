/**
 * Issue 16 item 9 for the PTrade relay: an oversized POST /v1/relay/results gets 413 and the
 * connection is closed (the server does not drain an endless upload); normal requests go on.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PtradeRelayBroker } from '../../src/broker/ptradeRelay.ts';
import { endlessUpload } from '../helpers/endlessUpload.ts';

const TOKEN = 'relay-token-9f3k';
let relay: PtradeRelayBroker;
let port: number;

beforeEach(async () => {
  relay = new PtradeRelayBroker({ token: TOKEN, clock: { now: () => Date.now() }, resultTimeoutMs: 600 });
  port = await relay.listen(0);
});
afterEach(async () => {
  await relay.close();
});

describe('PTrade relay request bodies', () => {
  it('an endless body: 413 with a JSON error, the connection closed, the relay still serving', async () => {
    const out = await endlessUpload(port, '/v1/relay/results', { Authorization: `Bearer ${TOKEN}` });
    expect(out.response).toMatch(/^HTTP\/1\.1 413/);
    expect(out.response.toLowerCase()).toContain('connection: close');
    expect(out.response).toContain('"code":"INVALID_ARGUMENT"');
    expect(out.closed).toBe(true);
    expect(out.ms).toBeLessThan(3000);
    const res = await fetch(`http://127.0.0.1:${port}/v1/relay/commands`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.status).toBe(200);
  });

  it('a declared Content-Length over 1 MiB is refused at once', async () => {
    const out = await endlessUpload(port, '/v1/relay/results', { Authorization: `Bearer ${TOKEN}` }, 5000, {
      contentLength: 5 * 1024 * 1024 * 1024,
    });
    expect(out.response).toMatch(/^HTTP\/1\.1 413/);
    expect(out.closed).toBe(true);
  });

  it('an unauthenticated endless body is answered 401 and closed too', async () => {
    const out = await endlessUpload(port, '/v1/relay/results', { Authorization: 'Bearer wrong' });
    expect(out.response).toMatch(/^HTTP\/1\.1 401/);
    expect(out.closed).toBe(true);
  });
});
