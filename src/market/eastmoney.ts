/**
 * EastMoney polling feed: GET {base}/api/qt/stock/get?secid=0.002116&fltt=2&invt=2&fields=...
 * (base default https://push2.eastmoney.com, or EASTMONEY_QUOTE_URL). One security per request:
 * ulist.np batches lack the bid1 volume (quotes.md §3.2). EastMoney bans IPs that fan out
 * (§3.5.1), so this is a source for a handful of symbols or the last fallback, not for 5,000.
 */
import type { FetchResult, PollingFeed } from './feed.ts';
import { eastmoneySecid } from './codes.ts';
import { EASTMONEY_FIELDS, parseEastmoney } from './eastmoneyParse.ts';
import type { HttpOptions } from './httpClient.ts';
import { QuoteHttpError, joinUrl, readAnswer } from './httpClient.ts';
import { checkBatch, splitValid, toFetchResult } from './pollRequest.ts';

export const EASTMONEY_DEFAULT_URL = 'https://push2.eastmoney.com';

export interface EastmoneyOptions extends HttpOptions {
  baseUrl?: string;
}

export class EastmoneyFeed implements PollingFeed {
  readonly kind = 'poll';
  readonly name = 'eastmoney';
  readonly maxBatch = 1;
  private readonly base: string;
  private readonly http: HttpOptions;

  constructor(opts: EastmoneyOptions = {}) {
    this.base = opts.baseUrl || EASTMONEY_DEFAULT_URL;
    this.http = { ...opts, headers: { Referer: 'https://quote.eastmoney.com/', ...opts.headers } };
  }

  url(secid: string): string {
    return joinUrl(this.base, `/api/qt/stock/get?secid=${secid}&fltt=2&invt=2&fields=${EASTMONEY_FIELDS}`);
  }

  async fetch(symbols: string[], signal?: AbortSignal, deadlineMs?: number): Promise<FetchResult> {
    checkBatch(this.name, symbols, this.maxBatch);
    const { valid, invalid } = splitValid(symbols);
    const sec = valid[0];
    if (!sec) return { snapshots: [], missing: invalid };
    const opts = deadlineMs === undefined ? this.http : { ...this.http, deadlineMs };
    return readAnswer(this.name, this.url(eastmoneySecid(sec)), opts, signal, (body, timing) => {
      let outcome;
      try {
        outcome = parseEastmoney(body, sec, this.name);
      } catch (err) {
        throw new QuoteHttpError(this.name, `${this.name}: ${(err as Error).message}`);
      }
      return { ...toFetchResult(outcome, valid, invalid), timing };
    });
  }
}
