/**
 * The subscriber view (issue 20): a user's, site's or client's month as an analyst opens it from an alert,
 * a case or the search. Its plan, its counters in the unit a person reads, its Europe/Paris days (a
 * call at 00:30 Paris time is the next day's), the month's totals to the cent with a late call of a closed
 * month counted apart, its alerts, cases and locks; and what an analyst does shows in the very next
 * answer, although the answer is shared per version of the store. Both stores.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { STORE_KINDS, openTestStore, type TestStore } from './support/stores.js';
import { ACCOUNT, CLIENT, PERIOD, seedWorld, startWorld, type World } from './support/desk-world.js';
import { insertRated } from './support/desk-rows.js';

interface Day { day: string; calls: number; billable_seconds: number; out_of_bundle: string; out_of_bundle_display: string }
interface View {
  lines: number;
  plans: { plan_id: string; name: string; lines: number }[];
  counters: { rule: string; scope: string; value_display: string; threshold_display: string; left_display: string; crossed: boolean }[];
  days: Day[];
  month: Omit<Day, 'day'>;
  calls_of_other_days: number;
  recent_calls: { cdr_id: string }[];
  alerts_total: number;
  alerts: { alert_id: string; status: string; value_display: string }[];
  cases_total: number;
  cases: { case_id: string; alert_ids: string[] }[];
  locks: { account: string; level: string; reason: string }[];
}

describe.each(STORE_KINDS)('subscriber view over %s', (kind) => {
  let store: TestStore;
  let w: World;

  beforeEach(async () => {
    store = await openTestStore(kind);
    await seedWorld(store);
    const base = { account: ACCOUNT, clientId: CLIENT, siteId: 'S-TOURS', userId: 'U1001', period: PERIOD, destinationClass: 'international', country: 'GB', inBundle: false, reason: 'out_of_plan_destination' };
    // 23:30 UTC on the 9th is 00:30 on the 10th in Paris (UTC+1 in March).
    await insertRated(store, { ...base, cdrId: 'r-night', start: '2026-03-09T23:30:00Z', callee: '+442079460009', seconds: 30, amount: '0.0333' });
    // A February call that came after February was closed: billed on March.
    await insertRated(store, { ...base, cdrId: 'r-late', start: '2026-02-27T10:00:00Z', callee: '+442079460010', seconds: 90, amount: '0.2250' });
    w = await startWorld(store.sql, store.origin);
  });
  afterEach(async () => {
    await w?.app.close();
    await store?.close();
  });

  const view = async (query: string): Promise<View> => {
    const r = await w.app.inject({ method: 'GET', url: `/api/v1/subscribers/${CLIENT}?period=${PERIOD}&${query}`, headers: w.auth('analyst') });
    expect(r.statusCode).toBe(200);
    return r.json<View>();
  };
  const send = (method: 'POST' | 'PUT', url: string, payload: object) => w.app.inject({ method, url, payload, headers: w.auth('analyst') });

  it("shows a user's plan, counters in hours, days in Paris time and the month to the cent", async () => {
    const v = await view('site=S-TOURS&user=U1001');
    expect(v.lines).toBe(1);
    expect(v.plans).toEqual([{ plan_id: 'technicophone_centrex', name: 'TECHNICOPHONE Téléphonie Hébergée (Centrex) — forfait illimité', lines: 1 }]);
    expect(v.counters.find((c) => c.rule === 'fair_use.duration')).toMatchObject({ value_display: '0:18 h', threshold_display: '40:00 h', left_display: '39:42 h', crossed: false });
    expect(v.counters.find((c) => c.rule === 'fair_use.distinct_numbers')).toMatchObject({ crossed: true });

    expect(v.days).toHaveLength(31);
    expect(v.days[0]!.day).toBe('2026-03-01');
    expect(v.days[30]!.day).toBe('2026-03-31');
    const day = (d: string) => v.days.find((x) => x.day === d)!;
    expect(day('2026-03-09')).toMatchObject({ calls: 0, out_of_bundle: '0' });
    // r1, r2, r3 and the night call: 120 + 60 + 300 + 30 s; 0.12 + 0.75 + 0.0333 out of bundle.
    expect(day('2026-03-10')).toEqual({ day: '2026-03-10', calls: 4, billable_seconds: 510, out_of_bundle: '0.9033', out_of_bundle_display: '0.90' });
    expect(day('2026-03-11')).toEqual({ day: '2026-03-11', calls: 1, billable_seconds: 600, out_of_bundle: '0.5', out_of_bundle_display: '0.50' });
    // The late February call is on March's bill: in the month's totals, on none of its days.
    expect(v.calls_of_other_days).toBe(1);
    expect(v.month).toEqual({ calls: 6, billable_seconds: 1200, out_of_bundle: '1.6283', out_of_bundle_display: '1.63' });
    expect(v.recent_calls[0]!.cdr_id).toBe('r-late');

    expect(v.alerts.map((a) => a.alert_id)).toEqual(['al-warn', 'al-crit']);
    expect(v.alerts_total).toBe(2);
    expect(v.alerts[0]!.value_display).toBe('151 distinct numbers');
    expect(v.cases).toEqual([]);
    expect(v.locks).toEqual([]);
  });

  it('keeps to its scope: a client counts its lines, another client sees none of these alerts', async () => {
    const client = await view('');
    expect(client.lines).toBe(3);
    expect(client.plans).toEqual([expect.objectContaining({ plan_id: 'technicophone_centrex', lines: 3 })]);
    // The colleague's counter binds the client, not the user.
    expect(client.counters.filter((c) => c.rule === 'fair_use.duration')).toHaveLength(2);
    expect((await view('site=S-TOURS&user=U1001')).counters.filter((c) => c.rule === 'fair_use.duration')).toHaveLength(1);
    const other = (await w.app.inject({ method: 'GET', url: `/api/v1/subscribers/C-TCX-02?period=${PERIOD}`, headers: w.auth('analyst') })).json<View>();
    expect(other.alerts.map((a) => a.alert_id)).toEqual(['al-info']);
    expect(other.month.calls).toBe(0);
    expect(other.days.every((d) => d.calls === 0)).toBe(true);
  });

  it("shows an analyst's status move, case and lock in the very next answer", async () => {
    const before = await view('site=S-TOURS&user=U1001');
    expect(before.alerts.find((a) => a.alert_id === 'al-crit')!.status).toBe('open');

    expect((await send('POST', '/api/v1/alerts/al-crit/acknowledge', { comment: 'on it' })).statusCode).toBe(200);
    expect((await view('site=S-TOURS&user=U1001')).alerts.find((a) => a.alert_id === 'al-crit')!.status).toBe('acknowledged');

    const made = await send('POST', '/api/v1/cases', { alert_ids: ['al-crit', 'al-warn'], comment: 'one incident' });
    expect(made.statusCode).toBe(201);
    const afterCase = await view('site=S-TOURS&user=U1001');
    expect(afterCase.cases.map((c) => c.case_id)).toEqual([made.json<{ case_id: string }>().case_id]);
    expect(afterCase.cases_total).toBe(1);

    expect((await send('PUT', `/api/v1/locks/${ACCOUNT}`, { level: 'foreign', reason: 'calls to London at night' })).statusCode).toBe(200);
    expect((await view('site=S-TOURS&user=U1001')).locks).toEqual([expect.objectContaining({ account: ACCOUNT, level: 'foreign', reason: 'calls to London at night' })]);
    // The lock is the user's: its colleague's view has none.
    expect((await view('site=S-TOURS&user=U1002')).locks).toEqual([]);
  });
});
