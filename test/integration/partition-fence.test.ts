/**
 * A worker frozen in the middle of a batch's transaction (here: in the middle of a COPY, where neither
 * statement_timeout nor idle_in_transaction_session_timeout can end it) must not stop its partition: the
 * new owner's batch fences it, bills the same CDRs once, and the zombie, when it wakes, fails.
 * Real PostgreSQL; the fault suite (test/faults) does the same with real SIGSTOPped workers.
 */
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres, type PgSql } from '../../services/store/sql.js';
import { partitionLockKeys, takePartition } from '../../services/stream/partition-fence.js';

const ADMIN_URL = process.env.DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const name = `cdr_fence_${process.pid}_${Date.now()}`;
const url = ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
let sql: PgSql;

beforeAll(async () => {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  sql = await openPostgres(url, { applicationName: 'new owner' });
  await sql.query('CREATE TABLE billed (cdr_id text PRIMARY KEY)');
});

afterAll(async () => {
  await sql?.close();
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
});

const at = { groupId: 'it.cdr-rater', topic: 'it.cdr.normalized', partition: 2 };

describe('partition fence', () => {
  it('lets a partition’s new owner go on past a previous owner frozen mid-COPY with the same CDRs, and fails the zombie', async () => {
    // The zombie: took the partition, copied a CDR, and froze before the end of its COPY.
    const zombie = new pg.Client({ connectionString: url, application_name: 'zombie' });
    const zombieErrors: string[] = [];
    zombie.on('error', (e) => zombieErrors.push(e.message));
    await zombie.connect();
    await zombie.query('BEGIN');
    const [k1, k2] = partitionLockKeys(at.groupId, at.topic, at.partition);
    await zombie.query('SELECT pg_advisory_xact_lock($1, $2)', [k1, k2]);
    const copy = zombie.query(copyFrom('COPY billed (cdr_id) FROM STDIN'));
    copy.on('error', (e) => zombieErrors.push(e.message));
    copy.write('cdr-1\n');
    await new Promise((r) => setTimeout(r, 300)); // the row reaches the server: its key is locked

    const started = Date.now();
    const fenced = await sql.transaction(async (tx) => {
      const f = await takePartition(tx, at, 1000);
      await tx.copy('billed', ['cdr_id'], [['cdr-1'], ['cdr-2']]); // waited on the zombie's row before the fence
      return f;
    });
    const took = Date.now() - started;
    expect(fenced.map((f) => f.application)).toEqual(['zombie']);
    expect(took).toBeGreaterThanOrEqual(1000);
    expect(took).toBeLessThan(10_000);
    expect((await sql.query<{ cdr_id: string }>('SELECT cdr_id FROM billed ORDER BY cdr_id')).map((r) => r.cdr_id)).toEqual(['cdr-1', 'cdr-2']);

    // The zombie wakes: its session is gone, nothing of its batch was committed.
    copy.end();
    await new Promise((r) => setTimeout(r, 300));
    await expect(zombie.query('COMMIT')).rejects.toThrow();
    expect(zombieErrors.length).toBeGreaterThan(0);
    await zombie.end().catch(() => {});
  });

  it('takes a free partition at once, and waits for (does not fence) its owner’s batch that ends within the grace', async () => {
    const t0 = Date.now();
    await sql.transaction((tx) => takePartition(tx, { ...at, partition: 3 }, 5000));
    expect(Date.now() - t0).toBeLessThan(1000);

    const owner = new pg.Client({ connectionString: url, application_name: 'owner' });
    await owner.connect();
    await owner.query('BEGIN');
    const [k1, k2] = partitionLockKeys(at.groupId, at.topic, 3);
    await owner.query('SELECT pg_advisory_xact_lock($1, $2)', [k1, k2]);
    setTimeout(() => void owner.query('COMMIT'), 600); // a batch that ends normally
    const fenced = await sql.transaction((tx) => takePartition(tx, { ...at, partition: 3 }, 5000));
    expect(fenced).toEqual([]);
    await expect(owner.query('SELECT 1')).resolves.toBeDefined(); // its session is intact
    await owner.end();
  });
});
