/**
 * Migration 023 (PostgreSQL): the desk's search by number without the per-call callee and caller indexes.
 * Calls the raters write by COPY are found through call_number (the statement trigger), a store left by
 * the version before is found whole once migrated, and 017's indexes are gone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cdr } from '../../services/core/cdr.js';
import { callsOfNumber } from '../../services/store/desk/desk-search.js';
import { writeResults, type RatedRow } from '../../services/store/rating-store.js';
import { openPostgres, type PgSql } from '../../services/store/sql.js';
import { openTestStore, type TestStore } from '../api/support/stores.js';

let store: TestStore;
let url: string;
let sql: PgSql;

const TRUNK = '+33247501001';
const CONTACT = '+447700900123';

beforeAll(async () => {
  store = await openTestStore('postgres');
  url = store.origin.databaseUrl!;
  sql = await openPostgres(url); // the raters' kind of connection, whose transactions COPY
});

afterAll(async () => {
  await sql?.close();
  await store?.close();
});

/** A call of user `user` of the trunk's client, `minute` minutes into 31 March. */
function call(cdrId: string, user: string, minute: number, caller: string, callee: string): RatedRow {
  const startMs = Date.parse('2026-03-31T08:00:00Z') + minute * 60_000;
  const cdr: Cdr = {
    cdrId, account: `acc-${user}`, caller, callerOriginal: '', callee, startMs, answerMs: startMs + 5_000, endMs: startMs + 65_000,
    billableSeconds: 60, disposition: 'answered', direction: 'out', leg: 'originating', forwardReason: null, device: 'desk',
    subscriber: { account: `acc-${user}`, clientId: 'C-TRUNK', siteId: 'S-1', userId: user, planId: 'technicophone_centrex', lineType: 'centrex_user', channels: 1, automated: false, numbers: [] },
    source: 'day-31.csv', line: minute + 1,
  };
  return { cdr, period: '2026-03', destinationClass: 'fr_fixed', country: 'FR', inBundle: true, pricedSeconds: 60, amount: '0.0000', currency: 'EUR', reason: 'in_bundle', shares: '' };
}

/** Ten users of one trunk each call out from its number; user U3 calls the contact at minutes 3 and 13; the contact calls U5 back. */
function day(prefix: string, from: number): RatedRow[] {
  const rows: RatedRow[] = [];
  for (let m = from; m < from + 20; m++) rows.push(call(`${prefix}-${m}`, `U${m % 10}`, m, TRUNK, m % 10 === 3 ? CONTACT : `+3314200${String(m).padStart(4, '0')}`));
  rows.push(call(`${prefix}-back`, 'U5', from + 30, CONTACT, TRUNK));
  return rows;
}

describe('search by number on PostgreSQL (migration 023)', () => {
  it('finds the calls COPY wrote, newest first, each side counted, without the callee and caller indexes', async () => {
    await sql.transaction((tx) => writeResults(tx, { rated: day('a', 0) }));

    const contact = await callsOfNumber(sql, CONTACT, 20);
    expect(contact.total).toBe(3);
    expect(contact.latest.map((c) => [c.cdr_id, c.matched])).toEqual([['a-back', 'caller'], ['a-13', 'callee'], ['a-3', 'callee']]);
    const trunk = await callsOfNumber(sql, TRUNK, 5);
    expect(trunk.total).toBe(21);
    expect(trunk.latest.map((c) => c.cdr_id)).toEqual(['a-back', 'a-19', 'a-18', 'a-17', 'a-16']);
    expect(trunk.latest[0]!.matched).toBe('callee');

    const indexes = await sql.query<{ indexname: string }>("SELECT indexname FROM pg_indexes WHERE tablename = 'rated_cdr'");
    expect(indexes.map((i) => i.indexname)).not.toEqual(expect.arrayContaining(['rated_cdr_callee']));
    expect(indexes.map((i) => i.indexname)).not.toEqual(expect.arrayContaining(['rated_cdr_caller']));
  });

  it('finds, in a store rated before 023, the calls rated before it and after it', async () => {
    // Undo 023 as if the store had been left by the `cdr` before it, and rate a day with that schema.
    await sql.query(`DROP TRIGGER rated_cdr_numbers ON rated_cdr; DROP FUNCTION rated_cdr_numbers(); DROP TABLE call_number;
                     DROP INDEX rated_cdr_scope_month; CREATE INDEX rated_cdr_scope_month ON rated_cdr (client_id, period, user_id);
                     CREATE INDEX rated_cdr_callee ON rated_cdr (callee, start_time); CREATE INDEX rated_cdr_caller ON rated_cdr (caller, start_time);
                     DELETE FROM schema_migration WHERE version = '023_call_numbers.sql'`);
    await sql.transaction((tx) => writeResults(tx, { rated: day('b', 100) }));
    await sql.close();
    sql = await openPostgres(url); // opening the store migrates it
    await sql.transaction((tx) => writeResults(tx, { rated: day('c', 200) }));

    const contact = await callsOfNumber(sql, CONTACT, 20);
    expect(contact.total).toBe(9);
    expect(contact.latest.map((c) => c.cdr_id)).toEqual(['c-back', 'c-213', 'c-203', 'b-back', 'b-113', 'b-103', 'a-back', 'a-13', 'a-3']);
    const unknown = await callsOfNumber(sql, '+33999999999', 20);
    expect(unknown).toEqual({ total: 0, capped: false, latest: [] });
  });
});
