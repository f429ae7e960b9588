/**
 * The console channel in-process: real guard and paper broker (test/engine/harness.ts), real chat
 * hub, commands typed into a stream and notifications read back from one.
 */
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ConsoleChannel } from '../../src/chat/console.ts';
import { ChatHub } from '../../src/chat/hub.ts';
import { formatExchangeTime } from '../../src/domain/time.ts';
import { sealedRun } from '../helpers/snapshots.ts';
import { harness, silent, type Harness } from '../engine/harness.ts';

interface Rig {
  h: Harness;
  hub: ChatHub;
  input: PassThrough;
  output: () => string;
  type(line: string): void;
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
}

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) {
    await r.hub.stop();
    await r.h.stop();
  }
});

async function rig(): Promise<Rig> {
  const h = await harness({ mode: 'confirm' });
  const input = new PassThrough();
  const out = new PassThrough();
  let text = '';
  out.on('data', (b: Buffer) => (text += b.toString('utf8')));
  const ch = new ConsoleChannel(h.api, {
    input,
    output: out,
    timestamp: (ts) => formatExchangeTime(ts).slice(11, 19),
  });
  const hub = new ChatHub(h.api, [ch], silent);
  await hub.start();
  const r: Rig = {
    h,
    hub,
    input,
    output: () => text,
    type: (line) => input.write(line + '\n'),
    async waitFor(re, timeoutMs = 10_000) {
      const end = Date.now() + timeoutMs;
      while (!re.test(text)) {
        if (Date.now() > end) throw new Error(`console never printed ${re}; it printed:\n${text}`);
        await new Promise((res) => setTimeout(res, 10));
      }
      return text;
    },
  };
  rigs.push(r);
  return r;
}

describe('console channel', () => {
  it('/list (and list without the slash) prints the watch list with the market-clock time', async () => {
    const r = await rig();
    r.type('/list');
    await r.waitFor(/Watching 1 盯板列表/);
    expect(r.output()).toMatch(
      /^\[10:00:00\] Watching 1 盯板列表\n {11}中国海诚 002116\.SZ · held 10000 \(sellable 10000\) · 涨停 — · 未封 · trigger <2000万 · confirm\n/,
    );
    r.type('status');
    await r.waitFor(/Broker paper/);
    r.type('/watch 12345 2000w');
    await r.waitFor(/✗ invalid security code "12345".*Example: \/watch 600519 2000w/);
  });

  it('a confirm prints its id; typing the id sells once; typing it again says why nothing happens', async () => {
    const r = await rig();
    for (const s of sealedRun('10:00:00', 3, [100_000_000, 100_000_000, 15_000_000])) await r.h.feed(s);
    const printed = await r.waitFor(/Confirm: \/confirm ([\w-]+)/);
    const id = /Confirm: \/confirm ([\w-]+)/.exec(printed)![1]!;
    expect(printed).toMatch(/Sell trigger/);
    expect(await r.h.paper.todayOrders()).toHaveLength(0);
    r.type(id);
    await r.waitFor(/✓ .*10000/);
    const orders = await r.h.paper.todayOrders();
    expect(orders).toHaveLength(1);
    expect(orders[0]).toMatchObject({ quantity: 10_000, limitPrice: '10.00' });
    r.type(id);
    await r.waitFor(/✗ /);
    r.type(`/hold ${id}`);
    await new Promise((res) => setTimeout(res, 50));
    expect(await r.h.paper.todayOrders()).toHaveLength(1);
  });

  it('a daily summary with seal charts prints each PNG path (a terminal cannot show the picture)', async () => {
    const r = await rig();
    r.h.bus.publish({
      type: 'DailySummary',
      at: r.h.clock.now(),
      kind: 'summary',
      date: '2026-11-23',
      title: 'Summary 2026-11-23',
      text: 'one seal',
      charts: [{ symbol: '002116.SZ', name: '中国海诚', file: '/data/charts/2026-11-23-002116.SZ.png' }],
    });
    const out = await r.waitFor(/\.png/);
    expect(out).toMatch(
      /Summary 2026-11-23\n\s+one seal\n\s+📈 中国海诚 002116\.SZ 封单 seal 2026-11-23: \/data\/charts\/2026-11-23-002116\.SZ\.png\n/,
    );
  });

  it('/hold <id> declines the confirm: no order', async () => {
    const r = await rig();
    for (const s of sealedRun('10:00:00', 3, [100_000_000, 100_000_000, 15_000_000])) await r.h.feed(s);
    const id = /Confirm: \/confirm ([\w-]+)/.exec(await r.waitFor(/Confirm: \/confirm ([\w-]+)/))![1]!;
    r.type(`/hold ${id}`);
    await r.waitFor(/✓ Held by console/);
    expect(await r.h.paper.todayOrders()).toHaveLength(0);
  });
});
