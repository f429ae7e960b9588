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
import { ConfigError, isDemo, loadConfig, type Config } from '../config.ts';
import { EasytraderBroker } from '../broker/easytrader.ts';
import { checkBroker } from '../broker/factory.ts';
import type { CheckResult } from '../domain/check.ts';
import { PaperBroker } from '../broker/paper.ts';
import { marketCalendar } from '../domain/calendar.ts';
import { clockFromSpec, type Clock } from '../domain/clock.ts';
import { formatBytes } from '../domain/bytes.ts';
import { exchangeDate } from '../domain/time.ts';
import { openGuardStores } from '../engine/state.ts';
import { processAlive, readHealthFile } from '../store/healthFile.ts';
import { LOW_DISK_BYTES, readDiskSpace, type DiskReading } from '../store/diskSpace.ts';
import { describeHolder, runningHolder } from '../store/lock.ts';
import { readCalendarFiles } from '../store/calendarStore.ts';
import { checkSource } from '../market/check.ts';
import { checkTelegram, checkWecom } from '../chat/check.ts';

const HELP = `Usage: sealguard doctor [--timeout <ms>]

Checks the configuration (environment and ./.env), the data directory and its store files, each
quote source in QUOTE_SOURCES, the broker, Telegram and WeCom, and the exchange calendar. Prints one
line per check with a fix under each failure. Changes nothing. Exit code 0 when every check passes.
  --timeout <ms>   deadline per network check (default 8000)`;

const STORE_FILES = ['settings.json', 'orders.json', 'actions.json'] as const;

export type { CheckResult };
// Kept importable from here (tests and scripts asked doctor for it before it moved to chat/).
export { checkWecom };

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
