/**
 * Free space where DATA_DIR lives. A full disk is how a guard loses the ability to record an
 * intent before a sell (and so to sell safely at all), silently, at the worst moment: so it is
 * watched, shown in `/status` and `doctor`, and reported on the health board (component 'disk')
 * while it is under the threshold.
 *
 * Free means what an unprivileged process may still use (statfs f_bavail), as `df` shows it,
 * not the blocks reserved for root.
 */
import { statfs } from 'node:fs/promises';
import { formatBytes } from '../domain/bytes.ts';

/** The part of the engine's HealthBoard this monitor reports into. */
export interface HealthReporter {
  set(key: string, component: string, level: 'warn' | 'error', text: string): boolean;
  clear(key: string): boolean;
  has(key: string): boolean;
}

/** Under this much free space the board warns; under a fifth of it, it is an error. */
export const LOW_DISK_BYTES = 500_000_000;
/** Space must come back this far above the threshold to clear the warning, so it does not flap. */
const CLEAR_MARGIN = 1.1;
export const DISK_HEALTH_KEY = 'disk:data';

export interface DiskReading {
  freeBytes: number;
  totalBytes: number;
}

export async function readDiskSpace(dir: string): Promise<DiskReading> {
  const s = await statfs(dir);
  return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
}

export interface DiskSpaceMonitorOptions {
  dir: string;
  health: HealthReporter;
  lowBytes?: number;
  intervalMs?: number;
}

export class DiskSpaceMonitor {
  /** Threshold in bytes; public so an operator setting (or a test) can move it. */
  lowBytes: number;
  private reading: DiskReading | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: DiskSpaceMonitorOptions) {
    this.lowBytes = o.lowBytes ?? LOW_DISK_BYTES;
  }

  /** The last reading with the threshold, for /status; undefined before the first or after a failed one. */
  status(): (DiskReading & { lowBytes: number }) | undefined {
    return this.reading ? { ...this.reading, lowBytes: this.lowBytes } : undefined;
  }

  async check(): Promise<DiskReading | undefined> {
    const { dir, health } = this.o;
    let r: DiskReading;
    try {
      r = await readDiskSpace(dir);
    } catch (err) {
      this.reading = undefined;
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      health.set(DISK_HEALTH_KEY, 'disk', 'warn', `Cannot read the free space of DATA_DIR ${dir} (${code}).`);
      return undefined;
    }
    this.reading = r;
    const low = r.freeBytes < this.lowBytes;
    const wasLow = health.has(DISK_HEALTH_KEY);
    if (low || (wasLow && r.freeBytes < this.lowBytes * CLEAR_MARGIN)) {
      const level = r.freeBytes < this.lowBytes / 5 ? 'error' : 'warn';
      health.set(
        DISK_HEALTH_KEY,
        'disk',
        level,
        `Disk almost full: ${formatBytes(r.freeBytes)} free for DATA_DIR ${dir} (warning below ${formatBytes(this.lowBytes)}). Free some space: when it runs out, orders can no longer be recorded and nothing is sold.`,
      );
    } else {
      health.clear(DISK_HEALTH_KEY);
    }
    return r;
  }

  start(): void {
    this.stop();
    this.timer = setInterval(() => void this.check(), this.o.intervalMs ?? 60_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
