import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureBytes } from '../helpers/fixtures.ts';
import type { QuoteServer } from './quoteServer.ts';
import { startQuoteServer } from './quoteServer.ts';

const BIN = fileURLToPath(new URL('../../bin/sealguard.js', import.meta.url));

function quote(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, 'quote', ...args],
      { env: { ...process.env, ...env } },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

let server: QuoteServer;
beforeAll(async () => {
  const body = fixtureBytes('tencent_20221122_gbk.txt');
  server = await startQuoteServer((_req, res) => res.end(body));
});
afterAll(() => server.close());

// Each spawn pays for tsx start-up; running them side by side keeps the file fast.
describe.concurrent('sealguard quote', () => {
  it('prints a sealed limit-up with its seal amount, and a suspended stock as not sealed', async () => {
    const r = await quote(['002116', 'sz002150'], { TENCENT_QUOTE_URL: server.url });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toEqual({
      symbol: '002116.SZ',
      name: '中国海诚',
      time: '2022-11-22T11:57:42+08:00',
      status: 'normal',
      last: '10.02',
      prevClose: '9.11',
      limitUp: '10.02',
      limitDown: '8.20',
      bids: [
        ['10.02', 28046500],
        ['10.01', 48700],
        ['9.96', 1100],
        ['9.90', 1000],
        ['9.89', 6200],
      ],
      asks: [],
      sealed: true,
      sealAmount: 281025930,
    });
    expect(r.stdout).toContain('"sealed":true');
    expect(r.stdout).toContain('"sealAmount":281025930');
    expect(lines[1]).toMatchObject({
      symbol: '002150.SZ',
      status: 'suspended',
      sealed: false,
      sealAmount: 0,
      limitUp: '10.51',
    });
  });

  it('refuses an invalid code with exit 2 before asking the source', async () => {
    // Nothing listens on port 9: had it asked, the exit code would be 1.
    const r = await quote(['002116', '12345'], { TENCENT_QUOTE_URL: 'http://127.0.0.1:9' });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'sealguard quote: invalid security code "12345": expected e.g. 600519, sh600519 or 600519.SH\n',
    );
  });

  it('prints the known codes and exits 2 naming a code the source has no quote for', async () => {
    const r = await quote(['002116', '600519'], { TENCENT_QUOTE_URL: server.url });
    expect(r.code).toBe(2);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).symbol),
    ).toEqual(['002116.SZ']);
    expect(r.stderr).toBe('sealguard quote: tencent has no quote for 600519.SH\n');
  });

  it('exits 1 with a clear message when the source is unreachable', async () => {
    const r = await quote(['002116'], { TENCENT_QUOTE_URL: 'http://127.0.0.1:9' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^sealguard quote: tencent: cannot reach http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\)\n$/,
    );
  });
});
