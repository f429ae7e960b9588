/**
 * WeCom group robot (消息推送 webhook): send-only notifications (reference/chat.md §3.1).
 * One queue per robot, at most `perMinute` sends in any minute (WeCom's limit is 20), 45009 →
 * wait out the window and retry. Callers never block on it and nothing is dropped without a warn.
 */
import { createHash } from 'node:crypto';
import axios, { type AxiosInstance } from 'axios';
import type { Logger } from 'pino';
import { InputError } from '../../domain/types.ts';
import type { HealthBoard } from '../../engine/health.ts';
import { systemClock, type WallClock } from './clock.ts';
import { MinuteBudget } from './minuteBudget.ts';
import { splitUtf8 } from './split.ts';

export const WECOM_API_ROOT = 'https://qyapi.weixin.qq.com';
/** Byte limits from the robot doc (91770): text 2048, markdown 4096, UTF-8. */
export const ROBOT_TEXT_MAX_BYTES = 2048;
export const ROBOT_MARKDOWN_MAX_BYTES = 4096;
/** Robot image messages: "图片（base64编码前）最大不能超过2M，支持JPG,PNG格式" (doc 91770). */
export const ROBOT_IMAGE_MAX_BYTES = 2 * 1024 * 1024;
const HEALTH_KEY = 'wecom:robot';
export const UNDELIVERED = 'undelivered wecom';

const RATE_LIMITED = 45009;
const SYSTEM_BUSY = -1;

export interface RobotOptions {
  /** WECOM_WEBHOOK_KEY: the only credential, so it is never logged. */
  key: string;
  logger: Logger;
  /** WECOM_API_ROOT; defaults to https://qyapi.weixin.qq.com. */
  apiRoot?: string;
  clock?: WallClock;
  perMinute?: number;
  /** Messages waiting beyond this are refused with a warn rather than piling up without bound. */
  maxQueue?: number;
  /** Attempts per message on 45009, -1 or a network error. */
  maxAttempts?: number;
  timeoutMs?: number;
  /** Failures go on the board (component 'wecom'), every message given up is counted there. */
  health?: HealthBoard;
}

export interface Mentions {
  userIds?: string[];
  mobiles?: string[];
}

interface Job {
  body: Record<string, unknown>;
  attempts: number;
  done: (ok: boolean) => void;
}

export class WecomRobot {
  private readonly http: AxiosInstance;
  private readonly log: Logger;
  private readonly clock: WallClock;
  private readonly budget: MinuteBudget;
  private readonly maxQueue: number;
  private readonly maxAttempts: number;
  private readonly queue: Job[] = [];
  private pump: Promise<void> | undefined;

  constructor(private readonly opts: RobotOptions) {
    if (!/^[A-Za-z0-9-]{8,}$/.test(opts.key))
      throw new InputError('WECOM_WEBHOOK_KEY looks malformed (expected the key= value of the webhook URL)');
    this.http = axios.create({
      baseURL: opts.apiRoot ?? WECOM_API_ROOT,
      timeout: opts.timeoutMs ?? 10_000,
      validateStatus: () => true,
    });
    this.log = opts.logger.child({ channel: 'wecom-robot' });
    this.clock = opts.clock ?? systemClock;
    this.budget = new MinuteBudget(opts.perMinute ?? 20);
    this.maxQueue = opts.maxQueue ?? 200;
    this.maxAttempts = opts.maxAttempts ?? 3;
  }

  /** Sends plain text, split on lines into ≤2048-byte messages; resolves true once all are delivered. */
  text(content: string, mentions: Mentions = {}): Promise<boolean> {
    return this.enqueue(
      splitUtf8(content, ROBOT_TEXT_MAX_BYTES).map((part, i) => ({
        msgtype: 'text',
        text: {
          content: part,
          // Mention once, on the first part, so a split message does not ping people repeatedly.
          ...(i === 0 && mentions.userIds?.length ? { mentioned_list: mentions.userIds } : {}),
          ...(i === 0 && mentions.mobiles?.length ? { mentioned_mobile_list: mentions.mobiles } : {}),
        },
      })),
    );
  }

  /** Sends WeCom markdown, split on lines into ≤4096-byte messages. */
  markdown(content: string): Promise<boolean> {
    return this.enqueue(
      splitUtf8(content, ROBOT_MARKDOWN_MAX_BYTES).map((part) => ({
        msgtype: 'markdown',
        markdown: { content: part },
      })),
    );
  }

  /**
   * An image message: the raw bytes as base64 with their md5 (doc 91770), at most 2 MB before
   * encoding; a bigger one is refused here rather than by WeCom after a wasted upload.
   */
  image(png: Uint8Array): Promise<boolean> {
    if (png.length > ROBOT_IMAGE_MAX_BYTES) {
      this.log.warn({ bytes: png.length }, 'image too large for the wecom robot (2 MB); not sent');
      this.opts.health?.count(UNDELIVERED);
      return Promise.resolve(false);
    }
    const buf = Buffer.from(png);
    return this.enqueue([
      {
        msgtype: 'image',
        image: { base64: buf.toString('base64'), md5: createHash('md5').update(buf).digest('hex') },
      },
    ]);
  }

  /** Messages not yet delivered or given up on. */
  get pending(): number {
    return this.queue.length;
  }

  /** Resolves when the queue is empty (for shutdown and tests). */
  async idle(): Promise<void> {
    while (this.pump) await this.pump;
  }

  private enqueue(bodies: Record<string, unknown>[]): Promise<boolean> {
    if (bodies.length === 0) return Promise.resolve(true);
    if (this.queue.length + bodies.length > this.maxQueue) {
      this.log.warn(
        { queued: this.queue.length, refused: bodies.length, maxQueue: this.maxQueue },
        'wecom robot queue full; message refused',
      );
      this.opts.health?.count(UNDELIVERED, bodies.length);
      return Promise.resolve(false);
    }
    const results = bodies.map(
      (body) => new Promise<boolean>((done) => this.queue.push({ body, attempts: 0, done })),
    );
    this.pump ??= this.drain().finally(() => (this.pump = undefined));
    return Promise.all(results).then((oks) => oks.every(Boolean));
  }

  private async drain(): Promise<void> {
    for (let job = this.queue[0]; job; job = this.queue[0]) {
      const wait = this.budget.waitMs(this.clock.now());
      if (wait > 0) {
        await this.clock.sleep(wait);
        continue;
      }
      // Failed sends count against WeCom's limit too, so every attempt spends a token.
      this.budget.spend(this.clock.now());
      job.attempts++;
      const outcome = await this.post(job.body);
      if (outcome === 'ok' || outcome === 'fail' || job.attempts >= this.maxAttempts) {
        this.queue.shift();
        if (outcome !== 'ok' && outcome !== 'fail') {
          this.log.warn(
            { attempts: job.attempts, reason: outcome },
            'wecom robot message given up after retries',
          );
          this.trouble(
            `WeCom group robot: a message was given up after ${job.attempts} attempts (${outcome})`,
          );
        }
        if (outcome === 'ok') this.opts.health?.clear(HEALTH_KEY);
        else this.opts.health?.count(UNDELIVERED);
        job.done(outcome === 'ok');
        continue;
      }
      if (outcome === 'rate-limited') {
        this.log.info('wecom robot hit 45009; waiting out the minute before retrying');
        this.budget.exhaust(this.clock.now());
      } else {
        await this.clock.sleep(1000 * 2 ** job.attempts);
      }
    }
  }

  private trouble(text: string): void {
    this.opts.health?.set(HEALTH_KEY, 'wecom', 'warn', text);
  }

  private async post(body: Record<string, unknown>): Promise<'ok' | 'fail' | 'rate-limited' | 'retry'> {
    try {
      const res = await this.http.post('/cgi-bin/webhook/send', body, { params: { key: this.opts.key } });
      const data = res.data as { errcode?: unknown; errmsg?: unknown } | undefined;
      const errcode = typeof data?.errcode === 'number' ? data.errcode : undefined;
      if (res.status === 200 && errcode === 0) return 'ok';
      if (errcode === RATE_LIMITED) return 'rate-limited';
      if (errcode === SYSTEM_BUSY || res.status >= 500) return 'retry';
      this.log.warn(
        {
          status: res.status,
          errcode,
          errmsg: typeof data?.errmsg === 'string' ? redact(data.errmsg, this.opts.key) : undefined,
        },
        'wecom robot send failed',
      );
      this.trouble(`WeCom group robot refused a message: errcode ${errcode ?? `HTTP ${res.status}`}`);
      return 'fail';
    } catch (e) {
      this.log.warn(
        { err: redact((e as Error).message, this.opts.key) },
        'wecom robot send error; will retry',
      );
      return 'retry';
    }
  }
}

function redact(text: string, secret: string): string {
  return secret ? text.split(secret).join('***') : text;
}
