/**
 * The desk's audit trail: every change of an alert's status, an account's lock level or a month's
 * state is appended here in the transaction that makes it. Nothing updates, deletes, replaces or
 * truncates a row (the store refuses it with triggers, migrations 010 and 015), the API has no route
 * that could, and each event is chained to the one before it (audit-chain.ts), so that an edit made
 * with the triggers dropped is found by `cdr audit verify` (audit-verify.ts).
 */
import type { Sql } from '../sql.js';
import { intOf, isoOf, timeParam } from '../row-values.js';
import { eventHash, microsOfMs, type ChainedContent } from './audit-chain.js';

export const SUBJECT_TYPES = ['alert', 'lock', 'month', 'token', 'case'] as const;
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

/**
 * Appends an event at the end of the hash chain, in the caller's transaction. Claiming the chain's head
 * row first serialises appends: on PostgreSQL the row lock makes a second writer (another request,
 * another process) wait for this transaction and then read the head it left, so the chain never forks;
 * on SQLite the transaction already holds the database's write lock. The claim is a no-op UPDATE rather
 * than SELECT … FOR UPDATE because SQLite has no FOR UPDATE, and one statement serves both stores.
 */
export async function appendAudit(tx: Sql, e: AuditEntry): Promise<void> {
  const [head] = await tx.query<{ seq: unknown; hash: unknown }>('UPDATE audit_chain_head SET seq = seq WHERE id = 1 RETURNING seq, hash');
  if (head === undefined) throw new Error('the audit trail has no chain head (audit_chain_head is empty): run cdr audit verify');
  // The id is chosen here, under the claim, because the hash covers it (the row cannot be updated after).
  // On PostgreSQL from the column's own sequence, which stays in step for anything else that inserts.
  const [next] = await tx.query<{ id: unknown }>(
    tx.dialect === 'postgres' ? "SELECT nextval(pg_get_serial_sequence('audit_event', 'event_id')) AS id" : 'SELECT COALESCE(MAX(event_id), 0) + 1 AS id FROM audit_event',
  );
  const content: ChainedContent = {
    seq: intOf(head.seq) + 1,
    eventId: intOf(next?.id),
    atMicros: microsOfMs(e.atMs),
    actor: e.actor,
    subjectType: e.subjectType,
    subjectId: e.subjectId,
    action: e.action,
    from: e.from,
    to: e.to,
    detail: e.detail ?? '',
    comment: e.comment ?? '',
    prevHash: String(head.hash),
  };
  await tx.query(
    `INSERT INTO audit_event (event_id, seq, at, actor, subject_type, subject_id, action, from_state, to_state, detail, comment, prev_hash, hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
    [
      content.eventId, content.seq, timeParam(e.atMs), content.actor, content.subjectType, content.subjectId, content.action,
      content.from, content.to, content.detail, content.comment, content.prevHash, eventHash(content),
    ],
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
