/**
 * A case's story in time order: its alerts (at their first_seen), the calls of its scope in its window
 * (the first `callLimit`, with the count of all), and what people did, read from the audit trail: the
 * case's events and its alerts' (acknowledged, resolved…). Comments are audit events with action
 * 'comment'; they are entries of their own kind so the page can show them as such.
 */
import type { Sql } from '../sql.js';
import { intOf } from '../row-values.js';
import { getAlert, type AlertView } from './alert-cases.js';
import { listAudit, type AuditEvent } from './audit-log.js';
import { callOfRow, type CallView } from './subscriber-usage.js';
import { windowClause } from './case-exposure.js';
import type { CaseView } from './fraud-cases.js';

export type TimelineEntry =
  | { at: string; kind: 'alert'; alert: AlertView }
  | { at: string; kind: 'call'; call: CallView }
  | { at: string; kind: 'comment' | 'action'; event: AuditEvent };

/** Within one instant: what happened (alert, call) before what people did about it. */
const KIND_ORDER: Record<TimelineEntry['kind'], number> = { alert: 0, call: 1, action: 2, comment: 3 };
const AUDIT_PAGE = 500;

export async function caseTimeline(sql: Sql, c: CaseView, callLimit: number): Promise<{ entries: TimelineEntry[]; calls_total: number; calls_shown: number }> {
  const alerts = (await Promise.all(c.alert_ids.map((id) => getAlert(sql, id)))).filter((a): a is AlertView => a !== undefined);
  const events: AuditEvent[] = [];
  for (const subject of [{ type: 'case' as const, id: c.case_id }, ...alerts.map((a) => ({ type: 'alert' as const, id: a.alert_id }))]) {
    const trail = await listAudit(sql, { subjectType: subject.type, subjectId: subject.id, limit: AUDIT_PAGE, offset: 0 });
    // An alert's attach / detach repeats the case's own event: the case's says it once for all of them.
    events.push(...trail.filter((e) => e.subject_type === 'case' || (e.action !== 'attach' && e.action !== 'detach')));
  }
  let calls: CallView[] = [];
  let total = 0;
  if (c.window_start !== null && c.window_end !== null) {
    const { where, params } = windowClause({ client: c.client_id, site: c.site_id, user: c.user_id }, Date.parse(c.window_start), Date.parse(c.window_end));
    const [count] = await sql.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM rated_cdr WHERE ${where}`, params);
    total = intOf(count?.n);
    const rows = await sql.query<Record<string, unknown>>(`SELECT * FROM rated_cdr WHERE ${where} ORDER BY start_time, cdr_id LIMIT $${params.length + 1}`, [...params, callLimit]);
    calls = rows.map(callOfRow);
  }
  const entries: TimelineEntry[] = [
    ...alerts.map((alert) => ({ at: alert.first_seen, kind: 'alert' as const, alert })),
    ...calls.map((call) => ({ at: call.start_time, kind: 'call' as const, call })),
    ...events.map((event) => ({ at: event.at, kind: event.action === 'comment' ? ('comment' as const) : ('action' as const), event })),
  ];
  entries.sort((a, b) => a.at.localeCompare(b.at) || KIND_ORDER[a.kind] - KIND_ORDER[b.kind]);
  return { entries, calls_total: total, calls_shown: calls.length };
}
