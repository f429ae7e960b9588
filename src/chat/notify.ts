/**
 * Guard events rendered for people, with per-type settings (on / silent / off) and a cooldown so
 * a flapping seal (formed, broken, re-sealed every few seconds) does not flood the chat. Trades
 * and confirms are never suppressed.
 */
import { formatAmount } from '../domain/amounts.ts';
import { describeEvidence } from '../domain/triggers.ts';
import { formatExchangeTime } from '../domain/time.ts';
import type { GuardEvent, GuardEventType } from '../engine/events.ts';
import type { Reply } from './reply.ts';

export type NotifyLevel = 'on' | 'silent' | 'off';

export const DEFAULT_LEVELS: Record<GuardEventType, NotifyLevel> = {
  SealFormed: 'silent',
  SealWeakening: 'on',
  SellTriggered: 'on',
  OrderPlaced: 'on',
  OrderFilled: 'on',
  OrderRejected: 'on',
  OrderUpdate: 'silent',
  FollowStep: 'on',
  BoardBroken: 'on',
  Resealed: 'silent',
  ConfirmExpired: 'on',
  ActionResolved: 'on',
  LimitMismatch: 'on',
  FeedStale: 'on',
  SourceChanged: 'silent',
  BrokerDown: 'on',
  BrokerUp: 'on',
  Info: 'on',
  LoginChallenge: 'on',
  Incident: 'on',
  DailySummary: 'on',
};

/** Types whose repeats within the cooldown are folded (per symbol). */
const FLAPPY: ReadonlySet<GuardEventType> = new Set([
  'SealFormed',
  'SealWeakening',
  'BoardBroken',
  'Resealed',
  'FeedStale',
  'LimitMismatch',
]);

export interface Notification {
  type: GuardEventType;
  reply: Reply;
  silent: boolean;
  /** Present on a confirm request: the channel shows buttons for this action. */
  actionId?: string;
  /** PNG files to show after the text, where the channel can (Telegram); others ignore them. */
  photos?: { file: string; caption: string }[];
}

export class NotificationPolicy {
  private readonly lastSent = new Map<string, number>();

  constructor(
    private readonly levels: () => Partial<Record<string, NotifyLevel>>,
    private readonly cooldownMs = 60_000,
  ) {}

  /** Returns the notification to send, or null when settings or the cooldown say no. */
  decide(e: GuardEvent): Notification | null {
    const level = this.levels()[e.type] ?? DEFAULT_LEVELS[e.type];
    if (level === 'off') return null;
    if (FLAPPY.has(e.type)) {
      const key = `${e.type}|${'symbol' in e ? e.symbol : ''}`;
      const prev = this.lastSent.get(key);
      if (prev !== undefined && e.at - prev < this.cooldownMs && e.at >= prev) return null;
      this.lastSent.set(key, e.at);
    }
    const r = render(e);
    const n: Notification = { type: e.type, reply: r, silent: level === 'silent' };
    if (e.type === 'SellTriggered' && e.actionId) n.actionId = e.actionId;
    if (e.type === 'LoginChallenge' && e.file)
      n.photos = [{ file: e.file, caption: '东方财富 验证码 captcha: /captcha NNNN' }];
    if (e.type === 'DailySummary' && e.charts?.length)
      n.photos = e.charts.map((c) => ({
        file: c.file,
        caption: `${c.name} ${c.symbol} 封单 seal ${e.date}`,
      }));
    return n;
  }
}

function hhmmss(ts: number): string {
  return formatExchangeTime(ts).slice(11, 19);
}

export function render(e: GuardEvent): Reply {
  const t = hhmmss(e.at);
  switch (e.type) {
    case 'SealFormed':
      return {
        lines: [
          `🔒 ${e.name} ${e.symbol} sealed at limit-up ${e.limitUp}: seal ${formatAmount(e.sealAmount)} (${t}, segment ${e.segment})`,
        ],
      };
    case 'SealWeakening':
      return {
        lines: [
          `⚠️ ${e.name} ${e.symbol} seal weakening: ${formatAmount(e.sealAmount)}, ${e.dropPct}% below peak ${formatAmount(e.segmentPeak)} (${t})`,
        ],
      };
    case 'SellTriggered': {
      const ev = e.evidence;
      const lines = [
        `${e.name} ${e.symbol} · 涨停 ${e.limitUp}`,
        `Seal now ${formatAmount(ev.sealAmount)} · peak ${formatAmount(ev.segmentPeak)} · drop ${ev.dropPct}%`,
        `Why: ${describeEvidence(ev)}`,
        `Sellable ${e.sellable} · ${t}`,
      ];
      if (e.noSellReason) lines.push(`No sell: ${e.noSellReason}.`);
      else if (e.mode === 'confirm' && e.actionId)
        lines.push(
          `Sell ${e.sellable} at ${e.limitUp}? Confirm: /confirm ${e.actionId} · decline: /hold ${e.actionId}`,
          `No answer by ${hhmmss(e.deadline ?? e.at)}: ${e.onTimeout === 'sell' ? 'SELL' : 'HOLD'} (the configured default).`,
        );
      else if (e.mode === 'auto') lines.push(`Auto mode: selling ${e.sellable} at ${e.limitUp} now.`);
      return {
        title: `🚨 Sell trigger 封单减弱 ${e.name} ${e.symbol}`,
        lines,
        ...(e.actionId && e.mode === 'confirm' && !e.noSellReason
          ? { action: { id: e.actionId, sellLabel: '卖出 Sell', holdLabel: '持有 Hold' } }
          : {}),
      };
    }
    case 'OrderPlaced':
      return {
        lines: [
          `📤 Sell order placed: ${e.name} ${e.symbol} ${e.order.quantity} @ ${e.order.limitPrice} (${e.order.status}, id ${e.order.clientOrderId})`,
        ],
      };
    case 'OrderFilled':
      return {
        lines: [
          `✅ Sold ${e.name} ${e.symbol}: ${e.order.filledQuantity} @ ${e.order.avgFillPrice ?? e.order.limitPrice}`,
        ],
      };
    case 'OrderRejected':
      return { lines: [`❌ Sell of ${e.name} ${e.symbol} failed: ${e.reason}`] };
    case 'OrderUpdate':
      return {
        lines: [
          `${e.name} ${e.symbol} order ${e.order.status}: filled ${e.order.filledQuantity}/${e.order.quantity}`,
        ],
      };
    case 'FollowStep':
      return { lines: [`${e.name} ${e.symbol}: ${e.text}`] };
    case 'BoardBroken':
      return {
        lines: [
          `💥 ${e.name} ${e.symbol} board broken 炸板 at ${t}: last ${e.last}, bid1 ${e.bid1 ?? '—'}${e.triggered ? ' (after our trigger)' : ''}`,
        ],
      };
    case 'Resealed':
      return {
        lines: [
          `🔁 ${e.name} ${e.symbol} re-sealed 回封: seal ${formatAmount(e.sealAmount)} (${t}, segment ${e.segment})`,
        ],
      };
    case 'ConfirmExpired':
      return {
        lines: [
          `⌛ ${e.name} ${e.symbol}: no answer in time, default applied: ${e.applied === 'sell' ? 'SELL' : 'HOLD'}.`,
        ],
      };
    case 'ActionResolved':
      return { lines: [`${e.name} ${e.symbol}: ${e.outcome}`] };
    case 'LimitMismatch':
      return {
        lines: [
          `⚠️ ${e.name} ${e.symbol}: published limits ${e.published} differ from computed ${e.computed}; using the published ones.`,
        ],
      };
    case 'FeedStale':
      return {
        lines: [
          `📡 Quotes stale (${e.source}): no fresh snapshot for ${e.symbols.slice(0, 5).join(', ')}${e.symbols.length > 5 ? ` and ${e.symbols.length - 5} more` : ''}.`,
        ],
      };
    case 'SourceChanged':
      return { lines: [`📡 Quote source ${e.from} → ${e.to}: ${e.reason}`] };
    case 'BrokerDown':
      return { lines: [`🔌 Broker unreachable: ${e.message}`] };
    case 'BrokerUp':
      return { lines: ['🔌 Broker reachable again.'] };
    case 'Info':
      return { lines: [e.text] };
    case 'LoginChallenge':
      // Channels without pictures (console) get the file's path to open.
      return { lines: e.file ? [e.text, `Picture: ${e.file}`] : [e.text] };
    case 'Incident':
      return { lines: [`${e.resolved ? '✅ Resolved' : e.level === 'error' ? '🛑' : '⚠️'} ${e.text}`] };
    case 'DailySummary':
      return { title: e.title, lines: e.text.split('\n') };
  }
}
