/**
 * The streaming rater's rated rows reach PostgreSQL through COPY: what invoicing reads back is what was
 * rated, to the character and the cent, whatever the text holds, and a cdr_id stored before fails the
 * whole batch (the rater's state was stale), leaving nothing of it. Counters and states are upserted
 * through a staging table each connection makes once.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cdr } from '../../services/core/cdr.js';
import { writeResults, type RatedRow } from '../../services/store/rating-store.js';
import { openPostgres, rowsWithKeys, type PgSql } from '../../services/store/sql.js';

const ADMIN_URL = process.env.DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const name = `cdr_copy_${process.pid}_${Date.now()}`;
let sql: PgSql;

beforeAll(async () => {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  sql = await openPostgres(ADMIN_URL.replace(/\/[^/]*$/, `/${name}`));
});

afterAll(async () => {
  await sql?.close();
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
});

function row(cdrId: string, over: Partial<Cdr> = {}, amount = '0.1234'): RatedRow {
  const cdr: Cdr = {
    cdrId, account: 'acc-1', caller: '+33142000001', callerOriginal: '', callee: '+33247010000',
    startMs: Date.parse('2026-03-31T10:00:00.250Z'), answerMs: null, endMs: Date.parse('2026-03-31T10:01:05Z'),
    billableSeconds: 65, disposition: 'answered', direction: 'out', leg: 'originating', forwardReason: null, device: 'desk',
    subscriber: { account: 'acc-1', clientId: 'C-1', siteId: 'S-1', userId: 'U-1', planId: 'technicophone_centrex', lineType: 'centrex_user', channels: 1, automated: false, numbers: [] },
    source: 'day-31.csv', line: 7,
    ...over,
  };
  return { cdr, period: '2026-03', destinationClass: 'fr_mobile', country: 'FR', inBundle: false, pricedSeconds: 65, amount, currency: 'EUR', reason: 'fair_use.distinct_numbers', shares: '0:65;pool:30' };
}

describe('rated rows written with COPY', () => {
  it('reads back every field as rated: separators, backslashes, nulls, accents, timestamps and amounts', async () => {
    const awkward = row('copy-1', { device: 'a\tb\\c\nd\re', callerOriginal: '\\N', source: 'C:\\exports\\Master 1.csv', forwardReason: 'unconditional', answerMs: Date.parse('2026-03-31T10:00:05.125Z') }, '12.3456');
    const plain = row('copy-2', { device: 'Téléphone façade ✓' });
    await sql.transaction((tx) => writeResults(tx, { rated: [awkward, plain] }));
    const rows = await sql.query<Record<string, unknown>>(
      `SELECT cdr_id, device, caller_original, source, forward_reason, amount::text AS amount, first_amount::text AS first_amount, shares,
              answer_time, start_time, in_bundle, automated, channels, source_line
         FROM rated_cdr ORDER BY cdr_id`,
    );
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      cdr_id: 'copy-1', device: 'a\tb\\c\nd\re', caller_original: '\\N', source: 'C:\\exports\\Master 1.csv', forward_reason: 'unconditional',
      amount: '12.3456', first_amount: '12.3456', shares: '0:65;pool:30', in_bundle: false, automated: false, channels: 1, source_line: 7,
    });
    expect((rows[0]!.answer_time as Date).toISOString()).toBe('2026-03-31T10:00:05.125Z');
    expect((rows[0]!.start_time as Date).toISOString()).toBe('2026-03-31T10:00:00.250Z');
    expect(rows[1]).toMatchObject({ cdr_id: 'copy-2', device: 'Téléphone façade ✓', forward_reason: null, answer_time: null, amount: '0.1234' });
  });

  it('fails the whole batch when one cdr_id was stored before, and keeps none of its rows', async () => {
    await expect(sql.transaction((tx) => writeResults(tx, { rated: [row('copy-3'), row('copy-1')] }))).rejects.toThrow(/duplicate key/);
    const ids = await sql.query<{ cdr_id: string }>('SELECT cdr_id FROM rated_cdr ORDER BY cdr_id');
    expect(ids.map((r) => r.cdr_id)).toEqual(['copy-1', 'copy-2']);
    // The connection that failed is usable again for the next batch.
    await sql.transaction((tx) => writeResults(tx, { rated: [row('copy-3')] }));
    expect(await sql.query('SELECT 1 FROM rated_cdr WHERE cdr_id = $1', ['copy-3'])).toHaveLength(1);
  });
});

describe('upserts through a staging table', () => {
  const states = async () => (await sql.query<{ client_id: string; state: string }>('SELECT client_id, state FROM fraud_state ORDER BY client_id')).map((r) => [r.client_id, r.state]);

  it('keeps the last value of each key, after a transaction that made the staging table rolled back, and with two upserts in one transaction', async () => {
    // The first upsert on a connection makes its staging table; this transaction rolls back, and the table with it.
    await expect(
      sql.transaction(async (tx) => {
        await tx.upsert('fraud_state', ['client_id', 'state'], ['client_id'], ['state'], [['C-A', '{"v":1}']]);
        throw new Error('the batch failed');
      }),
    ).rejects.toThrow('the batch failed');
    expect(await states()).toEqual([]);
    // The next transactions find no staging table left: each makes it again, or uses the one committed.
    await sql.transaction((tx) => tx.upsert('fraud_state', ['client_id', 'state'], ['client_id'], ['state'], [['C-A', '{"v":2}'], ['C-B', '{"v":1}']]));
    await sql.transaction(async (tx) => {
      await tx.upsert('fraud_state', ['client_id', 'state'], ['client_id'], ['state'], [['C-A', '{"v":3}']]);
      await tx.upsert('fraud_state', ['client_id', 'state'], ['client_id'], ['state'], [['C-C', '{"v":1}']]);
    });
    await sql.transaction((tx) => tx.upsert('fraud_state', ['client_id', 'state'], ['client_id'], ['state'], [['C-B', '{"v":2}']]));
    expect(await states()).toEqual([['C-A', '{"v":3}'], ['C-B', '{"v":2}'], ['C-C', '{"v":1}']]);
  });

  it("does not grow a connection's staging table batch after batch: each batch's upsert reads its own rows, not every row the connection staged before", async () => {
    // A long-lived worker connection upserts every batch through the same staging table. Emptied by DELETE
    // alone, it kept each batch's rows as dead tuples (no VACUUM reaches another session's temporary table):
    // every later upsert read them all, and its cost estimate grew past the planner's JIT threshold.
    const sizes: number[] = [];
    for (let batch = 0; batch < 20; batch++) {
      const rows = Array.from({ length: 1000 }, (_, i) => [`C-${i}`, `{"batch":${batch}}`]);
      await sql.transaction(async (tx) => {
        await tx.upsert('fraud_state', ['client_id', 'state'], ['client_id'], ['state'], rows);
        sizes.push(Number((await tx.query<{ n: string }>(`SELECT pg_relation_size('staging_fraud_state') AS n`))[0]!.n));
      });
    }
    expect((await sql.query<{ n: string }>(`SELECT count(*) AS n FROM fraud_state WHERE state = '{"batch":19}'`))[0]!.n).toBe('1000');
    // The pool has four connections: one of them has staged five batches at least.
    expect(Math.max(...sizes)).toBeLessThan(2 * sizes[0]!);
  });
});

describe('rows by key, as the raters and fraud workers probe a batch', () => {
  it('finds every stored key among thousands asked, repeated or absent, in chunks', async () => {
    const stored = Array.from({ length: 2500 }, (_, i) => `seen-${i}`);
    await sql.transaction((tx) => tx.copy('fraud_seen', ['cdr_id'], stored.map((id) => [id])));
    const asked = [...stored.filter((_, i) => i % 2 === 0), 'seen-0', 'seen-2498', ...Array.from({ length: 3000 }, (_, i) => `new-${i}`)];
    const rows = await rowsWithKeys<{ cdr_id: string }>(sql, 'fraud_seen', 'cdr_id', ['cdr_id'], asked);
    expect(new Set(rows.map((r) => r.cdr_id))).toEqual(new Set(stored.filter((_, i) => i % 2 === 0)));
  });
});
