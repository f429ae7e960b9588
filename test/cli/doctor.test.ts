import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { printResults, runChecks, type CheckResult } from '../../src/cli/doctor.ts';
import { acquireDataDirLock } from '../../src/store/lock.ts';
import { loadConfig } from '../../src/config.ts';
import { startFakeBridge, type FakeBridge } from '../broker/fakeBridge.ts';
import { startFakeEasytrader } from '../broker/fakeEasytrader.ts';
import { startFakeQyapi, type FakeQyapi } from '../helpers/fakeQyapi.ts';
import { startTencentMarket, type TencentMarket } from '../helpers/tencentMarket.ts';

const TOKEN = '123456789:AAEabcdefghijklmnopqrstuvwxyz0123456';
const BIN = join(import.meta.dirname, '../../bin/sealguard.js');

let market: TencentMarket;
let bridge: FakeBridge;
let qyapi: FakeQyapi;
let telegram: Server;
let telegramUrl: string;
let wss: WebSocketServer;
let wsUrl: string;
let silentWss: WebSocketServer;
let silentWsUrl: string;

beforeAll(async () => {
  market = await startTencentMarket();
  market.set({
    code: '600000',
    exchange: 'sh',
    name: '浦发银行',
    date: '2026-11-24',
    time: '10:00:00',
    last: '10.00',
    prevClose: '9.90',
    limitUp: '10.89',
    limitDown: '8.91',
    bids: [['10.00', 100]],
    asks: [['10.01', 100]],
  });
  bridge = await startFakeBridge();
  qyapi = await startFakeQyapi({ corpId: 'wwcorp1', secret: 'wecom-secret-xyz' });
  telegram = createServer((req, res) => {
    // A tiny Bot API: getMe for our token only, 401 otherwise (as api.telegram.org answers).
    if (req.url === `/bot${TOKEN}/getMe`) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ ok: true, result: { id: 123456789, is_bot: true, username: 'seal_test_bot' } }),
      );
    } else {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: false, error_code: 401, description: 'Unauthorized' }));
    }
  });
  await new Promise<void>((r) => telegram.listen(0, '127.0.0.1', r));
  telegramUrl = `http://127.0.0.1:${(telegram.address() as AddressInfo).port}`;
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (ws) => ws.send('sh600000=浦发银行,9.90,9.90,10.00'));
  await new Promise((r) => wss.once('listening', r));
  wsUrl = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/wskt`;
  silentWss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => silentWss.once('listening', r));
  silentWsUrl = `ws://127.0.0.1:${(silentWss.address() as AddressInfo).port}/wskt`;
});

afterAll(async () => {
  await market.close();
  await bridge.close();
  await qyapi.close();
  telegram.closeAllConnections();
  await new Promise((r) => telegram.close(r));
  for (const s of [wss, silentWss]) {
    for (const c of s.clients) c.terminate();
    await new Promise((r) => s.close(r));
  }
});

function goodEnv(dataDir: string): Record<string, string> {
  return {
    DATA_DIR: dataDir,
    QUOTE_SOURCES: 'tencent,sina-ws',
    TENCENT_QUOTE_URL: market.url,
    SINA_WS_URL: wsUrl,
    BROKER: 'bridge',
    BROKER_URL: bridge.url,
    BROKER_TOKEN: bridge.token,
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_ALLOWED_USERS: '42',
    TELEGRAM_API_ROOT: telegramUrl,
    WECOM_CORP_ID: 'wwcorp1',
    WECOM_AGENT_ID: '1000002',
    WECOM_SECRET: 'wecom-secret-xyz',
    WECOM_ALLOWED_USERS: 'ZhangSan',
    WECOM_API_ROOT: qyapi.url,
    SEALGUARD_CLOCK: '2026-11-24T10:00:05+08:00',
  };
}

const tmp = () => mkdtempSync(join(tmpdir(), 'sg-doctor-'));

async function check(env: Record<string, string>, timeoutMs = 2000) {
  const config = loadConfig(env, { readDotEnv: false });
  const results = await runChecks(config, { timeoutMs });
  const lines: string[] = [];
  printResults(results, (l) => lines.push(l), config.secrets);
  const by = (prefix: string): CheckResult => {
    const r = results.find((x) => x.name.startsWith(prefix));
    if (!r) throw new Error(`no check ${prefix} in\n${lines.join('\n')}`);
    return r;
  };
  return { results, text: lines.join('\n'), by };
}

describe('sealguard doctor', () => {
  it('BROKER_ACCOUNT_TYPE=credit against a bridge on a stock account: the broker check fails and says how to fix it', async () => {
    const { by } = await check({ ...goodEnv(tmp()), BROKER_ACCOUNT_TYPE: 'credit' });
    const br = by('broker bridge');
    expect(br.ok).toBe(false);
    expect(br.detail).toMatch(/BROKER_ACCOUNT_TYPE=credit but the bridge runs a stock account/);
    expect(br.fix).toMatch(/--account-type credit/);
  });

  it('passes every check against working loopback services and prints one ✓ line each, no secrets', async () => {
    const { results, text, by } = await check(goodEnv(tmp()));
    expect(
      results.filter((r) => !r.ok),
      text,
    ).toEqual([]);
    expect(by('quotes tencent').detail).toMatch(/600000\.SH 浦发银行 10\.00 in \d+ ms; quote 5\.\d s old/);
    expect(by('quotes sina-ws').detail).toMatch(/connected in \d+ ms, first message after \d+ ms/);
    expect(by('broker bridge').detail).toContain('account ****0365');
    expect(by('telegram').detail).toContain('@seal_test_bot');
    expect(by('wecom').detail).toContain('gettoken ok');
    expect(by('calendar').detail).toContain('bundled data (chinese-days) covers 2004–2026');
    expect(text.split('\n').every((l) => l.startsWith('✓ '))).toBe(true);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain('wecom-secret-xyz');
    expect(text).not.toContain(bridge.token);
  });

  it('data directory: free space, and the guard that holds its lock', async () => {
    const dir = tmp();
    const lock = acquireDataDirLock(dir);
    try {
      const { by } = await check(goodEnv(dir));
      const d = by('data directory');
      expect(d.ok).toBe(true);
      expect(d.detail).toMatch(
        new RegExp(
          `^${dir} is writable; [\\d.]+ [KMGT]?B free of [\\d.]+ [KMGT]?B; in use by the running guard \\(pid ${process.pid}, this process, `,
        ),
      );
    } finally {
      lock.release();
    }
    expect((await check(goodEnv(dir))).by('data directory').detail).not.toContain('in use');
  });

  it('names each failure with a concrete fix and never prints the secrets', async () => {
    const dataDir = tmp();
    const corrupt = '{"version": 1, "data": {"watches": {"600519.SH": {"symbol": 5}}}}\n';
    writeFileSync(join(dataDir, 'settings.json'), corrupt);
    qyapi.script.set('/cgi-bin/gettoken', [60020]);
    const env = {
      ...goodEnv(dataDir),
      QUOTE_SOURCES: 'tencent,eastmoney,sina-ws',
      EASTMONEY_QUOTE_URL: 'http://127.0.0.1:1',
      SINA_WS_URL: silentWsUrl,
      BROKER_TOKEN: 'wrong-token-123',
      TELEGRAM_BOT_TOKEN: '987654321:AAEzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz',
    };
    const started = Date.now();
    const { text, by } = await check(env, 600);
    expect(Date.now() - started).toBeLessThan(5000);

    expect(by('quotes tencent').ok).toBe(true);
    const em = by('quotes eastmoney');
    expect(em.ok).toBe(false);
    expect(em.fix).toContain('EASTMONEY_QUOTE_URL');
    const ws = by('quotes sina-ws');
    expect(ws.ok).toBe(false);
    expect(ws.detail).toMatch(/connected in \d+ ms but no message within 600 ms/);

    const stores = by('store files');
    expect(stores.ok).toBe(false);
    expect(stores.detail).toContain(join(dataDir, 'settings.json'));
    expect(stores.detail).toContain('data.watches.600519.SH.symbol');
    expect(stores.detail).not.toContain('sealguard-doctor-');
    expect(stores.fix).toMatch(/backup/);
    expect(readFileSync(join(dataDir, 'settings.json'), 'utf8')).toBe(corrupt);

    const br = by('broker bridge');
    expect(br.ok).toBe(false);
    expect(br.fix).toContain('BROKER_TOKEN');
    const tg = by('telegram');
    expect(tg.ok).toBe(false);
    expect(tg.fix).toContain('@BotFather');
    const wc = by('wecom');
    expect(wc.ok).toBe(false);
    expect(wc.fix).toContain('企业可信IP');

    expect(text).toMatch(/^✗ broker bridge: .*\n {4}fix: BROKER_TOKEN/m);
    expect(text).not.toContain('wrong-token-123');
    expect(text).not.toContain('987654321:AAE');
    expect(text).not.toContain('wecom-secret-xyz');
  });

  it('tells a stopped bridge from a bad token, and a missing data dir from an unwritable one', async () => {
    const closed = await startFakeBridge();
    const url = closed.url;
    await closed.close();
    const parent = tmp();
    const { by } = await check({
      DATA_DIR: join(parent, 'not', 'yet'),
      QUOTE_SOURCES: 'tencent',
      TENCENT_QUOTE_URL: market.url,
      BROKER: 'bridge',
      BROKER_URL: url,
      BROKER_TOKEN: 'whatever-token',
    });
    expect(by('broker bridge').fix).toContain('start the bridge on the trading PC');
    // The fix points at a README that exists in this repository.
    const readme = /\((bridges\/[^)]+README\.md)\)/.exec(by('broker bridge').fix ?? '')?.[1];
    expect(readme && existsSync(join(import.meta.dirname, '../..', readme))).toBe(true);
    // One "GET /v1/health" prefix, not two.
    expect(by('broker bridge').detail.match(/GET \/v1\/health/g)).toHaveLength(1);
    expect(by('data directory')).toMatchObject({
      ok: true,
      detail: expect.stringContaining('start will create it'),
    });
    expect(by('store files')).toMatchObject({ ok: true });
  });

  it("easytrader answering KeyError 'user' (nobody called /prepare): the fix is POST /prepare, not BROKER_URL", async () => {
    // The fake follows easytrader's server.py (see test/broker/fakeEasytrader.ts).
    const et = await startFakeEasytrader();
    et.prepared = false;
    try {
      const env = {
        DATA_DIR: tmp(),
        QUOTE_SOURCES: 'tencent',
        TENCENT_QUOTE_URL: market.url,
        BROKER: 'easytrader',
        BROKER_URL: et.url,
      };
      const before = (await check(env)).by('broker easytrader');
      expect(before.ok).toBe(false);
      expect(before.detail).toContain("nobody has logged it in (KeyError 'user')");
      expect(before.fix).toMatch(
        new RegExp(`^log it in once after each server start: POST ${et.url}/prepare `),
      );
      expect(before.fix).not.toContain('check BROKER_URL');
      await fetch(`${et.url}/prepare`, {
        method: 'POST',
        body: JSON.stringify({ broker: 'universal_client' }),
      });
      expect((await check(env)).by('broker easytrader')).toMatchObject({ ok: true });
    } finally {
      await et.close();
    }
  });

  it("says when the host clock disagrees with the quote source's Date header, with the measured skew", async () => {
    // The source's clock (its Date header, as qt.gtimg.cn sends one) is 60 s ahead of this host.
    const ahead = await startTencentMarket({ now: () => Date.now() + 60_000 });
    try {
      for (const [k, v] of market.books) ahead.books.set(k, v);
      const { by } = await check({
        DATA_DIR: tmp(),
        QUOTE_SOURCES: 'tencent',
        TENCENT_QUOTE_URL: ahead.url,
        BROKER: 'paper',
      });
      const q = by('quotes tencent');
      expect(q.ok).toBe(false);
      expect(q.detail).toMatch(/its Date header says the host clock (59|60|61) s behind the exchange/);
      expect(q.fix).toMatch(/NTP/);
    } finally {
      await ahead.close();
    }
  });

  it('validates paper.json for the paper broker', async () => {
    const dataDir = tmp();
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'paper.json'), '{"version": 1, "data": {"tradingDay": "x"');
    const { by } = await check({
      DATA_DIR: dataDir,
      QUOTE_SOURCES: 'tencent',
      TENCENT_QUOTE_URL: market.url,
    });
    expect(by('broker paper').ok).toBe(true);
    const s = by('store files');
    expect(s.ok).toBe(false);
    expect(s.detail).toContain(`${join(dataDir, 'paper.json')}: is not valid JSON`);
  });

  it('as a command: exit 0 when all pass, 1 on a failure, config problems one per line', async () => {
    const run = (env: Record<string, string>) =>
      new Promise<{ code: number; out: string }>((resolve) => {
        execFile(
          process.execPath,
          [BIN, 'doctor', '--timeout', '1500'],
          {
            env: { PATH: process.env.PATH ?? '', TZ: process.env.TZ ?? '', ...env },
            cwd: tmp(),
            timeout: 14_000,
          },
          (err, stdout, stderr) =>
            resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, out: stdout + stderr }),
        );
      });
    const good = { ...goodEnv(tmp()), QUOTE_SOURCES: 'tencent' };
    const [ok, bad, invalid] = await Promise.all([
      run(good),
      run({ ...good, BROKER_TOKEN: 'wrong-token-123' }),
      run({ POLL_INTERVAL_MS: '5', BROKER: 'nope' }),
    ]);
    expect(ok.code, ok.out).toBe(0);
    expect(ok.out).toContain('All checks passed.');
    expect(bad.code, bad.out).toBe(1);
    expect(bad.out).toContain('1 check failed.');
    expect(invalid.code).toBe(1);
    expect(invalid.out).toMatch(/✗ configuration: invalid\n {4}POLL_INTERVAL_MS: .*\n {4}BROKER: /);
  }, 20_000);
});

describe('doctor calendar check', () => {
  it('fails in December when next year has no holiday data, and for a year with none', async () => {
    const dec = await check({
      DATA_DIR: tmp(),
      QUOTE_SOURCES: 'tencent',
      TENCENT_QUOTE_URL: market.url,
      SEALGUARD_CLOCK: '2026-12-01T10:00:00+08:00',
    });
    expect(dec.by('calendar')).toMatchObject({
      ok: false,
      fix: expect.stringContaining('before 2027-01-01'),
    });
    const later = await check({
      DATA_DIR: tmp(),
      QUOTE_SOURCES: 'tencent',
      TENCENT_QUOTE_URL: market.url,
      SEALGUARD_CLOCK: '2031-03-02T10:00:00+08:00',
    });
    expect(later.by('calendar')).toMatchObject({
      ok: false,
      detail: expect.stringContaining('Trading days of 2031 are provisional'),
      fix: expect.stringContaining('/calendar close'),
    });
    expect(dec.by('calendar').detail).toContain('2027 closures are not known yet');
  });
});
