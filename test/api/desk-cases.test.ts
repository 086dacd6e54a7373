/**
 * Cases, search and bulk work over both stores, through the API, every answer checked against the
 * OpenAPI document: automatic grouping at its boundaries, money at risk to the cent against the rows,
 * the timeline, the state machine and its refusals, search for each kind of query, bulk moves with an
 * unknown id, and the audit chain intact after all of it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORE_KINDS, openTestStore, type TestStore } from './support/stores.js';
import { ACCOUNT, CLIENT, seedWorld, startWorld, type World } from './support/desk-world.js';
import { insertAlert, insertRated, type AlertFixture } from './support/desk-rows.js';
import { contractOf, type Contract } from './support/openapi-contract.js';
import { verifyAuditTrail } from '../../services/store/desk/audit-verify.js';
import type { Role } from '../../services/store/desk/api-tokens.js';

const DAY = '2026-03-15';
/** An open alert of `client`/`user` over [from, to] (HH:MM:SS of DAY, UTC). */
const alert = (alertId: string, clientId: string, userId: string, from: string, to: string): AlertFixture => ({
  alertId, rule: 'fraud.spend_velocity', severity: 'critical', clientId, siteId: 'S-GRP', userId,
  firstSeen: `${DAY}T${from}Z`, lastSeen: `${DAY}T${to}Z`, value: '80', threshold: '60', cdrIds: [],
});

describe.each(STORE_KINDS)('cases, search and bulk over %s', (kind) => {
  let store: TestStore;
  let w: World;
  let api: Contract;
  const as = (role: Role) => w.auth(role);
  const get = (url: string, role: Role = 'analyst') => api.call('GET', url, as(role));
  const post = (url: string, body: unknown, role: Role = 'analyst') => api.call('POST', url, as(role), body);
  const put = (url: string, body: unknown, role: Role = 'analyst') => api.call('PUT', url, as(role), body);

  beforeAll(async () => {
    store = await openTestStore(kind);
    await seedWorld(store);
    w = await startWorld(store.sql, store.origin);
    api = await contractOf(w.app, w.auth('analyst'));
  }, 60_000);
  afterAll(async () => {
    await w?.app.close();
    await store?.close();
  });

  describe('automatic grouping (gap 30 minutes, inclusive)', () => {
    it('groups overlapping, touching and exactly-30-minutes-apart alerts of one user; not 30 min + 1 s, not another user or client', async () => {
      for (const a of [
        alert('g-a', 'C-GRP', 'U1', '10:00:00', '10:30:00'),
        alert('g-b', 'C-GRP', 'U1', '10:20:00', '10:50:00'), // overlaps g-a
        alert('g-c', 'C-GRP', 'U1', '10:50:00', '11:00:00'), // touches g-b
        alert('g-d', 'C-GRP', 'U1', '11:30:00', '11:40:00'), // exactly 30 min after g-c
        alert('g-u2', 'C-GRP', 'U2', '10:10:00', '10:20:00'), // another user of the client, alone
        alert('p-1', 'C-PLUS', 'U1', '10:00:00', '10:30:00'),
        alert('p-2', 'C-PLUS', 'U1', '11:00:01', '11:10:00'), // 30 min + 1 s: two incidents
        alert('m-1', 'C-MINUS', 'U1', '10:00:00', '10:30:00'),
        alert('m-2', 'C-MINUS', 'U1', '10:59:59', '11:10:00'), // 30 min − 1 s: one
        alert('x-1', 'C-X1', 'U1', '10:00:00', '10:30:00'),
        alert('x-2', 'C-X2', 'U1', '10:00:00', '10:30:00'), // same window, other client
        alert('w-client', 'C-WIDE', '', '10:00:00', '10:30:00'), // client-wide: joins its users' alerts
        alert('w-u7', 'C-WIDE', 'U7', '10:15:00', '10:20:00'),
      ]) await insertAlert(store, a);

      const r = await post('/api/v1/cases/group', { comment: 'morning sweep' });
      expect(r.statusCode).toBe(200);
      const body = r.json<{ gap_minutes: number; created: { client_id: string; user_id: string; alert_ids: string[]; state: string; created_by: string }[] }>();
      expect(body.gap_minutes).toBe(30);
      const byClient = Object.fromEntries(body.created.map((c) => [c.client_id, c]));
      expect(Object.keys(byClient).sort()).toEqual(['C-GRP', 'C-MINUS', 'C-WIDE']);
      expect(byClient['C-GRP']).toMatchObject({ user_id: 'U1', alert_ids: ['g-a', 'g-b', 'g-c', 'g-d'], state: 'new', created_by: 'ana' });
      expect(byClient['C-MINUS']!.alert_ids).toEqual(['m-1', 'm-2']);
      expect(byClient['C-WIDE']).toMatchObject({ user_id: '', alert_ids: ['w-client', 'w-u7'] });
    });

    it('adds a later alert of the incident to its case, and a second run changes nothing', async () => {
      await insertAlert(store, alert('g-e', 'C-GRP', 'U1', '12:10:00', '12:20:00')); // 30 min after g-d
      const r = await post('/api/v1/cases/group', {});
      const body = r.json<{ created: unknown[]; attached: { case_id: string; alert_ids: string[] }[] }>();
      expect(body.created).toEqual([]);
      expect(body.attached).toHaveLength(1);
      expect(body.attached[0]!.alert_ids).toEqual(['g-e']);
      const again = (await post('/api/v1/cases/group', {})).json<{ created: unknown[]; attached: unknown[] }>();
      expect(again).toMatchObject({ created: [], attached: [] });
      const listed = (await get('/api/v1/cases?client=C-GRP')).json<{ total: number; cases: { alert_ids: string[]; window_start: string; window_end: string }[] }>();
      expect(listed.total).toBe(1);
      expect(listed.cases[0]).toMatchObject({ alert_ids: ['g-a', 'g-b', 'g-c', 'g-d', 'g-e'], window_start: `${DAY}T10:00:00.000Z`, window_end: `${DAY}T12:20:00.000Z` });
    });
  });

  describe('a case made by hand', () => {
    let caseId = '';

    it('refuses alerts of two clients (400), an unknown alert (404), an alert already in a case (409)', async () => {
      expect((await post('/api/v1/cases', { alert_ids: ['al-crit', 'al-info'], comment: 'x' })).statusCode).toBe(400);
      expect((await post('/api/v1/cases', { alert_ids: ['al-crit', 'al-nope'], comment: 'x' })).statusCode).toBe(404);
      const taken = await post('/api/v1/cases', { alert_ids: ['g-a'], comment: 'x' });
      expect(taken.statusCode).toBe(409);
      expect(taken.json().message).toContain('g-a is in case-');
    });

    it('puts at risk, to the cent, the out-of-bundle spend and premium / international minutes of its scope in its window', async () => {
      // al-crit: C-TCX-01 / S-TOURS / U1001, 2026-03-10T10:00Z → 2026-03-11T10:00Z. The seeded r3 (10:00, international 300 s,
      // 0.7500 out of bundle) and r4 (the window's last instant, 600 s mobile, 0.5000) are in it; r1, r2 are before it.
      const base = { account: ACCOUNT, clientId: CLIENT, siteId: 'S-TOURS', userId: 'U1001', period: '2026-03' };
      await insertRated(store, { ...base, cdrId: 'k-premium', start: '2026-03-10T12:00:00Z', callee: '+33899123456', destinationClass: 'fr_premium', country: 'FR', seconds: 90, inBundle: false, amount: '1.3333', reason: 'out_of_plan_destination' });
      await insertRated(store, { ...base, cdrId: 'k-bundle', start: '2026-03-10T13:00:00Z', callee: '+33145000009', destinationClass: 'fr_fixed', country: 'FR', seconds: 60, inBundle: true, amount: '9.9900', reason: 'bundle' });
      await insertRated(store, { ...base, cdrId: 'k-usd', start: '2026-03-10T14:00:00Z', callee: '+12025550100', destinationClass: 'international', country: 'US', seconds: 60, inBundle: false, amount: '3.0000', reason: 'out_of_plan_destination', currency: 'USD' });
      await insertRated(store, { ...base, account: 'tcx01-u1002', userId: 'U1002', cdrId: 'k-other-user', start: '2026-03-10T15:00:00Z', callee: '+442079460001', destinationClass: 'international', country: 'GB', seconds: 600, inBundle: false, amount: '5.0000', reason: 'out_of_plan_destination' });
      await insertRated(store, { ...base, cdrId: 'k-after', start: '2026-03-11T10:00:01Z', callee: '+442079460002', destinationClass: 'international', country: 'GB', seconds: 60, inBundle: false, amount: '7.0000', reason: 'out_of_plan_destination' });

      const made = await post('/api/v1/cases', { alert_ids: ['al-crit'], title: 'U1001 pumping', comment: 'one incident' });
      expect(made.statusCode).toBe(201);
      caseId = made.json<{ case_id: string }>().case_id;
      expect(caseId).toMatch(/^case-[0-9a-f]{12}$/);
      const r = await get(`/api/v1/cases/${caseId}`);
      expect(r.statusCode).toBe(200);
      const body = r.json<{ case: { title: string; user_id: string; severity: string }; alerts: { alert_id: string }[]; money_at_risk: Record<string, unknown>; audit: { action: string; actor: string; comment: string }[] }>();
      expect(body.case).toMatchObject({ title: 'U1001 pumping', user_id: 'U1001', severity: 'critical' });
      expect(body.alerts.map((a) => a.alert_id)).toEqual(['al-crit']);
      // 0.7500 + 0.5000 + 1.3333; not the bundle's 9.99, the USD call, U1002's call or the call a second after the window.
      expect(body.money_at_risk).toEqual({
        window_start: '2026-03-10T10:00:00.000Z', window_end: '2026-03-11T10:00:00.000Z', currency: 'EUR',
        out_of_bundle_spend: '2.5833', out_of_bundle_spend_display: '2.58', out_of_bundle_calls: 3,
        premium_minutes: '1.50', premium_calls: 1, international_minutes: '6.00', international_calls: 2,
        calls: 5, other_currency_calls: 1,
      });
      expect(body.audit).toEqual([expect.objectContaining({ action: 'create', actor: 'ana', comment: 'one incident' })]);
    });

    it('tells its story in time order: alert, calls (bounded, with the count), actions and comments', async () => {
      expect((await post(`/api/v1/cases/${caseId}/comments`, { comment: 'called the customer' })).statusCode).toBe(200);
      const r = await get(`/api/v1/cases/${caseId}/timeline?calls=2`);
      const t = r.json<{ calls_total: number; calls_shown: number; entries: { at: string; kind: string; call?: { cdr_id: string; amount_display: string }; alert?: { alert_id: string }; event?: { action: string; comment: string } }[] }>();
      expect(t.calls_total).toBe(5);
      expect(t.calls_shown).toBe(2);
      expect(t.entries.map((e) => e.kind)).toEqual(['alert', 'call', 'call', 'action', 'comment']);
      expect(t.entries[0]!.alert!.alert_id).toBe('al-crit');
      expect(t.entries[1]!.call).toMatchObject({ cdr_id: 'r3', amount_display: '0.75' });
      expect(t.entries[2]!.call!.cdr_id).toBe('k-premium');
      expect(t.entries[4]!.event).toMatchObject({ action: 'comment', comment: 'called the customer' });
      expect([...t.entries.map((e) => e.at)]).toEqual([...t.entries.map((e) => e.at)].sort());
    });

    it('moves new → investigating → resolved with a resolution, resolving its alerts; refuses what does not apply', async () => {
      const noResolution = await post(`/api/v1/cases/${caseId}/resolve`, { comment: 'done' });
      expect(noResolution.statusCode).toBe(400);
      expect(noResolution.json()).toMatchObject({ field: 'resolution' });
      expect((await post(`/api/v1/cases/${caseId}/investigate`, { comment: 'mine' }, 'invoicing')).statusCode).toBe(403);
      expect((await post(`/api/v1/cases/${caseId}/reopen`, { comment: 'x' })).statusCode).toBe(409);
      expect((await post(`/api/v1/cases/${caseId}/investigate`, { comment: 'looking' })).json()).toMatchObject({ state: 'investigating' });
      expect((await post(`/api/v1/cases/${caseId}/investigate`, { comment: 'again' })).statusCode).toBe(409);
      expect((await put(`/api/v1/cases/${caseId}/owner`, { owner: 'ines', comment: 'invoicing is no analyst' })).statusCode).toBe(400);
      expect((await put(`/api/v1/cases/${caseId}/owner`, { owner: 'ana', comment: 'taking it' })).json()).toMatchObject({ owner: 'ana' });
      const resolved = await post(`/api/v1/cases/${caseId}/resolve`, { comment: 'PBX hacked, line barred', resolution: 'fraud_confirmed' });
      expect(resolved.json()).toMatchObject({ state: 'resolved', resolution: 'fraud_confirmed' });
      expect((await w.app.inject({ method: 'GET', url: '/api/v1/alerts/al-crit', headers: as('analyst') })).json().alert).toMatchObject({ status: 'resolved', resolution: 'fraud_confirmed' });
      expect((await post(`/api/v1/cases/${caseId}/attach`, { alert_ids: ['al-warn'], comment: 'x' })).statusCode).toBe(409);
      expect((await post(`/api/v1/cases/${caseId}/reopen`, { comment: 'it came back' })).json()).toMatchObject({ state: 'investigating', resolution: '' });
      const trail = (await get(`/api/v1/cases/${caseId}`)).json<{ audit: { action: string; from: string; to: string; detail: string }[] }>().audit;
      expect(trail.map((e) => `${e.action}:${e.from}>${e.to}`)).toEqual(['create:>new', 'comment:new>new', 'investigate:new>investigating', 'assign:>ana', 'resolve:investigating>resolved', 'reopen:resolved>investigating']);
      expect((await get('/api/v1/cases/case-000000000000')).statusCode).toBe(404);
    });

    it('attaches and detaches alerts, per alert, within one client', async () => {
      const r = await post(`/api/v1/cases/${caseId}/attach`, { alert_ids: ['al-warn', 'al-info', 'g-a', 'al-nope'], comment: 'same incident' });
      expect(r.statusCode).toBe(200);
      const results = r.json<{ case: { alert_ids: string[] }; results: { alert_id: string; ok: boolean; error?: string }[] }>();
      expect(results.results.map((x) => [x.alert_id, x.ok, x.error ?? ''])).toEqual([
        ['al-warn', true, ''], ['al-info', false, 'other_client'], ['g-a', false, 'in_other_case'], ['al-nope', false, 'not_found'],
      ]);
      expect(results.case.alert_ids).toEqual(['al-crit', 'al-warn']);
      const d = await post(`/api/v1/cases/${caseId}/detach`, { alert_ids: ['al-warn', 'g-a'], comment: 'not related after all' });
      expect(d.json<{ results: { ok: boolean }[] }>().results.map((x) => x.ok)).toEqual([true, false]);
      const trail = (await w.app.inject({ method: 'GET', url: '/api/v1/audit?subject_type=alert&subject_id=al-warn', headers: as('analyst') })).json<{ events: { action: string; detail: string; from: string; to: string }[] }>();
      expect(trail.events.map((e) => `${e.action}:${e.detail}:${e.from}>${e.to}`)).toEqual([`attach:${caseId}:open>open`, `detach:${caseId}:open>open`]);
    });
  });

  describe('search', () => {
    type Hit = { type: string; id: string; matched: string; url: string };
    const search = async (q: string) => {
      const r = await get(`/api/v1/search?q=${encodeURIComponent(q)}`);
      expect(r.statusCode, q).toBe(200);
      return r.json<{ read_as: string[]; number: string | null; calls_total: number | null; results: Hit[] }>();
    };

    it('finds a callee written 06.12.34.56.78 or +33 6 12 34 56 78 (E.164 +33612345678)', async () => {
      for (const q of ['06.12.34.56.78', '+33 6 12 34 56 78', '+33 (0)6 12 34 56 78', '0033612345678']) {
        const s = await search(q);
        expect(s.number, q).toBe('+33612345678');
        expect(s.calls_total, q).toBe(1);
        expect(s.results, q).toEqual([expect.objectContaining({ type: 'call', id: 'r4', matched: 'callee', url: '/api/v1/subscribers/C-TCX-01?site=S-TOURS&user=U1001&period=2026-03' })]);
      }
      // The request log has the URL with the number masked, in every form it was typed.
      const requests = w.logs.filter((l) => l.includes('/api/v1/search'));
      expect(requests.length).toBeGreaterThanOrEqual(4);
      expect(requests.join('')).not.toMatch(/5678|56\.78|56%2078|56\+78/);
    });

    it("finds a caller: the subscriber whose number it is, and its calls", async () => {
      const s = await search('02 47 50 10 01');
      expect(s.number).toBe('+33247501001');
      expect(s.results[0]).toMatchObject({ type: 'subscriber', id: 'tcx01-u1001', matched: 'number' });
      expect(s.results.filter((h) => h.type === 'call').every((h) => h.matched === 'caller')).toBe(true);
      expect(s.calls_total).toBe(9); // r1–r4 and the five rows of the case's test (U1002's line presents the same number)
    });

    it('finds an account, a client, a site, a user, an alert and a case by id, each with its URL', async () => {
      expect((await search('tcx01-u1002')).results).toEqual([expect.objectContaining({ type: 'subscriber', id: 'tcx01-u1002', matched: 'account' })]);
      const client = await search(CLIENT);
      expect(client.read_as).toEqual(['id']);
      expect(client.results.map((h) => `${h.type}:${h.id}`)).toEqual(expect.arrayContaining([`client:${CLIENT}`, 'alert:al-crit', 'alert:al-warn']));
      expect(client.results.find((h) => h.type === 'case')).toMatchObject({ matched: 'client_id' });
      const site = await search('S-TOURS');
      expect(site.results.filter((h) => h.type === 'alert').map((h) => h.matched)).toEqual(['site_id', 'site_id']);
      expect(site.results.some((h) => h.type === 'site')).toBe(true);
      const user = await search('U1001');
      expect(user.results.map((h) => `${h.type}:${h.id}:${h.matched}`)).toEqual(expect.arrayContaining(['subscriber:tcx01-u1001:user_id', 'alert:al-crit:user_id']));
      expect((await search('al-warn')).results).toEqual([expect.objectContaining({ type: 'alert', id: 'al-warn', matched: 'alert_id', url: '/api/v1/alerts/al-warn' })]);
      const grp = (await get('/api/v1/cases?client=C-GRP')).json<{ cases: { case_id: string }[] }>().cases[0]!.case_id;
      expect((await search(grp)).results).toEqual([expect.objectContaining({ type: 'case', id: grp, matched: 'case_id', url: `/api/v1/cases/${grp}` })]);
      expect((await search('g-b')).results.map((h) => `${h.type}:${h.matched}`)).toEqual(['case:alert_id', 'alert:alert_id']);
    });

    it('answers a query that is nothing known with no results, and refuses an empty one (400)', async () => {
      expect((await search('nothing-here')).results).toEqual([]);
      expect((await get('/api/v1/search?q=')).statusCode).toBe(400);
    });
  });

  describe('bulk', () => {
    it('acknowledges the alerts it can in one go, and names the unknown and the refused', async () => {
      const r = await post('/api/v1/alerts/bulk', { ids: ['p-1', 'al-unknown', 'p-2', 'al-crit'], action: 'acknowledge', comment: 'on it' });
      expect(r.statusCode).toBe(200);
      const body = r.json<{ applied: number; refused: number; results: { alert_id: string; ok: boolean; status?: string; error?: string }[] }>();
      expect(body).toMatchObject({ applied: 2, refused: 2 });
      expect(body.results.map((x) => [x.alert_id, x.ok, x.status ?? x.error])).toEqual([
        ['p-1', true, 'acknowledged'], ['al-unknown', false, 'not_found'], ['p-2', true, 'acknowledged'], ['al-crit', false, 'conflict'],
      ]);
      const audit = (await w.app.inject({ method: 'GET', url: '/api/v1/audit?subject_type=alert&subject_id=p-2', headers: as('analyst') })).json<{ events: { action: string; comment: string }[] }>();
      expect(audit.events).toEqual([expect.objectContaining({ action: 'acknowledge', comment: 'on it' })]);
    });

    it('resolves with a resolution (400 without), attaches to a case (404 for an unknown case), analysts only', async () => {
      expect((await post('/api/v1/alerts/bulk', { ids: ['p-1'], action: 'resolve', comment: 'x' })).json()).toMatchObject({ field: 'resolution' });
      expect((await post('/api/v1/alerts/bulk', { ids: ['p-1'], action: 'acknowledge', comment: 'x' }, 'invoicing')).statusCode).toBe(403);
      expect((await post('/api/v1/alerts/bulk', { ids: ['p-1'], action: 'attach', case_id: 'case-000000000000', comment: 'x' })).statusCode).toBe(404);
      const resolved = await post('/api/v1/alerts/bulk', { ids: ['p-1', 'p-2'], action: 'resolve', resolution: 'false_positive', comment: 'backup job' });
      expect(resolved.json()).toMatchObject({ applied: 2, refused: 0 });
      const made = (await post('/api/v1/cases', { alert_ids: ['x-1'], comment: 'x' })).json<{ case_id: string }>().case_id;
      const attached = await post('/api/v1/alerts/bulk', { ids: ['x-2', 'g-u2'], action: 'attach', case_id: made, comment: 'x' });
      expect(attached.json<{ results: { ok: boolean; error?: string }[] }>().results.map((x) => x.error ?? 'ok')).toEqual(['other_client', 'other_client']);
    });
  });

  it('leaves the audit trail append-only and its chain intact after all of it', async () => {
    const result = await verifyAuditTrail(store.sql);
    expect(result).toMatchObject({ ok: true });
    const cases = (await w.app.inject({ method: 'GET', url: '/api/v1/audit?subject_type=case&limit=200', headers: as('analyst') })).json<{ events: unknown[] }>();
    expect(cases.events.length).toBeGreaterThan(10);
  });
});
