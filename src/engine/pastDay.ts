/**
 * An earlier trading day's intents, follow-through chains and confirms, for /orders <date> and
 * /summary <date>: its archive (DATA_DIR/history/<day>.json) with whatever of that day is still
 * in the live stores laid over it. Records are still live when the archive could not be written
 * (a full disk, an archive that cannot be read) or between an archive write and the prune that
 * follows it; the live copy is the newer one, and one id is one record, so nothing shows twice.
 */
import type { DayArchive, GuardStores, Intent, PendingAction } from './state.ts';

type Chain = DayArchive['follow'][string];

export interface PastDay {
  day: string;
  /** In the order they were created. */
  intents: Intent[];
  follow: Chain[];
  actions: PendingAction[];
  /** Archived records that were still open when their day ended, id -> why nothing changes them. */
  unfinished: Record<string, string>;
  /** found; none: no archive file (the day had no records, or they are all still live); or why not readable. */
  archive: 'found' | 'none' | { file: string; problem: string };
}

export async function readPastDay(stores: GuardStores, day: string): Promise<PastDay> {
  const read = await stores.history.read(day);
  const archived = read.kind === 'found' ? read.data : undefined;
  const intents: Record<string, Intent> = { ...archived?.intents };
  const follow: Record<string, Chain> = { ...archived?.follow };
  const actions: Record<string, PendingAction> = { ...archived?.actions };
  const unfinished: Record<string, string> = { ...archived?.unfinished };
  // The live copy is newer than the archived one, and not archived: no archive note.
  const overlay = <R extends { day: string }>(into: Record<string, R>, from: Record<string, R>): void => {
    for (const [id, r] of Object.entries(from)) {
      if (r.day !== day) continue;
      into[id] = r;
      delete unfinished[id];
    }
  };
  overlay(intents, stores.orders.data.intents);
  overlay(follow, stores.orders.data.follow ?? {});
  overlay(actions, stores.actions.data.actions);
  return {
    day,
    intents: Object.values(intents).sort(
      (a, b) => a.createdAt - b.createdAt || cmp(a.clientOrderId, b.clientOrderId),
    ),
    follow: Object.values(follow).sort((a, b) => a.placedAt - b.placedAt || cmp(a.rootId, b.rootId)),
    actions: Object.values(actions).sort((a, b) => a.createdAt - b.createdAt || cmp(a.id, b.id)),
    unfinished,
    archive: read.kind === 'unreadable' ? { file: read.file, problem: read.problem } : read.kind,
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
