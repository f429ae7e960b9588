/**
 * `sealguard doctor`: checks what `start` would use, one line per check (✓/✗) and a concrete fix
 * under each failure. Meant to be run next to a live guard, so it never changes anything: store
 * files are validated on copies (opening a store in place removes stray temp files, which could
 * be a live writer's), and nothing is ever sent to a chat or a broker beyond read-only calls.
 * Every check has a deadline, so a dead host makes a ✗, never a hang.
 */
import { randomBytes } from 'node:crypto';
import { constants, copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { access, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import axios from 'axios';
import WebSocket from 'ws';
import { pino } from 'pino';
import { ConfigError, isDemo, loadConfig, type Config } from '../config.ts';
import { EasytraderBroker } from '../broker/easytrader.ts';
import { checkBroker } from '../broker/factory.ts';
import type { CheckResult } from '../domain/check.ts';
import { PaperBroker } from '../broker/paper.ts';
import { proxyAgent } from '../chat/telegram.ts';
import { WecomApp } from '../chat/wecom/app.ts';
import { marketCalendar } from '../domain/calendar.ts';
import { clockFromSpec, type Clock } from '../domain/clock.ts';
import { formatTicks } from '../domain/prices.ts';
import { formatBytes } from '../domain/bytes.ts';
import { exchangeDate } from '../domain/time.ts';
import { openGuardStores } from '../engine/state.ts';
import { isPollingSource, pollingFeed } from '../market/sources.ts';
import { skewText } from '../market/clockWatch.ts';
import type { ResponseTiming } from '../market/httpClient.ts';
import { processAlive, readHealthFile } from '../store/healthFile.ts';
import { LOW_DISK_BYTES, readDiskSpace, type DiskReading } from '../store/diskSpace.ts';
import { describeHolder, runningHolder } from '../store/lock.ts';
import { readCalendarFiles } from '../store/calendarStore.ts';
import { SINA_ORIGIN, SINA_WS_URL, toSinaCode } from '../market/sinaWs.ts';

const HELP = `Usage: sealguard doctor [--timeout <ms>]

Checks the configuration (environment and ./.env), the data directory and its store files, each
quote source in QUOTE_SOURCES, the broker, Telegram and WeCom, and the exchange calendar. Prints one
line per check with a fix under each failure. Changes nothing. Exit code 0 when every check passes.
  --timeout <ms>   deadline per network check (default 8000)`;

/** A well-known, always-listed code: 浦发银行. */
const PROBE_SYMBOL = '600000.SH';
const STORE_FILES = ['settings.json', 'orders.json', 'actions.json'] as const;

export type { CheckResult };

export interface DoctorOptions {
  /** Per network check, ms. */
  timeoutMs?: number;
  /** Wall clock; default Date.now. */
  wallNow?: () => number;
}

export async function run(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  let timeoutMs = 8000;
  const t = args.indexOf('--timeout');
  if (t >= 0) {
    const v = Number(args[t + 1]);
    if (!Number.isInteger(v) || v < 100) {
      process.stderr.write('sealguard doctor: --timeout needs a whole number of milliseconds >= 100\n');
      return 2;
    }
    timeoutMs = v;
  }
  const out = (line: string) => process.stdout.write(line + '\n');
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    out('✗ configuration: invalid');
    for (const p of err.problems) out(`    ${p}`);
    out('    fix: correct these keys in .env or the environment (.env.example documents each one)');
    // The calendar needs no configuration, so it is still worth a line.
    printResults([await checkCalendar(clockFromSpec(undefined, Date.now))], out);
    return 1;
  }
  const results = await runChecks(config, { timeoutMs });
  printResults(results, out, config.secrets);
  const failed = results.filter((r) => !r.ok).length;
  out(failed === 0 ? '\nAll checks passed.' : `\n${failed} check${failed === 1 ? '' : 's'} failed.`);
  return failed === 0 ? 0 : 1;
}

export function printResults(
  results: CheckResult[],
  out: (line: string) => void,
  secrets: string[] = [],
): void {
  // Belt and braces: no check should put a secret in its text, but a library error message might.
  const clean = (s: string) =>
    secrets.reduce((acc, k) => (k.length >= 4 ? acc.split(k).join('***') : acc), s);
  for (const r of results) {
    out(clean(`${r.ok ? '✓' : '✗'} ${r.name}: ${r.detail}`));
    if (!r.ok && r.fix) out(clean(`    fix: ${r.fix}`));
  }
}

export async function runChecks(config: Config, opts: DoctorOptions = {}): Promise<CheckResult[]> {
  const timeoutMs = opts.timeoutMs ?? 8000;
  const wallNow = opts.wallNow ?? Date.now;
  const clock = clockFromSpec(config.clock?.spec, wallNow);
  const results: CheckResult[] = [checkConfig(config)];
  // Network checks run side by side so a dead host costs one timeout, not one per check.
  const pending: Promise<CheckResult>[] = [
    checkDataDir(config),
    checkStores(config),
    ...config.quotes.sources.map((name) =>
      withDeadline(`quotes ${name}`, timeoutMs, checkSource(config, name, clock, timeoutMs, wallNow)),
    ),
    withDeadline(`broker ${config.broker.kind}`, timeoutMs, checkBroker(config, { clock, timeoutMs })),
  ];
  if (config.telegram)
    pending.push(withDeadline('telegram', timeoutMs, checkTelegram(config.telegram, timeoutMs)));
  if (config.wecom)
    pending.push(withDeadline('wecom', timeoutMs, checkWecom(config.wecom, timeoutMs, wallNow)));
  results.push(...(await Promise.all(pending)));
  if (config.wecomWebhookKey) {
    results.push({
      name: 'wecom robot',
      ok: true,
      detail: 'key set (not tested: the only test is a message to the group)',
    });
  }
  results.push(await checkCalendar(clock, config.dataDir));
  const running = await checkRunningGuard(config);
  if (running) results.push(running);
  return results;
}

/**
 * What the guard running on this DATA_DIR reports about itself (from its health.json): the
 * problems only a live process can see, such as a blocked Telegram chat or dead polling.
 */
export async function checkRunningGuard(config: Config): Promise<CheckResult | undefined> {
  const h = await readHealthFile(config.dataDir);
  if (!h || !processAlive(h.pid)) return undefined;
  const counters = Object.entries(h.counters).filter(([, n]) => n > 0);
  const extra = counters.length ? ` (${counters.map(([k, n]) => `${k}: ${n}`).join(', ')})` : '';
  if (h.items.length === 0)
    return { name: 'running guard', ok: true, detail: `pid ${h.pid} reports no problem${extra}` };
  return {
    name: 'running guard',
    ok: !h.items.some((i) => i.level === 'error'),
    detail: `pid ${h.pid} reports: ${h.items.map((i) => i.text).join('; ')}${extra}`,
    fix: 'see each problem above; /status in chat shows the same',
  };
}

function checkConfig(config: Config): CheckResult {
  const where = isDemo(config)
    ? 'nothing configured: `npm start` runs the replayed demo day'
    : `${config.setKeys.length} keys set; broker ${config.broker.kind}, default mode ${config.guard.mode}`;
  const warn = config.warnings.length ? `; warnings: ${config.warnings.join('; ')}` : '';
  const clock = config.clock ? `; SEALGUARD_CLOCK ${config.clock.spec} (simulated market time)` : '';
  return { name: 'configuration', ok: true, detail: where + clock + warn };
}

async function checkDataDir(config: Config): Promise<CheckResult> {
  const dir = config.dataDir;
  const name = 'data directory';
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory())
      return { name, ok: false, detail: `${dir} is not a directory`, fix: 'point DATA_DIR at a directory' };
    // A probe name no store uses, so a live guard never sees it as one of its temp files.
    const probe = join(dir, `.doctor-${process.pid}-${randomBytes(3).toString('hex')}`);
    try {
      await writeFile(probe, 'ok');
      await unlink(probe);
    } catch (err) {
      return {
        name,
        ok: false,
        detail: `${dir} is not writable (${(err as Error).message})`,
        fix: `give the user running SealGuard write access to ${dir} or set DATA_DIR elsewhere`,
      };
    }
    const running = runningHolder(dir);
    const guard = running ? `; in use by the running guard (${describeHolder(running)})` : '';
    let disk: DiskReading;
    try {
      disk = await readDiskSpace(dir);
    } catch (err) {
      return {
        name,
        ok: true,
        detail: `${dir} is writable (free space unknown: ${(err as Error).message})${guard}`,
      };
    }
    const free = `${formatBytes(disk.freeBytes)} free of ${formatBytes(disk.totalBytes)}`;
    if (disk.freeBytes < LOW_DISK_BYTES)
      return {
        name,
        ok: false,
        detail: `${dir} is writable but only ${free} (below ${formatBytes(LOW_DISK_BYTES)})${guard}`,
        fix: `free space on that disk or set DATA_DIR to a larger one: when it is full, orders cannot be recorded and nothing is sold`,
      };
    return { name, ok: true, detail: `${dir} is writable; ${free}${guard}` };
  }
  let parent = dirname(dir);
  while (!existsSync(parent) && dirname(parent) !== parent) parent = dirname(parent);
  try {
    await access(parent, constants.W_OK);
    const free = await readDiskSpace(parent).then(
      (d) =>
        `; ${formatBytes(d.freeBytes)} free there${d.freeBytes < LOW_DISK_BYTES ? ` (LOW: under ${formatBytes(LOW_DISK_BYTES)})` : ''}`,
      () => '',
    );
    return { name, ok: true, detail: `${dir} does not exist yet; start will create it${free}` };
  } catch {
    return {
      name,
      ok: false,
      detail: `${dir} does not exist and ${parent} is not writable`,
      fix: `create ${dir} for the user running SealGuard or set DATA_DIR elsewhere`,
    };
  }
}

/** Each store file through the product's own open path, on a copy, so the real file is never touched. */
async function checkStores(config: Config): Promise<CheckResult> {
  const name = 'store files';
  const dir = config.dataDir;
  const extra: [string, (copyDir: string) => Promise<unknown>][] = [];
  const fakeClock = { now: () => Date.now() };
  if (config.broker.kind === 'paper')
    extra.push(['paper.json', (d) => PaperBroker.open({ dataDir: d, clock: fakeClock })]);
  if (config.broker.kind === 'easytrader')
    extra.push([
      'easytrader.json',
      (d) =>
        EasytraderBroker.open({ url: config.broker.url ?? 'http://127.0.0.1', dataDir: d, clock: fakeClock }),
    ]);
  const files: [string, (copyDir: string) => Promise<unknown>][] = [
    ...STORE_FILES.map((f): [string, (d: string) => Promise<unknown>] => [f, (d) => openGuardStores(d)]),
    ...extra,
  ];
  const present = files.filter(([f]) => existsSync(join(dir, f)));
  if (present.length === 0) return { name, ok: true, detail: 'none yet (a fresh start)' };
  const bad: string[] = [];
  for (const [file, open] of present) {
    const real = join(dir, file);
    const copyDir = mkdtempSync(join(tmpdir(), 'sealguard-doctor-'));
    try {
      copyFileSync(real, join(copyDir, file));
      await open(copyDir);
    } catch (err) {
      bad.push(
        (err as Error).message
          .split(join(copyDir, file))
          .join(real)
          .replace(/ The file was left untouched\.$/, ''),
      );
    } finally {
      rmSync(copyDir, { recursive: true, force: true });
    }
  }
  if (bad.length === 0) return { name, ok: true, detail: `${present.map(([f]) => f).join(', ')} valid` };
  return {
    name,
    ok: false,
    detail: bad.join('; '),
    fix:
      'start refuses to run on these. Restore the file from a backup (or a .bak next to it), repair it by hand, ' +
      'or move it aside to start that part afresh (moving orders.json aside forgets today’s sell intents)',
  };
}

async function checkSource(
  config: Config,
  name: string,
  clock: Clock,
  timeoutMs: number,
  wallNow: () => number = Date.now,
): Promise<CheckResult> {
  const label = `quotes ${name}`;
  if (name === 'sina-ws') return checkSinaWs(config.quotes.sinaWsUrl ?? SINA_WS_URL, timeoutMs);
  if (name === 'qmt') return checkBridgeStream(config, timeoutMs);
  // Inbound: the PTrade strategy posts to the relay, so there is nothing to call from here; the
  // running guard's health (shown below) says whether its posts arrive.
  if (name === 'ptrade')
    return { name: label, ok: true, detail: 'posted by the PTrade strategy to the relay (nothing to probe)' };
  if (!isPollingSource(name))
    return { name: label, ok: false, detail: 'unknown source', fix: 'fix QUOTE_SOURCES' };
  const feed = pollingFeed(name, {
    TENCENT_QUOTE_URL: config.quotes.tencentUrl,
    SINA_QUOTE_URL: config.quotes.sinaUrl,
    EASTMONEY_QUOTE_URL: config.quotes.eastmoneyUrl,
  });
  const started = performance.now();
  try {
    const r = await feed.fetch([PROBE_SYMBOL], undefined, timeoutMs);
    const ms = Math.round(performance.now() - started);
    const skew = dateSkew(r.timing, wallNow);
    if (skew !== null && Math.abs(skew) >= CLOCK_SKEW_ALERT_MS) {
      return {
        name: label,
        ok: false,
        detail: `answered in ${ms} ms, but its Date header says the ${skewText(skew)}`,
        fix: "set the host's time (enable NTP, e.g. timedatectl set-ntp true); the running guard follows the exchange's time meanwhile, but signatures and logs do not",
      };
    }
    const s = r.snapshots.find((x) => x.symbol === PROBE_SYMBOL);
    if (!s) {
      return {
        name: label,
        ok: false,
        detail: `answered in ${ms} ms but had no record for ${PROBE_SYMBOL}`,
        fix: `the source may have changed its format; put another source first in QUOTE_SOURCES and report it`,
      };
    }
    return {
      name: label,
      ok: true,
      detail: `${PROBE_SYMBOL} ${s.name} ${formatTicks(s.last, s.decimals)} in ${ms} ms; ${ageText(clock.now() - s.ts)}`,
    };
  } catch (err) {
    const urlKey = { tencent: 'TENCENT_QUOTE_URL', sina: 'SINA_QUOTE_URL', eastmoney: 'EASTMONEY_QUOTE_URL' }[
      name
    ];
    return {
      name: label,
      ok: false,
      detail: (err as Error).message,
      fix: `check this machine's internet access to ${name} (or ${urlKey}); behind a firewall put a reachable source first in QUOTE_SOURCES`,
    };
  }
}

const CLOCK_SKEW_ALERT_MS = 5_000;

/** Source clock minus host wall clock from one answer's Date header (second resolution: ±1 s). */
function dateSkew(t: ResponseTiming | undefined, wallNow: () => number): number | null {
  if (!t || t.serverDate === null) return null;
  const wallAtMid = wallNow() - (performance.now() - (t.sentAt + t.receivedAt) / 2);
  return t.serverDate + 500 - wallAtMid;
}

/** The bridge's quote stream answers with an event for the probe symbol. */
async function checkBridgeStream(config: Config, timeoutMs: number): Promise<CheckResult> {
  const { BridgeQuoteStream } = await import('../market/bridgeQuotes.ts');
  const started = performance.now();
  const q = new BridgeQuoteStream({ url: config.broker.url ?? '', token: config.broker.token ?? '' });
  let why = 'no answer';
  try {
    const first = await new Promise<{ name: string; last: string } | null>((resolve) => {
      const t = setTimeout(() => resolve(null), timeoutMs);
      q.start(
        [PROBE_SYMBOL],
        (s) => {
          clearTimeout(t);
          resolve({ name: s.name, last: formatTicks(s.last, s.decimals) });
        },
        (state, detail) => {
          if (state === 'closed' && detail) why = detail;
        },
      );
    });
    const ms = Math.round(performance.now() - started);
    if (first) return { name: 'quotes qmt', ok: true, detail: `${PROBE_SYMBOL} ${first.last} in ${ms} ms` };
    return {
      name: 'quotes qmt',
      ok: false,
      detail: `GET /v1/quotes/stream gave no event for ${PROBE_SYMBOL} within ${timeoutMs} ms (${why})`,
      fix: "start the bridge's quote service on the trading PC (BRIDGE_NOT_READY means the terminal's market data is disconnected), or put a web source first in QUOTE_SOURCES",
    };
  } finally {
    await q.stop();
  }
}

function ageText(ms: number): string {
  if (ms < 0) return 'quote time is ahead of the market clock';
  if (ms < 120_000) return `quote ${(ms / 1000).toFixed(1)} s old`;
  return `quote ${Math.round(ms / 60_000)} min old (normal outside trading hours)`;
}

function checkSinaWs(base: string, timeoutMs: number): Promise<CheckResult> {
  const name = 'quotes sina-ws';
  const fix = 'check access to hq.sinajs.cn (or SINA_WS_URL); the polling sources keep working without it';
  return new Promise((resolve) => {
    const started = performance.now();
    let openedMs = 0;
    const ws = new WebSocket(`${base}?list=${toSinaCode(PROBE_SYMBOL)}`, {
      origin: SINA_ORIGIN,
      handshakeTimeout: timeoutMs,
    });
    const done = (r: CheckResult) => {
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
      resolve(r);
    };
    const timer = setTimeout(
      () =>
        done({
          name,
          ok: false,
          detail: openedMs
            ? `connected in ${openedMs} ms but no message within ${timeoutMs} ms`
            : `no connection within ${timeoutMs} ms`,
          fix,
        }),
      timeoutMs,
    );
    ws.on('open', () => (openedMs = Math.round(performance.now() - started)));
    ws.on('message', (data) => {
      const ms = Math.round(performance.now() - started);
      const text = Buffer.isBuffer(data) ? data.toString('utf8') : String(data);
      const hasRecord = /(sh|sz|bj)\d{6}=/.test(text);
      done({
        name,
        ok: true,
        detail: `connected in ${openedMs} ms, first message after ${ms} ms${hasRecord ? '' : ' (no quote record in it yet)'}`,
      });
    });
    ws.on('error', (err) => done({ name, ok: false, detail: err.message, fix }));
    ws.on('close', (code) =>
      done({ name, ok: false, detail: `closed by the server (${code}) before any message`, fix }),
    );
  });
}

async function checkTelegram(tg: NonNullable<Config['telegram']>, timeoutMs: number): Promise<CheckResult> {
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
export async function checkCalendar(clock: Clock, dataDir?: string): Promise<CheckResult> {
  const name = 'calendar';
  const today = exchangeDate(clock.now());
  const year = Number(today.slice(0, 4));
  const covers = `bundled data (chinese-days) covers ${marketCalendar.firstYear}–${marketCalendar.lastYear}`;
  let yours = '';
  if (dataDir) {
    const files = await readCalendarFiles(dataDir);
    const days = Object.entries(files.user.days);
    const soon = days.filter(([d]) => Number(d.slice(0, 4)) >= year);
    if (soon.length)
      yours = `; yours (calendar.json): ${soon.filter(([, v]) => v.status === 'closed').length} closed, ${soon.filter(([, v]) => v.status === 'open').length} open from ${year}`;
    if (files.problems.length)
      return {
        name,
        ok: false,
        detail: files.problems.join('; '),
        fix: 'the guard refuses to start on an invalid calendar file: repair it or move it aside',
      };
  }
  const warning = marketCalendar.warning(today);
  if (!warning) return { name, ok: true, detail: `${covers}${yours}; market date ${today}` };
  return {
    name,
    ok: false,
    detail: `${covers}${yours}; market date ${today}: ${warning}`,
    fix: marketCalendar.hasData(year)
      ? `before ${year + 1}-01-01 add the ${year + 1} weekday closures (/calendar close YYYY-MM-DD [note]) or npm update chinese-days; without them the guard still runs but sells only once the market confirms each day open`
      : `add the ${year} weekday closures (/calendar close YYYY-MM-DD [note]) or npm update chinese-days`,
  };
}

function withDeadline(name: string, ms: number, work: Promise<CheckResult>): Promise<CheckResult> {
  // The check's own timeouts should fire first; this is the backstop that keeps doctor from hanging.
  return new Promise((resolve) => {
    const timer = setTimeout(
      () =>
        resolve({
          name,
          ok: false,
          detail: `no answer within ${ms + 2000} ms`,
          fix: 'check the network path to it',
        }),
      ms + 2000,
    );
    work.then(
      (r) => {
        clearTimeout(timer);
        resolve(r);
      },
      (err: unknown) => {
        clearTimeout(timer);
        resolve({
          name,
          ok: false,
          detail: `check failed: ${(err as Error).message}`,
          fix: 'see the message above',
        });
      },
    );
  });
}
