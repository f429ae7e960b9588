import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/cli/quote.ts';
import { fixtureBytes } from '../helpers/fixtures.ts';
import type { QuoteServer } from '../market/quoteServer.ts';
import { startQuoteServer } from '../market/quoteServer.ts';

async function quote(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    return { code: await run(args), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

let server: QuoteServer;
beforeAll(async () => {
  const body = fixtureBytes('tencent_20221122_gbk.txt');
  server = await startQuoteServer((_req, res) => res.end(body));
  process.env.TENCENT_QUOTE_URL = server.url;
});
afterAll(async () => {
  delete process.env.TENCENT_QUOTE_URL;
  await server.close();
});
afterEach(() => vi.restoreAllMocks());

describe('sealguard quote (in process)', () => {
  it('warns that a retired BSE code (43/83/87) moved to 920xxx, as limits does', async () => {
    const r = await quote('830799');
    expect(r.err).toContain('830799.BJ is a retired BSE code');
    expect(r.err).toContain('tencent has no quote for 830799.BJ');
    expect(r.code).toBe(2);
  });

  it('says nothing extra for a current code', async () => {
    const r = await quote('002116');
    expect(r).toMatchObject({ code: 0, err: '' });
    // The 2022 capture on today's clock: a sealed book, but stale to the guard.
    expect(JSON.parse(r.out)).toMatchObject({
      symbol: '002116.SZ',
      sealed: false,
      sealedBook: true,
      sealAmount: 281025930,
    });
  });
});
