import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WecomApp } from '../../src/chat/wecom/app.ts';
import { WecomCallbackServer } from '../../src/chat/wecom/callbackServer.ts';
import { WecomCrypto, signature } from '../../src/chat/wecom/crypto.ts';
import type { WecomInbound } from '../../src/chat/wecom/inbound.ts';
import { fixtureText } from '../helpers/fixtures.ts';
import { startFakeQyapi, type FakeQyapi } from '../helpers/fakeQyapi.ts';

interface Vector {
  token: string;
  encodingAESKey: string;
  receiveId: string;
  timestamp: string;
  nonce: string;
  msgSignature: string;
  encrypt: string;
  expected: { plaintext: string };
}
const [A1, A2] = JSON.parse(fixtureText('wecom-crypto-vectors.json')) as Vector[];
const TOKEN = A1!.token;
const KEY = A1!.encodingAESKey;
const CORP = A1!.receiveId;
const AGENT = 1000002;
const SECRET = 'app-secret';

/** A small real implementation of the command layer: pending actions that each sell at most once. */
class Desk implements WecomInbound {
  orders: string[] = [];
  texts: [string, string][] = [];
  clicks: [string, string, string][] = [];
  pending = new Map<string, 'pending' | 'sold' | 'held'>([
    ['act-1', 'pending'],
    ['act-2', 'pending'],
  ]);
  gate: Promise<void> = Promise.resolve();

  async onText(userId: string, text: string): Promise<string> {
    this.texts.push([userId, text]);
    return text === '/status' ? `watching ${this.pending.size}` : `unknown command: ${text}`;
  }

  async onButton(userId: string, taskId: string, key: string): Promise<string> {
    this.clicks.push([userId, taskId, key]);
    const state = this.pending.get(taskId);
    if (state !== 'pending') return '已处理 Done';
    await this.gate; // the broker call
    if (key === 'sell') {
      this.orders.push(taskId);
      this.pending.set(taskId, 'sold');
      return '已卖出 Sold';
    }
    this.pending.set(taskId, 'held');
    return '已持有 Held';
  }
}

let api: FakeQyapi;
let desk: Desk;
let server: Server;
let base: string;
let callback: WecomCallbackServer;
let now: number;
let logLines: string[];
let nonceSeq = 0;
const sealer = new WecomCrypto(TOKEN, KEY, CORP);

beforeEach(async () => {
  api = await startFakeQyapi({ corpId: CORP, secret: SECRET });
  desk = new Desk();
  now = Date.UTC(2026, 0, 5, 6, 32, 5);
  logLines = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void logLines.push(s) });
  const app = new WecomApp({ corpId: CORP, agentId: AGENT, secret: SECRET, logger, apiRoot: api.url });
  callback = new WecomCallbackServer({
    token: TOKEN,
    encodingAESKey: KEY,
    corpId: CORP,
    agentId: AGENT,
    allowedUsers: ['ZhangSan', 'ChenJiaShun'],
    app,
    inbound: desk,
    logger,
    wallNow: () => now,
  });
  server = await callback.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/wecom/callback`;
});
afterEach(async () => {
  await new Promise((r) => server.close(r));
  await api.close();
});

function clickXml(
  from: string,
  taskId: string,
  key: string,
  createTime: number,
  responseCode: string,
): string {
  return (
    `<xml><ToUserName><![CDATA[${CORP}]]></ToUserName><FromUserName><![CDATA[${from}]]></FromUserName>` +
    `<CreateTime>${createTime}</CreateTime><MsgType><![CDATA[event]]></MsgType>` +
    `<Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[${key}]]></EventKey>` +
    `<TaskId><![CDATA[${taskId}]]></TaskId><CardType><![CDATA[button_interaction]]></CardType>` +
    `<ResponseCode><![CDATA[${responseCode}]]></ResponseCode><AgentID>${AGENT}</AgentID></xml>`
  );
}

function textXml(from: string, content: string, msgId: string): string {
  return (
    `<xml><ToUserName><![CDATA[${CORP}]]></ToUserName><FromUserName><![CDATA[${from}]]></FromUserName>` +
    `<CreateTime>${Math.floor(now / 1000)}</CreateTime><MsgType><![CDATA[text]]></MsgType>` +
    `<Content><![CDATA[${content}]]></Content><MsgId>${msgId}</MsgId><AgentID>${AGENT}</AgentID></xml>`
  );
}

interface Delivery {
  query: string;
  body: string;
}

/** Encrypts and signs plaintext the way WeCom does, with a fresh nonce. */
function deliver(plaintext: string, opts: { timestamp?: number; crypto?: WecomCrypto } = {}): Delivery {
  const ts = String(opts.timestamp ?? Math.floor(now / 1000));
  const nonce = String(1_000_000 + ++nonceSeq);
  const { encrypt, msgSignature } = (opts.crypto ?? sealer).seal(plaintext, ts, nonce);
  return {
    query: `?msg_signature=${msgSignature}&timestamp=${ts}&nonce=${nonce}`,
    body: `<xml><ToUserName><![CDATA[${CORP}]]></ToUserName>\n<Encrypt><![CDATA[${encrypt}]]></Encrypt>\n<AgentID><![CDATA[${AGENT}]]></AgentID>\n</xml>`,
  };
}

async function post(d: Delivery): Promise<{ status: number; body: string }> {
  const res = await fetch(base + d.query, {
    method: 'POST',
    body: d.body,
    headers: { 'content-type': 'text/xml' },
  });
  return { status: res.status, body: await res.text() };
}

describe('WeCom callback URL verification (GET)', () => {
  it('echoes exactly the decrypted echostr of the official vector', async () => {
    now = Number(A1!.timestamp) * 1000 + 1000;
    const q = `msg_signature=${A1!.msgSignature}&timestamp=${A1!.timestamp}&nonce=${A1!.nonce}&echostr=${encodeURIComponent(A1!.encrypt)}`;
    const res = await fetch(`${base}?${q}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('1288432023552776189');
  });

  it('tolerates a raw "+" in echostr that a query decoder turns into a space', async () => {
    now = Number(A1!.timestamp) * 1000;
    expect(A1!.encrypt).toContain('+');
    const res = await fetch(
      `${base}?msg_signature=${A1!.msgSignature}&timestamp=${A1!.timestamp}&nonce=${A1!.nonce}&echostr=${A1!.encrypt}`,
    );
    expect(await res.text()).toBe('1288432023552776189');
  });

  it('refuses a forged signature with 401 and echoes nothing', async () => {
    now = Number(A1!.timestamp) * 1000;
    const forged = signature('not-the-token', A1!.timestamp, A1!.nonce, A1!.encrypt);
    const res = await fetch(
      `${base}?msg_signature=${forged}&timestamp=${A1!.timestamp}&nonce=${A1!.nonce}&echostr=${encodeURIComponent(A1!.encrypt)}`,
    );
    expect(res.status).toBe(401);
    expect(await res.text()).toBe('');
  });
});

describe('WeCom template card clicks (POST)', () => {
  it('an allowed user tapping Sell sells once and the card shows the result via the click ResponseCode', async () => {
    const res = await post(deliver(clickXml('ZhangSan', 'act-1', 'sell', 1767594725, 'RC-click-1')));
    expect(res).toEqual({ status: 200, body: '' });
    await callback.drain();
    expect(desk.clicks).toEqual([['ZhangSan', 'act-1', 'sell']]);
    expect(desk.orders).toEqual(['act-1']);
    expect(api.updates.map((u) => u.body)).toEqual([
      {
        userids: ['ZhangSan'],
        agentid: AGENT,
        response_code: 'RC-click-1',
        button: { replace_name: '已卖出 Sold' },
      },
    ]);
  });

  it('a click arriving once the guard is stopping is refused (503, so WeCom redelivers it to the next guard) and sells nothing', async () => {
    await callback.close();
    const res = await post(deliver(clickXml('ZhangSan', 'act-1', 'sell', 1767594725, 'RC-click-1')));
    expect(res.status).toBe(503);
    expect(desk.clicks).toEqual([]);
    expect(desk.orders).toEqual([]);
  });

  it('the same delivery repeated, verbatim or redelivered with a new nonce, does nothing more', async () => {
    const click = clickXml('ZhangSan', 'act-1', 'sell', 1767594725, 'RC-click-1');
    const first = deliver(click);
    await post(first);
    await callback.drain();
    expect((await post(first)).status).toBe(403); // replayed nonce
    now += 3000;
    expect((await post(deliver(click))).status).toBe(200); // WeCom's own retry: fresh nonce, same event
    await callback.drain();
    expect(desk.clicks.length).toBe(1);
    expect(desk.orders).toEqual(['act-1']);
    expect(api.updates.length).toBe(1);
  });

  it('answers at once while the sell is still running', async () => {
    let release!: () => void;
    desk.gate = new Promise((r) => (release = r));
    const res = await post(deliver(clickXml('zhangsan', 'act-2', 'hold', 1767594725, 'RC-2')));
    expect(res.status).toBe(200);
    await new Promise((r) => setTimeout(r, 20));
    expect(desk.clicks).toEqual([['zhangsan', 'act-2', 'hold']]);
    expect(api.updates.length).toBe(0);
    release();
    await callback.drain();
    expect(desk.orders).toEqual([]);
    expect(api.updates.map((u) => u.body.button)).toEqual([{ replace_name: '已持有 Held' }]);
  });

  it('a forged signature gets 401 and nothing happens', async () => {
    const d = deliver(clickXml('ZhangSan', 'act-1', 'sell', 1767594725, 'RC-1'));
    const forged = {
      ...d,
      query: d.query.replace(
        /msg_signature=([0-9a-f])/,
        (_, c: string) => `msg_signature=${c === '0' ? '1' : '0'}`,
      ),
    };
    expect((await post(forged)).status).toBe(401);
    await callback.drain();
    expect([desk.clicks.length, api.updates.length, api.sent.length, api.gettokenCalls]).toEqual([
      0, 0, 0, 0,
    ]);
  });

  it('a click from a user not in WECOM_ALLOWED_USERS does nothing (and is logged)', async () => {
    expect((await post(deliver(clickXml('mallory', 'act-1', 'sell', 1767594725, 'RC-1')))).status).toBe(200);
    await callback.drain();
    expect([desk.clicks.length, desk.orders.length, api.updates.length, api.sent.length]).toEqual([
      0, 0, 0, 0,
    ]);
    expect(logLines.some((l) => l.includes('not in WECOM_ALLOWED_USERS') && l.includes('mallory'))).toBe(
      true,
    );
  });

  it('a delivery older than 300 s on the real clock is refused', async () => {
    const ts = Math.floor(now / 1000) - 301;
    expect(
      (await post(deliver(clickXml('ZhangSan', 'act-1', 'sell', ts, 'RC-1'), { timestamp: ts }))).status,
    ).toBe(403);
    const edge = Math.floor(now / 1000) - 300;
    expect(
      (await post(deliver(clickXml('ZhangSan', 'act-2', 'sell', edge, 'RC-2'), { timestamp: edge }))).status,
    ).toBe(200);
    await callback.drain();
    expect(desk.clicks).toEqual([['ZhangSan', 'act-2', 'sell']]);
  });

  it('a validly signed message encrypted for another corp id is refused', async () => {
    const other = new WecomCrypto(TOKEN, KEY, 'wx5823bf96d3bd56c7');
    expect(
      (await post(deliver(clickXml('ZhangSan', 'act-1', 'sell', 1767594725, 'RC-1'), { crypto: other })))
        .status,
    ).toBe(400);
    await callback.drain();
    expect(desk.clicks.length).toBe(0);
  });

  it('refuses bodies that are too big, lack Encrypt, or carry a DTD', async () => {
    const d = deliver(textXml('ZhangSan', '/status', '1'));
    expect((await post({ ...d, body: 'x'.repeat(70_000) })).status).toBe(413);
    expect((await post(deliver(textXml('ZhangSan', '/status', '2')))).status).toBe(200);
    const e = deliver(textXml('ZhangSan', '/status', '3'));
    expect((await post({ ...e, body: '<xml><Nothing/></xml>' })).status).toBe(400);
    const f = deliver(textXml('ZhangSan', '/status', '4'));
    expect((await post({ ...f, body: '<!DOCTYPE x [<!ENTITY a "b">]>' + f.body })).status).toBe(400);
    await callback.drain();
    expect(desk.texts).toEqual([['ZhangSan', '/status']]);
  });
});

describe('WeCom text commands (POST)', () => {
  it('runs an allowed user text as a command and replies through the app', async () => {
    expect((await post(deliver(textXml('ZhangSan', '/status', '7001')))).status).toBe(200);
    await callback.drain();
    expect(desk.texts).toEqual([['ZhangSan', '/status']]);
    expect(api.sent.map((s) => s.body)).toEqual([
      { touser: 'ZhangSan', agentid: AGENT, msgtype: 'text', text: { content: 'watching 2' } },
    ]);
  });

  it('de-duplicates by MsgId', async () => {
    await post(deliver(textXml('ZhangSan', '/status', '7002')));
    await post(deliver(textXml('ZhangSan', '/status', '7002')));
    await callback.drain();
    expect(desk.texts.length).toBe(1);
  });

  it('answers a user not allowed with one polite refusal and runs nothing', async () => {
    await post(deliver(textXml('mallory', '/sell 600519', '7003')));
    await post(deliver(textXml('mallory', '/sell 600519', '7004')));
    await callback.drain();
    expect(desk.texts).toEqual([]);
    expect(api.sent.map((s) => [s.body.touser, (s.body.text as { content: string }).content])).toEqual([
      ['mallory', '抱歉，你没有使用 SealGuard 的权限。Sorry, you are not allowed to use SealGuard.'],
    ]);
  });

  it('accepts the official sample delivery (vector A2) from an allowed user', async () => {
    now = Number(A2!.timestamp) * 1000;
    const body = `<xml><ToUserName><![CDATA[${CORP}]]></ToUserName>\n<Encrypt><![CDATA[${A2!.encrypt}]]></Encrypt>\n<AgentID><![CDATA[1000002]]></AgentID>\n</xml>`;
    const res = await post({
      query: `?msg_signature=${A2!.msgSignature}&timestamp=${A2!.timestamp}&nonce=${A2!.nonce}`,
      body,
    });
    expect(res.status).toBe(200);
    await callback.drain();
    expect(desk.texts).toEqual([['ChenJiaShun', '你好']]);
  });
});

describe('replay memory across a restart (issue 16 item 8)', () => {
  /** A second callback server on the same journal: the process after a restart. */
  async function restarted(
    file: string,
  ): Promise<{ callback: WecomCallbackServer; url: string; server: Server }> {
    const logger = pino({ level: 'silent' });
    const app = new WecomApp({ corpId: CORP, agentId: AGENT, secret: SECRET, logger, apiRoot: api.url });
    const cb = new WecomCallbackServer({
      token: TOKEN,
      encodingAESKey: KEY,
      corpId: CORP,
      agentId: AGENT,
      allowedUsers: ['ZhangSan'],
      app,
      inbound: desk,
      logger,
      wallNow: () => now,
      replayFile: file,
    });
    const srv = await cb.listen(0, '127.0.0.1');
    return {
      callback: cb,
      server: srv,
      url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/wecom/callback`,
    };
  }
  const postTo = async (url: string, d: Delivery) =>
    (await fetch(url + d.query, { method: 'POST', body: d.body })).status;

  it('a captured /mode all auto replayed 84 s later after a restart is refused; its redelivery is not run twice', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sg-wecom-replay-')), 'wecom-replay.jsonl');
    const first = await restarted(file);
    const captured = deliver(textXml('ZhangSan', '/mode all auto', '9301'));
    expect(await postTo(first.url, captured)).toBe(200);
    await first.callback.close();
    await new Promise((r) => first.server.close(r));
    expect(desk.texts).toEqual([['ZhangSan', '/mode all auto']]);

    now += 84_000;
    const second = await restarted(file);
    expect(await postTo(second.url, captured)).toBe(403);
    // WeCom's own redelivery of the same message (fresh nonce, same MsgId) is acknowledged, not run.
    expect(await postTo(second.url, deliver(textXml('ZhangSan', '/mode all auto', '9301')))).toBe(200);
    // A new message still works.
    expect(await postTo(second.url, deliver(textXml('ZhangSan', '/status', '9302')))).toBe(200);
    await second.callback.close();
    await new Promise((r) => second.server.close(r));
    expect(desk.texts).toEqual([
      ['ZhangSan', '/mode all auto'],
      ['ZhangSan', '/status'],
    ]);
  });

  it('a torn last line and expired entries are dropped when the journal is opened', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sg-wecom-replay-')), 'wecom-replay.jsonl');
    const old = deliver(textXml('ZhangSan', '/status', '9401'));
    const live = deliver(textXml('ZhangSan', '/status', '9402'));
    const nonceOf = (d: Delivery) => new URLSearchParams(d.query.slice(1)).get('nonce')!;
    writeFileSync(
      file,
      JSON.stringify({ t: 'n', k: nonceOf(old), u: now - 1 }) +
        '\n' +
        JSON.stringify({ t: 'n', k: nonceOf(live), u: now + 600_000 }) +
        '\n{"t":"n","k":"12',
    );
    const cb = await restarted(file);
    expect(await postTo(cb.url, live)).toBe(403);
    expect(await postTo(cb.url, old)).toBe(200);
    await cb.callback.close();
    await new Promise((r) => cb.server.close(r));
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines.every((l) => JSON.parse(l) as unknown)).toBe(true);
    expect(lines.some((l) => l.includes(nonceOf(old)))).toBe(true); // accepted again, so remembered again
  });
});

describe('the envelope is parsed as XML, not searched', () => {
  it("a text quoting <MsgId>/<AgentID> in its CDATA keeps the envelope's own MsgId and AgentID", async () => {
    const sneaky = '/status</Content><MsgId>7005</MsgId><AgentID>1</AgentID><Content>';
    expect((await post(deliver(textXml('ZhangSan', sneaky, '8001')))).status).toBe(200);
    // A genuinely different message whose MsgId is the one quoted above: not a duplicate.
    expect((await post(deliver(textXml('ZhangSan', '/status', '7005')))).status).toBe(200);
    // And a real redelivery of the first (same MsgId 8001) is one.
    expect((await post(deliver(textXml('ZhangSan', sneaky, '8001')))).status).toBe(200);
    await callback.drain();
    expect(desk.texts).toEqual([
      ['ZhangSan', sneaky],
      ['ZhangSan', '/status'],
    ]);
  });

  it('a decrypted message carrying a DOCTYPE is refused and runs nothing', async () => {
    const bomb = '<!DOCTYPE xml [<!ENTITY a "/status">]>' + textXml('ZhangSan', '&a;', '8101');
    expect((await post(deliver(bomb))).status).toBe(400);
    await callback.drain();
    expect(desk.texts).toEqual([]);
  });
});

describe('sharing HTTP_PORT', () => {
  it('handle() claims only /wecom/callback and leaves other paths to other handlers', async () => {
    const shared = createServer((req, res) => {
      if (callback.handle(req, res)) return;
      res.end('other handler');
    });
    await new Promise<void>((r) => shared.listen(0, '127.0.0.1', r));
    const port = (shared.address() as AddressInfo).port;
    expect(await (await fetch(`http://127.0.0.1:${port}/health`)).text()).toBe('other handler');
    expect((await fetch(`http://127.0.0.1:${port}/wecom/callback`)).status).toBe(400);
    expect((await fetch(`http://127.0.0.1:${port}/wecom/callback`, { method: 'PUT' })).status).toBe(405);
    await new Promise((r) => shared.close(r));
  });
});
