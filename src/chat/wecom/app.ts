/**
 * WeCom self-built app (自建应用) client (reference/chat.md §3.2): cached access token with
 * single-flight refresh, message/send (text, markdown, the sell/hold button card) and
 * update_template_card after a click.
 */
import axios, { type AxiosInstance } from 'axios';
import type { Logger } from 'pino';
import { InputError } from '../../domain/types.ts';
import { systemClock, type WallClock } from './clock.ts';
import { WECOM_API_ROOT } from './robot.ts';
import { splitUtf8 } from './split.ts';

/** App text and markdown content are capped at 2048 bytes (doc 90236). */
export const APP_MAX_BYTES = 2048;
/** Token errors after which a fresh token is fetched and the call retried once. */
const TOKEN_ERRORS = new Set([40014, 42001, 41001]);
const UNTRUSTED_IP = 60020;
/** Refresh this long before WeCom's stated expiry so an in-flight call never carries a dead token. */
const TOKEN_MARGIN_MS = 300_000;
const TASK_ID = /^[0-9A-Za-z_\-@]{1,128}$/;

export class WecomApiError extends Error {
  override name = 'WecomApiError';
  constructor(
    readonly api: string,
    readonly errcode: number,
    readonly errmsg: string,
  ) {
    super(
      errcode === UNTRUSTED_IP
        ? `WeCom ${api} refused this server's IP (60020): add this server's egress IP to the app's trusted IPs ` +
            `in the WeCom admin console: 应用管理 → 企业可信IP (${errmsg})`
        : `WeCom ${api} failed: errcode ${errcode} ${errmsg}`,
    );
  }
}

export interface WecomAppOptions {
  corpId: string;
  agentId: number;
  /** WECOM_SECRET; never logged. */
  secret: string;
  logger: Logger;
  /** WECOM_API_ROOT, for tests and proxies. */
  apiRoot?: string;
  clock?: Pick<WallClock, 'now'>;
  timeoutMs?: number;
}

/** One line of evidence on a sell card ("封单" → "1850万"); WeCom shows at most 6. */
export interface CardField {
  label: string;
  value: string;
}

export interface SellCard {
  /** The pending action id; WeCom echoes it back as TaskId on the click. */
  taskId: string;
  title: string;
  desc?: string;
  fields: CardField[];
  /** Free text under the title, e.g. the trigger rule and deadline. */
  note?: string;
}

export interface SendResult {
  msgid?: string;
  /** Present for interactive cards: lets us update the card without a click. */
  responseCode?: string;
}

/** The part of the app the callback server needs; lets tests and other channels stand in. */
export interface WecomAppApi {
  sendText(toUser: string, content: string): Promise<SendResult>;
  updateCardButton(userId: string, responseCode: string, replaceName: string): Promise<void>;
}

interface Token {
  value: string;
  expiresAt: number;
}

interface ApiReply {
  errcode?: number;
  errmsg?: string;
  [k: string]: unknown;
}

export const SELL_KEY = 'sell';
export const HOLD_KEY = 'hold';

export class WecomApp implements WecomAppApi {
  private readonly http: AxiosInstance;
  private readonly log: Logger;
  private readonly clock: Pick<WallClock, 'now'>;
  private token: Token | undefined;
  private refreshing: Promise<Token> | undefined;

  constructor(private readonly opts: WecomAppOptions) {
    if (!opts.corpId) throw new InputError('WECOM_CORP_ID is required');
    if (!Number.isInteger(opts.agentId) || opts.agentId <= 0)
      throw new InputError('WECOM_AGENT_ID must be a positive integer');
    if (!opts.secret) throw new InputError('WECOM_SECRET is required');
    this.http = axios.create({
      baseURL: opts.apiRoot ?? WECOM_API_ROOT,
      timeout: opts.timeoutMs ?? 10_000,
      validateStatus: () => true,
    });
    this.log = opts.logger.child({ channel: 'wecom-app' });
    this.clock = opts.clock ?? systemClock;
  }

  /** A valid access token; concurrent callers share one gettoken. */
  async accessToken(): Promise<string> {
    const now = this.clock.now();
    if (this.token && now < this.token.expiresAt) return this.token.value;
    this.refreshing ??= this.fetchToken().finally(() => (this.refreshing = undefined));
    return (await this.refreshing).value;
  }

  async sendText(toUser: string, content: string): Promise<SendResult> {
    let last: SendResult = {};
    for (const part of splitUtf8(content, APP_MAX_BYTES)) {
      last = await this.send(toUser, { msgtype: 'text', text: { content: part } });
    }
    return last;
  }

  async sendMarkdown(toUser: string, content: string): Promise<SendResult> {
    let last: SendResult = {};
    for (const part of splitUtf8(content, APP_MAX_BYTES)) {
      last = await this.send(toUser, { msgtype: 'markdown', markdown: { content: part } });
    }
    return last;
  }

  /** The one-tap confirm: a button_interaction card with 卖出 Sell / 持有 Hold. */
  async sendSellCard(toUser: string, card: SellCard): Promise<SendResult> {
    if (!TASK_ID.test(card.taskId)) {
      throw new InputError(`card taskId "${card.taskId}" must be 1-128 characters of [0-9A-Za-z_-@]`);
    }
    if (card.fields.length > 6) throw new InputError('a WeCom card shows at most 6 evidence fields');
    return this.send(toUser, {
      msgtype: 'template_card',
      template_card: {
        card_type: 'button_interaction',
        main_title: { title: card.title, ...(card.desc ? { desc: card.desc } : {}) },
        ...(card.note ? { sub_title_text: card.note } : {}),
        horizontal_content_list: card.fields.map((f) => ({ keyname: f.label, value: f.value })),
        task_id: card.taskId,
        button_list: [
          { text: '卖出 Sell', style: 1, key: SELL_KEY },
          { text: '持有 Hold', style: 2, key: HOLD_KEY },
        ],
      },
    });
  }

  /** Greys out the card's buttons for that user and shows replaceName instead (single use per code). */
  async updateCardButton(userId: string, responseCode: string, replaceName: string): Promise<void> {
    await this.call('message/update_template_card', {
      userids: [userId],
      agentid: this.opts.agentId,
      response_code: responseCode,
      button: { replace_name: replaceName },
    });
  }

  private async send(toUser: string, message: Record<string, unknown>): Promise<SendResult> {
    const reply = await this.call('message/send', { touser: toUser, agentid: this.opts.agentId, ...message });
    if (reply.invaliduser)
      this.log.warn({ invaliduser: reply.invaliduser }, 'wecom app: some recipients are invalid');
    return {
      ...(typeof reply.msgid === 'string' ? { msgid: reply.msgid } : {}),
      ...(typeof reply.response_code === 'string' ? { responseCode: reply.response_code } : {}),
    };
  }

  private async call(api: string, body: Record<string, unknown>): Promise<ApiReply> {
    for (let attempt = 1; ; attempt++) {
      const token = await this.accessToken();
      const reply = await this.request(api, () =>
        this.http.post(`/cgi-bin/${api}`, body, { params: { access_token: token } }),
      );
      const errcode = reply.errcode ?? 0;
      if (errcode === 0) return reply;
      if (TOKEN_ERRORS.has(errcode) && attempt === 1) {
        // Only drop the cache if nobody replaced it meanwhile, so parallel failures refresh once.
        if (this.token?.value === token) this.token = undefined;
        this.log.info({ errcode }, 'wecom access token rejected; refreshing once');
        continue;
      }
      throw this.fail(api, reply);
    }
  }

  private async fetchToken(): Promise<Token> {
    const started = this.clock.now();
    const reply = await this.request('gettoken', () =>
      this.http.get('/cgi-bin/gettoken', {
        params: { corpid: this.opts.corpId, corpsecret: this.opts.secret },
      }),
    );
    if ((reply.errcode ?? 0) !== 0 || typeof reply.access_token !== 'string')
      throw this.fail('gettoken', reply);
    const lifetimeMs = (typeof reply.expires_in === 'number' ? reply.expires_in : 7200) * 1000;
    this.token = {
      value: reply.access_token,
      expiresAt: started + Math.max(lifetimeMs - TOKEN_MARGIN_MS, lifetimeMs / 2),
    };
    return this.token;
  }

  private async request(
    api: string,
    go: () => Promise<{ status: number; data: unknown }>,
  ): Promise<ApiReply> {
    let res: { status: number; data: unknown };
    try {
      res = await go();
    } catch (e) {
      // axios errors carry the request config (token, secret in the URL): keep only the message.
      throw new WecomApiError(api, -1, `network error: ${(e as Error).message}`);
    }
    if (res.status !== 200 || typeof res.data !== 'object' || res.data === null) {
      throw new WecomApiError(api, -1, `HTTP ${res.status}`);
    }
    return res.data as ApiReply;
  }

  private fail(api: string, reply: ApiReply): WecomApiError {
    const err = new WecomApiError(api, reply.errcode ?? -1, String(reply.errmsg ?? ''));
    this.log.warn({ api, errcode: err.errcode, errmsg: err.errmsg }, err.message);
    return err;
  }
}
