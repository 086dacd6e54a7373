/**
 * Opening the store of an existing data directory, for the commands that read one (cdr runs, export,
 * explain, rejects, replay). They must not create a store: a mistyped --data used to get an empty one,
 * and the command answered "no runs", "not rated", as if the data were lost. Only cdr rate creates one.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RunError, storeError } from '../embedded/run-errors.js';
import { DATABASE_FILE, openSqlite, type SqliteDb } from '../store/sqlite.js';

export function openExistingStore(dataDir: string): SqliteDb {
  if (!existsSync(dataDir)) throw new RunError(`no data directory at ${dataDir} (cdr rate --data ${dataDir} creates one): give the --data of your cdr rate runs`);
  // A folder of the PGlite versions has no cdr.sqlite: openSqlite says what it is.
  if (!existsSync(join(dataDir, DATABASE_FILE)) && !existsSync(join(dataDir, 'PG_VERSION'))) {
    throw new RunError(`no data directory at ${dataDir}: the folder holds no store (${DATABASE_FILE}); cdr rate --data ${dataDir} creates one, or give the --data of your cdr rate runs`);
  }
  try {
    return openSqlite(dataDir);
  } catch (e) {
    const said = storeError(e, dataDir, 'open');
    if (said !== e) throw said;
    throw new RunError(`cannot open the data directory ${dataDir} (${(e as { code?: string }).code ?? (e as Error).message})`);
  }
}
