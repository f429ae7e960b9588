/**
 * The HTTP side of 东方财富 web trading: form posts and page reads against one host with one
 * cookie jar, as a browser tab does. The jar is the session: the captcha (`/Login/YZM`) is bound
 * to the cookie it sets, the login binds the account to it, and the `em_validatekey` page only
 * answers on it (wmo-v/eastmoneyapi issue #2: people who lost the cookies could not get a key).
 *
 * Built-in fetch with redirect 'manual': an expired session answers a logged-in page with a
 * redirect to /Login, which is how expiry is seen, not a page to follow. Transport failures carry
 * whether the request may have reached the server, the one thing order placement depends on.
 */
import { TransportError } from './httpJson.ts';

/** Not a Windows UA: LoginSec.js only asks the Windows 安全控件 for secInfo on Windows (pytrader 3fba73d). */
export const USER_AGENT =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';

export interface EmResponse {
  status: number;
  /** Where a 3xx points, if it does. */
  location?: string;
  contentType: string;
  text: string;
  bytes: Buffer;
}

const NOT_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
]);

export class EmHttp {
  private readonly jar = new Map<string, string>();
  readonly base: string;

  constructor(
    baseUrl: string,
    private readonly timeoutMs: number,
  ) {
    this.base = baseUrl.replace(/\/+$/, '');
  }

  /** Drops the session (a new login starts from a fresh cookie, as a new browser would). */
  reset(): void {
    this.jar.clear();
  }

  get cookieCount(): number {
    return this.jar.size;
  }

  get(path: string, headers: Record<string, string> = {}, timeoutMs?: number): Promise<EmResponse> {
    return this.request('GET', path, undefined, headers, timeoutMs);
  }

  postForm(
    path: string,
    fields: Record<string, string | number>,
    headers: Record<string, string> = {},
    timeoutMs?: number,
  ): Promise<EmResponse> {
    const body = new URLSearchParams(
      Object.entries(fields).map(([k, v]): [string, string] => [k, String(v)]),
    ).toString();
    return this.request(
      'POST',
      path,
      body,
      {
        'content-type': 'application/x-www-form-urlencoded; charset=UTF-8',
        'x-requested-with': 'XMLHttpRequest',
        accept: 'application/json, text/javascript, */*; q=0.01',
        ...headers,
      },
      timeoutMs,
    );
  }

  private async request(
    method: 'GET' | 'POST',
    path: string,
    body: string | undefined,
    extra: Record<string, string>,
    timeoutMs = this.timeoutMs,
  ): Promise<EmResponse> {
    const headers: Record<string, string> = {
      'user-agent': USER_AGENT,
      'accept-language': 'zh-CN,zh;q=0.9',
      origin: this.base,
      ...extra,
    };
    if (this.jar.size > 0) headers.cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const where = `${method} ${path.split('?')[0]}`;
    try {
      const res = await fetch(this.base + path, {
        method,
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      for (const c of res.headers.getSetCookie()) this.keep(c);
      const bytes = Buffer.from(await res.arrayBuffer());
      const location = res.headers.get('location') ?? undefined;
      return {
        status: res.status,
        ...(location ? { location } : {}),
        contentType: res.headers.get('content-type') ?? '',
        text: bytes.toString('utf8'),
        bytes,
      };
    } catch (err) {
      const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
      if (e.name === 'TimeoutError' || e.name === 'AbortError')
        throw new TransportError(`${where}: no answer within ${timeoutMs} ms`, true, true);
      const code = e.cause?.code;
      throw new TransportError(
        `${where}: ${code ?? e.cause?.message ?? e.message ?? String(err)}`,
        !(code && NOT_SENT.has(code)),
        false,
      );
    }
  }

  private keep(setCookie: string): void {
    const first = setCookie.split(';')[0] ?? '';
    const eq = first.indexOf('=');
    if (eq <= 0) return;
    const name = first.slice(0, eq).trim();
    const value = first.slice(eq + 1).trim();
    // An expiry in the past (or an empty value) is how a server deletes a cookie.
    const expires = /;\s*expires=([^;]+)/i.exec(setCookie)?.[1];
    const maxAge = /;\s*max-age=(-?\d+)/i.exec(setCookie)?.[1];
    if (
      value === '' ||
      (maxAge !== undefined && Number(maxAge) <= 0) ||
      (expires && Date.parse(expires) < Date.now())
    )
      this.jar.delete(name);
    else this.jar.set(name, value);
  }
}
