/**
 * Logging in to 东方财富 web trading the way its login page (scripts/LoginSec.js, as captured in
 * Depblu/emt_trade) does, with a person answering what a person must:
 *
 *   POST /Login/CheckZjzh {zjzh}            "1": a captcha is required
 *   GET  /Login/YZM?randNum=<r>             4-digit picture bound to the cookie and to r
 *   POST /Login/Authentication?validatekey= {userId, password: RSA, randNumber: r, identifyCode,
 *                                            duration, authCode: "", type: "Z", secInfo: ""}
 *        Status 0 (or "0": jadepeng/pytrader #9) -> logged in; ErrCode -11 -> SMS verification:
 *   POST /Login/GetMsgVerifyCode_12 {vCode, randNumber, MobileNo: RSA(last 4 digits), User_id}
 *   POST /Login/GetCheckMsgVerCode_12 {Vercode, MobileNo, User_id}, then log in again
 *   GET  /Trade/Buy (margin: /MarginTrade/Buy)  <input id="em_validatekey" type="hidden" value=…>
 *
 * The captcha picture is written to DATA_DIR and handed to `prompt`, which the app turns into a
 * chat photo; the owner answers /captcha 1234 (and /sms for SMS verification). Three refused
 * logins in a row stop the attempts until /login: East Money locks an account after repeated
 * failures and unlocking it takes a trip to the branch. A lock or 临时限制 message stops at once.
 *
 * The password lives only in this object's closure and leaves it only RSA-encrypted; nothing
 * here logs a form.
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { BrokerError } from './broker.ts';
import type { EmHttp, EmResponse } from './eastmoneyHttp.ts';
import { emEncrypt } from './eastmoneyRsa.ts';
import { maskAccount } from './eastmoneyRows.ts';
import { TransportError } from './httpJson.ts';
import type { CheckOptions, CheckResult } from '../domain/check.ts';
import type { Clock } from '../domain/clock.ts';
import { processAlive } from '../store/healthFile.ts';
import { phaseAt } from '../domain/session.ts';

/** Where adapters report problems (src/engine/health.ts HealthBoard, structurally). */
export interface HealthSink {
  set(key: string, component: string, level: 'warn' | 'error', text: string): boolean;
  clear(key: string): boolean;
}

export interface LoginPrompt {
  text: string;
  /** A PNG in DATA_DIR to show with the text (the captcha). */
  file?: string;
  /** Set on the prompt that announces a successful login (holdings can be read now). */
  loggedIn?: boolean;
}

export type LoginStage =
  'starting' | 'captcha' | 'sms-phone' | 'sms-captcha' | 'sms-code' | 'logged-in' | 'stopped';

export interface EmSessionOptions {
  http: EmHttp;
  account: string;
  password: string;
  publicKey: KeyObject;
  /** Online time chosen at login, minutes (the login page's radio value). */
  durationMin: number;
  credit: boolean;
  dataDir: string;
  /** Market clock: trading hours decide when to keep the session alive. */
  clock: Clock;
  /** Wall clock for session age (protocol time). */
  wallNow?: () => number;
  prompt: (p: LoginPrompt) => void;
  health?: HealthSink;
  log?: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
  /** A read at least this often while trading (default 50 s). */
  keepAliveMs?: number;
  /** Ask for a new login this long before `durationMin` runs out (default 5 min). */
  renewBeforeMs?: number;
  maxFailures?: number;
  /** Called after each successful login (reconcile open intents). */
  onLoggedIn?: () => void;
}

export const STATUS_FILE = 'eastmoney-status.json';
export const CAPTCHA_FILE = 'eastmoney-captcha.png';
const HEALTH_KEY = 'eastmoney:login';
const VALIDATEKEY = /<input[^>]*id=["']em_validatekey["'][^>]*value=["']([^"']+)["']/i;
const VALIDATEKEY_ALT = /<input[^>]*value=["']([^"']+)["'][^>]*id=["']em_validatekey["']/i;

/** `Status` as the site sends it: a number, or a string of one (pytrader #9). */
export function statusOf(body: unknown): number | undefined {
  const s = (body as { Status?: unknown } | undefined)?.Status;
  if (typeof s === 'number') return s;
  if (typeof s === 'string' && /^-?\d+$/.test(s.trim())) return Number(s);
  return undefined;
}

export function messageOf(body: unknown): string {
  const m = (body as { Message?: unknown } | undefined)?.Message;
  return typeof m === 'string' ? m : '';
}

/** JSON out of a response, or undefined (HTML, empty, garbage). */
export function jsonOf(res: EmResponse): unknown {
  const t = res.text.trim();
  if (!t.startsWith('{') && !t.startsWith('[')) return undefined;
  try {
    return JSON.parse(t);
  } catch {
    return undefined;
  }
}

/** An expired session: Status -2, a redirect to the login page, or a login page served as HTML. */
export function looksExpired(res: EmResponse): boolean {
  if (res.status >= 300 && res.status < 400) return /login/i.test(res.location ?? '');
  const body = jsonOf(res);
  if (body !== undefined) return statusOf(body) === -2;
  return res.status === 200 && /<html|<!doctype/i.test(res.text) && /login|登录/i.test(res.text);
}

export class EmSession {
  private stage: LoginStage = 'starting';
  private why = 'not logged in yet';
  private validatekey: string | undefined;
  private loggedInAt: number | undefined;
  private lastOkAt: number | undefined;
  private positionsReadAt: number | undefined;
  private failures = 0;
  private randNum = '';
  private phoneLast4: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<unknown> = Promise.resolve();
  private renewAsked = false;
  /** A renewal captcha is out while the current session still works. */
  private renewing = false;
  private statusWrittenAt = 0;
  private statusSeq = 0;
  /** After a network failure (not a refusal): when to try again by itself. */
  private retryAt: number | undefined;
  private readonly wall: () => number;

  constructor(private readonly o: EmSessionOptions) {
    this.wall = o.wallNow ?? (() => Date.now());
  }

  // ---- state seen by the broker, chat, status and doctor ----------------------------------

  get loggedIn(): boolean {
    return this.stage === 'logged-in' && this.validatekey !== undefined;
  }

  get currentStage(): LoginStage {
    return this.stage;
  }

  /** Why selling is unavailable right now; undefined when logged in. */
  unavailable(): string | undefined {
    return this.loggedIn ? undefined : this.why;
  }

  /** The validatekey for the next call, or BRIDGE_NOT_READY saying why there is none. */
  key(): string {
    if (!this.loggedIn)
      throw new BrokerError('BRIDGE_NOT_READY', `东方财富 not logged in: ${this.why}`, true);
    return this.validatekey!;
  }

  /** A call on the session succeeded (it is alive). */
  ok(what?: 'positions'): void {
    this.lastOkAt = this.wall();
    if (what === 'positions') this.positionsReadAt = this.lastOkAt;
    // doctor judges "positions readable" by this file: keep it at most 20 s behind.
    if (this.lastOkAt - this.statusWrittenAt >= 20_000) void this.writeStatus();
  }

  describe(): string {
    const age = this.loggedInAt ? Math.round((this.wall() - this.loggedInAt) / 60_000) : undefined;
    return this.loggedIn
      ? `logged in as ${maskAccount(this.o.account)} ${age} min ago (session ${this.o.durationMin} min), validatekey present`
      : `not logged in: ${this.why}`;
  }

  // ---- lifecycle --------------------------------------------------------------------------

  start(): void {
    this.timer = setInterval(() => void this.tick(), Math.min(this.o.keepAliveMs ?? 50_000, 60_000));
    this.timer.unref();
    void this.serial(() => this.begin(true));
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.busy.catch(() => {});
    await this.writeStatus();
  }

  /** The session was found dead by a call (Status -2, login page): ask for a new login once. */
  expired(detail: string): void {
    if (this.stage !== 'logged-in') return;
    this.validatekey = undefined;
    this.renewing = false;
    // A dead session's cookie is worth nothing: the new login starts from a fresh one.
    this.stage = 'starting';
    this.o.log?.warn({ detail }, '东方财富 session expired');
    void this.serial(() => this.begin(true, `the 东方财富 session expired (${detail})`));
  }

  /** /login: start again after a stop (or at any time). */
  async restart(): Promise<string> {
    if (this.stage === 'logged-in') return `Already logged in to 东方财富 (${this.describe()}).`;
    this.failures = 0;
    this.retryAt = undefined;
    await this.serial(() => this.begin(true, 'login restarted by /login', true));
    return this.stageText();
  }

  /** /captcha 1234 */
  async answerCaptcha(code: string): Promise<string> {
    const c = code.trim();
    if (!/^\d{4}$/.test(c))
      return `✗ The captcha is 4 digits, e.g. /captcha 1234 (got "${code}"). Nothing sent.`;
    if (this.stage === 'captcha' || (this.renewing && this.stage === 'logged-in')) {
      await this.serial(() => this.authenticate(c));
      return this.stageText();
    }
    if (this.stage === 'sms-captcha') {
      await this.serial(() => this.sendSms(c));
      return this.stageText();
    }
    return `✗ No captcha is being asked for (${this.stageText()}).`;
  }

  /** /sms <last 4 digits of the phone> or /sms <code> */
  async answerSms(value: string): Promise<string> {
    const v = value.trim();
    if (this.stage === 'sms-phone') {
      if (!/^\d{4}$/.test(v))
        return '✗ Give the last 4 digits of the phone number bound to the account, e.g. /sms 1234.';
      this.phoneLast4 = v;
      await this.serial(() => this.smsCaptcha());
      return this.stageText();
    }
    if (this.stage === 'sms-code') {
      if (!/^\d{4,8}$/.test(v)) return `✗ The SMS code is digits, e.g. /sms 123456 (got "${value}").`;
      await this.serial(() => this.checkSms(v));
      return this.stageText();
    }
    return `✗ No SMS verification is pending (${this.stageText()}).`;
  }

  stageText(): string {
    switch (this.stage) {
      case 'logged-in':
        return `✓ 东方财富 ${this.describe()}.${this.renewing ? ' A renewal captcha is waiting: /captcha NNNN.' : ''}`;
      case 'captcha':
        return 'Waiting for the captcha: answer /captcha NNNN with the 4 digits in the picture.';
      case 'sms-phone':
        return 'SMS verification: answer /sms NNNN with the last 4 digits of the phone bound to the account.';
      case 'sms-captcha':
        return 'SMS verification: answer /captcha NNNN with the digits in the picture to have the code texted.';
      case 'sms-code':
        return 'SMS verification: answer /sms NNNNNN with the code texted to you.';
      case 'stopped':
        return `Login attempts stopped: ${this.why}. Send /login to try again.`;
      default:
        return `Logging in to 东方财富… (${this.why})`;
    }
  }

  // ---- the steps ----------------------------------------------------------------------------

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.busy.then(fn);
    this.busy = run.catch(() => {});
    return run;
  }

  /** From CheckZjzh: a captcha round, or a direct login when the site asks for none. */
  private async begin(fresh: boolean, reason?: string, force = false): Promise<void> {
    if (this.stage === 'stopped' && !force) return;
    if (fresh && this.stage !== 'logged-in') this.o.http.reset();
    this.setStage('starting', reason ?? 'logging in');
    try {
      if (this.o.http.cookieCount === 0) await this.o.http.get('/Login');
      const check = await this.o.http.postForm('/Login/CheckZjzh', { zjzh: this.o.account });
      this.randNum = String(Math.random());
      if (check.text.trim().replace(/"/g, '') === '1') await this.captchaRound('captcha', reason);
      else await this.authenticate('');
    } catch (err) {
      this.unreachable(err);
    }
  }

  private async captchaRound(stage: 'captcha' | 'sms-captcha', reason?: string): Promise<void> {
    this.randNum = String(Math.random());
    const res = await this.o.http.get(`/Login/YZM?randNum=${this.randNum}`);
    if (res.status !== 200 || res.bytes.length === 0)
      throw new Error(`GET /Login/YZM answered HTTP ${res.status}`);
    const file = join(this.o.dataDir, CAPTCHA_FILE);
    await writeFile(file, res.bytes);
    if (!(this.renewing && this.stage === 'logged-in'))
      this.setStage(
        stage,
        stage === 'captcha' ? 'waiting for the captcha (/captcha NNNN)' : 'waiting for the SMS captcha',
      );
    const head = reason ? `${reason}. ` : '';
    this.o.prompt({
      text:
        stage === 'captcha'
          ? `🔐 东方财富 login ${maskAccount(this.o.account)}: ${head}Answer /captcha NNNN with the 4 digits in the picture.`
          : `🔐 东方财富 SMS verification: ${head}Answer /captcha NNNN with the digits in the picture; the SMS code is sent next.`,
      file,
    });
  }

  private async authenticate(code: string): Promise<void> {
    let res: EmResponse;
    try {
      res = await this.o.http.postForm(
        '/Login/Authentication?validatekey=',
        {
          userId: this.o.account,
          password: emEncrypt(this.o.publicKey, this.o.password),
          randNumber: this.randNum,
          identifyCode: code,
          duration: this.o.durationMin,
          authCode: '',
          type: 'Z',
          secInfo: '',
        },
        {
          referer: `${this.o.http.base}/Login?el=1&clear=&returl=%2fTrade%2fBuy`,
          gw_reqtimestamp: String(this.wall()),
        },
      );
    } catch (err) {
      return this.unreachable(err);
    }
    const body = jsonOf(res);
    const status = statusOf(body);
    if (status === 0) {
      await rm(join(this.o.dataDir, CAPTCHA_FILE), { force: true });
      return this.fetchKey();
    }
    const b = (body ?? {}) as { ErrCode?: unknown; Errcode?: unknown };
    const errCode = Number(b.ErrCode ?? b.Errcode);
    const msg = messageOf(body) || `HTTP ${res.status} ${res.text.slice(0, 80)}`;
    if (errCode === -11) {
      // "由于密码错误次数过多…请先验证资金账号绑定的手机号码再登录" (LoginSec.js Pop_SMSSecurity)
      this.o.prompt({
        text: `📱 东方财富 asks for SMS verification (${msg || 'new device or too many wrong passwords'}).`,
      });
      if (this.phoneLast4) return this.smsCaptcha();
      this.setStage(
        'sms-phone',
        'SMS verification needed: /sms NNNN with the last 4 digits of the bound phone',
      );
      this.o.prompt({ text: this.stageText() });
      return;
    }
    if (/帐户状态被锁定|账户状态被锁定|临时限制/.test(msg)) {
      // LoginSec.js shows these as they are; retrying would only prolong a restriction.
      return this.halt(`东方财富 says: ${msg}`);
    }
    this.failures++;
    const max = this.o.maxFailures ?? 3;
    if (this.failures >= max)
      return this.halt(
        `${this.failures} logins in a row were refused (last: ${msg}); stopped so the account is not locked`,
      );
    try {
      await this.captchaRound('captcha', `login refused: ${msg} (attempt ${this.failures} of ${max})`);
    } catch (err) {
      this.unreachable(err);
    }
  }

  private async fetchKey(): Promise<void> {
    const page = this.o.credit ? '/MarginTrade/Buy' : '/Trade/Buy';
    try {
      const res = await this.o.http.get(page, { accept: 'text/html' });
      const key = VALIDATEKEY.exec(res.text)?.[1] ?? VALIDATEKEY_ALT.exec(res.text)?.[1];
      if (res.status !== 200 || !key) {
        this.failures++;
        return this.halt(
          `logged in, but ${page} has no em_validatekey (HTTP ${res.status}); the page may have changed`,
        );
      }
      this.validatekey = key;
      this.loggedInAt = this.wall();
      this.lastOkAt = this.loggedInAt;
      this.failures = 0;
      this.renewAsked = false;
      this.renewing = false;
      this.setStage('logged-in', '');
      this.o.log?.info({ account: maskAccount(this.o.account) }, '东方财富 logged in');
      this.o.prompt({
        text: `✓ 东方财富 logged in (${maskAccount(this.o.account)}); selling through it is available.`,
        loggedIn: true,
      });
      this.o.onLoggedIn?.();
    } catch (err) {
      this.unreachable(err);
    }
  }

  private async smsCaptcha(): Promise<void> {
    try {
      await this.captchaRound('sms-captcha');
    } catch (err) {
      this.unreachable(err);
    }
  }

  private async sendSms(code: string): Promise<void> {
    try {
      const res = await this.o.http.postForm('/Login/GetMsgVerifyCode_12', {
        vCode: code,
        randNumber: this.randNum,
        MobileNo: emEncrypt(this.o.publicKey, this.phoneLast4 ?? ''),
        User_id: this.o.account,
      });
      const body = jsonOf(res);
      if (statusOf(body) === 0) {
        this.setStage('sms-code', 'waiting for the SMS code (/sms NNNNNN)');
        this.o.prompt({
          text: `📱 验证码已发出: answer /sms NNNNNN with the code texted to the phone ending ${this.phoneLast4}.`,
        });
        return;
      }
      this.failures++;
      if (this.failures >= (this.o.maxFailures ?? 3))
        return this.halt(
          `SMS verification refused ${this.failures} times (last: ${messageOf(body) || res.status})`,
        );
      await this.captchaRound('sms-captcha', `refused: ${messageOf(body) || `HTTP ${res.status}`}`);
    } catch (err) {
      this.unreachable(err);
    }
  }

  private async checkSms(code: string): Promise<void> {
    try {
      const res = await this.o.http.postForm('/Login/GetCheckMsgVerCode_12', {
        Vercode: code,
        MobileNo: emEncrypt(this.o.publicKey, this.phoneLast4 ?? ''),
        User_id: this.o.account,
      });
      const body = jsonOf(res);
      if (statusOf(body) === 0) {
        // The page then closes the popup and the user logs in again with a fresh captcha.
        return this.begin(false, 'SMS verified; now the login itself');
      }
      this.failures++;
      const msg = messageOf(body) || `HTTP ${res.status}`;
      if (this.failures >= (this.o.maxFailures ?? 3))
        return this.halt(`SMS code refused ${this.failures} times (last: ${msg})`);
      this.o.prompt({ text: `✗ SMS code refused: ${msg}. Answer /sms NNNNNN again.` });
    } catch (err) {
      this.unreachable(err);
    }
  }

  /** Periodic: keep the session read, renew before it runs out, tell when it is gone. */
  private async tick(): Promise<void> {
    const now = this.wall();
    if (this.stage === 'stopped' && this.retryAt !== undefined && now >= this.retryAt) {
      this.retryAt = undefined;
      await this.serial(() => this.begin(true, 'trying again after a network failure', true));
      return;
    }
    if (this.stage !== 'logged-in') return;
    const phase = phaseAt(this.o.clock.now());
    const trading = phase !== 'closed';
    const left = (this.loggedInAt ?? now) + this.o.durationMin * 60_000 - now;
    if (trading && !this.renewAsked && left <= (this.o.renewBeforeMs ?? 5 * 60_000)) {
      this.renewAsked = true;
      this.renewing = true;
      // The current session keeps working while the owner answers; the new login replaces it.
      await this.serial(() =>
        this.captchaRound(
          'captcha',
          `the session ends in ${Math.max(0, Math.round(left / 60_000))} min`,
        ).catch((e: unknown) => this.unreachable(e)),
      );
      return;
    }
    if (!trading || now - (this.lastOkAt ?? 0) < (this.o.keepAliveMs ?? 50_000)) return;
    try {
      const page = this.o.credit ? '/MarginTrade/Buy' : '/Trade/Buy';
      const res = await this.o.http.get(page, { accept: 'text/html' });
      const key = VALIDATEKEY.exec(res.text)?.[1] ?? VALIDATEKEY_ALT.exec(res.text)?.[1];
      if (key) {
        this.validatekey = key;
        this.ok();
        await this.writeStatus();
      } else if (looksExpired(res) || res.status === 200) this.expired(`keep-alive read of ${page}`);
    } catch (err) {
      this.o.log?.warn({ err: (err as Error).message }, '东方财富 keep-alive read failed');
    }
  }

  private halt(why: string): void {
    this.retryAt = undefined;
    this.setStage('stopped', why);
    this.o.prompt({
      text: `🛑 东方财富 login stopped: ${why}. Selling through 东方财富 is unavailable; send /login to try again.`,
    });
  }

  private unreachable(err: unknown): void {
    const m = err instanceof TransportError || err instanceof Error ? err.message : String(err);
    // Nothing was refused, so no lock is risked: try again by itself in a minute.
    this.retryAt = this.wall() + 60_000;
    this.setStage('stopped', `东方财富 unreachable during login (${m}); trying again in a minute`);
    this.o.prompt({ text: `🛑 东方财富 login failed: ${m}. Trying again in a minute, or send /login.` });
  }

  private setStage(stage: LoginStage, why: string): void {
    this.stage = stage;
    this.why = why || this.why;
    if (stage === 'logged-in') this.o.health?.clear(HEALTH_KEY);
    else
      this.o.health?.set(
        HEALTH_KEY,
        'broker',
        'error',
        `selling through 东方财富 is unavailable: ${this.why}`,
      );
    void this.writeStatus();
  }

  /** DATA_DIR/eastmoney-status.json for `doctor` (a separate process). No secrets in it. */
  /**
   * Writes run one after another, each taking its snapshot when its turn comes: two overlapping
   * writes could otherwise rename in the wrong order and leave doctor an older state (seen: a
   * status from before the positions read landing after the one that had it).
   */
  writeStatus(): Promise<void> {
    this.statusWrite = this.statusWrite.then(() => this.writeStatusNow());
    return this.statusWrite;
  }

  private statusWrite: Promise<void> = Promise.resolve();

  private async writeStatusNow(): Promise<void> {
    const file = join(this.o.dataDir, STATUS_FILE);
    this.statusWrittenAt = this.wall();
    const doc = {
      pid: process.pid,
      stage: this.stage,
      loggedIn: this.loggedIn,
      why: this.loggedIn ? '' : this.why,
      account: maskAccount(this.o.account),
      loggedInAt: this.loggedInAt ?? null,
      durationMin: this.o.durationMin,
      validatekey: this.validatekey !== undefined,
      positionsReadAt: this.positionsReadAt ?? null,
      failures: this.failures,
      updatedAt: this.wall(),
    };
    try {
      const tmp = `${file}.${process.pid}.${++this.statusSeq}.tmp`;
      await writeFile(tmp, JSON.stringify(doc, null, 1));
      await rename(tmp, file);
    } catch {
      // doctor's view only; the session itself does not depend on it
    }
  }
}

export interface EmStatusFile {
  pid: number;
  stage: LoginStage;
  loggedIn: boolean;
  why: string;
  account: string;
  loggedInAt: number | null;
  durationMin: number;
  validatekey: boolean;
  positionsReadAt: number | null;
  failures: number;
  updatedAt: number;
}

/** What the running guard last wrote about its 东方财富 session (for doctor); undefined when none. */
export async function readEmStatus(dataDir: string): Promise<EmStatusFile | undefined> {
  try {
    return JSON.parse(await readFile(join(dataDir, STATUS_FILE), 'utf8')) as EmStatusFile;
  } catch {
    return undefined;
  }
}

/**
 * doctor: 东方财富 logs in only inside the running guard (the captcha goes to chat), so this reads
 * the session the guard reports in DATA_DIR/eastmoney-status.json and checks the site answers.
 */
export async function checkEastmoney(
  em: { tradeUrl: string },
  dataDir: string,
  c: Pick<CheckOptions, 'timeoutMs'>,
): Promise<CheckResult> {
  const name = 'broker eastmoney';
  let reach: string;
  try {
    const res = await fetch(`${em.tradeUrl}/Login`, {
      redirect: 'manual',
      signal: AbortSignal.timeout(c.timeoutMs),
    });
    reach = `${em.tradeUrl} answers (HTTP ${res.status})`;
  } catch (err) {
    const e = err as { cause?: { code?: string }; message?: string };
    return {
      name,
      ok: false,
      detail: `${em.tradeUrl}/Login unreachable: ${e.cause?.code ?? e.message ?? String(err)}`,
      fix: 'check the network, or set EASTMONEY_TRADE_URL=https://jywg.eastmoneysec.com (the other host)',
    };
  }
  const st = await readEmStatus(dataDir);
  if (!st || !processAlive(st.pid))
    return {
      name,
      ok: true,
      detail: `${reach}; no running guard on this DATA_DIR, so not logged in (the login happens in \`npm start\`: the captcha comes to chat, answer /captcha NNNN)`,
    };
  const wall = Date.now();
  const age = st.loggedInAt
    ? `${Math.round((wall - st.loggedInAt) / 60_000)} min old (of ${st.durationMin})`
    : 'none';
  const pos =
    st.positionsReadAt !== null && wall - st.positionsReadAt < 120_000
      ? `positions read ${Math.round((wall - st.positionsReadAt) / 1000)} s ago`
      : 'positions not read in the last 2 min';
  if (!st.loggedIn)
    return {
      name,
      ok: false,
      detail: `${reach}; the running guard (pid ${st.pid}) is NOT logged in as ${st.account}: ${st.why}; selling through 东方财富 is unavailable`,
      fix:
        st.stage === 'stopped'
          ? 'send /login in chat to try again'
          : 'answer the login prompt in chat (/captcha NNNN or /sms NNNNNN)',
    };
  return {
    name,
    ok: true,
    detail: `${reach}; logged in as ${st.account}, session ${age}, validatekey ${st.validatekey ? 'present' : 'MISSING'}, ${pos}`,
  };
}
