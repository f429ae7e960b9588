/**
 * `sealguard <command>`: each subcommand lives in src/cli/<name>.ts and exports
 * `run(args: string[]): Promise<number>` (the exit code). Loaded lazily so `limits` does not pay
 * for grammY, axios and the rest.
 */
interface Command {
  summary: string;
  load: () => Promise<{ run: (args: string[]) => Promise<number> }>;
}

const commands: Record<string, Command> = {
  start: {
    summary: 'run the guard as configured by the environment (.env)',
    load: () => import('./cli/start.ts'),
  },
  demo: {
    summary: 'replayed market day, paper broker, console chat: no setup',
    load: () => import('./cli/demo.ts'),
  },
  limits: {
    summary: 'limits <code> <prevClose> [--st] [--date YYYY-MM-DD] [--listed-days N]: limit-up/down prices',
    load: () => import('./cli/limits.ts'),
  },
  quote: {
    summary: 'quote <code>... [--source tencent|sina|eastmoney]: live level-1 snapshot',
    load: () => import('./cli/quote.ts'),
  },
  record: {
    summary: 'record <code>... --out file.jsonl: record normalized snapshots',
    load: () => import('./cli/record.ts'),
  },
  backtest: {
    summary:
      'backtest <recording.jsonl> [--threshold 2000w] [--drop-from-peak 50] [--drop-in-window 30/60s] [--confirm 1] [--json]',
    load: () => import('./cli/backtest.ts'),
  },
  calendar: {
    summary: 'calendar [--days N]: the next weekdays, open or closed, and where that comes from',
    load: () => import('./cli/calendar.ts'),
  },
  doctor: {
    summary: 'check configuration, quote sources, broker and chat',
    load: () => import('./cli/doctor.ts'),
  },
};

export function usage(): string {
  const lines = ['Usage: sealguard <command> [options]', '', 'Commands:'];
  for (const [name, c] of Object.entries(commands)) lines.push(`  ${name.padEnd(9)} ${c.summary}`);
  lines.push('', 'Run `sealguard <command> --help` for details.');
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name ? 0 : 0;
  }
  const cmd = commands[name];
  if (!cmd) {
    process.stderr.write(`sealguard: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  const mod = await cmd.load();
  return mod.run(rest);
}
