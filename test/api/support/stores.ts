/**
 * The two stores every desk test runs over: a fresh PostgreSQL database (dropped after) and a fresh
 * embedded data directory (SQLite, removed after).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openPostgres, type Sql } from '../../../services/store/sql.js';
import { openSqlite, sqliteSql } from '../../../services/store/sqlite.js';
import { withStatementTimeout, type StoreFlags } from '../../../services/api/open-store.js';

export const ADMIN_URL = process.env.DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export type StoreKind = 'postgres' | 'embedded';
export const STORE_KINDS: StoreKind[] = ['postgres', 'embedded'];

export interface TestStore {
  kind: StoreKind;
  sql: Sql;
  /** How the CLI reaches this store. */
  flags: string[];
  /** The same, as `cdr serve` takes it. */
  origin: StoreFlags;
  close(): Promise<void>;
}

let counter = 0;

export async function openTestStore(kind: StoreKind): Promise<TestStore> {
  if (kind === 'postgres') {
    const name = `desk_${process.pid}_${Date.now()}_${counter++}`;
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
    const sql = await openPostgres(withStatementTimeout(url, 10_000));
    return {
      kind, sql, flags: ['--database-url', url], origin: { databaseUrl: url },
      async close() {
        await sql.close();
        const a = new pg.Client({ connectionString: ADMIN_URL });
        await a.connect();
        await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await a.end();
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'cdr-desk-'));
  const sql = sqliteSql(openSqlite(dir));
  return {
    kind, sql, flags: ['--data', dir], origin: { data: dir },
    async close() {
      await sql.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
