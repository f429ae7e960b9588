/**
 * The real app over a bridge whose error bodies quote the request's Authorization header (a
 * debug handler or proxy doing what fakeBridge.ts '422-echo' / '504-echo' do): BROKER_TOKEN must
 * appear in no chat message, no event-log line and no file anywhere in DATA_DIR, while the user
 * still reads what happened.
 */
import { readdirSync, readFileSync, statSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { startApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { startFakeBridge, type FakeBridge } from '../broker/fakeBridge.ts';
import { sealedBook, startTencentMarket, type TencentMarket } from '../helpers/tencentMarket.ts';

const START = '2026-11-23T10:00:00+08:00';
let market: TencentMarket;
let bridge: FakeBridge;
let ticker: NodeJS.Timeout;
let lots = 100_000;
let clockNow: () => number = () => Date.parse(START);
let app: App | undefined;

beforeAll(async () => {
  market = await startTencentMarket();
  ticker = setInterval(() => market.set(sealedBook(clockNow(), lots)), 100);
});
afterAll(async () => {
  clearInterval(ticker);
  await market.close();
});
afterEach(async () => {
  await app?.stop();
  app = undefined;
  await bridge.close();
  lots = 100_000;
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

async function until(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function run(fault: '422-echo' | '504-echo', seen: (chat: string) => boolean) {
  bridge = await startFakeBridge('brk-Tok3n-9f8e7d6c5b4a');
  bridge.faults.push(fault);
  if (fault === '504-echo') bridge.lagging = true;
  const dataDir = mkdtempSync(join(tmpdir(), 'sg-secrets-'));
  const config = loadConfig(
    {
      BROKER: 'bridge',
      BROKER_URL: bridge.url,
      BROKER_TOKEN: bridge.token,
      TENCENT_QUOTE_URL: market.url,
      QUOTE_SOURCES: 'tencent',
      POLL_INTERVAL_MS: '200',
      SEALGUARD_CLOCK: START,
      DATA_DIR: dataDir,
      DEFAULT_MODE: 'auto',
    },
    { readDotEnv: false },
  );
  const t0 = Date.now();
  clockNow = () => Date.parse(START) + (Date.now() - t0);
  const out = new PassThrough();
  let chat = '';
  out.on('data', (c: Buffer) => (chat += c.toString('utf8')));
  app = await startApp(config, { logger: pino({ level: 'silent' }), input: new PassThrough(), output: out });
  const a = app;
  await until('the seal', () => a.api.list().find((v) => v.symbol === '002116.SZ')?.state === 'sealed');
  lots = 15_000;
  await until('the outcome in chat', () => seen(chat));
  // Let the event log and health file catch up, then stop (flushes everything).
  await new Promise((r) => setTimeout(r, 600));
  await a.stop();
  app = undefined;
  return { chat, dataDir };
}

function expectNoToken(chat: string, dataDir: string): void {
  expect(chat).not.toContain(bridge.token);
  const files = filesUnder(dataDir);
  expect(files.some((f) => f.includes(`${join('events', '')}`))).toBe(true);
  for (const f of files)
    expect({ f, hit: readFileSync(f, 'utf8').includes(bridge.token) }).toEqual({ f, hit: false });
  // The bridge really was sent (and echoed) the token.
  expect(bridge.log.some((l) => l.auth === `Bearer ${bridge.token}`)).toBe(true);
}

describe('BROKER_TOKEN echoed by the bridge', () => {
  it('a rejection quoting the header: the user reads it with the token hidden; no chat line, event-log line or file holds it', async () => {
    const { chat, dataDir } = await run('422-echo', (c) => c.includes('failed'));
    expect(chat).toMatch(/❌ Sell of 中国海诚 002116\.SZ failed: .*Authorization": "Bearer \*\*\*"/);
    expectNoToken(chat, dataDir);
    const orders = readFileSync(join(dataDir, 'orders.json'), 'utf8');
    expect(orders).toContain('Bearer ***');
  }, 30_000);

  it('an unknown outcome quoting the header: "checking" without the token, in chat, events and health.json', async () => {
    const { chat, dataDir } = await run('504-echo', (c) => c.includes('answer is unclear'));
    expect(chat).toMatch(/answer is unclear \(.*Authorization: Bearer \*\*\*/);
    expectNoToken(chat, dataDir);
  }, 30_000);
});
