/**
 * The desk's audit trail: every change of an alert's status, an account's lock level or a month's
 * state is appended here in the transaction that makes it. Nothing updates or deletes a row (the
 * store refuses it with a trigger), and the API has no route that could.
 */
import type { Sql } from '../sql.js';
import { intOf, isoOf, timeParam } from '../row-values.js';

export const SUBJECT_TYPES = ['alert', 'lock', 'month', 'token'] as const;
export type SubjectType = (typeof SUBJECT_TYPES)[number];

export interface AuditEntry {
  actor: string;
  subjectType: SubjectType;
  subjectId: string;
  action: string;
  from: string;
  to: string;
  /** A short machine-readable addition: the resolution, the lock reason's scope, the close's seq numbers. */
  detail?: string;
  comment?: string;
  atMs: number;
}

export interface AuditEvent {
  event_id: number;
  at: string;
  actor: string;
  subject_type: SubjectType;
  subject_id: string;
  action: string;
  from: string;
  to: string;
  detail: string;
  comment: string;
}

export async function appendAudit(tx: Sql, e: AuditEntry): Promise<void> {
  await tx.query(
    `INSERT INTO audit_event (at, actor, subject_type, subject_id, action, from_state, to_state, detail, comment)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [timeParam(e.atMs), e.actor, e.subjectType, e.subjectId, e.action, e.from, e.to, e.detail ?? '', e.comment ?? ''],
  );
}

export interface AuditFilter {
  subjectType?: SubjectType;
  subjectId?: string;
  limit: number;
  offset: number;
}

/** Oldest first: a trail reads as a story. */
export async function listAudit(sql: Sql, f: AuditFilter): Promise<AuditEvent[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (f.subjectType !== undefined) where.push(`subject_type = $${params.push(f.subjectType)}`);
  if (f.subjectId !== undefined) where.push(`subject_id = $${params.push(f.subjectId)}`);
  const rows = await sql.query<Record<string, unknown>>(
    `SELECT * FROM audit_event ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY event_id LIMIT $${params.push(f.limit)} OFFSET $${params.push(f.offset)}`,
    params,
  );
  return rows.map(auditOfRow);
}

function auditOfRow(r: Record<string, unknown>): AuditEvent {
  return {
    event_id: intOf(r.event_id),
    at: isoOf(r.at) ?? '',
    actor: String(r.actor),
    subject_type: r.subject_type as SubjectType,
    subject_id: String(r.subject_id),
    action: String(r.action),
    from: String(r.from_state),
    to: String(r.to_state),
    detail: String(r.detail ?? ''),
    comment: String(r.comment ?? ''),
  };
}
