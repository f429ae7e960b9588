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
import { LockError } from '../store/lock.ts';

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

/** A stop that takes longer than this ends the process anyway (the promise: gone within 5 s). */
const HARD_EXIT_MS = 4_500;
/** After a clean stop, a socket or timer some library left behind may hold the exit this long. */
const LINGER_MS = 300;
const SIGNAL_NUMBERS: Record<string, number> = { SIGINT: 2, SIGTERM: 15 };

export async function runApp(config: Config, opts: { demo: boolean; demoSpeed?: number }): Promise<number> {
  for (const w of config.warnings) process.stderr.write(`sealguard: warning: ${w}\n`);
  // Signals are handled from the first moment: a start that hangs on a dead server (a Telegram
  // getMe, a broker) must still end on SIGTERM within the deadline.
  let signalled: string | undefined;
  let onSignal: ((why: string) => void) | undefined;
  const handler = (sig: NodeJS.Signals) => {
    if (signalled) {
      // The user asked twice: leave now. Durable state is already on disk.
      process.stderr.write(`sealguard: ${sig} again, exiting now\n`);
      process.exit(128 + (SIGNAL_NUMBERS[sig] ?? 1));
    }
    signalled = sig;
    setTimeout(() => {
      process.stderr.write(`sealguard: still stopping after ${HARD_EXIT_MS} ms, exiting now\n`);
      process.exit(0);
    }, HARD_EXIT_MS).unref();
    onSignal?.(sig);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  const { startApp } = await import('../app.ts');
  let app: Awaited<ReturnType<typeof startApp>>;
  try {
    if (opts.demo) process.stdout.write(demoBanner());
    app = await startApp(config, {
      demo: opts.demo,
      ...(opts.demoSpeed ? { demoSpeed: opts.demoSpeed } : {}),
    });
  } catch (err) {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
    if (
      err instanceof StoreError ||
      err instanceof InputError ||
      err instanceof CalendarError ||
      err instanceof LockError
    ) {
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
        app.log.error({ err }, 'error while stopping');
      }
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      setTimeout(() => process.exit(code), LINGER_MS).unref();
      resolve(code);
    };
    onSignal = (sig) => void shutdown(sig, 0);
    if (signalled) onSignal(signalled);
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
