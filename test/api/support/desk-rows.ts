/**
 * Rows as the rater leaves them in the store (rated calls, adjustments, alerts, counters), written
 * directly so that a test knows every amount it then checks on the invoice and in the API. PostgreSQL
 * has a rated_cdr table; the embedded store keeps calls in rated_call + party + source_file, and
 * rated_cdr is a view over them.
 */
import type { TestStore } from './stores.js';

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
  /** The caller ID presented before the rater's rewrite (a 089B number); '' when none applied. */
  callerOriginal?: string;
  /** EUR unless said. */
  currency?: string;
}

type Store = Pick<TestStore, 'kind' | 'sql'>;

export async function insertRated(store: Store, r: RatedFixture): Promise<void> {
  const start = new Date(r.start);
  const end = new Date(start.getTime() + r.seconds * 1000);
  const call = [r.period, start, start, end, r.caller ?? '+33247501001', r.callerOriginal ?? '', r.callee, r.destinationClass, r.country, r.seconds, 'answered', 'outbound', 'originating', 'dev', r.inBundle, r.seconds, r.amount, r.firstAmount ?? r.amount, r.currency ?? 'EUR', r.reason, '', 1];
  const callColumns = 'period, start_time, answer_time, end_time, caller, caller_original, callee, destination_class, country, billable_seconds, disposition, direction, leg, device, in_bundle, priced_seconds, amount, first_amount, currency, reason, shares, source_line';
  const values = (from: number) => call.map((_, i) => `$${from + i}`).join(', ');
  if (store.kind === 'postgres') {
    await store.sql.query(
      `INSERT INTO rated_cdr (cdr_id, client_id, site_id, user_id, plan_id, account, line_type, channels, automated, source, ${callColumns})
       VALUES ($1, $2, $3, $4, 'technicophone_centrex', $5, 'centrex_user', 1, FALSE, 'fixture.csv', ${values(6)})`,
      [r.cdrId, r.clientId, r.siteId, r.userId, r.account, ...call],
    );
    return;
  }
  await store.sql.query(
    `INSERT INTO party (account, client_id, site_id, user_id, plan_id, line_type, channels, automated)
     VALUES ($1, $2, $3, $4, 'technicophone_centrex', 'centrex_user', 1, 0) ON CONFLICT DO NOTHING`,
    [r.account, r.clientId, r.siteId, r.userId],
  );
  const [party] = await store.sql.query<{ party_id: number }>('SELECT party_id FROM party WHERE account = $1 AND client_id = $2', [r.account, r.clientId]);
  await store.sql.query("INSERT INTO source_file (path) VALUES ('fixture.csv') ON CONFLICT DO NOTHING");
  const [source] = await store.sql.query<{ source_id: number }>("SELECT source_id FROM source_file WHERE path = 'fixture.csv'");
  await store.sql.query(
    `INSERT INTO rated_call (cdr_id, party_id, source_id, ${callColumns}) VALUES ($1, $2, $3, ${values(4)})`,
    [r.cdrId, party!.party_id, source!.source_id, ...call],
  );
}

export async function insertAdjustment(store: Store, a: { cdrId: string; clientId: string; period: string; previous: string; next: string; delta: string; reason: string }): Promise<void> {
  await store.sql.query(
    `INSERT INTO adjustment (cdr_id, client_id, site_id, user_id, plan_id, period, previous_amount, new_amount, delta, reason, created_at)
     VALUES ($1, $2, 'S', 'U', 'P', $3, $4, $5, $6, $7, $8)`,
    [a.cdrId, a.clientId, a.period, a.previous, a.next, a.delta, a.reason, new Date()],
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

export async function insertAlert(store: Store, a: AlertFixture): Promise<void> {
  const at = new Date(a.updatedAt ?? a.lastSeen);
  await store.sql.query(
    `INSERT INTO alert (alert_id, rule, severity, client_id, site_id, user_id, first_seen, last_seen, value, threshold, cdr_ids, message, updated_at, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)`,
    [a.alertId, a.rule, a.severity, a.clientId, a.siteId, a.userId, new Date(a.firstSeen), new Date(a.lastSeen), a.value, a.threshold, JSON.stringify(a.cdrIds), `${a.rule} ${a.value} > ${a.threshold}`, at],
  );
}

export async function insertCounter(store: Store, c: { clientId: string; siteId: string; userId: string; scope: string; scopeKey: string; period: string; rule: string; value: number; threshold: number; crossedAt?: string }): Promise<void> {
  await store.sql.query(
    `INSERT INTO counter_state (key, client_id, site_id, user_id, scope, scope_key, period, rule, value, threshold, crossed_at, state)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, '')`,
    [`${c.rule}|${c.scope}|${c.scopeKey}|${c.period}`, c.clientId, c.siteId, c.userId, c.scope, c.scopeKey, c.period, c.rule, c.value, c.threshold, c.crossedAt === undefined ? null : new Date(c.crossedAt)],
  );
}
