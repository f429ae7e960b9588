/**
 * Issue 16 item 9 for the PTrade relay: an oversized POST /v1/relay/results gets 413 and the
 * connection is closed (the server does not drain an endless upload); normal requests go on.
 * The same for POST /v1/relay/quotes (v1.1), whose cap is 8 MiB (5,000 codes' events are ~2 MB).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PtradeRelayBroker } from '../../src/broker/ptradeRelay.ts';
import { RelayQuoteFeed } from '../../src/market/relayQuotes.ts';
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

  it('quotes: an endless body is 413 and closed; a declared 9 MiB refused at once; 8 MiB-sized posts are read', async () => {
    relay.attachQuotes(new RelayQuoteFeed());
    const auth = { Authorization: `Bearer ${TOKEN}` };
    const out = await endlessUpload(port, '/v1/relay/quotes', auth);
    expect(out.response).toMatch(/^HTTP\/1\.1 413/);
    expect(out.closed).toBe(true);
    const big = await endlessUpload(port, '/v1/relay/quotes', auth, 5000, { contentLength: 9 * 1024 * 1024 });
    expect(big.response).toMatch(/^HTTP\/1\.1 413/);
    // 3 MB of JSON (more than the results cap) is read and judged, not cut off.
    const res = await fetch(`http://127.0.0.1:${port}/v1/relay/quotes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ quotes: [], pad: 'x'.repeat(3_000_000) }),
    });
    expect(res.status).toBe(200);
  });
});
