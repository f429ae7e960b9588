/**
 * What the callback server has already accepted: the nonces of the signature window and the
 * deliveries (MsgId, or the click's identity) WeCom may redeliver. Kept in DATA_DIR as well as in
 * memory, because a captured, validly signed `/mode all auto` replayed after a restart would
 * otherwise meet an empty memory and still be inside the ±300 s window.
 *
 * The file is an append-only journal, one JSON line per accepted key, written and fsynced before
 * the request is acted on (a callback is a human tap or text: a few per minute, so a sync write
 * each is cheap). Opening reads it back, skips a torn last line and expired entries, and rewrites
 * it compacted; it is compacted again whenever it holds far more lines than live entries.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { SeenSet } from './seenSet.ts';

export type ReplayKind = 'nonce' | 'delivery';

interface Line {
  /** kind: n = nonce, d = delivery */
  t: 'n' | 'd';
  k: string;
  /** wall ms until which the key is remembered */
  u: number;
}

export interface ReplayMemoryOptions {
  /** Journal file; without one the memory lasts as long as the process. */
  file?: string;
  nonceTtlMs: number;
  deliveryTtlMs: number;
  logger?: Logger;
  now: number;
}

export class ReplayMemory {
  private readonly sets: Record<ReplayKind, SeenSet>;
  private fd: number | undefined;
  private lines = 0;

  constructor(private readonly o: ReplayMemoryOptions) {
    this.sets = {
      nonce: new SeenSet(50_000, o.nonceTtlMs),
      delivery: new SeenSet(10_000, o.deliveryTtlMs),
    };
    if (o.file) {
      try {
        this.load(o.file, o.now);
      } catch (e) {
        // An unreadable or unwritable DATA_DIR must not keep the guard from starting; the memory
        // still holds for this process, and the owner is told (persistError).
        this.persistError = (e as Error).message;
        this.o.logger?.warn({ err: this.persistError }, 'wecom replay memory cannot be kept on disk');
      }
    }
  }

  /** Why the journal could not be opened, when it could not. */
  persistError: string | undefined;

  /** Records key at `now`; true if it was not already remembered (i.e. the request may proceed). */
  add(kind: ReplayKind, key: string, now: number): boolean {
    const set = this.sets[kind];
    if (!set.add(key, now)) return false;
    if (this.fd !== undefined) {
      const line: Line = { t: kind === 'nonce' ? 'n' : 'd', k: key, u: now + set.ttlMs };
      try {
        writeSync(this.fd, JSON.stringify(line) + '\n');
        fsyncSync(this.fd);
        this.lines++;
        if (this.lines > 2 * (this.sets.nonce.size + this.sets.delivery.size) + 1000) this.compact(now);
      } catch (e) {
        // A full or read-only disk must not stop callbacks; the memory still holds in this process.
        this.o.logger?.warn({ err: e }, 'wecom replay memory could not be saved');
      }
    }
    return true;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private load(file: string, now: number): void {
    mkdirSync(dirname(file), { recursive: true });
    if (existsSync(file)) {
      const parsed: Line[] = [];
      for (const text of readFileSync(file, 'utf8').split('\n')) {
        if (!text) continue;
        try {
          const l = JSON.parse(text) as Line;
          if ((l.t === 'n' || l.t === 'd') && typeof l.k === 'string' && typeof l.u === 'number')
            parsed.push(l);
        } catch {
          // a line torn by a crash mid-write: the request it recorded was never acted on
        }
      }
      // SeenSet expires from the head, so restore in expiry order.
      parsed.sort((a, b) => a.u - b.u);
      for (const l of parsed) if (l.u > now) this.sets[l.t === 'n' ? 'nonce' : 'delivery'].restore(l.k, l.u);
    }
    this.compact(now);
  }

  /** Rewrites the journal with the live entries only (temp file, fsync, rename). */
  private compact(now: number): void {
    const file = this.o.file!;
    const tmp = `${file}.tmp`;
    const out: string[] = [];
    for (const [kind, set] of Object.entries(this.sets) as [ReplayKind, SeenSet][]) {
      for (const [k, u] of set.entries(now))
        out.push(JSON.stringify({ t: kind === 'nonce' ? 'n' : 'd', k, u }));
    }
    const fd = openSync(tmp, 'w', 0o600);
    try {
      if (out.length) writeSync(fd, out.join('\n') + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (this.fd !== undefined) closeSync(this.fd);
    renameSync(tmp, file);
    this.fd = openSync(file, 'a', 0o600);
    this.lines = out.length;
  }
}
