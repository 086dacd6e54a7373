/**
 * The embedded store: one SQLite database (better-sqlite3, WAL) under the data directory. Chosen by
 * measurement (README "Embedded store"): it writes and reads back rows several times faster than PGlite,
 * and WAL lets a fraud desk (`cdr serve`) read, and make its short writes, while a run writes.
 *
 * Two faces: the raw synchronous database for the embedded runtime's hot path, and the shared `Sql`
 * contract (`$n` placeholders) for code that serves both stores.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { findUp } from '../config/project-files.js';
import type { Sql } from './sql.js';
import { splitAtSteps, sqliteStep } from './migration-steps.js';

export type SqliteDb = Database.Database;

export const DATABASE_FILE = 'cdr.sqlite';
/** How much of the store the desk's connections may map (SQLite maps no more than the file). */
const MAPPED_BYTES = 4 * 1024 ** 3;

/** Opens (creating if needed) the data directory's database and brings its schema up to date. */
export function openSqlite(dataDir: string, opts: { readonly?: boolean; mapped?: boolean } = {}): SqliteDb {
  mkdirSync(dataDir, { recursive: true });
  // A data directory of the versions that kept their state in PGlite: its counters cannot be read here,
  // and starting the month afresh beside them would bill it wrongly.
  if (existsSync(join(dataDir, 'PG_VERSION')) && !existsSync(join(dataDir, DATABASE_FILE))) {
    throw Object.assign(new Error(`${dataDir} holds the state of an older version (PGlite)`), { code: 'SQLITE_NOTADB' });
  }
  const db = new Database(join(dataDir, DATABASE_FILE), { readonly: opts.readonly ?? false });
  db.pragma('journal_mode = WAL');
  // A desk write waits for a run's chunk to commit rather than failing at once.
  db.pragma('busy_timeout = 10000');
  db.pragma('synchronous = NORMAL');
  // The ledger's cdr_id index is hit at random by every insert and duplicate check: 128 MB of page cache
  // holds it for a month of a few million calls (no mmap: mapped pages would count against the run's memory).
  db.pragma('cache_size = -131072');
  db.pragma('temp_store = MEMORY');
  // The desk's reads (a search walks a party's month, row by row at random places of the ledger) cost half
  // as much from mapped pages as through read() calls into the page cache (0.74 → 0.36 ms a first search on
  // the 1 M-CDR month). Those pages are the file's, shared and reclaimable: no run's memory budget counts them.
  if (opts.mapped === true) db.pragma(`mmap_size = ${MAPPED_BYTES}`);
  db.pragma('foreign_keys = ON');
  if (!opts.readonly) migrate(db);
  return db;
}

/** The shared store contract over SQLite: `$1…$n` placeholders, one transaction at a time. */
export function sqliteSql(db: SqliteDb): Sql {
  // `$n` becomes `?` in order of appearance, with the parameters reordered (and repeated) to match.
  const statements = new Map<string, { statement: Database.Statement; order: number[] }>();
  const prepare = (text: string) => {
    let s = statements.get(text);
    if (s === undefined) {
      const order: number[] = [];
      const statement = db.prepare(text.replace(/\$(\d+)/g, (_, n: string) => (order.push(Number(n) - 1), '?')));
      s = { statement, order };
      statements.set(text, s);
    }
    return s;
  };
  const sql: Sql = {
    dialect: 'sqlite',
    async query<R extends Record<string, unknown>>(text: string, params: unknown[] = []) {
      const { statement: s, order } = prepare(text);
      const values = order.map((i) => toSqlite(params[i]));
      if (s.reader) return s.all(...values) as R[];
      s.run(...values);
      return [];
    },
    async transaction(work) {
      // better-sqlite3 transactions are synchronous; an async body gets BEGIN IMMEDIATE … COMMIT around it.
      db.exec('BEGIN IMMEDIATE');
      try {
        const result = await work(sql);
        db.exec('COMMIT');
        return result;
      } catch (e) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw e;
      }
    },
    async close() {
      db.close();
    },
  };
  return sql;
}

function toSqlite(v: unknown): unknown {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Date) return v.getTime();
  if (v === undefined) return null;
  return v;
}

/** Applies schemas/sqlite/NNN_*.sql once each, in order (with their code steps: migration-steps.ts). */
function migrate(db: SqliteDb): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migration (version TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)');
  const dir = findUp(join('schemas', 'sqlite'), import.meta.url);
  const applied = new Set((db.prepare('SELECT version FROM schema_migration').all() as { version: string }[]).map((r) => r.version));
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.sql')).sort()) {
    if (applied.has(file)) continue;
    const { sql, steps } = splitAtSteps(readFileSync(join(dir, file), 'utf8'));
    db.transaction(() => {
      sql.forEach((part, i) => {
        db.exec(part);
        const step = steps[i];
        if (step !== undefined) sqliteStep(step)(db);
      });
      db.prepare('INSERT INTO schema_migration (version, applied_at) VALUES (?, ?)').run(file, Date.now());
    }).immediate();
  }
}
