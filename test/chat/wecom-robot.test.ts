import { createHash } from 'node:crypto';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WallClock } from '../../src/chat/wecom/clock.ts';
import { ROBOT_IMAGE_MAX_BYTES, WecomRobot } from '../../src/chat/wecom/robot.ts';
import { HealthBoard } from '../../src/engine/health.ts';
import { splitUtf8 } from '../../src/chat/wecom/split.ts';
import { startFakeQyapi, type FakeQyapi } from '../helpers/fakeQyapi.ts';

const KEY = '00000000-robot-key';

/** Time only moves when the test says so; sleepers wake when their deadline is passed. */
class ManualClock implements WallClock {
  private t = Date.UTC(2026, 0, 5, 1, 30);
  private sleepers: { at: number; wake: () => void }[] = [];
  now = () => this.t;
  sleep = (ms: number) => new Promise<void>((wake) => this.sleepers.push({ at: this.t + ms, wake }));
  get sleeping(): number {
    return this.sleepers.length;
  }
  advance(ms: number): void {
    this.t += ms;
    const due = this.sleepers.filter((s) => s.at <= this.t);
    this.sleepers = this.sleepers.filter((s) => s.at > this.t);
    for (const s of due) s.wake();
  }
}

function captureLogger() {
  const lines: string[] = [];
  return { lines, logger: pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) }) };
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!cond()) throw new Error('condition never became true');
}

let api: FakeQyapi;
beforeEach(async () => {
  api = await startFakeQyapi({ webhookKey: KEY });
});
afterEach(async () => {
  await api.close();
});

describe('splitting content to WeCom byte limits', () => {
  it('keeps short content whole', () => {
    expect(splitUtf8('封单 1850万', 2048)).toEqual(['封单 1850万']);
  });

  it('breaks between lines and counts UTF-8 bytes, not characters', () => {
    const line = '封'.repeat(10); // 30 bytes
    const parts = splitUtf8([line, line, line].join('\n'), 64);
    expect(parts).toEqual([`${line}\n${line}`, line]);
    for (const p of parts) expect(Buffer.byteLength(p)).toBeLessThanOrEqual(64);
  });

  it('cuts an over-long line on code point boundaries only', () => {
    const parts = splitUtf8('涨停'.repeat(5), 8); // 30 bytes, 3 per character
    expect(parts).toEqual(['涨停', '涨停', '涨停', '涨停', '涨停']);
  });

  it('drops blank-only chunks, which WeCom refuses (44004)', () => {
    expect(splitUtf8('a'.repeat(6) + '\n\n\n' + 'b'.repeat(6), 6)).toEqual(['aaaaaa', 'bbbbbb']);
    expect(splitUtf8('   ', 2048)).toEqual([]);
  });
});

describe('WeCom group robot', () => {
  it('posts text and markdown to webhook/send with the key, mentions on the first part only', async () => {
    const { logger } = captureLogger();
    const robot = new WecomRobot({ key: KEY, logger, apiRoot: api.url, clock: new ManualClock() });
    const long = Array.from({ length: 100 }, (_, i) => `第${i}行 封单跌破阈值 600519`).join('\n');
    expect(await robot.text(long, { userIds: ['@all'] })).toBe(true);
    expect(await robot.markdown('**卖出** 600519')).toBe(true);
    const texts = api.webhook.filter((r) => r.body.msgtype === 'text');
    expect(texts.length).toBe(2);
    const contents = texts.map((r) => (r.body.text as { content: string }).content);
    expect(contents.join('\n')).toBe(long);
    for (const c of contents) expect(Buffer.byteLength(c)).toBeLessThanOrEqual(2048);
    expect((texts[0]!.body.text as Record<string, unknown>).mentioned_list).toEqual(['@all']);
    expect((texts[1]!.body.text as Record<string, unknown>).mentioned_list).toBeUndefined();
    expect(api.webhook[2]!.body).toEqual({ msgtype: 'markdown', markdown: { content: '**卖出** 600519' } });
    expect(api.webhook[0]!.query.key).toBe(KEY);
  });

  it('sends at most 20 messages a minute and queues the rest until the window moves', async () => {
    const { logger } = captureLogger();
    const clock = new ManualClock();
    const robot = new WecomRobot({ key: KEY, logger, apiRoot: api.url, clock });
    const results = Array.from({ length: 25 }, (_, i) => robot.text(`alert ${i}`));
    await until(() => api.webhook.length === 20 && clock.sleeping === 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(api.webhook.length).toBe(20);
    expect(robot.pending).toBe(5);

    clock.advance(59_999);
    await new Promise((r) => setTimeout(r, 30));
    expect(api.webhook.length).toBe(20);

    clock.advance(1);
    expect(await Promise.all(results)).toEqual(Array(25).fill(true));
    expect(api.webhook.map((r) => (r.body.text as { content: string }).content)).toEqual(
      Array.from({ length: 25 }, (_, i) => `alert ${i}`),
    );
  });

  it('on 45009 waits out the minute and retries the same message', async () => {
    const { logger, lines } = captureLogger();
    const clock = new ManualClock();
    api.script.set('/cgi-bin/webhook/send', [45009]);
    const robot = new WecomRobot({ key: KEY, logger, apiRoot: api.url, clock });
    const sent = robot.text('封单跌破 2000万');
    await until(() => clock.sleeping === 1);
    expect(api.webhook.length).toBe(0);
    clock.advance(60_000);
    expect(await sent).toBe(true);
    expect(api.webhook.map((r) => r.body)).toEqual([
      { msgtype: 'text', text: { content: '封单跌破 2000万' } },
    ]);
    expect(lines.join('')).not.toContain(KEY);
  });

  it('logs other failures at warn without the key and reports the message undelivered', async () => {
    const { logger, lines } = captureLogger();
    api.script.set('/cgi-bin/webhook/send', [40008]);
    const robot = new WecomRobot({ key: KEY, logger, apiRoot: api.url, clock: new ManualClock() });
    expect(await robot.text('x')).toBe(false);
    const warn = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.level === 40);
    expect(warn).toMatchObject({ errcode: 40008, msg: 'wecom robot send failed' });
    expect(lines.join('')).not.toContain(KEY);
  });

  it('refuses with a warn, never silently, when the queue is full', async () => {
    const { logger, lines } = captureLogger();
    const clock = new ManualClock();
    const robot = new WecomRobot({ key: KEY, logger, apiRoot: api.url, clock, perMinute: 1, maxQueue: 2 });
    const first = robot.text('1');
    const second = robot.text('2');
    expect(await robot.text('3')).toBe(false);
    expect(lines.some((l) => l.includes('queue full'))).toBe(true);
    await until(() => api.webhook.length === 1 && clock.sleeping === 1);
    clock.advance(60_000);
    expect([await first, await second]).toEqual([true, true]);
    expect(api.webhook.map((r) => (r.body.text as { content: string }).content)).toEqual(['1', '2']);
  });
});

describe('WeCom robot images and health', () => {
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    Buffer.alloc(1000, 3),
  ]);

  it('sends an image as base64 with the md5 of the raw bytes; the fake checks both', async () => {
    const robot = new WecomRobot({ key: KEY, logger: pino({ level: 'silent' }), apiRoot: api.url });
    expect(await robot.image(png)).toBe(true);
    expect(api.webhook[0]!.body).toEqual({
      msgtype: 'image',
      image: { base64: png.toString('base64'), md5: createHash('md5').update(png).digest('hex') },
    });
    expect(api.refusals).toEqual([]);
  });

  it('an image over 2 MB is not sent and counts as undelivered', async () => {
    const health = new HealthBoard();
    const robot = new WecomRobot({ key: KEY, logger: pino({ level: 'silent' }), apiRoot: api.url, health });
    expect(await robot.image(Buffer.alloc(ROBOT_IMAGE_MAX_BYTES + 1))).toBe(false);
    expect(api.webhook).toHaveLength(0);
    expect(health.counter('undelivered wecom')).toBe(1);
  });

  it('a refused message is wecom trouble on the board (no key in it) until the next delivery', async () => {
    const health = new HealthBoard();
    const robot = new WecomRobot({ key: KEY, logger: pino({ level: 'silent' }), apiRoot: api.url, health });
    api.script.set('/cgi-bin/webhook/send', [40008]);
    expect(await robot.text('x')).toBe(false);
    expect(health.get('wecom:robot')).toMatchObject({ component: 'wecom', level: 'warn' });
    expect(health.get('wecom:robot')!.text).toContain('40008');
    expect(health.get('wecom:robot')!.text).not.toContain(KEY);
    expect(health.counter('undelivered wecom')).toBe(1);
    expect(await robot.text('y')).toBe(true);
    expect(health.has('wecom:robot')).toBe(false);
  });
});
