/**
 * The 15:05 summary reaches Telegram as text followed by the seal chart as a photo (sendPhoto,
 * multipart PNG), through the real hub and the real grammY channel against a fake Bot API.
 */
import { afterEach, expect, it } from 'vitest';
import { ChatHub } from '../../src/chat/hub.ts';
import { TelegramChannel } from '../../src/chat/telegram.ts';
import { DayRecorder } from '../../src/engine/dayReport.ts';
import { DaySummaries } from '../../src/engine/summary.ts';
import { EventLog } from '../../src/store/eventLog.ts';
import { startFakeBotApi, type FakeBotApi } from '../helpers/fakeBotApi.ts';
import { DAY, sealed, SYMBOL, t } from '../helpers/snapshots.ts';
import { harness, silent } from './harness.ts';

const USER = 4242;
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

it('sends the summary text, then one photo per sealed stock with its caption', async () => {
  const fake: FakeBotApi = await startFakeBotApi();
  cleanup.push(() => fake.close());
  const h = await harness({ start: '09:59:00' });
  cleanup.push(() => h.stop());
  const eventLog = new EventLog({ dataDir: h.dir });
  h.bus.subscribe('event-log', (e) => eventLog.append({ ...e, ts: e.at }));
  const recorder = new DayRecorder({ guard: h.guard, eventLog, now: () => h.clock.now() });
  const summaries = new DaySummaries({
    guard: h.guard,
    eventLog,
    bus: h.bus,
    clock: h.clock,
    dataDir: h.dir,
    recorder,
  });
  const tg = new TelegramChannel({
    token: fake.token,
    allowedUsers: [USER],
    api: h.api,
    log: silent,
    apiRoot: fake.apiRoot,
  });
  const hub = new ChatHub(h.api, [tg], silent);
  await hub.start();
  cleanup.push(() => hub.stop());

  for (let i = 0; i < 60; i++) {
    const s = sealed(t('10:00:00') + i * 3000, 80_000_000 - i * 500_000);
    await h.feed(s);
    recorder.onSnapshot(s);
  }
  h.clock.set(t('15:05:00'));
  const from = fake.calls.length;
  await summaries.runSummary(DAY);
  await h.bus.idle();

  const text = await fake.waitFor(
    (c) => c.method === 'sendMessage' && String(c.payload.text).includes(`每日总结 ${DAY}`),
    5000,
    from,
  );
  expect(Number(text.payload.chat_id)).toBe(USER);
  expect(String(text.payload.text)).toContain(`中国海诚 ${SYMBOL}`);
  const photo = await fake.waitFor((c) => c.method === 'sendPhoto', 5000, from);
  const raw = String(photo.payload.raw);
  // multipart/form-data: the PNG signature and chunks, the caption, the chat.
  expect(raw).toContain('PNG\r\n\u001a\n');
  expect(raw).toContain('IHDR');
  expect(raw).toContain('IEND');
  expect(raw).toContain(`中国海诚 ${SYMBOL} 封单 seal ${DAY}`);
  expect(raw).toContain(String(USER));
  expect(fake.calls.indexOf(photo)).toBeGreaterThan(fake.calls.indexOf(text));
  expect(fake.calls.filter((c) => c.method === 'sendPhoto')).toHaveLength(1);
});
