/**
 * `sealguard demo` as a configuration: a recorded market day replayed at speed on its own clock,
 * the paper broker holding the recording's stocks, auto mode, the console chat, and a data
 * directory of its own that starts empty every time.
 */
import { join } from 'node:path';
import type { Config } from './config.ts';
import { exchangeDate, exchangeTs } from './domain/time.ts';
import { UnknownCodeError } from './engine/guard.ts';
import { loadDemoManifest } from './market/demoManifest.ts';
import { ReplayFeed } from './market/replay.ts';
import { replaySource } from './market/source.ts';
import type { RunProfile } from './profile.ts';

/** The demo starts a little before the first seal and plays the day at this speed. */
const DEMO_START = '09:58:00';
export const DEMO_SPEED = 90;

export function demoProfile(config: Config, o: { speed?: number } = {}): RunProfile {
  const speed = o.speed ?? DEMO_SPEED;
  const manifest = loadDemoManifest();
  return {
    // A fresh demo every time, kept apart from a real setup's state.
    dataDir: join(config.dataDir, 'demo-run'),
    wipe: true,
    ...(config.setKeys.includes('LOG_LEVEL') ? {} : { logLevel: 'warn' as const }),
    paperPositions: manifest.stocks
      .filter((s) => s.position > 0)
      .map((s) => ({ symbol: s.symbol, name: s.name, quantity: s.position, sellable: s.position })),
    defaultMode: 'auto',
    console: true,
    market: async ({ log }) => {
      const replay = await ReplayFeed.open({
        files: manifest.files,
        speed,
        startAt: exchangeTs(manifest.date, DEMO_START),
        onBadLine: (m) => log.warn({ replay: m }, 'bad line in the demo recording'),
      });
      const clock = replay.clock;
      return {
        clock,
        simulated: true,
        source: async () =>
          replaySource(replay, {
            clock,
            onState: (st, detail) => log.debug({ state: st, detail }, 'replay'),
          }),
        // The demo's market is its recording: any stock in it can be watched, nothing else.
        lookup: async (symbol) => {
          const m = manifest.stocks.find((x) => x.symbol === symbol);
          if (m) return { name: m.name };
          throw new UnknownCodeError(
            `${symbol} is not in the demo's replayed day; it has ${manifest.stocks.map((x) => x.symbol.slice(0, 6)).join(', ')}`,
          );
        },
        // The recordings end at 15:00; the replayed clock runs on, so the day gets its own 15:05
        // summary a few real seconds later (bounded, in case the clock was stopped).
        ended: (engine) =>
          replay.finished.then(() =>
            Promise.race([
              engine.scheduler?.ran('summary', exchangeDate(clock.now())),
              new Promise<void>((ok) => {
                setTimeout(ok, (6 * 60_000) / speed + 3000).unref();
              }),
            ]).then(() => engine.bus.idle()),
          ),
      };
    },
  };
}
