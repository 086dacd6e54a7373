/**
 * Failures a user can act on, in words: which path, what happened, what to do. They carry no CDR field
 * and no SQL parameter, so that nothing of a call reaches a log through an error.
 */
import { DataDirLocked } from '../store/data-dir-lock.js';

export class RunError extends Error {}

const STORE_ADVICE: Record<string, string> = {
  SQLITE_FULL: 'the disk holding it is full: free space (or move --data to a larger disk) and rate the same files again; what was committed is kept and the rest is rated',
  ENOSPC: 'the disk holding it is full: free space (or move --data to a larger disk) and rate the same files again; what was committed is kept and the rest is rated',
  SQLITE_READONLY: 'it is read-only: make it writable for this user, or choose another --data',
  EROFS: 'it is on a read-only file system: choose another --data',
  EACCES: 'this user may not write there: fix its permissions, or choose another --data',
  SQLITE_CANTOPEN: 'the database file cannot be opened: check the folder exists and is writable, or choose another --data',
  SQLITE_CORRUPT: 'its database is damaged: restore it from a backup (or rate the month again into a new --data)',
  SQLITE_NOTADB: 'it holds the state of an older version of this tool (PGlite) or a file that is not its database: rate the month again into a new --data',
  SQLITE_BUSY: 'another process holds its database for too long: stop it, or choose another --data',
  SQLITE_IOERR: 'the disk reported an input/output error: check the disk, then rate the same files again',
};

/** An error from the store, turned into one the user can act on; anything else passes unchanged. */
export function storeError(e: unknown, dataDir: string, doing: 'open' | 'write'): unknown {
  if (e instanceof RunError || e instanceof DataDirLocked) return e;
  const code = (e as { code?: string }).code ?? '';
  const base = Object.keys(STORE_ADVICE).find((k) => code === k || code.startsWith(`${k}_`));
  if (base === undefined) return e;
  return new RunError(`cannot ${doing} the data directory ${dataDir}: ${STORE_ADVICE[base]} (${code})`);
}
