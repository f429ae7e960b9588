/**
 * Telegram channel on grammY. Safety first: every message AND every button tap is checked
 * against TELEGRAM_ALLOWED_USERS by the sender's user id (not the chat: in a group every member
 * would otherwise control the bot). Handlers never do slow work inline: bot.start() processes
 * updates one at a time, so commands and sells run detached and report when done.
 */
import { autoRetry } from '@grammyjs/auto-retry';
import { Bot, GrammyError, InlineKeyboard, InputFile, type Context } from 'grammy';
import type { Agent } from 'node:http';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { SocksProxyAgent } from 'socks-proxy-agent';
import type { Logger } from 'pino';
import type { GuardApi } from '../engine/api.ts';
import type { Channel } from './channel.ts';
import { COMMANDS, runCommand } from './commands.ts';
import type { Notification } from './notify.ts';
import { escapeHtml, type Reply } from './reply.ts';

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
  /** Bound on auto-retry waits, seconds. */
  maxRetryDelayS?: number;
}

/** Telegram counts message length after entity parsing; stay under 4096 with margin for tags. */
const MAX_TEXT = 3900;
const CB = /^sg:(s|h):([A-Za-z0-9_-]{6,16})$/;

export function proxyAgent(url: string): Agent {
  const u = new URL(url);
  if (u.protocol.startsWith('socks')) return new SocksProxyAgent(url) as unknown as Agent;
  if (u.protocol === 'http:' || u.protocol === 'https:') return new HttpsProxyAgent(url) as unknown as Agent;
  throw new Error(`TELEGRAM_PROXY: unsupported scheme ${u.protocol} (use http, https or socks5)`);
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
      block.push(l.length > max - 11 ? l.slice(0, max - 12) : l);
    }
    flush();
  }
  const chunks: string[] = [];
  let cur = '';
  for (let u of units) {
    if (u.length > max) u = u.slice(0, max); // only a single absurd line; plain text, tags only wrap whole units
    const next = cur ? `${cur}\n${u}` : u;
    if (next.length > max) {
      chunks.push(cur);
      cur = u;
    } else cur = next;
  }
  if (cur) chunks.push(cur);
  return chunks.length ? chunks : [' '];
}

function isNotModified(err: unknown): boolean {
  return err instanceof GrammyError && /message is not modified/i.test(err.description);
}

export class TelegramChannel implements Channel {
  readonly name = 'telegram';
  readonly interactive = true;
  readonly bot: Bot;
  private readonly allowed: Set<number>;
  private running: Promise<void> | undefined;
  /** Per chat, the tail of its queue of commands (run one after another, off the update loop). */
  private readonly chains = new Map<number, Promise<void>>();
  /** Actions this channel is resolving right now. */
  private readonly tapping = new Set<string>();

  constructor(private readonly o: TelegramOptions) {
    this.allowed = new Set(o.allowedUsers);
    const client: NonNullable<ConstructorParameters<typeof Bot>[1]>['client'] = {};
    if (o.apiRoot) client.apiRoot = o.apiRoot.replace(/\/+$/, '');
    if (o.proxy) client.baseFetchConfig = { agent: proxyAgent(o.proxy) } as never;
    this.bot = new Bot(o.token, { client });
    this.bot.api.config.use(autoRetry({ maxRetryAttempts: 5, maxDelaySeconds: o.maxRetryDelayS ?? 60 }));
    this.install();
  }

  private get notifyChats(): number[] {
    return this.o.notifyChats ?? [...this.allowed];
  }

  private install(): void {
    const bot = this.bot;
    // 1. Authorization on everything, by user id.
    bot.use(async (ctx, next) => {
      const uid = ctx.from?.id;
      if (uid !== undefined && this.allowed.has(uid)) return next();
      this.o.log.warn(
        { userId: uid, chatId: ctx.chat?.id, kind: ctx.callbackQuery ? 'tap' : 'message' },
        'telegram: refused a user not in TELEGRAM_ALLOWED_USERS',
      );
      if (ctx.callbackQuery)
        await ctx.answerCallbackQuery({ text: 'Not authorized.', show_alert: true }).catch(() => {});
      else if (ctx.message && ctx.chat?.type === 'private')
        await ctx.reply('Not authorized.').catch(() => {});
    });
    // 2. Button taps: answer at once, decide synchronously, do the sell detached.
    bot.callbackQuery(CB, (ctx) => this.onTap(ctx));
    bot.on('callback_query:data', (ctx) => ctx.answerCallbackQuery({ text: 'Unknown button.' }));
    // 3. Commands and plain text.
    bot.on('message:text', (ctx) => {
      const chatId = ctx.chat.id;
      const text = ctx.message.text;
      if (!text.startsWith('/')) return ctx.reply('Send /help for the commands.').then(() => undefined);
      // Detached from the update loop, but in order per chat: "/watch X" then "/mode X auto"
      // typed quickly must not race (the watch's name lookup is a network call).
      const prev = this.chains.get(chatId) ?? Promise.resolve();
      const next = prev.then(() => this.runDetached(chatId, `telegram:${ctx.from.id}`, text));
      this.chains.set(chatId, next);
      void next.then(() => {
        if (this.chains.get(chatId) === next) this.chains.delete(chatId);
      });
      return undefined;
    });
    bot.catch((err) => {
      this.o.log.warn(
        {
          err: err.error instanceof Error ? err.error.message : String(err.error),
          update: err.ctx.update.update_id,
        },
        'telegram handler error',
      );
    });
  }

  private async runDetached(chatId: number, user: string, text: string): Promise<void> {
    try {
      const r = await runCommand(this.o.api, { user, text });
      for (const chunk of toHtmlChunks(r))
        await this.bot.api.sendMessage(chatId, chunk, { parse_mode: 'HTML' });
    } catch (err) {
      this.o.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'telegram reply failed');
    }
  }

  private async onTap(ctx: Context): Promise<void> {
    const m = CB.exec(ctx.callbackQuery?.data ?? '');
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
      await ctx.answerCallbackQuery({ text: why.slice(0, 200), show_alert: true }).catch(() => {});
      return;
    }
    await ctx.answerCallbackQuery({ text: decision === 'sell' ? 'Selling…' : 'Holding.' }).catch(() => {});
    const msg = ctx.callbackQuery?.message;
    // The engine decides pending -> executing synchronously; a racing second tap gets ok:false.
    this.tapping.add(id);
    const pending = this.o.api.resolve(id, decision, user).finally(() => this.tapping.delete(id));
    if (msg && decision === 'sell')
      await this.edit(
        msg.chat.id,
        msg.message_id,
        `${escapeHtml(msg.text ?? '')}\n\n⏳ <b>selling…</b>`,
      ).catch(() => {});
    void pending.then(
      async (r) => {
        // Refused by the engine (another channel got there first): its outcome edits the message.
        if (!r.ok) this.o.log.info({ actionId: id, why: r.message }, 'tap refused by the engine');
        if (r.ok && msg && r.action)
          await this.o.api.attachMessage(id, this.name, `${msg.chat.id}:${msg.message_id}`);
      },
      (err) =>
        this.o.log.warn(
          { err: err instanceof Error ? err.message : String(err), actionId: id },
          'confirm failed',
        ),
    );
  }

  private async edit(chatId: number, messageId: number, html: string): Promise<void> {
    try {
      await this.bot.api.editMessageText(chatId, messageId, html.slice(0, MAX_TEXT), {
        parse_mode: 'HTML',
        reply_markup: { inline_keyboard: [] },
      });
    } catch (err) {
      if (!isNotModified(err)) throw err;
    }
  }

  async start(): Promise<void> {
    await this.bot.init();
    await this.bot.api
      .setMyCommands(COMMANDS.map((c) => ({ command: c.name, description: c.help.slice(0, 256) })))
      .catch((err) =>
        this.o.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'setMyCommands failed'),
      );
    this.running = this.bot.start({ allowed_updates: ['message', 'callback_query'] }).catch((err) => {
      this.o.log.error({ err: err instanceof Error ? err.message : String(err) }, 'telegram polling stopped');
    });
  }

  async stop(): Promise<void> {
    if (this.bot.isRunning()) await this.bot.stop();
    await this.running;
  }

  async send(n: Notification): Promise<string | undefined> {
    const chunks = toHtmlChunks(n.reply);
    const refs: string[] = [];
    for (const chat of this.notifyChats) {
      for (let i = 0; i < chunks.length; i++) {
        const last = i === chunks.length - 1;
        const kb =
          last && n.reply.action
            ? new InlineKeyboard()
                .text(n.reply.action.sellLabel, `sg:s:${n.reply.action.id}`)
                .text(n.reply.action.holdLabel, `sg:h:${n.reply.action.id}`)
            : undefined;
        const m = await this.bot.api.sendMessage(chat, chunks[i]!, {
          parse_mode: 'HTML',
          disable_notification: n.silent,
          ...(kb ? { reply_markup: kb } : {}),
        });
        if (last) refs.push(`${chat}:${m.message_id}`);
      }
    }
    return refs.join(',') || undefined;
  }

  async sendPhoto(png: Uint8Array, caption: string, silent: boolean): Promise<void> {
    for (const chat of this.notifyChats)
      await this.bot.api.sendPhoto(chat, new InputFile(png, 'seal.png'), {
        caption: caption.slice(0, 1000),
        disable_notification: silent,
      });
  }

  async settleAction(_actionId: string, ref: string, text: string): Promise<void> {
    for (const one of ref.split(',')) {
      const [chat, msg] = one.split(':').map(Number);
      if (!chat || !msg) continue;
      await this.edit(chat, msg, escapeHtml(text));
    }
  }
}
