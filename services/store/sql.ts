/**
 * The store contract shared by both stores: `query` with `$n` placeholders and `transaction`, over
 * node-postgres (PostgreSQL, the production store) here and over SQLite in sqlite.ts (the embedded one).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { findUp } from '../config/project-files.js';

export interface Sql {
  query<R extends Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  /** Runs `work` in one transaction: everything or nothing. */
  transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export async function openPostgres(connectionString: string): Promise<Sql> {
  const pool = new pg.Pool({ connectionString, max: 4 });
  const onClient = (client: pg.PoolClient | pg.Pool): Pick<Sql, 'query'> => ({
    async query<R>(text: string, params: unknown[] = []) {
      return (await client.query(text, params)).rows as R[];
    },
  });
  // An unreachable or restarting server must fail a transaction, not crash the process.
  pool.on('error', () => {});
  const sql: Sql = {
    ...onClient(pool),
    async transaction(work) {
      const client = await pool.connect();
      // The pool listens for errors of idle clients only: a server going away mid-transaction (a restart)
      // must fail this transaction's query, not crash the process with an unhandled 'error' event.
      let broken = false;
      const swallow = () => void (broken = true);
      client.on('error', swallow);
      try {
        await client.query('BEGIN');
        const tx: Sql = { ...onClient(client), transaction: (w) => w(tx), close: async () => {} };
        const result = await work(tx);
        await client.query('COMMIT');
        return result;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {});
        throw e;
      } finally {
        client.off('error', swallow);
        // A connection that failed is closed, not handed to the next transaction.
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
  // Workers starting together must not migrate together.
  await sql.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(7355608)');
    await migrate(tx);
  });
  return sql;
}

/** Applies schemas/sql/NNN_*.sql once each, in order. */
async function migrate(sql: Sql): Promise<void> {
  await sql.query('CREATE TABLE IF NOT EXISTS schema_migration (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
  const dir = findUp(join('schemas', 'sql'), import.meta.url);
  const applied = new Set((await sql.query<{ version: string }>('SELECT version FROM schema_migration')).map((r) => r.version));
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.sql')).sort()) {
    if (applied.has(file)) continue;
    const text = readFileSync(join(dir, file), 'utf8');
    await sql.transaction(async (tx) => {
      for (const statement of splitStatements(text)) await tx.query(statement);
      await tx.query('INSERT INTO schema_migration (version) VALUES ($1) ON CONFLICT DO NOTHING', [file]);
    });
  }
}

function splitStatements(text: string): string[] {
  const body = text
    .split('\n')
    .filter((l) => !l.trim().startsWith('--'))
    .join('\n');
  // A `;` inside a $$-quoted function body or a trigger's BEGIN … END does not end the statement.
  const complete = (s: string): boolean =>
    (s.match(/\$\$/g)?.length ?? 0) % 2 === 0 && !(/^\s*CREATE\s+TRIGGER\b/i.test(s) && /\bBEGIN\b/i.test(s) && !/\bEND\s*$/i.test(s));
  const statements: string[] = [];
  let current = '';
  for (const part of body.split(';')) {
    current = current === '' ? part : `${current};${part}`;
    if (complete(current)) {
      if (current.trim() !== '') statements.push(current.trim());
      current = '';
    }
  }
  if (current.trim() !== '') statements.push(current.trim());
  return statements;
}
