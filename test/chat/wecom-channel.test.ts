/**
 * The WeCom channel wired to a real guard (paper broker, stores on disk) through the real hub,
 * its callback handler served on loopback, and a fake qyapi: a confirm becomes a button card,
 * an encrypted click places exactly one order and the cards are updated once each.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ChatHub } from '../../src/chat/hub.ts';
import { WecomCrypto } from '../../src/chat/wecom/crypto.ts';
import {
  createWecomChannel,
  type WecomChannelOptions,
  type WecomChannelParts,
} from '../../src/chat/wecomChannel.ts';
import type { Config } from '../../src/config.ts';
import { parseExchangeTime } from '../../src/domain/time.ts';
import { sealChartPng } from '../../src/engine/chart.ts';
import type { GuardEvent } from '../../src/engine/events.ts';
import { startFakeQyapi, type FakeQyapi } from '../helpers/fakeQyapi.ts';
import { sealedRun } from '../helpers/snapshots.ts';
import { harness, silent, type Harness } from '../engine/harness.ts';
import type { PaperBroker } from '../../src/broker/paper.ts';
import type { SellRequest } from '../../src/broker/broker.ts';

const TOKEN = 'QDG6eK';
const AES_KEY = 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C';
const CORP = 'wx5823bf96d3bd56c7';
const AGENT = 1000002;
const SECRET = 'app-secret';
const USERS = ['ZhangSan', 'LiSi'];

const DRAIN = sealedRun(
  '10:00:00',
  3,
  [100_000_000, 100_000_000, 60_000_000, 40_000_000, 25_000_000, 15_000_000],
);

function config(over: Partial<Config> = {}, callback = true): Config {
  return {
    wecom: {
      corpId: CORP,
      agentId: AGENT,
      secret: SECRET,
      allowedUsers: USERS,
      apiRoot: qy.url,
      ...(callback ? { callback: { token: TOKEN, aesKey: AES_KEY } } : {}),
    },
    wecomApiRoot: qy.url,
    ...over,
  } as Config;
}

let qy: FakeQyapi;
let h: Harness;
let hub: ChatHub | undefined;
let server: Server | undefined;
let base = '';
let nonce = 0;
const sealer = new WecomCrypto(TOKEN, AES_KEY, CORP);

beforeEach(async () => {
  qy = await startFakeQyapi({ corpId: CORP, secret: SECRET });
  h = await harness({ mode: 'confirm' });
});
afterEach(async () => {
  await hub?.stop();
  hub = undefined;
  if (server) await new Promise((r) => server!.close(r));
  server = undefined;
  await h.stop();
  await qy.close();
});

const content = (body: Record<string, unknown>): string =>
  (body.text as { content?: string } | undefined)?.content ?? '';

async function wire(c: Config, o: WecomChannelOptions = {}): Promise<WecomChannelParts> {
  const parts = createWecomChannel(c, h.api, silent, o);
  hub = new ChatHub(h.api, [parts.channel], silent);
  await hub.start();
  if (parts.handle) {
    const handle = parts.handle;
    server = createServer((req, res) => {
      if (!handle(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/wecom/callback`;
  }
  return parts;
}

async function trigger(): Promise<string> {
  for (const s of DRAIN) await h.feed(s);
  const e = h.events.find((x) => x.type === 'SellTriggered');
  const id = e?.type === 'SellTriggered' ? e.actionId : undefined;
  expect(id).toBeTruthy();
  return id!;
}

function clickXml(from: string, taskId: string, key: string, createTime: number, rc: string): string {
  return (
    `<xml><ToUserName><![CDATA[${CORP}]]></ToUserName><FromUserName><![CDATA[${from}]]></FromUserName>` +
    `<CreateTime>${createTime}</CreateTime><MsgType><![CDATA[event]]></MsgType>` +
    `<Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[${key}]]></EventKey>` +
    `<TaskId><![CDATA[${taskId}]]></TaskId><CardType><![CDATA[button_interaction]]></CardType>` +
    `<ResponseCode><![CDATA[${rc}]]></ResponseCode><AgentID>${AGENT}</AgentID></xml>`
  );
}

/** Encrypted and signed the way WeCom does it, with real wall time and a fresh nonce. */
function seal(plain: string, crypto = sealer): { query: string; body: string } {
  const ts = String(Math.floor(Date.now() / 1000));
  const n = String(5_000_000 + ++nonce);
  const { encrypt, msgSignature } = crypto.seal(plain, ts, n);
  return {
    query: `?msg_signature=${msgSignature}&timestamp=${ts}&nonce=${n}`,
    body: `<xml><ToUserName><![CDATA[${CORP}]]></ToUserName><Encrypt><![CDATA[${encrypt}]]></Encrypt><AgentID><![CDATA[${AGENT}]]></AgentID></xml>`,
  };
}

async function post(d: { query: string; body: string }): Promise<number> {
  const res = await fetch(base + d.query, { method: 'POST', body: d.body });
  await res.text();
  return res.status;
}

/** The response_code message/send gave each user's card (the fake numbers them by msgid). */
function cardCodes(): Record<string, string> {
  const cards = qy.sent.filter((s) => s.body.msgtype === 'template_card');
  return Object.fromEntries(cards.map((c) => [c.body.touser as string, `rc-send-${qy.sent.indexOf(c) + 1}`]));
}

/** The task_id of the card that went to `user`. */
function taskOf(user: string): string {
  const card = qy.sent.find((s) => s.body.msgtype === 'template_card' && s.body.touser === user)!;
  return (card.body.template_card as { task_id: string }).task_id;
}

/** Lets the detached click handling (and the hub's deliveries) finish. */
async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 100));
  await h.bus.idle();
}

describe('WeCom channel with the app and callbacks', () => {
  it('a confirm trigger sends a button card to each allowed user, each with its own task_id', async () => {
    await wire(config());
    const id = await trigger();
    const cards = qy.sent.filter((s) => s.body.msgtype === 'template_card');
    expect(cards.map((c) => c.body.touser)).toEqual(USERS);
    // task_id is unique per app (the fake refuses a repeat with 42014, as WeCom does).
    expect(cards.map((c) => (c.body.template_card as { task_id: string }).task_id)).toEqual([
      `${id}@0`,
      `${id}@1`,
    ]);
    expect(qy.refusals).toEqual([]);
    const card = cards[0]!.body.template_card as Record<string, unknown>;
    expect(card).toMatchObject({ card_type: 'button_interaction', task_id: `${id}@0` });
    expect((card.button_list as { key: string }[]).map((b) => b.key)).toEqual(['sell', 'hold']);
    expect(card.main_title).toMatchObject({ title: '卖出确认 中国海诚 002116.SZ' });
    const fields = card.horizontal_content_list as { keyname: string; value: string }[];
    expect(fields.find((f) => f.keyname === '卖出')?.value).toBe('10000股 @ 10.00');
    expect(fields.find((f) => f.keyname === '超时默认')?.value).toBe('持有 HOLD');
    expect(card.sub_title_text).toContain(`/confirm ${id}`);
    // The card ref is stored with the action so the hub can settle it later.
    const codes = cardCodes();
    expect(Object.keys(codes)).toEqual(USERS);
    expect(JSON.parse(h.api.action(id)!.messages.wecom!)).toEqual(codes);
    expect(await h.paper.todayOrders()).toHaveLength(0);
  });

  it('forged and unauthorized taps do nothing; an allowed click sells once; its redelivery does nothing', async () => {
    await wire(config());
    const id = await trigger();
    const click = clickXml(
      'ZhangSan',
      taskOf('ZhangSan'),
      'sell',
      Math.floor(Date.now() / 1000),
      'RC-click-1',
    );

    // A forged signature: 4xx, nothing decrypted, nothing sold, no card touched.
    const forged = seal(click, new WecomCrypto('WrongToken', AES_KEY, CORP));
    expect(await post(forged)).toBe(401);
    // A user not in WECOM_ALLOWED_USERS with a valid signature (e.g. a colleague in the corp).
    expect(await post(seal(clickXml('WangWu', id, 'sell', 1, 'RC-x')))).toBe(200);
    await settle();
    expect(await h.paper.todayOrders()).toHaveLength(0);
    expect(h.api.action(id)!.status).toBe('pending');
    expect(qy.updates).toHaveLength(0);

    // The allowed click.
    const first = seal(click);
    expect(await post(first)).toBe(200);
    await vi.waitFor(() => expect(qy.updates.length).toBe(2), { timeout: 5000 });
    await settle();
    const orders = await h.paper.todayOrders();
    expect(orders).toHaveLength(1);
    expect(orders[0]).toMatchObject({ symbol: '002116.SZ', quantity: 10_000, limitPrice: '10.00' });
    expect(h.api.action(id)).toMatchObject({ status: 'sold', resolvedBy: 'wecom:ZhangSan' });
    // The clicker's card with the click's ResponseCode; the other user's with its send code; once each.
    const byCode = Object.fromEntries(qy.updates.map((u) => [u.body.response_code, u.body]));
    expect(byCode['RC-click-1']).toMatchObject({
      userids: ['ZhangSan'],
      agentid: AGENT,
      button: { replace_name: '已下单 Sell placed' },
    });
    const codes = cardCodes();
    expect(byCode[codes.LiSi!]).toMatchObject({ userids: ['LiSi'] });
    expect(byCode[codes.ZhangSan!]).toBeUndefined();

    // WeCom's redelivery (fresh nonce, same event) and a verbatim replay place nothing more.
    expect(await post(seal(click))).toBe(200);
    expect(await post(first)).toBe(403);
    await settle();
    expect(await h.paper.todayOrders()).toHaveLength(1);
    expect(qy.updates).toHaveLength(2);
    // One access token served every send and update.
    expect(qy.gettokenCalls).toBe(1);
  });

  it('two users: a click on the second card sells once, both cards are updated, a late click on the first sells nothing', async () => {
    await wire(config());
    const id = await trigger();
    const now = () => Math.floor(Date.now() / 1000);
    expect(await post(seal(clickXml('LiSi', taskOf('LiSi'), 'sell', now(), 'RC-lisi')))).toBe(200);
    await vi.waitFor(() => expect(qy.updates.length).toBe(2), { timeout: 5000 });
    await settle();
    expect(await h.paper.todayOrders()).toHaveLength(1);
    expect(h.api.action(id)).toMatchObject({ status: 'sold', resolvedBy: 'wecom:LiSi' });
    const byUser = Object.fromEntries(qy.updates.map((u) => [(u.body.userids as string[])[0], u.body]));
    // LiSi's card through the click's ResponseCode, ZhangSan's through its send code; same outcome.
    expect(byUser.LiSi).toMatchObject({
      response_code: 'RC-lisi',
      button: { replace_name: '已下单 Sell placed' },
    });
    expect(byUser.ZhangSan).toMatchObject({
      response_code: cardCodes().ZhangSan,
      button: { replace_name: '已下单 Sell placed' },
    });

    // ZhangSan taps his (already greyed) card late, e.g. from a device that had not refreshed.
    expect(await post(seal(clickXml('ZhangSan', taskOf('ZhangSan'), 'sell', now(), 'RC-zs')))).toBe(200);
    await vi.waitFor(() => expect(qy.updates.some((u) => u.body.response_code === 'RC-zs')).toBe(true));
    await settle();
    expect(await h.paper.todayOrders()).toHaveLength(1);
    expect(qy.updates.find((u) => u.body.response_code === 'RC-zs')!.body).toMatchObject({
      userids: ['ZhangSan'],
      button: { replace_name: '已下单 Sell placed' },
    });
    // Every response code was used at most once.
    const codes = qy.updates.map((u) => u.body.response_code);
    expect(new Set(codes).size).toBe(codes.length);
    expect(qy.refusals).toEqual([]);
  });

  it('two taps at once while the broker is slow: one order, and neither card is left on "Selling"', async () => {
    // The paper broker behind a gate: the order is only placed when the test opens it (a slow
    // gateway), so the second tap arrives while the first one's sell is executing.
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    await h.stop();
    h = await harness({
      mode: 'confirm',
      wrap: (p) =>
        Object.assign(Object.create(p) as PaperBroker, {
          name: 'paper',
          placeSell: async (req: SellRequest) => {
            await gate;
            return p.placeSell(req);
          },
        }),
    });
    await wire(config());
    const id = await trigger();
    const now = () => Math.floor(Date.now() / 1000);
    expect(await post(seal(clickXml('LiSi', taskOf('LiSi'), 'sell', now(), 'RC-lisi')))).toBe(200);
    await vi.waitFor(() => expect(h.api.action(id)!.status).toBe('executing'));
    expect(await post(seal(clickXml('ZhangSan', taskOf('ZhangSan'), 'sell', now(), 'RC-zs')))).toBe(200);
    // ZhangSan is told why his tap did nothing.
    await vi.waitFor(() =>
      expect(
        qy.sent.some(
          (x) => x.body.touser === 'ZhangSan' && content(x.body).includes('Already being handled'),
        ),
      ).toBe(true),
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(qy.updates).toHaveLength(0);
    open();
    await vi.waitFor(() => expect(qy.updates).toHaveLength(2), { timeout: 5000 });
    await settle();
    expect(await h.paper.todayOrders()).toHaveLength(1);
    expect(
      Object.fromEntries(
        qy.updates.map((u) => [
          u.body.response_code,
          (u.body.button as { replace_name: string }).replace_name,
        ]),
      ),
    ).toEqual({ 'RC-lisi': '已下单 Sell placed', 'RC-zs': '已下单 Sell placed' });
  });

  it('hold from the card places nothing and says so on the card', async () => {
    await wire(config());
    const id = await trigger();
    await post(seal(clickXml('lisi', taskOf('LiSi'), 'hold', Math.floor(Date.now() / 1000), 'RC-hold')));
    await vi.waitFor(() => expect(qy.updates.some((u) => u.body.response_code === 'RC-hold')).toBe(true));
    await settle();
    expect(await h.paper.todayOrders()).toHaveLength(0);
    expect(h.api.action(id)!.status).toBe('held');
    expect(qy.updates.find((u) => u.body.response_code === 'RC-hold')!.body).toMatchObject({
      userids: ['lisi'],
      button: { replace_name: '已持有 Held' },
    });
  });

  it('text from an allowed user runs as a command and the answer comes back as app text', async () => {
    await wire(config());
    const xml =
      `<xml><ToUserName><![CDATA[${CORP}]]></ToUserName><FromUserName><![CDATA[ZhangSan]]></FromUserName>` +
      `<CreateTime>${Math.floor(Date.now() / 1000)}</CreateTime><MsgType><![CDATA[text]]></MsgType>` +
      `<Content><![CDATA[/list]]></Content><MsgId>9001</MsgId><AgentID>${AGENT}</AgentID></xml>`;
    expect(await post(seal(xml))).toBe(200);
    await vi.waitFor(() =>
      expect(qy.sent.some((s) => s.body.touser === 'ZhangSan' && s.body.msgtype === 'text')).toBe(true),
    );
    const text = qy.sent.find((s) => s.body.touser === 'ZhangSan')!.body.text as { content: string };
    expect(text.content).toContain('002116.SZ');
  });

  it('the inbound double-checks the allow-list: a tap from a stranger places nothing', async () => {
    const parts = await wire(config());
    const id = await trigger();
    expect(await parts.inbound!.onButton('Mallory', id, 'sell')).toMatch(/Not allowed/);
    expect(await parts.inbound!.onText('Mallory', '/pause')).toBe('');
    expect(await h.paper.todayOrders()).toHaveLength(0);
    expect(h.api.paused).toBe(false);
  });

  it('a lapsed confirm greys out every card with the outcome, each send code used once', async () => {
    await wire(config());
    const id = await trigger();
    h.clock.set(h.api.action(id)!.deadline + 1000);
    await h.guard.tick();
    await h.guard.tick();
    await settle();
    expect(h.api.action(id)!.status).toBe('expired');
    expect(
      qy.updates.map((u) => [u.body.response_code, (u.body.button as { replace_name: string }).replace_name]),
    ).toEqual([
      [cardCodes().ZhangSan, '超时·持有 Timed out, held'],
      [cardCodes().LiSi, '超时·持有 Timed out, held'],
    ]);
  });
});

describe('WeCom channel without buttons', () => {
  it('robot only: the confirm goes to the group as text with the typed /confirm fallback, no card', async () => {
    const parts = await wire({ wecomWebhookKey: '00000000-robot-key', wecomApiRoot: qy.url } as Config);
    expect(parts.handle).toBeUndefined();
    expect(parts.channel.interactive).toBe(false);
    const id = await trigger();
    await vi.waitFor(() =>
      expect(qy.webhook.some((w) => content(w.body).includes(`/confirm ${id}`))).toBe(true),
    );
    const alert = qy.webhook.find((w) => content(w.body).includes(`/confirm ${id}`))!;
    expect(alert.body.msgtype).toBe('text');
    expect(content(alert.body)).not.toContain('Tap a button');
    expect(content(alert.body)).toContain(`/hold ${id}`);
    expect(qy.sent).toHaveLength(0);
    expect(qy.gettokenCalls).toBe(0);
    expect(h.api.action(id)!.messages).toEqual({});
  });

  it('app without callbacks: the confirm is text with /confirm <id>, since taps could not come back', async () => {
    const parts = await wire(config({}, false));
    expect(parts.handle).toBeUndefined();
    const id = await trigger();
    expect(qy.sent.some((s) => s.body.msgtype === 'template_card')).toBe(false);
    const texts = qy.sent.map((s) => (s.body.text as { content?: string } | undefined)?.content ?? '');
    expect(texts.some((t) => t.includes(`/confirm ${id}`) && !t.includes('Tap a button'))).toBe(true);
    expect(qy.sent.filter((s) => s.body.touser === 'ZhangSan').length).toBeGreaterThan(0);
  });

  it('app and robot: the group robot gets the alert text as well', async () => {
    await wire(config({ wecomWebhookKey: '00000000-robot-key' }));
    const id = await trigger();
    await vi.waitFor(() => expect(qy.webhook.length).toBeGreaterThan(0));
    await vi.waitFor(() =>
      expect(qy.webhook.some((w) => content(w.body).includes(`/confirm ${id}`))).toBe(true),
    );
    expect(qy.sent.filter((s) => s.body.msgtype === 'template_card')).toHaveLength(2);
  });
});

describe('WeCom charts and health', () => {
  /** A chart as DaySummaries.charts writes it (real sealChartPng, a file under DATA_DIR/charts). */
  function chartFile(): { file: string; png: Buffer } {
    const png = sealChartPng({
      title: '002116.SZ  2026-11-23  seal',
      points: [
        { ts: parseExchangeTime('2026-11-23T10:00:00+08:00'), seal: 100_000_000 },
        { ts: parseExchangeTime('2026-11-23T10:30:00+08:00'), seal: 40_000_000 },
        { ts: parseExchangeTime('2026-11-23T11:00:00+08:00'), seal: 15_000_000 },
      ],
      threshold: 20_000_000,
    });
    const dir = join(h.dir, 'charts', '2026-11-23');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, '002116.SZ.png');
    writeFileSync(file, png);
    return { file, png };
  }

  function summary(file: string): GuardEvent {
    return {
      type: 'DailySummary',
      at: h.clock.now(),
      kind: 'summary',
      date: '2026-11-23',
      title: '📊 收盘总结 2026-11-23',
      text: '中国海诚 002116.SZ sealed 10:00, sold 10000 @ 10.00',
      charts: [{ symbol: '002116.SZ', name: '中国海诚', file }],
    };
  }

  it('a daily summary with a chart: one media/upload, an image message to each app user, the robot an image', async () => {
    await wire(config({ wecomWebhookKey: '00000000-robot-key' }));
    const { file, png } = chartFile();
    h.bus.publish(summary(file));
    await vi.waitFor(() => expect(qy.sent.filter((s) => s.body.msgtype === 'image')).toHaveLength(2), {
      timeout: 5000,
    });
    await vi.waitFor(() => expect(qy.webhook.some((w) => w.body.msgtype === 'image')).toBe(true));
    expect(qy.uploads.size).toBe(1);
    const [upload] = [...qy.uploads.values()];
    expect(upload!.type).toBe('image');
    expect(upload!.bytes.equals(png)).toBe(true);
    const images = qy.sent.filter((s) => s.body.msgtype === 'image');
    expect(images.map((i) => [i.body.touser, (i.body.image as { media_id: string }).media_id])).toEqual(
      USERS.map((u) => [u, upload!.mediaId]),
    );
    // The summary text came first, then the picture, for each user.
    for (const u of USERS) {
      const mine = qy.sent.filter((s) => s.body.touser === u);
      expect(mine.findIndex((s) => content(s.body).includes('收盘总结'))).toBeLessThan(
        mine.findIndex((s) => s.body.msgtype === 'image'),
      );
    }
    const robotImage = qy.webhook.find((w) => w.body.msgtype === 'image')!.body.image as {
      base64: string;
      md5: string;
    };
    expect(Buffer.from(robotImage.base64, 'base64').equals(png)).toBe(true);
    expect(robotImage.md5).toBe(createHash('md5').update(png).digest('hex'));
    expect(qy.refusals).toEqual([]);
  });

  it('a refused send goes on the HealthBoard as wecom trouble and counts the undelivered message', async () => {
    await wire(config());
    qy.script.set('/cgi-bin/message/send', [60020]);
    h.bus.publish({ type: 'Info', at: h.clock.now(), text: 'hello' });
    await vi.waitFor(() => expect(h.api.health.counter('undelivered wecom')).toBe(1));
    const item = h.api.health.snapshot().items.find((i) => i.key === 'wecom:send:zhangsan')!;
    expect(item).toMatchObject({ component: 'wecom', level: 'error' });
    expect(item.text).toContain('企业可信IP');
    expect(item.text).not.toContain(SECRET);
    // The next message to that user goes through and clears it.
    h.bus.publish({ type: 'Info', at: h.clock.now(), text: 'again' });
    await vi.waitFor(() => expect(h.api.health.has('wecom:send:zhangsan')).toBe(false));
  });

  it('a wrong secret: start() returns at once, the token trouble is on the board, nothing is thrown', async () => {
    const started = Date.now();
    const c = config();
    c.wecom!.secret = 'not-the-secret';
    await wire(c);
    expect(Date.now() - started).toBeLessThan(1000);
    await vi.waitFor(() => expect(h.api.health.has('wecom:token')).toBe(true));
    const item = h.api.health.get('wecom:token')!;
    expect(item).toMatchObject({ component: 'wecom', level: 'error' });
    expect(item.text).toContain('40001');
    expect(item.text).toContain('WECOM_SECRET');
    expect(item.text).not.toContain('not-the-secret');
  });

  it('a DATA_DIR where the replay journal cannot live: the channel still starts, and says so', async () => {
    const notADir = join(h.dir, 'plain-file');
    writeFileSync(notADir, 'x');
    await wire(config(), { dataDir: notADir });
    expect(h.api.health.get('wecom:replay')).toMatchObject({ component: 'wecom', level: 'warn' });
    // Callbacks still work, with the in-process memory.
    const xml =
      `<xml><ToUserName><![CDATA[${CORP}]]></ToUserName><FromUserName><![CDATA[ZhangSan]]></FromUserName>` +
      `<CreateTime>${Math.floor(Date.now() / 1000)}</CreateTime><MsgType><![CDATA[text]]></MsgType>` +
      `<Content><![CDATA[/list]]></Content><MsgId>9501</MsgId><AgentID>${AGENT}</AgentID></xml>`;
    const d = seal(xml);
    expect(await post(d)).toBe(200);
    expect(await post(d)).toBe(403);
  });

  it('a host clock 400 s off WeCom is reported: callbacks would all be refused', async () => {
    qy.dateOffsetMs = -400_000;
    await wire(config());
    await vi.waitFor(() => expect(h.api.health.has('wecom:clock')).toBe(true));
    // WeCom's Date header has whole seconds (RFC 9110 §5.6.7), so the estimate of a 400 s offset
    // lands anywhere in 399-401 s depending on where in its second the answer was stamped.
    expect(h.api.health.get('wecom:clock')!.text).toMatch(/clock is (399|40\d) s ahead of WeCom's/);
  });
});
