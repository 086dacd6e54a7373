/**
 * The fraud desk's API over both stores: access (401/403), validation (400 with field and what is
 * expected), 404, the alert list and detail, the case workflow and its append-only audit trail,
 * locks and the barring feed, subscribers' counters, tokens, /metrics and the OpenAPI document.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORE_KINDS, openTestStore, type TestStore } from './support/stores.js';
import { ACCOUNT, CLIENT, PERIOD, seedWorld, startWorld, type World } from './support/desk-world.js';

describe.each(STORE_KINDS)('fraud desk API over %s', (kind) => {
  let store: TestStore;
  let w: World;
  beforeAll(async () => {
    store = await openTestStore(kind);
    await seedWorld(store);
    w = await startWorld(store.sql, store.origin);
  }, 60_000);
  afterAll(async () => {
    await w?.app.close();
    await store?.close();
  });

  const get = (url: string, role?: 'analyst' | 'invoicing' | 'admin') => w.app.inject({ method: 'GET', url, headers: role ? w.auth(role) : {} });
  const send = (method: 'POST' | 'PUT', url: string, body: unknown, role: 'analyst' | 'invoicing' | 'admin' = 'analyst') =>
    w.app.inject({ method, url, headers: w.auth(role), payload: body as object });

  it('answers /health without a token and refuses everything else without one (401)', async () => {
    expect((await get('/health')).statusCode).toBe(200);
    for (const url of ['/api/v1/alerts', '/api/v1/barring', '/metrics', '/api/openapi.json', `/api/v1/invoices/${CLIENT}/${PERIOD}`]) {
      const r = await get(url);
      expect(r.statusCode, url).toBe(401);
      expect(r.headers['www-authenticate']).toContain('Bearer');
    }
    const wrong = await w.app.inject({ method: 'GET', url: '/api/v1/alerts', headers: { authorization: 'Bearer cdr_not-a-token' } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().message).toContain('unknown or revoked');
  });

  it('refuses a role that may not call the route (403)', async () => {
    expect((await get('/api/v1/alerts', 'invoicing')).statusCode).toBe(403);
    expect((await get('/api/v1/barring', 'invoicing')).statusCode).toBe(403);
    expect((await get(`/api/v1/invoices/${CLIENT}/${PERIOD}`, 'analyst')).statusCode).toBe(403);
    expect((await get('/api/v1/tokens', 'analyst')).statusCode).toBe(403);
    const r = await send('POST', `/api/v1/months/${CLIENT}/${PERIOD}/close`, {}, 'analyst');
    expect(r.statusCode).toBe(403);
    expect(r.json().message).toContain('invoicing');
    // admin is admitted everywhere
    expect((await get('/api/v1/alerts', 'admin')).statusCode).toBe(200);
  });

  it('says which field is wrong and what is expected (400)', async () => {
    const cases: [string, string, string][] = [
      ['/api/v1/alerts?limit=1000', 'limit', '<= 200'],
      ['/api/v1/alerts?status=closed', 'status', 'one of open, acknowledged, resolved'],
      ['/api/v1/alerts?colour=red', 'colour', 'no such field'],
      ['/api/v1/alerts?period=2026-13', 'period', 'matching'],
      [`/api/v1/subscribers/${CLIENT}`, 'period', 'required'],
    ];
    for (const [url, field, expected] of cases) {
      const r = await get(url, 'analyst');
      expect(r.statusCode, url).toBe(400);
      expect(r.json().field, url).toBe(field);
      expect(r.json().expected, url).toContain(expected);
    }
    const noResolution = await send('POST', '/api/v1/alerts/al-warn/resolve', { comment: 'checked' });
    expect(noResolution.statusCode).toBe(400);
    expect(noResolution.json()).toMatchObject({ field: 'resolution' });
    const badResolution = await send('POST', '/api/v1/alerts/al-warn/resolve', { comment: 'checked', resolution: 'gone' });
    expect(badResolution.json().expected).toContain('fraud_confirmed');
    const emptyComment = await send('POST', '/api/v1/alerts/al-warn/acknowledge', { comment: '' });
    expect(emptyComment.statusCode).toBe(400);
    expect(emptyComment.json().field).toBe('comment');
    const huge = await send('POST', '/api/v1/alerts/al-warn/acknowledge', { comment: 'x'.repeat(20_000) });
    expect(huge.statusCode).toBe(413);
  });

  it('answers 404 for an unknown alert, account, client or route', async () => {
    expect((await get('/api/v1/alerts/al-nope', 'analyst')).statusCode).toBe(404);
    expect((await send('POST', '/api/v1/alerts/al-nope/acknowledge', { comment: 'x' })).statusCode).toBe(404);
    expect((await get('/api/v1/locks/nobody', 'analyst')).statusCode).toBe(404);
    expect((await send('PUT', '/api/v1/locks/nobody', { level: 'all', reason: 'x' })).statusCode).toBe(404);
    expect((await get(`/api/v1/subscribers/C-NOPE?period=${PERIOD}`, 'analyst')).statusCode).toBe(404);
    expect((await get(`/api/v1/invoices/C-NOPE/${PERIOD}`, 'invoicing')).statusCode).toBe(404);
    expect((await get('/api/v1/nothing-here', 'analyst')).statusCode).toBe(404);
  });

  it('lists alerts most severe and newest first, filters and pages them', async () => {
    const all = (await get('/api/v1/alerts?status=open', 'analyst')).json();
    expect(all.total).toBe(3);
    expect(all.alerts.map((a: { alert_id: string }) => a.alert_id)).toEqual(['al-crit', 'al-warn', 'al-info']);
    const newest = (await get('/api/v1/alerts?sort=newest', 'analyst')).json();
    expect(newest.alerts.map((a: { alert_id: string }) => a.alert_id)).toEqual(['al-info', 'al-warn', 'al-crit']);
    const page = (await get('/api/v1/alerts?limit=1&offset=1', 'analyst')).json();
    expect(page).toMatchObject({ total: 3, limit: 1, offset: 1 });
    expect(page.alerts.map((a: { alert_id: string }) => a.alert_id)).toEqual(['al-warn']);
    expect((await get(`/api/v1/alerts?client=${CLIENT}`, 'analyst')).json().total).toBe(2);
    expect((await get('/api/v1/alerts?severity=critical', 'analyst')).json().total).toBe(1);
    expect((await get('/api/v1/alerts?rule=pool_exhausted', 'analyst')).json().total).toBe(1);
    expect((await get('/api/v1/alerts?period=2026-02', 'analyst')).json().total).toBe(0);
    expect((await get('/api/v1/alerts?from=2026-03-12T00:00:00Z&to=2026-03-13T00:00:00Z', 'analyst')).json().alerts.map((a: { alert_id: string }) => a.alert_id)).toEqual(['al-warn', 'al-info']);
    // what the page polls with: nothing changed since the newest update
    expect((await get('/api/v1/alerts?updated_after=2026-03-15T09:00:00Z', 'analyst')).json().total).toBe(0);
    expect((await get('/api/v1/alerts?updated_after=2026-03-12T00:00:00Z', 'analyst')).json().total).toBe(2);
  });

  it('opens an alert with its evidence calls, the counters against thresholds and the account', async () => {
    const d = (await get('/api/v1/alerts/al-crit', 'analyst')).json();
    expect(d.alert).toMatchObject({ rule: 'fraud.call_setup_rate', severity: 'critical', value: '12', threshold: '5', status: 'open' });
    expect(d.period).toBe(PERIOD);
    expect(d.account).toBe(ACCOUNT);
    expect(d.evidence.map((c: { cdr_id: string }) => c.cdr_id)).toEqual(['r3', 'r4']);
    expect(d.evidence[0]).toMatchObject({ callee: '+442079460000', destination_class: 'international', amount: '0.7500', amount_display: '0.75', in_bundle: false });
    const distinct = d.counters.find((c: { rule: string }) => c.rule === 'fair_use.distinct_numbers');
    expect(distinct).toMatchObject({ value: 151, threshold: 150, left: 0, crossed: true });
    const duration = d.counters.find((c: { rule: string }) => c.rule === 'fair_use.duration');
    expect(duration).toMatchObject({ value: 1080, threshold: 144000, left: 142920, crossed: false });
    // the user's counters and its site's pool; not the colleague's (U1002)
    expect(d.counters.map((c: { rule: string; scope: string; user_id: string }) => `${c.rule}/${c.scope}/${c.user_id}`)).toEqual(['fair_use.distinct_numbers/user/U1001', 'fair_use.duration/user/U1001', 'pool_exhausted/site/']);
  });

  it('acknowledges, resolves and reopens an alert, each in the audit trail with who, when, from → to and the comment', async () => {
    const ack = await send('POST', '/api/v1/alerts/al-crit/acknowledge', { comment: 'looking' });
    expect(ack.statusCode).toBe(200);
    expect(ack.json().status).toBe('acknowledged');
    const again = await send('POST', '/api/v1/alerts/al-crit/acknowledge', { comment: 'twice' });
    expect(again.statusCode).toBe(409);
    const resolved = await send('POST', '/api/v1/alerts/al-crit/resolve', { comment: 'customer confirmed the PBX was hacked', resolution: 'fraud_confirmed' });
    expect(resolved.json()).toMatchObject({ status: 'resolved', resolution: 'fraud_confirmed' });
    expect((await send('POST', '/api/v1/alerts/al-crit/acknowledge', { comment: 'late' })).statusCode).toBe(409);
    const reopened = await send('POST', '/api/v1/alerts/al-crit/reopen', { comment: 'it started again' });
    expect(reopened.json()).toMatchObject({ status: 'open', resolution: '' });

    const trail = (await get('/api/v1/audit?subject_type=alert&subject_id=al-crit', 'analyst')).json().events;
    expect(trail.map((e: { action: string; from: string; to: string; actor: string }) => `${e.actor} ${e.action} ${e.from}→${e.to}`)).toEqual([
      'ana acknowledge open→acknowledged', 'ana resolve acknowledged→resolved', 'ana reopen resolved→open',
    ]);
    expect(trail[1]).toMatchObject({ detail: 'fraud_confirmed', comment: 'customer confirmed the PBX was hacked', at: '2026-03-20T10:00:00.000Z' });
    // the detail shows the same trail
    expect((await get('/api/v1/alerts/al-crit', 'analyst')).json().audit).toHaveLength(3);
    expect((await get('/api/v1/alerts?status=resolved', 'analyst')).json().total).toBe(0);
  });

  it('keeps the audit trail append-only: no route changes it and the store refuses UPDATE and DELETE', async () => {
    expect((await w.app.inject({ method: 'DELETE', url: '/api/v1/audit', headers: w.auth('admin') })).statusCode).toBe(404);
    expect((await w.app.inject({ method: 'PUT', url: '/api/v1/audit', headers: w.auth('admin'), payload: {} })).statusCode).toBe(404);
    await expect(store.sql.query("UPDATE audit_event SET comment = 'rewritten'")).rejects.toThrow(/append-only/);
    await expect(store.sql.query('DELETE FROM audit_event')).rejects.toThrow(/append-only/);
    const events = (await get('/api/v1/audit?limit=200', 'admin')).json().events;
    expect(events.some((e: { comment: string }) => e.comment === 'rewritten')).toBe(false);
  });

  it('locks an account at each level, serves the barring feed (JSON and text) and audits every change', async () => {
    expect((await get('/api/v1/barring', 'analyst')).json().locks).toEqual([]);
    for (const level of ['foreign', 'outgoing', 'all'] as const) {
      const r = await send('PUT', `/api/v1/locks/${ACCOUNT}`, { level, reason: `test ${level}` });
      expect(r.statusCode).toBe(200);
      expect(r.json()).toMatchObject({ account: ACCOUNT, level, set_by: 'ana', client_id: CLIENT });
      const feed = (await get('/api/v1/barring', 'analyst')).json();
      expect(feed.locks).toEqual([expect.objectContaining({ account: ACCOUNT, level, numbers: ['+33247501001'] })]);
      const text = (await get('/api/v1/barring.txt', 'analyst'));
      expect(text.headers['content-type']).toContain('text/plain');
      expect(text.body.split('\n')).toContain(`${ACCOUNT}\t${level}\t+33247501001`);
    }
    expect((await send('PUT', `/api/v1/locks/${ACCOUNT}`, { level: 'partial', reason: 'x' })).json()).toMatchObject({ field: 'level' });
    expect((await send('PUT', `/api/v1/locks/${ACCOUNT}`, { level: 'none', reason: 'cleared with the customer' })).statusCode).toBe(200);
    expect((await get('/api/v1/barring', 'analyst')).json().locks).toEqual([]);
    expect((await get('/api/v1/barring.txt', 'analyst')).body.split('\n').filter((l) => l !== '' && !l.startsWith('#'))).toEqual([]);
    const history = (await get(`/api/v1/locks/${ACCOUNT}`, 'analyst')).json();
    expect(history.level).toBe('none');
    expect(history.audit.map((e: { from: string; to: string }) => `${e.from}→${e.to}`)).toEqual(['none→foreign', 'foreign→outgoing', 'outgoing→all', 'all→none']);
    expect(history.audit[3].comment).toBe('cleared with the customer');
  });

  it('says who holds the token, and lists locks in force with the levels known', async () => {
    expect((await get('/api/v1/me', 'invoicing')).json()).toEqual({ name: 'ines', role: 'invoicing' });
    const locks = (await get('/api/v1/locks', 'analyst')).json();
    expect(locks.levels.map((l: { level: string }) => l.level)).toEqual(['none', 'foreign', 'outgoing', 'all']);
    expect(locks.locks).toEqual([]);
    await send('PUT', '/api/v1/locks/mob01-1', { level: 'foreign', reason: 'roaming fraud suspected' });
    expect((await get('/api/v1/locks', 'analyst')).json().locks).toEqual([expect.objectContaining({ account: 'mob01-1', level: 'foreign', meaning: expect.stringContaining('abroad') })]);
    await send('PUT', '/api/v1/locks/mob01-1', { level: 'none', reason: 'customer travelling, confirmed' });
    expect((await get('/api/v1/locks', 'analyst')).json().locks).toEqual([]);
  });

  it("shows a user's counters against thresholds and recent calls", async () => {
    const s = (await get(`/api/v1/subscribers/${CLIENT}?site=S-TOURS&user=U1001&period=${PERIOD}&calls=2`, 'analyst')).json();
    // the user's own counters and its site's pool, not its colleague's
    expect(s.counters.map((c: { rule: string; scope: string; left: number }) => `${c.rule}/${c.scope}/${c.left}`)).toEqual(['fair_use.distinct_numbers/user/0', 'fair_use.duration/user/142920', 'pool_exhausted/site/180000']);
    expect(s.recent_calls.map((c: { cdr_id: string }) => c.cdr_id)).toEqual(['r4', 'r3']);
    expect(s.recent_calls[0]).toMatchObject({ amount: '0.5000', amount_display: '0.50' });
    const other = (await get(`/api/v1/subscribers/C-TCX-02?period=${PERIOD}`, 'analyst')).json();
    expect(other.counters).toEqual([]);
  });

  it('creates and revokes tokens (admin); a token is shown once and works at once', async () => {
    const created = await send('POST', '/api/v1/tokens', { name: 'sbc-poller', role: 'analyst' }, 'admin');
    expect(created.statusCode).toBe(201);
    const token = created.json().token as string;
    expect(token).toMatch(/^cdr_[A-Za-z0-9_-]{43}$/);
    expect((await w.app.inject({ method: 'GET', url: '/api/v1/barring.txt', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(200);
    const list = (await get('/api/v1/tokens', 'admin')).body;
    expect(list).toContain('sbc-poller');
    expect(list).not.toContain(token);
    const rows = await store.sql.query<{ token_hash: string }>("SELECT token_hash FROM api_token WHERE name = 'sbc-poller'");
    expect(rows[0]!.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect((await send('POST', '/api/v1/tokens', { name: 'sbc-poller', role: 'analyst' }, 'admin')).statusCode).toBe(409);
    expect((await send('POST', '/api/v1/tokens', { name: 'x', role: 'root' }, 'admin')).json()).toMatchObject({ field: 'role' });
    expect((await send('POST', '/api/v1/tokens/sbc-poller/revoke', {}, 'admin')).statusCode).toBe(200);
    expect((await w.app.inject({ method: 'GET', url: '/api/v1/barring.txt', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(401);
    expect((await send('POST', '/api/v1/tokens/sbc-poller/revoke', {}, 'admin')).statusCode).toBe(404);
  });

  it('serves the 30-day chart data: alerts per rule per day and out-of-bundle spend per Paris day', async () => {
    const c = (await get('/api/v1/charts/daily?days=30&until=2026-03-20', 'analyst')).json();
    expect(c.days).toHaveLength(30);
    expect(c.days.at(-1)).toBe('2026-03-20');
    const day = (d: string) => c.days.indexOf(d);
    expect(c.alerts_per_rule['fraud.call_setup_rate'][day('2026-03-10')]).toBe(1);
    expect(c.alerts_per_rule['pool_exhausted'][day('2026-03-05')]).toBe(1);
    // r2 (0.12, adjusted) and r3 (0.75) on the 10th, r4 (0.50) on the 11th
    expect(c.out_of_bundle_spend[day('2026-03-10')]).toMatchObject({ amount: '0.87', amount_display: '0.87' });
    expect(c.out_of_bundle_spend[day('2026-03-11')]).toMatchObject({ amount: '0.5', amount_display: '0.50' });
    expect((await get('/api/v1/charts/daily?days=400', 'analyst')).json().field).toBe('days');
  });

  it('counts requests by route and status, alerts by rule and status, open alerts and locks on /metrics', async () => {
    const text = (await get('/metrics', 'analyst')).body;
    expect(text).toMatch(/cdr_http_requests_total\{method="GET",route="\/api\/v1\/alerts",status="200"\} \d+/);
    expect(text).toMatch(/cdr_http_requests_total\{method="GET",route="\/api\/v1\/alerts",status="403"\} \d+/);
    expect(text).toContain('cdr_http_request_seconds_bucket');
    expect(text).toMatch(/cdr_alerts\{rule="fair_use.distinct_numbers",status="open"\} 1/);
    expect(text).toMatch(/cdr_alerts_open \d/);
    expect(text).toMatch(/cdr_locks_in_force\{level="all"\} 0/);
  });

  it('publishes an OpenAPI document of every route', async () => {
    const doc = (await get('/api/openapi.json', 'analyst')).json();
    expect(doc.openapi).toBe('3.0.3');
    for (const p of ['/api/v1/alerts', '/api/v1/alerts/{id}', '/api/v1/alerts/{id}/resolve', '/api/v1/barring', '/api/v1/locks/{account}', '/api/v1/invoices/{client}/{period}', '/api/v1/months/{client}/{period}/close', '/api/v1/subscribers/{client}']) {
      expect(Object.keys(doc.paths), p).toContain(p);
    }
  });

  it('masks phone numbers in the request log', async () => {
    await get('/api/v1/locks/+33612345678', 'analyst');
    const log = w.logs.join('');
    expect(log).toContain('/api/v1/locks/+3361234****');
    expect(log).not.toContain('+33612345678');
  });
});
