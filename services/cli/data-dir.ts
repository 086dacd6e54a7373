/**
 * Opening the store of an existing data directory, for every command but cdr rate (runs, export,
 * explain, rejects, replay, and the desk's serve, token, invoice, close, audit). They must not create a
 * store: a mistyped --data used to get an empty one, and the command answered "no runs", "not rated",
 * "no client has calls", or refused every token, as if the data were lost. Only cdr rate creates one.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RunError, storeError } from '../embedded/run-errors.js';
import { STATEMENT_TIMEOUT_MS, withStatementTimeout, type StoreFlags } from '../api/open-store.js';

export type { StoreFlags };
import { openPostgres, type Sql } from '../store/sql.js';
import { DATABASE_FILE, openSqlite, sqliteSql, type SqliteDb } from '../store/sqlite.js';

export function openExistingStore(dataDir: string): SqliteDb {
  if (!existsSync(dataDir)) throw new RunError(`no data directory at ${dataDir} (cdr rate --data ${dataDir} creates one): give the --data of your cdr rate runs`);
  // A folder of the PGlite versions has no cdr.sqlite: openSqlite says what it is.
  if (!existsSync(join(dataDir, DATABASE_FILE)) && !existsSync(join(dataDir, 'PG_VERSION'))) {
    throw new RunError(`no data directory at ${dataDir}: the folder holds no store (${DATABASE_FILE}); cdr rate --data ${dataDir} creates one, or give the --data of your cdr rate runs`);
  }
  try {
    return openSqlite(dataDir, { mapped: true });
  } catch (e) {
    const said = storeError(e, dataDir, 'open');
    if (said !== e) throw said;
    throw new RunError(`cannot open the data directory ${dataDir} (${(e as { code?: string }).code ?? (e as Error).message})`);
  }
}

/**
 * The desk's store: PostgreSQL, or an existing embedded data directory (SQLite, WAL). None of these
 * commands takes the data directory's writer lock: `cdr rate` may run meanwhile; WAL lets them read,
 * and their short writes wait for a run's chunk to commit (busy_timeout).
 */
export async function openStore(f: StoreFlags): Promise<Sql> {
  if (f.databaseUrl !== undefined) return openPostgres(withStatementTimeout(f.databaseUrl, STATEMENT_TIMEOUT_MS));
  return sqliteSql(openExistingStore(f.data ?? '.cdr-data'));
}
