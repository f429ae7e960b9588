/**
 * A fake qyapi.weixin.qq.com on 127.0.0.1: gettoken (counted, tokens that expire on demand),
 * message/send, message/update_template_card and webhook/send, recording every request it got and
 * answering scripted errcodes. Real HTTP, so the adapters under test run unmodified.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeQyapiOptions {
  corpId?: string;
  secret?: string;
  webhookKey?: string;
  /** expires_in returned by gettoken, seconds. */
  expiresIn?: number;
}

export interface Recorded {
  path: string;
  query: Record<string, string>;
  body: Record<string, unknown>;
}

export interface FakeQyapi {
  url: string;
  gettokenCalls: number;
  sent: Recorded[];
  updates: Recorded[];
  webhook: Recorded[];
  /** Errcodes to answer the next N calls of a path with (then back to normal). */
  script: Map<string, number[]>;
  /** Marks every token issued so far as expired (42001) the way WeCom may do early. */
  expireTokens(): void;
  /** Makes gettoken answer slowly, so concurrent callers overlap. */
  gettokenDelayMs: number;
  close(): Promise<void>;
}

export async function startFakeQyapi(opts: FakeQyapiOptions = {}): Promise<FakeQyapi> {
  const corpId = opts.corpId ?? 'ww-test-corp';
  const secret = opts.secret ?? 'test-secret';
  const webhookKey = opts.webhookKey ?? '00000000-robot-key';
  const live = new Set<string>();
  const expired = new Set<string>();
  let issued = 0;
  let msgid = 0;

  const fake: FakeQyapi = {
    url: '',
    gettokenCalls: 0,
    sent: [],
    updates: [],
    webhook: [],
    script: new Map(),
    gettokenDelayMs: 20,
    expireTokens() {
      for (const t of live) expired.add(t);
      live.clear();
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };

  const scripted = (path: string): number | undefined => {
    const codes = fake.script.get(path);
    const code = codes?.shift();
    if (codes && codes.length === 0) fake.script.delete(path);
    return code;
  };

  const tokenError = (token: string | undefined): [number, string] | undefined => {
    if (!token) return [41001, 'access_token missing'];
    if (expired.has(token)) return [42001, 'access_token expired'];
    if (!live.has(token)) return [40014, 'invalid access_token'];
    return undefined;
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const query = Object.fromEntries(url.searchParams);
      const body = req.method === 'POST' ? await readJson(req) : {};
      const reply = (obj: Record<string, unknown>) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(obj));
      };
      const rec: Recorded = { path: url.pathname, query, body };
      const forced = scripted(url.pathname);
      switch (url.pathname) {
        case '/cgi-bin/gettoken': {
          fake.gettokenCalls++;
          await new Promise((r) => setTimeout(r, fake.gettokenDelayMs));
          if (forced !== undefined) return reply({ errcode: forced, errmsg: `scripted ${forced}` });
          if (query.corpid !== corpId || query.corpsecret !== secret) {
            return reply({ errcode: 40001, errmsg: 'invalid credential' });
          }
          const token = `tok-${++issued}`;
          live.add(token);
          return reply({ errcode: 0, errmsg: 'ok', access_token: token, expires_in: opts.expiresIn ?? 7200 });
        }
        case '/cgi-bin/message/send':
        case '/cgi-bin/message/update_template_card': {
          const bad = tokenError(query.access_token);
          if (bad) return reply({ errcode: bad[0], errmsg: bad[1] });
          if (forced !== undefined) {
            const errmsg =
              forced === 60020
                ? 'not allow to access from your ip, hint: [x], from ip: 203.0.113.7'
                : `scripted ${forced}`;
            return reply({ errcode: forced, errmsg });
          }
          if (url.pathname === '/cgi-bin/message/send') {
            fake.sent.push(rec);
            const card = body.msgtype === 'template_card';
            return reply({
              errcode: 0,
              errmsg: 'ok',
              msgid: `m${++msgid}`,
              ...(card ? { response_code: `rc-send-${msgid}` } : {}),
            });
          }
          fake.updates.push(rec);
          return reply({ errcode: 0, errmsg: 'ok' });
        }
        case '/cgi-bin/webhook/send': {
          if (query.key !== webhookKey) return reply({ errcode: 93000, errmsg: 'invalid webhook url' });
          if (forced !== undefined) return reply({ errcode: forced, errmsg: `scripted ${forced}` });
          fake.webhook.push(rec);
          return reply({ errcode: 0, errmsg: 'ok' });
        }
        default:
          res.statusCode = 404;
          res.end();
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}
