/**
 * Runtime checks of the guard's events (events.ts), for reading them back from the event log.
 * The union in events.ts stays the definition; each schema here is checked against its member at
 * compile time (same keys, same optional keys, same field types), so neither can change alone.
 */
import { z } from 'zod';
import type { Order } from '../broker/broker.ts';
import type { FollowStepKind } from '../domain/followThrough.ts';
import { CONFIRM_DEFAULTS, MODES } from '../domain/modes.ts';
import type { TriggerEvidence, TriggerRule } from '../domain/triggers.ts';
import type { GuardEvent, GuardEventType } from './events.ts';
import { FOLLOW_STEP_KINDS, orderSchema } from './state.ts';

/** Keys of T that may be absent. */
type OptionalKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? K : never }[keyof T];
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** A schema's output and a declared type agree: mutual assignability alone misses optional keys. */
export type Mirrors<A, B> =
  Same<keyof A, keyof B> extends true
    ? Same<OptionalKeys<A>, OptionalKeys<B>> extends true
      ? Same<A, B>
      : false
    : false;

// Epoch ms and yuan amounts are whole numbers everywhere they are made (seal.ts floors to the yuan).
const epochMs = z.int();
const yuan = z.int();
const count = z.int();

const stock = { at: epochMs, symbol: z.string(), name: z.string() };

const TRIGGER_RULES = ['amount', 'dropFromPeak', 'dropInWindow', 'capRatio', 'onBreak'] as const;

export const triggerEvidenceSchema = z.object({
  rule: z.enum(TRIGGER_RULES),
  at: epochMs,
  segment: count,
  sealAmount: yuan,
  segmentPeak: yuan,
  dayPeak: yuan,
  dropPct: z.number(),
  windowSec: z.number().optional(),
  windowDropPct: z.number().optional(),
  threshold: z.string(),
});

/** One schema per event type; the mapped type makes a missing or misnamed one a compile error. */
export const guardEventSchemas = {
  SealFormed: z.object({
    type: z.literal('SealFormed'),
    ...stock,
    segment: count,
    sealAmount: yuan,
    limitUp: z.string(),
  }),
  SealWeakening: z.object({
    type: z.literal('SealWeakening'),
    ...stock,
    segment: count,
    sealAmount: yuan,
    segmentPeak: yuan,
    dropPct: z.number(),
    limitUp: z.string(),
  }),
  SellTriggered: z.object({
    type: z.literal('SellTriggered'),
    ...stock,
    evidence: triggerEvidenceSchema,
    mode: z.enum(MODES),
    limitUp: z.string(),
    sellable: count,
    actionId: z.string().optional(),
    deadline: epochMs.optional(),
    onTimeout: z.enum(CONFIRM_DEFAULTS).optional(),
    noSellReason: z.string().optional(),
  }),
  OrderPlaced: z.object({ type: z.literal('OrderPlaced'), ...stock, order: orderSchema, reason: z.string() }),
  OrderFilled: z.object({ type: z.literal('OrderFilled'), ...stock, order: orderSchema }),
  OrderRejected: z.object({
    type: z.literal('OrderRejected'),
    ...stock,
    order: orderSchema.optional(),
    clientOrderId: z.string(),
    reason: z.string(),
  }),
  OrderUpdate: z.object({ type: z.literal('OrderUpdate'), ...stock, order: orderSchema }),
  FollowStep: z.object({
    type: z.literal('FollowStep'),
    ...stock,
    step: z.enum(FOLLOW_STEP_KINDS),
    clientOrderId: z.string(),
    text: z.string(),
  }),
  BoardBroken: z.object({
    type: z.literal('BoardBroken'),
    ...stock,
    segment: count,
    bid1: z.string().nullable(),
    last: z.string(),
    triggered: z.boolean(),
  }),
  Resealed: z.object({ type: z.literal('Resealed'), ...stock, segment: count, sealAmount: yuan }),
  ConfirmExpired: z.object({
    type: z.literal('ConfirmExpired'),
    ...stock,
    actionId: z.string(),
    applied: z.enum(CONFIRM_DEFAULTS),
  }),
  ActionResolved: z.object({
    type: z.literal('ActionResolved'),
    ...stock,
    actionId: z.string(),
    outcome: z.string(),
    byUser: z.string().optional(),
  }),
  LimitMismatch: z.object({
    type: z.literal('LimitMismatch'),
    ...stock,
    published: z.string(),
    computed: z.string(),
  }),
  FeedStale: z.object({
    type: z.literal('FeedStale'),
    at: epochMs,
    symbols: z.array(z.string()),
    source: z.string(),
  }),
  SourceChanged: z.object({
    type: z.literal('SourceChanged'),
    at: epochMs,
    from: z.string(),
    to: z.string(),
    reason: z.string(),
  }),
  BrokerDown: z.object({ type: z.literal('BrokerDown'), at: epochMs, message: z.string() }),
  BrokerUp: z.object({ type: z.literal('BrokerUp'), at: epochMs }),
  Info: z.object({ type: z.literal('Info'), at: epochMs, text: z.string() }),
  LoginChallenge: z.object({
    type: z.literal('LoginChallenge'),
    at: epochMs,
    broker: z.string(),
    text: z.string(),
    file: z.string().optional(),
  }),
  Incident: z.object({
    type: z.literal('Incident'),
    at: epochMs,
    key: z.string(),
    component: z.string(),
    level: z.enum(['warn', 'error']),
    text: z.string(),
    resolved: z.boolean(),
  }),
  DailySummary: z.object({
    type: z.literal('DailySummary'),
    at: epochMs,
    kind: z.enum(['briefing', 'summary']),
    date: z.string(),
    title: z.string(),
    text: z.string(),
    charts: z.array(z.object({ symbol: z.string(), name: z.string(), file: z.string() })).optional(),
  }),
} satisfies { [K in GuardEventType]: z.ZodType<Extract<GuardEvent, { type: K }>> };

/** The schema for a line's `type`, when it names a guard event. */
export function guardEventSchemaFor(type: string): z.ZodType<GuardEvent> | undefined {
  return Object.hasOwn(guardEventSchemas, type) ? guardEventSchemas[type as GuardEventType] : undefined;
}

// Compile-time: every schema mirrors its event exactly, and the nested vocabularies too.
type Drift = {
  [K in GuardEventType]: Mirrors<z.output<(typeof guardEventSchemas)[K]>, Extract<GuardEvent, { type: K }>>;
};
const _eventsMatch: { [K in GuardEventType]: true } = {} as Drift;
const _evidenceMatches: Mirrors<z.output<typeof triggerEvidenceSchema>, TriggerEvidence> = true;
const _orderMatches: Mirrors<z.output<typeof orderSchema>, Order> = true;
const _rulesMatch: Same<(typeof TRIGGER_RULES)[number], TriggerRule> = true;
const _stepsMatch: Same<(typeof FOLLOW_STEP_KINDS)[number], FollowStepKind> = true;
void [_eventsMatch, _evidenceMatches, _orderMatches, _rulesMatch, _stepsMatch];
