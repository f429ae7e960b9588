/**
 * `ptrade` end to end through the real process: `node bin/sealguard.js start` with BROKER=ptrade,
 * QUOTE_SOURCES=ptrade,tencent (the Tencent address has nothing behind it), and the REAL
 * bridges/ptrade/sealguard_relay.py in the fake PTrade runtime (test/market/relayStrategy.ts)
 * polling the relay on HTTP_PORT: it learns the watch list from the commands answer, posts
 * get_snapshot quotes, and executes the sale the guard queues. The user is a fake Telegram Bot API.
 */
import { afterEach, expect, it } from 'vitest';
import { startFakeBotApi, type ApiCall } from '../helpers/fakeBotApi.ts';
import { deadPort, spawnGuard } from '../process/qmt-e2e-harness.ts';
import { hasPython, hundsunSealed, startStrategy, TOKEN } from './relayStrategy.ts';

const ME = 424_242_427;
const START = Date.parse('2026-11-24T10:01:00+08:00');

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const sent = (c: ApiCall) => c.method === 'sendMessage';
const textOf = (c: ApiCall) => String(c.payload.text ?? '');

it.skipIf(!hasPython)(
  'the PTrade strategy posts the watched quotes; a drain sells once at the limit-up through the relay; silent strategy -> tencent, the user is told',
  async () => {
    const bot = await startFakeBotApi();
    cleanup.push(() => bot.close());
    const port = new URL(await deadPort()).port;
    const t0 = Date.now();
    const now = () => START + (Date.now() - t0);
    const guard = spawnGuard({
      TELEGRAM_BOT_TOKEN: bot.token,
      TELEGRAM_ALLOWED_USERS: String(ME),
      TELEGRAM_API_ROOT: bot.apiRoot,
      BROKER: 'ptrade',
      BROKER_TOKEN: TOKEN,
      HTTP_PORT: port,
      QUOTE_SOURCES: 'ptrade,tencent',
      TENCENT_QUOTE_URL: await deadPort(),
      POLL_INTERVAL_MS: '500',
      SEALGUARD_CLOCK: new Date(START).toISOString(),
      DEFAULT_MODE: 'auto',
    });
    cleanup.push(() => guard.stop());
    const strategy = startStrategy(`http://127.0.0.1:${port}`, cleanup);
    await strategy.position('600570.SS', 10_000, 10_000, 45.0, 49.72);
    let bid1 = 1_250_000; // 6215万 at 49.72
    let ticking = true;
    let orderCalls: [string, number, number | null][] = [];
    // PTrade's run_interval is 3 s; a 1 s cycle only makes the test quicker.
    const loop = (async () => {
      while (ticking) {
        await strategy.snapshot('600570.SS', hundsunSealed(now(), bid1));
        orderCalls = (await strategy.tick()).order_calls;
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    cleanup.push(async () => {
      ticking = false;
      await loop;
    });
    const told = (re: RegExp, ms: number, from = 0) =>
      bot.waitFor((c) => sent(c) && re.test(textOf(c)), ms, from);
    try {
      await told(/Quote source tencent → ptrade: stream open/, 30_000);
      await told(/600570\.SH sealed at limit-up 49\.72: seal 6215万/, 20_000);
      bid1 = 300_000; // 1491.6万 < the default 2000万
      const drainAt = Date.now();
      while (orderCalls.length === 0) {
        if (Date.now() - drainAt > 15_000) throw new Error('no order() within 15 s of the drain');
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(orderCalls).toEqual([['600570.SS', -10_000, 49.72]]);
      await told(/Sell order placed: .*600570\.SH 10000 @ 49\.72/, 10_000);
      await new Promise((r) => setTimeout(r, 2500));
      expect(orderCalls).toHaveLength(1);

      // The strategy stops (PTrade paused it): after 7.5 s without a post, tencent is asked.
      const from = bot.calls.length;
      ticking = false;
      await loop;
      const quietAt = Date.now();
      await told(
        /Quote source ptrade → tencent: stream closed: no quotes from the PTrade strategy for 7\.5 s/,
        15_000,
        from,
      );
      expect(Date.now() - quietAt).toBeLessThan(7_500 + 3_000);
      expect(await guard.stop()).toBe(0);
    } catch (err) {
      throw new Error(`${(err as Error).message}${guard.diag()}`, { cause: err });
    }
  },
  90_000,
);
