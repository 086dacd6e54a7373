/**
 * Failures a user can act on, in words: which path, what happened, what to do. They carry no CDR field
 * and no SQL parameter, so that nothing of a call reaches a log through an error.
 *
 * Two places can fail a run and they need different advice: the data directory (the store) and --out (the
 * run folders). A full --out was once reported as a full data directory: the user freed the wrong disk.
 * So an error from writing under --out is an OutputError from where it happens, and is never passed
 * through storeError.
 */
import { accessSync, constants } from 'node:fs';
import { DataDirLocked } from '../store/data-dir-lock.js';

export class RunError extends Error {}

const READ_ONLY = 'it is read-only (a read-only mount or folder; SQLite writes beside its database even to read it): make it writable for this user, or copy it to a writable place and give that --data';

const STORE_ADVICE: Record<string, string> = {
  SQLITE_FULL: 'the disk holding it is full: free space (or move --data to a larger disk) and rate the same files again; what was committed is kept and the rest is rated',
  ENOSPC: 'the disk holding it is full: free space (or move --data to a larger disk) and rate the same files again; what was committed is kept and the rest is rated',
  SQLITE_READONLY: READ_ONLY,
  EROFS: READ_ONLY,
  EACCES: 'this user may not write there (SQLite writes beside its database even to read it): fix its permissions, or choose another --data',
  EPERM: 'this user may not write there: fix its permissions, or choose another --data',
  SQLITE_CANTOPEN: 'the database file cannot be opened: check the folder exists and is writable, or choose another --data',
  SQLITE_CORRUPT: 'its database is damaged: restore it from a backup (or rate the month again into a new --data)',
  SQLITE_NOTADB: 'it holds the state of an older version of this tool (PGlite) or a file that is not its database: rate the month again into a new --data',
  SQLITE_BUSY: 'another process holds its database for too long: stop it, or choose another --data',
  SQLITE_IOERR: 'the disk reported an input/output error: check the disk, then rate the same files again',
  ENOTDIR: 'a file stands where the folder (or one of its parents) should be: remove it, or choose another --data',
};

/** An error from the store, turned into one the user can act on; anything else passes unchanged. */
export function storeError(e: unknown, dataDir: string, doing: 'open' | 'write'): unknown {
  if (e instanceof RunError || e instanceof DataDirLocked || e instanceof OutputError) return e;
  let code = (e as { code?: string }).code ?? '';
  // SQLite says only "cannot open" when the folder is read-only (it cannot create its -shm file there):
  // the folder itself says why, and a read-only folder must not be reported as a wrong path.
  if (code.startsWith('SQLITE_CANTOPEN')) code = notWritable(dataDir) ?? code;
  const base = Object.keys(STORE_ADVICE).find((k) => code === k || code.startsWith(`${k}_`));
  if (base === undefined) return e;
  return new RunError(`cannot ${doing} the data directory ${dataDir}: ${STORE_ADVICE[base]} (${code})`);
}

/** Why this user cannot write in an existing folder (EROFS, EACCES…), or null if it can or it is absent. */
function notWritable(dir: string): string | null {
  try {
    accessSync(dir, constants.W_OK);
    return null;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    return code === 'ENOENT' ? null : code;
  }
}

/** A write under --out that failed (a file of a run folder, its staging folder, the move into place). */
export class OutputError extends Error {
  constructor(
    /** The file or folder being written. */
    readonly path: string,
    /** The system's code (ENOSPC, EACCES…), or OTHER_STORE for a run folder another data directory wrote. */
    readonly code: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

/** Wraps an error met while writing `path` under --out; the run's own refusals (RunError) pass unchanged. */
export function asOutputError(e: unknown, path: string): unknown {
  if (e instanceof OutputError || e instanceof RunError) return e;
  const code = (e as { code?: unknown }).code;
  // Only a system error is the folder's fault; a bug elsewhere must keep its own message and stack.
  if (typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) return e;
  return new OutputError(path, code, e instanceof Error ? e.message : String(e));
}

/** [what happened, what to do about it] for a failed write under --out. */
const OUTPUT_ADVICE: Record<string, [string, string]> = {
  ENOSPC: ['its disk is full', 'free space on it (or give another --out)'],
  EDQUOT: ['the disk quota of this user is exhausted there', 'free space or raise the quota (or give another --out)'],
  EACCES: ['this user may not write there', 'fix its permissions (or give another --out)'],
  EPERM: ['this user may not write there', 'fix its permissions (or give another --out)'],
  EROFS: ['it is on a read-only file system', 'mount it read-write (or give another --out)'],
  EIO: ['the disk reported an input/output error', 'check the disk (or give another --out)'],
  ENOTDIR: ['a file stands where a folder should be', 'remove that file (or give another --out)'],
  ENOENT: ['the folder disappeared while the run wrote it', 'check what removes it (or give another --out)'],
  EISDIR: ['a folder stands where a file should be', 'remove that folder (or give another --out)'],
  OTHER_STORE: ['a run folder of that number there was written by another data directory', 'give this data directory its own --out'],
};

/** What went wrong under `outDir`, and what to do, in words. */
export function describeOutputError(e: OutputError): { what: string; fix: string } {
  const [what, fix] = OUTPUT_ADVICE[e.code] ?? [`writing ${e.path} failed`, 'fix it (or give another --out)'];
  return { what: `${what} (${e.code}${e.code === 'OTHER_STORE' ? '' : ` on ${e.path}`})`, fix };
}
