/**
 * What the guard tells the world. Channels subscribe to these; the engine never waits for them.
 * Every event carries `at` (market-clock epoch ms) and, where it concerns a stock, its symbol and name.
 */
import type { ConfirmDefault, Mode } from '../domain/modes.ts';
import type { TriggerEvidence } from '../domain/triggers.ts';
import type { Order } from '../broker/broker.ts';
import type { FollowStepKind } from '../domain/followThrough.ts';

interface Base {
  at: number;
}
interface StockBase extends Base {
  symbol: string;
  name: string;
}

export type GuardEvent =
  | (StockBase & { type: 'SealFormed'; segment: number; sealAmount: number; limitUp: string })
  | (StockBase & {
      type: 'SealWeakening';
      segment: number;
      sealAmount: number;
      segmentPeak: number;
      dropPct: number;
      limitUp: string;
    })
  | (StockBase & {
      type: 'SellTriggered';
      evidence: TriggerEvidence;
      mode: Mode;
      limitUp: string;
      sellable: number;
      /** Set when mode is confirm: the pending action the user taps on. */
      actionId?: string;
      /** Market-clock deadline of the confirm, epoch ms. */
      deadline?: number;
      /** What happens when the deadline passes. */
      onTimeout?: ConfirmDefault;
      /** Why nothing will be sold (paused, nothing sellable, alert mode...). */
      noSellReason?: string;
    })
  | (StockBase & { type: 'OrderPlaced'; order: Order; reason: string })
  | (StockBase & { type: 'OrderFilled'; order: Order })
  | (StockBase & { type: 'OrderRejected'; order?: Order; clientOrderId: string; reason: string })
  | (StockBase & { type: 'OrderUpdate'; order: Order })
  | (StockBase & {
      /** A follow-through step after a sell was placed (broke, cancelled, replaced, done, stopped). */
      type: 'FollowStep';
      step: FollowStepKind;
      clientOrderId: string;
      text: string;
    })
  | (StockBase & {
      type: 'BoardBroken';
      segment: number;
      bid1: string | null;
      last: string;
      triggered: boolean;
    })
  | (StockBase & { type: 'Resealed'; segment: number; sealAmount: number })
  | (StockBase & { type: 'ConfirmExpired'; actionId: string; applied: ConfirmDefault })
  | (StockBase & { type: 'ActionResolved'; actionId: string; outcome: string; byUser?: string })
  | (StockBase & { type: 'LimitMismatch'; published: string; computed: string })
  | (Base & { type: 'FeedStale'; symbols: string[]; source: string })
  | (Base & { type: 'SourceChanged'; from: string; to: string; reason: string })
  | (Base & { type: 'BrokerDown'; message: string })
  | (Base & { type: 'BrokerUp' })
  | (Base & { type: 'Info'; text: string })
  | (Base & {
      /**
       * A broker login needs the owner (东方财富 captcha picture, SMS code) or has news (logged in,
       * attempts stopped). `file` is a PNG in DATA_DIR for channels that show pictures.
       */
      type: 'LoginChallenge';
      broker: string;
      text: string;
      file?: string;
    })
  | (Base & {
      /**
       * A problem around the guard (a chat unreachable, polling dead, disk full, clock skew, an
       * order outcome unknown), told once when it starts and once when it ends. `component` is
       * the reporter; a channel does not get its own incident (it could not deliver it anyway).
       */
      type: 'Incident';
      key: string;
      component: string;
      level: 'warn' | 'error';
      text: string;
      resolved: boolean;
    })
  | (Base & {
      /** A scheduled report (09:00 briefing, 15:05 summary); the text is complete on its own. */
      type: 'DailySummary';
      kind: 'briefing' | 'summary';
      date: string;
      title: string;
      text: string;
      /** Seal charts (PNG files in DATA_DIR) for channels that can show pictures. */
      charts?: { symbol: string; name: string; file: string }[];
    });

export type GuardEventType = GuardEvent['type'];
