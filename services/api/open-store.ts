/**
 * PostgreSQL settings of the desk's connections (`cdr serve`, `cdr token`, `cdr invoice`, `cdr close`,
 * `cdr audit`; the CLI opens the store, services/cli/data-dir.ts).
 */

/** Where the desk finds its store: --database-url, else the data directory. */
export interface StoreFlags {
  data?: string;
  databaseUrl?: string;
}

/** On PostgreSQL every statement of these commands is stopped after this long (a slow query cannot pile up). */
export const STATEMENT_TIMEOUT_MS = 10_000;

/** libpq's `options` parameter sets statement_timeout on every connection of the pool. */
export function withStatementTimeout(url: string, ms: number): string {
  const u = new URL(url);
  if (!u.searchParams.has('options')) u.searchParams.set('options', `-c statement_timeout=${ms}`);
  return u.toString();
}
