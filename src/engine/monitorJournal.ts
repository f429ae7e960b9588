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
import { join } from 'node:path';
import { NEVER, type MonitorState } from '../domain/sealMonitor.ts';
import { AppendLog } from '../store/appendLog.ts';

export class MonitorJournal {
  /** Today's file, kept open between appends (store/appendLog.ts); another day opens another. */
  private current: { day: string; log: AppendLog } | null = null;
  private closing: Promise<void> = Promise.resolve();

  constructor(private readonly dataDir: string) {}

  file(day: string): string {
    return join(this.dataDir, 'monitors', `${day}.jsonl`);
  }

  /** The latest state per symbol recorded for `day`; empty when there is none. */
  async load(day: string): Promise<Map<string, MonitorState>> {
    const out = new Map<string, MonitorState>();
    for (const line of await new AppendLog(this.file(day)).lines()) {
      let st: MonitorState;
      try {
        st = JSON.parse(line) as MonitorState;
      } catch {
        continue; // a line that is not a state: the state before it stands
      }
      if (st && typeof st.symbol === 'string' && st.day === day && typeof st.segment === 'number') {
        // Journals written before NEVER existed say null for "no step yet".
        if ((st.lastStepAt as number | null) === null) st.lastStepAt = NEVER;
        if ((st.lastTs as number | null) === null) st.lastTs = NEVER;
        out.set(st.symbol, st);
      }
    }
    return out;
  }

  /** Appends the states (all of one day) and resolves once they are on disk. Serialized. */
  append(day: string, states: MonitorState[]): Promise<void> {
    if (states.length === 0) return Promise.resolve();
    const lines = states.map((s) => JSON.stringify(s));
    if (this.current?.day !== day) {
      const old = this.current?.log;
      this.closing = old ? old.close() : Promise.resolve();
      this.current = { day, log: new AppendLog(this.file(day)) };
    }
    const log = this.current.log;
    return this.closing.then(() => log.append(lines));
  }

  /** Closes the open day file once pending appends are done (the guard's stop). */
  async close(): Promise<void> {
    const cur = this.current;
    this.current = null;
    await this.closing;
    await cur?.log.close();
  }
}
