/**
 * A client month's invoice, usage and subscriber view are computed once per version of the store and
 * shared (services/api/month-answers.ts), and are never staler than the store: a row written by another
 * process, or a close made on this desk, shows in the very next answer. So is a search on the embedded
 * store (PostgreSQL searches its indexes each time). Both stores.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openPostgres } from '../../services/store/sql.js';
import { openSqlite, sqliteSql } from '../../services/store/sqlite.js';
import type { Sql } from '../../services/store/sql.js';
import { STORE_KINDS, openTestStore, type TestStore } from './support/stores.js';
import { ACCOUNT, CLIENT, PERIOD, seedWorld, startWorld, type World } from './support/desk-world.js';
import { insertRated } from './support/desk-rows.js';

describe.each(STORE_KINDS)('client-month answers over %s', (kind) => {
  let store: TestStore;
  let w: World;
  let other: Sql;

  beforeEach(async () => {
    store = await openTestStore(kind);
    await seedWorld(store);
    w = await startWorld(store.sql, store.origin);
    // Another process's connection to the same store (a `cdr rate` run, a streaming worker).
    other = kind === 'embedded' ? sqliteSql(openSqlite(store.origin.data!)) : await openPostgres(store.origin.databaseUrl!);
  });
  afterEach(async () => {
    await w?.app.close();
    await other?.close();
    await store?.close();
  });

  const usage = async () => (await w.app.inject({ method: 'GET', url: `/api/v1/usage/${CLIENT}/${PERIOD}`, headers: w.auth('invoicing') })).json().totals.usage as string;
  const invoice = async () => (await w.app.inject({ method: 'GET', url: `/api/v1/invoices/${CLIENT}/${PERIOD}`, headers: w.auth('invoicing') })).json() as { status: string; totals: { usage: string } };

  it('answers 30 concurrent requests alike, and shows a row another process wrote in the next answer', async () => {
    const before = await usage();
    const answers = await Promise.all(Array.from({ length: 30 }, () => usage()));
    expect(new Set(answers)).toEqual(new Set([before]));
    await insertRated({ kind: store.kind, sql: other }, { account: ACCOUNT, clientId: CLIENT, siteId: 'S-TOURS', userId: 'U1001', period: PERIOD, cdrId: 'r-late', start: '2026-03-19T08:00:00Z', callee: '+442079460001', destinationClass: 'international', country: 'GB', seconds: 60, inBundle: false, amount: '0.1500', reason: 'out_of_plan_destination' });
    const after = await usage();
    expect(Number(after) - Number(before)).toBeCloseTo(0.15, 10);
    expect((await invoice()).totals.usage).toBe(after);
  });

  it("shows this desk's own close at once, and a counter another process moved", async () => {
    expect((await invoice()).status).toBe('open');
    expect((await w.app.inject({ method: 'POST', url: `/api/v1/months/${CLIENT}/${PERIOD}/close`, headers: w.auth('invoicing'), payload: {} })).statusCode).toBe(201);
    expect((await invoice()).status).toBe('closed');
    const view = async () => (await w.app.inject({ method: 'GET', url: `/api/v1/subscribers/${CLIENT}?period=${PERIOD}&site=S-TOURS&user=U1001`, headers: w.auth('analyst') })).json() as { counters: { rule: string; value: number }[] };
    expect((await view()).counters.find((c) => c.rule === 'fair_use.duration')?.value).toBe(1080);
    await other.query("UPDATE counter_state SET value = 2000 WHERE rule = 'fair_use.duration' AND user_id = 'U1001'");
    expect((await view()).counters.find((c) => c.rule === 'fair_use.duration')?.value).toBe(2000);
  });

  it('shares a search while the store is unchanged, and shows a call another process wrote in the next one', async () => {
    const search = async () => (await w.app.inject({ method: 'GET', url: `/api/v1/search?q=${encodeURIComponent('+44 20 7946 0077')}`, headers: w.auth('analyst') })).json() as { calls_total: number; results: { type: string; id: string }[] };
    const before = await Promise.all(Array.from({ length: 10 }, () => search()));
    expect(before.map((r) => r.calls_total)).toEqual(Array(10).fill(0));
    await insertRated({ kind: store.kind, sql: other }, { account: ACCOUNT, clientId: CLIENT, siteId: 'S-TOURS', userId: 'U1001', period: PERIOD, cdrId: 'r-london', start: '2026-03-19T08:00:00Z', callee: '+442079460077', destinationClass: 'international', country: 'GB', seconds: 60, inBundle: false, amount: '0.1500', reason: 'out_of_plan_destination' });
    const after = await search();
    expect(after.calls_total).toBe(1);
    expect(after.results.filter((r) => r.type === 'call').map((r) => r.id)).toEqual(['r-london']);
  });
});
