import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HealthBoard } from '../../src/engine/health.ts';
import { HealthFileWriter, processAlive, readHealthFile } from '../../src/store/healthFile.ts';

describe('health board: a problem is new once, updated quietly, cleared once', () => {
  it('tells listeners about the first report and the end, not about repeats', () => {
    let t = 1000;
    const b = new HealthBoard(() => t);
    const seen: string[] = [];
    b.onChange((c) => seen.push(`${c.kind}:${c.item.key}:${c.isNew}`));
    expect(b.set('telegram:chat:1', 'telegram', 'error', 'chat 1 blocked the bot')).toBe(true);
    t = 2000;
    expect(b.set('telegram:chat:1', 'telegram', 'error', 'chat 1 blocked the bot')).toBe(false);
    expect(b.set('telegram:chat:1', 'telegram', 'error', 'chat 1 blocked the bot (2 tries)')).toBe(false);
    expect(b.get('telegram:chat:1')?.since).toBe(1000);
    expect(b.clear('telegram:chat:1')).toBe(true);
    expect(b.clear('telegram:chat:1')).toBe(false);
    expect(seen).toEqual([
      'set:telegram:chat:1:true',
      'set:telegram:chat:1:false',
      'clear:telegram:chat:1:false',
    ]);
  });

  it('counts', () => {
    const b = new HealthBoard();
    b.count('undelivered telegram');
    b.count('undelivered telegram', 2);
    expect(b.snapshot().counters).toEqual({ 'undelivered telegram': 3 });
  });
});

describe('health.json: what doctor reads of the running guard', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('round-trips items and counters with this pid', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-health-'));
    dirs.push(dir);
    const b = new HealthBoard();
    const w = new HealthFileWriter(dir, b);
    b.set('disk:data', 'disk', 'error', 'DATA_DIR full');
    await w.close();
    const h = await readHealthFile(dir);
    expect(h?.pid).toBe(process.pid);
    expect(h?.items.map((i) => i.key)).toEqual(['disk:data']);
    expect(processAlive(process.pid)).toBe(true);
  });

  it('a missing or garbage file reads as nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-health-'));
    dirs.push(dir);
    expect(await readHealthFile(dir)).toBeUndefined();
  });
});
