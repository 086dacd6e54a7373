/**
 * The API as a contract: the OpenAPI document describes, for every route of cases, search and bulk,
 * the body of its success and of each error it can answer (the one error shape), and the validator the
 * desk tests use (support/openapi-contract.ts) does refuse a body that breaks it. The real answers are
 * validated in desk-cases.test.ts, every one of them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { openTestStore, type TestStore } from './support/stores.js';
import { startWorld, type World } from './support/desk-world.js';
import { contractOf, type Contract } from './support/openapi-contract.js';

const OURS = /^\/api\/v1\/(cases|search|alerts\/bulk)/;

describe('the OpenAPI document of cases, search and bulk', () => {
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

  it('describes the success body and every error (400/401/403, and 404/409 where they can happen) of each route', () => {
    const operations = Object.entries(contract.doc.paths).filter(([p]) => OURS.test(p)).flatMap(([p, ops]) => Object.entries(ops).map(([m, op]) => ({ id: `${m.toUpperCase()} ${p}`, op })));
    expect(operations.length).toBe(14);
    for (const { id, op } of operations) {
      const responses = (op as { responses: Record<string, { content?: Record<string, { schema?: { type?: string; required?: string[] } }> }> }).responses;
      const statuses = Object.keys(responses);
      expect(statuses.filter((s) => s.startsWith('2')), id).toHaveLength(1);
      expect(statuses, id).toEqual(expect.arrayContaining(['401', '403']));
      if (id.includes('{id}')) expect(statuses, id).toContain('404');
      if (/\/(investigate|resolve|reopen|attach|detach)$/.test(id) || id === 'POST /api/v1/alerts/bulk') expect(statuses, id).toContain('409');
      for (const s of statuses) {
        const schema = responses[s]!.content?.['application/json']?.schema;
        expect(schema?.type, `${id} ${s}`).toBe('object');
        if (!s.startsWith('2')) expect(schema?.required, `${id} ${s}`).toEqual(['error', 'message']);
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
