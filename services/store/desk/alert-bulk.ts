/**
 * Many alerts worked at once (the desk's selection): acknowledged, resolved or attached to a case with
 * one comment, in one transaction, each alert audited as if moved alone.
 *
 * Partial, not all-or-nothing: the answer says for each id whether it moved and, if not, why (unknown,
 * already acknowledged by a colleague, of another client…). A selection is a snapshot of a list that
 * colleagues change meanwhile; refusing forty alerts because one was resolved a minute ago would make
 * the analyst redo the selection for nothing, and an id that did not move is named, never silent. The
 * one thing checked before anything moves is the target case of an attach: without it nothing can.
 */
import type { Sql } from '../sql.js';
import { moveAlertIn, type Resolution } from './alert-cases.js';
import { attachIn, caseRow } from './fraud-cases.js';

export const BULK_ACTIONS = ['acknowledge', 'resolve', 'attach'] as const;
export type BulkAction = (typeof BULK_ACTIONS)[number];

export interface BulkOutcome {
  alert_id: string;
  ok: boolean;
  /** The alert's status after (acknowledge, resolve) or the case it is now in (attach). */
  status?: string;
  case_id?: string;
  error?: string;
  message?: string;
}

export type BulkResult = { ok: true; results: BulkOutcome[] } | { ok: false; error: 'case_not_found' | 'case_resolved'; message: string };

export interface BulkRequest {
  ids: readonly string[];
  action: BulkAction;
  caseId?: string;
  resolution?: Resolution;
  comment: string;
  actor: string;
  atMs: number;
}

export async function bulkAlerts(sql: Sql, b: BulkRequest): Promise<BulkResult> {
  const ids = [...new Set(b.ids)];
  return sql.transaction(async (tx): Promise<BulkResult> => {
    if (b.action === 'attach') {
      const target = await caseRow(tx, b.caseId ?? '');
      if (target === undefined) return { ok: false, error: 'case_not_found', message: `no case ${b.caseId ?? '(case_id missing)'}` };
      if (target.state === 'resolved') return { ok: false, error: 'case_resolved', message: `case ${target.case_id} is resolved; reopen it before attaching alerts` };
      const outcomes = await attachIn(tx, target, ids, b.actor, b.comment, b.atMs);
      return {
        ok: true,
        results: outcomes.map((o) => (o.ok ? { alert_id: o.alert_id, ok: true, case_id: target.case_id } : { alert_id: o.alert_id, ok: false, error: o.error, message: o.message })),
      };
    }
    const results: BulkOutcome[] = [];
    for (const id of ids) {
      const r = await moveAlertIn(tx, { alertId: id, action: b.action, actor: b.actor, comment: b.comment, resolution: b.resolution, atMs: b.atMs });
      if (r.ok) results.push({ alert_id: id, ok: true, status: r.alert.status });
      else if (r.reason === 'not_found') results.push({ alert_id: id, ok: false, error: 'not_found', message: `no alert ${id}` });
      else results.push({ alert_id: id, ok: false, error: 'conflict', message: `alert is ${r.status}; ${b.action} applies to an alert that is ${r.allowedFrom.join(' or ')}` });
    }
    return { ok: true, results };
  });
}
