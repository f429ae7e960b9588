/**
 * Tencent polling feed: GET {base}/q=sz002116,sh600519 (base default http://qt.gtimg.cn, or
 * TENCENT_QUOTE_URL). GBK body, parsed by tencentParse.ts. quotes.md §1.
 */
import type { Security } from '../domain/types.ts';
import type { FetchResult, PollingFeed } from './feed.ts';
import { prefixedCode } from './codes.ts';
import type { HttpOptions } from './httpClient.ts';
import { QuoteHttpError, joinUrl, readAnswer } from './httpClient.ts';
import { checkBatch, splitValid, toFetchResult } from './pollRequest.ts';
import { RecordMemo } from './recordMemo.ts';
import { parseTencent } from './tencentParse.ts';

export const TENCENT_DEFAULT_URL = 'http://qt.gtimg.cn';

export interface TencentOptions extends HttpOptions {
  baseUrl?: string;
  /** Codes per request; 500 as stock-sdk uses (FireBird runs 900). */
  maxBatch?: number;
}

export class TencentFeed implements PollingFeed {
  readonly kind = 'poll';
  readonly name = 'tencent';
  readonly maxBatch: number;
  private readonly base: string;
  /** Records unchanged since the last poll come back as the same snapshot, unparsed. */
  private readonly memo = new RecordMemo();
  private readonly requests = new WeakMap<string[], { valid: Security[]; invalid: string[]; url: string }>();

  constructor(private readonly opts: TencentOptions = {}) {
    this.base = opts.baseUrl || TENCENT_DEFAULT_URL;
    this.maxBatch = opts.maxBatch ?? 500;
  }

  /** The request URL for these (valid) prefixed codes. */
  url(codes: string[]): string {
    return joinUrl(this.base, `/q=${codes.join(',')}`);
  }

  async fetch(symbols: string[], signal?: AbortSignal, deadlineMs?: number): Promise<FetchResult> {
    checkBatch(this.name, symbols, this.maxBatch);
    // FeedManager asks with the same batch arrays every cycle: their split and URL are kept.
    let req = this.requests.get(symbols);
    if (req === undefined) {
      const { valid, invalid } = splitValid(symbols);
      req = { valid, invalid, url: this.url(valid.map(prefixedCode)) };
      this.requests.set(symbols, req);
    }
    const { valid, invalid, url } = req;
    if (valid.length === 0) return { snapshots: [], missing: [...invalid] };
    const opts = deadlineMs === undefined ? this.opts : { ...this.opts, deadlineMs };
    return readAnswer(this.name, url, opts, signal, (body, timing) => {
      // Records always start "v_"; anything else (an HTML error page, "Forbidden") is a failure.
      if (body.indexOf('v_') < 0) {
        throw new QuoteHttpError(
          this.name,
          `${this.name}: unexpected answer ${JSON.stringify(body.toString('latin1', 0, 40))}`,
        );
      }
      return { ...toFetchResult(parseTencent(body, this.name, this.memo), valid, invalid), timing };
    });
  }
}
