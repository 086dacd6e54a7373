/**
 * What a detailed statement reads besides the billed rows: the month's fair-use counters with their key
 * (which names the plan clause they count for), and the time and callee of the calls adjustments correct.
 */
import type { CounterRow, AdjustedCall } from '../../core/invoice/statement.js';
import type { Sql } from '../sql.js';
import { isoOf } from '../row-values.js';
import { callsByIds } from './subscriber-usage.js';

export async function monthCounters(sql: Sql, clientId: string, period: string): Promise<CounterRow[]> {
  const rows = await sql.query<Record<string, unknown>>(
    `SELECT key, site_id, user_id, scope, rule, value, threshold, crossed_at
       FROM counter_state WHERE client_id = $1 AND period = $2 ORDER BY site_id, user_id, rule, scope, key`,
    [clientId, period],
  );
  return rows.map((r) => ({
    key: String(r.key), rule: String(r.rule), scope: String(r.scope), siteId: String(r.site_id), userId: String(r.user_id),
    value: Number(r.value), threshold: Number(r.threshold), crossedAt: isoOf(r.crossed_at),
  }));
}

export async function adjustedCalls(sql: Sql, cdrIds: readonly string[]): Promise<Map<string, AdjustedCall>> {
  const calls = await callsByIds(sql, [...new Set(cdrIds)]);
  return new Map(calls.map((c) => [c.cdr_id, { startTime: c.start_time, callee: c.callee }]));
}
