/**
 * `cdr serve` groups alerts into cases by itself: two alerts of one incident written by a run (here,
 * straight into the store) are one case a round later, audited as the automatic grouping's.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORE_KINDS, openTestStore, type TestStore } from './support/stores.js';
import { insertAlert } from './support/desk-rows.js';
import { buildServer } from '../../services/api/server.js';
import { deskLogger } from '../../services/api/log-masking.js';
import { loadConfig } from '../../services/config/load-config.js';
import { listCases } from '../../services/store/desk/fraud-cases.js';
import { listAudit } from '../../services/store/desk/audit-log.js';
import { AUTO_GROUPING_ACTOR } from '../../services/api/case-autogroup.js';
import type { FastifyInstance } from 'fastify';

describe.each(STORE_KINDS)('automatic grouping in cdr serve over %s', (kind) => {
  let store: TestStore;
  let app: FastifyInstance;
  const logs: string[] = [];
  beforeAll(async () => {
    store = await openTestStore(kind);
    const config = loadConfig('config');
    const sink = new Writable({ write(chunk: Buffer, _enc, done) { logs.push(chunk.toString()); done(); } });
    app = await buildServer({ sql: store.sql, store: store.origin, directory: config.directory, logger: deskLogger('info', sink), autoGroupEveryMs: 50 });
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await store?.close();
  });

  it('makes one case of an incident within a round, and says so in the log without any number', async () => {
    const common = { rule: 'fraud.spend_velocity', severity: 'critical' as const, clientId: 'C-AUTO', siteId: 'S1', userId: 'U1', value: '80', threshold: '60', cdrIds: [] };
    await insertAlert(store, { ...common, alertId: 'auto-1', firstSeen: '2026-03-15T10:00:00Z', lastSeen: '2026-03-15T10:30:00Z' });
    await insertAlert(store, { ...common, alertId: 'auto-2', firstSeen: '2026-03-15T10:45:00Z', lastSeen: '2026-03-15T11:00:00Z' });
    let cases = await listCases(store.sql, { limit: 10, offset: 0 });
    for (let i = 0; i < 100 && cases.total === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      cases = await listCases(store.sql, { limit: 10, offset: 0 });
    }
    expect(cases.cases).toEqual([expect.objectContaining({ client_id: 'C-AUTO', alert_ids: ['auto-1', 'auto-2'], created_by: AUTO_GROUPING_ACTOR })]);
    const audit = await listAudit(store.sql, { subjectType: 'case', limit: 10, offset: 0 });
    expect(audit).toEqual([expect.objectContaining({ actor: AUTO_GROUPING_ACTOR, action: 'group', detail: 'auto-1,auto-2' })]);
    expect(logs.join('')).toContain('alerts grouped into cases');
  });
});
