/**
 * One JsonStore per day in a directory (DATA_DIR/history/YYYY-MM-DD.json): written rarely, read
 * on request, never held open. Each file has the JsonStore guarantees (validated, atomic fsync'd
 * writes, refused and left byte-for-byte untouched when it cannot be understood).
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import { parseDate } from '../domain/time.ts';
import { isErrno } from './durableFile.ts';
import { openJsonStore, StoreError } from './jsonStore.ts';

export type DayFileRead<T> =
  { kind: 'found'; data: T } | { kind: 'none' } | { kind: 'unreadable'; file: string; problem: string };

export interface DayFilesOptions<T> {
  dir: string;
  schema: z.ZodType<T>;
  version: number;
  /** A day's contents before its file exists. */
  empty: (day: string) => T;
  /** The day a file's contents say they are of: a file renamed to another day is refused. */
  dayOf: (data: T) => string;
}

export class DayFiles<T> {
  readonly dir: string;
  /**
   * Reads and updates run one at a time: opening a store removes stale temp files of its name,
   * which would include the live temp file of an update still writing that day.
   */
  #tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: DayFilesOptions<T>) {
    this.dir = o.dir;
  }

  /** The file of a day; throws InputError on anything but a real YYYY-MM-DD (no path tricks). */
  file(day: string): string {
    parseDate(day);
    return join(this.dir, `${day}.json`);
  }

  read(day: string): Promise<DayFileRead<T>> {
    return this.#serial(async () => {
      const file = this.file(day);
      try {
        await stat(file);
      } catch (error) {
        if (isErrno(error, 'ENOENT')) return { kind: 'none' };
        return { kind: 'unreadable', file, problem: `${file}: cannot be read: ${errorText(error)}` };
      }
      try {
        return { kind: 'found', data: (await this.#open(day)).data };
      } catch (error) {
        if (error instanceof StoreError) return { kind: 'unreadable', file, problem: error.message };
        throw error;
      }
    });
  }

  /**
   * Applies a synchronous mutation to the day's file (created on first use) and writes it durably.
   * A file that cannot be understood throws a StoreError and is neither read nor replaced.
   */
  update(day: string, mutate: (draft: T) => void): Promise<void> {
    return this.#serial(async () => {
      const store = await this.#open(day);
      await store.update(mutate);
    });
  }

  async #open(day: string) {
    const file = this.file(day);
    const store = await openJsonStore<T>({
      file,
      schema: this.o.schema,
      version: this.o.version,
      defaults: () => this.o.empty(day),
    });
    const says = this.o.dayOf(store.data);
    if (says !== day) throw new StoreError(file, `holds the records of ${says}, not of ${day}`);
    return store;
  }

  #serial<R>(run: () => Promise<R>): Promise<R> {
    const next = this.#tail.then(run);
    this.#tail = next.catch(() => {});
    return next;
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
