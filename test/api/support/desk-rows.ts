/**
 * Rows as the rater leaves them in the store (rated_cdr, adjustment, alert, counter_state), written
 * directly so that a test knows every amount it then checks on the invoice and in the API.
 */
import type { Sql } from '../../../services/store/sql.js';

export interface RatedFixture {
  cdrId: string;
  account: string;
  clientId: string;
  siteId: string;
  userId: string;
  period: string;
  start: string;
  callee: string;
  destinationClass: string;
  country: string;
  seconds: number;
  inBundle: boolean;
  amount: string;
  firstAmount?: string;
  reason: string;
  caller?: string;
}

export async function insertRated(sql: Sql, r: RatedFixture): Promise<void> {
  const start = new Date(r.start);
  const end = new Date(start.getTime() + r.seconds * 1000);
  await sql.query(
    `INSERT INTO rated_cdr (cdr_id, client_id, site_id, user_id, plan_id, account, line_type, channels, automated, period,
       start_time, answer_time, end_time, caller, callee, destination_class, country, billable_seconds, disposition, direction, leg,
       device, in_bundle, priced_seconds, amount, first_amount, currency, reason, source, source_line, explanation)
     VALUES ($1, $2, $3, $4, 'technicophone_centrex', $5, 'centrex_user', 1, FALSE, $6, $7, $7, $8, $9, $10, $11, $12, $13,
       'answered', 'outbound', 'originating', 'dev', ${r.inBundle ? 'TRUE' : 'FALSE'}, $13, $14, $15, 'EUR', $16, 'fixture.csv', 1, 'fixture')`,
    [r.cdrId, r.clientId, r.siteId, r.userId, r.account, r.period, start.toISOString(), end.toISOString(), r.caller ?? '+33247501001', r.callee,
      r.destinationClass, r.country, r.seconds, r.amount, r.firstAmount ?? r.amount, r.reason],
  );
}

export async function insertAdjustment(sql: Sql, a: { cdrId: string; clientId: string; period: string; previous: string; next: string; delta: string; reason: string }): Promise<void> {
  await sql.query(
    `INSERT INTO adjustment (cdr_id, client_id, site_id, user_id, plan_id, period, previous_amount, new_amount, delta, reason, created_at)
     VALUES ($1, $2, 'S', 'U', 'P', $3, $4, $5, $6, $7, $8)`,
    [a.cdrId, a.clientId, a.period, a.previous, a.next, a.delta, a.reason, new Date().toISOString()],
  );
}

export interface AlertFixture {
  alertId: string;
  rule: string;
  severity: 'info' | 'warning' | 'critical';
  clientId: string;
  siteId: string;
  userId: string;
  firstSeen: string;
  lastSeen: string;
  value: string;
  threshold: string;
  cdrIds: string[];
  updatedAt?: string;
}

export async function insertAlert(sql: Sql, a: AlertFixture): Promise<void> {
  const at = a.updatedAt ?? a.lastSeen;
  await sql.query(
    `INSERT INTO alert (alert_id, rule, severity, client_id, site_id, user_id, first_seen, last_seen, value, threshold, cdr_ids, message, updated_at, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)`,
    [a.alertId, a.rule, a.severity, a.clientId, a.siteId, a.userId, a.firstSeen, a.lastSeen, a.value, a.threshold, JSON.stringify(a.cdrIds), `${a.rule} ${a.value} > ${a.threshold}`, at],
  );
}

export async function insertCounter(sql: Sql, c: { clientId: string; siteId: string; userId: string; scope: string; scopeKey: string; period: string; rule: string; value: number; threshold: number; crossedAt?: string }): Promise<void> {
  await sql.query(
    `INSERT INTO counter_state (client_id, site_id, user_id, scope, scope_key, period, rule, value, threshold, crossed_at, state)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, '')`,
    [c.clientId, c.siteId, c.userId, c.scope, c.scopeKey, c.period, c.rule, c.value, c.threshold, c.crossedAt ?? null],
  );
}
