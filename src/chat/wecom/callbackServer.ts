/**
 * The WeCom callback URL (/wecom/callback, reference/chat.md §3.3): GET URL verification and POST
 * encrypted deliveries. Everything is checked before anything happens (signature, real-time
 * timestamp window, nonce replay, corp id, duplicate delivery, user allow-list); WeCom gets its
 * answer at once and the work (commands, sells) runs afterwards, because WeCom drops the
 * connection after 5 s and redelivers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { WecomAppApi } from './app.ts';
import { WecomCrypto, WecomCryptoError } from './crypto.ts';
import type { WecomInbound } from './inbound.ts';
import { BodyError, closeAfterResponse, readBoundedBody, skipBody } from '../../net/boundedBody.ts';
import { ReplayMemory } from './replayMemory.ts';
import { SeenSet } from './seenSet.ts';
import { XmlError, xmlFields } from './xml.ts';
import { SealGuardError } from '../../domain/errors.ts';

export const WECOM_CALLBACK_PATH = '/wecom/callback';
/** WeCom's envelopes are a few KB (a 2048-byte text encrypts to ~3 KB); 64 KB is ample. */
export const MAX_BODY_BYTES = 64 * 1024;
/** Where the accepted nonces and deliveries are kept across restarts, under DATA_DIR. */
export const REPLAY_FILE = 'wecom-replay.jsonl';
const REFUSAL = '抱歉，你没有使用 SealGuard 的权限。Sorry, you are not allowed to use SealGuard.';
const FAILED_REPLY = '处理失败，请稍后再试。Something went wrong; please try again.';
const FAILED_BUTTON = '处理失败 Failed';

export interface CallbackOptions {
  /** WECOM_TOKEN, WECOM_AES_KEY, WECOM_CORP_ID (the receive id every delivery must carry). */
  token: string;
  encodingAESKey: string;
  corpId: string;
  /** WECOM_AGENT_ID; deliveries for another agent are ignored. */
  agentId?: number;
  /** WECOM_ALLOWED_USERS (WeCom userids, which WeCom treats case-insensitively). */
  allowedUsers: readonly string[];
  app: WecomAppApi;
  inbound: WecomInbound;
  logger: Logger;
  /** The REAL wall clock: WeCom signs with real time even when SEALGUARD_CLOCK simulates the market. */
  wallNow?: () => number;
  /** Accepted distance between WeCom's timestamp and ours; 300 s by default. */
  windowMs?: number;
  /**
   * The replay journal (DATA_DIR/wecom-replay.jsonl), so a replay stays refused after a restart.
   * Without it the memory lasts only as long as the process.
   */
  replayFile?: string;
}

interface Delivery {
  from: string;
  msgType: string;
  event?: string;
  content?: string;
  eventKey?: string;
  taskId?: string;
  responseCode?: string;
  dedupeKey: string;
}

class Refused extends SealGuardError {
  constructor(
    readonly status: number,
    message: string,
    /** The body was left unread: answer, then close instead of draining it. */
    readonly closeConnection = false,
  ) {
    super(message);
  }
}

export class WecomCallbackServer {
  private readonly crypto: WecomCrypto;
  private readonly allowed: Set<string>;
  private readonly log: Logger;
  private readonly wallNow: () => number;
  private readonly windowMs: number;
  private readonly replay: ReplayMemory;
  private readonly refused = new SeenSet(1_000, 600_000);
  private readonly inflight = new Set<Promise<void>>();

  constructor(private readonly opts: CallbackOptions) {
    this.crypto = new WecomCrypto(opts.token, opts.encodingAESKey, opts.corpId);
    this.allowed = new Set(opts.allowedUsers.map((u) => u.toLowerCase()));
    this.log = opts.logger.child({ channel: 'wecom-callback' });
    this.wallNow = opts.wallNow ?? Date.now;
    this.windowMs = opts.windowMs ?? 300_000;
    // A request is acceptable for windowMs either side of its timestamp, so remembering a nonce
    // for twice the window (plus slack) covers every moment a replay could still pass.
    this.replay = new ReplayMemory({
      ...(opts.replayFile ? { file: opts.replayFile } : {}),
      nonceTtlMs: 2 * this.windowMs + 60_000,
      deliveryTtlMs: 3_600_000,
      logger: this.log,
      now: this.wallNow(),
    });
    this.handle = this.handle.bind(this);
  }

  /** close() began: deliveries are refused from then on. */
  private closing = false;

  /**
   * A node:http handler for WECOM_CALLBACK_PATH; returns false (touching nothing) for any other
   * path so several handlers can share HTTP_PORT.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== WECOM_CALLBACK_PATH) return false;
    if (this.closing) {
      // Shutting down: not acted on here. WeCom retries a delivery that is not answered with
      // success, so the click reaches the guard that runs next.
      skipBody(req, res);
      reply(res, 503, '');
      return true;
    }
    void this.serve(req, res, url).catch((e: unknown) => {
      this.log.warn({ err: e }, 'wecom callback failed');
      if (!res.headersSent) reply(res, 500, '');
    });
    return true;
  }

  /** A standalone server for the callback path alone (404 elsewhere). */
  listen(port: number, host = '0.0.0.0'): Promise<Server> {
    const server = createServer((req, res) => {
      if (!this.handle(req, res)) reply(res, 404, '');
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve(server));
    });
  }

  /** Resolves when every accepted delivery has been fully handled (shutdown, tests). */
  async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /** Set when the replay journal could not be opened: replays are refused only until a restart. */
  get replayPersistError(): string | undefined {
    return this.replay.persistError;
  }

  /** Drains, then closes the replay journal (its contents stay for the next start). */
  /** Refuses new deliveries (503), then waits for those accepted. */
  async close(): Promise<void> {
    this.closing = true;
    await this.drain();
    this.replay.close();
  }

  private async serve(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const state = { bodyRead: false };
    try {
      if (req.method === 'GET') {
        skipBody(req, res);
        return this.verifyUrl(res, url);
      }
      if (req.method === 'POST') return await this.receive(req, res, url, state);
      skipBody(req, res);
      res.setHeader('allow', 'GET, POST');
      reply(res, 405, '');
    } catch (e) {
      if (!(e instanceof Refused)) throw e;
      this.log.warn(
        { status: e.status, reason: e.message, ip: req.socket.remoteAddress },
        'wecom callback refused',
      );
      // A body not read to its end is never drained: this connection carries nothing more.
      if (e.closeConnection) closeAfterResponse(req, res);
      else if (!state.bodyRead && req.method === 'POST') skipBody(req, res);
      reply(res, e.status, '');
    }
  }

  /** The console's "save callback URL" check: echo the decrypted echostr, nothing else. */
  private verifyUrl(res: ServerResponse, url: URL): void {
    const { signature, timestamp, nonce } = this.params(url);
    // URLSearchParams turns a raw '+' into ' '; base64 never contains spaces, so undo that.
    const echostr = (url.searchParams.get('echostr') ?? '').replace(/ /g, '+');
    if (!echostr) throw new Refused(400, 'echostr missing');
    const plain = this.open(signature, timestamp, nonce, echostr);
    this.log.info('wecom callback URL verified');
    reply(res, 200, plain);
  }

  private async receive(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    state: { bodyRead: boolean },
  ): Promise<void> {
    const { signature, timestamp, nonce } = this.params(url);
    const body = await readBody(req);
    state.bodyRead = true;
    const encrypted = parseXml(body, ['Encrypt'] as const).Encrypt;
    if (!encrypted) throw new Refused(400, 'Encrypt missing from the body');
    const plain = this.open(signature, timestamp, nonce, encrypted);
    const delivery = this.parseDelivery(plain);
    // Answer before doing anything slow; WeCom only needs to know we have it.
    reply(res, 200, '');
    if (!delivery) return;
    if (!this.replay.add('delivery', delivery.dedupeKey, this.wallNow())) {
      this.log.info({ from: delivery.from, msgType: delivery.msgType }, 'wecom duplicate delivery ignored');
      return;
    }
    const work = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.dispatch(delivery))
      .catch((e: unknown) => this.log.warn({ err: (e as Error).message }, 'wecom delivery handling failed'));
    this.inflight.add(work);
    void work.finally(() => this.inflight.delete(work));
  }

  private params(url: URL): { signature: string; timestamp: string; nonce: string } {
    const signature = url.searchParams.get('msg_signature') ?? '';
    const timestamp = url.searchParams.get('timestamp') ?? '';
    const nonce = url.searchParams.get('nonce') ?? '';
    if (!signature || !/^\d{1,12}$/.test(timestamp) || !nonce || nonce.length > 64) {
      throw new Refused(400, 'msg_signature, timestamp or nonce missing or malformed');
    }
    return { signature, timestamp, nonce };
  }

  /** Signature, then freshness and replay, then decryption with the corp id check. */
  private open(signature: string, timestamp: string, nonce: string, encrypted: string): string {
    // Signature first, so unauthenticated requests cannot fill the nonce memory.
    if (!this.crypto.verify(signature, timestamp, nonce, encrypted))
      throw new Refused(401, 'msg_signature does not match');
    const now = this.wallNow();
    if (Math.abs(now - Number(timestamp) * 1000) > this.windowMs) {
      throw new Refused(403, `timestamp ${timestamp} is outside the ${this.windowMs / 1000} s window`);
    }
    if (!this.replay.add('nonce', nonce, now)) throw new Refused(403, 'nonce already used (replay)');
    try {
      return this.crypto.unseal(encrypted);
    } catch (e) {
      if (e instanceof WecomCryptoError) throw new Refused(400, `${e.code} ${e.message}`);
      throw e;
    }
  }

  private parseDelivery(plain: string): Delivery | undefined {
    const f = parseXml(plain, [
      'FromUserName',
      'CreateTime',
      'MsgType',
      'Content',
      'MsgId',
      'Event',
      'EventKey',
      'TaskId',
      'ResponseCode',
      'AgentID',
    ] as const);
    if (!f.FromUserName || !f.MsgType)
      throw new Refused(400, 'decrypted message lacks FromUserName or MsgType');
    if (this.opts.agentId !== undefined && f.AgentID && f.AgentID !== String(this.opts.agentId)) {
      this.log.warn({ agentId: f.AgentID }, 'wecom delivery for another agent ignored');
      return undefined;
    }
    const dedupeKey = f.MsgId
      ? `msg:${f.MsgId}`
      : ['evt', f.FromUserName, f.CreateTime ?? '', f.Event ?? '', f.EventKey ?? '', f.TaskId ?? ''].join(
          '\u0000',
        );
    return {
      from: f.FromUserName,
      msgType: f.MsgType,
      dedupeKey,
      ...(f.Event !== undefined ? { event: f.Event } : {}),
      ...(f.Content !== undefined ? { content: f.Content } : {}),
      ...(f.EventKey !== undefined ? { eventKey: f.EventKey } : {}),
      ...(f.TaskId !== undefined ? { taskId: f.TaskId } : {}),
      ...(f.ResponseCode !== undefined ? { responseCode: f.ResponseCode } : {}),
    };
  }

  private async dispatch(d: Delivery): Promise<void> {
    const isText = d.msgType === 'text';
    const isClick = d.msgType === 'event' && d.event === 'template_card_event';
    if (!isText && !isClick) {
      this.log.debug({ msgType: d.msgType, event: d.event }, 'wecom delivery not handled');
      return;
    }
    if (!this.allowed.has(d.from.toLowerCase())) {
      this.log.warn(
        { from: d.from, msgType: d.msgType, event: d.event },
        'wecom user not in WECOM_ALLOWED_USERS; refused',
      );
      // One polite refusal per user per 10 minutes, so a stranger cannot make us spam.
      if (isText && this.refused.add(d.from, this.wallNow())) await this.opts.app.sendText(d.from, REFUSAL);
      return;
    }
    if (isText) return this.runText(d.from, d.content ?? '');
    return this.runClick(d);
  }

  private async runText(user: string, text: string): Promise<void> {
    let answer: string;
    try {
      answer = await this.opts.inbound.onText(user, text);
    } catch (e) {
      this.log.warn({ from: user, err: (e as Error).message }, 'wecom command failed');
      answer = FAILED_REPLY;
    }
    if (answer.trim() !== '') await this.opts.app.sendText(user, answer);
  }

  private async runClick(d: Delivery): Promise<void> {
    if (!d.taskId || !d.eventKey) {
      this.log.warn({ from: d.from }, 'wecom card click without TaskId or EventKey ignored');
      return;
    }
    let result: string;
    try {
      result = await this.opts.inbound.onButton(d.from, d.taskId, d.eventKey);
    } catch (e) {
      this.log.warn(
        { from: d.from, taskId: d.taskId, err: (e as Error).message },
        'wecom button action failed',
      );
      result = FAILED_BUTTON;
    }
    if (!d.responseCode) {
      this.log.warn({ taskId: d.taskId }, 'wecom click carried no ResponseCode; card left as is');
      return;
    }
    await this.opts.app.updateCardButton(d.from, d.responseCode, result);
  }
}

function parseXml<K extends string>(xml: string, names: readonly K[]): Partial<Record<K, string>> {
  try {
    return xmlFields(xml, names);
  } catch (e) {
    if (e instanceof XmlError) throw new Refused(400, e.message);
    throw e;
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  try {
    return (await readBoundedBody(req, { maxBytes: MAX_BODY_BYTES, timeoutMs: 10_000 })).toString('utf8');
  } catch (e) {
    if (e instanceof BodyError) throw new Refused(e.status, e.message, true);
    throw e;
  }
}

function reply(res: ServerResponse, status: number, body: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.end(body);
}
