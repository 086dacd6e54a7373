/**
 * Live updates (issue 20): every change reaches an open event stream within 2 s, whoever made it: this
 * desk (a status move, a lock), another process writing the store (a detector's new alert), on both
 * stores. Streams have their own bound, outside the desk's requests in flight, a heartbeat, and end when
 * their token is revoked.
 */
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../services/api/server.js';
import { deskLogger } from '../../services/api/log-masking.js';
import { loadConfig } from '../../services/config/load-config.js';
import { createToken } from '../../services/store/desk/api-tokens.js';
import { openSqlite, sqliteSql } from '../../services/store/sqlite.js';
import type { Sql } from '../../services/store/sql.js';
import { STORE_KINDS, openTestStore, type TestStore } from './support/stores.js';
import { ACCOUNT, seedWorld } from './support/desk-world.js';
import { insertAlert } from './support/desk-rows.js';
import { changesOf, readEvents, type EventReader } from './support/event-reader.js';

const WITHIN_MS = 2_000;

describe.each(STORE_KINDS)('desk live updates over %s', (kind) => {
  let store: TestStore;
  let app: FastifyInstance;
  let base: string;
  let alice: string;
  let bob: string;
  let admin: string;
  /** Another process's connection to the store: on SQLite a second connection to the file. */
  let other: { kind: TestStore['kind']; sql: Sql };
  const readers: EventReader[] = [];

  beforeAll(async () => {
    store = await openTestStore(kind);
    await seedWorld(store);
    const config = loadConfig('config');
    const sink = new Writable({ write(_c, _e, done) { done(); } });
    app = await buildServer({ sql: store.sql, store: store.origin, directory: config.directory, logger: deskLogger('info', sink), maxInFlight: 2, maxStreams: 4, live: { heartbeatMs: 300 } });
    base = `${await app.listen({ port: 0, host: '127.0.0.1' })}/api/v1`;
    alice = await createToken(store.sql, 'alice', 'analyst', 'test', Date.now());
    bob = await createToken(store.sql, 'bob', 'analyst', 'test', Date.now());
    admin = await createToken(store.sql, 'root', 'admin', 'test', Date.now());
    other = kind === 'embedded' ? { kind, sql: sqliteSql(openSqlite(store.origin.data!)) } : store;
  }, 60_000);
  afterAll(async () => {
    for (const r of readers) r.close();
    // fetch (undici) can leave a connection that never sent a request; the server would wait for it
    // until its idle timeout (60 s), so the test closes every connection once the server starts closing.
    const closing = app?.close();
    app?.server.closeAllConnections();
    await closing;
    if (other !== store) await other?.sql.close();
    await store?.close();
  });

  const open = async (token: string) => {
    const r = await readEvents(`${base}/events`, token);
    readers.push(r);
    return r;
  };
  /** Reads the whole answer, so that no connection is left half-read when the server closes. */
  const call = async (method: string, path: string, token: string, body?: unknown) => {
    const r = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    return { status: r.status, body: await r.text() };
  };

  it("tells bob's open stream of alice's status move, comment and lock, and of a new alert written by another process, each within 2 s", async () => {
    const stream = await open(bob);
    expect(stream.status).toBe(200);
    expect(stream.contentType).toContain('text/event-stream');
    await stream.waitFor((e) => e.event === 'hello', WITHIN_MS);

    let t = Date.now();
    expect((await call('POST', '/alerts/al-warn/acknowledge', alice, { comment: 'on it' })).status).toBe(200);
    await stream.waitFor((e) => changesOf(e).some((c) => c.type === 'audit' && c.subject_id === 'al-warn' && c.action === 'acknowledge'), WITHIN_MS);
    expect(Date.now() - t).toBeLessThan(WITHIN_MS);

    t = Date.now();
    expect((await call('PUT', `/locks/${ACCOUNT}`, alice, { level: 'outgoing', reason: 'toll fraud' })).status).toBe(200);
    await stream.waitFor((e) => changesOf(e).some((c) => c.type === 'audit' && c.subject_type === 'lock' && c.subject_id === ACCOUNT), WITHIN_MS);
    expect(Date.now() - t).toBeLessThan(WITHIN_MS);

    // A detector in another process (cdr rate, a worker) raises an alert straight into the store.
    t = Date.now();
    await insertAlert(other, { alertId: 'al-new', rule: 'fraud.call_setup_rate', severity: 'critical', clientId: 'C-TCX-01', siteId: '', userId: '', firstSeen: '2026-03-19T10:00:00Z', lastSeen: '2026-03-19T10:01:00Z', value: '40', threshold: '10', cdrIds: [], updatedAt: new Date().toISOString() });
    await stream.waitFor((e) => changesOf(e).some((c) => c.type === 'alert' && c.alert_id === 'al-new'), WITHIN_MS);
    expect(Date.now() - t).toBeLessThan(WITHIN_MS);
  });

  it('keeps a quiet stream open with heartbeats', async () => {
    const stream = await open(alice);
    await new Promise((ok) => setTimeout(ok, 800));
    expect(stream.comments.filter((c) => c === 'heartbeat').length).toBeGreaterThanOrEqual(1);
  });

  it("does not count streams against the desk's requests in flight, and bounds them on their own (503)", async () => {
    // Two streams are open from the tests above and the bound of requests in flight is 2: requests still pass.
    const third = await open(alice);
    expect(third.status).toBe(200);
    expect((await call('GET', '/alerts', alice)).status).toBe(200);
    expect((await call('GET', '/alerts', bob)).status).toBe(200);
    const fourth = await open(bob);
    expect(fourth.status).toBe(200);
    const fifth = await open(bob);
    expect(fifth.status).toBe(503);
  });

  it('refuses a stream without a token, and ends one whose token is revoked', async () => {
    for (const r of readers.splice(0)) r.close();
    await new Promise((ok) => setTimeout(ok, 100));
    expect((await call('GET', '/events', '')).status).toBe(401);
    const carol = await createToken(store.sql, 'carol', 'analyst', 'test', Date.now());
    const stream = await open(carol);
    expect(stream.status).toBe(200);
    expect((await call('POST', '/tokens/carol/revoke', admin)).status).toBe(200);
    await stream.waitFor((e) => e.event === 'revoked', WITHIN_MS);
    await stream.ended;
  });
});
