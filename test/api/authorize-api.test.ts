/**
 * Authorization at call setup (issue 21): what the switch is told, on both stores, with the shipped
 * configuration (10 setups a second per client, simultaneous calls up to the directory's channels).
 */
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../services/config/load-config.js';
import { buildServer } from '../../services/api/server.js';
import { createToken } from '../../services/store/desk/api-tokens.js';
import { STORE_KINDS, openTestStore, type TestStore } from './support/stores.js';
import { insertCounter } from './support/desk-rows.js';

const config = loadConfig('config');
const T0 = Date.parse('2026-03-20T10:00:00Z');

describe.each(STORE_KINDS)('call authorization (%s store)', (kind) => {
  let store: TestStore;
  let app: FastifyInstance;
  let clock: number;
  let switchAuth: { authorization: string };
  let analystAuth: { authorization: string };

  const serve = () => buildServer({ sql: store.sql, store: store.origin, directory: config.directory, logger: pino({ level: 'silent' }), now: () => clock, numbering: config.numbering, fraud: config.fraud });
  const ask = async (q: Record<string, string>) => {
    const r = await app.inject({ method: 'POST', url: '/api/v1/authorize', headers: switchAuth, payload: q });
    expect(r.statusCode).toBe(200);
    return r.json() as { decision: string; reason: string; detail: string; client_id: string; callee: string; destination: string };
  };

  beforeEach(async () => {
    store = await openTestStore(kind);
    clock = T0;
    app = await serve();
    switchAuth = { authorization: `Bearer ${await createToken(store.sql, 'kamailio', 'switch', 'test', T0)}` };
    analystAuth = { authorization: `Bearer ${await createToken(store.sql, 'ana', 'analyst', 'test', T0)}` };
  });
  afterEach(async () => {
    await app?.close();
    await store?.close();
  });

  it('lets 10 setups of a client through in a second and refuses the 11th, then lets calls through again a second later', async () => {
    // C-TRK-01 has two trunks (8 + 4 channels): the rate is the client's, shared by both.
    const answers = [];
    for (let i = 0; i < 12; i++) answers.push(await ask({ account: i % 2 ? 'trk01-t1' : 'trk01-t2', caller: '+33240601000', callee: `+3314500${String(i).padStart(4, '0')}` }));
    expect(answers.slice(0, 10).every((a) => a.decision === 'allow' && a.reason === 'ok')).toBe(true);
    expect(answers.slice(10).map((a) => `${a.decision} ${a.reason}`)).toEqual(['deny setup_rate', 'deny setup_rate']);
    clock = T0 + 999;
    expect((await ask({ account: 'trk01-t1', callee: '+33145009999' })).reason).toBe('setup_rate');
    clock = T0 + 1000;
    expect((await ask({ account: 'trk01-t1', callee: '+33145009999' })).decision).toBe('allow');
    // Another client has its own ten.
    expect((await ask({ account: 'trk02-t1', callee: '+33145009999' })).decision).toBe('allow');
  });

  it('answers a dial plan in one line: 200 "allow ok", 403 "deny <reason>"', async () => {
    const get = (q: string) => app.inject({ method: 'GET', url: `/api/v1/authorize?${q}`, headers: switchAuth });
    const ok = await get('account=tcx01-u1001&caller=0247501001&callee=0145000001&call_id=a1');
    expect([ok.statusCode, ok.body, ok.headers['content-type']]).toEqual([200, 'allow ok\n', 'text/plain; charset=utf-8']);
    const unknown = await get('account=nobody&caller=0999999999&callee=0145000001');
    expect([unknown.statusCode, unknown.body]).toEqual([403, 'deny unknown_account\n']);
    expect((await get('account=tcx01-u1001&callee=%2B%2B12')).body).toBe('deny invalid_number\n');
  });

  it('refuses calls abroad under a foreign lock, everything but emergency under an outgoing lock, and never 112', async () => {
    const lock = (level: string) => app.inject({ method: 'PUT', url: '/api/v1/locks/tcx01-u1002', headers: analystAuth, payload: { level, reason: 'toll fraud suspected' } });
    expect((await lock('foreign')).statusCode).toBe(200);
    const call = (callee: string) => ask({ account: 'tcx01-u1002', caller: '+33247501002', callee });
    expect(await call('00442079460000')).toMatchObject({ decision: 'deny', reason: 'lock_foreign', destination: 'international', callee: '+442079460000' });
    // A number abroad that no range knows (one digit short) is abroad all the same.
    expect(await call('0044207946000')).toMatchObject({ decision: 'deny', reason: 'lock_foreign', destination: 'unknown' });
    expect(await call('0145000001')).toMatchObject({ decision: 'allow', reason: 'ok' });
    clock += 1000;
    expect((await lock('outgoing')).statusCode).toBe(200);
    expect(await call('0145000001')).toMatchObject({ decision: 'deny', reason: 'lock_outgoing' });
    expect((await lock('all')).statusCode).toBe(200);
    for (const emergency of ['112', '15', '17', '18', '114']) expect(await call(emergency)).toMatchObject({ decision: 'allow', reason: 'emergency' });
    // Another user of the same client is not locked.
    expect(await ask({ account: 'tcx01-u1001', callee: '00442079460000' })).toMatchObject({ decision: 'allow' });
    // A lock lifted counts from the next setup.
    expect((await lock('none')).statusCode).toBe(200);
    expect(await call('00442079460000')).toMatchObject({ decision: 'allow' });
  });

  it('counts calls in progress against the channels until their end notice, and keeps them across a restart', async () => {
    // trk01-t2 has 4 channels.
    const setup = (callId: string) => ask({ account: 'trk01-t2', caller: '+33241601000', callee: '+33145000001', call_id: callId });
    for (const id of ['c1', 'c2', 'c3', 'c4']) expect((await setup(id)).decision).toBe('allow');
    clock += 1000;
    expect(await setup('c5')).toMatchObject({ decision: 'deny', reason: 'simultaneous_calls' });
    const end = await app.inject({ method: 'POST', url: '/api/v1/call-end', headers: switchAuth, payload: { call_id: 'c2' } });
    expect(end.json()).toEqual({ ended: true });
    expect((await app.inject({ method: 'GET', url: '/api/v1/call-end?call_id=c2', headers: switchAuth })).json()).toEqual({ ended: false });
    expect((await setup('c5')).decision).toBe('allow');
    // A restart: the four calls in progress are read back from the checkpoint.
    await app.close();
    clock += 1000;
    app = await serve();
    expect(await setup('c6')).toMatchObject({ decision: 'deny', reason: 'simultaneous_calls' });
    // A call whose end never came stops counting after lost_end_minutes (240).
    clock += 240 * 60_000 + 1000;
    await app.close();
    app = await serve();
    expect((await setup('c7')).decision).toBe('allow');
  });

  it('keeps each refused setup for the desk and counts every answer in /metrics', async () => {
    await app.inject({ method: 'PUT', url: '/api/v1/locks/tcx01-u1003', headers: analystAuth, payload: { level: 'foreign', reason: 'IRSF pumping' } });
    await ask({ account: 'tcx01-u1003', caller: '+33247501003', callee: '+2693334455', call_id: 'x1' });
    await ask({ account: 'tcx01-u1003', caller: '+33247501003', callee: '+33145000001', call_id: 'x2' });
    await app.close(); // writes what is pending
    app = await serve();
    const kept = await app.inject({ method: 'GET', url: '/api/v1/call-decisions?account=tcx01-u1003', headers: analystAuth });
    expect(kept.json().decisions).toEqual([
      { at: new Date(T0).toISOString(), account: 'tcx01-u1003', client_id: 'C-TCX-01', caller: '+33247501003', callee: '+2693334455', call_id: 'x1', decision: 'deny', reason: 'lock_foreign', detail: 'calls abroad barred (KM)' },
    ]);
    await ask({ account: 'tcx01-u1003', callee: '+2693334455' });
    const metrics = await app.inject({ method: 'GET', url: '/metrics', headers: analystAuth });
    expect(metrics.body).toContain('cdr_call_setup_decisions_total{decision="deny",reason="lock_foreign"} 1');
  });

  it("refuses calls abroad outside the subscriber's plan when the policy says so: German fixed in, German mobile and Poland out", async () => {
    await app.close();
    const strict = { ...config.fraud, call_authorization: { ...config.fraud.call_authorization, refuse_abroad_outside_plan: true } };
    app = await buildServer({ sql: store.sql, store: store.origin, directory: config.directory, plans: config.plans, logger: pino({ level: 'silent' }), now: () => clock, numbering: config.numbering, fraud: strict });
    // trk01-t1: technicophone_trunk_sip, whose example bundle has the fixed lines of DE, BE, ES, IT, GB, CH.
    expect(await ask({ account: 'trk01-t1', callee: '+4930123456' })).toMatchObject({ decision: 'allow' });
    expect(await ask({ account: 'trk01-t1', callee: '+4915123456789' })).toMatchObject({ decision: 'deny', reason: 'outside_plan' });
    expect(await ask({ account: 'trk01-t1', callee: '+48221234567' })).toMatchObject({ decision: 'deny', reason: 'outside_plan', detail: 'PL is not in the plan technicophone_trunk_sip' });
    expect(await ask({ account: 'trk01-t1', callee: '0145000001' })).toMatchObject({ decision: 'allow' });
  });

  it("says which of the month's fair-use thresholds the subscriber has crossed, and still lets the call through (it is metered, not barred)", async () => {
    const u1001 = { clientId: 'C-TCX-01', siteId: 'S-TOURS', userId: 'U1001', scope: 'user', scopeKey: 'C-TCX-01/S-TOURS/U1001', period: '2026-03' };
    await insertCounter(store, { ...u1001, rule: 'fair_use.distinct_numbers', value: 151, threshold: 150, crossedAt: '2026-03-11T10:00:00Z' });
    await insertCounter(store, { ...u1001, rule: 'fair_use.duration', value: 1080, threshold: 144000 });
    // Last month's crossing does not count in March.
    await insertCounter(store, { ...u1001, period: '2026-02', rule: 'fair_use.duration', value: 150000, threshold: 144000, crossedAt: '2026-02-20T10:00:00Z' });
    await app.close();
    app = await serve();
    expect(await ask({ account: 'tcx01-u1001', callee: '0145000001' })).toMatchObject({ decision: 'allow', reason: 'ok', fair_use: ['fair_use.distinct_numbers'] });
    expect(await ask({ account: 'tcx01-u1002', callee: '0145000001' })).toMatchObject({ decision: 'allow', fair_use: [] });
  });

  it('lets a switch token ask and nothing else, and no other role ask', async () => {
    expect((await app.inject({ method: 'GET', url: '/api/v1/alerts', headers: switchAuth })).statusCode).toBe(403);
    expect((await app.inject({ method: 'GET', url: '/api/v1/barring', headers: switchAuth })).statusCode).toBe(403);
    const byAnalyst = await app.inject({ method: 'POST', url: '/api/v1/authorize', headers: analystAuth, payload: { account: 'tcx01-u1001', callee: '112' } });
    expect(byAnalyst.statusCode).toBe(403);
    expect((await app.inject({ method: 'POST', url: '/api/v1/authorize', payload: { account: 'tcx01-u1001', callee: '112' } })).statusCode).toBe(401);
  });
});
