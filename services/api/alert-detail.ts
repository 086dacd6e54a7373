/**
 * The pieces of an alert as the desk shows them: its figures in their unit, its evidence calls with the
 * caller ID the switch presented, and one audit trail for the alert and its account's lock.
 */
import type { AlertView } from '../store/desk/alert-cases.js';
import { listAudit, type AuditEvent } from '../store/desk/audit-log.js';
import type { CallView, CounterView } from '../store/desk/subscriber-usage.js';
import type { Sql } from '../store/sql.js';
import { withDisplayAmounts } from './display-amounts.js';
import { displayMetric, metricUnit, type MetricUnit } from './metric-display.js';

export type AlertDisplay = AlertView & { unit: MetricUnit; value_display: string; threshold_display: string };

export function alertDisplay(a: AlertView): AlertDisplay {
  return { ...a, unit: metricUnit(a.rule), value_display: displayMetric(a.rule, a.value), threshold_display: displayMetric(a.rule, a.threshold) };
}

/** A fair-use counter with its value, threshold and what is left in the unit a person reads (h:mm, numbers, calls). */
export function counterDisplay(c: CounterView) {
  return { ...c, unit: metricUnit(c.rule), value_display: displayMetric(c.rule, c.value), threshold_display: displayMetric(c.rule, c.threshold), left_display: displayMetric(c.rule, c.left) };
}

/**
 * An evidence call. `caller` is the number billed (rated.csv's): for a 089B caller ID the rater put the
 * installation number there. A fraud analyst needs what the switch presented, the number that raised
 * fraud.premium_cli, so `presented_caller` is the original when a rewrite applied.
 */
export function evidenceRow(c: CallView) {
  return { ...withDisplayAmounts(c, ['amount', 'first_amount']), presented_caller: c.caller_original !== '' ? c.caller_original : c.caller };
}

const TRAIL_LIMIT = 500;

/**
 * The alert's own events and the lock changes of its account, oldest first: locking the account is
 * part of working the alert, and an analyst reading the trail must see it beside the status moves.
 */
export async function alertTrail(sql: Sql, alertId: string, account: string | undefined): Promise<AuditEvent[]> {
  const [own, locks] = await Promise.all([
    listAudit(sql, { subjectType: 'alert', subjectId: alertId, limit: TRAIL_LIMIT, offset: 0 }),
    account === undefined ? [] : listAudit(sql, { subjectType: 'lock', subjectId: account, limit: TRAIL_LIMIT, offset: 0 }),
  ]);
  return [...own, ...locks].sort((a, b) => a.event_id - b.event_id).slice(-TRAIL_LIMIT);
}
