/**
 * The store `cdr serve`, `cdr token`, `cdr invoice` and `cdr close` work on: the embedded data
 * directory (SQLite, WAL) or PostgreSQL, through the same Sql interface the rating runtimes use.
 * None of them takes the data directory's writer lock: `cdr rate` may run meanwhile; SQLite's WAL lets
 * these commands read, and their short writes wait for a run's chunk to commit (busy_timeout).
 */
import { openPostgres, type Sql } from '../store/sql.js';
import { openSqlite, sqliteSql } from '../store/sqlite.js';

export interface StoreFlags {
  data?: string;
  databaseUrl?: string;
}

/** On PostgreSQL every statement of these commands is stopped after this long (a slow query cannot pile up). */
export const STATEMENT_TIMEOUT_MS = 10_000;

export async function openStore(f: StoreFlags): Promise<Sql> {
  if (f.databaseUrl !== undefined) return openPostgres(withStatementTimeout(f.databaseUrl, STATEMENT_TIMEOUT_MS));
  return sqliteSql(openSqlite(f.data ?? '.cdr-data'));
}

/** libpq's `options` parameter sets statement_timeout on every connection of the pool. */
export function withStatementTimeout(url: string, ms: number): string {
  const u = new URL(url);
  if (!u.searchParams.has('options')) u.searchParams.set('options', `-c statement_timeout=${ms}`);
  return u.toString();
}
