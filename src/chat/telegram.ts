/**
 * Telegram channel on grammY. Safety first: every message AND every button tap is checked
 * against TELEGRAM_ALLOWED_USERS by the sender's user id (not the chat: in a group every member
 * would otherwise control the bot), before any I/O.
 *
 * Nothing here may hold up the guard or another chat:
 * - start() returns at once; getMe, the command menu and polling follow in the background with
 *   capped backoff (mainland users reach Telegram through proxies that drop), reported on the
 *   health board (and so on the console/log and the other channels) while not reachable;
 * - updates are dispatched without awaiting their handlers, and handlers never await I/O: a
 *   stranger's "Not authorized." (rate-limited per sender) or an answerCallbackQuery stuck in a
 *   429 never delays the owner's tap, and a tap starts the sell before anything is answered;
 * - each chat has its own turn and its own failures (telegramSend.ts): a chat that blocked the
 *   bot (403) or is gone (400 chat not found) is marked unreachable and skipped until it writes
 *   to the bot again; the others get everything;
 * - polling that dies says so: 409 (another getUpdates on this token: with two guards a
 *   double-sell risk) is retried with capped backoff and reported when it persists; 401 (token
 *   revoked) ends Telegram for this run, reported, while the guard keeps guarding.
 */
import { Bot, GrammyError, InlineKeyboard, InputFile, type Context } from 'grammy';
import type { Update, UserFromGetMe } from 'grammy/types';
import type { Agent } from 'node:http';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { SocksProxyAgent } from 'socks-proxy-agent';
import type { Logger } from 'pino';
import type { GuardApi } from '../engine/api.ts';
import type { HealthBoard } from '../engine/health.ts';
import type { Channel, ChannelRate } from './channel.ts';
import { COMMANDS, runCommand } from './commands.ts';
import type { Notification } from './notify.ts';
import { escapeHtml, type Reply } from './reply.ts';
import {
  callInChat,
  describeError,
  isConflict,
  isTransient,
  isUnauthorized,
  isUnreachable,
  retryAfterOf,
  SendGate,
  sleep,
  type CallPolicy,
  type GateOptions,
} from './telegramSend.ts';

export interface TelegramOptions {
  token: string;
  allowedUsers: number[];
  api: GuardApi;
  log: Logger;
  apiRoot?: string;
  /** http://, https:// or socks5:// proxy for Telegram only (quotes keep going direct). */
  proxy?: string;
  /** Chats that receive notifications; default: the allowed users' private chats. */
  notifyChats?: number[];
  /** Where channel problems are reported (unreachable chats, polling); a private board if absent. */
  health?: HealthBoard;
  /** Rate limits per chat / overall (defaults: Telegram's). */
  gate?: GateOptions;
  /** Bounds on one send (attempts, 429 wait cap, timeout, backoff). */
  sendPolicy?: Partial<CallPolicy>;
  /** Backoff of getMe at start and of polling after errors, ms: first and cap. */
  backoffMs?: { first: number; max: number };
  /** Consecutive 409s after which the conflict is reported (it is retried regardless). */
  conflictReportAfter?: number;
  /** Long-poll timeout of getUpdates, seconds. */
  pollTimeoutS?: number;
  /** One "Not authorized." per stranger per this interval, ms. */
  refusalIntervalMs?: number;
}

/** Telegram counts message length after entity parsing; stay under 4096 with margin for tags. */
const MAX_TEXT = 3900;
const CB = /^sg:(s|h):([A-Za-z0-9_-]{6,16})$/;
const PRIO_CONFIRM = 0;
const PRIO_NORMAL = 1;
const PRIO_STRANGER = 2;

export function proxyAgent(url: string): Agent {
  const u = new URL(url);
  if (u.protocol.startsWith('socks')) return new SocksProxyAgent(url) as unknown as Agent;
  if (u.protocol === 'http:' || u.protocol === 'https:') return new HttpsProxyAgent(url) as unknown as Agent;
  throw new Error(`TELEGRAM_PROXY: unsupported scheme ${u.protocol} (use http, https or socks5)`);
}

const TOKEN = /<[^>]*>|&#?\w+;|[\uD800-\uDBFF][\uDC00-\uDFFF]|[\s\S]/g;

/**
 * Splits Telegram HTML into pieces of at most `max` characters, cutting only between characters
 * (never inside an entity like &amp;, a tag, or a surrogate pair) and closing the open tags at
 * the cut and reopening them in the next piece, so every piece is valid on its own.
 */
export function splitHtml(html: string, max: number): string[] {
  if (html.length <= max) return [html];
  const chunks: string[] = [];
  const open: string[] = [];
  let closeLen = 0;
  let cur = '';
  let content = false;
  const closer = (tag: string) => `</${/^<\s*([a-zA-Z0-9-]+)/.exec(tag)?.[1] ?? 'b'}>`;
  for (const tok of html.match(TOKEN) ?? []) {
    const isOpen = /^<[^/!][^>]*[^/]>$|^<[a-zA-Z]>$/.test(tok);
    const isClose = tok.startsWith('</');
    const extra = isOpen ? closer(tok).length : 0;
    if (content && cur.length + tok.length + closeLen + extra > max) {
      chunks.push(cur + [...open].reverse().map(closer).join(''));
      cur = open.join('');
      content = false;
    }
    cur += tok;
    if (isOpen) {
      open.push(tok);
      closeLen += extra;
    } else if (isClose) {
      const t = open.pop();
      if (t) closeLen -= closer(t).length;
    } else content = true;
  }
  if (content || chunks.length === 0) chunks.push(cur + [...open].reverse().map(closer).join(''));
  return chunks;
}

/** Renders a reply as Telegram HTML chunks, each under the length limit, never splitting a tag. */
export function toHtmlChunks(r: Reply, max = MAX_TEXT): string[] {
  const units: string[] = [];
  if (r.title) units.push(`<b>${escapeHtml(r.title)}</b>`);
  for (const l of r.lines) units.push(escapeHtml(l));
  if (r.pre?.length) {
    let block: string[] = [];
    const flush = () => {
      if (block.length) units.push(`<pre>${escapeHtml(block.join('\n'))}</pre>`);
      block = [];
    };
    for (const l of r.pre) {
      if (escapeHtml([...block, l].join('\n')).length + 11 > max) flush();
      block.push(l);
    }
    flush();
  }
  const chunks: string[] = [];
  let cur = '';
  for (const u of units) {
    // Only a single absurd line: split it at character boundaries (nothing is cut off).
    for (const piece of u.length > max ? splitHtml(u, max) : [u]) {
      const next = cur ? `${cur}\n${piece}` : piece;
      if (next.length > max) {
        if (cur) chunks.push(cur);
        cur = piece;
      } else cur = next;
    }
  }
  if (cur) chunks.push(cur);
  return chunks.length ? chunks : [' '];
}

function isNotModified(err: unknown): boolean {
  return err instanceof GrammyError && /message is not modified/i.test(err.description);
}

const errText = (err: unknown) => describeError(err);

/** grammY types its signals with the abort-controller shim; Node's own are the same thing at runtime. */
type GrammySignal = Parameters<Bot['api']['getMe']>[0];
const sig = (s: AbortSignal): GrammySignal => s as unknown as GrammySignal;

export class TelegramChannel implements Channel {
  readonly name = 'telegram';
  readonly interactive = true;
  readonly bot: Bot;
  private readonly allowed: Set<number>;
  private readonly gate: SendGate;
  private readonly policy: CallPolicy;
  private readonly health: HealthBoard | undefined;
  private readonly stopper = new AbortController();
  /**
   * Aborts the long poll: stopReceiving() (input off, sends still drain), or stop(). The poll
   * loop looks at this alone: stop() aborts it too.
   */
  private readonly pollStopper = new AbortController();
  private me: UserFromGetMe | undefined;
  private connected = false;
  /** 401: the token is revoked or wrong; Telegram is off for this run. */
  private dead = false;
  private stopped = false;
  private polling: Promise<void> | undefined;
  private offset = 0;
  /** chat id -> why it cannot be reached (until it writes to the bot again). */
  private readonly unreachable = new Map<number, string>();
  /** Per chat, the tail of its queue of commands (run one after another, off the update loop). */
  private readonly chains = new Map<number, Promise<void>>();
  /** Actions this channel is resolving right now. */
  private readonly tapping = new Set<string>();
  /** "kind:stranger user id" -> wall ms of the last refusal answered. */
  private readonly refused = new Map<string, number>();
  private readonly refusedRecent: number[] = [];
  private readonly refusedLogged = new Map<string, number>();

  constructor(private readonly o: TelegramOptions) {
    this.allowed = new Set(o.allowedUsers);
    this.gate = new SendGate(o.gate);
    this.policy = {
      attempts: 3,
      maxRetryAfterS: 15,
      timeoutMs: 15_000,
      backoffMs: 1_000,
      ...o.sendPolicy,
    };
    this.health = o.health;
    const client: NonNullable<ConstructorParameters<typeof Bot>[1]>['client'] = {
      // grammY's default is 500 s: a proxy that silently drops would hold a call that long.
      timeoutSeconds: (o.pollTimeoutS ?? 25) + 20,
    };
    if (o.apiRoot) client.apiRoot = o.apiRoot.replace(/\/+$/, '');
    if (o.proxy) client.baseFetchConfig = { agent: proxyAgent(o.proxy) } as never;
    this.bot = new Bot(o.token, { client });
    this.install();
  }

  private get notifyChats(): number[] {
    return this.o.notifyChats ?? [...this.allowed];
  }

  rate(target?: string): ChannelRate {
    return Number(target) < 0 ? { perSecond: 1 / 1.1, perMinute: 19 } : { perSecond: 1 / 1.1 };
  }

  targets(): string[] {
    if (this.dead) return [];
    return this.notifyChats.filter((c) => !this.unreachable.has(c)).map(String);
  }

  ready(): boolean {
    return this.connected && !this.dead;
  }

  private install(): void {
    const bot = this.bot;
    // 1. Authorization on everything, by user id, decided before any I/O.
    bot.use((ctx, next) => {
      const uid = ctx.from?.id;
      if (uid !== undefined && this.allowed.has(uid)) {
        if (ctx.chat) this.markReachable(ctx.chat.id);
        return next();
      }
      this.refuse(ctx);
      return undefined;
    });
    // 2. Button taps: the sell starts first, the answer goes concurrently.
    bot.callbackQuery(CB, (ctx) => this.onTap(ctx));
    bot.on('callback_query:data', (ctx) => this.answer(ctx.callbackQuery.id, 'Unknown button.'));
    // 3. Commands and plain text.
    bot.on('message:text', (ctx) => this.onText(ctx));
    bot.catch((err) => {
      this.o.log.warn(
        { err: errText(err.error), update: err.ctx.update.update_id },
        'telegram handler error',
      );
    });
  }

  /** Refusals are counted, logged once a minute per sender, answered at most once per interval. */
  private refuse(ctx: Context): void {
    const uid = ctx.from?.id ?? 0;
    const now = Date.now();
    const kind = ctx.callbackQuery ? 'tap' : 'message';
    this.health?.count('refused telegram');
    const key = `${kind}:${uid}`;
    if (this.refusedLogged.size > 10_000) this.refusedLogged.clear();
    if (now - (this.refusedLogged.get(key) ?? -Infinity) >= 60_000) {
      this.refusedLogged.set(key, now);
      this.o.log.warn(
        { userId: uid, chatId: ctx.chat?.id, kind },
        'telegram: refused a user not in TELEGRAM_ALLOWED_USERS',
      );
    }
    if (this.refused.size > 10_000) this.refused.clear();
    // A tap's spinner runs until answered, so taps get a shorter interval than messages.
    const interval = kind === 'tap' ? 5_000 : (this.o.refusalIntervalMs ?? 60_000);
    if (now - (this.refused.get(key) ?? -Infinity) < interval) return;
    // And all strangers together get a few answers a second: a flood must not use up the 30/s.
    while (this.refusedRecent.length && this.refusedRecent[0]! <= now - 1_000) this.refusedRecent.shift();
    if (this.refusedRecent.length >= 5) return;
    this.refusedRecent.push(now);
    this.refused.set(key, now);
    if (ctx.callbackQuery) this.answer(ctx.callbackQuery.id, 'Not authorized.', true);
    else if (ctx.message && ctx.chat?.type === 'private') {
      const chat = ctx.chat.id;
      void callInChat(
        this.gate,
        chat,
        PRIO_STRANGER,
        (signal) => this.bot.api.sendMessage(chat, 'Not authorized.', {}, sig(signal)),
        { ...this.policy, attempts: 1 },
        this.stopper.signal,
      ).catch(() => {});
    }
  }

  private onText(ctx: Context): void {
    const chatId = ctx.chat!.id;
    const text = ctx.message!.text!;
    const cmd = /^\/([A-Za-z0-9_]+)(?:@([A-Za-z0-9_]+))?/.exec(text);
    if (!cmd) {
      if (ctx.chat!.type === 'private') this.reply(chatId, { lines: ['Send /help for the commands.'] });
      return;
    }
    // "/pause@other_bot" in a group is for another bot.
    const to = cmd[2]?.toLowerCase();
    if (to && to !== this.me?.username?.toLowerCase()) return;
    const line = to ? `/${cmd[1]}${text.slice(cmd[0].length)}` : text;
    // Detached from the update loop, but in order per chat: "/watch X" then "/mode X auto"
    // typed quickly must not race (the watch's name lookup is a network call).
    const prev = this.chains.get(chatId) ?? Promise.resolve();
    const next = prev.then(() => this.runDetached(chatId, `telegram:${ctx.from!.id}`, line));
    this.chains.set(chatId, next);
    void next.then(() => {
      if (this.chains.get(chatId) === next) this.chains.delete(chatId);
    });
  }

  private async runDetached(chatId: number, user: string, text: string): Promise<void> {
    try {
      const r = await runCommand(this.o.api, { user, text });
      await this.replyNow(chatId, r);
    } catch (err) {
      this.o.log.warn({ err: errText(err), chatId }, 'telegram reply failed');
    }
  }

  private reply(chatId: number, r: Reply): void {
    void this.replyNow(chatId, r).catch((err: unknown) =>
      this.o.log.warn({ err: errText(err), chatId }, 'telegram reply failed'),
    );
  }

  private async replyNow(chatId: number, r: Reply): Promise<void> {
    for (const chunk of toHtmlChunks(r))
      await this.inChat(chatId, PRIO_NORMAL, (signal) =>
        this.bot.api.sendMessage(chatId, chunk, { parse_mode: 'HTML' }, sig(signal)),
      );
  }

  /** Answers a callback query off the path of everything else; its failure changes nothing. */
  private answer(queryId: string, text: string, alert = false): void {
    const call = () =>
      this.bot.api.answerCallbackQuery(
        queryId,
        { text: text.slice(0, 200), ...(alert ? { show_alert: true } : {}) },
        sig(AbortSignal.timeout(10_000)),
      );
    void call()
      .catch(async (err: unknown) => {
        // A query answered late is useless (Telegram drops it after some seconds): one short retry.
        const ra = retryAfterOf(err);
        if ((ra !== undefined && ra <= 2) || (ra === undefined && isTransient(err))) {
          await sleep((ra ?? 1) * 1000, this.stopper.signal);
          if (!this.stopped) return call();
        }
        throw err;
      })
      .catch((err: unknown) =>
        this.o.log.info(
          { err: errText(err) },
          'telegram: callback answer failed (nothing else depends on it)',
        ),
      );
  }

  private onTap(ctx: Context): void {
    const q = ctx.callbackQuery!;
    const m = CB.exec(q.data ?? '');
    if (!m) return;
    const decision = m[1] === 's' ? 'sell' : 'hold';
    const id = m[2]!;
    const user = `telegram:${ctx.from!.id}`;
    const a = this.o.api.action(id);
    // A second tap while the first is still selling finds the action still 'pending' on disk
    // (the status write is in flight), so the channel remembers its own taps too.
    const busy = this.tapping.has(id);
    if (!a || busy || a.status !== 'pending' || this.o.api.now() > a.deadline) {
      const why = !a
        ? 'This confirm is unknown (from an earlier run?). Nothing was done.'
        : busy || a.status === 'executing'
          ? 'Already being handled; nothing more was done.'
          : a.status !== 'pending'
            ? `Already handled: ${a.outcome ?? a.status}.`
            : 'Too late: the deadline has passed.';
      this.answer(q.id, why, true);
      return;
    }
    // The sell first: the engine decides pending -> executing synchronously (a racing second
    // tap gets ok:false) and the order leaves before any Telegram call is made.
    this.tapping.add(id);
    const pending = this.o.api.resolve(id, decision, user).finally(() => this.tapping.delete(id));
    this.answer(q.id, decision === 'sell' ? 'Selling…' : 'Holding.');
    const msg = q.message;
    if (msg && decision === 'sell') {
      const text = 'text' in msg && typeof msg.text === 'string' ? msg.text : '';
      void this.edit(msg.chat.id, msg.message_id, `${escapeHtml(text)}\n\n⏳ <b>selling…</b>`).catch(
        (err: unknown) => this.o.log.info({ err: errText(err) }, 'telegram: "selling…" edit failed'),
      );
    }
    void pending.then(
      (r) => {
        // Refused by the engine (another channel got there first): its outcome edits the message.
        if (!r.ok) this.o.log.info({ actionId: id, why: r.message }, 'tap refused by the engine');
      },
      (err: unknown) => this.o.log.warn({ err: errText(err), actionId: id }, 'confirm failed'),
    );
  }

  /** A call into a chat under its turn and the send policy; unreachable chats are marked. */
  private async inChat<T>(chat: number, prio: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.dead) throw new Error('Telegram is off: the bot token was refused (401)');
    try {
      return await callInChat(this.gate, chat, prio, fn, this.policy, this.stopper.signal);
    } catch (err) {
      if (isUnreachable(err)) this.markUnreachable(chat, (err as GrammyError).description);
      else if (isUnauthorized(err)) this.onUnauthorized();
      throw err;
    }
  }

  private async edit(chatId: number, messageId: number, html: string): Promise<void> {
    try {
      await this.inChat(chatId, PRIO_CONFIRM, (signal) =>
        this.bot.api.editMessageText(
          chatId,
          messageId,
          splitHtml(html, MAX_TEXT)[0]!,
          { parse_mode: 'HTML', reply_markup: { inline_keyboard: [] } },
          sig(signal),
        ),
      );
    } catch (err) {
      if (!isNotModified(err)) throw err;
    }
  }

  private markUnreachable(chat: number, why: string): void {
    if (this.unreachable.has(chat)) return;
    this.unreachable.set(chat, why);
    const text = `Telegram chat ${chat} is unreachable (${why}): it gets no alerts or confirm buttons until it writes to the bot again (unblock the bot, then send /start).`;
    // The board logs it (once) and tells the other channels; without one, the log must.
    if (this.health) this.health.set(`telegram:chat:${chat}`, 'telegram', 'warn', text);
    else this.o.log.warn({ chatId: chat, why }, text);
  }

  private markReachable(chat: number): void {
    if (!this.unreachable.delete(chat)) return;
    this.o.log.info({ chatId: chat }, 'telegram: chat reachable again (it wrote to the bot)');
    this.health?.clear(`telegram:chat:${chat}`);
  }

  private onUnauthorized(): void {
    if (this.dead) return;
    this.dead = true;
    this.connected = false;
    this.health?.clear('telegram:connect');
    this.health?.set(
      'telegram:polling',
      'telegram',
      'error',
      'Telegram refused the bot token (401 Unauthorized: revoked or wrong). Telegram is off for this run: no commands, buttons or alerts there. The guard keeps guarding (auto mode still sells, the other channels still get alerts); set a valid TELEGRAM_BOT_TOKEN and restart.',
    );
  }

  private backoff(n: number): number {
    const b = this.o.backoffMs ?? { first: 1_000, max: 30_000 };
    return Math.min(b.max, b.first * 2 ** Math.max(0, n - 1));
  }

  async start(): Promise<void> {
    this.polling = this.run().catch((err: unknown) =>
      this.o.log.error({ err: errText(err) }, 'telegram polling ended unexpectedly'),
    );
  }

  /** Background: getMe until it answers (capped backoff), then the menu and polling. */
  private async run(): Promise<void> {
    for (let n = 1; !this.stopped; n++) {
      try {
        this.me = await this.bot.api.getMe(
          sig(AbortSignal.any([this.stopper.signal, AbortSignal.timeout(15_000)])),
        );
        break;
      } catch (err) {
        if (this.stopped) return;
        if (isUnauthorized(err)) return this.onUnauthorized();
        const wait = this.backoff(n);
        this.health?.set(
          'telegram:connect',
          'telegram',
          'warn',
          `Telegram is not reachable yet (${errText(err)}); retrying in the background. The guard is running: quotes, auto selling and the other channels do not wait for it.`,
        );
        this.o.log.warn({ err: errText(err), retryInMs: wait }, 'telegram: getMe failed');
        await sleep(wait, this.stopper.signal);
      }
    }
    if (this.stopped || !this.me) return;
    this.bot.botInfo = this.me;
    this.connected = true;
    this.health?.clear('telegram:connect');
    this.o.log.info({ username: this.me.username }, 'telegram connected');
    void this.bot.api
      .setMyCommands(
        COMMANDS.map((c) => ({ command: c.name, description: c.help.slice(0, 256) })),
        {},
        sig(AbortSignal.timeout(15_000)),
      )
      .catch((err: unknown) => this.o.log.warn({ err: errText(err) }, 'setMyCommands failed'));
    await this.poll();
  }

  private async poll(): Promise<void> {
    let conflicts = 0;
    let failures = 0;
    const timeout = this.o.pollTimeoutS ?? 25;
    const halt = this.pollStopper.signal;
    while (!halt.aborted && !this.dead) {
      let updates: Update[];
      try {
        updates = await this.bot.api.getUpdates(
          { offset: this.offset, timeout, allowed_updates: ['message', 'callback_query'] },
          sig(AbortSignal.any([halt, AbortSignal.timeout((timeout + 15) * 1000)])),
        );
      } catch (err) {
        if (halt.aborted) return;
        if (isUnauthorized(err)) return this.onUnauthorized();
        let wait: number;
        if (isConflict(err)) {
          conflicts++;
          wait = this.backoff(conflicts);
          this.o.log.warn(
            { err: errText(err), attempt: conflicts, retryInMs: wait },
            'telegram: polling conflict',
          );
          if (conflicts >= (this.o.conflictReportAfter ?? 3))
            this.health?.set(
              'telegram:polling',
              'telegram',
              'error',
              `Telegram polling conflict: another process is using this bot token (${errText(err)}). Commands and buttons may not reach this guard; if it is another SealGuard on the same account, two guards can sell twice: stop one. This guard keeps guarding and keeps retrying.`,
            );
        } else if (retryAfterOf(err) !== undefined) {
          wait = Math.min(60, retryAfterOf(err)!) * 1000;
        } else {
          failures++;
          wait = this.backoff(failures);
          this.o.log.warn({ err: errText(err), retryInMs: wait }, 'telegram: getUpdates failed');
          if (failures >= 2) {
            // Hold the queues (messages wait) instead of failing every send against a dead link.
            this.connected = false;
            this.health?.set(
              'telegram:connect',
              'telegram',
              'warn',
              `Telegram is not reachable (${errText(err)}); retrying in the background. The guard keeps guarding; messages for Telegram wait meanwhile.`,
            );
          }
        }
        await sleep(wait, halt);
        continue;
      }
      // Stopped while the long poll was out: these updates are not ours to handle any more. Left
      // unconfirmed (the offset stays), Telegram gives them to the next getUpdates: the guard
      // that runs after us. Handled here, a tap on a confirm could sell from a stopped guard.
      if (halt.aborted) return;
      conflicts = 0;
      failures = 0;
      this.connected = true;
      this.health?.clear('telegram:connect');
      this.health?.clear('telegram:polling');
      for (const u of updates) {
        this.offset = u.update_id + 1;
        // Never awaited: a slow handler (or a flood of strangers) must not hold the next update.
        this.bot
          .handleUpdate(u)
          .catch((err: unknown) =>
            this.o.log.warn({ err: errText(err), update: u.update_id }, 'telegram handler error'),
          );
      }
    }
  }

  async stopReceiving(): Promise<void> {
    this.pollStopper.abort();
    await this.polling;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopper.abort();
    this.pollStopper.abort();
    await this.polling;
    // Confirm the handled updates, as grammY's bot.stop() does, so a restart does not replay them.
    if (this.offset > 0 && !this.dead)
      await this.bot.api
        .getUpdates({ offset: this.offset, limit: 1, timeout: 0 }, sig(AbortSignal.timeout(2_000)))
        .catch(() => {});
  }

  async send(n: Notification, target?: string): Promise<string | undefined> {
    if (target === undefined) {
      // Not through the hub (one call for every chat): each chat still on its own.
      const refs = await Promise.allSettled(this.targets().map((t) => this.send(n, t)));
      return (
        refs.flatMap((r) => (r.status === 'fulfilled' && r.value ? [r.value] : [])).join(',') || undefined
      );
    }
    const chat = Number(target);
    const chunks = toHtmlChunks(n.reply);
    const prio = n.actionId ? PRIO_CONFIRM : PRIO_NORMAL;
    let ref: string | undefined;
    for (let i = 0; i < chunks.length; i++) {
      const last = i === chunks.length - 1;
      const kb =
        last && n.reply.action
          ? new InlineKeyboard()
              .text(n.reply.action.sellLabel, `sg:s:${n.reply.action.id}`)
              .text(n.reply.action.holdLabel, `sg:h:${n.reply.action.id}`)
          : undefined;
      const m = await this.inChat(chat, prio, (signal) =>
        this.bot.api.sendMessage(
          chat,
          chunks[i]!,
          { parse_mode: 'HTML', disable_notification: n.silent, ...(kb ? { reply_markup: kb } : {}) },
          sig(signal),
        ),
      );
      if (last) ref = `${chat}:${m.message_id}`;
    }
    return ref;
  }

  async sendPhoto(png: Uint8Array, caption: string, silent: boolean, target?: string): Promise<void> {
    const chats = target === undefined ? this.targets().map(Number) : [Number(target)];
    for (const chat of chats)
      await this.inChat(chat, PRIO_NORMAL, (signal) =>
        this.bot.api.sendPhoto(
          chat,
          new InputFile(png, 'seal.png'),
          { caption: caption.slice(0, 1000), disable_notification: silent },
          sig(signal),
        ),
      );
  }

  async settleAction(_actionId: string, ref: string, text: string): Promise<void> {
    for (const one of ref.split(',')) {
      const [chat, msg] = one.split(':').map(Number);
      if (!chat || !msg || this.unreachable.has(chat)) continue;
      await this.edit(chat, msg, escapeHtml(text));
    }
  }
}
