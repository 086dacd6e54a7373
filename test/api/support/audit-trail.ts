/**
 * An audit trail written the way the desk writes it (tokens, locks), and a second connection to the
 * same store for the tests that play someone at the database with raw SQL: the sqlite3 shell on the
 * data directory's file, psql on the database.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createToken, revokeToken } from '../../../services/store/desk/api-tokens.js';
import { setLock } from '../../../services/store/desk/account-locks.js';
import { DATABASE_FILE } from '../../../services/store/sqlite.js';
import type { Sql } from '../../../services/store/sql.js';
import type { TestStore } from './stores.js';

export const T0 = Date.parse('2026-03-20T10:00:00Z');

/** `n` events, one a minute from T0: token creations, lock changes (whose reason quotes a number), a revocation. */
export async function writeTrail(sql: Sql, n: number, prefix = 'ev'): Promise<void> {
  for (let i = 0; i < n; i++) {
    const atMs = T0 + i * 60_000;
    if (i % 3 === 0) await createToken(sql, `${prefix}-${i}`, 'analyst', 'test', atMs);
    else if (i % 3 === 1) await setLock(sql, { account: `acct-${i}`, clientId: 'C-TCX-01', siteId: 'S-TOURS', userId: 'U1001', level: 'outgoing', reason: 'toll fraud to +33612345678', actor: 'ana', atMs });
    else await revokeToken(sql, `${prefix}-${i - 2}`, 'root', atMs);
  }
}

export type Row = Record<string, unknown>;

export interface RawConnection {
  /** Runs one statement as typed at the shell; rejects with the store's error. */
  exec(text: string, params?: unknown[]): Promise<void>;
  rows(text: string, params?: unknown[]): Promise<Row[]>;
  /** What someone with the file or the owner's role does first: the append-only triggers go. */
  dropTriggers(): Promise<void>;
  close(): Promise<void>;
}

export async function rawConnection(store: TestStore): Promise<RawConnection> {
  const target = store.flags[1]!;
  if (store.kind === 'embedded') {
    const db = new Database(join(target, DATABASE_FILE));
    db.pragma('busy_timeout = 10000');
    return {
      async exec(text, params = []) {
        db.prepare(text).run(...params);
      },
      async rows(text, params = []) {
        return db.prepare(text).all(...params) as Row[];
      },
      async dropTriggers() {
        const names = db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ('audit_event', 'audit_chain_head')").all() as { name: string }[];
        for (const { name } of names) db.exec(`DROP TRIGGER ${name}`);
      },
      async close() {
        db.close();
      },
    };
  }
  const client = new pg.Client({ connectionString: target });
  await client.connect();
  return {
    async exec(text, params = []) {
      await client.query(text, params);
    },
    async rows(text, params = []) {
      return (await client.query(text, params)).rows as Row[];
    },
    async dropTriggers() {
      await client.query('ALTER TABLE audit_event DISABLE TRIGGER USER');
      await client.query('ALTER TABLE audit_chain_head DISABLE TRIGGER USER');
    },
    async close() {
      await client.end();
    },
  };
}

/** The whole trail and its head as the store holds them, to compare before and after an attack. */
export async function snapshot(raw: RawConnection): Promise<{ events: Row[]; head: Row[] }> {
  return {
    events: await raw.rows('SELECT * FROM audit_event ORDER BY event_id'),
    head: await raw.rows('SELECT * FROM audit_chain_head'),
  };
}
