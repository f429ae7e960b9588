/**
 * Priorities under load: 5,000 watched, 2,000 sealed, 20 draining in confirm mode, delivered by
 * the real hub and TelegramChannel to a fake Bot API that enforces Telegram's limits (Bot FAQ:
 * about 1 message per second per chat -> 429 with retry_after; test/helpers/fakeBotApi.ts).
 * Real guard, stores on disk and paper broker; the snapshots are scripted and fed directly.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, expect, it } from 'vitest';
import { PaperBroker } from '../../src/broker/paper.ts';
import { ChatHub } from '../../src/chat/hub.ts';
import { TelegramChannel } from '../../src/chat/telegram.ts';
import { SimClock } from '../../src/domain/clock.ts';
import type { Snapshot } from '../../src/domain/types.ts';
import { GuardApi } from '../../src/engine/api.ts';
import { EventBus } from '../../src/engine/bus.ts';
import { Guard } from '../../src/engine/guard.ts';
import { HealthBoard } from '../../src/engine/health.ts';
import { openGuardStores } from '../../src/engine/state.ts';
import { startFakeBotApi, TELEGRAM_LIMITS, type FakeBotApi } from '../helpers/fakeBotApi.ts';
import { sealed, snap, t } from '../helpers/snapshots.ts';

const ME = 55_555_555;
const N = 5_000;
const silent = pino({ level: 'silent' });

function codes(): string[] {
  const out: string[] = [];
  for (let i = 0; i < N; i++) {
    const sh = i % 2 === 0;
    const k = sh ? i / 2 : (i - 1) / 2;
    const code = sh ? String(k < 2000 ? 600000 + k : 603000 + k - 2000) : String(1 + k).padStart(6, '0');
    out.push(`${code}.${sh ? 'SH' : 'SZ'}`);
  }
  return out;
}

let bot: FakeBotApi | undefined;
const stops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const s of stops.reverse()) await s();
  await bot?.close();
});

it('every one of the 20 confirm prompts is delivered before any seal digest queued after it, within the limits', async () => {
  bot = await startFakeBotApi({ limits: TELEGRAM_LIMITS });
  const dir = mkdtempSync(join(tmpdir(), 'sg-tgload-'));
  const all = codes();
  const sealers = all.slice(0, 2000);
  const drainers = sealers.slice(0, 20);
  const late = all.slice(2000, 2300); // seal after the prompts were queued
  const clock = new SimClock(t('10:00:00'), () => Date.now());
  writeFileSync(
    join(dir, 'settings.json'),
    JSON.stringify({
      version: 1,
      data: {
        watches: Object.fromEntries(
          all.map((s) => [
            s,
            { symbol: s, name: `股${s.slice(0, 6)}`, origin: 'user', addedAt: clock.now() },
          ]),
        ),
        ignored: [],
        paused: false,
        notify: {},
      },
    }),
  );
  const stores = await openGuardStores(dir);
  // The paper broker fills against the guard's last snapshots; the guard is made just below.
  const ref: { guard?: Guard } = {};
  const paper = await PaperBroker.open({
    dataDir: dir,
    clock,
    quotes: (s) => ref.guard?.lastSnapshot(s),
    positions: drainers.map((s) => ({
      symbol: s,
      name: `股${s.slice(0, 6)}`,
      quantity: 10_000,
      sellable: 10_000,
    })),
    cash: 0,
  });
  const bus = new EventBus();
  const guard = new Guard({
    dataDir: dir,
    clock,
    broker: paper,
    stores,
    bus,
    log: silent,
    defaultMode: 'confirm',
    defaultTriggers: { amount: 20_000_000 },
    confirmTimeoutS: 60,
    confirmDefault: 'hold',
    positionsRefreshMs: 3_600_000,
  });
  ref.guard = guard;
  await guard.start();
  const health = new HealthBoard();
  const api = new GuardApi({
    guard,
    broker: paper,
    bus,
    clock,
    simulatedClock: true,
    sources: () => [],
    health,
  });
  const tg = new TelegramChannel({
    token: bot.token,
    allowedUsers: [ME],
    api,
    log: silent,
    apiRoot: bot.apiRoot,
    health,
    pollTimeoutS: 1,
  });
  const hub = new ChatHub(api, [tg], silent);
  await hub.start();
  stops.push(async () => {
    await hub.stop();
    await guard.stop();
    await bus.idle();
  });
  await new Promise<void>((res) => {
    const end = Date.now() + 5_000;
    const check = () => (tg.ready() || Date.now() > end ? res() : setTimeout(check, 20));
    check();
  });

  const round = (sealedSet: Set<string>, drained: Set<string>): Snapshot[] => {
    const now = clock.now();
    return all.map((s) => {
      const name = `股${s.slice(0, 6)}`;
      if (drained.has(s)) return sealed(now, 15_000_000, { symbol: s, name });
      if (sealedSet.has(s))
        return sealed(now, 100_000_000 + (sealers.indexOf(s) % 97) * 1_000_000, { symbol: s, name });
      return snap(now, { symbol: s, name });
    });
  };
  const feed = async (snaps: Snapshot[]) => {
    await guard.onSnapshots(snaps);
    await bus.idle();
  };

  // 2,000 seal (confirmed over consecutive snapshots), the first seal notices go out.
  const sealedSet = new Set(sealers);
  for (let i = 0; i < 3; i++) {
    await feed(round(sealedSet, new Set()));
    await new Promise((r) => setTimeout(r, 300));
  }
  await bot.waitFor((c) => c.method === 'sendMessage' && /sealed/.test(String(c.payload.text)), 10_000);

  // 20 drain below 2000万: 20 confirm prompts; then 300 more seal, queued after the prompts.
  const queuedAt = bot.messages.size ? Math.max(...bot.messages.keys()) : 0;
  await feed(round(sealedSet, new Set(drainers)));
  for (const s of late) sealedSet.add(s);
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 300));
    await feed(round(sealedSet, new Set(drainers)));
  }
  expect(api.pendingActions()).toHaveLength(20);

  const prompts = () => [...bot!.messages.values()].filter((m) => m.reply_markup?.inline_keyboard.length);
  const end = Date.now() + 45_000;
  while (prompts().length < 20 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  expect(prompts()).toHaveLength(20);
  // A digest follows the prompts, folding the late seals (and the rest) into one message.
  const lastPrompt = () => Math.max(...prompts().map((m) => m.message_id));
  const digestAfter = () =>
    [...bot!.messages.values()].find(
      (m) =>
        m.message_id > lastPrompt() && Number(/^🔒 (\d+) sealed: /.exec(m.text)?.[1] ?? 0) >= late.length,
    );
  while (!digestAfter() && Date.now() < end + 20_000) await new Promise((r) => setTimeout(r, 100));
  const digest = digestAfter();
  expect(digest, 'a digest after the prompts').toBeDefined();
  expect(digest!.text).toMatch(/ … and \d+ more$/);

  const promptIds = prompts().map((m) => m.message_id);
  // No seal notice at all between the first and the last prompt; all prompts before the digest.
  const sealIds = [...bot.messages.values()]
    .filter((m) => /sealed/.test(m.text) && m.message_id > queuedAt)
    .map((m) => m.message_id);
  for (const id of sealIds) expect(id < Math.min(...promptIds) || id > Math.max(...promptIds)).toBe(true);
  // The digest already waiting when the prompts were queued went after them (at most one seal
  // message was already on its way).
  expect(sealIds.filter((id) => id < Math.min(...promptIds)).length).toBeLessThanOrEqual(1);
  expect(Math.max(...promptIds)).toBeLessThan(digest!.message_id);
  // Within Telegram's limits: not one 429.
  expect(bot.throttled).toHaveLength(0);
  // Digests fold thousands of seals into a few messages.
  expect([...bot.messages.values()].filter((m) => /sealed/.test(m.text)).length).toBeLessThan(10);

  // Each confirm's deadline counts from its delivery: the last one delivered ~20 s after it was
  // queued still has its full 60 s from then.
  const actions = api.pendingActions().sort((a, b) => a.deadline - b.deadline);
  const lastOne = actions[actions.length - 1]!;
  expect(lastOne.deadline - lastOne.createdAt).toBeGreaterThan(60_000 + 15_000);
}, 120_000);
