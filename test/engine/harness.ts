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
import { GuardApi } from '../../src/engine/api.ts';
import { EventBus } from '../../src/engine/bus.ts';
import type { Mode } from '../../src/domain/modes.ts';
import type { GuardEvent } from '../../src/engine/events.ts';
import { Guard } from '../../src/engine/guard.ts';
import { HealthBoard } from '../../src/engine/health.ts';
import { openGuardStores } from '../../src/engine/state.ts';
import { SYMBOL, t } from '../helpers/snapshots.ts';

export interface Harness {
  dir: string;
  clock: SimClock;
  paper: PaperBroker;
  broker: Broker;
  guard: Guard;
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
  sellable?: number;
  /** Secrets to hide (the app passes redactor(config.secrets)). */
  redact?: (text: string) => string;
  /** The calendar's sell gate (engine/marketDays.ts sellBlockedReason). */
  sellBlocked?: () => string | undefined;
}

export const silent = pino({ level: 'silent' });

export async function harness(o: HarnessOptions = {}): Promise<Harness> {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'sg-guard-'));
  // Wall time stands still: the test moves the market clock explicitly with clock.set().
  const clock = new SimClock(t(o.start ?? '10:00:00'), () => 0);
  const last = new Map<string, Snapshot>();
  const paper = await PaperBroker.open({
    dataDir: dir,
    clock,
    quotes: (s) => last.get(s),
    positions: [
      { symbol: SYMBOL, name: '中国海诚', quantity: 10_000, sellable: o.sellable ?? 10_000, avgCost: '9.00' },
    ],
    cash: 100_000,
  });
  const broker = o.wrap ? o.wrap(paper) : paper;
  const stores = await openGuardStores(dir);
  const bus = new EventBus();
  const events: GuardEvent[] = [];
  bus.subscribe('test', (e) => {
    events.push(e);
  });
  // As src/app.ts wires it: each new problem and each end of one is an Incident on the bus.
  const health = new HealthBoard(() => clock.now());
  health.onChange(({ kind, item, isNew }) => {
    if (kind === 'set' && !isNew) return;
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
  const guard = new Guard({
    health,
    ...(o.redact ? { redact: o.redact } : {}),
    dataDir: dir,
    clock,
    broker,
    stores,
    bus,
    log: silent,
    defaultMode: o.mode ?? 'auto',
    defaultTriggers: o.triggers ?? { amount: 20_000_000 },
    confirmTimeoutS: o.confirmTimeoutS ?? 60,
    confirmDefault: o.confirmDefault ?? 'hold',
    positionsRefreshMs: 3_600_000,
    ...(o.sellBlocked ? { sellBlocked: o.sellBlocked } : {}),
    onSnapshot: (s) => {
      last.set(s.symbol, s);
      void paper.onQuote(s);
    },
  });
  await guard.start();
  const api = new GuardApi({ guard, broker, bus, clock, simulatedClock: true, sources: () => [] });
  return {
    dir,
    clock,
    paper,
    broker,
    guard,
    api,
    bus,
    events,
    health,
    async feed(s: Snapshot) {
      clock.set(s.ts);
      await guard.onSnapshots([s]);
      await bus.idle();
    },
    async stop() {
      await guard.stop();
      await bus.idle();
    },
  };
}

export const types = (h: Harness): string[] => h.events.map((e) => e.type);
