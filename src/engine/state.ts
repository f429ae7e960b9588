/**
 * The guard's durable state, one lowdb file per concern so a hot file (orders) never rewrites a
 * cold one (settings): settings.json (watches, modes, triggers, pause), orders.json (sell intents,
 * written before any broker call), actions.json (pending confirms). orders.json and actions.json
 * hold today's records; earlier days' are moved to history/YYYY-MM-DD.json (dayRollover.ts).
 * Today's seal segments live in an append-only journal instead (monitorJournal.ts).
 */
import { z } from 'zod';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppendLog } from '../store/appendLog.ts';
import { ORDER_STATUSES } from '../broker/broker.ts';
import { CONFIRM_DEFAULTS, MODES } from '../domain/modes.ts';
import { TRIGGER_BOUNDS, type TriggerKey } from '../domain/triggers.ts';
import { DayFiles } from '../store/dayFiles.ts';
import { openJsonStore, type JsonStore } from '../store/jsonStore.ts';

export const modeSchema = z.enum(MODES);

const pct = z.number().positive().max(TRIGGER_BOUNDS.pctMax);
// Typed against TriggerKey: a key added to TRIGGER_KEYS without a schema entry fails to compile.
const triggerShape = {
  amount: z.number().int().positive().nullable(),
  dropFromPeak: pct.nullable(),
  dropInWindow: z
    .object({ pct, windowSec: z.number().int().positive().max(TRIGGER_BOUNDS.windowSec[1]) })
    .nullable(),
  capRatio: pct.nullable(),
  confirm: z.number().int().min(TRIGGER_BOUNDS.confirm[0]).max(TRIGGER_BOUNDS.confirm[1]),
  onBreak: z.boolean(),
  chase: z.boolean(),
} satisfies Record<TriggerKey, z.ZodType>;
export const triggerConfigSchema = z.object(triggerShape).partial();
export type TriggerOverrides = z.infer<typeof triggerConfigSchema>;

export const watchSchema = z.object({
  symbol: z.string(),
  name: z.string().optional(),
  mode: modeSchema.optional(),
  triggers: triggerConfigSchema.optional(),
  /** Lowest price the user accepts after a break, decimal string. */
  floor: z.string().optional(),
  origin: z.enum(['user', 'holding']),
  addedAt: z.number(),
});
export type Watch = z.infer<typeof watchSchema>;

export const notifyLevel = z.enum(['on', 'silent', 'off']);

export const settingsSchema = z.object({
  watches: z.record(z.string(), watchSchema),
  /** Holdings the user explicitly unwatched: never auto-watched again until re-added. */
  ignored: z.array(z.string()),
  mode: modeSchema.optional(),
  triggers: triggerConfigSchema.optional(),
  paused: z.boolean(),
  notify: z.record(z.string(), notifyLevel),
});
export type Settings = z.infer<typeof settingsSchema>;

export const orderSchema = z.object({
  clientOrderId: z.string(),
  brokerOrderId: z.string().optional(),
  symbol: z.string(),
  side: z.enum(['sell', 'buy']),
  quantity: z.number().int(),
  filledQuantity: z.number().int(),
  avgFillPrice: z.string().optional(),
  limitPrice: z.string(),
  status: z.enum(ORDER_STATUSES),
  updatedAt: z.string(),
  message: z.string().optional(),
});

/** The steps of a follow-through chain, on disk and in the event log alike. */
export const FOLLOW_STEP_KINDS = [
  'placed',
  'broke',
  'cancelRequested',
  'cancelled',
  'replaced',
  'filled',
  'exhausted',
  'stopped',
] as const;

export const intentSchema = z.object({
  clientOrderId: z.string(),
  day: z.string(),
  symbol: z.string(),
  name: z.string(),
  segment: z.number().int(),
  quantity: z.number().int().positive(),
  limitPrice: z.string(),
  reason: z.string(),
  rule: z.string(),
  createdAt: z.number(),
  /** intent: written, broker not yet answered; placed: acknowledged; unknown: outcome unknown, reconciling; final: order done; failed: refused, never placed. */
  state: z.enum(['intent', 'placed', 'unknown', 'final', 'failed']),
  order: orderSchema.optional(),
  error: z.string().optional(),
  /** Sends that the broker refused as not ready (503); the same request is resent up to a limit. */
  attempts: z.number().int().min(0).optional(),
  actionId: z.string().optional(),
  /** Set on a follow-through replacement: the segment's first order and this one's attempt number. */
  rootId: z.string().optional(),
  attempt: z.number().int().min(1).optional(),
});
export type Intent = z.infer<typeof intentSchema>;

/** domain/followThrough.ts FollowChain, as stored. */
export const followChainSchema = z.object({
  rootId: z.string(),
  symbol: z.string(),
  day: z.string(),
  segment: z.number().int(),
  totalQty: z.number().int().positive(),
  attempt: z.number().int().min(0),
  currentId: z.string(),
  currentQty: z.number().int().positive(),
  currentPrice: z.number().int().positive(),
  placedAt: z.number(),
  fills: z.array(
    z.object({ attempt: z.number().int(), qty: z.number().int().min(0), price: z.number().int().nullable() }),
  ),
  phase: z.enum(['resting', 'cancelling', 'cancelled', 'done', 'exhausted', 'stopped']),
  cancelSentAt: z.number().optional(),
  cancelTries: z.number().int().optional(),
  steps: z.array(
    z.object({
      at: z.number(),
      kind: z.enum(FOLLOW_STEP_KINDS),
      attempt: z.number().int(),
      qty: z.number().int().optional(),
      price: z.number().int().optional(),
      note: z.string().optional(),
    }),
  ),
});

export const ordersSchema = z.object({
  intents: z.record(z.string(), intentSchema),
  /** Follow-through chains by the segment's first client order id; written with their intents. */
  follow: z.record(z.string(), followChainSchema).optional(),
});
export type OrdersState = z.infer<typeof ordersSchema>;

export const actionSchema = z.object({
  id: z.string(),
  day: z.string(),
  symbol: z.string(),
  name: z.string(),
  segment: z.number().int(),
  rule: z.string(),
  evidenceText: z.string(),
  sellable: z.number().int(),
  limitUp: z.string(),
  createdAt: z.number(),
  deadline: z.number(),
  onTimeout: z.enum(CONFIRM_DEFAULTS),
  status: z.enum(['pending', 'executing', 'sold', 'failed', 'held', 'expired']),
  resolvedBy: z.string().optional(),
  resolvedAt: z.number().optional(),
  outcome: z.string().optional(),
  clientOrderId: z.string().optional(),
  /** Where the confirm was shown, so the message can be edited later: channel -> message ref. */
  messages: z.record(z.string(), z.string()),
});
export type PendingAction = z.infer<typeof actionSchema>;

export const actionsSchema = z.object({ actions: z.record(z.string(), actionSchema) });
export type ActionsState = z.infer<typeof actionsSchema>;

/** One earlier trading day's intents, follow-through chains and confirms, as archived. */
export const dayArchiveSchema = z
  .object({
    day: z.string(),
    intents: z.record(z.string(), intentSchema),
    follow: z.record(z.string(), followChainSchema),
    actions: z.record(z.string(), actionSchema),
    /**
     * Records that were not finished when their day was archived, id -> why. Nothing in SealGuard
     * changes an archived record, and the note says so where it matters (an order whose outcome
     * was never seen, a confirm never answered).
     */
    unfinished: z.record(z.string(), z.string()),
  })
  .superRefine((a, ctx) => {
    // A record filed under the wrong day would be missing where it belongs and shown where not.
    for (const [kind, records] of [
      ['intents', a.intents],
      ['follow', a.follow],
      ['actions', a.actions],
    ] as const)
      for (const [id, r] of Object.entries(records))
        if (r.day !== a.day)
          ctx.addIssue({ code: 'custom', path: [kind, id, 'day'], message: `is ${r.day}, not ${a.day}` });
  });
export type DayArchive = z.infer<typeof dayArchiveSchema>;

export interface GuardStores {
  settings: JsonStore<Settings>;
  orders: JsonStore<OrdersState>;
  actions: JsonStore<ActionsState>;
  /**
   * The order intents' write-ahead log (orders.wal.jsonl): a new intent is appended here (one
   * write, one fsync) before its broker call, and orders.json follows in the background. Without
   * it (rigs that build their own stores) the intent goes to orders.json first, as before.
   */
  intentLog?: AppendLog;
  /** Earlier days, one file each (DATA_DIR/history/); nothing reads them every tick. */
  history: DayFiles<DayArchive>;
}

export function openHistory(dataDir: string): DayFiles<DayArchive> {
  return new DayFiles({
    dir: join(dataDir, 'history'),
    schema: dayArchiveSchema,
    version: 1,
    empty: (day) => ({ day, intents: {}, follow: {}, actions: {}, unfinished: {} }),
    dayOf: (a) => a.day,
  });
}

/** The write-ahead log next to orders.json. */
export function intentLogFile(dataDir: string): string {
  return join(dataDir, 'orders.wal.jsonl');
}

/**
 * Takes back into orders.json every intent the log holds that orders.json lacks (a process that
 * died after the log's fsync and before orders.json's rewrite), then empties the log. A line that
 * does not read as an intent is left out, never guessed at; an intent orders.json already has is
 * never overwritten (orders.json then holds the later state of it), and neither is one already in
 * its day's archive (orders.json held it until the archive took its later state).
 */
export async function recoverIntentLog(
  log: AppendLog,
  orders: JsonStore<OrdersState>,
  history?: DayFiles<DayArchive>,
): Promise<{ recovered: string[]; unreadable: number }> {
  const recovered: Intent[] = [];
  let unreadable = 0;
  for (const line of await log.lines()) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      unreadable++;
      continue;
    }
    const r = intentSchema.safeParse(parsed);
    if (!r.success) {
      unreadable++;
      continue;
    }
    if (orders.data.intents[r.data.clientOrderId]) continue;
    if (history && (await archived(history, r.data))) continue;
    recovered.push(r.data);
  }
  if (recovered.length > 0)
    await orders.update((d) => {
      for (const i of recovered) d.intents[i.clientOrderId] ??= i;
    });
  // Lines that are not intents are kept aside, never thrown away: they are somebody's data.
  if (unreadable > 0) await copyFile(log.file, `${log.file}.unreadable-${Date.now()}`);
  await log.resetWhen(() => true);
  return { recovered: recovered.map((i) => i.clientOrderId), unreadable };
}

/** In its day's archive; an archive that cannot be read holds nothing for this (take it back). */
async function archived(history: DayFiles<DayArchive>, i: Intent): Promise<boolean> {
  let read;
  try {
    read = await history.read(i.day);
  } catch {
    return false;
  }
  return read.kind === 'found' && i.clientOrderId in read.data.intents;
}

export async function openGuardStores(dataDir: string): Promise<GuardStores> {
  const [settings, orders, actions] = await Promise.all([
    openJsonStore({
      file: join(dataDir, 'settings.json'),
      schema: settingsSchema,
      version: 1,
      defaults: () => ({ watches: {}, ignored: [], paused: false, notify: {} }),
    }),
    openJsonStore({
      file: join(dataDir, 'orders.json'),
      schema: ordersSchema,
      version: 1,
      defaults: () => ({ intents: {} }),
    }),
    openJsonStore({
      file: join(dataDir, 'actions.json'),
      schema: actionsSchema,
      version: 1,
      defaults: () => ({ actions: {} }),
    }),
  ]);
  const history = openHistory(dataDir);
  const intentLog = new AppendLog(intentLogFile(dataDir));
  await recoverIntentLog(intentLog, orders, history);
  return { settings, orders, actions, intentLog, history };
}
