/**
 * The order intents' write-ahead log (orders.wal.jsonl, src/store/appendLog.ts): a sell's intent
 * is on disk in the log, one append and one fsync, before its broker call; orders.json follows in
 * the background; a process that died between the two gets the intent back on the next open, so
 * the same segment is never sold under a second identity. A real guard with a paper broker.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Broker, Order, SellRequest } from '../../src/broker/broker.ts';
import type { PaperBroker } from '../../src/broker/paper.ts';
import { intentLogFile, openGuardStores, type Intent } from '../../src/engine/state.ts';
import { sealedRun } from '../helpers/snapshots.ts';
import { harness, type Harness } from './harness.ts';

const open: Harness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.stop();
});

const DRAIN = sealedRun('10:00:00', 3, [100_000_000, 100_000_000, 60_000_000, 30_000_000, 15_000_000]);

/** What was on disk at the moment placeSell was called. */
function watching(paper: PaperBroker, dir: string, seen: { wal: string; orders: string }[]): Broker {
  return new Proxy(paper, {
    get(target, prop, receiver) {
      if (prop === 'placeSell')
        return (req: SellRequest): Promise<Order> => {
          const read = (f: string) => {
            try {
              return readFileSync(join(dir, f), 'utf8');
            } catch {
              return '';
            }
          };
          seen.push({ wal: read('orders.wal.jsonl'), orders: read('orders.json') });
          return target.placeSell(req);
        };
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

function intent(over: Partial<Intent> = {}): Intent {
  return {
    clientOrderId: 'SG-20261123-paper-002116SZ-1',
    day: '2026-11-23',
    symbol: '002116.SZ',
    name: '中国海诚',
    segment: 1,
    rule: 'amount',
    reason: 'seal 1500万 < 2000万',
    quantity: 10_000,
    limitPrice: '10.00',
    createdAt: Date.parse('2026-11-23T10:00:12+08:00'),
    state: 'intent',
    ...over,
  } as Intent;
}

describe('the order intent is in the write-ahead log before the broker call', () => {
  it('auto mode: at placeSell the log holds the intent (orders.json may not yet); then orders.json has it and the log is empty', async () => {
    const seen: { wal: string; orders: string }[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'sg-wal-'));
    const h = await harness({ dir, wrap: (p) => watching(p, dir, seen) });
    open.push(h);
    for (const s of DRAIN) await h.feed(s);
    await h.bus.idle();
    expect(seen).toHaveLength(1);
    const [line] = seen[0]!.wal.trim().split('\n');
    const logged = JSON.parse(line!) as Intent;
    expect(logged).toMatchObject({ symbol: '002116.SZ', segment: 1, quantity: 10_000, limitPrice: '10.00' });
    const deadline = Date.now() + 3000;
    while (readFileSync(intentLogFile(dir), 'utf8') !== '' && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    const stored = h.guard.stores.orders.data.intents[logged.clientOrderId];
    expect(stored?.state).not.toBe(undefined);
    expect(readFileSync(intentLogFile(dir), 'utf8')).toBe('');
    const onDisk = JSON.parse(readFileSync(join(dir, 'orders.json'), 'utf8')) as {
      data: { intents: Record<string, Intent> };
    };
    expect(Object.keys(onDisk.data.intents)).toEqual([logged.clientOrderId]);
  });
});

describe('opening the stores takes back what only the log holds', () => {
  it('an intent in the log that orders.json lacks (died between the two writes) is recovered; the log starts empty', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-wal-'));
    writeFileSync(intentLogFile(dir), JSON.stringify(intent()) + '\n');
    const stores = await openGuardStores(dir);
    expect(stores.orders.data.intents['SG-20261123-paper-002116SZ-1']).toEqual(intent());
    expect(readFileSync(intentLogFile(dir), 'utf8')).toBe('');
    await stores.intentLog?.close();
  });

  it('an intent orders.json already has keeps the orders.json state (the later one)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-wal-'));
    const first = await openGuardStores(dir);
    await first.orders.update((d) => {
      d.intents['SG-20261123-paper-002116SZ-1'] = intent({ state: 'final' });
    });
    await first.intentLog?.close();
    writeFileSync(intentLogFile(dir), JSON.stringify(intent()) + '\n');
    const stores = await openGuardStores(dir);
    expect(stores.orders.data.intents['SG-20261123-paper-002116SZ-1']?.state).toBe('final');
    await stores.intentLog?.close();
  });

  it('a torn last line (killed mid-append) is no intent: its sell never started; a complete unreadable line is kept aside', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-wal-'));
    const good = intent({ clientOrderId: 'SG-20261123-paper-600519SH-1', symbol: '600519.SH' });
    writeFileSync(
      intentLogFile(dir),
      `${JSON.stringify(good)}\n{"not":"an intent"}\n${JSON.stringify(intent()).slice(0, 40)}`,
    );
    const stores = await openGuardStores(dir);
    expect(Object.keys(stores.orders.data.intents)).toEqual([good.clientOrderId]);
    const aside = readdirSync(dir).filter((f) => f.startsWith('orders.wal.jsonl.unreadable-'));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(dir, aside[0]!), 'utf8')).toContain('{"not":"an intent"}');
    expect(readFileSync(intentLogFile(dir), 'utf8')).toBe('');
    await stores.intentLog?.close();
  });

  it('after a restart from such a log the same segment is not sold again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-wal-'));
    const first = await harness({ dir });
    for (const s of DRAIN) await first.feed(s);
    await first.bus.idle();
    const orders = await first.paper.todayOrders();
    expect(orders).toHaveLength(1);
    const id = orders[0]!.clientOrderId;
    // As if orders.json had never been rewritten: only the log knows the intent.
    const logged = first.guard.stores.orders.data.intents[id]!;
    await first.stop();
    writeFileSync(join(dir, 'orders.json'), JSON.stringify({ version: 1, data: { intents: {} } }));
    writeFileSync(intentLogFile(dir), JSON.stringify({ ...logged, state: 'intent' }) + '\n');
    const again = await harness({ dir });
    open.push(again);
    for (const s of sealedRun('10:00:15', 3, [15_000_000, 14_000_000])) await again.feed(s);
    await again.bus.idle();
    expect((await again.paper.todayOrders()).map((o) => o.clientOrderId)).toEqual([id]);
  });
});
