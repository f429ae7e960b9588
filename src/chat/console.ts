/**
 * The console channel: commands on stdin, notifications on stdout. Used when no chat is
 * configured (and by the demo). A pending confirm is answered by typing its id (or /hold <id>).
 */
import { createInterface, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { GuardApi } from '../engine/api.ts';
import type { Channel } from './channel.ts';
import { runCommand } from './commands.ts';
import type { Notification } from './notify.ts';
import { plainText } from './reply.ts';

export interface ConsoleOptions {
  input?: Readable;
  output?: Writable;
  /** Prefix every line with the market-clock time. */
  timestamp?: (ts: number) => string;
  user?: string;
}

export class ConsoleChannel implements Channel {
  readonly name = 'console';
  readonly interactive = true;
  private rl: Interface | undefined;
  private readonly out: Writable;
  private busy: Promise<void> = Promise.resolve();

  constructor(
    private readonly api: GuardApi,
    private readonly o: ConsoleOptions = {},
  ) {
    this.out = o.output ?? process.stdout;
  }

  private write(text: string): void {
    const stamp = this.o.timestamp ? `[${this.o.timestamp(this.api.now())}] ` : '';
    this.out.write(
      text
        .split('\n')
        .map((l, i) => (i === 0 ? stamp + l : ' '.repeat(stamp.length) + l))
        .join('\n') + '\n',
    );
  }

  async start(): Promise<void> {
    const input = this.o.input ?? process.stdin;
    // With no terminal and nothing piped (CI, Docker without -i) stdin ends at once; that is fine.
    this.rl = createInterface({ input, terminal: false });
    this.rl.on('line', (line) => {
      this.busy = this.busy.then(() => this.handle(line));
    });
  }

  async stop(): Promise<void> {
    this.rl?.close();
    await this.busy;
  }

  /** One typed line: a command, or a bare pending-action id meaning "sell". */
  async handle(line: string): Promise<void> {
    const text = line.trim();
    if (!text) return;
    const user = this.o.user ?? 'console';
    const bare = /^[A-Za-z0-9_-]{6,16}$/.test(text) && this.api.action(text);
    const r = await runCommand(this.api, {
      user,
      text: bare ? `/confirm ${text}` : text.startsWith('/') ? text : `/${text}`,
    });
    this.write(plainText(r));
  }

  async send(n: Notification): Promise<string | undefined> {
    // A terminal cannot show a picture: the seal chart's PNG path, to open it.
    const charts = (n.photos ?? []).map((p) => `📈 ${p.caption}: ${p.file}`);
    this.write([plainText(n.reply), ...charts].join('\n'));
    return n.actionId ? `console:${n.actionId}` : undefined;
  }

  async settleAction(_actionId: string, _ref: string, _text: string): Promise<void> {
    // The console cannot edit a printed line; the ActionResolved notification says the outcome.
  }
}
