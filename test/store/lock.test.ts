/**
 * The DATA_DIR lock (src/store/lock.ts): a live holder refuses, a dead one (gone, zombie, or a
 * reused pid whose kernel start time differs) is taken over, an unreadable file is someone
 * writing it now unless it is old, and release removes only our own lock. Liveness is read from
 * the real kernel (/proc/<pid>/stat per proc(5): field 3 state, field 22 starttime).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  acquireDataDirLock,
  holderAlive,
  LOCK_FILE,
  LockError,
  runningHolder,
} from '../../src/store/lock.ts';

const onLinux = existsSync('/proc/self/stat');
const dir = () => mkdtempSync(join(tmpdir(), 'sg-lockunit-'));
const lockOf = (d: string) => JSON.parse(readFileSync(join(d, LOCK_FILE), 'utf8')) as Record<string, unknown>;

/** A pid that certainly is not running: a child that has exited and been reaped. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

describe('DATA_DIR lock', () => {
  it('writes its holder, refuses a second taker while held, and is free again after release', () => {
    const d = dir();
    const lock = acquireDataDirLock(d);
    const h = lockOf(d);
    expect(h.pid).toBe(process.pid);
    if (onLinux) expect(h.procStart).toMatch(/^\d+$/);
    expect(runningHolder(d)?.pid).toBe(process.pid);
    let err: unknown;
    try {
      acquireDataDirLock(d);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LockError);
    expect((err as Error).message).toContain(
      `is in use by another SealGuard (pid ${process.pid}, this process,`,
    );
    lock.release();
    expect(existsSync(join(d, LOCK_FILE))).toBe(false);
    acquireDataDirLock(d).release();
  });

  it('a lock left by a process that is gone is taken over', () => {
    const d = dir();
    const pid = deadPid();
    writeFileSync(
      join(d, LOCK_FILE),
      JSON.stringify({ pid, procStart: '1', startedAt: 'x', host: hostname(), command: 'sealguard start' }),
    );
    const lock = acquireDataDirLock(d);
    expect(lockOf(d).pid).toBe(process.pid);
    lock.release();
  });

  it.runIf(onLinux)('a reused pid (alive, but started at another time) does not hold the lock', () => {
    const d = dir();
    // process.ppid is alive; the lock claims it started at a different kernel tick.
    writeFileSync(
      join(d, LOCK_FILE),
      JSON.stringify({
        pid: process.ppid,
        procStart: '1',
        startedAt: 'x',
        host: hostname(),
        command: 'sealguard start',
      }),
    );
    expect(holderAlive({ pid: process.ppid, procStart: '1', startedAt: '', host: '', command: '' })).toBe(
      false,
    );
    acquireDataDirLock(d).release();
  });

  it.runIf(onLinux)('a zombie holder (exited, not yet reaped) does not hold the lock', async () => {
    // A zombie needs a parent that does not reap it: Python forks a child that exits at once and
    // then sleeps without wait()ing (Node's own children are reaped by libuv).
    const sh = spawn(
      'python3',
      [
        '-c',
        'import os,sys,time\npid=os.fork()\nif pid==0: os._exit(0)\nprint(pid,flush=True)\ntime.sleep(5)',
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const pid = await new Promise<number>((r) =>
      sh.stdout!.once('data', (b: Buffer) => r(Number(b.toString().trim()))),
    );
    try {
      const until = Date.now() + 3000;
      while (!/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8')) && Date.now() < until)
        await new Promise((r) => setTimeout(r, 20));
      expect(readFileSync(`/proc/${pid}/stat`, 'utf8')).toMatch(/\) Z /);
      expect(holderAlive({ pid, procStart: null, startedAt: '', host: '', command: '' })).toBe(false);
    } finally {
      sh.kill('SIGKILL');
    }
  });

  it('a live holder with a matching start time holds it; the message names pid, command and start', () => {
    const d = dir();
    const mine = acquireDataDirLock(d);
    const text = readFileSync(join(d, LOCK_FILE), 'utf8');
    mine.release();
    // Someone else's file content (same live pid and start): a copy of a holder that is running.
    writeFileSync(
      join(d, LOCK_FILE),
      text.replace(/"startedAt":"[^"]+"/, '"startedAt":"2026-12-01T09:00:01.000Z"'),
    );
    expect(() => acquireDataDirLock(d)).toThrow(
      /since 2026-12-01 09:00:01 UTC\); stop it first \(kill \d+\)/,
    );
    // Our release of a lock we do not hold leaves it alone.
    expect(existsSync(join(d, LOCK_FILE))).toBe(true);
  });

  it('a lock from another host (another container on the same volume) holds while its heartbeat is fresh', () => {
    const d = dir();
    const f = join(d, LOCK_FILE);
    // Its pid means nothing here (another pid namespace): a dead pid must not make it stale.
    writeFileSync(
      f,
      JSON.stringify({
        pid: deadPid(),
        procStart: '1',
        startedAt: '2026-12-01T09:00:01.000Z',
        host: 'other-container',
        command: 'sealguard start',
      }),
    );
    expect(() => acquireDataDirLock(d)).toThrow(
      /on host other-container, `sealguard start` since 2026-12-01 09:00:01 UTC/,
    );
    expect(runningHolder(d)?.host).toBe('other-container');
    const old = new Date(Date.now() - 60_000);
    utimesSync(f, old, old);
    expect(runningHolder(d)).toBeUndefined();
    acquireDataDirLock(d).release();
  });

  it('an unreadable lock is being written by a racing start unless it is old', () => {
    const d = dir();
    const f = join(d, LOCK_FILE);
    writeFileSync(f, '');
    expect(() => acquireDataDirLock(d)).toThrow(/is starting on DATA_DIR .* right now/);
    const old = new Date(Date.now() - 60_000);
    utimesSync(f, old, old);
    acquireDataDirLock(d).release();
  });
});
