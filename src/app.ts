/**
 * Composition root: configuration in, a running guard out. The only place that knows every
 * layer; everything below it talks through interfaces (QuoteFeed, Broker, Channel, GuardApi).
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Broker } from './broker/broker.ts';
import type { PtradeRelayBroker } from './broker/ptradeRelay.ts';
import { PaperBroker, type PaperStartPosition } from './broker/paper.ts';
import { redactor } from './broker/redact.ts';
import type { Channel } from './chat/channel.ts';
import { ConsoleChannel } from './chat/console.ts';
import { ChatHub } from './chat/hub.ts';
import type { Config } from './config.ts';
import { clockFromSpec, ExchangeClock, SystemClock, type Clock } from './domain/clock.ts';
import { exchangeDate, formatExchangeTime, exchangeTs } from './domain/time.ts';
import type { GuardApi } from './engine/api.ts';
import { createEngine, type Engine } from './engine/engine.ts';
import { HealthBoard } from './engine/health.ts';
import { skipBody } from './net/boundedBody.ts';
import { HealthFileWriter } from './store/healthFile.ts';
import { DiskSpaceMonitor } from './store/diskSpace.ts';
import type { Scheduler } from './engine/scheduler.ts';
import { UnknownCodeError, type Guard } from './engine/guard.ts';
import { openGuardStores } from './engine/state.ts';
import { createLogger, child, type Logger } from './log.ts';
import { loadDemoManifest } from './market/demoManifest.ts';
import type { QuoteFeed } from './market/feed.ts';
import { ClockWatch } from './market/clockWatch.ts';
import { FeedManager } from './market/feedManager.ts';
import { ReplayFeed } from './market/replay.ts';
import { replaySource, type QuoteSource } from './market/source.ts';
import { pollingFeed, isPollingSource } from './market/sources.ts';
import { EventLog } from './store/eventLog.ts';
import { StoreError } from './store/errors.ts';
import { runStopSteps } from './shutdown.ts';
import { acquireDataDirLock, LOCK_FILE, type DataDirLock } from './store/lock.ts';

export interface AppOptions {
  /** Run the demo: replayed market day, paper broker holding the demo stocks, console chat. */
  demo?: boolean;
  /** Demo replay speed (market seconds per real second). */
  demoSpeed?: number;
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  logger?: Logger;
}

export interface App {
  api: GuardApi;
  /** Problems around the guard, shown by /status and (through DATA_DIR/health.json) doctor. */
  health: HealthBoard;
  /** Temporary: the guard inside the engine, until the guard is split (issue 15 S7). */
  guard: Guard;
  engine: Engine;
  clock: Clock;
  log: Logger;
  /** Resolves when a demo replay has ended (never for a live run). */
  ended: Promise<void>;
  /** The 09:00 briefing and 15:05 summary jobs (on the market clock). */
  scheduler: Scheduler;
  stop(): Promise<void>;
}

/** The demo starts a little before the first seal and plays the day at this speed. */
const DEMO_START = '09:58:00';
const DEMO_SPEED = 90;

export async function startApp(config: Config, opts: AppOptions = {}): Promise<App> {
  // Logs go to stderr: stdout belongs to the console chat when it is on.
  const demo = opts.demo ?? false;
  const log =
    opts.logger ??
    createLogger(
      demo && !config.setKeys.includes('LOG_LEVEL')
        ? { ...config, log: { ...config.log, level: 'warn' } }
        : config,
      {
        destination: process.stderr,
      },
    );
  const wall = () => Date.now();

  // ---- data directory: created, then locked (one guard per DATA_DIR) ---------------------
  let dataDir = config.dataDir;
  if (demo) {
    // A fresh demo every time, kept apart from a real setup's state.
    dataDir = join(config.dataDir, 'demo-run');
  }
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (err) {
    // A DATA_DIR that is a file, or not writable: say so instead of a stack trace.
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new StoreError(
      dataDir,
      `cannot be used as the data directory (${code}); set DATA_DIR to a writable directory`,
      'Nothing was written.',
    );
  }
  // Taken before anything in the directory is read or removed: a second demo must not wipe the
  // running one's files, a second guard must not open the first one's stores.
  const lock = acquireDataDirLock(dataDir, wall);
  try {
    if (demo) emptyDirectory(dataDir, [LOCK_FILE]);
    return await startLocked(config, opts, { log, wall, dataDir, demo, lock });
  } catch (err) {
    lock.release();
    throw err;
  }
}

/** Removes everything in `dir` but the names in `keep`. */
function emptyDirectory(dir: string, keep: string[]): void {
  for (const name of readdirSync(dir))
    if (!keep.includes(name)) rmSync(join(dir, name), { recursive: true, force: true });
}

async function startLocked(
  config: Config,
  opts: AppOptions,
  ctx: { log: Logger; wall: () => number; dataDir: string; demo: boolean; lock: DataDirLock },
): Promise<App> {
  const { log, wall, dataDir, demo, lock } = ctx;
  const stoppers: (() => Promise<void> | void)[] = [];

  const stores = await openGuardStores(dataDir);
  const health = new HealthBoard(wall);
  const healthFile = new HealthFileWriter(dataDir, health, wall);
  await healthFile.flush();
  const disk = new DiskSpaceMonitor({ dir: dataDir, health });
  await disk.check();
  disk.start();
  stoppers.push(() => disk.stop());
  const eventLog = new EventLog({ dataDir, logger: child(log, 'events') });

  // ---- market clock and quotes -------------------------------------------------------------
  let clock: Clock;
  let replay: ReplayFeed | undefined;
  let manifest: ReturnType<typeof loadDemoManifest> | undefined;
  if (demo) {
    manifest = loadDemoManifest();
    replay = await ReplayFeed.open({
      files: manifest.files,
      speed: opts.demoSpeed ?? DEMO_SPEED,
      startAt: exchangeTs(manifest.date, DEMO_START),
      onBadLine: (m) => log.warn({ replay: m }, 'bad line in the demo recording'),
    });
    clock = replay.clock;
  } else if (config.clock) {
    clock = clockFromSpec(config.clock.spec, wall);
  } else {
    // The real clock: monotonic, and following the exchange when the host disagrees (issue 16).
    clock = new ExchangeClock(wall, () => performance.now());
  }

  // ---- broker --------------------------------------------------------------------------
  let broker: Broker;
  // Login prompts (东方财富 captcha) can come before the chat is up; they wait here until then.
  const loginPrompts: { broker: string; text: string; file?: string }[] = [];
  let loginPrompt: (p: { broker: string; text: string; file?: string }) => void = (p) => {
    loginPrompts.push(p);
  };
  let afterLogin: () => void = () => {};
  let paper: PaperBroker | undefined;
  let relay: PtradeRelayBroker | undefined;
  switch (config.broker.kind) {
    case 'paper': {
      const positions: PaperStartPosition[] = manifest
        ? manifest.stocks
            .filter((s) => s.position > 0)
            .map((s) => ({ symbol: s.symbol, name: s.name, quantity: s.position, sellable: s.position }))
        : config.paper.positions.map((p) => ({ symbol: p.symbol, quantity: p.shares, sellable: p.shares }));
      paper = await PaperBroker.open({
        dataDir,
        clock,
        positions,
        cash: config.paper.cash ?? 1_000_000,
        onError: (err) => log.warn({ err: err.message }, 'paper broker'),
      });
      broker = paper;
      break;
    }
    case 'bridge':
      broker = new (await import('./broker/bridge.ts')).BridgeBroker({
        url: config.broker.url!,
        token: config.broker.token!,
        ...(config.broker.accountType ? { accountType: config.broker.accountType } : {}),
      });
      break;
    case 'easytrader':
      broker = await (
        await import('./broker/easytrader.ts')
      ).EasytraderBroker.open({ url: config.broker.url!, dataDir, clock });
      break;
    case 'eastmoney': {
      const em = config.eastmoney!;
      const elog = child(log, 'eastmoney');
      broker = await (
        await import('./broker/eastmoney.ts')
      ).EastmoneyBroker.open({
        ...em,
        dataDir,
        clock,
        wallNow: wall,
        health,
        log: { info: (o, m) => elog.info(o, m), warn: (o, m) => elog.warn(o, m) },
        prompt: ({ loggedIn, ...p }) => {
          loginPrompt({ broker: 'eastmoney', ...p });
          // Holdings become readable now, not at the next periodic refresh (up to 30 s later).
          if (loggedIn) afterLogin();
        },
      });
      break;
    }
    case 'ptrade':
      // Relay liveness is protocol time: the strategy polls on the real clock.
      relay = new (await import('./broker/ptradeRelay.ts')).PtradeRelayBroker({
        token: config.broker.token!,
        clock: new SystemClock(wall),
      });
      broker = relay;
      break;
  }

  // ---- engine ------------------------------------------------------------------------------
  const engine = await createEngine({
    dataDir,
    clock,
    simulatedClock: demo || !!config.clock,
    broker,
    ...(paper ? { sink: paper } : {}),
    stores,
    health,
    log,
    defaultMode: demo ? 'auto' : config.guard.mode,
    defaultTriggers: { amount: config.guard.threshold },
    confirmTimeoutS: config.guard.confirmTimeoutS,
    confirmDefault: config.guard.confirmDefault,
    replaceAfterMs: config.guard.replaceAfterMs,
    replaceMax: config.guard.replaceMax,
    ...(config.guard.defaultFloorCenti !== undefined
      ? { defaultFloorCenti: config.guard.defaultFloorCenti }
      : {}),
    redact: redactor(config.secrets),
    calendar: true,
    announceStart: true,
    eventLog,
    disk: () => disk.status(),
    lookup: async (symbol) => {
      const s = engine.guard.lastSnapshot(symbol);
      if (s) return { name: s.name };
      if (manifest) {
        // The demo's market is its recording: any stock in it can be watched, nothing else.
        const m = manifest.stocks.find((x) => x.symbol === symbol);
        if (m) return { name: m.name };
        throw new UnknownCodeError(
          `${symbol} is not in the demo's replayed day; it has ${manifest.stocks.map((x) => x.symbol.slice(0, 6)).join(', ')}`,
        );
      }
      const feed = firstPollingFeed(config);
      if (!feed) return { name: '' };
      const r = await feed.fetch([symbol]);
      const found = r.snapshots.find((x) => x.symbol === symbol && x.status !== 'not-listed');
      return found ? { name: found.name } : null;
    },
  });
  const { api, bus, guard } = engine;
  afterLogin = () => void guard.refreshPositions();

  // ---- channels ----------------------------------------------------------------------------
  // Adapters are loaded only when configured: an unused grammY, WeCom or websocket client would
  // cost resident memory on every install that does not use it.
  const channels: Channel[] = [];
  if (config.telegram) {
    const { TelegramChannel } = await import('./chat/telegram.ts');
    channels.push(
      new TelegramChannel({
        token: config.telegram.token,
        allowedUsers: config.telegram.allowedUsers,
        api,
        log: child(log, 'telegram'),
        health,
        ...(config.telegram.apiRoot ? { apiRoot: config.telegram.apiRoot } : {}),
        ...(config.telegram.proxy ? { proxy: config.telegram.proxy } : {}),
      }),
    );
  }
  const httpHandlers: ((req: IncomingMessage, res: ServerResponse) => boolean)[] = [];
  if (relay) httpHandlers.push(relay.handle);
  // WECOM-CHANNEL: the WeCom channel (app, robot, callback server) is wired here.
  if (config.wecom || config.wecomWebhookKey) {
    const { createWecomChannel } = await import('./chat/wecomChannel.ts');
    const wecom = createWecomChannel(config, api, child(log, 'wecom'), { dataDir, health });
    channels.push(wecom.channel);
    if (wecom.handle) httpHandlers.push(wecom.handle);
  }
  if (channels.length === 0 || demo) {
    channels.push(
      new ConsoleChannel(api, {
        ...(opts.input ? { input: opts.input as never } : {}),
        ...(opts.output ? { output: opts.output as never } : {}),
        timestamp: (ts) => formatExchangeTime(ts).slice(11, 19),
      }),
    );
  }
  const hub = new ChatHub(api, channels, child(log, 'chat'), () => stores.settings.data.notify);

  let server: Server | undefined;
  if (httpHandlers.length > 0) {
    const port = config.httpPort ?? 8080;
    server = createServer((req, res) => {
      for (const h of httpHandlers) if (h(req, res)) return;
      skipBody(req, res);
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    });
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(port, '0.0.0.0', () => resolve());
    });
    log.info({ port }, 'http listening');
    stoppers.push(
      () =>
        new Promise<void>((r) => {
          server!.close(() => r());
          // Idle keep-alive sockets (WeCom, the PTrade relay's polls) would hold close() open.
          server!.closeAllConnections();
        }),
    );
  }

  // ---- start -------------------------------------------------------------------------------
  // Channels connect in the background (hub.start does not wait for Telegram or WeCom): the
  // guard, the feeds and auto mode must run even while a chat platform is unreachable.
  await hub.start();
  loginPrompt = (p) => bus.publish({ type: 'LoginChallenge', at: clock.now(), ...p });
  for (const p of loginPrompts.splice(0)) loginPrompt(p);
  let ended: Promise<void> = new Promise(() => {});
  let source: QuoteSource;
  if (replay) {
    source = replaySource(replay, {
      clock,
      onState: (st, detail) => log.debug({ state: st, detail }, 'replay'),
    });
    // The recordings end at 15:00; the replayed clock runs on, so the day gets its own 15:05
    // summary a few real seconds later (bounded, in case the clock was stopped).
    const scheduler = engine.scheduler!;
    ended = replay.finished.then(() =>
      Promise.race([
        scheduler.ran('summary', exchangeDate(clock.now())),
        new Promise<void>((ok) => {
          setTimeout(ok, (6 * 60_000) / (opts.demoSpeed ?? DEMO_SPEED) + 3000).unref();
        }),
      ]).then(() => bus.idle()),
    );
  } else {
    const { SinaWsFeed } = config.quotes.sources.includes('sina-ws')
      ? await import('./market/sinaWs.ts')
      : { SinaWsFeed: undefined };
    const { BridgeQuoteStream } = config.quotes.sources.includes('qmt')
      ? await import('./market/bridgeQuotes.ts')
      : { BridgeQuoteStream: undefined };
    const list: QuoteFeed[] = config.quotes.sources.map((name) => {
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
    source = feeds;
  }
  await engine.start(source);
  stoppers.push(() => engine.stopInputs());

  log.info(
    {
      demo,
      broker: broker.name,
      clock: formatExchangeTime(clock.now()),
      watched: guard.watchedSymbols().length,
      channels: channels.map((c) => c.name),
    },
    'SealGuard started',
  );

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      // Inputs first (feeds, timers, the HTTP server), then the guard's own state, then the
      // outputs that may be waiting on servers that are gone.
      await runStopSteps(
        [
          ...stoppers.reverse().map((run, i) => ({ name: `input ${i + 1}`, run, maxMs: 1_000 })),
          { name: 'guard', run: () => engine.stop(), maxMs: 1_000 },
          { name: 'pending messages', run: () => bus.idle(), maxMs: 700 },
          { name: 'chat channels', run: () => hub.stop(), maxMs: 700 },
          { name: 'broker', run: () => broker.close?.(), maxMs: 500 },
          { name: 'health file', run: () => healthFile.close(), maxMs: 300, always: true },
        ],
        log,
      );
      lock.release();
    })());
  return { api, health, guard, engine, clock, log, ended, scheduler: engine.scheduler!, stop };
}

function envOf(config: Config): Record<string, string | undefined> {
  return {
    TENCENT_QUOTE_URL: config.quotes.tencentUrl,
    SINA_QUOTE_URL: config.quotes.sinaUrl,
    EASTMONEY_QUOTE_URL: config.quotes.eastmoneyUrl,
  };
}

function firstPollingFeed(config: Config) {
  const name = config.quotes.sources.find(isPollingSource);
  return name ? pollingFeed(name, envOf(config)) : undefined;
}
