/**
 * `sealguard start` (what `npm start` runs): configuration from the environment and .env; with
 * nothing configured at all it runs the demo. Stops cleanly on SIGINT/SIGTERM: feeds stop first,
 * in-flight work finishes, pending confirms stay on disk (a later tap on them says why nothing happens).
 */
import { ConfigError, isDemo, loadConfig, type Config } from '../config.ts';
import { StoreError } from '../store/jsonStore.ts';
import { InputError } from '../domain/types.ts';
import { CalendarError } from '../domain/calendar.ts';
import { exchangeDate } from '../domain/time.ts';

const HELP = `Usage: sealguard start

Runs the guard as configured by environment variables (and ./.env). See .env.example for every key.
With no configuration at all, runs the demo: a replayed market day, a paper broker holding the
demo stocks, and this console as the chat (type /help).`;

export async function run(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`sealguard: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  return runApp(config, { demo: isDemo(config) || args.includes('--demo') });
}

export async function runApp(config: Config, opts: { demo: boolean; demoSpeed?: number }): Promise<number> {
  for (const w of config.warnings) process.stderr.write(`sealguard: warning: ${w}\n`);
  const { startApp } = await import('../app.ts');
  let app: Awaited<ReturnType<typeof startApp>>;
  try {
    if (opts.demo) process.stdout.write(demoBanner());
    app = await startApp(config, {
      demo: opts.demo,
      ...(opts.demoSpeed ? { demoSpeed: opts.demoSpeed } : {}),
    });
  } catch (err) {
    if (err instanceof StoreError || err instanceof InputError || err instanceof CalendarError) {
      process.stderr.write(`sealguard: cannot start: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  return new Promise<number>((resolve) => {
    let closing = false;
    const shutdown = async (why: string, code: number) => {
      if (closing) return;
      closing = true;
      app.log.info({ why }, 'stopping');
      try {
        await app.stop();
      } catch (err) {
        app.log.error({ err: String(err) }, 'error while stopping');
      }
      resolve(code);
    };
    process.once('SIGINT', () => void shutdown('SIGINT', 0));
    process.once('SIGTERM', () => void shutdown('SIGTERM', 0));
    void app.ended.then(async () => {
      if (!opts.demo) return;
      // The replayed day normally gets its scheduled 15:05 summary (printed above); else print it now.
      const day = exchangeDate(app.clock.now());
      if (app.scheduler.lastRun('summary') === day)
        process.stdout.write('\nThe demo day has ended (its 15:05 summary is above).\n');
      else {
        process.stdout.write('\nThe demo day has ended. Summary:\n');
        process.stdout.write((await app.api.summary()) + '\n');
      }
      await shutdown('demo ended', 0);
    });
  });
}

function demoBanner(): string {
  return [
    'SealGuard 封板卫士 — demo',
    'No configuration found, so this is a replayed market day (2026-11-23) with a paper broker holding',
    'the demo stocks and this console as the chat. Watch a seal form, weaken, trigger and a paper sell.',
    'Type /list, /positions, /orders or /help at any time; Ctrl-C to quit. Configure .env (see .env.example) for the real thing.',
    '',
  ].join('\n');
}
