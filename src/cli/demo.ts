/** `sealguard demo [--speed N]`: the replayed day, paper broker and console chat, whatever is configured. */
import { loadConfig } from '../config.ts';
import { runApp } from './start.ts';

export async function run(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(
      'Usage: sealguard demo [--speed N]\n\nReplays the demo market day (default speed 90×) with a paper broker and the console chat.\n',
    );
    return 0;
  }
  const i = args.indexOf('--speed');
  const speed = i >= 0 ? Number(args[i + 1]) : undefined;
  if (speed !== undefined && !(speed > 0)) {
    process.stderr.write('sealguard demo: --speed takes a positive number\n');
    return 2;
  }
  // Only the process basics (data dir, log level) come from the environment; the demo's own
  // market, broker and chat replace the rest.
  const config = loadConfig(
    { DATA_DIR: process.env.DATA_DIR, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
    { readDotEnv: false },
  );
  return runApp(config, { demo: true, ...(speed ? { demoSpeed: speed } : {}) });
}
