/**
 * Selling needs a known trading day or a provisional one the market confirmed open; monitoring
 * and alerts run on every candidate day. A real guard and paper broker with the calendar's gate
 * (engine/marketDays.ts) on a provisional 2027 day, fed the scripted drain of helpers/snapshots.ts.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { TradingCalendar } from '../../src/domain/calendar.ts';
import { MarketDays } from '../../src/engine/marketDays.ts';
import { harness, type Harness } from './harness.ts';
import { sealed, t } from '../helpers/snapshots.ts';

const open: Harness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.stop();
});

it('on an unconfirmed provisional day the trigger alerts with the reason and places no order', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-gate-'));
  // A provisional day for this gate: the test snapshots' own date, with no bundled data for it.
  const cal = new TradingCalendar({ holidays: new Set(['2004-01-01']), firstYear: 2004, lastYear: 2004 });
  const gate: { days?: MarketDays } = {};
  const h = await harness({
    dir,
    sellBlocked: () => (gate.days ? gate.days.sellBlockedReason() : 'no calendar yet'),
  });
  open.push(h);
  gate.days = await MarketDays.open({ dataDir: dir, clock: h.clock, calendar: cal });
  for (let i = 0; i < 6; i++) await h.feed(sealed(t('10:00:00') + i * 3000, 80_000_000 - i * 14_000_000));
  const trig = h.events.find((e) => e.type === 'SellTriggered');
  expect(trig).toMatchObject({
    mode: 'alert',
    noSellReason: expect.stringContaining('provisional trading day the market has not confirmed open yet'),
  });
  expect(Object.keys(h.guard.stores.orders.data.intents)).toEqual([]);
});

it('once the market confirms the day, the same drain sells', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-gate-'));
  const cal = new TradingCalendar({ holidays: new Set(['2004-01-01']), firstYear: 2004, lastYear: 2004 });
  const gate: { days?: MarketDays } = {};
  const h = await harness({
    dir,
    sellBlocked: () => (gate.days ? gate.days.sellBlockedReason() : 'no calendar yet'),
  });
  open.push(h);
  const days = (gate.days = await MarketDays.open({ dataDir: dir, clock: h.clock, calendar: cal }));
  for (let i = 0; i < 6; i++) {
    const s = sealed(t('10:00:00') + i * 3000, 80_000_000 - i * 14_000_000);
    h.clock.set(s.ts + 500);
    days.onSnapshots([s]); // as app.ts does: the calendar sees each batch before the guard
    await h.feed(s);
  }
  expect(h.events.find((e) => e.type === 'SellTriggered')).toMatchObject({ mode: 'auto' });
  expect(h.events.some((e) => e.type === 'OrderPlaced')).toBe(true);
});
