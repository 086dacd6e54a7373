/**
 * Each alert is reacted to once (its rule's policy: a lock, a notice, or nothing): the reaction is
 * claimed in the transaction that acts, so two servers, or one restarted, never act twice.
 */
import type { Sql } from '../sql.js';
import { isoOf, timeParam } from '../row-values.js';

export interface NewAlert {
  alert_id: string;
  rule: string;
  severity: 'info' | 'warning' | 'critical';
  client_id: string;
  site_id: string;
  user_id: string;
  message: string;
  first_seen: string;
  last_seen: string;
  value: string;
  threshold: string;
}

/** Alerts created since `sinceMs` that nothing reacted to yet, oldest first. */
export async function alertsWithoutReaction(sql: Sql, sinceMs: number, limit: number): Promise<NewAlert[]> {
  const rows = await sql.query<Record<string, unknown>>(
    `SELECT a.alert_id, a.rule, a.severity, a.client_id, a.site_id, a.user_id, a.message, a.first_seen, a.last_seen, a.value, a.threshold
       FROM alert a
      WHERE a.created_at >= $1 AND NOT EXISTS (SELECT 1 FROM alert_reaction r WHERE r.alert_id = a.alert_id)
      ORDER BY a.created_at, a.alert_id LIMIT $2`,
    [timeParam(sinceMs), limit],
  );
  return rows.map((r) => ({
    alert_id: String(r.alert_id), rule: String(r.rule), severity: r.severity as NewAlert['severity'], client_id: String(r.client_id),
    site_id: String(r.site_id), user_id: String(r.user_id), message: String(r.message), first_seen: isoOf(r.first_seen) ?? '',
    last_seen: isoOf(r.last_seen) ?? '', value: String(r.value), threshold: String(r.threshold),
  }));
}

/** Claims the alert's reaction inside `tx`; false when another process (or an earlier run) has it. */
export async function claimReaction(tx: Sql, alertId: string, outcome: string, atMs: number): Promise<boolean> {
  const rows = await tx.query('INSERT INTO alert_reaction (alert_id, reacted_at, outcome) VALUES ($1, $2, $3) ON CONFLICT (alert_id) DO NOTHING RETURNING alert_id', [alertId, timeParam(atMs), outcome]);
  return rows.length === 1;
}
