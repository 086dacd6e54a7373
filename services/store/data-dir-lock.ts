/**
 * One writer per data directory. SQLite would order two runs' transactions, but two runs would still
 * each rate from counters the other is changing and bill some calls twice: so `cdr rate` (and anything
 * else that rates into the directory) holds this lock for the whole run. The desk (`cdr serve`) does
 * not take it: its short writes go through SQLite's own locking.
 *
 * proper-lockfile does the locking (an atomic mkdir, kept fresh by mtime updates, taken over once stale);
 * beside it we keep who holds it (pid, host, start) so that the second process can be told.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';

/** How long a lock whose holder stopped refreshing it (killed, machine gone) stands before it is taken over. */
const STALE_MS = 5_000;

export interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
  command: string;
}

export class DataDirLocked extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder | null,
  ) {
    super(
      holder === null
        ? `the data directory ${dataDir} is in use by another cdr process; wait for it to finish, or use another --data`
        : `the data directory ${dataDir} is in use by "${holder.command}" (pid ${holder.pid} on ${holder.host}, since ${holder.startedAt}); ` +
            `wait for it to finish, or use another --data. A holder that died leaves the lock stale; it is taken over ${STALE_MS / 1000} s after it stopped.`,
    );
  }
}

/** Takes the data directory's writer lock; returns its release. */
export async function lockDataDir(dataDir: string, command: string): Promise<() => Promise<void>> {
  mkdirSync(dataDir, { recursive: true });
  const target = join(dataDir, 'writer');
  if (!existsSync(target)) writeFileSync(target, 'the writer lock of this data directory (see writer.lock and writer-holder.json)\n');
  const holderFile = join(dataDir, 'writer-holder.json');
  const holder = readHolder(holderFile);
  // A holder on this machine that is gone for sure: wait out the staleness instead of failing.
  const dead = holder !== null && holder.host === hostname() && !alive(holder.pid);
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(target, {
      stale: STALE_MS,
      retries: dead ? { retries: Math.ceil(STALE_MS / 1000) + 2, minTimeout: 1000, maxTimeout: 1000 } : 0,
      onCompromised: (err) => {
        process.stderr.write(`cdr: lost the lock of ${dataDir} (${err.message}); stopping before anything more is written\n`);
        process.exit(1);
      },
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOCKED') throw new DataDirLocked(dataDir, readHolder(holderFile));
    throw e;
  }
  const me: LockHolder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), command };
  writeFileSync(holderFile, JSON.stringify(me) + '\n');
  return release;
}

function readHolder(file: string): LockHolder | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
