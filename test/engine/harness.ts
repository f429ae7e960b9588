/**
 * A real guard (stores on disk, paper broker, event bus) on a market clock that the test moves,
 * fed scripted snapshots. Nothing here is mocked: only the quotes are scripted.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { Broker } from '../../src/broker/broker.ts';
import { PaperBroker } from '../../src/broker/paper.ts';
import { SimClock } from '../../src/domain/clock.ts';
import type { TriggerConfig } from '../../src/domain/triggers.ts';
import type { Snapshot } from '../../src/domain/types.ts';
import type { GuardApi } from '../../src/engine/api.ts';
import type { EventBus } from '../../src/engine/bus.ts';
import { createEngine, type Engine } from '../../src/engine/engine.ts';
import type { EventLog } from '../../src/store/eventLog.ts';
import type { Mode } from '../../src/domain/modes.ts';
import type { GuardEvent } from '../../src/engine/events.ts';
import type { Guard } from '../../src/engine/guard.ts';
import { HealthBoard } from '../../src/engine/health.ts';
import { openGuardStores } from '../../src/engine/state.ts';
import { exchangeTs } from '../../src/domain/time.ts';
import { DAY, SYMBOL } from '../helpers/snapshots.ts';

export interface Harness {
  dir: string;
  clock: SimClock;
  paper: PaperBroker;
  broker: Broker;
  guard: Guard;
  engine: Engine;
  api: GuardApi;
  bus: EventBus;
  events: GuardEvent[];
  health: HealthBoard;
  feed(s: Snapshot): Promise<void>;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  dir?: string;
  mode?: Mode;
  triggers?: TriggerConfig;
  confirmDefault?: 'sell' | 'hold';
  confirmTimeoutS?: number;
  /** Wraps the paper broker (to inject faults) before the guard sees it. */
  wrap?: (paper: PaperBroker) => Broker;
  start?: string;
  /** The exchange date the clock starts on (default DAY, a Monday). */
  day?: string;
  sellable?: number;
  /** Secrets to hide (the app passes redactor(config.secrets)). */
  redact?: (text: string) => string;
  /** The calendar's sell gate (engine/marketDays.ts sellBlockedReason). */
  sellBlocked?: () => string | undefined;
  /** DEFAULT_FLOOR in hundredths of % from the previous close. */
  defaultFloorCenti?: number;
  /** The day history: with it the engine builds its day recorder, as the app does. */
  eventLog?: EventLog;
}

export const silent = pino({ level: 'silent' });

export async function harness(o: HarnessOptions = {}): Promise<Harness> {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'sg-guard-'));
  // Wall time stands still: the test moves the market clock explicitly with clock.set().
  const clock = new SimClock(exchangeTs(o.day ?? DAY, o.start ?? '10:00:00'), () => 0);
  const paper = await PaperBroker.open({
    dataDir: dir,
    clock,
    positions: [
      { symbol: SYMBOL, name: '中国海诚', quantity: 10_000, sellable: o.sellable ?? 10_000, avgCost: '9.00' },
    ],
    cash: 100_000,
  });
  const broker = o.wrap ? o.wrap(paper) : paper;
  const stores = await openGuardStores(dir);
  // As src/app.ts builds it (createEngine), minus the calendar and the day history.
  const health = new HealthBoard(() => clock.now());
  const engine = await createEngine({
    dataDir: dir,
    clock,
    simulatedClock: true,
    broker,
    sink: paper,
    stores,
    health,
    log: silent,
    defaultMode: o.mode ?? 'auto',
    defaultTriggers: o.triggers ?? { amount: 20_000_000 },
    confirmTimeoutS: o.confirmTimeoutS ?? 60,
    confirmDefault: o.confirmDefault ?? 'hold',
    positionsRefreshMs: 3_600_000,
    ...(o.redact ? { redact: o.redact } : {}),
    ...(o.sellBlocked ? { sellBlocked: o.sellBlocked } : {}),
    ...(o.defaultFloorCenti !== undefined ? { defaultFloorCenti: o.defaultFloorCenti } : {}),
    ...(o.eventLog ? { eventLog: o.eventLog } : {}),
  });
  const { bus, guard, api } = engine;
  const events: GuardEvent[] = [];
  bus.subscribe('test', (e) => {
    events.push(e);
  });
  await engine.start();
  return {
    dir,
    clock,
    paper,
    broker,
    guard,
    engine,
    api,
    bus,
    events,
    health,
    async feed(s: Snapshot) {
      clock.set(s.ts);
      await engine.onSnapshots([s]);
      await bus.idle();
    },
    async stop() {
      await engine.stop();
      await bus.idle();
    },
  };
}

export const types = (h: Harness): string[] => h.events.map((e) => e.type);
