/**
 * An append-only file of JSON lines, each append on disk (fsync) before it resolves. The file is
 * kept open between appends: on the path from a trigger to its sell, mkdir, open and close would
 * each be one more event-loop round trip. A torn last line (kill -9 mid-write) is dropped on read,
 * and the next append starts on a fresh line; a file replaced under us (another inode at the
 * path) is opened again rather than written into an unlinked inode.
 */
import { readSync, statSync } from 'node:fs';
import { mkdir, open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { APPEND_DSYNC_FLAGS, appendDurable, appendDurableSync, isErrno } from './durableFile.ts';

interface Opened {
  fh: FileHandle;
  ino: number;
  /** Where our last complete line ended; -1 until we wrote one. */
  end: number;
}

const NL = 0x0a;

/** The lines as the file holds them: each one ended by a newline. */
function toText(lines: string[]): string {
  return lines.join('\n') + '\n';
}

/** Someone else wrote after our last line (or we never wrote one): its last byte needs a look. */
function mayBeTorn(d: Opened, size: number): boolean {
  return size > 0 && size !== d.end;
}

/** After a torn tail the text starts on a fresh line, never glued to the fragment. */
function encode(text: string, afterTorn: boolean): Buffer {
  return Buffer.from(afterTorn ? '\n' + text : text, 'utf8');
}

/** A synchronous append slower than this sends appendNow back through the queue for a while. */
const SLOW_SYNC_MS = 50;
const SLOW_SYNC_BACKOFF_MS = 60_000;

export class AppendLog {
  private tail: Promise<unknown> = Promise.resolve();
  private current: Opened | null = null;
  /** Appends, resets and closes queued or running: appendNow writes at once only with none. */
  private queued = 0;
  /** performance.now() before which appendNow queues (the disk was slow). */
  private syncAfter = 0;

  constructor(readonly file: string) {}

  /** The complete lines in the file (none when it does not exist). */
  async lines(): Promise<string[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return [];
      throw err;
    }
    const parts = text.split('\n');
    parts.pop(); // after the last '\n': empty, or a torn fragment that never became a line
    return parts.filter((l) => l.length > 0);
  }

  /** Appends the lines; resolves once they are on disk. Appends and resets run one at a time. */
  append(lines: string[]): Promise<void> {
    if (lines.length === 0) return Promise.resolve();
    const text = toText(lines);
    return this.serial(async () => {
      const { d, size } = await this.openFile();
      try {
        let torn = false;
        if (mayBeTorn(d, size)) {
          const last = Buffer.alloc(1);
          await d.fh.read(last, 0, 1, size - 1);
          torn = last[0] !== NL;
        }
        const bytes = encode(text, torn);
        await appendDurable(d.fh, bytes);
        d.end = size + bytes.length;
      } catch (err) {
        // A failed write (a full disk) may have left part of a line: look again on a fresh open.
        await this.closeNow();
        throw err;
      }
    });
  }

  /**
   * As append, but on disk before this returns (the promise it gives is already settled), written
   * on the calling thread: the order intent in front of a sell. Through the queue the same line
   * takes two thread-pool round trips (the inode check, the write): ~0.4 ms more at the bench's
   * poll-to-POST p50 on a loaded 2-core box, where the O_DSYNC write itself took 0.5-1 ms. It
   * holds the event loop for as long as the disk takes, but the sell waits on it either way; a
   * write slower than 50 ms sends the next minute's appends back through the queue, so a stalling disk cannot freeze
   * the process sell after sell. Queued work (an append, a reset, the file not open yet) keeps
   * its turn: then this is append.
   */
  appendNow(lines: string[]): Promise<void> {
    if (lines.length === 0) return Promise.resolve();
    const d = this.current;
    if (d === null || this.queued > 0 || performance.now() < this.syncAfter) return this.append(lines);
    const started = performance.now();
    try {
      // The same checks as the queued path: the file still ours, our last line complete.
      const st = statSync(this.file, { throwIfNoEntry: false });
      if (st === undefined || st.ino !== d.ino) return this.append(lines);
      let torn = false;
      if (mayBeTorn(d, st.size)) {
        const last = Buffer.alloc(1);
        readSync(d.fh.fd, last, 0, 1, st.size - 1);
        torn = last[0] !== NL;
      }
      const bytes = encode(toText(lines), torn);
      appendDurableSync(d.fh.fd, bytes);
      d.end = st.size + bytes.length;
      return Promise.resolve();
    } catch (err) {
      // As append: a failed write (a full disk) may have left part of a line; reopen next time.
      this.current = null;
      void d.fh.close().catch(() => undefined);
      return Promise.reject(err as Error);
    } finally {
      const now = performance.now();
      if (now - started > SLOW_SYNC_MS) this.syncAfter = now + SLOW_SYNC_BACKOFF_MS;
    }
  }

  /**
   * Empties the file once `when()` holds at its turn in the queue (so no append queued before it
   * is lost): for when everything the log held is safe elsewhere.
   */
  resetWhen(when: () => boolean): Promise<void> {
    return this.serial(async () => {
      if (!when()) return;
      const { d, size } = await this.openFile();
      if (size === 0) return;
      await d.fh.truncate(0);
      await d.fh.sync();
      d.end = 0;
    });
  }

  /** Closes the file once pending appends are done. */
  close(): Promise<void> {
    return this.serial(() => this.closeNow());
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    this.queued++;
    const run = this.tail.then(work).finally(() => this.queued--);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async closeNow(): Promise<void> {
    const d = this.current;
    this.current = null;
    await d?.fh.close().catch(() => undefined);
  }

  private async openFile(): Promise<{ d: Opened; size: number }> {
    const cur = this.current;
    if (cur) {
      const st = await stat(this.file).catch(() => null);
      if (st?.ino === cur.ino) return { d: cur, size: st.size };
    }
    await this.closeNow();
    await mkdir(dirname(this.file), { recursive: true });
    const fh = await open(this.file, APPEND_DSYNC_FLAGS, 0o600);
    try {
      const st = await fh.stat();
      const d: Opened = { fh, ino: st.ino, end: -1 };
      this.current = d;
      return { d, size: st.size };
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
  }
}
