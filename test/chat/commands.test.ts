/**
 * The command language against a real guard (stores on disk, paper broker, event bus) on a
 * market clock the test moves. Every bad argument must answer one line with a reason and an
 * example, and leave settings.json exactly as it was.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { PaperBroker } from '../../src/broker/paper.ts';
import { runCommand } from '../../src/chat/commands.ts';
import { plainText, type Reply } from '../../src/chat/reply.ts';
import { SimClock } from '../../src/domain/clock.ts';
import type { Snapshot } from '../../src/domain/types.ts';
import type { GuardApi } from '../../src/engine/api.ts';
import type { EventBus } from '../../src/engine/bus.ts';
import { createEngine } from '../../src/engine/engine.ts';
import { HealthBoard } from '../../src/engine/health.ts';
import type { QuoteSource } from '../../src/market/source.ts';
import type { Mode } from '../../src/domain/modes.ts';
import type { GuardEvent } from '../../src/engine/events.ts';
import type { Guard } from '../../src/engine/guard.ts';
import { openGuardStores, type GuardStores } from '../../src/engine/state.ts';
import { sealed, sealedRun, SYMBOL, t } from '../helpers/snapshots.ts';

/** Codes the "quote source" knows; anything else is not listed. */
const LISTED: Record<string, string> = {
  '002116.SZ': '中国海诚',
  '600519.SH': '贵州茅台',
  '000001.SZ': '平安银行',
};

interface Rig {
  dir: string;
  clock: SimClock;
  guard: Guard;
  api: GuardApi;
  bus: EventBus;
  stores: GuardStores;
  paper: PaperBroker;
  events: GuardEvent[];
  run(text: string): Promise<Reply>;
  feed(s: Snapshot): Promise<void>;
}

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) {
    await r.guard.stop();
    await r.bus.idle();
  }
});

async function rig(
  o: {
    mode?: Mode;
    quoteAgeMs?: number;
    disk?: { freeBytes: number; totalBytes: number; lowBytes: number };
  } = {},
): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-cmd-'));
  const clock = new SimClock(t('10:00:00'), () => 0);
  const paper = await PaperBroker.open({
    dataDir: dir,
    clock,
    positions: [{ symbol: SYMBOL, name: '中国海诚', quantity: 10_000, sellable: 6_000, avgCost: '9.00' }],
    cash: 100_000,
  });
  const stores = await openGuardStores(dir);
  const engine = await createEngine({
    dataDir: dir,
    clock,
    simulatedClock: true,
    broker: paper,
    sink: paper,
    stores,
    health: new HealthBoard(() => clock.now()),
    log: pino({ level: 'silent' }),
    defaultMode: o.mode ?? 'confirm',
    defaultTriggers: { amount: 20_000_000 },
    confirmTimeoutS: 60,
    confirmDefault: 'hold',
    positionsRefreshMs: 3_600_000,
    lookup: async (s) => (LISTED[s] ? { name: LISTED[s] } : null),
    ...(o.disk ? { disk: () => o.disk } : {}),
  });
  const { guard, bus, api } = engine;
  const events: GuardEvent[] = [];
  bus.subscribe('test', (e) => {
    events.push(e);
  });
  // What the feed manager reports in a live run: one healthy Tencent source.
  const source: QuoteSource = {
    start: () => {},
    setSymbols: () => {},
    stop: async () => {},
    status: () => [{ name: 'tencent', active: true, ok: true, lastQuoteAgeMs: o.quoteAgeMs ?? 1500 }],
  };
  await engine.start(source);
  const r: Rig = {
    dir,
    clock,
    guard,
    api,
    bus,
    stores,
    paper,
    events,
    run: (text) => runCommand(api, { user: 'test:1', text }),
    async feed(s) {
      clock.set(s.ts);
      await engine.onSnapshots([s]);
      await bus.idle();
    },
  };
  rigs.push(r);
  return r;
}

const text = (r: Reply): string => plainText(r);

/** Settings in memory and on disk, to prove a refused command changed nothing. */
function settingsNow(r: Rig): string {
  let disk: string;
  try {
    disk = readFileSync(join(r.dir, 'settings.json'), 'utf8');
  } catch {
    disk = '(absent)';
  }
  return JSON.stringify(r.stores.settings.data) + '\n' + disk;
}

async function expectRefused(r: Rig, cmd: string, reason: RegExp, example: RegExp): Promise<string> {
  const before = settingsNow(r);
  const out = text(await r.run(cmd));
  expect(out, cmd).toMatch(/^✗ /);
  expect(out.split('\n'), `${cmd}: one line`).toHaveLength(1);
  expect(out, cmd).toMatch(reason);
  expect(out, `${cmd}: carries an example`).toMatch(example);
  expect(settingsNow(r), `${cmd} changed settings`).toBe(before);
  return out;
}

describe('/watch', () => {
  it('watches a listed code with an amount and an optional mode, and says so', async () => {
    const r = await rig();
    const out = text(await r.run('/watch 600519 2000w'));
    expect(out).toBe('✓ Watching 贵州茅台 600519.SH: sell trigger <2000万, mode confirm.');
    expect(r.stores.settings.data.watches['600519.SH']).toMatchObject({
      symbol: '600519.SH',
      name: '贵州茅台',
      origin: 'user',
      triggers: { amount: 20_000_000 },
    });
    expect(text(await r.run('/watch 000001 0.5亿 auto'))).toMatch(/平安银行 000001\.SZ.*<5000万, mode auto/);
    expect(r.stores.settings.data.watches['000001.SZ']?.mode).toBe('auto');
    // The new codes are polled.
    expect(r.guard.watchedSymbols()).toEqual(['000001.SZ', '002116.SZ', '600519.SH']);
  });

  it('accepts the ways traders write amounts and codes (2000万, sh600519, /watch@bot)', async () => {
    const r = await rig();
    expect(text(await r.run('/watch@sealguard_bot sh600519 2000万'))).toMatch(
      /^✓ Watching 贵州茅台 600519\.SH/,
    );
    expect(text(await r.run('/watch 600519.SH 3000w'))).toMatch(/<3000万/);
  });

  it('reads full-width digits, letters and punctuation as ASCII (a Chinese IME in full-width mode)', async () => {
    const r = await rig();
    expect(text(await r.run('/watch ６００５１９ ２０００ｗ'))).toMatch(
      /^✓ Watching 贵州茅台 600519\.SH: sell trigger <2000万/,
    );
    expect(text(await r.run('／ｍｏｄｅ　６００５１９　ＡＵＴＯ'))).toBe('✓ Mode auto for 600519.SH.');
    expect(text(await r.run('/trigger ６００５１９ drop ５０％'))).toMatch(/^✓ 600519\.SH: .*50%/);
    expect(text(await r.run('/trigger ６００５１９ floor １８００．５０'))).toBe(
      '✓ 600519.SH: never sell below 1800.50 after a break.',
    );
    expect(r.stores.settings.data.watches['600519.SH']?.mode).toBe('auto');
    // Still strict: a full-width code that is not a code is refused like its ASCII twin.
    await expectRefused(r, '/watch ６００５１ ２０００ｗ', /600051|code/i, /Example: \/watch 600519 2000w/);
  });

  it('refuses unknown and malformed codes, and bad amounts, changing nothing', async () => {
    const r = await rig();
    await r.run('/watch 600519 2000w');
    const ex = /Example: \/watch 600519 2000w/;
    await expectRefused(r, '/watch 999999 2000w', /invalid security code "999999"/, ex);
    await expectRefused(r, '/watch 12345 2000w', /invalid security code "12345"/, ex);
    await expectRefused(r, '/watch 600000 2000w', /600000.SH: no such listed code/, ex);
    await expectRefused(r, '/watch 600519 -5w', /invalid amount "-5w": must be positive/, ex);
    await expectRefused(r, '/watch 600519 0', /invalid amount "0": must be greater than zero/, ex);
    await expectRefused(r, '/watch 600519 abc', /invalid amount "abc"/, ex);
    await expectRefused(r, '/watch 600519 2000w sometimes', /mode must be auto, confirm or alert/, ex);
    await expectRefused(r, '/watch', /watch takes a code and an amount/, ex);
    await expectRefused(r, '/watch 600519 2000w auto extra', /watch takes a code and an amount/, ex);
    // The earlier good watch is intact.
    expect(r.stores.settings.data.watches['600519.SH']?.triggers?.amount).toBe(20_000_000);
  });
});

describe('/unwatch', () => {
  it('stops watching; a holding stays unwatched (ignored) until re-added', async () => {
    const r = await rig();
    await r.run('/watch 600519 2000w');
    expect(text(await r.run('/unwatch 600519'))).toBe('✓ Stopped watching 600519.SH.');
    expect(r.stores.settings.data.watches['600519.SH']).toBeUndefined();
    expect(text(await r.run('/unwatch 002116'))).toMatch(/Stopped watching 002116\.SZ\. It is still held/);
    expect(r.guard.watchedSymbols()).toEqual([]);
    expect(r.stores.settings.data.ignored).toEqual(['002116.SZ']);
    expect(text(await r.run('/unwatch 600519'))).toBe('600519.SH was not watched; nothing changed.');
    await r.run('/watch 002116 3000w');
    expect(r.stores.settings.data.ignored).toEqual([]);
  });

  it('refuses bad arguments', async () => {
    const r = await rig();
    await expectRefused(r, '/unwatch', /unwatch takes one code/, /Example: \/unwatch 600519/);
    await expectRefused(r, '/unwatch 12345', /invalid security code/, /Example: \/unwatch 600519/);
  });
});

describe('/trigger', () => {
  it('sets each rule on a watched code, and off clears it', async () => {
    const r = await rig();
    const steps: [string, RegExp][] = [
      ['/trigger 002116 drop 50%', /002116\.SZ: <2000万, drop 50%\.$/],
      ['/trigger 002116 window 30%/60s', /drop 50%, 30%\/60s/],
      ['/trigger 002116 window 20%/2m', /20%\/120s/],
      ['/trigger 002116 cap 0.5%', /cap 0\.5%/],
      ['/trigger 002116 confirm 1', /confirm 1/],
      ['/trigger 002116 onbreak on', /onbreak/],
      ['/trigger 002116 amount 3000w', /<3000万/],
    ];
    for (const [cmd, want] of steps) expect(text(await r.run(cmd)), cmd).toMatch(want);
    expect(r.stores.settings.data.watches['002116.SZ']?.triggers).toEqual({
      dropFromPeak: 50,
      dropInWindow: { pct: 20, windowSec: 120 },
      capRatio: 0.5,
      confirm: 1,
      onBreak: true,
      amount: 30_000_000,
    });
    // A holding's watch entry is created by the first setting (origin: holding).
    expect(r.stores.settings.data.watches['002116.SZ']?.origin).toBe('holding');
    expect(text(await r.run('/trigger 002116 drop off'))).not.toMatch(/drop 50%/);
    expect(text(await r.run('/trigger 002116 onbreak off'))).not.toMatch(/onbreak/);
    expect(r.stores.settings.data.watches['002116.SZ']?.triggers).toMatchObject({
      dropFromPeak: null,
      onBreak: false,
    });
  });

  it('sets a floor price per code, and off removes it', async () => {
    const r = await rig();
    expect(text(await r.run('/trigger 002116 floor 9.80'))).toBe(
      '✓ 002116.SZ: never sell below 9.80 after a break.',
    );
    expect(r.stores.settings.data.watches['002116.SZ']?.floor).toBe('9.80');
    expect(text(await r.run('/trigger 002116 floor off'))).toMatch(/floor removed/);
    expect(r.stores.settings.data.watches['002116.SZ']?.floor).toBeUndefined();
  });

  it('all sets the defaults every code inherits', async () => {
    const r = await rig();
    expect(text(await r.run('/trigger all drop 60%'))).toBe('✓ Default triggers: <2000万, drop 60%.');
    expect(r.stores.settings.data.triggers).toEqual({ dropFromPeak: 60 });
    expect(r.api.list()[0]?.triggers).toMatchObject({ amount: 20_000_000, dropFromPeak: 60 });
  });

  it('refuses bad rules and values, changing nothing', async () => {
    const r = await rig();
    const ex = /Example: \/trigger 600519 drop 50%/;
    await expectRefused(r, '/trigger 002116 drop 150%', /"150%" is not a percentage between 0 and 100/, ex);
    await expectRefused(r, '/trigger 002116 drop -5%', /not a percentage/, ex);
    await expectRefused(r, '/trigger 002116 window 30%', /window takes percent\/seconds like 30%\/60s/, ex);
    await expectRefused(r, '/trigger 002116 window 30%/1s', /the window must be 3 s to 60 min/, ex);
    await expectRefused(r, '/trigger 002116 window 30%/2h', /window takes percent\/seconds/, ex);
    await expectRefused(r, '/trigger 002116 cap lots', /not a percentage/, ex);
    await expectRefused(r, '/trigger 002116 confirm 11', /confirm takes a count of snapshots 0-10/, ex);
    await expectRefused(r, '/trigger 002116 confirm 1.5', /confirm takes a count/, ex);
    await expectRefused(r, '/trigger 002116 onbreak maybe', /onbreak takes on or off/, ex);
    await expectRefused(r, '/trigger 002116 floor cheap', /floor takes a price like 9.80/, ex);
    await expectRefused(r, '/trigger all floor 9.80', /a floor price is per code/, ex);
    await expectRefused(r, '/trigger 002116 amount -5w', /invalid amount "-5w"/, ex);
    await expectRefused(r, '/trigger 002116 speed 5', /unknown rule "speed"/, ex);
    await expectRefused(r, '/trigger 002116 drop', /trigger takes a code \(or all\), a rule and a value/, ex);
    await expectRefused(r, '/trigger 600519 drop 50%', /600519\.SH is not watched: \/watch it first/, ex);
    await expectRefused(r, '/trigger 12345 drop 50%', /invalid security code/, ex);
  });
});

describe('/mode', () => {
  it('sets one code or all; all clears per-code modes', async () => {
    const r = await rig();
    await r.run('/watch 600519 2000w');
    expect(text(await r.run('/mode 600519 auto'))).toBe('✓ Mode auto for 600519.SH.');
    expect(r.api.list().map((v) => [v.symbol, v.mode])).toEqual([
      ['002116.SZ', 'confirm'],
      ['600519.SH', 'auto'],
    ]);
    expect(text(await r.run('/mode all alert'))).toBe('✓ Mode alert for all (2 watched).');
    expect(r.stores.settings.data.mode).toBe('alert');
    expect(r.api.list().every((v) => v.mode === 'alert')).toBe(true);
    expect(r.stores.settings.data.watches['600519.SH']?.mode).toBeUndefined();
    expect(text(await r.run('/mode ALL Confirm'))).toMatch(/Mode confirm for all/);
  });

  it('refuses bad arguments, changing nothing', async () => {
    const r = await rig();
    const ex = /Example: \/mode all confirm/;
    await expectRefused(
      r,
      '/mode all sometimes',
      /mode must be auto, confirm or alert \(got "sometimes"\)/,
      ex,
    );
    await expectRefused(r, '/mode all', /mode takes a code \(or all\) and a mode/, ex);
    await expectRefused(r, '/mode 600519 auto', /600519\.SH is not watched/, ex);
    await expectRefused(r, '/mode 99 auto', /invalid security code/, ex);
  });
});

describe('/pause and /resume', () => {
  it('pause is durable and turns a trigger into an alert; resume sells again', async () => {
    const r = await rig({ mode: 'auto' });
    expect(text(await r.run('/pause'))).toMatch(/Automatic selling paused/);
    expect(r.stores.settings.data.paused).toBe(true);
    expect(text(await r.run('/list'))).toMatch(/auto-sell paused/);
    expect(text(await r.run('/status'))).toMatch(/auto-sell PAUSED/);
    for (const s of sealedRun('10:00:00', 3, [100_000_000, 100_000_000, 90_000_000, 15_000_000]))
      await r.feed(s);
    expect(await r.paper.todayOrders()).toHaveLength(0);
    const trig = r.events.find((e) => e.type === 'SellTriggered');
    expect(trig?.type === 'SellTriggered' && trig.noSellReason).toMatch(/paused/);

    expect(text(await r.run('/resume'))).toBe('▶ Automatic selling resumed.');
    expect(r.stores.settings.data.paused).toBe(false);
    // A new seal segment after a break sells again.
    await r.feed({ ...sealed(t('10:00:15'), 0), bids: [[998, 5_000]], asks: [[1000, 300_000]] });
    for (const s of sealedRun('10:00:30', 3, [100_000_000, 100_000_000, 90_000_000, 15_000_000]))
      await r.feed(s);
    const orders = await r.paper.todayOrders();
    expect(orders).toHaveLength(1);
    expect(orders[0]).toMatchObject({ quantity: 6_000, limitPrice: '10.00' });
  });
});

describe('/list', () => {
  it('shows each code: held and sellable, limit-up, seal state and amount, peak, triggers, mode', async () => {
    const r = await rig();
    await r.run('/watch 600519 2000w alert');
    await r.run('/trigger 002116 drop 50%');
    for (const s of sealedRun('10:00:00', 3, [100_000_000, 100_000_000, 80_000_000])) await r.feed(s);
    const out = await r.run('/list');
    expect(out.title).toBe('Watching 2 盯板列表');
    expect(out.lines).toEqual([
      '中国海诚 002116.SZ · held 10000 (sellable 6000) · 涨停 10.00 · 封板 seal 8000万 peak 1亿 · trigger <2000万, drop 50% · confirm',
      '贵州茅台 600519.SH · not held · 涨停 — · 未封 · trigger <2000万 · alert',
    ]);
  });

  it('says how to start when nothing is watched', async () => {
    const r = await rig();
    await r.run('/unwatch 002116');
    expect(text(await r.run('/list'))).toMatch(/Watching nothing\nAdd a code: \/watch 600519 2000w/);
  });
});

describe('/status, /positions, /balance, /orders, /summary, /help', () => {
  it('/status shows the clock, session phase, broker, sources with quote age, watched and pending', async () => {
    const r = await rig();
    const out = text(await r.run('/status'));
    expect(out).toContain('Clock 2026-11-23T10:00:00+08:00 (simulated) · 2026-11-23 · continuous');
    expect(out).toMatch(/Broker paper: ok/);
    expect(out).toContain('Quotes tencent (active): ok, last quote 1.5 s ago');
    expect(out).toContain('Watching 1 · pending confirms 0 · auto-sell on');
  });

  it('/status never shows a negative quote age: a quote stamped ahead of the clock is "just now"', async () => {
    const slightly = text(await (await rig({ quoteAgeMs: -400 })).run('/status'));
    expect(slightly).toContain('Quotes tencent (active): ok, last quote just now');
    const far = text(await (await rig({ quoteAgeMs: -42_000 })).run('/status'));
    expect(far).toContain('last quote just now (stamped 42.0 s ahead of this clock)');
    const old = text(await (await rig({ quoteAgeMs: 7_260_000 })).run('/status'));
    expect(old).toContain('last quote 2.0 h ago');
    for (const out of [slightly, far, old]) expect(out).not.toMatch(/-[\d.]+ (s|min|h)\b/);
  });

  it('/status shows the free space for DATA_DIR, marked LOW under the threshold', async () => {
    const ok = text(
      await (await rig({ disk: { freeBytes: 84e9, totalBytes: 270e9, lowBytes: 5e8 } })).run('/status'),
    );
    expect(ok).toContain('Disk: 84 GB free of 270 GB for DATA_DIR');
    expect(ok).not.toContain('LOW');
    const low = text(
      await (await rig({ disk: { freeBytes: 3.1e8, totalBytes: 270e9, lowBytes: 5e8 } })).run('/status'),
    );
    expect(low).toContain('Disk: 310 MB free of 270 GB for DATA_DIR (LOW: under 500 MB)');
  });

  it('/positions, /balance and /orders read the broker', async () => {
    const r = await rig({ mode: 'auto' });
    expect(text(await r.run('/positions'))).toMatch(/002116\.SZ 中国海诚 10000 \(sellable 6000\) cost 9\.00/);
    expect(text(await r.run('/balance'))).toMatch(/Cash available 100000(\.00)?/);
    expect(text(await r.run('/orders'))).toBe('Orders today\nNo orders today.');
    for (const s of sealedRun('10:00:00', 3, [100_000_000, 100_000_000, 15_000_000])) await r.feed(s);
    expect(text(await r.run('/orders'))).toMatch(/中国海诚 002116\.SZ sell 6000 @ 10\.00: \w+/);
  });

  it('/summary validates its date; /help lists every command; unknown commands are named', async () => {
    const r = await rig();
    expect(text(await r.run('/summary'))).toMatch(/2026-11-23/);
    await expectRefused(r, '/summary yesterday', /summary takes an optional date/, /Example: \/summary/);
    const help = text(await r.run('/help'));
    for (const c of [
      'watch',
      'unwatch',
      'list',
      'mode',
      'trigger',
      'positions',
      'balance',
      'orders',
      'summary',
      'pause',
      'resume',
      'status',
      'help',
    ])
      expect(help).toContain(`/${c}`);
    expect(text(await r.run('/frobnicate'))).toBe(
      '✗ Unknown command "/frobnicate". Send /help for the list.',
    );
  });
});

describe('/confirm and /hold', () => {
  it('a pending confirm sells once by id; a second confirm says why nothing happens', async () => {
    const r = await rig();
    for (const s of sealedRun('10:00:00', 3, [100_000_000, 100_000_000, 15_000_000])) await r.feed(s);
    const [a] = r.api.pendingActions();
    expect(a).toBeDefined();
    expect(text(await r.run(`/confirm ${a!.id}`))).toMatch(/^✓ /);
    expect(await r.paper.todayOrders()).toHaveLength(1);
    expect(text(await r.run(`/confirm ${a!.id}`))).toMatch(/^✗ /);
    expect(text(await r.run(`/hold ${a!.id}`))).toMatch(/^✗ /);
    expect(await r.paper.todayOrders()).toHaveLength(1);
    expect(text(await r.run('/confirm nosuchid1'))).toMatch(/^✗ No pending action nosuchid1/);
    await expectRefused(r, '/confirm', /give the action id/, /Example: \/confirm/);
  });

  it('/hold declines: no order', async () => {
    const r = await rig();
    for (const s of sealedRun('10:00:00', 3, [100_000_000, 100_000_000, 15_000_000])) await r.feed(s);
    const [a] = r.api.pendingActions();
    expect(text(await r.run(`/hold ${a!.id}`))).toMatch(/^✓ Held by test:1/);
    expect(await r.paper.todayOrders()).toHaveLength(0);
  });
});
