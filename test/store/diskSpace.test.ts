/**
 * The DATA_DIR free-space monitor against the real filesystem (Node's fs.statfs, the statfs(2)
 * f_bavail that `df` reports as Available) and the real HealthBoard: the threshold is moved
 * around the disk's actual free space to go under it and back.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatBytes } from '../../src/domain/bytes.ts';
import { HealthBoard } from '../../src/engine/health.ts';
import { DISK_HEALTH_KEY, DiskSpaceMonitor, readDiskSpace } from '../../src/store/diskSpace.ts';

describe('DATA_DIR free space', () => {
  it('reads what df reports as available', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-disk-'));
    const r = await readDiskSpace(dir);
    let dfAvail: number | undefined;
    try {
      const out = execFileSync('df', ['-Pk', dir], { encoding: 'utf8' }).trim().split('\n').pop()!;
      dfAvail = Number(out.split(/\s+/)[3]) * 1024;
    } catch {
      // no df on this host: the plausibility checks below still hold
    }
    expect(r.freeBytes).toBeGreaterThan(0);
    expect(r.totalBytes).toBeGreaterThanOrEqual(r.freeBytes);
    // Other processes write meanwhile: equal within 64 MB.
    if (dfAvail !== undefined) expect(Math.abs(r.freeBytes - dfAvail)).toBeLessThan(64 * 2 ** 20);
  });

  it('a health item (component disk) under the threshold, an error far under it, cleared when space returns', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-disk-'));
    const health = new HealthBoard();
    const changes: string[] = [];
    health.onChange((c) =>
      changes.push(`${c.kind}${c.isNew ? ' new' : ''} ${c.item.component} ${c.item.level}`),
    );
    const free = (await readDiskSpace(dir)).freeBytes;
    const m = new DiskSpaceMonitor({ dir, health, lowBytes: 1_000_000 });
    await m.check();
    expect(health.has(DISK_HEALTH_KEY)).toBe(false);
    expect(m.status()).toMatchObject({ lowBytes: 1_000_000 });

    m.lowBytes = free + 10_000_000_000; // the disk is "under" it now
    await m.check();
    const item = health.get(DISK_HEALTH_KEY)!;
    expect(item).toMatchObject({ component: 'disk', level: 'warn' });
    expect(item.text).toMatch(
      new RegExp(
        `^Disk almost full: .* free for DATA_DIR ${dir} \\(warning below ${formatBytes(m.lowBytes)}\\)`,
      ),
    );

    m.lowBytes = free * 5 + 10_000_000_000; // under a fifth of the threshold
    await m.check();
    expect(health.get(DISK_HEALTH_KEY)?.level).toBe('error');

    m.lowBytes = 1_000_000;
    await m.check();
    expect(health.has(DISK_HEALTH_KEY)).toBe(false);
    expect(changes).toEqual(['set new disk warn', 'set disk error', 'clear disk error']);
  });

  it('a DATA_DIR that disappeared is reported, not thrown', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-disk-'));
    rmSync(dir, { recursive: true });
    const health = new HealthBoard();
    const m = new DiskSpaceMonitor({ dir, health });
    expect(await m.check()).toBeUndefined();
    expect(health.get(DISK_HEALTH_KEY)?.text).toContain('(ENOENT)');
    expect(m.status()).toBeUndefined();
  });

  it('formats sizes in decimal units', () => {
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(500_000_000)).toBe('500 MB');
    expect(formatBytes(84_352_143_360)).toBe('84 GB');
    expect(formatBytes(2_500_000_000_000)).toBe('2.5 TB');
  });
});
