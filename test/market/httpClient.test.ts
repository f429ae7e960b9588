/**
 * The shared quote GET against real slow and hostile loopback servers: node:http servers that
 * trickle a byte a second or stream hundreds of megabytes, as issue 16 item 4 saw in the field.
 * The Date header is the one every HTTP/1.1 origin server sends (RFC 9110 §6.6.1; node:http
 * sets it by default, `sendDate`), at second resolution.
 */
import type http from 'node:http';
import zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { getAnswer, QuoteHttpError } from '../../src/market/httpClient.ts';
import { TencentFeed } from '../../src/market/tencent.ts';
import { fixtureBytes } from '../helpers/fixtures.ts';
import type { QuoteServer } from './quoteServer.ts';
import { startQuoteServer } from './quoteServer.ts';

let server: QuoteServer | undefined;
const timers: NodeJS.Timeout[] = [];
afterEach(async () => {
  for (const t of timers.splice(0)) clearInterval(t);
  await server?.close();
  server = undefined;
});

/** Headers at once, then one byte a second: an idle timeout never fires. */
async function trickler(): Promise<QuoteServer> {
  return startQuoteServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=GBK' });
    const body = Buffer.from('v_sz002116="51~x~002116~10.02";\n'.repeat(100));
    let i = 0;
    const t = setInterval(() => {
      if (res.destroyed || i >= body.length) return clearInterval(t);
      res.write(body.subarray(i, ++i));
    }, 1000);
    timers.push(t);
    res.on('close', () => clearInterval(t));
  });
}

describe('getAnswer', () => {
  it('gives up on a source trickling 1 byte/s at the total deadline, though every byte beats the idle timeout', async () => {
    server = await trickler();
    const t0 = performance.now();
    const err = await getAnswer('tencent', server.url + '/q=sz002116', {
      timeoutMs: 3000,
      deadlineMs: 1500,
      retries: 2,
    }).catch((e: unknown) => e);
    const took = performance.now() - t0;
    expect(err).toBeInstanceOf(QuoteHttpError);
    expect((err as QuoteHttpError).kind).toBe('deadline');
    expect((err as Error).message).toMatch(
      /tencent: no complete answer from http:\/\/127\.0\.0\.1:\d+ within 1500 ms/,
    );
    expect(took).toBeGreaterThanOrEqual(1400);
    expect(took).toBeLessThan(2500);
  });

  it('a deadline given per fetch (the poll cycle) applies to the adapter', async () => {
    server = await trickler();
    const feed = new TencentFeed({ baseUrl: server.url, timeoutMs: 5000 });
    const t0 = performance.now();
    await expect(feed.fetch(['002116.SZ'], undefined, 800)).rejects.toThrow(/within 800 ms \(slow source\)/);
    expect(performance.now() - t0).toBeLessThan(1800);
  });

  it('cuts a 200 MB body off at the cap, keeps memory bounded, and fails without retrying', async () => {
    let requests = 0;
    let sent = 0;
    const chunk = Buffer.alloc(1024 * 1024, 0x41);
    server = await startQuoteServer((_req, res) => {
      requests++;
      res.writeHead(200, { 'content-type': 'text/html' });
      const pump = (): void => {
        while (sent < 200 * chunk.length && !res.destroyed) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => undefined);
      pump();
    });
    const before = process.memoryUsage().rss;
    const err = await getAnswer('sina', server.url + '/list=sz002116', {
      maxBytes: 4 * 1024 * 1024,
      deadlineMs: 20_000,
    }).catch((e: unknown) => e);
    expect((err as QuoteHttpError).kind).toBe('too-large');
    expect((err as Error).message).toMatch(
      /sina: http:\/\/127\.0\.0\.1:\d+ sent more than 4 MB; answer cut off/,
    );
    expect(requests).toBe(1);
    // The server was stopped long before it sent everything, and we never held it all.
    expect(sent).toBeLessThan(100 * chunk.length);
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024);
  });

  it('returns the Date header and when the request was sent and answered', async () => {
    server = await startQuoteServer((_req, res) => {
      res.setHeader('date', 'Mon, 23 Nov 2026 02:01:00 GMT');
      res.end('v_pv_none_match="1";\n');
    });
    const before = performance.now();
    const { timing } = await getAnswer('tencent', server.url + '/q=x');
    expect(timing.serverDate).toBe(Date.parse('2026-11-23T10:01:00+08:00'));
    expect(timing.sentAt).toBeGreaterThanOrEqual(before);
    expect(timing.receivedAt).toBeGreaterThanOrEqual(timing.sentAt);
  });

  it('timeoutMs 0 is no idle limit, as axios reads it: a body sent in two parts 50 ms apart arrives whole', async () => {
    const part = Buffer.alloc(100_000, 0x41);
    server = await startQuoteServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.write(part);
      const t = setTimeout(() => res.end(part), 50);
      timers.push(t);
    });
    const { body } = await getAnswer('tencent', server.url + '/q=x', { timeoutMs: 0, retries: 0 });
    expect(body.length).toBe(200_000);
  });

  it('a body announced far over what the pool keeps, then stalled, fails at the deadline having held no such buffer', async () => {
    server = await startQuoteServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html', 'content-length': String(7 * 1024 * 1024) });
      res.write('v_');
    });
    const before = process.memoryUsage().arrayBuffers;
    const err = await getAnswer('tencent', server.url + '/q=x', { deadlineMs: 300, retries: 0 }).catch(
      (e: unknown) => e,
    );
    expect((err as QuoteHttpError).kind).toBe('deadline');
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(4 * 1024 * 1024);
  });
});

describe('proxies from the environment (as axios reads them: <scheme>_proxy, then all_proxy)', () => {
  const names = ['http_proxy', 'HTTP_PROXY', 'all_proxy', 'ALL_PROXY', 'no_proxy', 'NO_PROXY'];
  let saved: Record<string, string | undefined> = {};
  afterEach(() => {
    for (const n of names) {
      if (saved[n] === undefined) delete process.env[n];
      else process.env[n] = saved[n];
    }
  });
  const clear = () => {
    saved = Object.fromEntries(names.map((n) => [n, process.env[n]]));
    for (const n of names) delete process.env[n];
  };
  const body = 'v_sz002116="51~x~002116~10.02";\n';

  it('HTTP_PROXY set: the quote request goes through the proxy (an absolute URI on its request line)', async () => {
    clear();
    server = await startQuoteServer((_req, res) => res.end(body));
    process.env.HTTP_PROXY = server.url;
    const a = await getAnswer('tencent', 'http://qt.gtimg.invalid/q=sz002116', { retries: 0 });
    expect(a.body.toString()).toBe(body);
    expect(server.requests[0]!.url).toBe('http://qt.gtimg.invalid/q=sz002116');
  });

  it('ALL_PROXY alone also applies; with none set the request goes straight to the server', async () => {
    clear();
    server = await startQuoteServer((_req, res) => res.end(body));
    process.env.ALL_PROXY = server.url;
    await getAnswer('tencent', 'http://qt.gtimg.invalid/q=sz002116', { retries: 0 });
    expect(server.requests[0]!.url).toBe('http://qt.gtimg.invalid/q=sz002116');
    delete process.env.ALL_PROXY;
    await getAnswer('tencent', `${server.url}/q=sz002116`, { retries: 0 });
    expect(server.requests[1]!.url).toBe('/q=sz002116');
  });
});

/**
 * Straight to the server on node:http (no proxy set): the same bytes axios gave. What axios'
 * http adapter (lib/adapters/http.js, 1.x) asks for and decodes is the rule: Accept-Encoding
 * "gzip, compress, deflate, br"; gzip/x-gzip/compress/x-compress through zlib's unzip, deflate
 * the same after its ZlibHeaderTransformStream adds the 78 9C header a raw deflate stream lacks,
 * br through brotli, all with Z_SYNC_FLUSH so a body cut just short still yields what came; no
 * decoding on 204; redirects not followed (we set maxRedirects 0).
 */
describe('straight to the server: the headers, encodings and failures axios handled', () => {
  const body = fixtureBytes('tencent_20221122_gbk.txt');
  const encoders: Record<string, (b: Buffer) => Buffer> = {
    gzip: (b) => zlib.gzipSync(b),
    'x-gzip': (b) => zlib.gzipSync(b),
    deflate: (b) => zlib.deflateSync(b),
    'deflate (raw, no zlib header)': (b) => zlib.deflateRawSync(b),
    br: (b) => zlib.brotliCompressSync(b),
    identity: (b) => b,
  };
  const compressed = (res: http.ServerResponse, name: string): void => {
    const coding = name.startsWith('deflate') ? 'deflate' : name;
    res.writeHead(200, { 'content-type': 'text/html; charset=GBK', 'content-encoding': coding });
    res.end(encoders[name]!(body));
  };

  it("asks as axios asked: a plain UA, Accept */*, the encodings it can decode, and the caller's own headers", async () => {
    server = await startQuoteServer((_req, res) => res.end('x'));
    await getAnswer('sina', `${server.url}/list=sh600519`, {
      retries: 0,
      headers: { Referer: 'https://finance.sina.com.cn/' },
    });
    const h = server.requests[0]!.headers;
    expect(h['user-agent']).toBe('Mozilla/5.0 (SealGuard)');
    expect(h['accept']).toBe('*/*');
    expect(h['accept-encoding']).toBe('gzip, compress, deflate, br');
    expect(h['referer']).toBe('https://finance.sina.com.cn/');
    expect(h['connection']).toBe('keep-alive');
  });

  it.each(Object.keys(encoders))('a %s body comes back as the exact captured bytes', async (name) => {
    server = await startQuoteServer((_req, res) => compressed(res, name));
    const a = await getAnswer('tencent', `${server.url}/q=sz002116`, { retries: 0 });
    expect(a.body.equals(body)).toBe(true);
  });

  it('a corrupt gzip body fails as a network error with the source named, and is retried', async () => {
    server = await startQuoteServer((_req, res, n) => {
      if (n === 1) {
        res.writeHead(200, { 'content-encoding': 'gzip' });
        return res.end(Buffer.from('not gzip at all, just text'));
      }
      compressed(res, 'gzip');
    });
    const a = await getAnswer('tencent', `${server.url}/q=sz002116`, { retries: 1, backoffMs: 1 });
    expect(a.body.equals(body)).toBe(true);
    expect(server.requests).toHaveLength(2);
  });

  it('a corrupt gzip body with no retry left is reported, not handed on', async () => {
    server = await startQuoteServer((_req, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip' });
      res.end(Buffer.from('not gzip at all, just text'));
    });
    const err = (await getAnswer('tencent', `${server.url}/q=sz002116`, { retries: 0 }).catch(
      (e: unknown) => e,
    )) as QuoteHttpError;
    expect(err).toBeInstanceOf(QuoteHttpError);
    expect(err.kind).toBe('network');
    expect(err.message).toMatch(/^tencent: cannot reach http:\/\/127\.0\.0\.1:\d+ \(Z_DATA_ERROR\)/);
  });

  it('a 302 is not followed: one request, an error naming the status and the short body', async () => {
    server = await startQuoteServer((_req, res) => {
      res.writeHead(302, { location: '/elsewhere' });
      res.end('moved');
    });
    const err = (await getAnswer('tencent', `${server.url}/q=sz002116`, { retries: 2 }).catch(
      (e: unknown) => e,
    )) as QuoteHttpError;
    expect(err).toBeInstanceOf(QuoteHttpError);
    expect(err.status).toBe(302);
    expect(err.message).toMatch(/answered HTTP 302: "moved"/);
    expect(server.requests).toHaveLength(1);
  });

  it('no answer at all within the idle timeout is a network failure, retried, then reported', async () => {
    server = await startQuoteServer(() => undefined);
    const t0 = performance.now();
    const err = (await getAnswer('tencent', `${server.url}/q=sz002116`, {
      timeoutMs: 150,
      retries: 1,
      backoffMs: 1,
    }).catch((e: unknown) => e)) as QuoteHttpError;
    expect(err.kind).toBe('network');
    expect(err.message).toMatch(/tencent: no answer from http:\/\/127\.0\.0\.1:\d+ within 150 ms/);
    expect(server.requests).toHaveLength(2);
    expect(performance.now() - t0).toBeLessThan(1500);
  });

  it('a connection cut mid-body fails, never hands back half an answer', async () => {
    server = await startQuoteServer((_req, res) => {
      res.writeHead(200, { 'content-length': String(body.length) });
      res.write(body.subarray(0, 100), () => res.destroy());
    });
    const err = (await getAnswer('tencent', `${server.url}/q=sz002116`, { retries: 0 }).catch(
      (e: unknown) => e,
    )) as QuoteHttpError;
    expect(err).toBeInstanceOf(QuoteHttpError);
    expect(err.kind).toBe('network');
  });

  it('nothing listening: a network error naming the refused connection', async () => {
    server = await startQuoteServer(() => undefined);
    const url = server.url;
    await server.close();
    server = undefined;
    const err = (await getAnswer('tencent', `${url}/q=sz002116`, { retries: 0 }).catch(
      (e: unknown) => e,
    )) as QuoteHttpError;
    expect(err.kind).toBe('network');
    expect(err.message).toMatch(/cannot reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  });

  it('through a proxy (axios) the same encodings give the same bytes', async () => {
    const saved = process.env.HTTP_PROXY;
    server = await startQuoteServer((req, res) => compressed(res, new URL(req.url!).searchParams.get('e')!));
    process.env.HTTP_PROXY = server.url;
    try {
      for (const name of Object.keys(encoders)) {
        const a = await getAnswer(
          'tencent',
          `http://qt.gtimg.invalid/q=sz002116?e=${encodeURIComponent(name)}`,
          { retries: 0 },
        );
        expect(a.body.equals(body), name).toBe(true);
      }
    } finally {
      if (saved === undefined) delete process.env.HTTP_PROXY;
      else process.env.HTTP_PROXY = saved;
    }
  });
});
