/**
 * Fraud that acts at the switch (issue 21), with a real one: SIPp places calls through Kamailio
 * (config/switch/kamailio-authorize.cfg), which asks `cdr serve`'s /api/v1/authorize before relaying
 * each INVITE to a SIPp answerer and accounts what it relayed with acc; `cdr rate` then bills that
 * accounting. Nothing here is mocked: the API is the real server on a loopback port, over a real store.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Papa from 'papaparse';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../services/api/server.js';
import { loadConfig } from '../../services/config/load-config.js';
import { createToken } from '../../services/store/desk/api-tokens.js';
import { openSqlite, sqliteSql } from '../../services/store/sqlite.js';
import type { Sql } from '../../services/store/sql.js';
import { sipToolsMissing, startSwitch, type CallsResult, type SipSwitch } from '../support/sip-switch.js';

const run = promisify(execFile);
const missing = sipToolsMissing();
const config = loadConfig('config');
// trk02-t1 (client C-TRK-02, 10 channels) and tcx01-u1001 (C-TCX-01, one line), by their numbers: the
// From user Kamailio passes as account and caller.
const TRUNK = '+33238701000';
const LINE = '+33247501001';

describe.skipIf(missing !== undefined)(`a real switch asks before each call (Kamailio + SIPp)${missing ? `: SKIPPED, ${missing}` : ''}`, () => {
  let work: string;
  let sql: Sql;
  let app: FastifyInstance;
  let sw: SipSwitch;
  let analyst: { authorization: string };
  const placed: CallsResult[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'cdr-switch-'));
    sql = sqliteSql(openSqlite(join(work, 'data')));
    app = await buildServer({ sql, store: { data: join(work, 'data') }, directory: config.directory, logger: pino({ level: 'silent' }), numbering: config.numbering, fraud: config.fraud });
    const apiUrl = await app.listen({ port: 0, host: '127.0.0.1' });
    const token = await createToken(sql, 'kamailio', 'switch', 'test', Date.now());
    analyst = { authorization: `Bearer ${await createToken(sql, 'ana', 'analyst', 'test', Date.now())}` };
    sw = await startSwitch({ apiUrl, token });
  }, 60_000);
  afterAll(async () => {
    await sw?.stop();
    await app?.close();
    await sql?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const lock = async (level: string) => {
    const r = await app.inject({ method: 'PUT', url: '/api/v1/locks/tcx01-u1001', headers: analyst, payload: { level, reason: 'switch test' } });
    expect(r.statusCode).toBe(200);
  };
  const outcomes = (r: CallsResult) => r.perCall.map((c) => `${c.callee} ${c.outcome}${c.outcome === 'refused' ? ` ${c.code} ${c.reason}` : ''}`);

  it('relays 10 of a burst of 30 setups in one second from one client and refuses 20 with 403 (« 10 sessions par seconde »)', async () => {
    const burst = Array.from({ length: 30 }, (_, i) => ({ caller: TRUNK, callee: `+3314500${String(i).padStart(4, '0')}` }));
    const r = await sw.placeCalls(burst, { ratePerSecond: 40, holdMs: 100 });
    placed.push(r);
    expect([r.answered, r.refused, r.other]).toEqual([10, 20, 0]);
    expect(r.perCall.slice(0, 10).every((c) => c.outcome === 'answered')).toBe(true);
    expect(new Set(r.perCall.slice(10).map((c) => `${c.code} ${c.reason}`))).toEqual(new Set(['403 deny setup_rate']));
  }, 60_000);

  it('refuses international calls under a foreign lock and relays national ones; relays 112 under every lock', async () => {
    await new Promise((r) => setTimeout(r, 1100)); // the burst's second is over
    await lock('foreign');
    const foreign = await sw.placeCalls([
      { caller: LINE, callee: '+442079460000' },
      { caller: LINE, callee: '+33145000001' },
      { caller: LINE, callee: '112' },
    ], { ratePerSecond: 2, holdMs: 50 });
    placed.push(foreign);
    expect(outcomes(foreign)).toEqual(['+442079460000 refused 403 deny lock_foreign', '+33145000001 answered', '112 answered']);
    await lock('all');
    const all = await sw.placeCalls([{ caller: LINE, callee: '+33145000001' }, { caller: LINE, callee: '112' }, { caller: LINE, callee: '15' }], { ratePerSecond: 2, holdMs: 50 });
    placed.push(all);
    expect(outcomes(all)).toEqual(['+33145000001 refused 403 deny lock_all', '112 answered', '15 answered']);
    // The refused setups are on the desk: the evidence of calls that never happened.
    const kept = await app.inject({ method: 'GET', url: '/api/v1/call-decisions?account=tcx01-u1001', headers: analyst });
    expect(kept.json().decisions.map((d: { callee: string; reason: string }) => `${d.callee} ${d.reason}`).sort()).toEqual(['+33145000001 lock_all', '+442079460000 lock_foreign']);
  }, 60_000);

  it('bills, from Kamailio\'s accounting, exactly the calls it relayed', async () => {
    const acc = join(work, 'acc.log');
    writeFileSync(acc, readFileSync(sw.accLog()));
    const out = join(work, 'out');
    await run('node', ['dist/services/cli/main.js', 'rate', '--data', join(work, 'rated'), '--out', out, '--subscribers', 'config/subscribers.csv', acc]);
    const rated = Papa.parse<Record<string, string>>(readFileSync(join(out, 'run-000001', 'rated.csv'), 'utf8'), { header: true, skipEmptyLines: true }).data;
    const relayed = placed.flatMap((r) => r.perCall).filter((c) => c.outcome === 'answered');
    expect(relayed).toHaveLength(10 + 2 + 2);
    expect(rated.map((row) => row.cdr_id!.split(';')[0]).sort()).toEqual(relayed.map((c) => c.callId).sort());
    expect(rated.map((row) => row.callee).sort()).toEqual(relayed.map((c) => c.callee).sort());
  }, 60_000);

  it('fails closed when the API cannot answer: 503 for an ordinary call, 112 relayed all the same', async () => {
    const down = await startSwitch({ apiUrl: 'http://127.0.0.1:9', token: 'unused', apiTimeoutSeconds: 1 });
    try {
      const r = await down.placeCalls([{ caller: TRUNK, callee: '+33145000001' }, { caller: TRUNK, callee: '112' }], { ratePerSecond: 2, holdMs: 50 });
      expect(r.perCall.map((c) => `${c.callee} ${c.outcome} ${c.code}`)).toEqual(['+33145000001 other 503', '112 answered 200']);
    } finally {
      await down.stop();
    }
  }, 60_000);
});
