/**
 * Answer bodies are lent buffers (httpClient.readAnswer): the next answer overwrites the bytes a
 * parser just read. So nothing a parse returns or keeps (the record memo, the name caches) may
 * point into a body. These tests poll a real loopback server with the 900-row captures, reordered
 * and with names traded between records every poll, and compare every answer with a fresh parse
 * of a private copy of the same bytes: a kept view shows up as a stale name or a wrong book.
 */
import iconv from 'iconv-lite';
import { afterEach, describe, expect, it } from 'vitest';
import { getAnswer, readAnswer } from '../../src/market/httpClient.ts';
import { parseSina } from '../../src/market/sinaParse.ts';
import { SinaFeed } from '../../src/market/sina.ts';
import { parseTencent } from '../../src/market/tencentParse.ts';
import { TencentFeed } from '../../src/market/tencent.ts';
import { fixtureText } from '../helpers/fixtures.ts';
import type { QuoteServer } from './quoteServer.ts';
import { startQuoteServer } from './quoteServer.ts';

let server: QuoteServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A small deterministic generator, so a failure replays. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function shuffle<T>(xs: T[], rand: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

interface Row {
  head: string;
  name: string;
  tail: string;
}

/**
 * Each poll trades the names of some same-length pairs in place: a renamed record's new name sits
 * exactly where a stale view of its old name would look. Every third poll also reorders the rows.
 */
function polls(rows: Row[], n: number, seed: number): string[][] {
  const rand = rng(seed);
  const out: string[][] = [];
  let names = rows.map((r) => r.name);
  for (let p = 0; p < n; p++) {
    names = [...names];
    for (let k = 0; k < 40; k++) {
      const i = Math.floor(rand() * names.length);
      const j = Math.floor(rand() * names.length);
      if (Buffer.byteLength(iconv.encode(names[i]!, 'gbk')) === iconv.encode(names[j]!, 'gbk').length) {
        [names[i], names[j]] = [names[j]!, names[i]!];
      }
    }
    const lines = rows.map((r, i) => r.head + names[i] + r.tail);
    out.push(p % 3 === 2 ? shuffle(lines, rand) : lines);
  }
  return out;
}

function serveInTurn(bodies: Buffer[]): Promise<QuoteServer> {
  return startQuoteServer((_req, res, n) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=GBK' });
    res.end(bodies[(n - 1) % bodies.length]);
  });
}

const tencentRows: Row[] = fixtureText('tencent_20221122_full_900rows_utf8.txt')
  .split('\n')
  .filter((l) => l.startsWith('v_'))
  .map((l) => {
    const a = l.indexOf('~') + 1;
    const b = l.indexOf('~', a);
    return { head: l.slice(0, a), name: l.slice(a, b), tail: l.slice(b) };
  });

const sinaRows: Row[] = fixtureText('sina_20221122_full_850rows_utf8.txt')
  .split('\n')
  .filter((l) => l.startsWith('var hq_str_'))
  .map((l) => {
    const a = l.indexOf('="') + 2;
    const b = l.indexOf(',', a);
    return b < 0
      ? { head: l, name: '', tail: '' }
      : { head: l.slice(0, a), name: l.slice(a, b), tail: l.slice(b) };
  });

const bySymbol = <T extends { symbol: string }>(xs: T[]): T[] =>
  [...xs].sort((a, b) => a.symbol.localeCompare(b.symbol));

const symbolsOf = (rows: Row[], re: RegExp): string[] =>
  rows.map((r) => {
    const m = re.exec(r.head)!;
    return `${m[2]}.${m[1]!.toUpperCase()}`;
  });

describe('answer bodies are lent, and nothing parsed from one points into it', () => {
  const cases = [
    {
      name: 'Tencent',
      capture: '900-row',
      rows: tencentRows,
      seed: 7,
      key: /^v_(sh|sz|bj)(\d{6})/,
      feed: (url: string) => new TencentFeed({ baseUrl: url, maxBatch: 1000 }),
      parse: (b: Buffer) => parseTencent(b, 'tencent'),
    },
    {
      name: 'Sina',
      capture: '850-row',
      rows: sinaRows,
      seed: 11,
      key: /^var hq_str_(sh|sz|bj)(\d{6})/,
      feed: (url: string) => new SinaFeed({ baseUrl: url, maxBatch: 1000 }),
      parse: (b: Buffer) => parseSina(b, 'sina'),
    },
  ];
  for (const { name, capture, rows, seed, key, feed: makeFeed, parse } of cases)
    it(`${name}: 12 polls of the ${capture} capture, reordered and renamed, parse as fresh copies do`, async () => {
      const bodies = polls(rows, 12, seed).map((lines) => iconv.encode(lines.join('\n') + '\n', 'gbk'));
      server = await serveInTurn(bodies);
      const symbols = symbolsOf(rows, key);
      const feed = makeFeed(server.url);
      // Parsed first, all of them: the parsers' name caches are shared, and a parse between polls
      // would refresh them from a private copy and hide a stale view.
      const expected = bodies.map((body) => bySymbol(parse(Buffer.from(body)).snapshots));
      for (const want of expected) {
        const got = await feed.fetch(symbols);
        expect(bySymbol(got.snapshots)).toEqual(want);
      }
    });

  it('the lent buffer is reused by the next answer; getAnswer hands out a copy that stays', async () => {
    const a = Buffer.from('v_sz002116="51~A~002116~10.02";\n'.repeat(2000));
    const b = Buffer.from('v_sz002116="51~B~002116~10.02";\n'.repeat(2000));
    server = await serveInTurn([a, b, a]);
    let lent: ArrayBufferLike | undefined;
    await readAnswer('tencent', server.url + '/q=sz002116', {}, undefined, (body) => {
      expect(body.equals(a)).toBe(true);
      lent = body.buffer;
    });
    const kept = await getAnswer('tencent', server.url + '/q=sz002116');
    expect(kept.body.equals(b)).toBe(true);
    await readAnswer('tencent', server.url + '/q=sz002116', {}, undefined, (body) => {
      expect(body.equals(a)).toBe(true);
      // Sequential answers share one buffer: the steady poll allocates no body.
      expect(body.buffer).toBe(lent);
    });
    expect(kept.body.equals(b)).toBe(true);
  });
});
