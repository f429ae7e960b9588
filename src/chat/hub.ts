/**
 * Connects guard events to channels: each channel gets its own queue on the bus (a slow Telegram
 * never delays the console or the engine), confirm messages are remembered so they can be edited
 * with the outcome, and failures are logged at warn, never thrown back.
 */
import type { Logger } from 'pino';
import type { GuardApi } from '../engine/api.ts';
import type { GuardEvent } from '../engine/events.ts';
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

  private async deliver(ch: Channel, e: GuardEvent, n: ReturnType<NotificationPolicy['decide']>): Promise<void> {
    try {
      if ((e.type === 'ActionResolved' || e.type === 'ConfirmExpired') && ch.settleAction) {
        const a = this.api.action(e.actionId);
        const ref = a?.messages[ch.name];
        if (ref) {
          const text = e.type === 'ActionResolved' ? (a?.outcome ?? e.outcome) : (a?.outcome ?? plainText(render(e)));
          await ch.settleAction(e.actionId, ref, text);
        }
      }
      if (!n) return;
      const ref = await ch.send(n);
      if (n.actionId && ref) await this.api.attachMessage(n.actionId, ch.name, ref);
    } catch (err) {
      this.log.warn({ err: err instanceof Error ? err.message : String(err), channel: ch.name, event: e.type }, 'notification failed');
    }
  }
}
