/**
 * The audit trail cannot be rewritten with SQL, on either store, by a second connection to the real
 * store (the sqlite3 shell on the data directory's file, psql on the database): each attack is refused
 * with an error that says so, and every event (and the chain's head) is still there, byte for byte.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, type StoreKind, type TestStore } from './support/stores.js';
import { rawConnection, snapshot, writeTrail, type RawConnection } from './support/audit-trail.js';
import { verifyAuditTrail } from '../../services/store/desk/audit-verify.js';

const COLUMNS = 'event_id, seq, at, actor, subject_type, subject_id, action, from_state, to_state, detail, comment, prev_hash, hash';
const forged = (id: number, seq: number) => `(${id}, ${seq}, 0, 'mallory', 'alert', 'al-x', 'resolve', 'open', 'resolved', '', 'nothing happened', '', '')`;

/** [attack, SQL, the error it must meet] */
const ATTACKS: Record<StoreKind, [string, string, RegExp][]> = {
  embedded: [
    ['INSERT OR REPLACE of an existing event', `INSERT OR REPLACE INTO audit_event (${COLUMNS}) VALUES ${forged(2, 2)}`, /append-only: an event with this event_id or seq exists/],
    ['REPLACE INTO an existing event', `REPLACE INTO audit_event (event_id, at, actor, subject_type, subject_id, action, from_state, to_state) VALUES (2, 0, 'mallory', 'alert', 'al-x', 'resolve', 'open', 'resolved')`, /append-only: an event with this event_id or seq exists/],
    ['INSERT OR REPLACE of a new id on an existing seq', `INSERT OR REPLACE INTO audit_event (${COLUMNS}) VALUES ${forged(99, 3)}`, /append-only: an event with this event_id or seq exists/],
    ['INSERT OR IGNORE of an existing event', `INSERT OR IGNORE INTO audit_event (${COLUMNS}) VALUES ${forged(2, 2)}`, /append-only/],
    ['upsert (ON CONFLICT DO UPDATE)', `INSERT INTO audit_event (${COLUMNS}) VALUES ${forged(2, 2)} ON CONFLICT (event_id) DO UPDATE SET comment = excluded.comment`, /append-only/],
    ['UPDATE', "UPDATE audit_event SET comment = 'rewritten' WHERE event_id = 2", /append-only: UPDATE refused/],
    ['UPDATE OR REPLACE', "UPDATE OR REPLACE audit_event SET event_id = 1 WHERE event_id = 2", /append-only: UPDATE refused/],
    ['DELETE', 'DELETE FROM audit_event', /append-only: DELETE refused/],
    ['an INSERT that does not extend the chain', "INSERT INTO audit_event (at, actor, subject_type, subject_id, action, from_state, to_state) VALUES (0, 'mallory', 'alert', 'al-x', 'resolve', 'open', 'resolved')", /append-only: a new event must extend the chain/],
    ['moving the chain head back', 'UPDATE audit_chain_head SET seq = seq - 1', /only moves forward/],
    ['DELETE of the chain head', 'DELETE FROM audit_chain_head', /append-only: DELETE refused/],
    ['REPLACE INTO the chain head', "REPLACE INTO audit_chain_head (id, seq, hash) VALUES (1, 0, 'x')", /has one row/],
  ],
  postgres: [
    ['TRUNCATE', 'TRUNCATE audit_event', /append-only: TRUNCATE refused/],
    ['TRUNCATE … CASCADE with the head', 'TRUNCATE audit_event, audit_chain_head CASCADE', /TRUNCATE refused/],
    ['UPDATE', "UPDATE audit_event SET comment = 'rewritten' WHERE event_id = 2", /append-only: UPDATE refused/],
    ['DELETE', 'DELETE FROM audit_event', /append-only: DELETE refused/],
    ['upsert (ON CONFLICT DO UPDATE)', `INSERT INTO audit_event (${COLUMNS.replace(', seq', '')}) VALUES (2, now(), 'mallory', 'alert', 'al-x', 'resolve', 'open', 'resolved', '', '', '', '') ON CONFLICT (event_id) DO UPDATE SET comment = excluded.comment`, /append-only/],
    ['an INSERT that does not extend the chain', "INSERT INTO audit_event (at, actor, subject_type, subject_id, action, from_state, to_state) VALUES (now(), 'mallory', 'alert', 'al-x', 'resolve', 'open', 'resolved')", /append-only: a new event must extend the chain/],
    ['moving the chain head back', 'UPDATE audit_chain_head SET seq = seq - 1', /only moves forward/],
    ['DELETE of the chain head', 'DELETE FROM audit_chain_head', /only moves forward.*DELETE refused/],
    ['TRUNCATE of the chain head', 'TRUNCATE audit_chain_head', /TRUNCATE refused/],
  ],
};

describe.each(['embedded', 'postgres'] as const)('the audit trail over %s refuses every rewrite', (kind) => {
  let store: TestStore;
  let raw: RawConnection;
  let before: Awaited<ReturnType<typeof snapshot>>;
  beforeAll(async () => {
    store = await openTestStore(kind);
    await writeTrail(store.sql, 6);
    raw = await rawConnection(store);
    before = await snapshot(raw);
    expect(before.events).toHaveLength(6);
  }, 60_000);
  afterAll(async () => {
    await raw?.close();
    await store?.close();
  });

  it.each(ATTACKS[kind])('refuses %s and keeps every event', async (_name, attack, error) => {
    await expect(raw.exec(attack)).rejects.toThrow(error);
    expect(await snapshot(raw)).toEqual(before);
    expect(await verifyAuditTrail(store.sql)).toMatchObject({ ok: true, events: 6 });
  });

  it('still appends after the attacks, at the end of the chain', async () => {
    await writeTrail(store.sql, 2, 'after');
    const seqs = (await raw.rows('SELECT seq FROM audit_event ORDER BY event_id')).map((r) => Number(r.seq));
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(await verifyAuditTrail(store.sql)).toMatchObject({ ok: true, events: 8 });
  });
});
