/**
 * Connects guard events to channels: each channel gets its own queue on the bus (a slow Telegram
 * never delays the console or the engine), confirm messages are remembered so they can be edited
 * with the outcome, and failures are logged at warn, never thrown back.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { GuardApi } from '../engine/api.ts';
import type { GuardEvent } from '../engine/events.ts';
import type { PendingAction } from '../engine/state.ts';
import type { Channel } from './channel.ts';
import { NotificationPolicy, render, type NotifyLevel } from './notify.ts';
import { plainText } from './reply.ts';

export class ChatHub {
  private readonly unsubs: (() => void)[] = [];
  private readonly policy: NotificationPolicy;

  constructor(
    private readonly api: GuardApi,
    private readonly channels: Channel[],
    private readonly log: Logger,
    levels: () => Partial<Record<string, NotifyLevel>> = () => ({}),
  ) {
    this.policy = new NotificationPolicy(levels);
  }

  async start(): Promise<void> {
    for (const ch of this.channels) {
      await ch.start();
    }
    // One policy decision per event (the cooldown is shared), then fan-out per channel.
    const decided = new WeakMap<GuardEvent, ReturnType<NotificationPolicy['decide']>>();
    const decide = (e: GuardEvent) => {
      if (!decided.has(e)) decided.set(e, this.policy.decide(e));
      return decided.get(e) ?? null;
    };
    for (const ch of this.channels) {
      this.unsubs.push(this.api.subscribe(`chat:${ch.name}`, (e) => this.deliver(ch, e, decide(e))));
    }
  }

  async stop(): Promise<void> {
    for (const u of this.unsubs.splice(0)) u();
    for (const ch of this.channels) {
      try {
        await ch.stop();
      } catch (err) {
        this.log.warn({ err, channel: ch.name }, 'channel stop failed');
      }
    }
  }

  /** Edits the confirm message in place: first the decision's outcome, later the fill or the error. */
  private async settle(ch: Channel, e: GuardEvent): Promise<void> {
    let a: PendingAction | undefined;
    let outcome: string | undefined;
    if (e.type === 'ActionResolved' || e.type === 'ConfirmExpired') {
      a = this.api.action(e.actionId);
      outcome = a?.outcome ?? (e.type === 'ActionResolved' ? e.outcome : plainText(render(e)));
    } else if (e.type === 'OrderFilled' || e.type === 'OrderRejected' || e.type === 'OrderUpdate') {
      const id = e.type === 'OrderRejected' ? e.clientOrderId : e.order.clientOrderId;
      a = this.api.actionByOrder(id);
      outcome = plainText(render(e));
    }
    const ref = a?.messages[ch.name];
    if (!a || !ref || !outcome || !ch.settleAction) return;
    await ch.settleAction(
      a.id,
      ref,
      `${a.name} ${a.symbol} · 涨停 ${a.limitUp}\n${a.evidenceText}\n→ ${outcome}`,
    );
  }

  private async deliver(
    ch: Channel,
    e: GuardEvent,
    n: ReturnType<NotificationPolicy['decide']>,
  ): Promise<void> {
    try {
      if (ch.settleAction) await this.settle(ch, e);
      if (!n) return;
      // A channel's own trouble is told on the others: it could not carry the message anyway.
      if (e.type === 'Incident' && e.component === ch.name) return;
      const ref = await ch.send(n);
      if (n.actionId && ref) await this.api.attachMessage(n.actionId, ch.name, ref);
      if (n.photos && ch.sendPhoto)
        for (const p of n.photos) await ch.sendPhoto(await readFile(p.file), p.caption, n.silent);
    } catch (err) {
      this.log.warn(
        { err: err instanceof Error ? err.message : String(err), channel: ch.name, event: e.type },
        'notification failed',
      );
    }
  }
}
