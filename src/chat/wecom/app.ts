/**
 * WeCom self-built app (自建应用) client (reference/chat.md §3.2): cached access token with
 * single-flight refresh, message/send (text, markdown, the sell/hold button card) and
 * update_template_card after a click.
 */
import { randomBytes } from 'node:crypto';
import axios, { type AxiosInstance } from 'axios';
import type { Logger } from 'pino';
import { InputError } from '../../domain/types.ts';
import type { HealthBoard } from '../../engine/health.ts';
import { systemClock, type WallClock } from './clock.ts';
import { WECOM_API_ROOT } from './robot.ts';
import { splitUtf8 } from './split.ts';
import { SealGuardError } from '../../domain/errors.ts';

/** App text and markdown content are capped at 2048 bytes (doc 90236). */
export const APP_MAX_BYTES = 2048;
/** Token errors after which a fresh token is fetched and the call retried once. */
const TOKEN_ERRORS = new Set([40014, 42001, 41001]);
const UNTRUSTED_IP = 60020;
/** Refresh this long before WeCom's stated expiry so an in-flight call never carries a dead token. */
const TOKEN_MARGIN_MS = 300_000;
const TASK_ID = /^[0-9A-Za-z_\-@]{1,128}$/;
/** media/upload: "所有文件size必须大于5个字节", images up to 10 MB, JPG or PNG (doc 90253). */
const IMAGE_MAX_BYTES = 10 * 1024 * 1024;

export class WecomApiError extends SealGuardError {
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
  /**
   * Where the app reports its own trouble (component 'wecom'): a refused token (wrong secret,
   * untrusted IP 60020) and failing sends, each cleared by the next success.
   */
  health?: HealthBoard;
}

/** This host's clock minus WeCom's, measured from the Date header of a qyapi answer. */
export interface ClockSkew {
  skewMs: number;
  /** Half the round trip plus the header's 1 s resolution: how far off the estimate may be. */
  uncertaintyMs: number;
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
  private skew: ClockSkew | undefined;

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

  /** The last measured skew against WeCom's servers (after any call, e.g. accessToken()). */
  clockSkew(): ClockSkew | undefined {
    return this.skew;
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
    await this.call(
      'message/update_template_card',
      {
        userids: [userId],
        agentid: this.opts.agentId,
        response_code: responseCode,
        button: { replace_name: replaceName },
      },
      { healthKey: 'wecom:card' },
    );
  }

  /**
   * media/upload type=image (doc 90253): multipart with the file under the name "media" and its
   * filename, filelength and content-type, as the doc's sample request has them. The media_id
   * is good for three days and for every app of the corp, so one upload serves all recipients.
   */
  async uploadImage(png: Uint8Array, filename = 'seal.png'): Promise<string> {
    if (png.length <= 5 || png.length > IMAGE_MAX_BYTES)
      throw new InputError(`an image for WeCom must be 6 bytes to 10 MB (this one is ${png.length} bytes)`);
    const boundary = `----sealguard${randomBytes(12).toString('hex')}`;
    const type = filename.endsWith('.jpg') || filename.endsWith('.jpeg') ? 'image/jpeg' : 'image/png';
    const body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="media"; filename="${filename}"; filelength=${png.length}\r\n` +
          `Content-Type: ${type}\r\n\r\n`,
      ),
      png,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const reply = await this.call('media/upload', body, {
      params: { type: 'image' },
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      healthKey: 'wecom:upload',
    });
    if (typeof reply.media_id !== 'string' || !reply.media_id)
      throw new WecomApiError('media/upload', -1, 'answer without media_id');
    return reply.media_id;
  }

  /** An image message (msgtype image) of an uploaded media_id. */
  async sendImage(toUser: string, mediaId: string): Promise<SendResult> {
    return this.send(toUser, { msgtype: 'image', image: { media_id: mediaId } });
  }

  private async send(toUser: string, message: Record<string, unknown>): Promise<SendResult> {
    const reply = await this.call(
      'message/send',
      { touser: toUser, agentid: this.opts.agentId, ...message },
      { healthKey: `wecom:send:${toUser.toLowerCase()}`, user: toUser },
    );
    if (reply.invaliduser)
      this.log.warn({ invaliduser: reply.invaliduser }, 'wecom app: some recipients are invalid');
    return {
      ...(typeof reply.msgid === 'string' ? { msgid: reply.msgid } : {}),
      ...(typeof reply.response_code === 'string' ? { responseCode: reply.response_code } : {}),
    };
  }

  private async call(
    api: string,
    body: Record<string, unknown> | Buffer,
    o: {
      params?: Record<string, string>;
      headers?: Record<string, string>;
      healthKey?: string;
      user?: string;
    } = {},
  ): Promise<ApiReply> {
    try {
      const reply = await this.callOnce(api, body, o);
      if (o.healthKey) this.opts.health?.clear(o.healthKey);
      return reply;
    } catch (e) {
      if (o.healthKey && e instanceof WecomApiError && !TOKEN_ERRORS.has(e.errcode) && e.api !== 'gettoken') {
        this.opts.health?.set(
          o.healthKey,
          'wecom',
          e.errcode === UNTRUSTED_IP ? 'error' : 'warn',
          o.user ? `${e.message} (messages to ${o.user} are not arriving)` : e.message,
        );
      }
      throw e;
    }
  }

  private async callOnce(
    api: string,
    body: Record<string, unknown> | Buffer,
    o: { params?: Record<string, string>; headers?: Record<string, string> },
  ): Promise<ApiReply> {
    for (let attempt = 1; ; attempt++) {
      const token = await this.accessToken();
      const reply = await this.request(api, () =>
        this.http.post(`/cgi-bin/${api}`, body, {
          params: { access_token: token, ...o.params },
          ...(o.headers ? { headers: o.headers } : {}),
        }),
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
    let reply: ApiReply;
    try {
      reply = await this.request('gettoken', () =>
        this.http.get('/cgi-bin/gettoken', {
          params: { corpid: this.opts.corpId, corpsecret: this.opts.secret },
        }),
      );
    } catch (e) {
      this.tokenTrouble(e as WecomApiError);
      throw e;
    }
    if ((reply.errcode ?? 0) !== 0 || typeof reply.access_token !== 'string') {
      const err = this.fail('gettoken', reply);
      this.tokenTrouble(err);
      throw err;
    }
    this.opts.health?.clear('wecom:token');
    const lifetimeMs = (typeof reply.expires_in === 'number' ? reply.expires_in : 7200) * 1000;
    this.token = {
      value: reply.access_token,
      expiresAt: started + Math.max(lifetimeMs - TOKEN_MARGIN_MS, lifetimeMs / 2),
    };
    return this.token;
  }

  /** Without a token nothing reaches WeCom: always an error on the board, with what to fix. */
  private tokenTrouble(err: WecomApiError): void {
    const fix =
      err.errcode === 40001 || err.errcode === 40013 || err.errcode === 40091
        ? ' Check WECOM_CORP_ID and WECOM_SECRET.'
        : err.errcode === -1
          ? ' Check that this machine reaches qyapi.weixin.qq.com (or WECOM_API_ROOT).'
          : '';
    this.opts.health?.set(
      'wecom:token',
      'wecom',
      'error',
      `WeCom app has no access token: ${err.message}.${fix}`,
    );
  }

  private async request(
    api: string,
    go: () => Promise<{ status: number; data: unknown; headers?: unknown }>,
  ): Promise<ApiReply> {
    let res: { status: number; data: unknown; headers?: unknown };
    const sentAt = this.clock.now();
    try {
      res = await go();
    } catch (e) {
      // axios errors carry the request config (token, secret in the URL): keep only the message.
      throw new WecomApiError(api, -1, `network error: ${(e as Error).message}`);
    }
    this.measureSkew(res.headers, sentAt, this.clock.now());
    if (res.status !== 200 || typeof res.data !== 'object' || res.data === null) {
      throw new WecomApiError(api, -1, `HTTP ${res.status}`);
    }
    return res.data as ApiReply;
  }

  /**
   * WeCom signs callbacks with its own clock and we accept ±300 s of it, so a host clock that is
   * off refuses every callback. The Date header has 1 s resolution: WeCom's time was somewhere
   * in [Date, Date + 1 s) while the answer was in flight.
   */
  private measureSkew(headers: unknown, sentAt: number, receivedAt: number): void {
    const raw = (headers as Record<string, unknown> | undefined)?.date;
    const server = typeof raw === 'string' ? Date.parse(raw) : NaN;
    if (!Number.isFinite(server)) return;
    const localMid = (sentAt + receivedAt) / 2;
    this.skew = {
      skewMs: Math.round(localMid - (server + 500)),
      uncertaintyMs: Math.round((receivedAt - sentAt) / 2 + 500),
    };
  }

  private fail(api: string, reply: ApiReply): WecomApiError {
    const err = new WecomApiError(api, reply.errcode ?? -1, String(reply.errmsg ?? ''));
    this.log.warn({ api, errcode: err.errcode, errmsg: err.errmsg }, err.message);
    return err;
  }
}
