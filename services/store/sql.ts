/**
 * The store contract shared by both stores: `query` with `$n` placeholders and `transaction`, over
 * node-postgres (PostgreSQL, the production store) here and over SQLite in sqlite.ts (the embedded one).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { findUp } from '../config/project-files.js';
import { utf8Bytes } from '../csv/text-bytes.js';
import { postgresStep, splitAtSteps } from './migration-steps.js';

export interface Sql {
  /** Which SQL the store speaks, for the few statements that cannot be written alike (a timestamp's exact value). */
  readonly dialect: 'postgres' | 'sqlite';
  query<R extends Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  /** Runs `work` in one transaction: everything or nothing. */
  transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** A value of a COPY row: written in PostgreSQL's text format, null as \N. */
export type CopyValue = string | number | boolean | null;

/** PostgreSQL's store: inside a transaction, bulk rows go through COPY … FROM STDIN. */
export interface PgSql extends Sql {
  transaction<T>(work: (tx: PgTx) => Promise<T>): Promise<T>;
}

export interface PgTx extends PgSql {
  /** Appends rows to a table with COPY (a constraint violated by any row fails the statement, as an INSERT would). */
  copy(table: string, columns: readonly string[], rows: readonly (readonly CopyValue[])[]): Promise<void>;
  /**
   * INSERT … ON CONFLICT (`key`) DO UPDATE SET `update` (DO NOTHING when empty), the rows going through
   * COPY into a temporary table first: no parameter arrays to encode and parse.
   */
  upsert(table: string, columns: readonly string[], key: readonly string[], update: readonly string[], rows: readonly (readonly CopyValue[])[]): Promise<void>;
}

/**
 * `applicationName` shows in pg_stat_activity: which process holds a connection, a transaction or a lock
 * (a worker frozen with a transaction open is found by it).
 */
export async function openPostgres(connectionString: string, options: { applicationName?: string } = {}): Promise<PgSql> {
  const pool = new pg.Pool({ connectionString, max: 4, ...(options.applicationName === undefined ? {} : { application_name: options.applicationName }) });
  const onClient = (client: pg.PoolClient | pg.Pool): Pick<Sql, 'query'> => ({
    async query<R>(text: string, params: unknown[] = []) {
      return (await client.query(text, params)).rows as R[];
    },
  });
  // An unreachable or restarting server must fail a transaction, not crash the process.
  pool.on('error', () => {});
  const sql: PgSql = {
    dialect: 'postgres',
    ...onClient(pool),
    async transaction(work) {
      const client = await pool.connect();
      // The pool listens for errors of idle clients only: a server going away mid-transaction (a restart)
      // must fail this transaction's query, not crash the process with an unhandled 'error' event.
      let broken = false;
      const swallow = () => void (broken = true);
      client.on('error', swallow);
      // Staging tables this transaction created: the connection keeps them once it commits.
      const created: string[] = [];
      try {
        await client.query('BEGIN');
        const tx: PgTx = {
          dialect: 'postgres',
          ...onClient(client),
          transaction: (w) => w(tx),
          copy: (table, columns, rows) => copyRows(client, table, columns, rows),
          upsert: (table, columns, key, update, rows) => upsertRows(client, created, table, columns, key, update, rows),
          close: async () => {},
        };
        const result = await work(tx);
        await client.query('COMMIT');
        for (const t of created) stagingOf(client).add(t);
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

/** Measured on a million-row table: from 1,000 to 2,000 keys, the join stays with index probes. */
const PROBE_KEYS = 1000;

/**
 * The rows of `table` whose `key` is one of `keys`, read by index probes, PROBE_KEYS keys a statement.
 * Not `key = ANY($1)`: an index scan over an array of a batch's ids sorts them into scan keys first, three
 * times the time of as many probes from a join here; and past a few thousand ids the planner turns it into
 * a parallel sequential scan of the whole table (a month of calls) for every batch.
 */
export async function rowsWithKeys<R extends Record<string, unknown>>(sql: Pick<Sql, 'query'>, table: string, key: string, columns: readonly string[], keys: readonly string[]): Promise<R[]> {
  const out: R[] = [];
  const list = columns.map((c) => `t.${c}`).join(', ');
  for (let i = 0; i < keys.length; i += PROBE_KEYS) {
    out.push(...(await sql.query<R>(`SELECT ${list} FROM unnest($1::text[]) AS k(v) JOIN ${table} t ON t.${key} = k.v`, [keys.slice(i, i + PROBE_KEYS)])));
  }
  return out;
}

const COPY_CHUNK_ROWS = 2000;

async function copyRows(client: pg.PoolClient, table: string, columns: readonly string[], rows: readonly (readonly CopyValue[])[]): Promise<void> {
  if (rows.length === 0) return;
  const target = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
  // Rows are joined into chunks: one stream write per row would cost more than the encoding. A chunk is
  // made into bytes by utf8Bytes: left to the stream, Node's UTF-8 encoder cost the rater about 6 µs a
  // rated row, more than making the rows' text.
  function* chunks(): Generator<Buffer> {
    for (let i = 0; i < rows.length; i += COPY_CHUNK_ROWS) {
      const lines: string[] = [];
      for (const row of rows.slice(i, i + COPY_CHUNK_ROWS)) lines.push(row.map(copyText).join('\t'));
      lines.push('');
      yield utf8Bytes(lines.join('\n'));
    }
  }
  await pipeline(Readable.from(chunks()), target);
}

/** The staging tables each connection holds (temporary tables live as long as their session). */
const stagingTables = new WeakMap<pg.PoolClient, Set<string>>();

function stagingOf(client: pg.PoolClient): Set<string> {
  let tables = stagingTables.get(client);
  if (tables === undefined) stagingTables.set(client, (tables = new Set()));
  return tables;
}

/**
 * Two round trips a batch, not four: a worker's write is on the path from a call to its alert, and on a
 * busy machine each round trip waits for PostgreSQL to be scheduled.
 */
async function upsertRows(
  client: pg.PoolClient,
  created: string[],
  table: string,
  columns: readonly string[],
  key: readonly string[],
  update: readonly string[],
  rows: readonly (readonly CopyValue[])[],
): Promise<void> {
  if (rows.length === 0) return;
  // One staging table per connection and table, created once (one made in a transaction that rolled back
  // is gone with it, and made again); emptied once written, in the same round trip as the insert, for a
  // second upsert of the same transaction. And cut back to nothing at each commit (ON COMMIT DELETE ROWS):
  // the DELETE leaves its rows dead, no VACUUM reaches a session's temporary table, and a worker's
  // connection lives for months of batches, each of whose upserts would read every row staged before.
  const staging = `staging_${table}`;
  if (!stagingOf(client).has(staging) && !created.includes(staging)) {
    await client.query(`CREATE TEMP TABLE IF NOT EXISTS ${staging} (LIKE ${table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS`);
    created.push(staging);
  }
  await copyRows(client, staging, columns, rows);
  const onConflict = update.length === 0 ? 'DO NOTHING' : `DO UPDATE SET ${update.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`;
  const list = columns.join(', ');
  await client.query(`INSERT INTO ${table} (${list}) SELECT ${list} FROM ${staging} ON CONFLICT (${key.join(', ')}) ${onConflict}; DELETE FROM ${staging}`);
}

/** PostgreSQL's COPY text format: backslash escapes for the separators, \N for null. */
function copyText(v: CopyValue): string {
  if (v === null) return '\\N';
  if (typeof v === 'boolean') return v ? 't' : 'f';
  if (typeof v === 'number') return String(v);
  return COPY_SPECIAL.test(v) ? v.replace(COPY_SPECIALS, (c) => COPY_ESCAPES[c]!) : v;
}

const COPY_SPECIAL = /[\\\n\r\t]/;
const COPY_SPECIALS = /[\\\n\r\t]/g;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** Applies schemas/sql/NNN_*.sql once each, in order (with their code steps: migration-steps.ts). */
async function migrate(sql: Sql): Promise<void> {
  await sql.query('CREATE TABLE IF NOT EXISTS schema_migration (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
  const dir = findUp(join('schemas', 'sql'), import.meta.url);
  const applied = new Set((await sql.query<{ version: string }>('SELECT version FROM schema_migration')).map((r) => r.version));
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.sql')).sort()) {
    if (applied.has(file)) continue;
    const { sql: parts, steps } = splitAtSteps(readFileSync(join(dir, file), 'utf8'));
    await sql.transaction(async (tx) => {
      for (const [i, part] of parts.entries()) {
        for (const statement of splitStatements(part)) await tx.query(statement);
        const step = steps[i];
        if (step !== undefined) await postgresStep(step)(tx);
      }
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
