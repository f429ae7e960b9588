/**
 * A full DATA_DIR at the moment of a trigger. Where the test runs as root it mounts a small
 * tmpfs as DATA_DIR and fills it for real (the kernel answers ENOSPC); elsewhere the durable-write
 * layer (src/store/durableFile.ts, which every JsonStore write goes through) is made to fail the
 * way node's fs does on a full disk: `Error: ENOSPC: no space left on device, write`, code ENOSPC.
 * (SEALGUARD_TEST_INJECT_ENOSPC=1 forces the injected way.)
 * Either way: the user is told at once, nothing is reported as sold, no order leaves without its
 * intent on disk, and once space is freed the guard records it and sells exactly once.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { render } from '../../src/chat/notify.ts';
import { plainText } from '../../src/chat/reply.ts';
import { sealedRun } from '../helpers/snapshots.ts';
import { harness, type Harness } from './harness.ts';
import type * as DurableFile from '../../src/store/durableFile.ts';

const injected = vi.hoisted(() => ({ full: false }));
vi.mock('../../src/store/durableFile.ts', async (importOriginal) => {
  const real = await importOriginal<typeof DurableFile>();
  return {
    ...real,
    writeFileDurable: async (file: string, text: string | Uint8Array): Promise<void> => {
      if (injected.full)
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), {
          errno: -28,
          code: 'ENOSPC',
          syscall: 'write',
        });
      return real.writeFileDurable(file, text);
    },
    // The order intents' write-ahead log (src/store/appendLog.ts) appends through this one.
    appendDurable: async (...args: Parameters<typeof real.appendDurable>): Promise<void> => {
      if (injected.full)
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), {
          errno: -28,
          code: 'ENOSPC',
          syscall: 'write',
        });
      return real.appendDurable(...args);
    },
    // ... and its synchronous twin, for the intent in front of a sell (AppendLog.appendNow).
    appendDurableSync: (...args: Parameters<typeof real.appendDurableSync>): void => {
      if (injected.full)
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), {
          errno: -28,
          code: 'ENOSPC',
          syscall: 'write',
        });
      real.appendDurableSync(...args);
    },
  };
});

/** A DATA_DIR that can be filled: a real 1 MB tmpfs when we may mount one, else the injected failure. */
interface Disk {
  dir: string;
  real: boolean;
  fill(): void;
  free(): void;
  dispose(): void;
}

function makeDisk(): Disk {
  const dir = mkdtempSync(join(tmpdir(), 'sg-full-'));
  let real = false;
  if (process.platform === 'linux' && process.getuid?.() === 0 && !process.env.SEALGUARD_TEST_INJECT_ENOSPC) {
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore' });
      real = true;
    } catch {
      real = false;
    }
  }
  const filler = join(dir, 'filler.bin');
  return {
    dir,
    real,
    fill() {
      if (!real) {
        injected.full = true;
        return;
      }
      const chunk = Buffer.alloc(16 * 1024, 1);
      const parts: Buffer[] = [];
      for (let i = 0; i < 200; i++) {
        parts.push(chunk);
        try {
          writeFileSync(filler, Buffer.concat(parts));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') return;
          throw err;
        }
      }
      throw new Error('tmpfs never filled');
    },
    free() {
      injected.full = false;
      if (real) rmSync(filler, { force: true });
    },
    dispose() {
      injected.full = false;
      if (real) execFileSync('umount', [dir], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const DRAIN = sealedRun(
  '10:00:00',
  3,
  [100_000_000, 100_000_000, 60_000_000, 30_000_000, 15_000_000, 12_000_000, 9_000_000],
);

let disk: Disk | undefined;
let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
  disk?.dispose();
  disk = undefined;
});

const said = (g: Harness): string[] => g.events.map((e) => plainText(render(e)));

async function tickFor(g: Harness, seconds: number): Promise<void> {
  for (let i = 0; i < seconds; i++) {
    g.clock.set(g.clock.now() + 1000);
    await g.guard.tick();
  }
  await g.bus.idle();
}

describe('a full DATA_DIR at the trigger', () => {
  it('auto: told at once on every channel, nothing sold or reported sold; after space is freed it sells once', async () => {
    disk = makeDisk();
    h = await harness({ dir: disk.dir, mode: 'auto' });
    const g = h;
    // Up to the trigger with space; the snapshot that triggers finds the disk full.
    for (const s of DRAIN.slice(0, 4)) await g.feed(s);
    disk.fill();
    for (const s of DRAIN.slice(4)) await g.feed(s);
    await g.bus.idle();
    const incident = g.events.find((e) => e.type === 'Incident');
    expect(incident).toMatchObject({ component: 'disk', level: 'error', resolved: false });
    expect(plainText(render(incident!))).toBe(
      '🛑 cannot record the order intent: disk full — not selling 中国海诚 002116.SZ until it can be recorded (free space in DATA_DIR)',
    );
    await tickFor(g, 5);
    expect(await g.paper.todayOrders()).toHaveLength(0);
    expect(g.events.some((e) => e.type === 'OrderPlaced' || e.type === 'OrderFilled')).toBe(false);
    expect(said(g).some((l) => /^📤|^✅ Sold/.test(l))).toBe(false);

    disk.free();
    await tickFor(g, 3);
    const orders = await g.paper.todayOrders();
    expect(orders).toHaveLength(1);
    expect(orders[0]).toMatchObject({ symbol: '002116.SZ', quantity: 10000, limitPrice: '10.00' });
    const resolved = g.events.find((e) => e.type === 'Incident' && e.resolved);
    expect(plainText(render(resolved!))).toBe(
      '✅ Resolved order intent for 中国海诚 002116.SZ recorded; selling now',
    );
    expect(g.events.filter((e) => e.type === 'OrderPlaced')).toHaveLength(1);
    expect(Object.values(g.guard.stores.orders.data.intents)).toHaveLength(1);
    await tickFor(g, 30);
    expect(await g.paper.todayOrders()).toHaveLength(1);
    expect(g.health.snapshot().items).toEqual([]);
  });

  it('confirm: the alert still reaches the user with the reason and no button; the confirm follows once recorded, and sells once', async () => {
    disk = makeDisk();
    h = await harness({ dir: disk.dir, mode: 'confirm' });
    const g = h;
    for (const s of DRAIN.slice(0, 4)) await g.feed(s);
    disk.fill();
    for (const s of DRAIN.slice(4)) await g.feed(s);
    await g.bus.idle();
    const first = g.events.find((e) => e.type === 'SellTriggered');
    expect(first?.type).toBe('SellTriggered');
    expect(first?.type === 'SellTriggered' ? first.actionId : 'none').toBeUndefined();
    expect(plainText(render(first!))).toContain(
      'No sell: the confirm could not be recorded (disk full); nothing is sold yet — it will be sent again once it can be recorded.',
    );
    expect(render(first!).action).toBeUndefined();
    expect(g.events.find((e) => e.type === 'Incident')).toMatchObject({ component: 'disk', level: 'error' });
    expect(g.api.pendingActions()).toEqual([]);

    disk.free();
    await tickFor(g, 2);
    const prompts = g.events.filter((e) => e.type === 'SellTriggered' && e.actionId);
    expect(prompts).toHaveLength(1);
    const actionId = prompts[0]!.type === 'SellTriggered' ? prompts[0]!.actionId! : '';
    expect(render(prompts[0]!).action?.id).toBe(actionId);
    expect(g.api.pendingActions().map((a) => a.id)).toEqual([actionId]);
    const r = await g.api.resolve(actionId, 'sell', 'u1');
    expect(r.ok).toBe(true);
    await g.api.resolve(actionId, 'sell', 'u1');
    await tickFor(g, 3);
    expect(await g.paper.todayOrders()).toHaveLength(1);
  });

  it('confirm tapped while the disk is full: "not sold yet" with the reason; sold once when space returns', async () => {
    disk = makeDisk();
    h = await harness({ dir: disk.dir, mode: 'confirm' });
    const g = h;
    for (const s of DRAIN) await g.feed(s);
    const trig = g.events.find((e) => e.type === 'SellTriggered');
    const actionId = trig?.type === 'SellTriggered' ? trig.actionId! : '';
    disk.fill();
    const r = await g.api.resolve(actionId, 'sell', 'u1');
    expect(r.ok).toBe(false);
    expect(r.message).toBe(
      'Not sold yet: cannot record the order intent: disk full. It will be sold once it can be recorded.',
    );
    await g.bus.idle();
    expect(g.events.some((e) => e.type === 'OrderPlaced')).toBe(false);
    expect(await g.paper.todayOrders()).toHaveLength(0);
    disk.free();
    await tickFor(g, 3);
    expect(await g.paper.todayOrders()).toHaveLength(1);
    expect(g.events.filter((e) => e.type === 'OrderPlaced')).toHaveLength(1);
  });
});
