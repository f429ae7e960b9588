/**
 * What `sealguard doctor` asks of each chat channel: read-only calls with a deadline (getMe,
 * gettoken), a ✓ or a ✗ with a concrete fix. Here, next to the channels they check.
 */
import axios from 'axios';
import { pino } from 'pino';
import type { Config } from '../config.ts';
import type { CheckResult } from '../domain/check.ts';
import { proxyAgent } from './telegram.ts';
import { WecomApp } from './wecom/app.ts';

export async function checkTelegram(
  tg: NonNullable<Config['telegram']>,
  timeoutMs: number,
): Promise<CheckResult> {
  const name = 'telegram';
  const root = (tg.apiRoot ?? 'https://api.telegram.org').replace(/\/+$/, '');
  const agent = tg.proxy ? proxyAgent(tg.proxy) : undefined;
  try {
    const res = await axios.get(`${root}/bot${tg.token}/getMe`, {
      timeout: timeoutMs,
      validateStatus: () => true,
      proxy: false,
      ...(agent ? { httpAgent: agent, httpsAgent: agent } : {}),
    });
    const body = res.data as { ok?: boolean; result?: { username?: string }; description?: string };
    if (res.status === 200 && body?.ok) {
      return {
        name,
        ok: true,
        detail: `bot @${body.result?.username ?? '?'}; allowed users ${tg.allowedUsers.join(', ')}${tg.proxy ? ' (via proxy)' : ''}`,
      };
    }
    if (res.status === 401 || res.status === 404) {
      return {
        name,
        ok: false,
        detail: `getMe refused the token (${res.status} ${body?.description ?? ''})`.trim(),
        fix: 'copy the token again from @BotFather into TELEGRAM_BOT_TOKEN (or /revoke and use the new one)',
      };
    }
    return {
      name,
      ok: false,
      detail: `getMe answered HTTP ${res.status}`,
      fix: 'check TELEGRAM_API_ROOT/TELEGRAM_PROXY; try again later if Telegram is having trouble',
    };
  } catch (err) {
    return {
      name,
      ok: false,
      detail: `cannot reach ${tg.apiRoot ? 'TELEGRAM_API_ROOT' : 'api.telegram.org'}${tg.proxy ? ' through TELEGRAM_PROXY' : ''}: ${(err as Error).message}`,
      fix: tg.proxy
        ? 'check that the proxy in TELEGRAM_PROXY is running and reachable'
        : 'Telegram is blocked from mainland China: set TELEGRAM_PROXY (e.g. socks5://127.0.0.1:1080) or use WeCom',
    };
  }
}

/** WeCom refuses nothing on our clock, but our callback check does: ±300 s of WeCom's timestamp. */
const WECOM_WINDOW_MS = 300_000;

export async function checkWecom(
  w: NonNullable<Config['wecom']>,
  timeoutMs: number,
  wallNow: () => number = Date.now,
): Promise<CheckResult> {
  const name = 'wecom';
  const app = new WecomApp({
    corpId: w.corpId,
    agentId: w.agentId,
    secret: w.secret,
    logger: pino({ level: 'silent' }),
    timeoutMs,
    clock: { now: wallNow },
    ...(w.apiRoot ? { apiRoot: w.apiRoot } : {}),
  });
  try {
    await app.accessToken();
  } catch (err) {
    const msg = (err as Error).message;
    const code = (err as { errcode?: number }).errcode;
    const fix =
      code === 60020
        ? "add this machine's egress IP to the app's 企业可信IP (应用管理 → the app → 企业可信IP), then run doctor again"
        : code === 40001 || code === 40013 || code === 40091
          ? 'WECOM_CORP_ID or WECOM_SECRET is wrong: copy them again from the admin console (我的企业 → 企业ID; 应用管理 → the app → Secret)'
          : 'check access to qyapi.weixin.qq.com (or WECOM_API_ROOT) from this machine';
    return { name, ok: false, detail: msg, fix };
  }
  const base = `gettoken ok (agent ${w.agentId}); allowed users ${w.allowedUsers.join(', ') || '(none)'}${w.callback ? '; callbacks on' : ''}`;
  const skew = app.clockSkew();
  if (!skew)
    return { name, ok: true, detail: `${base}; clock skew not measured (no Date header in the answer)` };
  const s = skew.skewMs / 1000;
  const clock = `host clock ${s >= 0 ? '+' : '-'}${Math.abs(s).toFixed(1)} s vs qyapi Date header (±${(skew.uncertaintyMs / 1000).toFixed(1)} s)`;
  if (Math.abs(skew.skewMs) - skew.uncertaintyMs > WECOM_WINDOW_MS) {
    return {
      name,
      ok: false,
      detail: `${base}; ${clock}: beyond the ±${WECOM_WINDOW_MS / 1000} s window, so every WeCom callback (commands, card taps) is refused`,
      fix: "sync this machine's clock (timedatectl set-ntp true, or chronyc makestep; on Windows: w32tm /resync), then run doctor again",
    };
  }
  return { name, ok: true, detail: `${base}; ${clock}` };
}

/**
 * The calendar in use: which years the installed chinese-days covers (read at run time, so an
 * updated package shows here at once), the user's own days in DATA_DIR/calendar.json, and the
 * warning the guard gives from 1 December and on every provisional day.
 */
