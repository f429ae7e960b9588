/**
 * Today's seal-monitor states, kept as an append-only journal (`monitors/YYYY-MM-DD.jsonl`, last
 * line per symbol wins) rather than a lowdb document.
 *
 * Why our own: a state must reach disk before its seal is announced or its segment sells (the
 * segment number is part of the client order id), and with thousands watched that happens many
 * times a minute. Rewriting one JSON document of every sealed stock each time is O(sealed) per
 * write and made the guard quadratic when many seals formed at once; appending only the changed
 * states, then fsync, is O(changed). A torn last line (kill -9 mid-write) is skipped on load.
 */
import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MonitorState } from '../domain/sealMonitor.ts';

export class MonitorJournal {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly dataDir: string) {}

  file(day: string): string {
    return join(this.dataDir, 'monitors', `${day}.jsonl`);
  }

  /** The latest state per symbol recorded for `day`; empty when there is none. */
  async load(day: string): Promise<Map<string, MonitorState>> {
    const out = new Map<string, MonitorState>();
    let text: string;
    try {
      text = await readFile(this.file(day), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
      throw err;
    }
    for (const line of text.split('\n')) {
      if (!line) continue;
      let st: MonitorState;
      try {
        st = JSON.parse(line) as MonitorState;
      } catch {
        continue; // a torn line from a kill mid-append: the state before it stands
      }
      if (st && typeof st.symbol === 'string' && st.day === day && typeof st.segment === 'number')
        out.set(st.symbol, st);
    }
    return out;
  }

  /** Appends the states (all of one day) and resolves once they are on disk. Serialized. */
  append(day: string, states: MonitorState[]): Promise<void> {
    if (states.length === 0) return Promise.resolve();
    const text = states.map((s) => JSON.stringify(s)).join('\n') + '\n';
    const run = this.tail.then(async () => {
      await mkdir(join(this.dataDir, 'monitors'), { recursive: true });
      const fh = await open(this.file(day), 'a+');
      try {
        // After a torn line, start on a fresh one so the new state is not glued to the fragment.
        const { size } = await fh.stat();
        let sep = '';
        if (size > 0) {
          const last = Buffer.alloc(1);
          await fh.read(last, 0, 1, size - 1);
          if (last[0] !== 0x0a) sep = '\n';
        }
        await fh.write(sep + text);
        await fh.sync();
      } finally {
        await fh.close();
      }
    });
    this.tail = run.catch(() => undefined);
    return run;
  }
}
