/**
 * A small known world for the desk tests: one client month of four calls, one adjustment, two
 * counters and three alerts, over a store; a server on it; and a token per role.
 */
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../../services/config/load-config.js';
import { buildServer } from '../../../services/api/server.js';
import { deskLogger } from '../../../services/api/log-masking.js';
import { createToken, type Role } from '../../../services/store/desk/api-tokens.js';
import type { Sql } from '../../../services/store/sql.js';
import type { StoreFlags } from '../../../services/api/open-store.js';
import { insertAdjustment, insertAlert, insertCounter, insertRated } from './desk-rows.js';
import type { TestStore } from './stores.js';

export const CLIENT = 'C-TCX-01';
export const PERIOD = '2026-03';
export const ACCOUNT = 'tcx01-u1001';
export const NOW = Date.parse('2026-03-20T10:00:00Z');

export async function seedWorld(store: Pick<TestStore, 'kind' | 'sql'>): Promise<void> {
  const base = { account: ACCOUNT, clientId: CLIENT, siteId: 'S-TOURS', userId: 'U1001', period: PERIOD };
  await insertRated(store, { ...base, cdrId: 'r1', start: '2026-03-10T08:00:00Z', callee: '+33145000001', destinationClass: 'fr_fixed', country: 'FR', seconds: 120, inBundle: true, amount: '0.0000', reason: 'bundle' });
  await insertRated(store, { ...base, cdrId: 'r2', start: '2026-03-10T09:00:00Z', callee: '+33145000002', destinationClass: 'fr_fixed', country: 'FR', seconds: 60, inBundle: false, amount: '0.1200', firstAmount: '0.0000', reason: 'fair_use.duration' });
  await insertRated(store, { ...base, cdrId: 'r3', start: '2026-03-10T10:00:00Z', callee: '+442079460000', destinationClass: 'international', country: 'GB', seconds: 300, inBundle: false, amount: '0.7500', reason: 'out_of_plan_destination' });
  await insertRated(store, { ...base, cdrId: 'r4', start: '2026-03-11T10:00:00Z', callee: '+33612345678', destinationClass: 'fr_mobile', country: 'FR', seconds: 600, inBundle: false, amount: '0.5000', reason: 'fair_use.duration' });
  await insertAdjustment(store, { cdrId: 'r2', clientId: CLIENT, period: PERIOD, previous: '0.0000', next: '0.1200', delta: '0.1200', reason: 'fair_use.duration' });
  const user = { clientId: CLIENT, siteId: 'S-TOURS', userId: 'U1001', scope: 'user', scopeKey: `${CLIENT}/S-TOURS/U1001`, period: PERIOD };
  await insertCounter(store, { ...user, rule: 'fair_use.distinct_numbers', value: 151, threshold: 150, crossedAt: '2026-03-11T10:00:00Z' });
  await insertCounter(store, { ...user, rule: 'fair_use.duration', value: 1080, threshold: 144000 });
  // The site's pool binds the user too; another user's counter does not.
  await insertCounter(store, { clientId: CLIENT, siteId: 'S-TOURS', userId: '', scope: 'site', scopeKey: `${CLIENT}/site/S-TOURS`, period: PERIOD, rule: 'pool_exhausted', value: 420000, threshold: 600000 });
  await insertCounter(store, { ...user, userId: 'U1002', scopeKey: `${CLIENT}/S-TOURS/U1002`, rule: 'fair_use.duration', value: 99, threshold: 144000 });
  await insertAlert(store, { alertId: 'al-crit', rule: 'fraud.call_setup_rate', severity: 'critical', clientId: CLIENT, siteId: 'S-TOURS', userId: 'U1001', firstSeen: '2026-03-10T10:00:00Z', lastSeen: '2026-03-11T10:00:00Z', value: '12', threshold: '5', cdrIds: ['r3', 'r4'] });
  await insertAlert(store, { alertId: 'al-warn', rule: 'fair_use.distinct_numbers', severity: 'warning', clientId: CLIENT, siteId: 'S-TOURS', userId: 'U1001', firstSeen: '2026-03-12T08:00:00Z', lastSeen: '2026-03-12T09:00:00Z', value: '151', threshold: '150', cdrIds: ['r1'] });
  await insertAlert(store, { alertId: 'al-info', rule: 'pool_exhausted', severity: 'info', clientId: 'C-TCX-02', siteId: 'S-PARIS', userId: 'U2001', firstSeen: '2026-03-05T08:00:00Z', lastSeen: '2026-03-15T09:00:00Z', value: '30000', threshold: '30000', cdrIds: [] });
}

export interface World {
  app: FastifyInstance;
  tokens: Record<Role, string>;
  logs: string[];
  auth(role: Role): { authorization: string };
}

export async function startWorld(sql: Sql, origin: StoreFlags): Promise<World> {
  const logs: string[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { logs.push(chunk.toString()); done(); } });
  const config = loadConfig('config');
  const app = await buildServer({ sql, store: origin, directory: config.directory, plans: config.plans, logger: deskLogger('info', sink), now: () => NOW, numbering: config.numbering, fraud: config.fraud });
  const tokens = {
    analyst: await createToken(sql, 'ana', 'analyst', 'test', NOW),
    invoicing: await createToken(sql, 'ines', 'invoicing', 'test', NOW),
    admin: await createToken(sql, 'root', 'admin', 'test', NOW),
    switch: await createToken(sql, 'sbc', 'switch', 'test', NOW),
  };
  return { app, tokens, logs, auth: (role) => ({ authorization: `Bearer ${tokens[role]}` }) };
}
