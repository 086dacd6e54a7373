/**
 * The audit trail's hash chain over both stores: each event carries the hash of the one before it and
 * its own, SHA-256 of its canonical content; concurrent desk writes never fork it; and the events a
 * store held before migration 015 are chained when it runs, oldest first.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_URL, STORE_KINDS, openTestStore, type TestStore } from './support/stores.js';
import { T0, rawConnection, writeTrail } from './support/audit-trail.js';
import { GENESIS_HASH, canonicalEvent, eventHash, microsOfMs } from '../../services/store/desk/audit-chain.js';
import { verifyAuditTrail } from '../../services/store/desk/audit-verify.js';
import { startWorld } from './support/desk-world.js';
import { DATABASE_FILE, openSqlite, sqliteSql } from '../../services/store/sqlite.js';
import { openPostgres } from '../../services/store/sql.js';

const ACCOUNTS = ['tcx01-u1001', 'tcx01-u1002', 'tcx01-u1003', 'tcx02-u2001'];

describe.each(STORE_KINDS)('the audit chain over %s', (kind) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await openTestStore(kind);
  }, 60_000);
  afterAll(async () => {
    await store?.close();
  });

  it('links each event to the one before it, from the genesis hash, with the SHA-256 of its content', async () => {
    await writeTrail(store.sql, 4);
    const raw = await rawConnection(store);
    const rows = await raw.rows('SELECT * FROM audit_event ORDER BY seq');
    await raw.close();
    expect(rows.map((r) => Number(r.seq))).toEqual([1, 2, 3, 4]);
    expect(rows[0]!.prev_hash).toBe(GENESIS_HASH);
    for (const [i, r] of rows.entries()) {
      if (i > 0) expect(r.prev_hash).toBe(rows[i - 1]!.hash);
      const content = {
        seq: i + 1, eventId: Number(r.event_id), atMicros: microsOfMs(T0 + i * 60_000), actor: String(r.actor), subjectType: String(r.subject_type),
        subjectId: String(r.subject_id), action: String(r.action), from: String(r.from_state), to: String(r.to_state), detail: String(r.detail), comment: String(r.comment), prevHash: String(r.prev_hash),
      };
      expect(r.hash).toBe(eventHash(content));
    }
    // The hash is over content the store keeps anyway; the number in a lock's reason stays where it was.
    expect(canonicalEvent({ seq: 1, eventId: 1, atMicros: '0', actor: 'a', subjectType: 'lock', subjectId: 'x', action: 'set_lock', from: 'none', to: 'all', detail: '', comment: '+33612345678', prevHash: GENESIS_HASH })).toContain('+33612345678');
    expect(String(rows[1]!.hash)).toMatch(/^[0-9a-f]{64}$/);
    expect(await verifyAuditTrail(store.sql)).toEqual({ ok: true, events: 4, head: rows[3]!.hash });
  });

  it('never forks under many desk requests at once: one event per request, seq without gaps, the chain intact', async () => {
    const w = await startWorld(store.sql, store.origin); // four tokens: four more events
    try {
      // Locks of four accounts and new tokens: rows of their own, so nothing but the chain orders these writes.
      const requests = Array.from({ length: 40 }, (_, i) =>
        i % 2 === 0
          ? w.app.inject({ method: 'PUT', url: `/api/v1/locks/${ACCOUNTS[i % 4]}`, headers: w.auth('analyst'), payload: { level: i % 3 === 0 ? 'all' : 'none', reason: `burst ${i}` } })
          : w.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: w.auth('admin'), payload: { name: `burst-${i}`, role: 'analyst' } }),
      );
      expect((await Promise.all(requests)).map((r) => r.statusCode)).toEqual(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 200 : 201)));
    } finally {
      await w.app.close();
    }
    const raw = await rawConnection(store);
    const seqs = (await raw.rows('SELECT seq FROM audit_event ORDER BY seq')).map((r) => Number(r.seq));
    await raw.close();
    expect(seqs).toEqual(Array.from({ length: 48 }, (_, i) => i + 1));
    expect(await verifyAuditTrail(store.sql)).toMatchObject({ ok: true, events: 48 });
  });
});

/** The migrations before 015, applied as an older `cdr` did, so that 015 meets a trail written without a chain. */
const before015 = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.sql') && f < '015').sort();

describe('migration 015 chains the events written before it', () => {
  it('on the embedded store: every old event, oldest first, and the desk appends after them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cdr-audit-015-'));
    try {
      const old = new Database(join(dir, DATABASE_FILE));
      old.exec('CREATE TABLE schema_migration (version TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)');
      for (const f of before015('schemas/sqlite')) {
        old.exec(readFileSync(join('schemas/sqlite', f), 'utf8'));
        old.prepare('INSERT INTO schema_migration VALUES (?, 0)').run(f);
      }
      const insert = old.prepare("INSERT INTO audit_event (at, actor, subject_type, subject_id, action, from_state, to_state, comment) VALUES (?, 'ana', 'lock', ?, 'set_lock', 'none', 'all', 'toll fraud')");
      for (const i of [0, 1, 2]) insert.run(T0 + i, `old-${i}`);
      old.close();

      const sql = sqliteSql(openSqlite(dir));
      expect(await verifyAuditTrail(sql)).toMatchObject({ ok: true, events: 3 });
      await writeTrail(sql, 2, 'new');
      expect(await verifyAuditTrail(sql)).toMatchObject({ ok: true, events: 5 });
      const rows = await sql.query<{ subject_id: string; seq: number }>('SELECT subject_id, seq FROM audit_event ORDER BY event_id');
      expect(rows.map((r) => `${r.seq} ${r.subject_id}`)).toEqual(['1 old-0', '2 old-1', '3 old-2', '4 new-0', '5 acct-1']);
      await sql.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('on PostgreSQL: old events with gaps in their ids and microsecond times', async () => {
    const name = `audit015_${process.pid}_${Date.now()}`;
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const url = ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
    try {
      const old = new pg.Client({ connectionString: url });
      await old.connect();
      await old.query('CREATE TABLE schema_migration (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
      for (const f of before015('schemas/sql')) {
        await old.query(readFileSync(join('schemas/sql', f), 'utf8'));
        await old.query('INSERT INTO schema_migration (version) VALUES ($1)', [f]);
      }
      // ids 1, 2, 5: a rolled-back transaction burns bigserial values
      for (const [id, at] of [[1, '2026-03-20 10:00:00.123456+00'], [2, '2026-03-20 10:01:00+00'], [5, '2026-03-20 10:02:00.5+00']] as const) {
        await old.query("INSERT INTO audit_event (event_id, at, actor, subject_type, subject_id, action, from_state, to_state) VALUES ($1, $2, 'ana', 'lock', $3, 'set_lock', 'none', 'all')", [id, at, `old-${id}`]);
      }
      await old.end();

      const sql = await openPostgres(url);
      expect(await verifyAuditTrail(sql)).toMatchObject({ ok: true, events: 3 });
      await writeTrail(sql, 2, 'new');
      expect(await verifyAuditTrail(sql)).toMatchObject({ ok: true, events: 5 });
      const rows = await sql.query<{ event_id: string; seq: string }>('SELECT event_id, seq FROM audit_event ORDER BY seq');
      expect(rows.map((r) => `${r.seq}:${r.event_id}`)).toEqual(['1:1', '2:2', '3:5', '4:6', '5:7']);
      await sql.close();
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  });
});
