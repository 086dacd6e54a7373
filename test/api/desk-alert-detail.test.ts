/**
 * What an analyst reads on an alert (issue 20): durations in hours and minutes rather than seconds, the
 * caller ID the switch presented on a premium-CLI alert (not the installation number the rater billed
 * it under), and a lock set on the account in the alert's own audit trail. Over both stores.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORE_KINDS, openTestStore, type TestStore } from './support/stores.js';
import { ACCOUNT, CLIENT, PERIOD, seedWorld, startWorld, type World } from './support/desk-world.js';
import { insertAlert, insertRated } from './support/desk-rows.js';

interface Detail {
  alert: { value_display: string; threshold_display: string };
  evidence: { cdr_id: string; caller: string; presented_caller: string }[];
  counters: { rule: string; scope: string; value_display: string; threshold_display: string; left_display: string }[];
  audit: { actor: string; action: string; from: string; to: string; comment: string }[];
  lock: { level: string } | null;
}

describe.each(STORE_KINDS)('an alert as the desk shows it, over %s', (kind) => {
  let store: TestStore;
  let w: World;
  beforeAll(async () => {
    store = await openTestStore(kind);
    await seedWorld(store);
    const base = { account: ACCOUNT, clientId: CLIENT, siteId: 'S-TOURS', userId: 'U1001', period: PERIOD };
    // A 089B caller ID: the rater billed the call under the installation number, keeping the presented one.
    await insertRated(store, { ...base, cdrId: 'p1', start: '2026-03-12T10:00:00Z', caller: '+33247501001', callerOriginal: '+33899123456', callee: '+33145000003', destinationClass: 'fr_fixed', country: 'FR', seconds: 30, inBundle: true, amount: '0.0000', reason: 'bundle' });
    await insertAlert(store, { alertId: 'al-cli', rule: 'fraud.premium_cli', severity: 'critical', clientId: CLIENT, siteId: 'S-TOURS', userId: 'U1001', firstSeen: '2026-03-12T10:00:00Z', lastSeen: '2026-03-12T10:00:00Z', value: '1', threshold: '0', cdrIds: ['p1', 'r1'] });
    await insertAlert(store, { alertId: 'al-hours', rule: 'fair_use.duration', severity: 'warning', clientId: CLIENT, siteId: 'S-TOURS', userId: 'U1001', firstSeen: '2026-03-13T08:00:00Z', lastSeen: '2026-03-13T09:00:00Z', value: '147600', threshold: '144000', cdrIds: ['r4'] });
    w = await startWorld(store.sql, store.origin);
  }, 60_000);
  afterAll(async () => {
    await w?.app.close();
    await store?.close();
  });

  const detail = async (id: string): Promise<Detail> => {
    const r = await w.app.inject({ method: 'GET', url: `/api/v1/alerts/${id}`, headers: w.auth('analyst') });
    expect(r.statusCode).toBe(200);
    return r.json();
  };

  it('shows a duration alert and counters in hours and minutes, not seconds', async () => {
    const list = await w.app.inject({ method: 'GET', url: '/api/v1/alerts?rule=fair_use.duration', headers: w.auth('analyst') });
    expect(list.json().alerts).toEqual([expect.objectContaining({ alert_id: 'al-hours', value: '147600', value_display: '41:00 h', threshold_display: '40:00 h' })]);
    const d = await detail('al-hours');
    expect(d.alert).toMatchObject({ value_display: '41:00 h', threshold_display: '40:00 h' });
    const duration = d.counters.find((c) => c.rule === 'fair_use.duration' && c.scope === 'user')!;
    // 1080 s used of 144000 s: 18 minutes of 40 hours, 39 h 42 min left.
    expect(duration).toMatchObject({ value_display: '0:18 h', threshold_display: '40:00 h', left_display: '39:42 h' });
    const distinct = d.counters.find((c) => c.rule === 'fair_use.distinct_numbers')!;
    expect(distinct).toMatchObject({ value_display: '151 distinct numbers', threshold_display: '150 distinct numbers' });
  });

  it("shows the 089 caller ID the switch presented in a premium-CLI alert's evidence", async () => {
    const d = await detail('al-cli');
    const call = d.evidence.find((c) => c.cdr_id === 'p1')!;
    expect(call.presented_caller).toBe('+33899123456');
    expect(call.caller).toBe('+33247501001');
    // A call the rater did not rewrite shows its caller.
    expect(d.evidence.find((c) => c.cdr_id === 'r1')!.presented_caller).toBe('+33247501001');
  });

  it("puts a lock set on the alert's account in the alert's audit trail", async () => {
    const ack = await w.app.inject({ method: 'POST', url: '/api/v1/alerts/al-crit/acknowledge', headers: w.auth('analyst'), payload: { comment: 'looking' } });
    expect(ack.statusCode).toBe(200);
    const put = await w.app.inject({ method: 'PUT', url: `/api/v1/locks/${ACCOUNT}`, headers: w.auth('analyst'), payload: { level: 'outgoing', reason: 'toll fraud suspected' } });
    expect(put.statusCode).toBe(200);
    const d = await detail('al-crit');
    expect(d.lock).toMatchObject({ level: 'outgoing' });
    expect(d.audit.map((e) => [e.actor, e.action, `${e.from} → ${e.to}`, e.comment])).toEqual([
      ['ana', 'acknowledge', 'open → acknowledged', 'looking'],
      ['ana', 'set_lock', 'none → outgoing', 'toll fraud suspected'],
    ]);
    // Another account's lock is not this alert's story.
    const other = await w.app.inject({ method: 'GET', url: '/api/v1/alerts/al-info', headers: w.auth('analyst') });
    expect(other.json().audit).toEqual([]);
  });
});
