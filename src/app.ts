/**
 * Composition root: configuration in, a running guard out. The only place that knows every
 * layer; everything below it talks through interfaces (QuoteSource, Broker, Channel, GuardApi).
 * What differs between runs (the live guard, the demo) is a RunProfile (profile.ts, demo.ts).
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { createBroker } from './broker/factory.ts';
import { redactor } from './broker/redact.ts';
import type { Channel } from './chat/channel.ts';
import { ConsoleChannel } from './chat/console.ts';
import { ChatHub } from './chat/hub.ts';
import type { Config } from './config.ts';
import type { Clock } from './domain/clock.ts';
import { formatExchangeTime } from './domain/time.ts';
import type { GuardApi } from './engine/api.ts';
import { createEngine, type Engine } from './engine/engine.ts';
import { HealthBoard } from './engine/health.ts';
import { skipBody } from './net/boundedBody.ts';
import { HealthFileWriter } from './store/healthFile.ts';
import { DiskSpaceMonitor } from './store/diskSpace.ts';
import type { Scheduler } from './engine/scheduler.ts';
import type { Guard } from './engine/guard.ts';
import { openGuardStores } from './engine/state.ts';
import { createLogger, child, type Logger } from './log.ts';
import { EventLog } from './store/eventLog.ts';
import { StoreError } from './store/errors.ts';
import { runStopSteps } from './shutdown.ts';
import { demoProfile } from './demo.ts';
import { liveProfile, type RunProfile } from './profile.ts';
import { acquireDataDirLock, LOCK_FILE, type DataDirLock } from './store/lock.ts';

export interface AppOptions {
  /** What kind of run (default: liveProfile(config)). */
  profile?: RunProfile;
  /** Shorthand for profile: demoProfile(config, { speed: demoSpeed }). */
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

export async function startApp(config: Config, opts: AppOptions = {}): Promise<App> {
  const profile =
    opts.profile ??
    (opts.demo
      ? demoProfile(config, opts.demoSpeed !== undefined ? { speed: opts.demoSpeed } : {})
      : liveProfile(config));
  // Logs go to stderr: stdout belongs to the console chat when it is on.
  const log =
    opts.logger ??
    createLogger(profile.logLevel ? { ...config, log: { ...config.log, level: profile.logLevel } } : config, {
      destination: process.stderr,
    });
  const wall = () => Date.now();

  // ---- data directory: created, then locked (one guard per DATA_DIR) ---------------------
  const dataDir = profile.dataDir;
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
    if (profile.wipe) emptyDirectory(dataDir, [LOCK_FILE]);
    return await startLocked(config, opts, { log, wall, profile, lock });
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
  ctx: { log: Logger; wall: () => number; profile: RunProfile; lock: DataDirLock },
): Promise<App> {
  const { log, wall, profile, lock } = ctx;
  const dataDir = profile.dataDir;
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

  // ---- market: its clock, its quotes -------------------------------------------------------
  const market = await profile.market({ wall, log, health });
  const { clock } = market;

  // ---- broker --------------------------------------------------------------------------
  // Login prompts (东方财富 captcha) can come before the chat is up; they wait here until then.
  const loginPrompts: { broker: string; text: string; file?: string }[] = [];
  let loginPrompt: (p: { broker: string; text: string; file?: string }) => void = (p) => {
    loginPrompts.push(p);
  };
  let afterLogin: () => void = () => {};
  const elog = child(log, config.broker.kind);
  const { broker, paper, http, relay } = await createBroker(config, {
    dataDir,
    clock,
    wall,
    health,
    log: { info: (o, m) => elog.info(o, m), warn: (o, m) => elog.warn(o, m) },
    ...(profile.paperPositions ? { paperPositions: profile.paperPositions } : {}),
    onLoginPrompt: ({ loggedIn, ...p }) => {
      loginPrompt(p);
      // Holdings become readable now, not at the next periodic refresh (up to 30 s later).
      if (loggedIn) afterLogin();
    },
    onPaperError: (err) => log.warn({ err: err.message }, 'paper broker'),
  });

  // ---- engine ------------------------------------------------------------------------------
  const engine = await createEngine({
    dataDir,
    clock,
    simulatedClock: market.simulated,
    broker,
    ...(paper ? { sink: paper } : {}),
    stores,
    health,
    log,
    defaultMode: profile.defaultMode ?? config.guard.mode,
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
      return s ? { name: s.name } : market.lookup(symbol);
    },
  });
  const { api, bus, guard } = engine;
  afterLogin = () => engine.account.refreshSoon();

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
  if (http) httpHandlers.push(http);
  // WECOM-CHANNEL: the WeCom channel (app, robot, callback server) is wired here.
  if (config.wecom || config.wecomWebhookKey) {
    const { createWecomChannel } = await import('./chat/wecomChannel.ts');
    const wecom = createWecomChannel(config, api, child(log, 'wecom'), { dataDir, health });
    channels.push(wecom.channel);
    if (wecom.handle) httpHandlers.push(wecom.handle);
  }
  if (channels.length === 0 || profile.console) {
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
  const ended: Promise<void> = market.ended ? market.ended(engine) : new Promise(() => {});
  const source = await market.source(bus, relay);
  await engine.start(source);
  stoppers.push(() => engine.stopInputs());

  log.info(
    {
      dataDir,
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
          { name: 'chat input', run: () => hub.stopReceiving(), maxMs: 300 },
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
