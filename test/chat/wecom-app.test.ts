import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WecomApiError, WecomApp } from '../../src/chat/wecom/app.ts';
import { InputError } from '../../src/domain/types.ts';
import { startFakeQyapi, type FakeQyapi } from '../helpers/fakeQyapi.ts';

const CORP = 'ww-test-corp';
const SECRET = 'test-secret';

function captureLogger() {
  const lines: string[] = [];
  return { lines, logger: pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) }) };
}

let api: FakeQyapi;
let now: number;
let lines: string[];
let app: WecomApp;
beforeEach(async () => {
  api = await startFakeQyapi({ corpId: CORP, secret: SECRET, expiresIn: 7200 });
  now = Date.UTC(2026, 0, 5, 1, 30);
  const cap = captureLogger();
  lines = cap.lines;
  app = new WecomApp({
    corpId: CORP,
    agentId: 1000002,
    secret: SECRET,
    logger: cap.logger,
    apiRoot: api.url,
    clock: { now: () => now },
  });
});
afterEach(async () => {
  await api.close();
});

describe('WeCom app access token', () => {
  it('fetches one token for ten concurrent sends and reuses it for its lifetime', async () => {
    await Promise.all(Array.from({ length: 10 }, (_, i) => app.sendText('zhangsan', `m${i}`)));
    expect(api.gettokenCalls).toBe(1);
    expect(api.sent.map((r) => r.query.access_token)).toEqual(Array(10).fill('tok-1'));

    now += (7200 - 301) * 1000; // still inside the cached lifetime (expiry minus a 300 s margin)
    await app.sendText('zhangsan', 'later');
    expect(api.gettokenCalls).toBe(1);

    now += 2000; // past it: exactly one refresh, shared again by concurrent callers
    await Promise.all([app.sendText('zhangsan', 'a'), app.sendText('zhangsan', 'b')]);
    expect(api.gettokenCalls).toBe(2);
    expect(api.sent.at(-1)!.query.access_token).toBe('tok-2');
  });

  it('refreshes exactly once when WeCom says the token expired early (42001), then succeeds', async () => {
    await app.sendText('zhangsan', 'first');
    api.expireTokens();
    await Promise.all([
      app.sendText('zhangsan', 'x'),
      app.sendText('zhangsan', 'y'),
      app.sendText('zhangsan', 'z'),
    ]);
    expect(api.gettokenCalls).toBe(2);
    expect(api.sent.map((r) => [(r.body.text as { content: string }).content, r.query.access_token])).toEqual(
      [
        ['first', 'tok-1'],
        ['x', 'tok-2'],
        ['y', 'tok-2'],
        ['z', 'tok-2'],
      ],
    );
  });

  it('refetches on 40014 (invalid token) but retries only once', async () => {
    api.script.set('/cgi-bin/message/send', [40014, 40014]);
    await expect(app.sendText('zhangsan', 'x')).rejects.toMatchObject({ errcode: 40014 });
    expect(api.gettokenCalls).toBe(2);
    expect(api.sent.length).toBe(0);
  });

  it('turns 60020 into an actionable trusted-IP message', async () => {
    api.script.set('/cgi-bin/message/send', [60020]);
    const err = (await app.sendText('zhangsan', 'x').catch((e: unknown) => e)) as WecomApiError;
    expect(err).toBeInstanceOf(WecomApiError);
    expect(err.errcode).toBe(60020);
    expect(err.message).toContain(
      "add this server's egress IP to the app's trusted IPs in the WeCom admin console: 应用管理 → 企业可信IP",
    );
    expect(err.message).toContain('203.0.113.7');
    expect(lines.join('')).not.toContain(SECRET);
    expect(lines.join('')).not.toContain('tok-1');
  });

  it('reports a bad secret from gettoken without echoing it', async () => {
    const bad = new WecomApp({
      corpId: CORP,
      agentId: 1000002,
      secret: 'wrong-secret',
      logger: captureLogger().logger,
      apiRoot: api.url,
    });
    const err = (await bad.sendText('u', 'x').catch((e: unknown) => e)) as WecomApiError;
    expect(err.errcode).toBe(40001);
    expect(err.message).not.toContain('wrong-secret');
  });
});

describe('WeCom app messages', () => {
  it('sends text and markdown with the agent id', async () => {
    await app.sendText('zhangsan', '已卖出 600519');
    await app.sendMarkdown('zhangsan', '**封单** <font color="warning">1850万</font>');
    expect(api.sent.map((r) => r.body)).toEqual([
      { touser: 'zhangsan', agentid: 1000002, msgtype: 'text', text: { content: '已卖出 600519' } },
      {
        touser: 'zhangsan',
        agentid: 1000002,
        msgtype: 'markdown',
        markdown: { content: '**封单** <font color="warning">1850万</font>' },
      },
    ]);
  });

  it('sends the sell/hold button card with task_id = the pending action id and the evidence', async () => {
    const res = await app.sendSellCard('zhangsan', {
      taskId: 'act-Ab3dE9xQ',
      title: '卖出确认 600519 贵州茅台',
      desc: '封单 < 2000万',
      fields: [
        { label: '封单', value: '1850万' },
        { label: '峰值', value: '5200万' },
      ],
      note: '14:32:05 封单跌破阈值',
    });
    expect(res).toEqual({ msgid: 'm1', responseCode: 'rc-send-1' });
    expect(api.sent[0]!.body).toEqual({
      touser: 'zhangsan',
      agentid: 1000002,
      msgtype: 'template_card',
      template_card: {
        card_type: 'button_interaction',
        main_title: { title: '卖出确认 600519 贵州茅台', desc: '封单 < 2000万' },
        sub_title_text: '14:32:05 封单跌破阈值',
        horizontal_content_list: [
          { keyname: '封单', value: '1850万' },
          { keyname: '峰值', value: '5200万' },
        ],
        task_id: 'act-Ab3dE9xQ',
        button_list: [
          { text: '卖出 Sell', style: 1, key: 'sell' },
          { text: '持有 Hold', style: 2, key: 'hold' },
        ],
      },
    });
  });

  it('refuses a task id WeCom would reject, before calling it', async () => {
    await expect(app.sendSellCard('u', { taskId: '卖出:1', title: 't', fields: [] })).rejects.toBeInstanceOf(
      InputError,
    );
    expect(api.gettokenCalls).toBe(0);
  });

  it('replaces the buttons with the result via update_template_card', async () => {
    await app.updateCardButton('zhangsan', 'rc-click-9', '已卖出 @ 1853.50');
    expect(api.updates.map((r) => r.body)).toEqual([
      {
        userids: ['zhangsan'],
        agentid: 1000002,
        response_code: 'rc-click-9',
        button: { replace_name: '已卖出 @ 1853.50' },
      },
    ]);
  });

  it('the fake refuses a repeated task_id the way WeCom does (42014), even for another user', async () => {
    const card = { taskId: 'act-Ab3dE9xQ@0', title: 't', fields: [] };
    await app.sendSellCard('zhangsan', card);
    const err = (await app.sendSellCard('lisi', card).catch((e: unknown) => e)) as WecomApiError;
    expect(err).toBeInstanceOf(WecomApiError);
    expect(err.errcode).toBe(42014);
    expect(err.errmsg).toMatch(/^taskid has existed or empty or exceed max len, hint: \[/);
    expect(api.sent.filter((s) => s.body.msgtype === 'template_card')).toHaveLength(1);
  });

  it('the fake spends a response_code once, as WeCom does', async () => {
    await app.updateCardButton('zhangsan', 'rc-once', '已卖出');
    const err = (await app
      .updateCardButton('zhangsan', 'rc-once', 'again')
      .catch((e: unknown) => e)) as WecomApiError;
    expect(err).toBeInstanceOf(WecomApiError);
    expect(api.updates).toHaveLength(1);
  });

  it('uploads a PNG once (multipart "media", filename, filelength) and sends it as an image message', async () => {
    const png = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      Buffer.alloc(300, 7),
    ]);
    const mediaId = await app.uploadImage(png, 'seal.png');
    const up = api.uploads.get(mediaId)!;
    expect(up).toMatchObject({ type: 'image', filename: 'seal.png', contentType: 'image/png' });
    expect(up.bytes.equals(png)).toBe(true);
    await app.sendImage('zhangsan', mediaId);
    expect(api.sent.at(-1)!.body).toEqual({
      touser: 'zhangsan',
      agentid: 1000002,
      msgtype: 'image',
      image: { media_id: mediaId },
    });
    // An image message naming a media_id WeCom never issued is refused (40007).
    const err = (await app.sendImage('zhangsan', 'nope').catch((e: unknown) => e)) as WecomApiError;
    expect(err.errcode).toBe(40007);
  });

  it('measures the host clock against the Date header of the answers', async () => {
    const real = new WecomApp({
      corpId: CORP,
      agentId: 1000002,
      secret: SECRET,
      logger: captureLogger().logger,
      apiRoot: api.url,
    });
    api.dateOffsetMs = -420_000; // WeCom's clock 7 minutes behind ours: we are 420 s ahead
    await real.accessToken();
    const skew = real.clockSkew()!;
    expect(Math.abs(skew.skewMs - 420_000)).toBeLessThanOrEqual(skew.uncertaintyMs);
    expect(skew.uncertaintyMs).toBeLessThan(1500);
  });
});
