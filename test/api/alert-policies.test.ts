/**
 * Policies that act (issue 21): an alert whose rule has a policy locks the accounts in its scope at once,
 * audited, shown with its rule, honoured at call setup, lifted by an analyst or at its expiry; never twice
 * for one alert, never weaker than a lock in force, never barring 112. Shipped policies, both stores.
 */
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../services/config/load-config.js';
import { buildServer } from '../../services/api/server.js';
import { AlertReactor } from '../../services/api/policy/alert-reactor.js';
import { createToken } from '../../services/store/desk/api-tokens.js';
import { STORE_KINDS, openTestStore, type TestStore } from './support/stores.js';
import { insertAlert } from './support/desk-rows.js';

const config = loadConfig('config');
const T0 = Date.parse('2026-03-20T10:00:00Z');

describe.each(STORE_KINDS)('alert policies (%s store)', (kind) => {
  let store: TestStore;
  let app: FastifyInstance;
  let clock: number;
  let reactor: AlertReactor;
  let analyst: { authorization: string };
  let sw: { authorization: string };

  const alert = (id: string, rule: string, scope: { clientId: string; siteId?: string; userId?: string }) =>
    insertAlert(store, { alertId: id, rule, severity: 'critical', clientId: scope.clientId, siteId: scope.siteId ?? '', userId: scope.userId ?? '', firstSeen: new Date(clock - 600_000).toISOString(), lastSeen: new Date(clock).toISOString(), value: '20', threshold: '15', cdrIds: [] });
  const lockOf = async (account: string) => (await app.inject({ method: 'GET', url: `/api/v1/locks/${account}`, headers: analyst })).json();
  const ask = async (account: string, callee: string) => (await app.inject({ method: 'POST', url: '/api/v1/authorize', headers: sw, payload: { account, callee } })).json().reason as string;

  beforeEach(async () => {
    store = await openTestStore(kind);
    clock = T0;
    app = await buildServer({ sql: store.sql, store: store.origin, directory: config.directory, logger: pino({ level: 'silent' }), now: () => clock, numbering: config.numbering, fraud: config.fraud });
    // The server's own reactor ticks every second; the test drives one by hand with the same clock, and tells the same switch side.
    reactor = new AlertReactor({ sql: store.sql, directory: config.directory, fraud: config.fraud, logger: pino({ level: 'silent' }), now: () => clock, lockSet: () => {} });
    analyst = { authorization: `Bearer ${await createToken(store.sql, 'ana', 'analyst', 'test', T0)}` };
    sw = { authorization: `Bearer ${await createToken(store.sql, 'sbc', 'switch', 'test', T0)}` };
  });
  afterEach(async () => {
    await app?.close();
    await store?.close();
  });

  it("locks the user's line foreign at once on premium pumping, with its rule, audited, until an analyst lifts it", async () => {
    await alert('al-pump', 'fraud.premium_destination', { clientId: 'C-TCX-01', siteId: 'S-TOURS', userId: 'U1002' });
    expect(await reactor.tick()).toBe(1);
    const l = await lockOf('tcx01-u1002');
    expect(l.lock).toMatchObject({ level: 'foreign', rule: 'fraud.premium_destination', alert_id: 'al-pump', set_by: 'policy', expires_at: null });
    expect(l.audit.map((e: { actor: string; action: string; from: string; to: string }) => `${e.actor} ${e.action} ${e.from}→${e.to}`)).toEqual(['policy set_lock none→foreign']);
    // Only the alert's user: the other lines of the site are not locked.
    expect((await lockOf('tcx01-u1001')).level).toBe('none');
    // Once per alert, however often the reactor looks.
    expect(await reactor.tick()).toBe(0);
    expect((await lockOf('tcx01-u1002')).audit).toHaveLength(1);
    // The switch is told within a second (the server re-reads the locks every second).
    clock += 1000;
    await new Promise((r) => setTimeout(r, 1200));
    expect(await ask('tcx01-u1002', '+442079460000')).toBe('lock_foreign');
    expect(await ask('tcx01-u1002', '112')).toBe('emergency');
    // An analyst lifts it; the lift is audited under the analyst's name.
    await app.inject({ method: 'PUT', url: '/api/v1/locks/tcx01-u1002', headers: analyst, payload: { level: 'none', reason: 'customer called: a trip abroad' } });
    expect(await ask('tcx01-u1002', '+442079460000')).toBe('ok');
    expect((await lockOf('tcx01-u1002')).lock).toMatchObject({ level: 'none', rule: '', set_by: 'ana' });
  });

  it('locks every line of a client-wide alert, and never weakens a stronger lock in force', async () => {
    await app.inject({ method: 'PUT', url: '/api/v1/locks/trk01-t2', headers: analyst, payload: { level: 'all', reason: 'unpaid' } });
    await alert('al-spend', 'fraud.spend_velocity', { clientId: 'C-TRK-01' });
    await reactor.tick();
    expect((await lockOf('trk01-t1')).lock).toMatchObject({ level: 'outgoing', rule: 'fraud.spend_velocity' });
    expect((await lockOf('trk01-t2')).lock).toMatchObject({ level: 'all', set_by: 'ana', rule: '' });
  });

  it('lifts a lock with an expiry by itself at the minute, audited, and not a minute before', async () => {
    await alert('al-probe', 'fraud.failed_attempts', { clientId: 'C-TCX-01', siteId: 'S-TOURS', userId: 'U1003' });
    await reactor.tick();
    const l = await lockOf('tcx01-u1003');
    expect(l.lock).toMatchObject({ level: 'foreign', expires_at: new Date(T0 + 1440 * 60_000).toISOString() });
    clock = T0 + 1440 * 60_000 - 1;
    await reactor.tick();
    expect((await lockOf('tcx01-u1003')).level).toBe('foreign');
    clock = T0 + 1440 * 60_000;
    await reactor.tick();
    const lifted = await lockOf('tcx01-u1003');
    expect(lifted.level).toBe('none');
    expect(lifted.audit.map((e: { actor: string; from: string; to: string }) => `${e.actor} ${e.from}→${e.to}`)).toEqual(['policy none→foreign', 'policy foreign→none']);
  });

  it('does nothing for a rule without a policy, nor for an alert older than a day', async () => {
    await alert('al-hsc', 'fraud.hyper_short_calls', { clientId: 'C-TCX-01', siteId: 'S-TOURS', userId: 'U1001' });
    expect(await reactor.tick()).toBe(1);
    expect((await lockOf('tcx01-u1001')).level).toBe('none');
    await alert('al-old', 'fraud.premium_destination', { clientId: 'C-TCX-02' }); // created at T0
    clock = T0 + 86_400_000 + 1;
    expect(await reactor.tick()).toBe(0);
    expect((await lockOf('tcx02-u2001')).level).toBe('none');
  });
});
