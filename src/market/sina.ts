/**
 * Sina polling feed: GET {base}/list=sz002116,sh600519 (base default http://hq.sinajs.cn, or
 * SINA_QUOTE_URL) with the Referer Sina has required since 2022-01 (without it: 403
 * "Forbidden"). GBK body, parsed by sinaParse.ts. quotes.md §2.
 */
import type { FetchResult, PollingFeed } from './feed.ts';
import { prefixedCode } from './codes.ts';
import type { HttpOptions } from './httpClient.ts';
import { QuoteHttpError, joinUrl, readAnswer } from './httpClient.ts';
import { checkBatch, splitValid, toFetchResult } from './pollRequest.ts';
import { parseSina } from './sinaParse.ts';

export const SINA_DEFAULT_URL = 'http://hq.sinajs.cn';
export const SINA_REFERER = 'https://finance.sina.com.cn';

export interface SinaOptions extends HttpOptions {
  baseUrl?: string;
  /** Codes per request; 800 as easyquotation uses (FireBird 850). */
  maxBatch?: number;
}

export class SinaFeed implements PollingFeed {
  readonly kind = 'poll';
  readonly name = 'sina';
  readonly maxBatch: number;
  private readonly base: string;
  private readonly http: HttpOptions;

  constructor(opts: SinaOptions = {}) {
    this.base = opts.baseUrl || SINA_DEFAULT_URL;
    this.maxBatch = opts.maxBatch ?? 800;
    this.http = { ...opts, headers: { Referer: SINA_REFERER, ...opts.headers } };
  }

  url(codes: string[]): string {
    return joinUrl(this.base, `/list=${codes.join(',')}`);
  }

  async fetch(symbols: string[], signal?: AbortSignal, deadlineMs?: number): Promise<FetchResult> {
    checkBatch(this.name, symbols, this.maxBatch);
    const { valid, invalid } = splitValid(symbols);
    if (valid.length === 0) return { snapshots: [], missing: invalid };
    const opts = deadlineMs === undefined ? this.http : { ...this.http, deadlineMs };
    return readAnswer(this.name, this.url(valid.map(prefixedCode)), opts, signal, (body, timing) => {
      // A 200 "Forbidden" (missing Referer) or "sys_auth=FAILED" has no records at all.
      if (body.indexOf('hq_str_') < 0) {
        throw new QuoteHttpError(
          this.name,
          `${this.name}: unexpected answer ${JSON.stringify(body.toString('latin1', 0, 40))}`,
        );
      }
      return { ...toFetchResult(parseSina(body, this.name), valid, invalid), timing };
    });
  }
}
