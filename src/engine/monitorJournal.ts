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
import { mkdir, open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { MonitorState } from '../domain/sealMonitor.ts';

/** The day's file, kept open between appends: its inode, and where our last complete line ended. */
interface OpenDay {
  day: string;
  fh: FileHandle;
  ino: number;
  end: number;
}

export class MonitorJournal {
  private tail: Promise<unknown> = Promise.resolve();
  private current: OpenDay | null = null;

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

  /**
   * Appends the states (all of one day) and resolves once they are on disk. Serialized. The
   * file stays open between appends: the append sits on the path from a trigger to its sell,
   * and mkdir, open and close each cost an event-loop round trip.
   */
  append(day: string, states: MonitorState[]): Promise<void> {
    if (states.length === 0) return Promise.resolve();
    const text = states.map((s) => JSON.stringify(s)).join('\n') + '\n';
    const run = this.tail.then(async () => {
      const { d, size } = await this.openDay(day);
      try {
        // After a torn line, start on a fresh one so the new state is not glued to the fragment.
        // Only a file that grew behind our back (or one just opened) can end in one.
        let sep = '';
        if (size > 0 && size !== d.end) {
          const last = Buffer.alloc(1);
          await d.fh.read(last, 0, 1, size - 1);
          if (last[0] !== 0x0a) sep = '\n';
        }
        const bytes = Buffer.from(sep + text, 'utf8');
        await d.fh.write(bytes, 0, bytes.length, null);
        await d.fh.sync();
        d.end = size + bytes.length;
      } catch (err) {
        // A failed write (a full disk) may have left part of a line: look again on a fresh open.
        await this.closeNow();
        throw err;
      }
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Closes the open day file once pending appends are done (the guard's stop). */
  close(): Promise<void> {
    const run = this.tail.then(() => this.closeNow());
    this.tail = run;
    return run;
  }

  private async closeNow(): Promise<void> {
    const d = this.current;
    this.current = null;
    await d?.fh.close().catch(() => undefined);
  }

  /**
   * The open file of `day` and its size, while it is still the file at the path (one stat); else
   * it is opened again: a journal moved or deleted under us must not swallow states into an
   * unlinked inode.
   */
  private async openDay(day: string): Promise<{ d: OpenDay; size: number }> {
    const cur = this.current;
    if (cur?.day === day) {
      const st = await stat(this.file(day)).catch(() => null);
      if (st?.ino === cur.ino) return { d: cur, size: st.size };
    }
    await this.closeNow();
    await mkdir(join(this.dataDir, 'monitors'), { recursive: true });
    const fh = await open(this.file(day), 'a+');
    try {
      const st = await fh.stat();
      const d: OpenDay = { day, fh, ino: st.ino, end: -1 };
      this.current = d;
      return { d, size: st.size };
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
  }
}
