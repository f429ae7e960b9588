/**
 * A fake Telegram Bot API on 127.0.0.1:0, for driving the real grammY bot over real HTTP
 * (client.apiRoot = fake.apiRoot). Paths are /bot<token>/<method>; a wrong token gets 401 as
 * Telegram answers it. getUpdates long-polls briefly; sendMessage assigns message ids and keeps
 * the messages so edits and taps refer to real ones; Telegram's own refusals are reproduced
 * where the product must cope with them ("message is not modified", a callback answered twice,
 * callback_data over 64 bytes, text over 4096 characters).
 *
 * It follows the real thing:
 * - error answers are `{"ok":false,"error_code":N,"description":"...","parameters":{"retry_after":N}}`
 *   with the HTTP status equal to error_code (core.telegram.org/bots/api "Making requests",
 *   ResponseParameters); the texts below are Telegram's own (ERRORS);
 * - grammY (grammyjs/grammY src/core/client.ts, src/core/error.ts) turns such an answer into a
 *   GrammyError, and a body that is not JSON (a proxy's 502 page) or a dropped connection into
 *   an HttpError, which is why `down('502')` answers HTML and `down('refuse')` drops the socket;
 * - the rate limits when `limits` are on are the Bot FAQ's ("My bot is hitting limits"): about
 *   1 message per second per chat, 20 per minute per group, 30 per second overall, answered 429
 *   "Too Many Requests: retry after N" with parameters.retry_after N.
 * Errors can be scripted per method and per chat (`failNext` for the next matching call,
 * `script` for a standing rule such as "chat 1 has blocked the bot").
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
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

/** Telegram's own answers, verbatim. */
export const ERRORS = {
  blocked: { error_code: 403, description: 'Forbidden: bot was blocked by the user' },
  chatNotFound: { error_code: 400, description: 'Bad Request: chat not found' },
  conflict: {
    error_code: 409,
    description:
      'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
  },
  unauthorized: { error_code: 401, description: 'Unauthorized' },
  tooMany: (s: number): ScriptedError => ({
    error_code: 429,
    description: `Too Many Requests: retry after ${s}`,
    retry_after: s,
  }),
  queryTooOld: {
    error_code: 400,
    description: 'Bad Request: query is too old and response timeout expired or query ID is invalid',
  },
} satisfies Record<string, ScriptedError | ((s: number) => ScriptedError)>;

export interface ScriptRule {
  /** Method it applies to; all methods when absent. */
  method?: string;
  /** Chat (payload chat_id) it applies to; all when absent. */
  chat?: number;
  err: ScriptedError;
  /** How many calls it answers; forever when absent. */
  times?: number;
}

export interface RateLimits {
  /** Minimum ms between two messages to one chat (Telegram: about 1000). */
  perChatMs: number;
  /** Messages per minute to one group (negative chat id) (Telegram: 20). */
  groupPerMinute: number;
  /** Messages per second overall (Telegram: 30). */
  globalPerSecond: number;
}

export const TELEGRAM_LIMITS: RateLimits = { perChatMs: 1000, groupPerMinute: 20, globalPerSecond: 30 };

export interface FakeBotApiOptions {
  token?: string;
  /** Listen on this port (to come up where a process was refused before). */
  port?: number;
  /** Enforce Telegram's rate limits with 429 answers. */
  limits?: RateLimits;
}

export interface FakeBotApi {
  apiRoot: string;
  port: number;
  token: string;
  calls: ApiCall[];
  /** getUpdates calls (kept apart: they never stop). */
  polls: number;
  /** 429s answered because a limit was exceeded (not scripted ones). */
  throttled: ApiCall[];
  messages: Map<number, StoredMessage>;
  /** Errors answered to the next calls of a method (only those matching `when`, if given), in order. */
  failNext(method: string, err: ScriptedError, when?: (payload: Record<string, unknown>) => boolean): void;
  /** A standing rule: this method (or all) for this chat (or all) answers `err`. Returns a remover. */
  script(rule: ScriptRule): () => void;
  /** Removes every standing rule. */
  clearScripts(): void;
  /** The whole API misbehaves: connections dropped, a proxy's 502 page, or no answer at all. */
  down(mode: 'refuse' | '502' | 'hang' | null): void;
  /** Turns rate-limit enforcement on (or off with null). */
  enforce(limits: RateLimits | null): void;
  /** A user types `text` in their private chat (the bot_command entity is set for /commands). */
  sendText(userId: number, text: string, chatId?: number): number;
  /** A user taps an inline button of a stored message. */
  tap(userId: number, messageId: number, data: string): string;
  /** Resolves with the first recorded call (from index `from`) matching, or rejects after the timeout. */
  waitFor(pred: (c: ApiCall) => boolean, timeoutMs?: number, from?: number): Promise<ApiCall>;
  close(): Promise<void>;
}

export const BOT_ID = 7_000_000_001;

export async function startFakeBotApi(opts: string | FakeBotApiOptions = {}): Promise<FakeBotApi> {
  const o: FakeBotApiOptions = typeof opts === 'string' ? { token: opts } : opts;
  const token = o.token ?? '123456789:AAE-fake_token_for_tests_0123456789';
  let limits: RateLimits | null = o.limits ?? null;
  let downMode: 'refuse' | '502' | 'hang' | null = null;
  const rules: ScriptRule[] = [];
  const throttled: ApiCall[] = [];
  const perChat = new Map<number, number[]>();
  const globalSent: number[] = [];
  const hung = new Set<ServerResponse>();
  let polls = 0;
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
    chat:
      m.chat_id < 0
        ? { id: m.chat_id, type: 'group', title: `group${-m.chat_id}` }
        : { id: m.chat_id, type: 'private', first_name: `user${m.chat_id}` },
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

  /** Telegram's limits, when enforced: seconds to wait, or 0 when this message may go. */
  function overLimit(method: string, p: Record<string, unknown>): number {
    if (!limits || !['sendMessage', 'sendPhoto', 'editMessageText'].includes(method)) return 0;
    const chat = Number(p.chat_id);
    const now = Date.now();
    const mine = perChat.get(chat) ?? [];
    while (mine.length && mine[0]! <= now - 60_000) mine.shift();
    while (globalSent.length && globalSent[0]! <= now - 1_000) globalSent.shift();
    let waitMs = 0;
    const lastAt = mine[mine.length - 1];
    if (lastAt !== undefined && now - lastAt < limits.perChatMs) waitMs = lastAt + limits.perChatMs - now;
    if (chat < 0 && mine.length >= limits.groupPerMinute)
      waitMs = Math.max(waitMs, mine[mine.length - limits.groupPerMinute]! + 60_000 - now);
    if (globalSent.length >= limits.globalPerSecond)
      waitMs = Math.max(waitMs, globalSent[globalSent.length - limits.globalPerSecond]! + 1_000 - now);
    if (waitMs > 0) return Math.max(1, Math.ceil(waitMs / 1000));
    mine.push(now);
    perChat.set(chat, mine);
    globalSent.push(now);
    return 0;
  }

  function ruleFor(method: string, p: Record<string, unknown>): ScriptedError | undefined {
    const i = rules.findIndex(
      (r) => (!r.method || r.method === method) && (r.chat === undefined || Number(p.chat_id) === r.chat),
    );
    if (i < 0) return undefined;
    const r = rules[i]!;
    if (r.times !== undefined && --r.times <= 0) rules.splice(i, 1);
    return r.err;
  }

  const answerError = (send: (status: number, body: unknown) => void, e: ScriptedError) =>
    send(e.error_code, {
      ok: false,
      error_code: e.error_code,
      description: e.description,
      ...(e.retry_after !== undefined ? { parameters: { retry_after: e.retry_after } } : {}),
    });

  const server: Server = createServer((req, res) => {
    if (downMode === 'refuse') {
      req.socket.destroy();
      return;
    }
    if (downMode === 'hang') {
      hung.add(res);
      return;
    }
    if (downMode === '502') {
      res
        .writeHead(502, { 'content-type': 'text/html' })
        .end(
          '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>',
        );
      return;
    }
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
        polls++;
        const scriptedPoll = ruleFor(method, payload);
        if (scriptedPoll) return answerError(send, scriptedPoll);
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
      const scripted = (at >= 0 ? queue.splice(at, 1)[0]!.err : undefined) ?? ruleFor(method, payload);
      if (scripted) return answerError(send, scripted);
      const wait = overLimit(method, payload);
      if (wait > 0) {
        throttled.push({ method, payload });
        return answerError(send, ERRORS.tooMany(wait));
      }
      const r = handle(method, payload);
      send(r.status, r.body);
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((r) => server.listen(o.port ?? 0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;

  return {
    apiRoot: `http://127.0.0.1:${port}`,
    port,
    token,
    calls,
    get polls() {
      return polls;
    },
    throttled,
    messages,
    script(rule) {
      const r = { ...rule };
      rules.push(r);
      return () => {
        const i = rules.indexOf(r);
        if (i >= 0) rules.splice(i, 1);
      };
    },
    clearScripts() {
      rules.length = 0;
    },
    down(mode) {
      downMode = mode;
      if (mode !== 'hang') for (const r of hung) r.socket?.destroy();
      if (mode !== 'hang') hung.clear();
    },
    enforce(l) {
      limits = l;
    },
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
      for (const r of hung) r.socket?.destroy();
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
