/**
 * Polling feeds by name, configured from the environment: QUOTE_SOURCES (ordered, e.g.
 * "tencent,sina") and the base URLs TENCENT_QUOTE_URL, SINA_QUOTE_URL, EASTMONEY_QUOTE_URL.
 */
import { EastmoneyFeed } from './eastmoney.ts';
import type { PollingFeed } from './feed.ts';
import { SinaFeed } from './sina.ts';
import { TencentFeed } from './tencent.ts';

export const POLLING_SOURCES = ['tencent', 'sina', 'eastmoney'] as const;
export type PollingSource = (typeof POLLING_SOURCES)[number];

export function isPollingSource(name: string): name is PollingSource {
  return (POLLING_SOURCES as readonly string[]).includes(name);
}

type Env = Record<string, string | undefined>;

export function pollingFeed(name: PollingSource, env: Env = process.env): PollingFeed {
  switch (name) {
    case 'tencent':
      return new TencentFeed({ baseUrl: env.TENCENT_QUOTE_URL?.trim() || undefined });
    case 'sina':
      return new SinaFeed({ baseUrl: env.SINA_QUOTE_URL?.trim() || undefined });
    case 'eastmoney':
      return new EastmoneyFeed({ baseUrl: env.EASTMONEY_QUOTE_URL?.trim() || undefined });
  }
}
