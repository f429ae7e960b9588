/**
 * A fake qyapi.weixin.qq.com on 127.0.0.1: gettoken (counted, tokens that expire on demand),
 * message/send, message/update_template_card, media/upload and webhook/send, recording every
 * request it got and answering scripted errcodes. Real HTTP, so the adapters under test run
 * unmodified. It follows WeCom's documented and observed answers:
 * - template_card task_id unique per app for ever (doc 90236 "任务id，同一个应用任务id不能重复");
 *   a repeat, an empty or a >128-byte one gets errcode 42014 with the errmsg WeCom really sends
 *   (developers.weixin.qq.com/community/enterprisewechat/doc/000e8a97798020098fdd7015a51800:
 *   "taskid has existed or empty or exceed max len, hint: [...], from ip: ..., more info at ...").
 * - media/upload (doc 90253 / 96484): multipart field "media" with a filename; files must be over
 *   5 bytes (40006), images ≤10 MB (40009) and JPG/PNG (40004); the answer is
 *   {errcode:0, errmsg:"", type, media_id, created_at:"<seconds as a string>"}; an image message
 *   naming an unknown media_id gets 40007.
 * - robot image (doc 91770): {base64, md5} of ≤2 MB raw JPG/PNG. The errcode for a wrong md5 is
 *   not documented that we could find; this fake answers 40009 for size and 40035 (invalid
 *   parameter) for a md5 mismatch.
 * - update_template_card: a response_code works once ("72小时内有效，且只能使用一次", doc 94888);
 *   WeCom's errcode for a spent one is not documented that we could find: this fake answers
 *   40035 (invalid parameter).
 * - every answer carries a Date header (dateOffsetMs shifts it, to emulate a skewed host).
 */
import { createHash } from 'node:crypto';
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

export interface Upload {
  mediaId: string;
  type: string;
  filename: string;
  contentType: string;
  bytes: Buffer;
}

export interface FakeQyapi {
  url: string;
  gettokenCalls: number;
  sent: Recorded[];
  updates: Recorded[];
  webhook: Recorded[];
  /** media/upload files accepted, by media_id. */
  uploads: Map<string, Upload>;
  /** Every errcode answered (not 0), in order, with the path: what the adapter was refused. */
  refusals: { path: string; errcode: number; errmsg: string }[];
  /** Shifts the Date header of every answer (WeCom's clock minus the real one). */
  dateOffsetMs: number;
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
  let media = 0;
  const taskIds = new Set<string>();
  const usedCodes = new Set<string>();

  const fake: FakeQyapi = {
    url: '',
    gettokenCalls: 0,
    sent: [],
    updates: [],
    webhook: [],
    uploads: new Map(),
    refusals: [],
    dateOffsetMs: 0,
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
      const raw = req.method === 'POST' ? await readRaw(req) : Buffer.alloc(0);
      const multipart = /^multipart\/form-data/i.test(req.headers['content-type'] ?? '');
      const body = multipart ? {} : parseJson(raw);
      const reply = (obj: Record<string, unknown>) => {
        if (typeof obj.errcode === 'number' && obj.errcode !== 0)
          fake.refusals.push({ path: url.pathname, errcode: obj.errcode, errmsg: String(obj.errmsg) });
        res.setHeader('date', new Date(Date.now() + fake.dateOffsetMs).toUTCString());
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(obj));
      };
      const hint = () =>
        `hint: [${Math.floor(Date.now() / 1000)}_${Math.floor(Math.random() * 1e6)}], from ip: 203.0.113.7, more info at https://open.work.weixin.qq.com/devtool/query?e=`;
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
            const card = body.msgtype === 'template_card';
            if (card) {
              const taskId = (body.template_card as { task_id?: unknown } | undefined)?.task_id;
              if (
                typeof taskId !== 'string' ||
                !taskId ||
                Buffer.byteLength(taskId) > 128 ||
                taskIds.has(taskId)
              )
                return reply({
                  errcode: 42014,
                  errmsg: `taskid has existed or empty or exceed max len, ${hint()}42014`,
                });
              taskIds.add(taskId);
            }
            if (body.msgtype === 'image') {
              const id = (body.image as { media_id?: unknown } | undefined)?.media_id;
              if (typeof id !== 'string' || !fake.uploads.has(id))
                return reply({ errcode: 40007, errmsg: `invalid media_id, ${hint()}40007` });
            }
            fake.sent.push(rec);
            return reply({
              errcode: 0,
              errmsg: 'ok',
              msgid: `m${++msgid}`,
              ...(card ? { response_code: `rc-send-${msgid}` } : {}),
            });
          }
          const code = body.response_code;
          if (typeof code !== 'string' || !code || usedCodes.has(code))
            return reply({ errcode: 40035, errmsg: `invalid response_code (used or empty), ${hint()}40035` });
          usedCodes.add(code);
          fake.updates.push(rec);
          return reply({ errcode: 0, errmsg: 'ok' });
        }
        case '/cgi-bin/media/upload': {
          const bad = tokenError(query.access_token);
          if (bad) return reply({ errcode: bad[0], errmsg: bad[1] });
          if (forced !== undefined) return reply({ errcode: forced, errmsg: `scripted ${forced}` });
          const type = query.type ?? '';
          if (!['image', 'voice', 'video', 'file'].includes(type))
            return reply({ errcode: 40005, errmsg: `invalid file type, ${hint()}40005` });
          const part = multipartFile(req.headers['content-type'] ?? '', raw, 'media');
          if (!part) return reply({ errcode: 41005, errmsg: `media data missing, ${hint()}41005` });
          if (part.bytes.length <= 5)
            return reply({ errcode: 40006, errmsg: `invalid file size, ${hint()}40006` });
          if (type === 'image') {
            if (part.bytes.length > 10 * 1024 * 1024)
              return reply({ errcode: 40009, errmsg: `invalid image size, ${hint()}40009` });
            if (!isPng(part.bytes) && !isJpeg(part.bytes))
              return reply({ errcode: 40004, errmsg: `invalid media type, ${hint()}40004` });
          }
          const mediaId = `3media${++media}_${part.bytes.length}`;
          fake.uploads.set(mediaId, {
            mediaId,
            type,
            filename: part.filename,
            contentType: part.contentType,
            bytes: part.bytes,
          });
          return reply({
            errcode: 0,
            errmsg: '',
            type,
            media_id: mediaId,
            created_at: String(Math.floor(Date.now() / 1000)),
          });
        }
        case '/cgi-bin/webhook/send': {
          if (query.key !== webhookKey) return reply({ errcode: 93000, errmsg: 'invalid webhook url' });
          if (forced !== undefined) return reply({ errcode: forced, errmsg: `scripted ${forced}` });
          if (body.msgtype === 'image') {
            const img = body.image as { base64?: unknown; md5?: unknown } | undefined;
            const bytes = Buffer.from(typeof img?.base64 === 'string' ? img.base64 : '', 'base64');
            if (bytes.length === 0 || bytes.length > 2 * 1024 * 1024 || (!isPng(bytes) && !isJpeg(bytes)))
              return reply({ errcode: 40009, errmsg: `invalid image size, ${hint()}40009` });
            if (img?.md5 !== createHash('md5').update(bytes).digest('hex'))
              return reply({ errcode: 40035, errmsg: `invalid parameter (md5), ${hint()}40035` });
          }
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

async function readRaw(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function parseJson(raw: Buffer): Record<string, unknown> {
  const text = raw.toString('utf8');
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

const isPng = (b: Buffer) =>
  b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
const isJpeg = (b: Buffer) => b[0] === 0xff && b[1] === 0xd8;

/** The file part named `field` of a multipart/form-data body (RFC 7578), or undefined. */
function multipartFile(
  contentType: string,
  raw: Buffer,
  field: string,
): { filename: string; contentType: string; bytes: Buffer } | undefined {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  const b = boundary?.[1] ?? boundary?.[2];
  if (!b) return undefined;
  const delim = Buffer.from(`--${b}`);
  let at = raw.indexOf(delim);
  while (at >= 0) {
    const next = raw.indexOf(delim, at + delim.length);
    if (next < 0) break;
    const part = raw.subarray(at + delim.length + 2, next - 2); // CRLF after the delimiter, before the next
    const split = part.indexOf('\r\n\r\n');
    if (split >= 0) {
      const head = part.subarray(0, split).toString('utf8');
      const name = /name="([^"]*)"/i.exec(head)?.[1];
      const filename = /filename="([^"]*)"/i.exec(head)?.[1];
      if (name === field && filename)
        return {
          filename,
          contentType: /content-type:\s*([^\r\n]+)/i.exec(head)?.[1]?.trim() ?? '',
          bytes: Buffer.from(part.subarray(split + 4)),
        };
    }
    at = next;
  }
  return undefined;
}
