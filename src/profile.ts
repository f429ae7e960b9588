/**
 * How a run differs from another, as data: where its state lives, where its market comes from,
 * which clock it follows. startApp builds the same house from any profile; the live guard and
 * the demo (src/demo.ts) are two profiles, not branches through the composition root.
 */
import { performance } from 'node:perf_hooks';
import type { PaperStartPosition } from './broker/paper.ts';
import type { PtradeRelayBroker } from './broker/ptradeRelay.ts';
import type { Config, LogLevel } from './config.ts';
import { clockFromSpec, ExchangeClock, type Clock } from './domain/clock.ts';
import type { Mode } from './domain/modes.ts';
import type { EventBus } from './engine/bus.ts';
import type { Engine } from './engine/engine.ts';
import type { HealthBoard } from './engine/health.ts';
import type { Logger } from './log.ts';
import { ClockWatch } from './market/clockWatch.ts';
import type { QuoteFeed } from './market/feed.ts';
import { FeedManager } from './market/feedManager.ts';
import type { QuoteSource } from './market/source.ts';
import { isPollingSource, pollingFeed } from './market/sources.ts';

export interface MarketContext {
  wall: () => number;
  log: Logger;
  health: HealthBoard;
}

/** A run's market: its clock, its quotes, and how it knows a code. */
export interface Market {
  clock: Clock;
  /** The clock is not the exchange's own (SEALGUARD_CLOCK, a replay): /status says so. */
  simulated: boolean;
  /** The quote source, built once the engine's bus exists (feed incidents are published on it). */
  source(bus: EventBus, relay?: PtradeRelayBroker): Promise<QuoteSource>;
  /** Name of a code nobody has quoted yet, or null when it is not listed. */
  lookup(symbol: string): Promise<{ name: string } | null>;
  /** Resolves when a finite run (a replayed day) is over; never for a live one. */
  ended?(engine: Engine): Promise<void>;
}

export interface RunProfile {
  dataDir: string;
  /** Everything in dataDir but the lock is removed before start (a fresh demo each time). */
  wipe: boolean;
  /** Overrides the configured log level (the demo is quiet unless LOG_LEVEL was set). */
  logLevel?: LogLevel;
  /** The paper broker's holdings (else PAPER_POSITIONS). */
  paperPositions?: PaperStartPosition[];
  /** The default mode (else DEFAULT_MODE). */
  defaultMode?: Mode;
  /** The console chat even when another channel is configured. */
  console: boolean;
  market(ctx: MarketContext): Promise<Market>;
}

/** The guard as users run it: DATA_DIR, the configured quote sources, the real (or SEALGUARD_CLOCK) clock. */
export function liveProfile(config: Config): RunProfile {
  return {
    dataDir: config.dataDir,
    wipe: false,
    console: false,
    market: async ({ wall, log, health }) => {
      // The real clock: monotonic, and following the exchange when the host disagrees (issue 16).
      const clock = config.clock
        ? clockFromSpec(config.clock.spec, wall)
        : new ExchangeClock(wall, () => performance.now());
      return {
        clock,
        simulated: !!config.clock,
        source: (bus, relay) => liveSource(config, { clock, log, health, bus, ...(relay ? { relay } : {}) }),
        lookup: async (symbol) => {
          const name = config.quotes.sources.find(isPollingSource);
          if (!name) return { name: '' };
          const r = await pollingFeed(name, envOf(config)).fetch([symbol]);
          const found = r.snapshots.find((x) => x.symbol === symbol && x.status !== 'not-listed');
          return found ? { name: found.name } : null;
        },
      };
    },
  };
}

async function liveSource(
  config: Config,
  o: { clock: Clock; log: Logger; health: HealthBoard; bus: EventBus; relay?: PtradeRelayBroker },
): Promise<QuoteSource> {
  const { clock, log, health, bus, relay } = o;
  // Adapters are loaded only when configured: an unused websocket client costs resident memory.
  const { SinaWsFeed } = config.quotes.sources.includes('sina-ws')
    ? await import('./market/sinaWs.ts')
    : { SinaWsFeed: undefined };
  const { BridgeQuoteStream } = config.quotes.sources.includes('qmt')
    ? await import('./market/bridgeQuotes.ts')
    : { BridgeQuoteStream: undefined };
  const { RelayQuoteFeed } =
    config.quotes.sources.includes('ptrade') && relay
      ? await import('./market/relayQuotes.ts')
      : { RelayQuoteFeed: undefined };
  const list: QuoteFeed[] = config.quotes.sources.map((name) => {
    // The PTrade strategy posts its snapshots to the relay SealGuard hosts (issue 14).
    if (name === 'ptrade' && RelayQuoteFeed && relay) {
      const posts = new RelayQuoteFeed({ health });
      relay.attachQuotes(posts);
      return posts;
    }
    if (name === 'qmt' && BridgeQuoteStream)
      return new BridgeQuoteStream({
        url: config.broker.url!,
        token: config.broker.token!,
        onWarn: (m) => log.warn(m),
      });
    if (name === 'sina-ws' && SinaWsFeed)
      return new SinaWsFeed(config.quotes.sinaWsUrl ? { url: config.quotes.sinaWsUrl } : {});
    if (isPollingSource(name)) return pollingFeed(name, envOf(config));
    throw new Error(`unknown quote source ${name}`);
  });
  const clockWatch = clock instanceof ExchangeClock ? new ClockWatch(clock, health) : undefined;
  const feeds = new FeedManager({
    clock,
    feeds: list,
    intervalMs: config.quotes.pollIntervalMs,
    onError: (err) => log.warn({ err: String(err) }, 'feed error'),
    health,
    ...(clockWatch ? { onTime: (e) => clockWatch.observe(e) } : {}),
  });
  feeds.on('FeedStale', (e) =>
    bus.publish({ type: 'FeedStale', at: e.at, symbols: e.symbols, source: e.source }),
  );
  feeds.on('SourceChanged', (e) =>
    bus.publish({ type: 'SourceChanged', at: e.at, from: e.from, to: e.to, reason: e.reason }),
  );
  return feeds;
}

function envOf(config: Config): Record<string, string | undefined> {
  return {
    TENCENT_QUOTE_URL: config.quotes.tencentUrl,
    SINA_QUOTE_URL: config.quotes.sinaUrl,
    EASTMONEY_QUOTE_URL: config.quotes.eastmoneyUrl,
  };
}
