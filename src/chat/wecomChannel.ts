/**
 * WeCom (企业微信) as a channel of the product: the self-built app sends notifications to each
 * WECOM_ALLOWED_USERS user and confirms as sell/hold button cards (task_id = action id); the
 * group robot, when configured, gets every notification as text (it cannot take taps, so its
 * confirms carry the typed `/confirm <id>` fallback); the callback server turns allowed users'
 * texts into commands and card taps into api.resolve.
 *
 * Card updates: a response_code works once. The click's ResponseCode supersedes the one from
 * message/send, so the clicker's card is updated by the click path (callback server, with the
 * click's code) and settleAction only updates the cards of users who did not click, each once.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { formatExchangeTime } from '../domain/time.ts';
import type { GuardApi } from '../engine/api.ts';
import type { HealthBoard } from '../engine/health.ts';
import type { PendingAction } from '../engine/state.ts';
import type { Channel } from './channel.ts';
import { runCommand } from './commands.ts';
import type { Notification } from './notify.ts';
import { plainText, type Reply } from './reply.ts';
import { HOLD_KEY, SELL_KEY, WecomApp, type SellCard } from './wecom/app.ts';
import { REPLAY_FILE, WecomCallbackServer } from './wecom/callbackServer.ts';
import type { WecomInbound } from './wecom/inbound.ts';
import { UNDELIVERED, WecomRobot } from './wecom/robot.ts';

export interface WecomChannelParts {
  channel: Channel;
  /** The /wecom/callback handler for the shared HTTP server; only when callbacks are configured. */
  handle?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** What the callback server calls (exposed for tests of the authorization double-check). */
  inbound?: WecomInbound;
}

/** Card text limits (WeCom truncates or refuses beyond these; doc 90236). */
const TITLE_MAX = 26;
const DESC_MAX = 30;
const NOTE_MAX = 112;
const FIELD_VALUE_MAX = 30;

const clip = (s: string, max: number): string => {
  const cps = [...s];
  return cps.length <= max ? s : cps.slice(0, max - 1).join('') + '…';
};

/** The short text that replaces a card's buttons (update_template_card replace_name). */
export function buttonLabel(a: PendingAction | undefined): string {
  if (!a) return '已失效 Expired';
  switch (a.status) {
    case 'pending':
      return '待确认 Pending';
    case 'executing':
      return '卖出中 Selling';
    case 'sold':
      return a.resolvedBy === 'deadline' ? '超时·已下单 Sold at timeout' : '已下单 Sell placed';
    case 'failed':
      return '卖出失败 Failed';
    case 'held':
      return '已持有 Held';
    case 'expired':
      return '超时·持有 Timed out, held';
  }
}

/** Card references kept in the action store: userid -> the card's message/send response_code. */
function parseRef(ref: string): Record<string, string> {
  try {
    const v = JSON.parse(ref) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v))
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).filter(
          (e): e is [string, string] => typeof e[1] === 'string',
        ),
      );
  } catch {
    // not ours (an older format): nothing to update
  }
  return {};
}

/** A confirm without buttons: the typed commands instead of "tap a button". */
function typedFallback(r: Reply, id: string): Reply {
  const lines = r.lines.filter((l) => !l.includes(`/confirm ${id}`));
  lines.push(
    `确认卖出请回复 /confirm ${id} · 持有 /hold ${id} (reply in the WeCom app or another chat channel)`,
  );
  const { action: _drop, ...rest } = r;
  return { ...rest, lines };
}

export interface WecomChannelOptions {
  /** Real wall clock for the callback server's timestamp window (tests may move it). */
  wallNow?: () => number;
  /**
   * API base for the robot when there is no app config to take WECOM_API_ROOT from (Config keeps
   * WECOM_API_ROOT only under `wecom`, so a robot-only setup cannot override it from the env yet).
   */
  apiRoot?: string;
  /** Where the callback replay memory lives; DATA_DIR by default (the demo passes its own). */
  dataDir?: string;
  /** The app's HealthBoard (component 'wecom'); the api's board by default. */
  health?: HealthBoard;
}

/** How long a tap during another user's sell waits for its outcome before showing "Selling". */
const EXECUTING_WAIT_MS = 30_000;

/** WeCom accepts a callback only within this distance of its own clock (our check, ±300 s). */
const SIGNATURE_WINDOW_MS = 300_000;

/**
 * A template_card task_id is unique per app for ever ("同一个应用任务id不能重复"; a repeat is
 * refused with 42014), so each recipient's card of one action gets its own: `<actionId>@<n>`.
 * '@' is allowed in a task_id and never occurs in an action id (base64url), so the action is
 * read back from the id itself, after a restart too.
 */
export function cardTaskId(actionId: string, recipient: number): string {
  return `${actionId}@${recipient}`;
}

export function actionOfTask(taskId: string): string {
  const at = taskId.indexOf('@');
  return at < 0 ? taskId : taskId.slice(0, at);
}

class WecomChannel implements Channel, WecomInbound {
  readonly name = 'wecom';
  readonly interactive: boolean;
  readonly app: WecomApp | undefined;
  readonly robot: WecomRobot | undefined;
  readonly callback: WecomCallbackServer | undefined;
  private readonly users: string[];
  private readonly allowed: Set<string>;
  /** actionId -> users (lower case) who tapped that card: their send code is superseded. */
  private readonly clicked = new Map<string, Set<string>>();
  /** response codes already spent (each works once). */
  private readonly spent = new Set<string>();
  private readonly health: HealthBoard;

  constructor(
    config: Config,
    private readonly api: GuardApi,
    private readonly log: Logger,
    o: WecomChannelOptions,
  ) {
    this.health = o.health ?? api.health;
    const w = config.wecom;
    this.users = w?.allowedUsers ?? [];
    this.allowed = new Set(this.users.map((u) => u.toLowerCase()));
    if (w) {
      this.app = new WecomApp({
        corpId: w.corpId,
        agentId: w.agentId,
        secret: w.secret,
        logger: log,
        health: this.health,
        ...(w.apiRoot ? { apiRoot: w.apiRoot } : {}),
      });
      if (w.callback)
        this.callback = new WecomCallbackServer({
          token: w.callback.token,
          encodingAESKey: w.callback.aesKey,
          corpId: w.corpId,
          agentId: w.agentId,
          allowedUsers: w.allowedUsers,
          app: this.app,
          inbound: this,
          logger: log,
          ...(o.wallNow ? { wallNow: o.wallNow } : {}),
          ...((o.dataDir ?? config.dataDir)
            ? { replayFile: join(o.dataDir ?? config.dataDir, REPLAY_FILE) }
            : {}),
        });
    }
    if (config.wecomWebhookKey)
      this.robot = new WecomRobot({
        key: config.wecomWebhookKey,
        logger: log,
        health: this.health,
        ...((o.apiRoot ?? config.wecomApiRoot) ? { apiRoot: o.apiRoot ?? config.wecomApiRoot } : {}),
      });
    if (this.callback?.replayPersistError)
      this.health.set(
        'wecom:replay',
        'wecom',
        'warn',
        `WeCom callback replay memory cannot be saved in DATA_DIR (${this.callback.replayPersistError}): ` +
          'after a restart a captured callback could be replayed within 5 minutes. Make DATA_DIR writable.',
      );
    // Buttons only make sense when their clicks come back to us.
    this.interactive = !!this.app && !!this.callback;
  }

  async start(): Promise<void> {
    if (this.app && this.users.length === 0)
      this.log.warn('WECOM_ALLOWED_USERS is empty: the WeCom app has nobody to send notifications to');
    // Fetch the token now so a wrong secret or an untrusted IP (60020) shows at start-up, not at
    // the first trigger; never block or fail the start on it (WecomApp puts a refused token on
    // the HealthBoard).
    if (this.app && this.users.length > 0)
      void this.app
        .accessToken()
        .then(() => this.checkClock())
        .catch((e: unknown) =>
          this.log.warn({ err: (e as Error).message }, 'wecom app not reachable at start'),
        );
  }

  /** A host clock off WeCom's by more than the window refuses every callback: say so. */
  private checkClock(): void {
    const skew = this.app?.clockSkew();
    if (!skew || !this.callback) return;
    const off = Math.abs(skew.skewMs) - skew.uncertaintyMs;
    if (off > SIGNATURE_WINDOW_MS) {
      const s = Math.round(skew.skewMs / 1000);
      this.health.set(
        'wecom:clock',
        'wecom',
        'error',
        `This host's clock is ${Math.abs(s)} s ${s > 0 ? 'ahead of' : 'behind'} WeCom's: every WeCom callback ` +
          `(commands, card taps) is refused as outside the ±${SIGNATURE_WINDOW_MS / 1000} s window. Sync the clock (NTP).`,
      );
    } else this.health.clear('wecom:clock');
  }

  async stopReceiving(): Promise<void> {
    await this.callback?.close();
  }

  async stop(): Promise<void> {
    await this.callback?.close();
    // Bounded: a rate-limited robot queue must not hold the shutdown for a minute.
    if (this.robot) await Promise.race([this.robot.idle(), new Promise((r) => setTimeout(r, 3000).unref())]);
  }

  async send(n: Notification): Promise<string | undefined> {
    const id = n.reply.action?.id;
    if (this.robot) {
      const r = id ? typedFallback(n.reply, id) : n.reply;
      // Fire and forget: the robot queues under its rate limit and warns on failures itself.
      void this.robot.text(plainText(r));
    }
    if (!this.app || this.users.length === 0) return undefined;
    if (id && this.interactive) return this.sendCards(n, id);
    const text = plainText(id ? typedFallback(n.reply, id) : n.reply);
    for (const user of this.users) {
      try {
        await this.app.sendText(user, text);
      } catch (e) {
        this.undelivered(e, user, 'wecom app message failed');
      }
    }
    return undefined;
  }

  /**
   * A chart (PNG) after a notification: uploaded once (media/upload, type=image) and sent to
   * each user as an image message; the robot gets it as a base64 image message. WeCom images
   * carry no caption; the chart draws its own title (symbol and date).
   */
  async sendPhoto(png: Uint8Array, _caption: string, _silent: boolean): Promise<void> {
    if (this.robot) void this.robot.image(png);
    if (!this.app || this.users.length === 0) return;
    let mediaId: string;
    try {
      mediaId = await this.app.uploadImage(png);
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'wecom image upload failed');
      this.health.count(UNDELIVERED, this.users.length);
      return;
    }
    for (const user of this.users) {
      try {
        await this.app.sendImage(user, mediaId);
      } catch (e) {
        this.undelivered(e, user, 'wecom image message failed');
      }
    }
  }

  private undelivered(e: unknown, user: string, what: string): void {
    this.log.warn({ err: (e as Error).message, user }, what);
    this.health.count(UNDELIVERED);
  }

  private async sendCards(n: Notification, id: string): Promise<string | undefined> {
    const codes: Record<string, string> = {};
    for (const [i, user] of this.users.entries()) {
      try {
        const r = await this.app!.sendSellCard(user, this.card(n.reply, id, cardTaskId(id, i)));
        if (r.responseCode) codes[user] = r.responseCode;
      } catch (e) {
        // One user's failure (left the company, no permission) must not cost the others their card.
        this.undelivered(e, user, 'wecom confirm card failed');
      }
    }
    return Object.keys(codes).length ? JSON.stringify(codes) : undefined;
  }

  private card(r: Reply, id: string, taskId: string): SellCard {
    const a = this.api.action(id);
    if (!a)
      return {
        taskId,
        title: clip(r.title ?? '卖出确认 Sell?', TITLE_MAX),
        fields: [],
        note: clip(r.lines.join('\n'), NOTE_MAX),
      };
    const hhmmss = formatExchangeTime(a.deadline).slice(11, 19);
    return {
      taskId,
      title: clip(`卖出确认 ${a.name} ${a.symbol}`, TITLE_MAX),
      desc: clip(`涨停 ${a.limitUp} · 封单减弱`, DESC_MAX),
      fields: [
        { label: '依据', value: clip(a.evidenceText, FIELD_VALUE_MAX) },
        { label: '卖出', value: `${a.sellable}股 @ ${a.limitUp}` },
        { label: '截止', value: hhmmss },
        { label: '超时默认', value: a.onTimeout === 'sell' ? '卖出 SELL' : '持有 HOLD' },
      ],
      note: clip(`或回复 /confirm ${id} · /hold ${id}`, NOTE_MAX),
    };
  }

  async settleAction(actionId: string, ref: string, _text: string): Promise<void> {
    if (!this.app) return;
    const a = this.api.action(actionId);
    // A response_code works once: spending it on "卖出中 Selling" (an OrderUpdate while the sell
    // is in flight) would leave the card there for good. Only a decided action updates cards.
    if (a && (a.status === 'pending' || a.status === 'executing')) return;
    const clickers = this.clicked.get(actionId);
    const label = buttonLabel(a);
    for (const [user, code] of Object.entries(parseRef(ref))) {
      if (clickers?.has(user.toLowerCase()) || this.spent.has(code)) continue;
      this.spent.add(code);
      await this.app
        .updateCardButton(user, code, label)
        .catch((e: unknown) =>
          this.log.warn({ err: (e as Error).message, user, actionId }, 'wecom card update failed'),
        );
    }
  }

  // ---- WecomInbound: the callback server calls these after its own checks ------------------

  async onText(userId: string, text: string): Promise<string> {
    if (!this.allowed.has(userId.toLowerCase())) return '';
    const r = await runCommand(this.api, { user: `wecom:${userId}`, text });
    return plainText(r);
  }

  async onButton(userId: string, taskId: string, key: string): Promise<string> {
    // The callback server already refuses users not allowed; checked again here because this is
    // the line between a tap and an order.
    if (!this.allowed.has(userId.toLowerCase())) {
      this.log.warn({ userId, taskId }, 'wecom tap from a user not in WECOM_ALLOWED_USERS; nothing done');
      return '无权限 Not allowed';
    }
    if (key !== SELL_KEY && key !== HOLD_KEY) return '未知按钮 Unknown';
    const actionId = actionOfTask(taskId);
    // Mark first: resolve() publishes ActionResolved, and the hub's settle must leave this
    // user's card to the click's ResponseCode.
    let set = this.clicked.get(actionId);
    if (!set) this.clicked.set(actionId, (set = new Set()));
    set.add(userId.toLowerCase());
    const r = await this.api.resolve(actionId, key === SELL_KEY ? 'sell' : 'hold', `wecom:${userId}`);
    if (!r.ok) {
      // Tell the user why nothing changed; the card label alone cannot say it.
      await this.app
        ?.sendText(userId, r.message)
        .catch((e: unknown) => this.log.warn({ err: (e as Error).message }, 'wecom reply failed'));
      if (r.action?.status === 'pending') return '已超时 Too late';
    }
    let a = r.action ?? this.api.action(actionId);
    // Another user's tap is still selling: this card's (single-use) code waits for the outcome
    // rather than being spent on "卖出中 Selling", since settleAction now leaves this card alone.
    for (let waited = 0; a?.status === 'executing' && waited < EXECUTING_WAIT_MS; waited += 250) {
      await new Promise((r) => setTimeout(r, 250));
      a = this.api.action(actionId);
    }
    return buttonLabel(a);
  }
}

export function createWecomChannel(
  config: Config,
  api: GuardApi,
  log: Logger,
  o: WecomChannelOptions = {},
): WecomChannelParts {
  const ch = new WecomChannel(config, api, log, o);
  return {
    channel: ch,
    inbound: ch,
    ...(ch.callback ? { handle: ch.callback.handle } : {}),
  };
}
