/**
 * The write-ahead log's two ways in: append (queued, through the thread pool) and appendNow (the
 * order intent in front of a sell, written on the calling thread). Both must give the same file:
 * every line whole, in the order asked, a torn tail never glued to the next line, and a file
 * replaced under the process never written through a stale descriptor.
 */
import { appendFileSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppendLog } from '../../src/store/appendLog.ts';

function fresh(): AppendLog {
  return new AppendLog(join(mkdtempSync(join(tmpdir(), 'sg-wal-')), 'orders.wal.jsonl'));
}

async function opened(): Promise<AppendLog> {
  const log = fresh();
  // What start-up does (recoverIntentLog): the reset opens the file and leaves it open.
  await log.resetWhen(() => true);
  return log;
}

describe('AppendLog.appendNow', () => {
  it('has the line on disk before it returns, with the file open', async () => {
    const log = await opened();
    const p = log.appendNow(['{"a":1}']);
    // No await yet: the bytes are in the file already.
    expect(readFileSync(log.file, 'utf8')).toBe('{"a":1}\n');
    await p;
    await log.close();
  });

  it('keeps its turn behind queued appends (the file order is the order asked)', async () => {
    const log = await opened();
    const queued = log.append(['{"n":1}']);
    const now = log.appendNow(['{"n":2}']);
    await Promise.all([queued, now]);
    expect(await log.lines()).toEqual(['{"n":1}', '{"n":2}']);
    await log.close();
  });

  it('goes through the queue when the file is not open yet', async () => {
    const log = fresh();
    await log.appendNow(['{"first":true}']);
    expect(await log.lines()).toEqual(['{"first":true}']);
    await log.close();
  });

  it('starts a fresh line after a torn tail someone else left', async () => {
    const log = await opened();
    await log.appendNow(['{"n":1}']);
    appendFileSync(log.file, '{"torn":'); // a crash mid-write of another writer
    await log.appendNow(['{"n":2}']);
    expect(readFileSync(log.file, 'utf8')).toBe('{"n":1}\n{"torn":\n{"n":2}\n');
    expect(await log.lines()).toEqual(['{"n":1}', '{"torn":', '{"n":2}']);
    await log.close();
  });

  it('writes into the file now at the path, not one replaced under it', async () => {
    const log = await opened();
    await log.appendNow(['{"n":1}']);
    const replaced = `${log.file}.new`;
    writeFileSync(replaced, '{"other":1}\n');
    renameSync(replaced, log.file);
    await log.appendNow(['{"n":2}']);
    expect(await log.lines()).toEqual(['{"other":1}', '{"n":2}']);
    await log.close();
  });

  it('mixes with append line for line', async () => {
    const log = await opened();
    const all: Promise<void>[] = [];
    for (let i = 0; i < 20; i++)
      all.push(i % 3 === 0 ? log.append([`{"i":${i}}`]) : log.appendNow([`{"i":${i}}`]));
    await Promise.all(all);
    expect(await log.lines()).toEqual(Array.from({ length: 20 }, (_, i) => `{"i":${i}}`));
    await log.close();
  });
});
