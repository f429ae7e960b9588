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

/** The FireBird captures of 2022-11-22 (quotes.md §1.6, §2.6), served as the real sites send them. */
let server: QuoteServer;
let sina: QuoteServer;
/** The same Tencent capture with 002116's time moved into the 09:20 opening call auction. */
let auction: QuoteServer;
beforeAll(async () => {
  const body = fixtureBytes('tencent_20221122_gbk.txt');
  server = await startQuoteServer((_req, res) => res.end(body));
  const sinaBody = fixtureBytes('sina_20221122_gbk.txt');
  sina = await startQuoteServer((_req, res) => res.end(sinaBody));
  const moved = Buffer.from(
    body.toString('latin1').replace('~20221122115742~', '~20221122092000~'),
    'latin1',
  );
  auction = await startQuoteServer((_req, res) => res.end(moved));
});
afterAll(async () => {
  await server.close();
  await sina.close();
  await auction.close();
});

/** The capture's own moment: 11:57:42 is in the midday break, as FireBird captured it at ~11:57. */
const AT_CAPTURE = '2022-11-22T11:57:45+08:00';

// Each spawn pays for tsx start-up; running them side by side keeps the file fast.
describe.concurrent('sealguard quote', () => {
  it('prints a sealed limit-up with its seal amount, and a suspended stock as not sealed', async () => {
    const r = await quote(['002116', 'sz002150'], {
      TENCENT_QUOTE_URL: server.url,
      SEALGUARD_CLOCK: AT_CAPTURE,
    });
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
      // The guard would not act on it: trading is paused at 11:57.
      sealed: false,
      sealedBook: true,
      why: 'midday break',
      sealAmount: 281025930,
    });
    expect(r.stdout).toContain('"sealed":false');
    expect(r.stdout).toContain('"sealAmount":281025930');
    expect(lines[1]).toMatchObject({
      symbol: '002150.SZ',
      status: 'suspended',
      sealed: false,
      sealAmount: 0,
      limitUp: '10.51',
    });
  });

  it('a captured row reads as sealed when SEALGUARD_CLOCK is set to its own time in continuous trading (Sina, 11:30:00)', async () => {
    // Sina stamps the morning's last snapshot 11:30:00; two seconds before it trading is
    // continuous and the quote is within the guard's 5 s tolerance for quotes ahead of the clock.
    const r = await quote(['002116', '--source', 'sina'], {
      SINA_QUOTE_URL: sina.url,
      SEALGUARD_CLOCK: '2022-11-22T11:29:58+08:00',
    });
    expect(r.stderr).toBe('');
    const line = JSON.parse(r.stdout);
    expect(line).toMatchObject({
      symbol: '002116.SZ',
      time: '2022-11-22T11:30:00+08:00',
      sealed: true,
      sealedBook: true,
    });
    expect(line.why).toBeUndefined();
  });

  it('a row dated yesterday is not sealed, and says why', async () => {
    const r = await quote(['002116'], {
      TENCENT_QUOTE_URL: server.url,
      SEALGUARD_CLOCK: '2022-11-23T10:00:00+08:00',
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('"sealed":false');
    expect(JSON.parse(r.stdout)).toMatchObject({
      sealed: false,
      sealedBook: true,
      why: 'stale: dated 2022-11-22',
    });
  });

  it('a row during the opening call auction is not sealed, and says why', async () => {
    const r = await quote(['002116'], {
      TENCENT_QUOTE_URL: auction.url,
      SEALGUARD_CLOCK: '2022-11-22T09:20:01+08:00',
    });
    expect(r.stdout).toContain('"sealed":false');
    expect(JSON.parse(r.stdout)).toMatchObject({
      time: '2022-11-22T09:20:00+08:00',
      sealed: false,
      sealedBook: true,
      why: 'opening call auction',
    });
  });

  it('on the host clock, the 2022 capture is stale', async () => {
    const r = await quote(['002116'], { TENCENT_QUOTE_URL: server.url, SEALGUARD_CLOCK: '' });
    expect(JSON.parse(r.stdout)).toMatchObject({
      sealed: false,
      sealedBook: true,
      why: expect.stringMatching(/^stale: dated 2022-11-22/),
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
