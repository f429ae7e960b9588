/**
 * One guard per DATA_DIR. Two guards on one directory would both watch the same holdings and
 * could sell the same shares twice, and would overwrite each other's stores.
 *
 * Node has no portable OS file lock (flock/fcntl), so the lock is a file naming its holder: pid,
 * the kernel's start time of that pid, host and command. A holder that died (kill -9, power
 * loss) leaves the file behind; the next start sees the pid is gone (or is a zombie, or is a
 * different process that reused the pid: its start time differs) and takes the lock over. The
 * start time matters in containers, where a restarted guard is pid 1 again and would otherwise
 * find "itself" holding the lock forever.
 *
 * A holder on another host (two containers sharing one volume: separate pid namespaces, so its
 * pid says nothing here) is judged by a heartbeat instead: the holder touches the file every
 * HEARTBEAT_MS, and a foreign lock untouched for STALE_FOREIGN_MS is stale.
 */
import {
  closeSync,
  linkSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeSync,
  fsyncSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { SealGuardError } from '../domain/errors.ts';

export const LOCK_FILE = 'sealguard.lock';

export interface LockHolder {
  pid: number;
  /** Kernel start time of the pid (Linux /proc/<pid>/stat field 22), null where unknown. */
  procStart: string | null;
  /** Wall-clock start, ISO, for the message a second start prints. */
  startedAt: string;
  host: string;
  command: string;
}

export class LockError extends SealGuardError {
  override name = 'LockError';
  constructor(
    message: string,
    readonly holder?: LockHolder,
  ) {
    super(message);
  }
}

export interface DataDirLock {
  readonly file: string;
  readonly holder: LockHolder;
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): void;
}

/** A lock file this young that cannot be read is another start writing it right now. */
const UNREADABLE_GRACE_MS = 5_000;
const HEARTBEAT_MS = 10_000;
const STALE_FOREIGN_MS = 35_000;

/**
 * Takes the lock on `dataDir` (which must exist) or throws LockError naming the live holder.
 * Synchronous: it runs once at start, before anything else touches the directory.
 */
export function acquireDataDirLock(dataDir: string, now: () => number = Date.now): DataDirLock {
  const file = join(dataDir, LOCK_FILE);
  const me: LockHolder = {
    pid: process.pid,
    procStart: procStartTime(process.pid),
    startedAt: new Date(now()).toISOString(),
    host: hostname(),
    command: ['sealguard', ...process.argv.slice(2)].join(' ').slice(0, 200),
  };
  const text = JSON.stringify(me) + '\n';
  for (let attempt = 0; attempt < 5; attempt++) {
    if (createExclusive(file, text)) return held(file, me);
    let raw: string;
    try {
      raw = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
      throw new LockError(
        `cannot read the lock ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      );
    }
    const holder = parseHolder(raw);
    if (!holder) {
      if (now() - mtimeMs(file) < UNREADABLE_GRACE_MS)
        throw new LockError(
          `another SealGuard is starting on DATA_DIR ${dataDir} right now (${file} is being written); try again in a few seconds`,
        );
    } else if (holder.host && holder.host !== me.host) {
      const age = now() - mtimeMs(file);
      if (age < STALE_FOREIGN_MS)
        throw new LockError(
          `${describeHeld(dataDir, holder)} (it is on another host, so only its heartbeat tells: last ${Math.round(age / 1000)} s ago; a lock without one for ${STALE_FOREIGN_MS / 1000} s is taken over)`,
          holder,
        );
    } else if (holderAlive(holder)) {
      throw new LockError(describeHeld(dataDir, holder), holder);
    }
    // Stale: remove it only if it is still the file we judged, so a racing start that has just
    // taken the lock over is not robbed of it.
    try {
      if (readFileSync(file, 'utf8') === raw) unlinkSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  throw new LockError(`could not take the lock ${file}: it keeps changing; is another SealGuard starting?`);
}

/** The holder named in DATA_DIR's lock file when that process is still running (for doctor). */
export function runningHolder(dataDir: string): LockHolder | undefined {
  try {
    const file = join(dataDir, LOCK_FILE);
    const h = parseHolder(readFileSync(file, 'utf8'));
    if (!h) return undefined;
    const alive =
      h.host && h.host !== hostname() ? Date.now() - mtimeMs(file) < STALE_FOREIGN_MS : holderAlive(h);
    return alive ? h : undefined;
  } catch {
    return undefined;
  }
}

export function describeHolder(h: LockHolder): string {
  const since = h.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  const host = h.host && h.host !== hostname() ? ` on host ${h.host}` : '';
  const self = h.pid === process.pid && h.procStart === procStartTime(process.pid) ? ', this process' : '';
  return `pid ${h.pid}${self}${host}, \`${h.command}\` since ${since}`;
}

function describeHeld(dataDir: string, h: LockHolder): string {
  return `DATA_DIR ${dataDir} is in use by another SealGuard (${describeHolder(h)}); stop it first (kill ${h.pid}) or set another DATA_DIR: two guards on one directory could sell the same shares twice`;
}

function held(file: string, me: LockHolder): DataDirLock {
  let released = false;
  const beat = setInterval(() => {
    try {
      const t = new Date();
      utimesSync(file, t, t);
    } catch {
      // removed under us (the directory was deleted): the next start decides afresh
    }
  }, HEARTBEAT_MS);
  beat.unref();
  const release = () => {
    if (released) return;
    released = true;
    clearInterval(beat);
    process.removeListener('exit', release);
    try {
      const h = parseHolder(readFileSync(file, 'utf8'));
      if (h && h.pid === me.pid && h.procStart === me.procStart && h.startedAt === me.startedAt)
        unlinkSync(file);
    } catch {
      // Already gone (or the directory was removed): nothing to release.
    }
  };
  // A hard exit (second signal, shutdown deadline) still leaves no lock behind; a crash does,
  // and the next start recognizes it as stale.
  process.on('exit', release);
  return { file, holder: me, release };
}

/**
 * Creates `file` with `text` atomically: written and fsynced under a temp name, then hard-linked
 * into place (link fails if the name exists), so no reader ever sees a half-written lock.
 * Filesystems without hard links fall back to an exclusive create.
 */
function createExclusive(file: string, text: string): boolean {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`;
  writeNew(tmp, text);
  try {
    linkSync(tmp, file);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') {
      try {
        writeNew(file, text);
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw e;
      }
    }
    throw err;
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // the temp name is ours alone; nothing else to do
    }
  }
}

function writeNew(path: string, text: string): void {
  const fd = openSync(path, 'wx', 0o644);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function parseHolder(raw: string): LockHolder | undefined {
  try {
    const v = JSON.parse(raw) as Partial<LockHolder>;
    if (typeof v.pid !== 'number' || !Number.isSafeInteger(v.pid) || v.pid <= 0) return undefined;
    return {
      pid: v.pid,
      procStart: typeof v.procStart === 'string' ? v.procStart : null,
      startedAt: typeof v.startedAt === 'string' ? v.startedAt : '?',
      host: typeof v.host === 'string' ? v.host : '',
      command: typeof v.command === 'string' ? v.command : 'sealguard',
    };
  } catch {
    return undefined;
  }
}

function mtimeMs(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

/** Alive = the pid exists, is not a zombie, and (where the kernel tells) started when the lock says. */
export function holderAlive(h: LockHolder): boolean {
  try {
    process.kill(h.pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to another user, which still counts as running.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = procStat(h.pid);
  if (!stat) return true; // no /proc (macOS, Windows): the pid check is all there is
  if (stat.state === 'Z' || stat.state === 'X') return false;
  return h.procStart === null || h.procStart === stat.start;
}

function procStartTime(pid: number): string | null {
  return procStat(pid)?.start ?? null;
}

function procStat(pid: number): { state: string; start: string } | undefined {
  let raw: string;
  try {
    raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself hold spaces and ')'.
  const rest = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
  const state = rest[0];
  const start = rest[19]; // field 22, starttime in clock ticks since boot
  return state && start ? { state, start } : undefined;
}
