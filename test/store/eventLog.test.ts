import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEventLog } from '../../src/store/eventLog.ts';

let dataDir: string;
let warnings: { details: object; message: string }[];
const logger = { warn: (details: object, message: string) => warnings.push({ details, message }) };
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'sg-events-'));
  warnings = [];
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const at = (iso: string) => Date.parse(iso);

describe('event log', () => {
  it('files each event under its Shanghai trading date, not the host date (TZ is New York here)', async () => {
    expect(process.env.TZ).toBe('America/New_York');
    const log = openEventLog({ dataDir });
    const lateEvening = { ts: at('2026-11-24T23:59:59+08:00'), type: 'DailySummary' };
    const pastMidnight = { ts: at('2026-11-25T00:00:00+08:00'), type: 'FeedStale', source: 'tencent' };
    await log.append(lateEvening);
    await log.append(pastMidnight);
    expect(await readdir(join(dataDir, 'events'))).toEqual(['2026-11-24.jsonl', '2026-11-25.jsonl']);
    expect(await readFile(join(dataDir, 'events', '2026-11-25.jsonl'), 'utf8')).toBe(
      `{"ts":${pastMidnight.ts},"type":"FeedStale","source":"tencent"}\n`,
    );
    expect(await log.readDay('2026-11-24')).toEqual([lateEvening]);
    expect(await log.readDay('2026-11-25')).toEqual([pastMidnight]);
    expect(await log.readDay('2026-11-26')).toEqual([]);
  });

  it('keeps concurrent appends whole and in call order', async () => {
    const log = openEventLog({ dataDir });
    const base = at('2026-11-24T10:00:00+08:00');
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => log.append({ ts: base + i, type: 'SealWeakening', i })),
    );
    expect((await log.readDay('2026-11-24')).map((e) => e.i)).toEqual(
      Array.from({ length: 100 }, (_, i) => i),
    );
  });

  it('skips a torn last line, says so, and starts the next append on a fresh line', async () => {
    const file = join(dataDir, 'events', '2026-11-24.jsonl');
    await mkdir(join(dataDir, 'events'));
    const whole = { ts: at('2026-11-24T10:00:00+08:00'), type: 'SealFormed', symbol: '600519.SH' };
    await writeFile(file, `${JSON.stringify(whole)}\n{"ts":1764`);
    const log = openEventLog({ dataDir, logger });

    expect(await log.readDay('2026-11-24')).toEqual([whole]);
    expect(warnings).toEqual([
      {
        details: { file, bytes: 10 },
        message: 'event log: skipped a torn last line (the writer stopped mid-line)',
      },
    ]);

    const next = { ts: at('2026-11-24T10:00:05+08:00'), type: 'SellTriggered', symbol: '600519.SH' };
    await log.append(next);
    warnings = [];
    expect(await log.readDay('2026-11-24')).toEqual([whole, next]);
    expect(warnings).toEqual([
      { details: { file, line: 2 }, message: 'event log: skipped a line that is not a valid event' },
    ]);
  });

  it('deletes day files more than retentionDays before the newest day when a new day starts', async () => {
    await mkdir(join(dataDir, 'events'));
    for (const day of ['2026-10-24', '2026-10-25', '2026-11-23']) {
      await writeFile(join(dataDir, 'events', `${day}.jsonl`), '');
    }
    await writeFile(join(dataDir, 'events', 'notes.txt'), 'not a day file');
    const log = openEventLog({ dataDir, retentionDays: 30 });
    await log.append({ ts: at('2026-11-24T09:30:00+08:00'), type: 'SessionOpen' });
    // 2026-11-24 minus 30 days is 2026-10-25: that day is kept, the one before it goes.
    expect((await readdir(join(dataDir, 'events'))).sort()).toEqual([
      '2026-10-25.jsonl',
      '2026-11-23.jsonl',
      '2026-11-24.jsonl',
      'notes.txt',
    ]);
    expect(await log.prune('2026-11-25')).toEqual(['2026-10-25']);
    expect(await log.days()).toEqual(['2026-11-23', '2026-11-24']);
  });

  it('refuses events without an epoch-ms ts or a type, writing nothing', async () => {
    const log = openEventLog({ dataDir });
    await expect(log.append({ ts: 1.5, type: 'X' })).rejects.toThrow(
      'event log: event.ts must be epoch milliseconds (got 1.5)',
    );
    await expect(log.append({ ts: 0, type: '' })).rejects.toThrow(
      'event log: event.type must be a non-empty string (got "")',
    );
    await expect(readdir(dataDir)).resolves.toEqual([]);
    expect(() => openEventLog({ dataDir, retentionDays: 0 })).toThrow(
      'retentionDays must be a whole number of days >= 1 (got 0)',
    );
    await expect(log.readDay('2026-13-01')).rejects.toThrow('invalid date "2026-13-01": expected YYYY-MM-DD');
  });
});
