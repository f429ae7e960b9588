/**
 * An append-only file of JSON lines, each append on disk (fsync) before it resolves. The file is
 * kept open between appends: on the path from a trigger to its sell, mkdir, open and close would
 * each be one more event-loop round trip. A torn last line (kill -9 mid-write) is dropped on read,
 * and the next append starts on a fresh line; a file replaced under us (another inode at the
 * path) is opened again rather than written into an unlinked inode.
 */
import { mkdir, open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { APPEND_DSYNC_FLAGS, appendDurable, isErrno } from './durableFile.ts';

interface Opened {
  fh: FileHandle;
  ino: number;
  /** Where our last complete line ended; -1 until we wrote one. */
  end: number;
}

export class AppendLog {
  private tail: Promise<unknown> = Promise.resolve();
  private current: Opened | null = null;

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
    const text = lines.join('\n') + '\n';
    return this.serial(async () => {
      const { d, size } = await this.openFile();
      try {
        let sep = '';
        if (size > 0 && size !== d.end) {
          const last = Buffer.alloc(1);
          await d.fh.read(last, 0, 1, size - 1);
          if (last[0] !== 0x0a) sep = '\n';
        }
        const bytes = Buffer.from(sep + text, 'utf8');
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
    const run = this.tail.then(work);
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
