/**
 * Bounded history (issue 15 item 7): orders.json and actions.json keep today's records; every
 * earlier day's go to DATA_DIR/history/<day>.json, written durably before they leave the live
 * stores, so the executor's tick walks today's work only. The records come from a real guard
 * (paper broker, stores on disk) that sold through a confirm on DAY.
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { addDays, exchangeTs } from '../../src/domain/time.ts';
import { DayRollover, ROLLOVER_RETRY_MS } from '../../src/engine/dayRollover.ts';
import { HealthBoard } from '../../src/engine/health.ts';
import { DaySummaries } from '../../src/engine/summary.ts';
import { DayRecorder } from '../../src/engine/dayReport.ts';
import {
  openGuardStores,
  type ActionsState,
  type DayArchive,
  type GuardStores,
  type OrdersState,
} from '../../src/engine/state.ts';
import type { JsonStore } from '../../src/store/jsonStore.ts';
import { EventLog } from '../../src/store/eventLog.ts';
import { SimClock } from '../../src/domain/clock.ts';
import { BrokerError, type Broker } from '../../src/broker/broker.ts';
import type { PaperBroker } from '../../src/broker/paper.ts';
import { DAY, sealed } from '../helpers/snapshots.ts';
import { harness, silent, type Harness } from './harness.ts';

const NEXT = addDays(DAY, 1);

const running: Harness[] = [];
afterEach(async () => {
  for (const h of running.splice(0)) await h.stop();
});

async function start(o: Parameters<typeof harness>[0]): Promise<Harness> {
  const h = await harness({ mode: 'confirm', ...o });
  running.push(h);
  return h;
}

/** A real day on DAY: the seal weakens, a confirm is shown, the user taps sell, the order is placed. */
async function soldOnDay(
  o: { wrap?: (p: PaperBroker) => Broker } = {},
): Promise<{ dir: string; h: Harness }> {
  const h = await start(o.wrap ? { wrap: o.wrap } : {});
  for (const [n, amount] of [100_000_000, 100_000_000, 15_000_000].entries())
    await h.feed(sealed(exchangeTs(DAY, '10:00:00') + n * 3000, amount));
  const action = Object.values(h.guard.stores.actions.data.actions)[0];
  expect(action, 'the weakening seal asked for a confirm').toBeDefined();
  const r = await h.api.resolve(action!.id, 'sell', 'test:1');
  expect(r.ok, r.message).toBe(true);
  await h.guard.tick();
  return { dir: h.dir, h };
}

async function stopped(h: Harness): Promise<void> {
  running.splice(running.indexOf(h), 1);
  await h.stop();
}

const live = (dir: string): { orders: OrdersState; actions: ActionsState } => ({
  orders: (JSON.parse(readFileSync(join(dir, 'orders.json'), 'utf8')) as { data: OrdersState }).data,
  actions: (JSON.parse(readFileSync(join(dir, 'actions.json'), 'utf8')) as { data: ActionsState }).data,
});
const archived = (dir: string, day: string): DayArchive =>
  (JSON.parse(readFileSync(join(dir, 'history', `${day}.json`), 'utf8')) as { data: DayArchive }).data;

describe('archiving earlier days', () => {
  it("a start on a new day moves the earlier day's intents and confirms to its archive, unchanged, and keeps today's", async () => {
    const { dir, h } = await soldOnDay();
    const before = live(dir);
    await stopped(h);
    expect(Object.keys(before.orders.intents)).toHaveLength(1);
    expect(Object.keys(before.actions.actions)).toHaveLength(1);

    // The next day: new shares to sell (the paper account starts afresh), a sell of its own, then
    // a restart the same day.
    unlinkSync(join(dir, 'paper.json'));
    const h2 = await start({ dir, day: NEXT });
    for (const [n, amount] of [100_000_000, 100_000_000, 15_000_000].entries())
      await h2.feed(sealed(exchangeTs(NEXT, '10:00:00') + n * 3000, amount));
    const todays = Object.values(h2.guard.stores.actions.data.actions).find((a) => a.day === NEXT)!;
    await h2.api.resolve(todays.id, 'sell', 'test:1');
    await stopped(h2);
    await start({ dir, day: NEXT, start: '11:00:00' });

    const a = archived(dir, DAY);
    expect(a.intents).toEqual(before.orders.intents);
    expect(a.actions).toEqual(before.actions.actions);
    const now = live(dir);
    expect(Object.values(now.orders.intents).map((i) => i.day)).toEqual([NEXT]);
    expect(Object.values(now.actions.actions).map((x) => x.day)).toEqual([NEXT]);
    // Today's is never archived.
    expect(existsSync(join(dir, 'history', `${NEXT}.json`))).toBe(false);
  });

  it('the first tick of a new exchange day archives the day before, and says of an open order that nothing changes it', async () => {
    // A gateway that never tells what became of the sell: the order's outcome stays unknown.
    const { dir, h } = await soldOnDay({
      wrap: (p) =>
        Object.assign(Object.create(p) as PaperBroker, {
          name: 'paper',
          placeSell: () => Promise.reject(new BrokerError('OUTCOME_UNKNOWN', 'gateway timeout')),
          getOrder: () => Promise.resolve(null),
        }),
    });
    const [intent] = Object.values(h.guard.stores.orders.data.intents);
    const [action] = Object.values(h.guard.stores.actions.data.actions);
    expect(intent!.state).toBe('unknown');
    h.clock.set(exchangeTs(NEXT, '09:00:00'));
    await h.guard.tick();
    expect(live(dir).orders.intents).toEqual({});
    expect(live(dir).actions.actions).toEqual({});
    const a = archived(dir, DAY);
    expect(Object.keys(a.intents)).toEqual([intent!.clientOrderId]);
    expect(a.unfinished[intent!.clientOrderId]).toMatch(
      /order unknown when its day ended: .*nothing changes this one .*client order id/,
    );
    expect(a.actions[action!.id]!.status).toBe('executing');
    expect(a.unfinished[action!.id]).toMatch(/confirm executing when its day ended/);
  });

  it('a crash between the archive write and the prune leaves exactly one copy of each record', async () => {
    const { dir, h } = await soldOnDay();
    await stopped(h);
    const before = live(dir);
    // The archive pass as at start-up, killed right after the archive is on disk: no prune.
    const stores = await openGuardStores(dir);
    const killed = <T>(s: JsonStore<T>): JsonStore<T> => ({
      file: s.file,
      get data() {
        return s.data;
      },
      update: () => Promise.reject(new Error('killed')),
    });
    const crashed: GuardStores = {
      ...stores,
      orders: killed(stores.orders),
      actions: killed(stores.actions),
    };
    const clock = new SimClock(exchangeTs(NEXT, '08:00:00'), () => 0);
    await new DayRollover({ stores: crashed, health: new HealthBoard(), log: silent, clock }).run(NEXT);
    expect(archived(dir, DAY).intents).toEqual(before.orders.intents);
    expect(live(dir)).toEqual(before);

    const h2 = await start({ dir, day: NEXT });
    const a = archived(dir, DAY);
    expect(a.intents).toEqual(before.orders.intents);
    expect(a.actions).toEqual(before.actions.actions);
    expect(live(dir).orders.intents).toEqual({});
    expect(live(dir).actions.actions).toEqual({});
    const shown = (await h2.api.orders(DAY)).intents.map((i) => i.clientOrderId);
    expect(shown).toEqual(Object.keys(before.orders.intents));
  });

  it("an intent still in the write-ahead log after its day was archived is not taken back over the archive's later state", async () => {
    const { dir, h } = await soldOnDay();
    await stopped(h);
    const [sold] = Object.values(live(dir).orders.intents);
    expect(sold!.state).toBe('final');
    // What the log held before the broker call; a crash before the log was emptied leaves it.
    const { order: _order, ...logged } = { ...sold!, state: 'intent' as const };
    const wal = join(dir, 'orders.wal.jsonl');
    await stopped(await start({ dir, day: NEXT }));
    expect(archived(dir, DAY).intents[sold!.clientOrderId]).toEqual(sold);
    writeFileSync(wal, `${JSON.stringify(logged)}\n`);
    await start({ dir, day: NEXT, start: '11:00:00' });
    expect(live(dir).orders.intents).toEqual({});
    expect(archived(dir, DAY).intents[sold!.clientOrderId]).toEqual(sold);
  });

  it("tick's work with 60 earlier days of history is the same as with none", async () => {
    const { dir, h } = await soldOnDay();
    await stopped(h);
    const none = mkdtempSync(join(tmpdir(), 'sg-hist-none-'));
    const sixty = mkdtempSync(join(tmpdir(), 'sg-hist-60-'));
    cpSync(dir, none, { recursive: true });
    cpSync(dir, sixty, { recursive: true });
    // 60 earlier days, each with a sell and its confirm as DAY's, under their own ids.
    const { orders, actions } = live(dir);
    const [intent] = Object.values(orders.intents);
    const [action] = Object.values(actions.actions);
    for (let n = 1; n <= 60; n++) {
      const day = addDays(DAY, -n);
      const id = `${intent!.clientOrderId}~${n}`;
      const aid = `${action!.id}~${n}`;
      orders.intents[id] = { ...intent!, day, clientOrderId: id, actionId: aid };
      actions.actions[aid] = { ...action!, day, id: aid, clientOrderId: id };
    }
    writeFileSync(join(sixty, 'orders.json'), JSON.stringify({ version: 1, data: orders }));
    writeFileSync(join(sixty, 'actions.json'), JSON.stringify({ version: 1, data: actions }));

    const visited = async (d: string): Promise<string[]> => {
      const g = await start({ dir: d, start: '10:05:00' });
      const seen = readsOf(g.guard.stores);
      await g.guard.tick();
      return [...seen].sort();
    };
    const withNone = await visited(none);
    const withSixty = await visited(sixty);
    expect(withNone).toEqual([`action:${action!.id}`, `intent:${intent!.clientOrderId}`]);
    expect(withSixty).toEqual(withNone);
    expect(readdirSync(join(sixty, 'history'))).toHaveLength(60);
  });

  it('an archive that cannot be read is left byte for byte, its day stays in orders.json with a health warning, and is archived once repaired', async () => {
    const { dir, h } = await soldOnDay();
    await stopped(h);
    const before = live(dir);
    const file = join(dir, 'history', `${DAY}.json`);
    // A torn hand edit: not JSON.
    const garbage = `{"version": 1, "data": {"day": "${DAY}", "intents": {`;
    mkdirSync(join(dir, 'history'));
    writeFileSync(file, garbage);

    const h2 = await start({ dir, day: NEXT });
    expect(readFileSync(file, 'utf8')).toBe(garbage);
    expect(live(dir)).toEqual(before);
    const item = h2.health.snapshot().items.find((i) => i.key === `history:${DAY}`);
    expect(item?.text).toMatch(/cannot be archived: .*is not valid JSON.*They stay in orders\.json/);
    const view = await h2.api.orders(DAY);
    expect(view.archive).toMatchObject({ file });
    expect(view.intents.map((i) => i.clientOrderId)).toEqual(Object.keys(before.orders.intents));

    // Repaired (here: removed); the next try is a minute later.
    unlinkSync(file);
    h2.clock.set(h2.clock.now() + 1000);
    await h2.guard.tick();
    expect(live(dir)).toEqual(before);
    h2.clock.set(h2.clock.now() + ROLLOVER_RETRY_MS);
    await h2.guard.tick();
    expect(archived(dir, DAY).intents).toEqual(before.orders.intents);
    expect(live(dir).orders.intents).toEqual({});
    expect(h2.health.has(`history:${DAY}`)).toBe(false);
  });

  it('/summary of an earlier day still shows its sell once orders.json no longer holds it', async () => {
    const { dir, h } = await soldOnDay();
    await stopped(h);
    const sell = Object.values(live(dir).orders.intents)[0]!;
    const h2 = await start({ dir, day: NEXT });
    expect(live(dir).orders.intents).toEqual({});
    const eventLog = new EventLog({ dataDir: dir });
    const summaries = new DaySummaries({
      guard: h2.guard,
      eventLog,
      bus: h2.bus,
      clock: h2.clock,
      dataDir: dir,
      recorder: new DayRecorder({ guard: h2.guard, eventLog, now: () => h2.clock.now() }),
      log: silent,
    });
    expect(await summaries.text(DAY)).toContain(`sell 卖出 ${sell.quantity} @ ${sell.limitPrice}`);
  });
});

/** Which intents and confirms the executor reads from the live stores (ids), from now on. */
function readsOf(stores: GuardStores): Set<string> {
  const seen = new Set<string>();
  // Proxies over shallow copies: the stored objects are frozen, and a proxy of a frozen property must return it as is.
  const counting = <R>(records: Record<string, R>, kind: string): Record<string, R> =>
    new Proxy(
      { ...records },
      {
        get(target, key, receiver) {
          if (typeof key === 'string' && key in target) seen.add(`${kind}:${key}`);
          return Reflect.get(target, key, receiver) as unknown;
        },
      },
    );
  const orders = stores.orders;
  const actions = stores.actions;
  stores.orders = {
    file: orders.file,
    get data() {
      return { ...orders.data, intents: counting(orders.data.intents, 'intent') };
    },
    update: (m) => orders.update(m),
  };
  stores.actions = {
    file: actions.file,
    get data() {
      return { actions: counting(actions.data.actions, 'action') };
    },
    update: (m) => actions.update(m),
  };
  return seen;
}
