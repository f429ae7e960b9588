/**
 * A fake 东方财富 web trading site (jywg.18.cn / jywg.eastmoneysec.com) on 127.0.0.1:0, following
 * what the real site does as the open-source clients show it:
 * - Depblu/emt_trade `emt_login_corrected.py` and `scripts/LoginSec.js` (captured from the site):
 *   GET /Login sets the session cookie; POST /Login/CheckZjzh answers "1" when a captcha is needed;
 *   GET /Login/YZM?randNum=r is a 4-digit picture bound to the cookie and r; POST
 *   /Login/Authentication takes userId (^[0-9]{12}$), password (RSA PKCS#1 v1.5, base64),
 *   randNumber, identifyCode, duration, authCode, type=Z, secInfo; ErrCode -11 opens SMS
 *   verification (GetMsgVerifyCode_12 {vCode, randNumber, MobileNo: RSA(last 4), User_id},
 *   GetCheckMsgVerCode_12 {Vercode, MobileNo, User_id}); lock / 临时限制 messages; the Windows
 *   安全控件 only when the UA is Windows (secStage 2).
 * - jadepeng/pytrader issue #9: a refused login answers Status as a STRING ('-1', Return_Code -1,
 *   '您输入的信息有误，请重新输入!'); success is Status 0 as a number (riiy/emtl tests compare
 *   `resp["Status"] == 0`).
 * - riiy/emtl `core.py` and tests: em_validatekey in the hidden input of /Trade/Buy, a 36-char
 *   UUID; every JSON call carries ?validatekey=; SubmitTradeV2 {stockCode, tradeType, zqmc, market,
 *   price, amount} -> Data[{Wtbh}]; RevokeOrders {revokes: "YYYYMMDD_Wtbh"} answers plain text
 *   starting with the Wtbh (wmo-v/eastmoneyapi README: "委托编号: 执行结果", three spaces between).
 * - zsmatrix62/emtl `error.py` and the emjy client comments: expiry {"Status":-2,"Message":
 *   "会话已超时，请重新登录!"}; refusals {"Status":-1,"Message":...,"Errcode":0}.
 * - emta `models/trading.py` / wmo-v `model/order.go`: position and order field names.
 * The exact wording of a successful revoke result and of throttling answers is not published;
 * those texts are ours ([unverified] in the reference notes).
 * Its own RSA keypair: the client under test gets `publicKeyPem` (EASTMONEY_RSA_PUBKEY).
 */
import { constants, generateKeyPairSync, privateDecrypt, randomUUID, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodePng } from '../../src/engine/chart.ts';
import { exchangeDate, formatExchangeTime } from '../../src/domain/time.ts';

export type Fault =
  | '5xx'
  | 'reset-before' // the socket dies before the request is handled
  | 'reset-after' // handled (an order is placed), then the socket dies: the answer is lost
  | 'html' // a login page where JSON was expected (what an expired session shows)
  | 'expire' // the session ends just before this request
  | 'throttle'
  | { delayMs: number };

export interface FakeHolding {
  code: string;
  market: 'HA' | 'SA';
  name: string;
  zqsl: number;
  kysl: number;
  price: string;
}

export interface FakeOrder {
  Wtrq: string;
  Wtsj: string;
  Wtbh: string;
  Zqdm: string;
  Zqmc: string;
  Mmlb: 'B' | 'S';
  Mmsm: string;
  Wtzt: string;
  Wtsl: string;
  Wtjg: string;
  Cjsl: string;
  Cjjg: string;
  Cjje: string;
  Cdsl: string;
  Bpsj: string;
  Market: string;
  Xyjylx?: string;
}

interface Sess {
  id: string;
  captcha?: { randNum: string; code: string };
  loggedIn: boolean;
  validatekey?: string;
  smsVerified?: boolean;
  smsSent?: string;
}

export interface FakeJywgOptions {
  account?: string;
  password?: string;
  /** Market time for 委托日期/时间 (the process's simulated clock in e2e). */
  now?: () => number;
  holdings?: FakeHolding[];
  /** Status of a new order: '已报' (default) or '未报'. */
  initialWtzt?: string;
  /** Requests per second above which the site answers 临时限制 (0: never). */
  throttlePerSecond?: number;
  /** A cancel first shows 已报待撤 / 部成待撤 until settleCancels() (default: at once 已撤 / 部撤). */
  cancelPending?: boolean;
}

export interface FakeJywg {
  url: string;
  publicKeyPem: string;
  account: string;
  password: string;
  /** The digits of the newest captcha picture served. */
  lastCaptcha(): string | undefined;
  captchasServed: number;
  logins: number;
  failedLogins: number;
  /** Every request: method, path, form fields (the password field is as sent: ciphertext). */
  log: { method: string; path: string; form: Record<string, string>; ua: string }[];
  orders: FakeOrder[];
  holdings: FakeHolding[];
  /** Faults for the next requests to a path (in order). */
  fault(path: string, ...f: Fault[]): void;
  /** Ends every session (the duration ran out, or the site logged everyone out). */
  expireAll(): void;
  /** The next login answers ErrCode -11 until SMS verification is done. */
  requireSms(phoneLast4: string, code: string): void;
  /** Lock the account (every login answers the lock message). */
  lock(): void;
  /** Simulate the counter: fills (partial when qty < remaining), 废单, or the end of a cancel. */
  fill(wtbh: string, qty: number, price?: string): void;
  rejectOrder(wtbh: string): void;
  /** The exchange confirms pending cancels: 已报待撤 -> 已撤, 部成待撤 -> 部撤. */
  settleCancels(): void;
  statusAsString: boolean;
  secStage2: boolean;
  close(): Promise<void>;
}

const DIGITS: Record<string, string[]> = {
  '0': ['111', '101', '101', '101', '111'],
  '1': ['010', '110', '010', '010', '111'],
  '2': ['111', '001', '111', '100', '111'],
  '3': ['111', '001', '111', '001', '111'],
  '4': ['101', '101', '111', '001', '001'],
  '5': ['111', '100', '111', '001', '111'],
  '6': ['111', '100', '111', '101', '111'],
  '7': ['111', '001', '010', '010', '010'],
  '8': ['111', '101', '111', '101', '111'],
  '9': ['111', '101', '111', '001', '111'],
};

/** A real PNG of the 4 digits (what /Login/YZM serves), drawn with a 3x5 font at 4x. */
export function captchaPng(code: string): Buffer {
  const s = 4;
  const w = 4 + code.length * 4 * s;
  const h = 5 * s + 8;
  const rgb = new Uint8Array(w * h * 3).fill(235);
  [...code].forEach((d, i) => {
    const g = DIGITS[d]!;
    for (let y = 0; y < 5; y++)
      for (let x = 0; x < 3; x++)
        if (g[y]![x] === '1')
          for (let dy = 0; dy < s; dy++)
            for (let dx = 0; dx < s; dx++) {
              const px = 4 + i * 4 * s + x * s + dx;
              const py = 4 + y * s + dy;
              rgb.set([20, 40, 120], (py * w + px) * 3);
            }
  });
  return encodePng(w, h, rgb);
}

/** PKCS#1 v1.5 type 2 unpadding by hand: node 20 refuses RSA_PKCS1_PADDING for private decryption. */
function rsaDecrypt(key: KeyObject, b64: string): string | undefined {
  try {
    const raw = privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, Buffer.from(b64, 'base64'));
    if (raw[0] !== 0 || raw[1] !== 2) return undefined;
    const sep = raw.indexOf(0, 2);
    if (sep < 10) return undefined;
    return raw.subarray(sep + 1).toString('utf8');
  } catch {
    return undefined;
  }
}

const LOGIN_PAGE =
  '<!DOCTYPE html><html><head><title>东方财富证券 网上交易 登录</title></head><body><form id="loginForm" action="/Login/Authentication"><input id="txtZjzh"/><input id="txtPwd" type="password"/><img id="imgValidCode" src="/Login/YZM?randNum=0.1"/></form></body></html>';

export async function startFakeJywg(opts: FakeJywgOptions = {}): Promise<FakeJywg> {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const account = opts.account ?? '540100001234';
  const password = opts.password ?? 'pw-Secret#135';
  const now = opts.now ?? (() => Date.now());
  const sessions = new Map<string, Sess>();
  const faults = new Map<string, Fault[]>();
  const recent: number[] = [];
  let nextWtbh = 130_660;
  let locked = false;
  let sms: { phone: string; code: string } | undefined;
  let newest: string | undefined;

  const f = {
    url: '',
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    account,
    password,
    lastCaptcha: () => newest,
    captchasServed: 0,
    logins: 0,
    failedLogins: 0,
    log: [] as FakeJywg['log'],
    orders: [] as FakeOrder[],
    holdings: opts.holdings ?? [],
    statusAsString: false,
    secStage2: true,
    fault(path: string, ...list: Fault[]) {
      faults.set(path, [...(faults.get(path) ?? []), ...list]);
    },
    expireAll() {
      for (const s of sessions.values()) {
        s.loggedIn = false;
        delete s.validatekey;
      }
    },
    requireSms(phone: string, code: string) {
      sms = { phone, code };
    },
    lock() {
      locked = true;
    },
    fill(wtbh: string, qty: number, price?: string) {
      const o = f.orders.find((x) => x.Wtbh === wtbh)!;
      const done = Number(o.Cjsl) + qty;
      o.Cjsl = String(done);
      o.Cjjg = price ?? o.Wtjg;
      o.Cjje = (done * Number(o.Cjjg)).toFixed(2);
      o.Wtzt = done >= Number(o.Wtsl) ? '已成' : '部成';
      const h = f.holdings.find((x) => x.code === o.Zqdm);
      if (h) h.zqsl -= qty;
    },
    settleCancels() {
      for (const o of f.orders)
        if (o.Wtzt === '已报待撤' || o.Wtzt === '部成待撤') {
          const left = Number(o.Wtsl) - Number(o.Cjsl);
          o.Cdsl = String(left);
          o.Wtzt = o.Wtzt === '部成待撤' ? '部撤' : '已撤';
          unfreeze(o, left);
        }
    },
    rejectOrder(wtbh: string) {
      const o = f.orders.find((x) => x.Wtbh === wtbh)!;
      o.Wtzt = '废单';
      unfreeze(o, Number(o.Wtsl));
    },
    close: async () => {},
  };

  function unfreeze(o: FakeOrder, qty: number) {
    const h = f.holdings.find((x) => x.code === o.Zqdm);
    if (h) h.kysl += qty;
  }

  const json = (res: ServerResponse, body: unknown, status = 200): void => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
  };
  const refused = (message: string, extra: Record<string, unknown> = {}) => ({
    Status: f.statusAsString ? '-1' : -1,
    Message: message,
    Count: 0,
    Data: [],
    Errcode: 0,
    ...extra,
  });
  const expired = { Status: -2, Message: '会话已超时，请重新登录!' };

  function session(req: IncomingMessage, res: ServerResponse): Sess {
    const m = /ASP\.NET_SessionId=([A-Za-z0-9]+)/.exec(req.headers.cookie ?? '');
    const found = m ? sessions.get(m[1]!) : undefined;
    if (found) return found;
    const s: Sess = { id: randomUUID().replace(/-/g, '').slice(0, 24), loggedIn: false };
    sessions.set(s.id, s);
    res.setHeader('set-cookie', [`ASP.NET_SessionId=${s.id}; path=/; HttpOnly`, 'Yybdm=5401; path=/']);
    return s;
  }

  function holdingsRows() {
    return f.holdings.map((h) => ({
      Zqdm: h.code,
      Zqmc: h.name,
      Zqsl: String(h.zqsl),
      Kysl: String(h.kysl),
      Ksssl: String(h.kysl),
      Djsl: '0',
      Gfmcdj: String(h.zqsl - h.kysl),
      Cbjg: h.price,
      Zxjg: h.price,
      Zxsz: (h.zqsl * Number(h.price)).toFixed(2),
      Market: h.market,
      Gddm: h.market === 'HA' ? 'A123456789' : '0123456789',
      Zjzh: account,
    }));
  }

  async function handle(req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://x');
    const path = u.pathname;
    const form = Object.fromEntries(new URLSearchParams(raw));
    const ua = String(req.headers['user-agent'] ?? '');
    f.log.push({ method: req.method ?? '', path, form, ua });
    const s = session(req, res);

    const queue = faults.get(path);
    const fault = queue?.shift();
    if (fault && typeof fault === 'object') await new Promise((r) => setTimeout(r, fault.delayMs));
    if (fault === 'reset-before') return void req.socket.destroy();
    if (fault === '5xx')
      return void res.writeHead(502, { 'content-type': 'text/html' }).end('<html>502 Bad Gateway</html>');
    if (fault === 'html') return void res.writeHead(200, { 'content-type': 'text/html' }).end(LOGIN_PAGE);
    if (fault === 'expire') {
      s.loggedIn = false;
      delete s.validatekey;
    }
    const t = Date.now();
    recent.push(t);
    while (recent.length && recent[0]! < t - 1000) recent.shift();
    if (fault === 'throttle' || (opts.throttlePerSecond && recent.length > opts.throttlePerSecond))
      return json(res, refused('您的资金账号已被网页端临时限制，请稍后再试'));

    // ---- login -----------------------------------------------------------------------------
    if (path === '/Login' && req.method === 'GET')
      return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(LOGIN_PAGE);
    if (path === '/Login/CheckZjzh')
      return void res.writeHead(200, { 'content-type': 'text/plain' }).end('1');
    if (path === '/Login/YZM') {
      const code = String(1000 + Math.floor(Math.random() * 9000));
      s.captcha = { randNum: u.searchParams.get('randNum') ?? '', code };
      newest = code;
      f.captchasServed++;
      return void res.writeHead(200, { 'content-type': 'image/png' }).end(captchaPng(code));
    }
    if (path === '/Login/Authentication') {
      const cap = s.captcha;
      delete s.captcha; // one try per picture, as the page reloads it after a refusal
      if (f.secStage2 && /Windows/i.test(ua) && !form.secInfo) return json(res, refused('请安装安全控件'));
      if (!/^[0-9]{12}$/.test(form.userId ?? '')) return json(res, refused('资金账号输入不合法'));
      if (locked) return json(res, refused('帐户状态被锁定,不允许登陆！'));
      if (!cap || cap.randNum !== form.randNumber || cap.code !== form.identifyCode) {
        f.failedLogins++;
        return json(res, {
          Status: '-1',
          Return_Code: -1,
          Message: '验证码错误，请重新输入!',
          Khmc: null,
          Data: null,
        });
      }
      if (form.userId !== account || rsaDecrypt(privateKey, form.password ?? '') !== password) {
        f.failedLogins++;
        return json(res, {
          Status: '-1',
          Return_Code: -1,
          Message: '您输入的信息有误，请重新输入!',
          Khmc: null,
        });
      }
      if (sms && !s.smsVerified)
        return json(res, {
          Status: -1,
          ErrCode: -11,
          Message: '为了您的账户安全，请先验证资金账号绑定的手机号码再登录',
        });
      if (
        !['15', '30', '60', '180', '360', '1800'].includes(form.duration ?? '') &&
        !/^\d+$/.test(form.duration ?? '')
      )
        return json(res, refused('在线时长错误'));
      s.loggedIn = true;
      s.validatekey = randomUUID();
      f.logins++;
      const d = formatExchangeTime(now());
      return json(res, {
        Status: f.statusAsString ? '0' : 0,
        Message: '',
        Data: [
          {
            khmc: '张三',
            Syspm1: account,
            Date: d.slice(0, 10).replace(/-/g, ''),
            Time: d.slice(11, 19).replace(/:/g, ''),
          },
        ],
      });
    }
    if (path === '/Login/GetMsgVerifyCode_12') {
      const cap = s.captcha;
      delete s.captcha;
      if (!sms) return json(res, refused('无需短信验证'));
      if (!cap || cap.randNum !== form.randNumber || cap.code !== form.vCode)
        return json(res, refused('图形验证码错误'));
      if (rsaDecrypt(privateKey, form.MobileNo ?? '') !== sms.phone)
        return json(res, refused('手机号码与资金账号绑定的不一致'));
      s.smsSent = sms.code;
      return json(res, { Status: 0, Message: '验证码已发出' });
    }
    if (path === '/Login/GetCheckMsgVerCode_12') {
      if (
        !sms ||
        !s.smsSent ||
        form.Vercode !== s.smsSent ||
        rsaDecrypt(privateKey, form.MobileNo ?? '') !== sms.phone
      )
        return json(res, refused('短信验证码错误'));
      s.smsVerified = true;
      return json(res, { Status: 0, Message: '验证成功' });
    }

    // ---- logged-in pages ------------------------------------------------------------------------
    if (
      req.method === 'GET' &&
      ['/Trade/Buy', '/Trade/Sale', '/Search/Position', '/MarginTrade/Buy'].includes(path)
    ) {
      if (!s.loggedIn)
        return void res
          .writeHead(302, { location: `/Login?el=1&clear=1&returl=${encodeURIComponent(path)}` })
          .end();
      return void res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end(
          `<!DOCTYPE html><html><body><div class="trade"><input id="em_validatekey" type="hidden" value="${s.validatekey}" /></div></body></html>`,
        );
    }

    // ---- JSON API ---------------------------------------------------------------------------------
    if (!s.loggedIn || u.searchParams.get('validatekey') !== s.validatekey) return json(res, expired);
    const day = exchangeDate(now()).replace(/-/g, '');
    switch (path) {
      case '/Com/queryAssetAndPositionV1': {
        const mv = f.holdings.reduce((a, h) => a + h.zqsl * Number(h.price), 0);
        return json(res, {
          Status: 0,
          Message: null,
          Data: [
            {
              Zzc: (500_000 + mv).toFixed(2),
              Kyzj: '500000.00',
              Kqzj: '500000.00',
              Djzj: '0.00',
              Zjye: '500000.00',
              Zxsz: mv.toFixed(2),
              Dryk: '0.00',
              Ljyk: '0.00',
              Money_type: 'RMB',
              positions: holdingsRows(),
            },
          ],
        });
      }
      case '/Search/GetStockList':
        return json(res, { Status: 0, Message: null, Count: f.holdings.length, Data: holdingsRows() });
      case '/Search/GetOrdersData':
      case '/Trade/GetRevokeList': {
        const qqhs = Number(form.qqhs ?? 20);
        let rows = f.orders.filter((o) => o.Wtrq === day);
        if (path === '/Trade/GetRevokeList')
          rows = rows.filter((o) => ['未报', '已报', '部成'].includes(o.Wtzt));
        return json(res, {
          Status: 0,
          Message: null,
          Count: rows.length,
          Data: rows.slice(0, qqhs),
          Errcode: 0,
        });
      }
      case '/Search/GetDealData': {
        const rows = f.orders
          .filter((o) => o.Wtrq === day && Number(o.Cjsl) > 0)
          .map((o) => ({
            Cjbh: `9${o.Wtbh}`,
            Wtbh: o.Wtbh,
            Mmlb: o.Mmlb,
            Zqdm: o.Zqdm,
            Zqmc: o.Zqmc,
            Cjsl: o.Cjsl,
            Cjjg: o.Cjjg,
            Cjsj: o.Wtsj,
            Wtsl: o.Wtsl,
            Wtjg: o.Wtjg,
            Market: o.Market,
          }));
        return json(res, { Status: 0, Message: null, Count: rows.length, Data: rows });
      }
      case '/Trade/SubmitTradeV2':
      case '/MarginTrade/SubmitTradeV2': {
        const margin = path.startsWith('/Margin');
        if (margin && form.xyjylx !== '7' && form.tradeType === 'S')
          return json(res, refused('信用交易类型错误'));
        const h = f.holdings.find((x) => x.code === form.stockCode && x.market === form.market);
        const amount = Number(form.amount);
        const decimals = /^(5|1)/.test(form.stockCode ?? '') ? 3 : 2;
        if (!new RegExp(`^\\d+(\\.\\d{1,${decimals}})?$`).test(form.price ?? ''))
          return json(res, refused('委托价格错误'));
        if (form.tradeType !== 'S') return json(res, refused('本测试柜台只卖出'));
        if (!h || !Number.isInteger(amount) || amount <= 0 || amount > h.kysl)
          return json(res, refused('可用股份不足'));
        h.kysl -= amount;
        const wtbh = String(nextWtbh++);
        const time = formatExchangeTime(now()).slice(11, 19).replace(/:/g, '');
        f.orders.push({
          Wtrq: day,
          Wtsj: time,
          Wtbh: wtbh,
          Zqdm: h.code,
          Zqmc: h.name,
          Mmlb: 'S',
          Mmsm: margin ? '担保品卖出' : '证券卖出',
          Wtzt: opts.initialWtzt ?? '已报',
          Wtsl: String(amount),
          Wtjg: Number(form.price).toFixed(3),
          Cjsl: '0',
          Cjjg: '0.000',
          Cjje: '0.00',
          Cdsl: '0',
          Bpsj: time,
          Market: h.market,
          ...(margin ? { Xyjylx: form.xyjylx } : {}),
        });
        if (fault === 'reset-after') return void req.socket.destroy();
        return json(res, { Status: 0, Message: null, Count: 1, Data: [{ Wtbh: wtbh }], Errcode: 0 });
      }
      case '/Trade/RevokeOrders': {
        const parts = (form.revokes ?? '').split(',').filter(Boolean);
        const out = parts.map((p) => {
          const [d, wtbh] = p.split('_');
          const o = f.orders.find((x) => x.Wtrq === d && x.Wtbh === wtbh);
          if (!o) return `${wtbh ?? p}: 委托不存在`;
          if (!['未报', '已报', '部成'].includes(o.Wtzt)) return `${wtbh}: 该委托状态不允许撤单`;
          if (opts.cancelPending) {
            o.Wtzt = Number(o.Cjsl) > 0 ? '部成待撤' : '已报待撤';
            return `${wtbh}: 撤单委托已提交`;
          }
          const left = Number(o.Wtsl) - Number(o.Cjsl);
          o.Cdsl = String(left);
          o.Wtzt = Number(o.Cjsl) > 0 ? '部撤' : '已撤';
          unfreeze(o, left);
          return `${wtbh}: 撤单委托已提交`;
        });
        return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(out.join('   '));
      }
      default:
        return json(res, { Status: -1, Message: `未知请求 ${path}` }, 404);
    }
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500).end(String(err));
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  f.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  f.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return f;
}
