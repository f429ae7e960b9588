/**
 * The running guard's health board mirrored to DATA_DIR/health.json, so that `doctor` (another
 * process) can say "the running guard reports: Telegram chat 123 unreachable". Best effort by
 * design: this file is a window, not state; a full disk must not turn a health report into a
 * crash, so write failures are swallowed (the disk problem is reported by its own check).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { HealthBoard, HealthSnapshot } from '../engine/health.ts';
import { writeFileDurable } from './durableFile.ts';

export const HEALTH_FILE = 'health.json';

const itemSchema = z.object({
  key: z.string(),
  component: z.string(),
  level: z.enum(['warn', 'error']),
  text: z.string(),
  since: z.number(),
});
const fileSchema = z.object({
  pid: z.number().int(),
  startedAt: z.number(),
  updatedAt: z.number(),
  items: z.array(itemSchema),
  counters: z.record(z.string(), z.number()),
});
export type HealthFile = z.infer<typeof fileSchema>;

export class HealthFileWriter {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private readonly startedAt: number;

  constructor(
    private readonly dataDir: string,
    private readonly board: HealthBoard,
    private readonly wallNow: () => number = () => Date.now(),
    private readonly debounceMs = 250,
  ) {
    this.startedAt = wallNow();
    board.onChange(() => this.schedule());
    board.onCounters(() => this.schedule());
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.debounceMs);
    this.timer.unref();
  }

  /** Writes now (also the first write at start, which shows doctor that a guard is running). */
  flush(): Promise<void> {
    const snap: HealthSnapshot = this.board.snapshot();
    const body: HealthFile = {
      pid: process.pid,
      startedAt: this.startedAt,
      updatedAt: this.wallNow(),
      ...snap,
    };
    this.writing = this.writing
      .then(() => writeFileDurable(join(this.dataDir, HEALTH_FILE), JSON.stringify(body, null, 1) + '\n'))
      .catch(() => {});
    return this.writing;
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}

/** What the last (or running) guard wrote; undefined when there is no readable file. */
export async function readHealthFile(dataDir: string): Promise<HealthFile | undefined> {
  try {
    const parsed = fileSchema.safeParse(JSON.parse(await readFile(join(dataDir, HEALTH_FILE), 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a process with this pid exists (signal 0 checks without touching it). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
