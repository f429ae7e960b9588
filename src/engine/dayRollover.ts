/**
 * Moves earlier trading days' intents, follow-through chains and confirms out of orders.json and
 * actions.json into DATA_DIR/history/<day>.json, at start-up and at the first tick of a new
 * exchange day, so that what the executor walks every second is today's records only.
 *
 * Order is the safety argument: a day's archive is written durably FIRST, and only records equal
 * to what was archived are then removed from the live stores. A crash between the two leaves the
 * records in both places; the next pass merges them into the archive again by id (the same
 * record, not a second one) and removes them. Readers of a past day (GuardApi.orders, the summary)
 * take the live copy over the archived one meanwhile, so nothing shows twice either.
 *
 * An archive that cannot be read (corrupt, hand-edited, a file of another day) is not merged into
 * and not moved aside: that day's records stay in orders.json/actions.json, where they are safe
 * and still shown, and the health board says which file to repair. Moving it aside and starting
 * afresh would have made /orders <day> show a partial day as if it were whole.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { Clock } from '../domain/clock.ts';
import { TERMINAL } from '../domain/followThrough.ts';
import type { HealthBoard } from './health.ts';
import type { DayArchive, GuardStores } from './state.ts';

/** After a pass that left something behind (a full disk, a corrupt archive), the next try. */
export const ROLLOVER_RETRY_MS = 60_000;

export interface DayRolloverOptions {
  stores: GuardStores;
  health: HealthBoard;
  log: Logger;
  clock: Clock;
  redact?: (text: string) => string;
}

type Records = Omit<DayArchive, 'day' | 'unfinished'>;

export class DayRollover {
  /** The exchange day for which every earlier day's records are archived. */
  #doneFor = '';
  #retryAt = 0;

  constructor(private readonly o: DayRolloverOptions) {}

  /** Cheap when there is nothing to do (the same day, no retry due): called every tick. Never throws. */
  async run(today: string): Promise<void> {
    if (today === this.#doneFor) return;
    const now = this.o.clock.now();
    if (now < this.#retryAt) return;
    let complete = false;
    try {
      complete = await this.archiveBefore(today);
    } catch (err) {
      this.o.log.warn({ err: this.text(String(err)) }, 'archiving earlier days failed');
    }
    if (complete) {
      this.#doneFor = today;
      this.#retryAt = 0;
    } else {
      this.#retryAt = now + ROLLOVER_RETRY_MS;
    }
  }

  /** true when nothing of a day before `today` is left in the live stores. */
  private async archiveBefore(today: string): Promise<boolean> {
    const days = this.pastDays(today);
    let complete = true;
    const archived = new Map<string, Records>();
    for (const [day, records] of days) {
      const key = `history:${day}`;
      try {
        await this.o.stores.history.update(day, (d) => {
          Object.assign(d.intents, records.intents);
          Object.assign(d.follow, records.follow);
          Object.assign(d.actions, records.actions);
          // A note belongs to a record as it was archived last: one finished since loses it.
          for (const id of ids(records)) delete d.unfinished[id];
          Object.assign(d.unfinished, unfinishedNotes(records));
        });
      } catch (err) {
        complete = false;
        const why = err instanceof Error ? err.message : String(err);
        this.o.health.set(
          key,
          'disk',
          'warn',
          this.text(
            `the orders and confirms of ${day} cannot be archived: ${why} They stay in orders.json/actions.json (nothing is lost); repair or remove ${this.o.stores.history.file(day)} and they are archived within a minute.`,
          ),
        );
        continue;
      }
      archived.set(day, records);
      this.o.health.clear(key);
    }
    if (archived.size === 0) return complete;
    // Only what is still exactly as archived goes: a record changed meanwhile stays for next pass.
    let left = 0;
    const prune = <R>(live: Record<string, R> | undefined, kept: Record<string, R>): void => {
      if (!live) return;
      for (const [id, r] of Object.entries(kept)) {
        const cur = live[id];
        if (cur === undefined) continue;
        if (isDeepStrictEqual(cur, r)) delete live[id];
        else left++;
      }
    };
    await this.o.stores.orders.update((d) => {
      for (const r of archived.values()) {
        prune(d.intents, r.intents);
        prune(d.follow, r.follow);
      }
    });
    await this.o.stores.actions.update((d) => {
      for (const r of archived.values()) prune(d.actions, r.actions);
    });
    this.o.log.info({ days: [...archived.keys()], left }, 'earlier days archived to DATA_DIR/history');
    return complete && left === 0;
  }

  /** Every record of a day before today in the live stores, by day. */
  private pastDays(today: string): Map<string, Records> {
    const days = new Map<string, Records>();
    const of = (day: string): Records => {
      let r = days.get(day);
      if (!r) days.set(day, (r = { intents: {}, follow: {}, actions: {} }));
      return r;
    };
    // Dates are YYYY-MM-DD: their string order is their calendar order.
    const orders = this.o.stores.orders.data;
    for (const [id, i] of Object.entries(orders.intents)) if (i.day < today) of(i.day).intents[id] = i;
    for (const [id, c] of Object.entries(orders.follow ?? {})) if (c.day < today) of(c.day).follow[id] = c;
    for (const [id, a] of Object.entries(this.o.stores.actions.data.actions))
      if (a.day < today) of(a.day).actions[id] = a;
    return new Map([...days].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  private text(t: string): string {
    return this.o.redact ? this.o.redact(t) : t;
  }
}

function ids(r: Records): string[] {
  return [...Object.keys(r.intents), ...Object.keys(r.follow), ...Object.keys(r.actions)];
}

/** Why an archived record that was still open will never change again. */
function unfinishedNotes(r: Records): Record<string, string> {
  const notes: Record<string, string> = {};
  const after = 'SealGuard does not follow an earlier day’s records and nothing changes this one any more';
  for (const [id, i] of Object.entries(r.intents))
    if (i.state !== 'final' && i.state !== 'failed')
      notes[id] =
        `order ${i.state} when its day ended: ${after}; its outcome is at the broker (client order id ${id}${i.order?.brokerOrderId ? `, order ${i.order.brokerOrderId}` : ''})`;
  for (const [id, c] of Object.entries(r.follow))
    if (!TERMINAL.has(c.phase)) notes[id] = `follow-through ${c.phase} when its day ended: ${after}`;
  for (const [id, a] of Object.entries(r.actions))
    if (a.status === 'pending' || a.status === 'executing')
      notes[id] = `confirm ${a.status} when its day ended: ${after}`;
  return notes;
}
