/**
 * The API as a contract: the OpenAPI document (/api/openapi.json) describes, for every route, the body
 * of its success and of each error it can answer (the one error shape), JSON or not (CSV, HTML, plain
 * text, an event stream); and every route is called here over both stores, on the seeded desk world,
 * each real answer (status, media type and body) validated against the document. Every operation of the
 * document must have been answered at least once with a success and once with an error. The validator
 * (support/openapi-contract.ts) does refuse a body that breaks the document ("refuses, with the validator…").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { STORE_KINDS, openTestStore, type TestStore } from './support/stores.js';
import { ACCOUNT, CLIENT, PERIOD, seedWorld, startWorld, type World } from './support/desk-world.js';
import { contractOf, type Contract } from './support/openapi-contract.js';
import { request } from 'node:http';
import type { Role } from '../../services/store/desk/api-tokens.js';

/** The head of an event stream and its text up to its first event; then the connection is destroyed. */
function firstEventOf(url: string, token: string): Promise<{ status: number; contentType: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        if (/^event: /m.test(text) && text.endsWith('\n\n')) {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text });
        }
      });
    });
    req.on('error', (e) => { if (!req.destroyed) reject(e); });
    req.setTimeout(5_000, () => { req.destroy(); reject(new Error('no event within 5 s')); });
    req.end();
  });
}

type Responses = Record<string, { content?: Record<string, { schema?: { type?: string; required?: string[] } }> }>;
const METHODS = ['get', 'post', 'put', 'delete'];

function operationsOf(contract: Contract): { id: string; method: string; path: string; responses: Responses }[] {
  return Object.entries(contract.doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).filter(([m]) => METHODS.includes(m)).map(([m, op]) => ({ id: `${m.toUpperCase()} ${path}`, method: m.toUpperCase(), path, responses: (op.responses ?? {}) as Responses })));
}

describe('the OpenAPI document', () => {
  let store: TestStore;
  let w: World;
  let contract: Contract;
  beforeAll(async () => {
    store = await openTestStore('embedded');
    w = await startWorld(store.sql, store.origin);
    contract = await contractOf(w.app, w.auth('analyst'));
  }, 60_000);
  afterAll(async () => {
    await w?.app.close();
    await store?.close();
  });

  it('describes, for every operation, a success and its errors (401, 429, 503, 403 unless any role may call it), each error in the one error shape', () => {
    const operations = operationsOf(contract);
    expect(operations.length).toBe(44);
    for (const { id, responses } of operations) {
      const statuses = Object.keys(responses);
      expect(statuses.filter((s) => s.startsWith('2')), id).toHaveLength(1);
      expect(statuses, id).toEqual(expect.arrayContaining(id === 'GET /api/v1/me' ? ['401', '429', '503'] : ['401', '403', '429', '503']));
      if (/\{[a-z]+\}/.test(id)) expect(statuses, id).toContain('404');
      if (/\/(investigate|resolve|reopen|attach|detach)$/.test(id) || ['POST /api/v1/alerts/bulk', 'POST /api/v1/tokens', 'POST /api/v1/months/{client}/{period}/close'].includes(id)) expect(statuses, id).toContain('409');
      for (const s of statuses) {
        const content = responses[s]!.content ?? {};
        expect(Object.keys(content).length, `${id} ${s}`).toBeGreaterThan(0);
        for (const [mediaType, { schema }] of Object.entries(content)) {
          expect(schema?.type, `${id} ${s} ${mediaType}`).toBe(mediaType === 'application/json' ? 'object' : 'string');
          // One documented exception: a dial plan reads the refusal of a call as a 403 and one plain line.
          if (!s.startsWith('2') && !(id === 'GET /api/v1/authorize' && s === '403' && mediaType === 'text/plain')) {
            expect([mediaType, schema?.required], `${id} ${s}`).toEqual(['application/json', ['error', 'message']]);
          }
        }
      }
    }
  });

  it("refuses, with the validator the tests use, a case body that breaks the document", () => {
    const schema = contract.doc.paths['/api/v1/cases/{id}']!.get!.responses!['200']!.content!['application/json']!.schema!;
    const ajv = new Ajv({ strict: false, allErrors: true });
    (addFormats as unknown as (a: Ajv) => void)(ajv);
    const validate = ajv.compile(schema);
    const good = {
      case: {
        case_id: 'case-0123456789ab', client_id: 'C', site_id: '', user_id: '', title: 't', state: 'new', resolution: '', owner: '', created_by: 'ana',
        created_at: '2026-03-20T10:00:00.000Z', updated_at: '2026-03-20T10:00:00.000Z', alert_ids: [], severity: '', window_start: null, window_end: null,
      },
      alerts: [], money_at_risk: null, audit: [],
    };
    expect(validate(good), ajv.errorsText(validate.errors)).toBe(true);
    expect(validate({ ...good, case: { ...good.case, state: 'closed' } })).toBe(false);
    expect(validate({ ...good, case: { ...good.case, window_start: 'yesterday' } })).toBe(false);
    const { owner: _owner, ...withoutOwner } = good.case;
    expect(validate({ ...good, case: withoutOwner })).toBe(false);
  });
});

describe.each(STORE_KINDS)('every operation of the OpenAPI document, called over %s, answers as the document says', (kind) => {
  let store: TestStore;
  let w: World;
  let api: Contract;
  let base: string;
  let handed: unknown;
  beforeAll(async () => {
    store = await openTestStore(kind);
    await seedWorld(store);
    w = await startWorld(store.sql, store.origin);
    // What each route hands to the serialiser, to compare with what is sent: a property the response
    // schema lacks would be silently dropped by fast-json-stringify.
    w.app.addHook('preSerialization', async (_req, _reply, payload) => {
      handed = payload;
      return payload;
    });
    api = await contractOf(w.app, w.auth('analyst'));
    base = await w.app.listen({ port: 0, host: '127.0.0.1' });
  }, 60_000);
  afterAll(async () => {
    const closing = w?.app.close();
    w?.app.server.closeAllConnections();
    await closing;
    await store?.close();
  });

  const as = (role: Role) => w.auth(role);
  const get = (url: string, role: Role = 'analyst') => api.call('GET', url, as(role));
  const post = (url: string, body: unknown, role: Role = 'analyst') => api.call('POST', url, as(role), body);
  const put = (url: string, body: unknown, role: Role = 'analyst') => api.call('PUT', url, as(role), body);
  /** The answer has the status, and (JSON) every property the route handed to the serialiser: none lost. */
  const expectStatus = async <R extends { statusCode: number; body: string; headers: Record<string, unknown> }>(answer: Promise<R>, status: number): Promise<R> => {
    handed = undefined;
    const r = await answer;
    expect(r.statusCode, r.body.slice(0, 300)).toBe(status);
    if (String(r.headers['content-type'] ?? '').startsWith('application/json') && handed !== undefined) {
      expect(JSON.parse(r.body), `${status} ${r.body.slice(0, 200)}`).toEqual(JSON.parse(JSON.stringify(handed)));
    }
    return r;
  };
  const v1 = '/api/v1';
  const c = 'for the contract test';

  it('alerts, audit, subscribers, locks and the barring feed (analyst)', async () => {
    const list = await expectStatus(get(`${v1}/alerts?sort=newest&period=${PERIOD}`), 200);
    expect(list.json().alerts.map((a: { alert_id: string }) => a.alert_id)).toContain('al-crit');
    await expectStatus(get(`${v1}/alerts?status=closed`), 400);
    await expectStatus(get(`${v1}/alerts`, 'invoicing'), 403);
    await expectStatus(get(`${v1}/alerts/al-crit`), 200);
    await expectStatus(get(`${v1}/alerts/no-such-alert`), 404);
    await expectStatus(post(`${v1}/alerts/al-warn/acknowledge`, { comment: c }), 200);
    await expectStatus(post(`${v1}/alerts/al-warn/acknowledge`, { comment: c }), 409);
    await expectStatus(post(`${v1}/alerts/al-warn/resolve`, { comment: c, resolution: 'false_positive' }), 200);
    await expectStatus(post(`${v1}/alerts/al-warn/resolve`, { comment: c }), 400);
    await expectStatus(post(`${v1}/alerts/al-warn/reopen`, { comment: c }), 200);
    await expectStatus(post(`${v1}/alerts/al-warn/reopen`, { comment: c }), 409);
    await expectStatus(get(`${v1}/audit?subject_type=alert&subject_id=al-warn`, 'invoicing'), 200);
    await expectStatus(get(`${v1}/audit?subject_type=invoice`), 400);

    const sub = await expectStatus(get(`${v1}/subscribers/${CLIENT}?period=${PERIOD}&site=S-TOURS&user=U1001`), 200);
    expect(sub.json().recent_calls.length).toBeGreaterThan(0);
    await expectStatus(get(`${v1}/subscribers/${CLIENT}`), 400);
    await expectStatus(get(`${v1}/subscribers/C-NOBODY?period=${PERIOD}`), 404);

    await expectStatus(put(`${v1}/locks/${ACCOUNT}`, { level: 'outgoing', reason: c }), 200);
    await expectStatus(put(`${v1}/locks/${ACCOUNT}`, { level: 'some', reason: c }), 400);
    await expectStatus(put(`${v1}/locks/no-such-account`, { level: 'all', reason: c }), 404);
    const lock = await expectStatus(get(`${v1}/locks/${ACCOUNT}`), 200);
    expect(lock.json().lock.level).toBe('outgoing');
    await expectStatus(get(`${v1}/locks/no-such-account`), 404);
    const locks = await expectStatus(get(`${v1}/locks`), 200);
    expect(locks.json().locks).toHaveLength(1);
    await expectStatus(get(`${v1}/locks`, 'invoicing'), 403);
    await expectStatus(get(`${v1}/barring`), 200);
    await expectStatus(get(`${v1}/barring`, 'invoicing'), 403);
    const txt = await expectStatus(get(`${v1}/barring.txt`), 200);
    expect(txt.body).toContain(`${ACCOUNT}\toutgoing`);
    await expectStatus(get(`${v1}/barring.txt`, 'invoicing'), 403);
    // The alert shows its account's lock, now that there is one.
    expect((await expectStatus(get(`${v1}/alerts/al-crit`), 200)).json().lock.level).toBe('outgoing');
    await expectStatus(get(`${v1}/charts/daily?days=7`), 200);
    await expectStatus(get(`${v1}/charts/daily?days=0`), 400);
  });

  it('cases, search and bulk (analyst)', async () => {
    const made = await expectStatus(post(`${v1}/cases`, { alert_ids: ['al-crit'], comment: c }), 201);
    const id = made.json().case_id as string;
    await expectStatus(post(`${v1}/cases`, { alert_ids: ['al-crit'], comment: c }), 409);
    await expectStatus(get(`${v1}/cases`), 200);
    await expectStatus(get(`${v1}/cases?state=closed`), 400);
    await expectStatus(get(`${v1}/cases/${id}`), 200);
    await expectStatus(get(`${v1}/cases/case-000000000000`), 404);
    await expectStatus(get(`${v1}/cases/${id}/timeline`), 200);
    await expectStatus(get(`${v1}/cases/case-000000000000/timeline`), 404);
    await expectStatus(post(`${v1}/cases/${id}/attach`, { alert_ids: ['al-warn'], comment: c }), 200);
    await expectStatus(post(`${v1}/cases/case-000000000000/attach`, { alert_ids: ['al-warn'], comment: c }), 404);
    await expectStatus(post(`${v1}/cases/${id}/detach`, { alert_ids: ['al-warn'], comment: c }), 200);
    await expectStatus(post(`${v1}/cases/${id}/detach`, { alert_ids: [], comment: c }), 400);
    await expectStatus(post(`${v1}/cases/${id}/investigate`, { comment: c }), 200);
    await expectStatus(post(`${v1}/cases/${id}/investigate`, { comment: c }), 409);
    await expectStatus(put(`${v1}/cases/${id}/owner`, { owner: 'ana', comment: c }), 200);
    await expectStatus(put(`${v1}/cases/${id}/owner`, { owner: 'nobody-of-that-name', comment: c }), 400);
    await expectStatus(post(`${v1}/cases/${id}/comments`, { comment: c }), 200);
    await expectStatus(post(`${v1}/cases/${id}/comments`, {}), 400);
    await expectStatus(post(`${v1}/cases/${id}/resolve`, { comment: c, resolution: 'fraud_confirmed' }), 200);
    await expectStatus(post(`${v1}/cases/${id}/resolve`, { comment: c, resolution: 'fraud_confirmed' }), 409);
    await expectStatus(post(`${v1}/cases/${id}/reopen`, { comment: c }), 200);
    await expectStatus(post(`${v1}/cases/${id}/reopen`, { comment: c }), 409);
    await expectStatus(post(`${v1}/cases/group`, {}), 200);
    await expectStatus(post(`${v1}/cases/group`, { colour: 'red' }), 400);
    await expectStatus(get(`${v1}/search?q=${encodeURIComponent('+33612345678')}`), 200);
    await expectStatus(get(`${v1}/search`), 400);
    await expectStatus(post(`${v1}/alerts/bulk`, { ids: ['al-info'], action: 'acknowledge', comment: c }), 200);
    await expectStatus(post(`${v1}/alerts/bulk`, { ids: ['al-info'], action: 'burn', comment: c }), 400);
  });

  it('invoices, usage, months and statements (invoicing)', async () => {
    const inv = await expectStatus(get(`${v1}/invoices/${CLIENT}/${PERIOD}`, 'invoicing'), 200);
    expect(inv.json().lines.length).toBeGreaterThan(0);
    const csv = await expectStatus(get(`${v1}/invoices/${CLIENT}/${PERIOD}?format=csv`, 'invoicing'), 200);
    expect(csv.headers['content-type']).toContain('text/csv');
    await expectStatus(get(`${v1}/invoices/${CLIENT}/${PERIOD}?format=pdf`, 'invoicing'), 400);
    await expectStatus(get(`${v1}/invoices/C-NOBODY/${PERIOD}`, 'invoicing'), 404);
    await expectStatus(get(`${v1}/usage/${CLIENT}/${PERIOD}`, 'invoicing'), 200);
    await expectStatus(get(`${v1}/usage/${CLIENT}/2026-13`, 'invoicing'), 400);
    await expectStatus(get(`${v1}/statements/${CLIENT}/${PERIOD}`, 'invoicing'), 200);
    await expectStatus(get(`${v1}/statements/C-NOBODY/${PERIOD}`, 'invoicing'), 404);
    await expectStatus(post(`${v1}/months/${CLIENT}/${PERIOD}/close`, {}, 'invoicing'), 201);
    await expectStatus(post(`${v1}/months/${CLIENT}/${PERIOD}/close`, {}, 'invoicing'), 409);
    await expectStatus(post(`${v1}/months/${CLIENT}/${PERIOD}/close`, {}, 'analyst'), 403);
    const months = await expectStatus(get(`${v1}/months/${CLIENT}`, 'invoicing'), 200);
    expect(months.json().closed.map((m: { period: string }) => m.period)).toEqual([PERIOD]);
    await expectStatus(get(`${v1}/months/C-NOBODY`, 'invoicing'), 404);
    // A closed month: the issued invoice and its statement.
    expect((await expectStatus(get(`${v1}/invoices/${CLIENT}/${PERIOD}`, 'invoicing'), 200)).json().status).toBe('closed');
    await expectStatus(get(`${v1}/statements/${CLIENT}/${PERIOD}`, 'invoicing'), 200);
  });

  it('call authorization (switch) and the refused setups (analyst)', async () => {
    // tcx01-u1002: the first test locked ACCOUNT.
    expect((await expectStatus(post(`${v1}/authorize`, { account: 'tcx01-u1002', caller: '+33247501002', callee: '0145000001', call_id: 'k1' }, 'switch'), 200)).json()).toMatchObject({ decision: 'allow' });
    await expectStatus(post(`${v1}/authorize`, { account: 'tcx01-u1002' }, 'switch'), 400);
    await expectStatus(post(`${v1}/authorize`, { account: 'tcx01-u1002', callee: '112' }, 'analyst'), 403);
    expect((await expectStatus(get(`${v1}/authorize?account=nobody&callee=0145000001`, 'switch'), 403)).body).toBe('deny unknown_account\n');
    await expectStatus(get(`${v1}/authorize?account=tcx01-u1002&callee=0145000001`, 'analyst'), 403);
    await expectStatus(get(`${v1}/authorize?callee=0145000001`, 'switch'), 400);
    expect((await expectStatus(post(`${v1}/call-end`, { call_id: 'k1' }, 'switch'), 200)).json()).toEqual({ ended: true });
    await expectStatus(post(`${v1}/call-end`, {}, 'switch'), 400);
    expect((await expectStatus(get(`${v1}/call-end?call_id=k1`, 'switch'), 200)).json()).toEqual({ ended: false });
    // One channel: free again now that k1 has ended.
    expect((await expectStatus(get(`${v1}/authorize?account=tcx01-u1002&callee=0145000001`, 'switch'), 200)).body).toBe('allow ok\n');
    await expectStatus(get(`${v1}/call-end`, 'switch'), 400);
    await expectStatus(get(`${v1}/call-decisions?limit=5`), 200);
    await expectStatus(get(`${v1}/call-decisions?limit=0`), 400);
    await expectStatus(get(`${v1}/notifications?limit=5`), 200);
    await expectStatus(get(`${v1}/notifications?limit=201`), 400);
    await expectStatus(get(`${v1}/rejects?limit=5`), 200);
    await expectStatus(get(`${v1}/rejects?limit=0`), 400);
  });

  it('tokens and who-am-I (admin)', async () => {
    expect((await expectStatus(get(`${v1}/me`, 'invoicing'), 200)).json()).toEqual({ name: 'ines', role: 'invoicing' });
    await expectStatus(get(`${v1}/tokens`, 'admin'), 200);
    await expectStatus(get(`${v1}/tokens`, 'analyst'), 403);
    expect((await expectStatus(post(`${v1}/tokens`, { name: 'eve', role: 'analyst' }, 'admin'), 201)).json().token).toMatch(/\S{20,}/);
    await expectStatus(post(`${v1}/tokens`, { name: 'eve', role: 'analyst' }, 'admin'), 409);
    await expectStatus(post(`${v1}/tokens/eve/revoke`, {}, 'admin'), 200);
    await expectStatus(post(`${v1}/tokens/eve/revoke`, {}, 'admin'), 404);
  });

  it('the live event stream (text/event-stream, read over HTTP until its first event)', async () => {
    const { status, contentType, text } = await firstEventOf(`${base}${v1}/events`, w.tokens.analyst);
    expect(text).toMatch(/^event: hello\n/m);
    api.check('GET', `${v1}/events`, status, contentType, text);
    await expectStatus(get(`${v1}/events`, 'invoicing'), 403);
  });

  it('refuses every operation without a token (401, the one error shape)', async () => {
    for (const { method, path } of operationsOf(api)) {
      const url = path.replace(/\{[^}]+\}/g, (p) => (p === '{period}' ? PERIOD : p === '{id}' ? 'al-crit' : 'x'));
      await expectStatus(api.call(method as 'GET', url, {}, method === 'GET' ? undefined : {}), 401);
    }
  });

  it('has answered every operation of the document with a success and with an error, each as the document says', () => {
    const missing: string[] = [];
    for (const { id } of operationsOf(api)) {
      const answered = [...api.seen].filter((s) => s.startsWith(`${id} `)).map((s) => s.slice(id.length + 1));
      if (!answered.some((s) => s.startsWith('2'))) missing.push(`${id}: no success`);
      if (!answered.some((s) => /^[45]/.test(s))) missing.push(`${id}: no error`);
    }
    expect(missing).toEqual([]);
  });
});
