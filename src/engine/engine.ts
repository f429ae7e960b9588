/**
 * The engine as one object, built the same way by the app, the bench and the tests: stores and
 * adapters in, the guard, its API, the event bus, the day history and the scheduled jobs out,
 * wired with named methods. The path of a sell, each hop one definition away:
 *   FeedManager.request -> FeedManager.deliver -> SnapshotSink.onSnapshots (= Engine.onSnapshots)
 *   -> PaperBroker.onQuotes (paper only) -> Guard.onSnapshots (advance / repeatStep per stock)
 *   -> Guard.sellFirst -> Executor.onTrigger (with the MarketView it fired on) -> Executor.sell
 *   (intent on disk) -> Executor.send -> Broker.placeSell;
 * then events on the bus (held until the POST is out) -> channels, event log, day recorder.
 */
import type { Logger } from 'pino';
import type { Broker, QuoteSink } from '../broker/broker.ts';
import { formatAmount } from '../domain/amounts.ts';
import type { Clock } from '../domain/clock.ts';
import type { ConfirmDefault, Mode } from '../domain/modes.ts';
import { exchangeDate } from '../domain/time.ts';
import type { TriggerConfig } from '../domain/triggers.ts';
import type { Snapshot } from '../domain/types.ts';
import type { QuoteSource } from '../market/source.ts';
import type { EventLog } from '../store/eventLog.ts';
import { GuardApi, type DiskStatus } from './api.ts';
import { AccountBook } from './account.ts';
import type { WatchBook } from './watchBook.ts';
import { EventBus, RECORD_QUEUE } from './bus.ts';
import { DayRecorder } from './dayReport.ts';
import { Guard } from './guard.ts';
import type { HealthBoard } from './health.ts';
import { MarketDays } from './marketDays.ts';
import { dailyJobs, Scheduler } from './scheduler.ts';
import type { GuardStores } from './state.ts';
import { DaySummaries } from './summary.ts';

export interface EngineOptions {
  dataDir: string;
  clock: Clock;
  /** The market clock is simulated (SEALGUARD_CLOCK, the demo, tests): shown by /status. */
  simulatedClock: boolean;
  broker: Broker;
  /** Sees every snapshot before the guard decides on it (the paper broker fills against it). */
  sink?: QuoteSink;
  stores: GuardStores;
  health: HealthBoard;
  log: Logger;
  defaultMode: Mode;
  defaultTriggers: TriggerConfig;
  confirmTimeoutS: number;
  confirmDefault: ConfirmDefault;
  confirmSnapshots?: number;
  /** Follow-through after a break: wait before replacing an unfilled sell, and how many times. */
  replaceAfterMs?: number;
  replaceMax?: number;
  /** DEFAULT_FLOOR in hundredths of % from the previous close. */
  defaultFloorCenti?: number;
  positionsRefreshMs?: number;
  /** Hides secrets in texts that reach a channel or a file. */
  redact?: (text: string) => string;
  /** Is this code a real, listed instrument? Resolves its name, or null. */
  lookup?: (symbol: string) => Promise<{ name: string } | null>;
  /**
   * The market calendar (DATA_DIR/calendar*.json, /calendar, the provisional-day sell gate). Off
   * in unit rigs, which may give their own `sellBlocked` instead.
   */
  calendar?: boolean;
  sellBlocked?: () => string | undefined;
  /** The day history (events, seal samples): with it come /summary, the 09:00 and 15:05 jobs. */
  eventLog?: EventLog;
  disk?: () => DiskStatus | undefined;
  /** On start, tell the channels what is guarded and how (the app's first message to the user). */
  announceStart?: boolean;
}

export interface Engine {
  api: GuardApi;
  bus: EventBus;
  /** Still the owner of the monitors, the market view and the executor. */
  guard: Guard;
  /** Positions, sellable shares, broker up/down. */
  account: AccountBook;
  /** The watch list, modes, triggers, floors, pause (settings.json). */
  watch: WatchBook;
  calendar?: MarketDays;
  recorder?: DayRecorder;
  summaries?: DaySummaries;
  scheduler?: Scheduler;
  /** The symbols to ask quotes for: the watched ones, and those sold today (the summary judges them). */
  polled(): string[];
  /** One batch of snapshots, as a source delivers it (a poll cycle, a pushed quote); never rejects. */
  onSnapshots(batch: Snapshot[]): Promise<void>;
  /** Restores state, tells the channels what is guarded, starts the source and the daily jobs. */
  start(source?: QuoteSource): Promise<void>;
  /** Stops the inputs (the source, the jobs): nothing new comes in. */
  stopInputs(): Promise<void>;
  /** Stops the guard (persists its state). Call after stopInputs. */
  stop(): Promise<void>;
}

export async function createEngine(o: EngineOptions): Promise<Engine> {
  const { clock, health, log, stores } = o;
  const bus = new EventBus({
    onError: (sub, err) => log.warn({ subscriber: sub, err }, 'event subscriber failed'),
  });
  const calendar = o.calendar
    ? await MarketDays.open({
        dataDir: o.dataDir,
        clock,
        health,
        bus,
        log: log.child({ module: 'calendar' }),
      })
    : undefined;
  let source: QuoteSource | undefined;
  const sellBlocked = o.sellBlocked ?? (calendar ? () => calendar.sellBlockedReason() : undefined);
  const account = new AccountBook({
    broker: o.broker,
    bus,
    clock,
    log: log.child({ module: 'account' }),
    ...(o.positionsRefreshMs ? { refreshMs: o.positionsRefreshMs } : {}),
  });
  const guard = new Guard({
    account,
    dataDir: o.dataDir,
    clock,
    broker: o.broker,
    stores,
    bus,
    log: log.child({ module: 'guard' }),
    defaultMode: o.defaultMode,
    defaultTriggers: o.defaultTriggers,
    confirmTimeoutS: o.confirmTimeoutS,
    confirmDefault: o.confirmDefault,
    ...(o.confirmSnapshots ? { confirmSnapshots: o.confirmSnapshots } : {}),
    ...(o.positionsRefreshMs ? { positionsRefreshMs: o.positionsRefreshMs } : {}),
    ...(o.replaceAfterMs !== undefined ? { replaceAfterMs: o.replaceAfterMs } : {}),
    ...(o.replaceMax !== undefined ? { replaceMax: o.replaceMax } : {}),
    ...(o.defaultFloorCenti !== undefined ? { defaultFloorCenti: o.defaultFloorCenti } : {}),
    // Unknown order outcomes and failed intent writes are told on every channel through the board.
    health,
    ...(o.redact ? { redact: o.redact } : {}),
    ...(sellBlocked ? { sellBlocked } : {}),
    ...(o.lookup ? { lookup: o.lookup } : {}),
    onSymbols: () => source?.setSymbols(polled()),
  });

  // One snapshot cache: the paper broker fills against the guard's last snapshots.
  o.sink?.quoteFrom?.(guard);

  // Stocks sold out today stay polled until the close: the daily summary judges a sale by it.
  function polled(): string[] {
    const today = exchangeDate(clock.now());
    const all = new Set(guard.watchedSymbols());
    for (const i of Object.values(stores.orders.data.intents)) if (i.day === today) all.add(i.symbol);
    return [...all].sort();
  }

  const eventLog = o.eventLog;
  const recorder = eventLog
    ? new DayRecorder({
        guard,
        eventLog,
        now: () => clock.now(),
        onError: (err) => log.warn({ err }, 'day history could not be written'),
      })
    : undefined;
  const summaries =
    eventLog && recorder
      ? new DaySummaries({
          guard,
          eventLog,
          bus,
          clock,
          dataDir: o.dataDir,
          recorder,
          log: log.child({ module: 'summary' }),
        })
      : undefined;
  const api = new GuardApi({
    guard,
    broker: o.broker,
    bus,
    clock,
    simulatedClock: o.simulatedClock,
    sources: () => source?.status() ?? [],
    ...(summaries ? { summary: (date: string) => summaries.text(date) } : {}),
    health,
    ...(o.disk ? { disk: o.disk } : {}),
    ...(calendar ? { calendar } : {}),
  });
  // Each problem is told once when it starts and once when it ends, on the channels that work.
  health.onChange(({ kind, item, isNew }) => {
    if (kind === 'set' && !isNew) return;
    log[item.level === 'error' ? 'error' : 'warn'](
      { component: item.component, key: item.key, resolved: kind === 'clear' },
      item.text,
    );
    bus.publish({
      type: 'Incident',
      at: clock.now(),
      key: item.key,
      component: item.component,
      level: item.level,
      text: item.text,
      resolved: kind === 'clear',
    });
  });
  if (eventLog)
    bus.subscribe('event-log', (e) => eventLog.append({ ...e, ts: e.at }), { maxQueue: RECORD_QUEUE });
  summaries?.start();
  const scheduler = summaries
    ? await Scheduler.open({
        clock,
        dataDir: o.dataDir,
        jobs: dailyJobs({
          briefing: (date) => summaries.runBriefing(date),
          summary: (date) => summaries.runSummary(date),
        }),
        log: log.child({ module: 'scheduler' }),
      })
    : undefined;

  async function onSnapshots(batch: Snapshot[]): Promise<void> {
    try {
      // First: a batch that confirms a provisional day open arms selling for its own triggers.
      calendar?.onSnapshots(batch);
      // The paper broker fills against what it has seen, before the guard decides on the batch.
      o.sink?.onQuotes(batch);
      if (recorder) {
        // Only stocks that sealed today are sampled: the guard names them as it steps them.
        const sealed: Snapshot[] = [];
        await guard.onSnapshots(batch, sealed);
        for (const s of sealed) recorder.onSnapshot(s);
      } else await guard.onSnapshots(batch);
    } catch (err) {
      // A source delivers and moves on: a failure here is logged, never thrown back into it.
      log.error({ err }, 'snapshot handling failed');
    }
  }

  const engine: Engine = {
    api,
    bus,
    guard,
    account,
    watch: guard.watchBook,
    ...(calendar ? { calendar } : {}),
    ...(recorder ? { recorder } : {}),
    ...(summaries ? { summaries } : {}),
    ...(scheduler ? { scheduler } : {}),
    polled,
    onSnapshots,
    async start(s) {
      await guard.start();
      if (o.announceStart) {
        bus.publish({ type: 'Info', at: clock.now(), text: startupText(guard, api) });
        const warning = calendar?.warning();
        if (warning) bus.publish({ type: 'Info', at: clock.now(), text: `⚠️ ${warning}` });
      }
      if (s) {
        source = s;
        s.start(polled(), engine);
      }
      scheduler?.start();
    },
    async stopInputs() {
      await Promise.all([source?.stop(), scheduler?.stop()]);
    },
    stop: () => guard.stop(),
  };
  return engine;
}

/** The first thing a user sees: what is being guarded, and how. */
function startupText(guard: Guard, api: GuardApi): string {
  const rows = api.list();
  if (rows.length === 0)
    return 'SealGuard is running. Nothing to guard yet: no holdings; add a code with /watch 600519 2000w.';
  const names = rows.map((v) => `${v.name || v.symbol} ${v.symbol}`).join(', ');
  const t = guard.effectiveTriggers(undefined);
  const rule = t.amount ? `seal below ${formatAmount(t.amount)}` : 'the configured triggers';
  return `SealGuard is watching ${rows.length}: ${names}. Default: sell on ${rule} (mode ${guard.modeOf('')}).${guard.paused ? ' Automatic selling is PAUSED.' : ''}`;
}
