/**
 * Durable, validated JSON documents on disk (watch lists, order intents, user settings).
 *
 * On-disk format: `{ "version": N, "data": T }`, pretty-printed. The envelope keeps the schema
 * version apart from user data, so a migration never collides with a user field named "version".
 *
 * Guarantees:
 * - A file we cannot understand (bad JSON, fails the schema, newer version) is refused with a
 *   StoreError and left byte-for-byte untouched: we never overwrite user data we did not read.
 * - Writes are atomic and durable (see durableFile.ts); a kill -9 leaves the old or the new file.
 * - `update` calls run one at a time in call order; a mutation that fails the schema (or throws)
 *   changes neither memory nor disk. `data` is always the last committed state, deep-frozen so
 *   that accidental in-place edits (which would never be saved) fail loudly.
 * - One process owns a store file; stray temp files from a killed writer are removed at open.
 */
import { readFile } from 'node:fs/promises';
import { Low } from 'lowdb';
import type { Adapter } from 'lowdb';
import type { z } from 'zod';
import { isErrno, removeStaleTempFiles, writeFileDurable } from './durableFile.ts';
import { StoreError, formatZodIssues } from './errors.ts';

export { StoreError } from './errors.ts';

export interface JsonStore<T> {
  readonly file: string;
  /** The committed state (deep-frozen). */
  readonly data: T;
  /** Apply a synchronous mutation to a copy, validate it, write it durably, then publish it. */
  update(mutate: (draft: T) => void): Promise<void>;
}

export interface JsonStoreOptions<T> {
  file: string;
  schema: z.ZodType<T>;
  /** Current schema version, an integer >= 1. */
  version: number;
  /** The state of a store whose file does not exist yet. Not written until the first update. */
  defaults: () => T;
  /** migrations[N] turns version N data into version N+1 data. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  migrations?: Record<number, (old: any) => any>;
}

interface StoreDocument {
  version: number;
  data: unknown;
}

export async function openJsonStore<T>(opts: JsonStoreOptions<T>): Promise<JsonStore<T>> {
  const { file, schema, version } = opts;
  if (!Number.isInteger(version) || version < 1) {
    throw new TypeError(`openJsonStore(${file}): version must be an integer >= 1 (got ${String(version)})`);
  }
  await removeStaleTempFiles(file);
  const db = new Low<StoreDocument | null>(new DurableJsonAdapter(file), null);
  await db.read();

  if (db.data === null) {
    const parsed = schema.safeParse(opts.defaults());
    if (!parsed.success) {
      throw new StoreError(file, `the built-in defaults fail the schema: ${formatZodIssues(parsed.error)}`);
    }
    return new Store(file, schema, version, db, parsed.data);
  }

  const found = db.data.version;
  if (found > version) {
    throw new StoreError(
      file,
      `version ${found} was written by a newer SealGuard (this one knows up to version ${version}); upgrade SealGuard or restore an older backup`,
    );
  }
  const migrated =
    found < version ? migrate(file, db.data.data, found, version, opts.migrations) : db.data.data;
  const parsed = schema.safeParse(migrated);
  if (!parsed.success) {
    const stage = found < version ? ` after migrating from version ${found} to ${version}` : '';
    throw new StoreError(file, `invalid contents${stage}: ${formatZodIssues(parsed.error)}`);
  }
  if (found < version) {
    await backUp(file, found);
    db.data = { version, data: parsed.data };
    try {
      await db.write();
    } catch (error) {
      throw new StoreError(
        file,
        `could not write the migrated file: ${errorText(error)}`,
        'The old file is intact.',
        {
          cause: error,
        },
      );
    }
  }
  return new Store(file, schema, version, db, parsed.data);
}

class Store<T> implements JsonStore<T> {
  #committed: T;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly schema: z.ZodType<T>,
    private readonly version: number,
    private readonly db: Low<StoreDocument | null>,
    initial: T,
  ) {
    this.#committed = deepFreeze(initial);
  }

  get data(): T {
    return this.#committed;
  }

  update(mutate: (draft: T) => void): Promise<void> {
    const run = this.#tail.then(() => this.#apply(mutate));
    this.#tail = run.catch(() => {});
    return run;
  }

  async #apply(mutate: (draft: T) => void): Promise<void> {
    const draft = structuredClone(this.#committed) as T;
    const returned: unknown = mutate(draft);
    if (returned !== null && typeof (returned as { then?: unknown } | undefined)?.then === 'function') {
      // Edits made after an await would silently miss the write; refuse the whole pattern.
      throw new TypeError(`${this.file}: update() mutators must be synchronous; nothing was written`);
    }
    const parsed = this.schema.safeParse(draft);
    if (!parsed.success) {
      throw new StoreError(
        this.file,
        `update rejected: ${formatZodIssues(parsed.error)}`,
        'Nothing was written.',
      );
    }
    const previous = this.db.data;
    this.db.data = { version: this.version, data: parsed.data };
    try {
      await this.db.write();
    } catch (error) {
      this.db.data = previous;
      throw new StoreError(
        this.file,
        `could not save: ${errorText(error)}`,
        'The previous contents are intact.',
        {
          cause: error,
        },
      );
    }
    this.#committed = deepFreeze(parsed.data);
  }
}

/** lowdb adapter over durable writes that reports unreadable files as StoreErrors. */
class DurableJsonAdapter implements Adapter<StoreDocument | null> {
  constructor(private readonly file: string) {}

  async read(): Promise<StoreDocument | null> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return null;
      throw new StoreError(this.file, `cannot be read: ${errorText(error)}`, undefined, { cause: error });
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (error) {
      throw new StoreError(this.file, `is not valid JSON (${errorText(error)})`, undefined, { cause: error });
    }
    if (!isDocument(doc)) {
      throw new StoreError(
        this.file,
        'is not a SealGuard store: expected {"version": <integer>, "data": ...}',
      );
    }
    return doc;
  }

  async write(doc: StoreDocument | null): Promise<void> {
    await writeFileDurable(this.file, `${JSON.stringify(doc, null, 2)}\n`);
  }
}

function isDocument(value: unknown): value is StoreDocument {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const doc = value as Record<string, unknown>;
  return Number.isInteger(doc.version) && (doc.version as number) >= 1 && 'data' in doc;
}

function migrate(
  file: string,
  data: unknown,
  from: number,
  to: number,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  migrations: Record<number, (old: any) => any> = {},
): unknown {
  let current = data;
  for (let v = from; v < to; v++) {
    const step = migrations[v];
    if (!step)
      throw new StoreError(file, `is version ${v} and there is no migration from version ${v} to ${v + 1}`);
    try {
      current = step(current);
    } catch (error) {
      throw new StoreError(
        file,
        `migration from version ${v} to ${v + 1} failed: ${errorText(error)}`,
        undefined,
        {
          cause: error,
        },
      );
    }
  }
  return current;
}

/** Keep the pre-migration bytes as `<file>.v<N>.bak`; never overwrite a different older backup. */
async function backUp(file: string, version: number): Promise<void> {
  const bytes = await readFile(file);
  for (let n = 0; ; n++) {
    const candidate = n === 0 ? `${file}.v${version}.bak` : `${file}.v${version}.${n}.bak`;
    const existing = await readFile(candidate).catch((error: unknown) => {
      if (isErrno(error, 'ENOENT')) return null;
      throw error;
    });
    if (existing?.equals(bytes)) return;
    if (existing === null) {
      await writeFileDurable(candidate, bytes);
      return;
    }
  }
}

function deepFreeze<V>(value: V): V {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
