/**
 * Issue 6 end to end, through the spawned product: `sealguard start` configured by env only, quotes
 * from a scripted Tencent market, orders to a fake BRIDGE-PROTOCOL bridge, WeCom at a fake qyapi.
 * The seal drains, the confirm card arrives, an encrypted click POSTed to the process's own
 * /wecom/callback places exactly one order at the limit-up price, its redelivery none, and
 * SIGTERM ends the process with 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WecomCrypto } from '../../src/chat/wecom/crypto.ts';
import { parseExchangeTime } from '../../src/domain/time.ts';
import { startFakeBridge, type FakeBridge } from '../broker/fakeBridge.ts';
import { startFakeQyapi, type FakeQyapi } from '../helpers/fakeQyapi.ts';
import { sealedBook, startTencentMarket, type TencentMarket } from '../helpers/tencentMarket.ts';

const BIN = fileURLToPath(new URL('../../bin/sealguard.js', import.meta.url));
const TOKEN = 'QDG6eK';
const AES_KEY = 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C';
const CORP = 'wx5823bf96d3bd56c7';
const AGENT = 1000002;
const SECRET = 'app-secret-e2e';
const USER = 'ZhangSan';
const CLOCK = '2026-11-23T10:00:00+08:00';

let qy: FakeQyapi;
let bridge: FakeBridge;
let market: TencentMarket;
let child: ChildProcess | undefined;
let stderr = '';
let ticker: NodeJS.Timeout | undefined;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

beforeAll(async () => {
  [qy, bridge, market] = await Promise.all([
    startFakeQyapi({ corpId: CORP, secret: SECRET }),
    startFakeBridge(),
    startTencentMarket(),
  ]);
});
afterAll(async () => {
  clearInterval(ticker);
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await Promise.all([qy.close(), bridge.close(), market.close()]);
});

describe('WeCom end to end through the spawned process', () => {
  it('card on a drained seal, one order per encrypted click, none on redelivery, SIGTERM exits 0', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'sg-wecom-e2e-'));
    // 中国海诚 prevClose 9.09: limit-up 10.00; 100,000 lots = 1亿, 15,000 lots = 1500万.
    let lots = 100_000;
    let spawnedAt = Date.now();
    // The process's market clock is SEALGUARD_CLOCK + real time elapsed; the book tracks it.
    const setBook = () => {
      market.set(sealedBook(parseExchangeTime(CLOCK) + (Date.now() - spawnedAt), lots));
    };
    setBook();
    ticker = setInterval(setBook, 100);

    spawnedAt = Date.now();
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TZ: process.env.TZ,
      WECOM_CORP_ID: CORP,
      WECOM_AGENT_ID: String(AGENT),
      WECOM_SECRET: SECRET,
      WECOM_TOKEN: TOKEN,
      WECOM_AES_KEY: AES_KEY,
      WECOM_ALLOWED_USERS: USER,
      WECOM_API_ROOT: qy.url,
      HTTP_PORT: String(port),
      TENCENT_QUOTE_URL: market.url,
      QUOTE_SOURCES: 'tencent',
      POLL_INTERVAL_MS: '200',
      SEALGUARD_CLOCK: CLOCK,
      DATA_DIR: join(dir, 'data'),
      DEFAULT_MODE: 'confirm',
      BROKER: 'bridge',
      BROKER_URL: bridge.url,
      BROKER_TOKEN: bridge.token,
      LOG_LEVEL: 'warn',
    };
    const proc = spawn(process.execPath, [BIN, 'start'], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    const wait = { timeout: 10_000, interval: 50 };
    const texts = () => qy.sent.map((s) => (s.body.text as { content?: string } | undefined)?.content ?? '');

    // The guard has seen the seal (SealFormed reaches the app as text), then the seal drains.
    await vi.waitFor(() => expect(texts().some((t) => t.includes('sealed at limit-up'))).toBe(true), wait);
    lots = 15_000;
    setBook();
    await vi.waitFor(() => expect(qy.sent.some((s) => s.body.msgtype === 'template_card')).toBe(true), wait);
    const card = qy.sent.find((s) => s.body.msgtype === 'template_card')!;
    expect(card.body.touser).toBe(USER);
    const taskId = (card.body.template_card as { task_id: string }).task_id;
    expect(bridge.log.filter((l) => l.method === 'POST' && l.path === '/v1/orders')).toHaveLength(0);

    // WeCom's delivery of the tap, encrypted and signed with real wall time.
    const sealer = new WecomCrypto(TOKEN, AES_KEY, CORP);
    let nonce = 7_000_000;
    const click =
      `<xml><ToUserName><![CDATA[${CORP}]]></ToUserName><FromUserName><![CDATA[${USER}]]></FromUserName>` +
      `<CreateTime>${Math.floor(Date.now() / 1000)}</CreateTime><MsgType><![CDATA[event]]></MsgType>` +
      `<Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[sell]]></EventKey>` +
      `<TaskId><![CDATA[${taskId}]]></TaskId><CardType><![CDATA[button_interaction]]></CardType>` +
      `<ResponseCode><![CDATA[RC-e2e-click]]></ResponseCode><AgentID>${AGENT}</AgentID></xml>`;
    const signed = (crypto = sealer): { url: string; body: string } => {
      const ts = String(Math.floor(Date.now() / 1000));
      const n = String(++nonce);
      const { encrypt, msgSignature } = crypto.seal(click, ts, n);
      return {
        url: `http://127.0.0.1:${port}/wecom/callback?msg_signature=${msgSignature}&timestamp=${ts}&nonce=${n}`,
        body: `<xml><ToUserName><![CDATA[${CORP}]]></ToUserName><Encrypt><![CDATA[${encrypt}]]></Encrypt><AgentID><![CDATA[${AGENT}]]></AgentID></xml>`,
      };
    };
    const send = async (r: { url: string; body: string }): Promise<number> => {
      const res = await fetch(r.url, { method: 'POST', body: r.body });
      await res.text();
      return res.status;
    };
    const post = (crypto = sealer): Promise<number> => send(signed(crypto));
    const orderPosts = () => bridge.log.filter((l) => l.method === 'POST' && l.path === '/v1/orders');

    // A forged signature is refused and sells nothing.
    expect(await post(new WecomCrypto('Forged0', AES_KEY, CORP))).toBe(401);
    // Captured on the way (what an eavesdropper on the callback URL would hold).
    const captured = signed();
    expect(await send(captured)).toBe(200);
    await vi.waitFor(() => expect(orderPosts()).toHaveLength(1), wait);
    expect(orderPosts()[0]!.body).toMatchObject({
      symbol: '002116.SZ',
      side: 'sell',
      quantity: 10_000,
      limit_price: '10.00',
    });
    await vi.waitFor(
      () => expect(qy.updates.some((u) => u.body.response_code === 'RC-e2e-click')).toBe(true),
      wait,
    );
    expect(qy.updates.find((u) => u.body.response_code === 'RC-e2e-click')!.body).toMatchObject({
      userids: [USER],
      agentid: AGENT,
    });

    // WeCom redelivers the same event with a fresh nonce: acknowledged, nothing more placed.
    expect(await post()).toBe(200);
    await new Promise((r) => setTimeout(r, 800));
    expect(orderPosts()).toHaveLength(1);
    expect(qy.gettokenCalls).toBe(1);

    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).not.toContain(SECRET);

    // Issue 16 item 8: the process restarts on the same DATA_DIR and the captured request is
    // replayed well inside WeCom's ±300 s window: refused, nothing placed.
    const again = spawn(process.execPath, [BIN, 'start'], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = again;
    again.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const exitedAgain = new Promise<number | null>((r) => again.once('exit', (code) => r(code)));
    await vi.waitFor(async () => {
      const res = await fetch(`http://127.0.0.1:${port}/wecom/callback`);
      expect(res.status).toBe(400); // listening (a GET without a signature)
    }, wait);
    expect(await send(captured)).toBe(403);
    await new Promise((r) => setTimeout(r, 500));
    expect(orderPosts()).toHaveLength(1);
    again.kill('SIGTERM');
    expect(await exitedAgain).toBe(0);
  }, 30_000);
});
