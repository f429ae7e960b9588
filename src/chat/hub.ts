/**
 * Connects guard events to channels. Each recipient of each channel (a Telegram chat, the WeCom
 * app, the console) has its own priority queue (outbox.ts): a chat that blocked the bot or is
 * being throttled delays nobody else, and under load confirm prompts and sell outcomes go before
 * triggers and breaks, which go before seal notices (folded into digests). The hub never waits
 * for a channel to connect, and never throws back into the engine: failures are logged at warn
 * and counted as undelivered on the health board.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { formatAmount } from '../domain/amounts.ts';
import type { GuardApi } from '../engine/api.ts';
import type { GuardEvent } from '../engine/events.ts';
import type { PendingAction } from '../engine/state.ts';
import type { Channel } from './channel.ts';
import { NotificationPolicy, render, type Notification, type NotifyLevel } from './notify.ts';
import { Outbox, type Priority } from './outbox.ts';
import { plainText } from './reply.ts';

type SealNotice = Extract<GuardEvent, { type: 'SealFormed' | 'Resealed' }>;

interface Job {
  /** Shown in logs when it fails. */
  what: string;
  run: () => Promise<void>;
}

interface Digested {
  e: SealNotice;
  n: Notification;
}

export interface HubOptions {
  /** At most one seal digest per recipient per this interval, ms (default 15 s). */
  digestIntervalMs?: number;
  /** Queue bound per recipient (default 500). */
  maxQueue?: number;
  /** How long stop() lets queued messages go out, ms (default 2 s). */
  drainMs?: number;
}

const OUTCOME_TYPES = new Set([
  'OrderPlaced',
  'OrderFilled',
  'OrderRejected',
  'OrderUpdate',
  'ActionResolved',
  'ConfirmExpired',
]);

/** Confirm prompts and sell outcomes first; seal notices are digested; the rest in between. */
export function priorityOf(e: GuardEvent): Priority | 'digest' {
  if (e.type === 'SealFormed' || e.type === 'Resealed') return 'digest';
  if (e.type === 'SellTriggered') return e.actionId && !e.noSellReason ? 0 : 1;
  return OUTCOME_TYPES.has(e.type) ? 0 : 1;
}

/** A few seal notices as they are; many as "12 sealed: 中国海诚 002116 1.2亿, …". */
export function digestNotification(entries: Digested[], total: number): Notification {
  if (total === 1 && entries.length === 1) return entries[0]!.n;
  const silent = entries.every((d) => d.n.silent);
  if (total <= 5 && entries.length === total)
    return { type: 'SealFormed', reply: { lines: entries.flatMap((d) => d.n.reply.lines) }, silent };
  const names = entries.map((d) => `${d.e.name} ${d.e.symbol.slice(0, 6)} ${formatAmount(d.e.sealAmount)}`);
  const more = total > entries.length ? ` … and ${total - entries.length} more` : '';
  return {
    type: 'SealFormed',
    reply: { lines: [`🔒 ${total} sealed: ${names.join(', ')}${more}`] },
    silent,
  };
}

export class ChatHub {
  private readonly unsubs: (() => void)[] = [];
  private readonly policy: NotificationPolicy;
  private readonly outboxes = new Map<string, Outbox<Job, Digested>>();
  /** actionId -> channel -> target -> message ref, for the edits that settle a confirm. */
  private readonly refs = new Map<string, Map<string, Map<string, string>>>();
  /** Confirms whose prompt some channel delivered (their deadline has started). */
  private readonly delivered = new Set<string>();

  constructor(
    private readonly api: GuardApi,
    private readonly channels: Channel[],
    private readonly log: Logger,
    levels: () => Partial<Record<string, NotifyLevel>> = () => ({}),
    private readonly o: HubOptions = {},
  ) {
    this.policy = new NotificationPolicy(levels);
  }

  /** Subscribes at once and starts each channel in the background: no channel delays the guard. */
  async start(): Promise<void> {
    // One policy decision per event (the cooldown is shared), then one bus queue per channel.
    const decided = new WeakMap<GuardEvent, Notification | null>();
    const decide = (e: GuardEvent) => {
      if (!decided.has(e)) decided.set(e, this.policy.decide(e));
      return decided.get(e) ?? null;
    };
    for (const ch of this.channels)
      this.unsubs.push(this.api.subscribe(`chat:${ch.name}`, (e) => this.onEvent(ch, e, decide(e))));
    for (const ch of this.channels)
      void ch
        .start()
        .catch((err: unknown) =>
          this.log.warn({ err: errText(err), channel: ch.name }, 'channel failed to start'),
        );
  }

  /**
   * Stops taking commands and taps: the first step of a shutdown, ahead of the guard's own stop,
   * so a tap arriving while the guard stops is left for the next guard instead of acted on here.
   */
  async stopReceiving(): Promise<void> {
    await Promise.all(
      this.channels.map((ch) =>
        ch
          .stopReceiving?.()
          .catch((err: unknown) =>
            this.log.warn({ err: errText(err), channel: ch.name }, 'channel stopReceiving failed'),
          ),
      ),
    );
  }

  async stop(): Promise<void> {
    for (const u of this.unsubs.splice(0)) u();
    // Input first: while the queued messages drain below, no tap or command may reach the guard.
    await this.stopReceiving();
    const drainMs = this.o.drainMs ?? 2_000;
    await Promise.all(
      [...this.outboxes.entries()].map(([key, box]) => {
        const ch = this.channels.find((c) => key.startsWith(`${c.name}\u0000`));
        return ch && (ch.ready?.() ?? true) ? box.idle(drainMs) : undefined;
      }),
    );
    for (const box of this.outboxes.values()) box.stop();
    for (const ch of this.channels) {
      try {
        await ch.stop();
      } catch (err) {
        this.log.warn({ err: errText(err), channel: ch.name }, 'channel stop failed');
      }
    }
  }

  /**
   * Hands the event to the channel's outboxes. For a rate-limited channel (Telegram) the bus's
   * queue must drain at once (it drops the oldest beyond its bound, and its FIFO knows no
   * priorities): the waiting happens in the outboxes, and only what goes out at once (an idle,
   * ready recipient) is waited for, briefly. A channel without limits (console, WeCom as it is)
   * is waited for, as before: bus.idle() then means "told".
   */
  private onEvent(ch: Channel, e: GuardEvent, n: Notification | null): Promise<void> | undefined {
    const prio = priorityOf(e);
    const limited = !!ch.rate;
    const waits: Promise<void>[] = [];
    const push = (box: Outbox<Job, Digested>, p: Priority, job: Job) => {
      const idle = box.idleNow();
      const done = box.push(p, job);
      if (!limited || idle) waits.push(done);
    };
    const settles = ch.settleAction ? this.settleTarget(e) : undefined;
    // A channel's own trouble is told on the others: it could not carry the message anyway.
    const own = e.type === 'Incident' && e.component === ch.name;
    for (const target of ch.targets?.() ?? ['']) {
      const box = this.outbox(ch, target);
      if (settles)
        push(box, 0, {
          what: `settle ${settles.actionId}`,
          run: () => this.settle(ch, target, settles.actionId, settles.outcome),
        });
      if (!n || own) continue;
      if (prio === 'digest') {
        box.fold({ e: e as SealNotice, n });
        if (!limited) waits.push(box.idle(60_000));
      } else push(box, prio, { what: e.type, run: () => this.deliver(ch, target, e, n) });
    }
    if (waits.length === 0) return undefined;
    const all = Promise.all(waits).then(() => {});
    return limited ? Promise.race([all, new Promise<void>((r) => setTimeout(r, 250))]) : all;
  }

  private outbox(ch: Channel, target: string): Outbox<Job, Digested> {
    const key = `${ch.name}\u0000${target}`;
    let box = this.outboxes.get(key);
    if (!box) {
      const t = target || undefined;
      box = new Outbox<Job, Digested>({
        send: (job) => this.guarded(ch, target, job),
        sendDigest: (entries, total) =>
          this.guarded(ch, target, {
            what: 'seal digest',
            run: () => this.sendNote(ch, target, digestNotification(entries, total)).then(() => {}),
          }),
        rate: () => ch.rate?.(t),
        ...(ch.ready ? { ready: () => ch.ready!() } : {}),
        ...(this.o.maxQueue ? { maxQueue: this.o.maxQueue } : {}),
        // An unlimited channel (the console) folds only what piles up while it is busy.
        digestIntervalMs: ch.rate ? (this.o.digestIntervalMs ?? 15_000) : 0,
        onDrop: (count, what) => {
          this.api.health.count(`dropped ${ch.name}`, count);
          this.log.warn({ channel: ch.name, target, count, what }, 'queue full: notifications dropped');
        },
      });
      this.outboxes.set(key, box);
    }
    return box;
  }

  /** Runs one job; a recipient gone meanwhile (blocked the bot) drops its queue, counted. */
  private async guarded(ch: Channel, target: string, job: Job): Promise<void> {
    if (target && ch.targets && !ch.targets().includes(target)) {
      const dropped = 1 + (this.outboxes.get(`${ch.name}\u0000${target}`)?.clear() ?? 0);
      this.api.health.count(`undelivered ${ch.name}`, dropped);
      return;
    }
    try {
      await job.run();
    } catch (err) {
      this.api.health.count(`undelivered ${ch.name}`);
      this.log.warn(
        { err: errText(err), channel: ch.name, ...(target ? { target } : {}), what: job.what },
        'notification not delivered',
      );
    }
  }

  private sendNote(ch: Channel, target: string, n: Notification): Promise<string | undefined> {
    return ch.send(n, target || undefined);
  }

  private async deliver(ch: Channel, target: string, e: GuardEvent, n: Notification): Promise<void> {
    const note = e.type === 'SellTriggered' && n.actionId ? this.confirmNote(e, n) : n;
    const ref = await this.sendNote(ch, target, note);
    if (note.actionId && ref) {
      const id = note.actionId;
      if (!this.delivered.has(id)) {
        this.delivered.add(id);
        const deadline = await this.api.promptDelivered(id);
        this.log.info({ actionId: id, channel: ch.name, deadline }, 'confirm delivered: deadline starts');
      }
      const byTarget = this.refsOf(id, ch.name);
      byTarget.set(target, ref);
      await this.api.attachMessage(id, ch.name, [...byTarget.values()].join(','));
    }
    if (note.photos && ch.sendPhoto)
      for (const p of note.photos)
        await ch.sendPhoto(await readFile(p.file), p.caption, note.silent, target || undefined);
  }

  /**
   * The prompt as it is sent now: its "no answer by" time counts from delivery (the engine
   * restarts the deadline then); a confirm already decided while queued goes without buttons.
   */
  private confirmNote(e: Extract<GuardEvent, { type: 'SellTriggered' }>, n: Notification): Notification {
    const a = this.api.action(n.actionId!);
    if (!a) return n;
    if (a.status !== 'pending') {
      const r = render(e);
      const { action: _gone, ...rest } = r;
      const { actionId: _id, ...plain } = n;
      return { ...plain, reply: { ...rest, lines: [...rest.lines, `→ ${a.outcome ?? a.status}`] } };
    }
    const timeout = (e.deadline ?? e.at) - e.at;
    const deadline = this.delivered.has(a.id) ? a.deadline : this.api.now() + timeout;
    return { ...n, reply: render({ ...e, deadline }) };
  }

  private refsOf(actionId: string, channel: string): Map<string, string> {
    let byChannel = this.refs.get(actionId);
    if (!byChannel) this.refs.set(actionId, (byChannel = new Map()));
    let byTarget = byChannel.get(channel);
    if (!byTarget) byChannel.set(channel, (byTarget = new Map()));
    return byTarget;
  }

  /** Which confirm an event settles, and the outcome to show on its message. */
  private settleTarget(e: GuardEvent): { actionId: string; outcome: string } | undefined {
    let a: PendingAction | undefined;
    let outcome: string | undefined;
    if (e.type === 'ActionResolved' || e.type === 'ConfirmExpired') {
      a = this.api.action(e.actionId);
      outcome = a?.outcome ?? (e.type === 'ActionResolved' ? e.outcome : plainText(render(e)));
    } else if (e.type === 'OrderFilled' || e.type === 'OrderRejected' || e.type === 'OrderUpdate') {
      a = this.api.actionByOrder(e.type === 'OrderRejected' ? e.clientOrderId : e.order.clientOrderId);
      outcome = plainText(render(e));
    }
    return a && outcome ? { actionId: a.id, outcome } : undefined;
  }

  /** Edits the confirm message in place: first the decision's outcome, later the fill or the error. */
  private async settle(ch: Channel, target: string, actionId: string, outcome: string): Promise<void> {
    const a = this.api.action(actionId);
    if (!a || !ch.settleAction) return;
    const mine = this.refs.get(actionId)?.get(ch.name)?.get(target);
    // A one-recipient channel may keep its own reference up to date (WeCom's response codes).
    const ref = target ? mine : (a.messages[ch.name] ?? mine);
    if (!ref) return;
    await ch.settleAction(
      a.id,
      ref,
      `${a.name} ${a.symbol} · 涨停 ${a.limitUp}\n${a.evidenceText}\n→ ${outcome}`,
    );
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
