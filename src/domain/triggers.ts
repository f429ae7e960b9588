/**
 * Sell-trigger rules for a sealed board and the evidence each one carries to the user.
 *
 * Percentages are compared on integers (percent in hundredths, cross-multiplied), so "exactly 50%"
 * behaves the same on every host and never hinges on float rounding.
 */
import { formatAmount } from './amounts.ts';
import type { Yuan } from './types.ts';

/**
 * Every per-symbol trigger setting, in the order settings are merged and described. TriggerConfig
 * below is checked against this list (both directions), so a new key cannot be half-added.
 */
export const TRIGGER_KEYS = [
  'amount',
  'dropFromPeak',
  'dropInWindow',
  'capRatio',
  'confirm',
  'onBreak',
  'chase',
] as const;
export type TriggerKey = (typeof TRIGGER_KEYS)[number];

/** The accepted ranges, shared by chat, settings.json and the backtest CLI. */
export const TRIGGER_BOUNDS = {
  /** Percentages are above 0 and at most this. */
  pctMax: 100,
  windowSec: [3, 3600],
  confirm: [0, 10],
} as const;

export interface TriggerConfig {
  /** Sell when the seal falls below this many yuan (the seed's rule). */
  amount?: Yuan | null;
  /** Sell when the seal is at least this % below the segment's peak. */
  dropFromPeak?: number | null;
  /** Sell when the seal fell at least pct % from its highest point within the last windowSec seconds. */
  dropInWindow?: { pct: number; windowSec: number } | null;
  /** Sell when the seal is below this % of the float market cap (needs a feed that publishes it). */
  capRatio?: number | null;
  /** Extra consecutive snapshots on which the same rule must still hold; 0 = fire at once. */
  confirm?: number;
  /** When held, sell as soon as the board opens in a segment that had not triggered. */
  onBreak?: boolean;
  /** Follow an unfilled sell after a break: cancel and re-sell the rest at the bid (default on). */
  chase?: boolean;
}

// Compile-time: TriggerConfig has exactly the keys in TRIGGER_KEYS.
type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const _keysMatch: Exact<keyof TriggerConfig, TriggerKey> = true;
void _keysMatch;

export type TriggerRule = 'amount' | 'dropFromPeak' | 'dropInWindow' | 'capRatio' | 'onBreak';
/** The rules evaluated on a sealed snapshot, in the order they are checked. */
export type SealRule = Exclude<TriggerRule, 'onBreak'>;
export const SEAL_RULES: readonly SealRule[] = ['amount', 'dropFromPeak', 'dropInWindow', 'capRatio'];

export interface TriggerEvidence {
  rule: TriggerRule;
  at: number;
  segment: number;
  sealAmount: Yuan;
  segmentPeak: Yuan;
  dayPeak: Yuan;
  /** Drop from the segment peak in %, one decimal. */
  dropPct: number;
  windowSec?: number;
  windowDropPct?: number;
  /** Human threshold, e.g. "2000万" or "50%". */
  threshold: string;
}

/**
 * Per-symbol settings override the global ones key by key: undefined inherits, null disables.
 */
export function mergeTriggerConfig(global: TriggerConfig, perSymbol?: TriggerConfig | null): TriggerConfig {
  const out: TriggerConfig = {};
  for (const k of TRIGGER_KEYS) {
    const v = perSymbol && perSymbol[k] !== undefined ? perSymbol[k] : global[k];
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  }
  return out;
}

/** A percent as an integer count of hundredths of a percent (0.3 -> 30, 50 -> 5000). */
export function pctToCenti(pct: number): number {
  return Math.round(pct * 100);
}

/**
 * value dropped by at least pct/scale % from reference: (ref - value) × 10000 × scale ≥ pctCenti × ref
 * (scale 2 asks for half the drop, used by the early warning). Falls back to BigInt only where a product could exceed 2^53.
 */
export function droppedAtLeast(value: Yuan, reference: Yuan, pctCenti: number, scale = 1): boolean {
  if (reference <= 0) return false;
  const lhs = (reference - value) * 10_000 * scale;
  const rhs = pctCenti * reference;
  if (Number.isSafeInteger(lhs) && Number.isSafeInteger(rhs)) return lhs >= rhs;
  return BigInt(reference - value) * BigInt(10_000 * scale) >= BigInt(pctCenti) * BigInt(reference);
}

/** value < pct % of base: value × 10000 < pctCenti × base. */
export function belowPctOf(value: Yuan, base: Yuan, pctCenti: number): boolean {
  const lhs = value * 10_000;
  const rhs = pctCenti * base;
  if (Number.isSafeInteger(lhs) && Number.isSafeInteger(rhs)) return lhs < rhs;
  return BigInt(value) * 10_000n < BigInt(pctCenti) * BigInt(base);
}

/** Drop from `reference` in %, rounded half-up to one decimal, from integers. */
export function dropPct(value: Yuan, reference: Yuan): number {
  if (reference <= 0 || value >= reference) return 0;
  return Math.round(((reference - value) * 1000) / reference) / 10;
}

/** "50%", "0.3%": the threshold as the user wrote it. */
function pctText(pct: number): string {
  return `${pct}%`;
}

/** What the monitor knows about the seal at one sealed snapshot. */
export interface SealReading {
  at: number;
  segment: number;
  sealAmount: Yuan;
  segmentPeak: Yuan;
  dayPeak: Yuan;
  /** Highest seal within the dropInWindow window (including now); 0 when not tracked. */
  windowPeak: Yuan;
  floatMarketCap?: Yuan | undefined;
}

/** Does `rule` hold on this reading? Disabled rules never hold. */
export function ruleHolds(rule: SealRule, cfg: TriggerConfig, r: SealReading): boolean {
  switch (rule) {
    case 'amount':
      return cfg.amount != null && r.sealAmount < cfg.amount;
    case 'dropFromPeak':
      return (
        cfg.dropFromPeak != null && droppedAtLeast(r.sealAmount, r.segmentPeak, pctToCenti(cfg.dropFromPeak))
      );
    case 'dropInWindow':
      return (
        cfg.dropInWindow != null &&
        droppedAtLeast(r.sealAmount, r.windowPeak, pctToCenti(cfg.dropInWindow.pct))
      );
    case 'capRatio':
      return (
        cfg.capRatio != null &&
        r.floatMarketCap != null &&
        r.floatMarketCap > 0 &&
        belowPctOf(r.sealAmount, r.floatMarketCap, pctToCenti(cfg.capRatio))
      );
  }
}

/**
 * The early-warning level (SealWeakening): the seal is within 1.5× of the amount or cap threshold,
 * or has dropped by half of a drop threshold. Loose on purpose: it is a heads-up, not a sale.
 */
export function ruleWarns(rule: SealRule, cfg: TriggerConfig, r: SealReading): boolean {
  switch (rule) {
    case 'amount':
      return cfg.amount != null && r.sealAmount * 2 < cfg.amount * 3;
    case 'dropFromPeak':
      return (
        cfg.dropFromPeak != null &&
        droppedAtLeast(r.sealAmount, r.segmentPeak, pctToCenti(cfg.dropFromPeak), 2)
      );
    case 'dropInWindow':
      return (
        cfg.dropInWindow != null &&
        droppedAtLeast(r.sealAmount, r.windowPeak, pctToCenti(cfg.dropInWindow.pct), 2)
      );
    case 'capRatio':
      return (
        cfg.capRatio != null &&
        r.floatMarketCap != null &&
        r.floatMarketCap > 0 &&
        belowPctOf(r.sealAmount * 2, r.floatMarketCap * 3, pctToCenti(cfg.capRatio))
      );
  }
}

/** The evidence for a rule that fired on `r`. */
export function evidenceFor(rule: TriggerRule, cfg: TriggerConfig, r: SealReading): TriggerEvidence {
  const e: TriggerEvidence = {
    rule,
    at: r.at,
    segment: r.segment,
    sealAmount: r.sealAmount,
    segmentPeak: r.segmentPeak,
    dayPeak: r.dayPeak,
    dropPct: dropPct(r.sealAmount, r.segmentPeak),
    threshold: '',
  };
  switch (rule) {
    case 'amount':
      e.threshold = formatAmount(cfg.amount ?? 0);
      break;
    case 'dropFromPeak':
      e.threshold = pctText(cfg.dropFromPeak ?? 0);
      break;
    case 'dropInWindow':
      e.threshold = pctText(cfg.dropInWindow?.pct ?? 0);
      e.windowSec = cfg.dropInWindow?.windowSec ?? 0;
      e.windowDropPct = dropPct(r.sealAmount, r.windowPeak);
      break;
    case 'capRatio':
      e.threshold = pctText(cfg.capRatio ?? 0);
      break;
    case 'onBreak':
      e.threshold = '炸板';
      break;
  }
  return e;
}

/** One line for the user, e.g. "封单 1503万 < 2000万，较峰值 1.52亿 回落 90.1%". */
export function describeEvidence(e: TriggerEvidence): string {
  const seal = formatAmount(e.sealAmount);
  const fromPeak = `较峰值 ${formatAmount(e.segmentPeak)} 回落 ${e.dropPct}%`;
  switch (e.rule) {
    case 'amount':
      return `封单 ${seal} < ${e.threshold}，${fromPeak}`;
    case 'dropFromPeak':
      return `封单 ${seal}，${fromPeak}（≥ ${e.threshold}）`;
    case 'dropInWindow':
      return `封单 ${seal}，${e.windowSec ?? 0}秒内回落 ${e.windowDropPct ?? 0}%（≥ ${e.threshold}），${fromPeak}`;
    case 'capRatio':
      return `封单 ${seal} < 流通市值的 ${e.threshold}，${fromPeak}`;
    case 'onBreak':
      return `炸板，开板前封单 ${seal}，${fromPeak}`;
  }
}

/** The settings in one short line, e.g. "<2000万, drop 50%, onbreak"; "none" when nothing is set. */
export function describeTriggers(t: TriggerConfig): string {
  const parts: string[] = [];
  if (t.amount) parts.push(`<${formatAmount(t.amount)}`);
  if (t.dropFromPeak) parts.push(`drop ${t.dropFromPeak}%`);
  if (t.dropInWindow) parts.push(`${t.dropInWindow.pct}%/${t.dropInWindow.windowSec}s`);
  if (t.capRatio) parts.push(`cap ${t.capRatio}%`);
  if (t.confirm) parts.push(`confirm ${t.confirm}`);
  if (t.onBreak) parts.push('onbreak');
  const rules = parts.join(', ') || 'none';
  return t.chase === false ? `${rules}; chase off` : rules;
}
