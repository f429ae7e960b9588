/**
 * A fake Telegram Bot API on 127.0.0.1:0, for driving the real grammY bot over real HTTP
 * (client.apiRoot = fake.apiRoot). Paths are /bot<token>/<method>; a wrong token gets 401 as
 * Telegram answers it. getUpdates long-polls briefly; sendMessage assigns message ids and keeps
 * the messages so edits and taps refer to real ones; Telegram's own refusals are reproduced
 * where the product must cope with them ("message is not modified", a callback answered twice,
 * callback_data over 64 bytes, text over 4096 characters).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ApiCall {
  method: string;
  /** JSON body (or multipart fields as raw text under `raw`). */
  payload: Record<string, unknown>;
}

export interface StoredMessage {
  message_id: number;
  chat_id: number;
  text: string;
  reply_markup?: { inline_keyboard: { text: string; callback_data?: string }[][] };
  edits: number;
}

export interface ScriptedError {
  error_code: number;
  description: string;
  retry_after?: number;
}

export interface FakeBotApi {
  apiRoot: string;
  token: string;
  calls: ApiCall[];
  messages: Map<number, StoredMessage>;
  /** Errors answered to the next calls of a method (only those matching `when`, if given), in order. */
  failNext(method: string, err: ScriptedError, when?: (payload: Record<string, unknown>) => boolean): void;
  /** A user types `text` in their private chat (the bot_command entity is set for /commands). */
  sendText(userId: number, text: string, chatId?: number): number;
  /** A user taps an inline button of a stored message. */
  tap(userId: number, messageId: number, data: string): string;
  /** Resolves with the first recorded call (from index `from`) matching, or rejects after the timeout. */
  waitFor(pred: (c: ApiCall) => boolean, timeoutMs?: number, from?: number): Promise<ApiCall>;
  close(): Promise<void>;
}

export const BOT_ID = 7_000_000_001;

export async function startFakeBotApi(
  token = '123456789:AAE-fake_token_for_tests_0123456789',
): Promise<FakeBotApi> {
  const calls: ApiCall[] = [];
  const messages = new Map<number, StoredMessage>();
  const updates: Record<string, unknown>[] = [];
  const failures = new Map<
    string,
    { err: ScriptedError; when?: (p: Record<string, unknown>) => boolean }[]
  >();
  const answered = new Set<string>();
  let updateId = 1000;
  let messageId = 1;
  let queryId = 1;
  let closed = false;
  const pollers = new Set<() => void>();
  const watchers = new Set<() => void>();
  const wake = () => {
    for (const p of [...pollers]) p();
  };
  const recorded = () => {
    for (const w of [...watchers]) w();
  };

  const user = (id: number) => ({ id, is_bot: false, first_name: `user${id}` });
  const messageObj = (m: StoredMessage) => ({
    message_id: m.message_id,
    date: Math.floor(Date.now() / 1000),
    chat: { id: m.chat_id, type: 'private', first_name: `user${m.chat_id}` },
    from: { id: BOT_ID, is_bot: true, first_name: 'SealGuard', username: 'sealguard_test_bot' },
    text: m.text,
    ...(m.reply_markup && m.reply_markup.inline_keyboard.length ? { reply_markup: m.reply_markup } : {}),
  });

  function handle(method: string, p: Record<string, unknown>): { status: number; body: unknown } {
    const ok = (result: unknown) => ({ status: 200, body: { ok: true, result } });
    const bad = (description: string) => ({
      status: 400,
      body: { ok: false, error_code: 400, description: `Bad Request: ${description}` },
    });
    switch (method) {
      case 'getMe':
        return ok({
          id: BOT_ID,
          is_bot: true,
          first_name: 'SealGuard',
          username: 'sealguard_test_bot',
          can_join_groups: true,
          can_read_all_group_messages: false,
          supports_inline_queries: false,
          can_connect_to_business: false,
          has_main_web_app: false,
        });
      case 'setMyCommands':
      case 'deleteWebhook':
        return ok(true);
      case 'sendMessage':
      case 'sendPhoto': {
        const text = String(p.text ?? p.caption ?? '');
        if (text.length > 4096) return bad('message is too long');
        const kb = p.reply_markup as StoredMessage['reply_markup'];
        for (const row of kb?.inline_keyboard ?? [])
          for (const b of row)
            if (b.callback_data !== undefined && Buffer.byteLength(b.callback_data, 'utf8') > 64)
              return bad('BUTTON_DATA_INVALID');
        const m: StoredMessage = {
          message_id: messageId++,
          chat_id: Number(p.chat_id),
          text: stripHtml(text),
          edits: 0,
          ...(kb ? { reply_markup: kb } : {}),
        };
        messages.set(m.message_id, m);
        return ok(messageObj(m));
      }
      case 'editMessageText': {
        const m = messages.get(Number(p.message_id));
        if (!m || m.chat_id !== Number(p.chat_id)) return bad('message to edit not found');
        const text = stripHtml(String(p.text ?? ''));
        const kb = p.reply_markup as StoredMessage['reply_markup'];
        const sameKb =
          JSON.stringify(kb?.inline_keyboard ?? []) === JSON.stringify(m.reply_markup?.inline_keyboard ?? []);
        if (text === m.text && sameKb)
          return bad(
            'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
          );
        m.text = text;
        m.edits++;
        // An edit without a keyboard (or with an empty one) removes the buttons, as on Telegram.
        if (kb?.inline_keyboard.length) m.reply_markup = kb;
        else delete m.reply_markup;
        return ok(messageObj(m));
      }
      case 'answerCallbackQuery': {
        const id = String(p.callback_query_id);
        if (answered.has(id))
          return bad('query is too old and response timeout expired or query ID is invalid');
        answered.add(id);
        return ok(true);
      }
      default:
        return { status: 404, body: { ok: false, error_code: 404, description: 'Not Found' } };
    }
  }

  const server: Server = createServer((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      const m = /^\/bot([^/]+)\/(\w+)$/.exec((req.url ?? '').split('?')[0] ?? '');
      const send = (status: number, body: unknown) => {
        if (res.destroyed) return;
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      };
      if (!m) return send(404, { ok: false, error_code: 404, description: 'Not Found' });
      if (m[1] !== token) return send(401, { ok: false, error_code: 401, description: 'Unauthorized' });
      const method = m[2]!;
      let payload: Record<string, unknown> = {};
      if (raw && /json/.test(req.headers['content-type'] ?? '')) payload = JSON.parse(raw) as never;
      else if (raw) payload = { raw };
      if (method === 'getUpdates') {
        const offset = Number(payload.offset ?? 0);
        const timeoutS = Number(payload.timeout ?? 0);
        const pending = () => updates.filter((u) => Number(u.update_id) >= offset);
        // Long poll, but briefly: a test never waits on Telegram's 30 s.
        if (pending().length === 0 && timeoutS > 0 && !closed) {
          await new Promise<void>((resolve) => {
            const done = () => {
              pollers.delete(done);
              clearTimeout(timer);
              resolve();
            };
            const timer = setTimeout(done, Math.min(timeoutS * 1000, 500));
            pollers.add(done);
            req.once('close', done);
          });
        }
        // Confirmed updates (below the offset) are gone for good, as on Telegram.
        for (let i = updates.length - 1; i >= 0; i--)
          if (Number(updates[i]!.update_id) < offset) updates.splice(i, 1);
        const limit = Number(payload.limit ?? 100);
        return send(200, { ok: true, result: pending().slice(0, limit) });
      }
      calls.push({ method, payload });
      recorded();
      const queue = failures.get(method) ?? [];
      const at = queue.findIndex((f) => !f.when || f.when(payload));
      const scripted = at >= 0 ? queue.splice(at, 1)[0]!.err : undefined;
      if (scripted)
        return send(scripted.error_code, {
          ok: false,
          error_code: scripted.error_code,
          description: scripted.description,
          ...(scripted.retry_after !== undefined
            ? { parameters: { retry_after: scripted.retry_after } }
            : {}),
        });
      const r = handle(method, payload);
      send(r.status, r.body);
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;

  return {
    apiRoot: `http://127.0.0.1:${port}`,
    token,
    calls,
    messages,
    failNext(method, err, when) {
      failures.set(method, [...(failures.get(method) ?? []), when ? { err, when } : { err }]);
    },
    sendText(userId, text, chatId = userId) {
      const id = ++updateId;
      const cmd = /^\/\w+(@\w+)?/.exec(text);
      updates.push({
        update_id: id,
        message: {
          message_id: messageId++,
          date: Math.floor(Date.now() / 1000),
          chat: { id: chatId, type: chatId === userId ? 'private' : 'group', first_name: `user${userId}` },
          from: user(userId),
          text,
          ...(cmd ? { entities: [{ type: 'bot_command', offset: 0, length: cmd[0].length }] } : {}),
        },
      });
      wake();
      return id;
    },
    tap(userId, mid, data) {
      const m = messages.get(mid);
      if (!m) throw new Error(`fake Bot API: no message ${mid} to tap on`);
      const qid = `q${queryId++}`;
      updates.push({
        update_id: ++updateId,
        callback_query: {
          id: qid,
          from: user(userId),
          chat_instance: 'ci-1',
          message: messageObj(m),
          data,
        },
      });
      wake();
      return qid;
    },
    waitFor(pred, timeoutMs = 10_000, from = 0) {
      return new Promise<ApiCall>((resolve, reject) => {
        const check = () => {
          const hit = calls.slice(from).find(pred);
          if (!hit) return false;
          watchers.delete(check);
          clearTimeout(timer);
          resolve(hit);
          return true;
        };
        const timer = setTimeout(() => {
          watchers.delete(check);
          reject(
            new Error(
              `fake Bot API: no matching call within ${timeoutMs} ms; calls: ${calls
                .map((c) => `${c.method}(${JSON.stringify(c.payload).slice(0, 160)})`)
                .join('\n  ')}`,
            ),
          );
        }, timeoutMs);
        if (!check()) watchers.add(check);
      });
    },
    async close() {
      closed = true;
      wake();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** What the user sees of an HTML message: tags gone, entities decoded. */
export function stripHtml(html: string): string {
  return html
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
