/**
 * Cases: the alerts of one incident, worked as one. A case belongs to one client; its site and user are
 * those its alerts share ('' when they differ). It moves new → investigating → resolved (with a
 * resolution, the alerts' vocabulary), and back to investigating by reopening; it has an owner (the name
 * of an analyst's token) and comments. Every change is appended to the audit trail (subject_type 'case')
 * in the transaction that makes it, like an alert's.
 *
 * An alert is in one case at most (case_alert's primary key). Attaching answers per alert, so that a
 * selection made a minute ago, part of which a colleague has since attached elsewhere, still attaches
 * the rest and says which were not.
 */
import { randomBytes } from 'node:crypto';
import type { Sql } from '../sql.js';
import { IN_CHUNK, isoOf, msOf, placeholders, timeParam } from '../row-values.js';
import { appendAudit } from './audit-log.js';
import { RESOLUTIONS, moveAlertIn, type Resolution } from './alert-cases.js';

export const CASE_STATES = ['new', 'investigating', 'resolved'] as const;
export type CaseState = (typeof CASE_STATES)[number];
/** A case closes with the same words as an alert: resolving a case resolves its alerts with it. */
export const CASE_RESOLUTIONS = RESOLUTIONS;
export type CaseResolution = Resolution;
export type CaseMoveAction = 'investigate' | 'resolve' | 'reopen';

const MOVES: Record<CaseMoveAction, { from: readonly CaseState[]; to: CaseState }> = {
  investigate: { from: ['new'], to: 'investigating' },
  // A plain false positive need not be "investigated" first, as with alerts.
  resolve: { from: ['new', 'investigating'], to: 'resolved' },
  reopen: { from: ['resolved'], to: 'investigating' },
};

export interface CaseView {
  case_id: string;
  client_id: string;
  site_id: string;
  user_id: string;
  title: string;
  state: CaseState;
  resolution: string;
  owner: string;
  created_by: string;
  created_at: string;
  updated_at: string;
  alert_ids: string[];
  /** The most severe of its alerts (critical > warning > info); '' for a case left without alerts. */
  severity: string;
  /** [earliest first_seen, latest last_seen] of its alerts: the incident's window. */
  window_start: string | null;
  window_end: string | null;
}

export type AttachOutcome =
  | { alert_id: string; ok: true }
  | { alert_id: string; ok: false; error: 'not_found' | 'other_client' | 'in_other_case' | 'already_in_case'; message: string };

const SEVERITY_ORDER = ['info', 'warning', 'critical'];

export function newCaseId(): string {
  return `case-${randomBytes(6).toString('hex')}`;
}

export async function getCase(sql: Sql, caseId: string): Promise<CaseView | undefined> {
  const [row] = await sql.query<Record<string, unknown>>('SELECT * FROM fraud_case WHERE case_id = $1', [caseId]);
  if (row === undefined) return undefined;
  return (await withAlerts(sql, [row]))[0];
}

export interface CaseFilter {
  state?: CaseState;
  client?: string;
  owner?: string;
  limit: number;
  offset: number;
}

/** Newest change first. */
export async function listCases(sql: Sql, f: CaseFilter): Promise<{ total: number; cases: CaseView[] }> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (f.state !== undefined) where.push(`state = $${params.push(f.state)}`);
  if (f.client !== undefined) where.push(`client_id = $${params.push(f.client)}`);
  if (f.owner !== undefined) where.push(`owner = $${params.push(f.owner)}`);
  const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  const [count] = await sql.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM fraud_case ${clause}`, params);
  const rows = await sql.query<Record<string, unknown>>(
    `SELECT * FROM fraud_case ${clause} ORDER BY updated_at DESC, case_id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
    [...params, f.limit, f.offset],
  );
  return { total: Number(count?.n ?? 0), cases: await withAlerts(sql, rows) };
}

/** The cases of these rows with their alerts' ids, severity and window, read in one query per 500 cases. */
async function withAlerts(sql: Sql, rows: Record<string, unknown>[]): Promise<CaseView[]> {
  const byCase = new Map<string, { ids: string[]; severity: number; first: number; last: number }>();
  const ids = rows.map((r) => String(r.case_id));
  for (let i = 0; i < ids.length; i += IN_CHUNK) {
    const chunk = ids.slice(i, i + IN_CHUNK);
    const alerts = await sql.query<{ case_id: string; alert_id: string; severity: string; first_seen: unknown; last_seen: unknown }>(
      `SELECT ca.case_id, a.alert_id, a.severity, a.first_seen, a.last_seen FROM case_alert ca JOIN alert a ON a.alert_id = ca.alert_id
        WHERE ca.case_id IN (${placeholders(chunk.length)}) ORDER BY a.first_seen, a.alert_id`,
      chunk,
    );
    for (const a of alerts) {
      const agg = byCase.get(a.case_id) ?? { ids: [], severity: -1, first: Infinity, last: -Infinity };
      agg.ids.push(a.alert_id);
      agg.severity = Math.max(agg.severity, SEVERITY_ORDER.indexOf(a.severity));
      agg.first = Math.min(agg.first, msOf(a.first_seen)!);
      agg.last = Math.max(agg.last, msOf(a.last_seen)!);
      byCase.set(a.case_id, agg);
    }
  }
  return rows.map((r) => {
    const agg = byCase.get(String(r.case_id));
    return {
      case_id: String(r.case_id),
      client_id: String(r.client_id),
      site_id: String(r.site_id),
      user_id: String(r.user_id),
      title: String(r.title),
      state: r.state as CaseState,
      resolution: String(r.resolution ?? ''),
      owner: String(r.owner ?? ''),
      created_by: String(r.created_by),
      created_at: isoOf(r.created_at) ?? '',
      updated_at: isoOf(r.updated_at) ?? '',
      alert_ids: agg?.ids ?? [],
      severity: agg === undefined || agg.severity < 0 ? '' : SEVERITY_ORDER[agg.severity]!,
      window_start: agg === undefined ? null : new Date(agg.first).toISOString(),
      window_end: agg === undefined ? null : new Date(agg.last).toISOString(),
    };
  });
}

type AlertScope = {
  alert_id: string;
  rule: string;
  status: string;
  client_id: string;
  site_id: string;
  user_id: string;
  case_id: string | null;
};

async function alertScopes(tx: Sql, alertIds: readonly string[]): Promise<Map<string, AlertScope>> {
  const out = new Map<string, AlertScope>();
  for (let i = 0; i < alertIds.length; i += IN_CHUNK) {
    const chunk = alertIds.slice(i, i + IN_CHUNK);
    const rows = await tx.query<AlertScope>(
      `SELECT a.alert_id, a.rule, a.status, a.client_id, a.site_id, a.user_id, ca.case_id FROM alert a LEFT JOIN case_alert ca ON ca.alert_id = a.alert_id
        WHERE a.alert_id IN (${placeholders(chunk.length)})`,
      [...chunk],
    );
    for (const r of rows) out.set(r.alert_id, { ...r, case_id: r.case_id ?? null });
  }
  return out;
}

/**
 * Each alert's own trail says which case it joined or left (action attach / detach, detail the case id,
 * its status unchanged), so the alert's page tells it; the case's trail has one event for them all.
 */
async function auditAlerts(tx: Sql, alerts: readonly AlertScope[], action: 'attach' | 'detach', caseId: string, actor: string, comment: string, atMs: number): Promise<void> {
  for (const a of alerts) {
    await appendAudit(tx, { actor, subjectType: 'alert', subjectId: a.alert_id, action, from: a.status, to: a.status, detail: caseId, comment, atMs });
  }
}

/** The value every alert shares, else '' (the case spans several). */
function shared(values: readonly string[]): string {
  return values.every((v) => v === values[0]) ? (values[0] ?? '') : '';
}

export type CreateResult =
  | { ok: true; case: CaseView }
  | { ok: false; error: 'not_found' | 'in_case' | 'several_clients'; message: string };

export interface NewCase {
  alertIds: readonly string[];
  title?: string;
  actor: string;
  comment: string;
  atMs: number;
  /** 'create' by hand, 'group' by the automatic grouping. */
  action: 'create' | 'group';
}

/** A case of these alerts, in the caller's transaction; all of them or none (a case is made on purpose). */
export async function createCaseIn(tx: Sql, c: NewCase): Promise<CreateResult> {
  const ids = [...new Set(c.alertIds)];
  const scopes = await alertScopes(tx, ids);
  const missing = ids.filter((id) => !scopes.has(id));
  if (missing.length > 0) return { ok: false, error: 'not_found', message: `no alert ${missing.join(', ')}` };
  const alerts = ids.map((id) => scopes.get(id)!);
  const taken = alerts.filter((a) => a.case_id !== null);
  if (taken.length > 0) return { ok: false, error: 'in_case', message: taken.map((a) => `alert ${a.alert_id} is in ${a.case_id}`).join('; ') };
  const clients = [...new Set(alerts.map((a) => a.client_id))];
  if (clients.length > 1) return { ok: false, error: 'several_clients', message: `a case is one client's; these alerts are of ${clients.join(', ')}` };
  const caseId = newCaseId();
  const site = shared(alerts.map((a) => a.site_id));
  const user = shared(alerts.map((a) => a.user_id));
  const rules = [...new Set(alerts.map((a) => a.rule))];
  const title = c.title ?? `${rules.join(', ')}: ${alerts.length} alert${alerts.length > 1 ? 's' : ''} of ${[clients[0], site, user].filter((s) => s !== '').join('/')}`;
  await tx.query(
    `INSERT INTO fraud_case (case_id, client_id, site_id, user_id, title, state, resolution, owner, created_by, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, 'new', '', '', $6, $7, $7)`,
    [caseId, clients[0], site, user, title, c.actor, timeParam(c.atMs)],
  );
  for (const a of alerts) await tx.query('INSERT INTO case_alert (alert_id, case_id, attached_at) VALUES ($1, $2, $3)', [a.alert_id, caseId, timeParam(c.atMs)]);
  await appendAudit(tx, { actor: c.actor, subjectType: 'case', subjectId: caseId, action: c.action, from: '', to: 'new', detail: ids.join(','), comment: c.comment, atMs: c.atMs });
  await auditAlerts(tx, alerts, 'attach', caseId, c.actor, c.comment, c.atMs);
  return { ok: true, case: (await getCase(tx, caseId))! };
}

export type CaseRow = {
  case_id: string;
  client_id: string;
  site_id: string;
  user_id: string;
  state: CaseState;
  owner: string;
};

export async function caseRow(tx: Sql, caseId: string): Promise<CaseRow | undefined> {
  const [row] = await tx.query<CaseRow>('SELECT case_id, client_id, site_id, user_id, state, owner FROM fraud_case WHERE case_id = $1', [caseId]);
  return row;
}

/**
 * Attaches each alert that can be, in the caller's transaction, and says for each why not otherwise;
 * the attached ones are one audit event of the case (detail: their ids). A resolved case takes no
 * alert (the caller checks: reopen it first).
 */
export async function attachIn(tx: Sql, target: CaseRow, alertIds: readonly string[], actor: string, comment: string, atMs: number): Promise<AttachOutcome[]> {
  const ids = [...new Set(alertIds)];
  const scopes = await alertScopes(tx, ids);
  const outcomes: AttachOutcome[] = ids.map((id) => {
    const a = scopes.get(id);
    if (a === undefined) return { alert_id: id, ok: false, error: 'not_found', message: `no alert ${id}` };
    if (a.case_id === target.case_id) return { alert_id: id, ok: false, error: 'already_in_case', message: `alert ${id} is already in ${target.case_id}` };
    if (a.case_id !== null) return { alert_id: id, ok: false, error: 'in_other_case', message: `alert ${id} is in ${a.case_id}; detach it there first` };
    if (a.client_id !== target.client_id) return { alert_id: id, ok: false, error: 'other_client', message: `alert ${id} is of client ${a.client_id}, the case of ${target.client_id}` };
    return { alert_id: id, ok: true };
  });
  const attached = outcomes.filter((o) => o.ok).map((o) => scopes.get(o.alert_id)!);
  if (attached.length === 0) return outcomes;
  for (const a of attached) await tx.query('INSERT INTO case_alert (alert_id, case_id, attached_at) VALUES ($1, $2, $3)', [a.alert_id, target.case_id, timeParam(atMs)]);
  // The case's scope narrows to what all its alerts share.
  const site = shared([target.site_id, ...attached.map((a) => a.site_id)]);
  const user = shared([target.user_id, ...attached.map((a) => a.user_id)]);
  await tx.query('UPDATE fraud_case SET site_id = $1, user_id = $2, updated_at = $3 WHERE case_id = $4', [site, user, timeParam(atMs), target.case_id]);
  await appendAudit(tx, { actor, subjectType: 'case', subjectId: target.case_id, action: 'attach', from: target.state, to: target.state, detail: attached.map((a) => a.alert_id).join(','), comment, atMs });
  await auditAlerts(tx, attached, 'attach', target.case_id, actor, comment, atMs);
  return outcomes;
}

export type DetachOutcome = { alert_id: string; ok: true } | { alert_id: string; ok: false; error: 'not_in_case'; message: string };

/** Takes alerts out of a case (they become loose alerts again); the scope is left as it was. */
export async function detachIn(tx: Sql, target: CaseRow, alertIds: readonly string[], actor: string, comment: string, atMs: number): Promise<DetachOutcome[]> {
  const ids = [...new Set(alertIds)];
  const scopes = await alertScopes(tx, ids);
  const outcomes: DetachOutcome[] = ids.map((id) =>
    scopes.get(id)?.case_id === target.case_id ? { alert_id: id, ok: true } : { alert_id: id, ok: false, error: 'not_in_case', message: `alert ${id} is not in ${target.case_id}` },
  );
  const detached = outcomes.filter((o) => o.ok).map((o) => o.alert_id);
  if (detached.length === 0) return outcomes;
  for (const id of detached) await tx.query('DELETE FROM case_alert WHERE alert_id = $1 AND case_id = $2', [id, target.case_id]);
  await tx.query('UPDATE fraud_case SET updated_at = $1 WHERE case_id = $2', [timeParam(atMs), target.case_id]);
  await appendAudit(tx, { actor, subjectType: 'case', subjectId: target.case_id, action: 'detach', from: target.state, to: target.state, detail: detached.join(','), comment, atMs });
  await auditAlerts(tx, detached.map((id) => scopes.get(id)!), 'detach', target.case_id, actor, comment, atMs);
  return outcomes;
}

export type CaseChange =
  | { ok: true; case: CaseView }
  | { ok: false; reason: 'not_found' }
  | { ok: false; reason: 'conflict'; message: string }
  | { ok: false; reason: 'bad_owner'; message: string };

export interface CaseMove {
  caseId: string;
  action: CaseMoveAction;
  actor: string;
  comment: string;
  resolution?: CaseResolution;
  atMs: number;
}

/**
 * Moves a case and records it. Resolving it resolves its alerts not yet resolved, with the same
 * resolution and comment, each audited as the alert's own move: the incident is closed, not half of it.
 */
export async function moveCase(sql: Sql, m: CaseMove): Promise<CaseChange> {
  const move = MOVES[m.action];
  return sql.transaction(async (tx) => {
    const row = await caseRow(tx, m.caseId);
    if (row === undefined) return { ok: false, reason: 'not_found' };
    if (!move.from.includes(row.state)) {
      return { ok: false, reason: 'conflict', message: `case is ${row.state}; ${m.action} applies to a case that is ${move.from.join(' or ')}` };
    }
    const resolution = m.action === 'resolve' ? (m.resolution ?? '') : '';
    const updated = await tx.query<{ case_id: string }>(
      'UPDATE fraud_case SET state = $1, resolution = $2, updated_at = $3 WHERE case_id = $4 AND state = $5 RETURNING case_id',
      [move.to, resolution, timeParam(m.atMs), m.caseId, row.state],
    );
    if (updated.length === 0) return { ok: false, reason: 'conflict', message: `case ${m.caseId} changed meanwhile; reload it` };
    await appendAudit(tx, { actor: m.actor, subjectType: 'case', subjectId: m.caseId, action: m.action, from: row.state, to: move.to, detail: resolution, comment: m.comment, atMs: m.atMs });
    if (m.action === 'resolve') {
      const open = await tx.query<{ alert_id: string }>(
        "SELECT a.alert_id FROM case_alert ca JOIN alert a ON a.alert_id = ca.alert_id WHERE ca.case_id = $1 AND a.status <> 'resolved' ORDER BY a.alert_id",
        [m.caseId],
      );
      for (const a of open) {
        await moveAlertIn(tx, { alertId: a.alert_id, action: 'resolve', actor: m.actor, comment: `${m.caseId}: ${m.comment}`, resolution: m.resolution, atMs: m.atMs });
      }
    }
    return { ok: true, case: (await getCase(tx, m.caseId))! };
  });
}

/** Gives the case to an analyst (the name of a live analyst or admin token), or to nobody (''). */
export async function assignCase(sql: Sql, c: { caseId: string; owner: string; actor: string; comment: string; atMs: number }): Promise<CaseChange> {
  return sql.transaction(async (tx) => {
    const row = await caseRow(tx, c.caseId);
    if (row === undefined) return { ok: false, reason: 'not_found' };
    if (c.owner !== '') {
      const [holder] = await tx.query<{ name: string }>("SELECT name FROM api_token WHERE name = $1 AND role IN ('analyst', 'admin') AND revoked_at IS NULL", [c.owner]);
      if (holder === undefined) return { ok: false, reason: 'bad_owner', message: `no analyst named ${c.owner} (an owner is the name of an analyst's or admin's token: cdr token list)` };
    }
    await tx.query('UPDATE fraud_case SET owner = $1, updated_at = $2 WHERE case_id = $3', [c.owner, timeParam(c.atMs), c.caseId]);
    await appendAudit(tx, { actor: c.actor, subjectType: 'case', subjectId: c.caseId, action: 'assign', from: row.owner, to: c.owner, comment: c.comment, atMs: c.atMs });
    return { ok: true, case: (await getCase(tx, c.caseId))! };
  });
}

/** A comment on the case: an audit event that changes nothing else (the state stays, from = to). */
export async function commentCase(sql: Sql, c: { caseId: string; actor: string; comment: string; atMs: number }): Promise<CaseChange> {
  return sql.transaction(async (tx) => {
    const row = await caseRow(tx, c.caseId);
    if (row === undefined) return { ok: false, reason: 'not_found' };
    await tx.query('UPDATE fraud_case SET updated_at = $1 WHERE case_id = $2', [timeParam(c.atMs), c.caseId]);
    await appendAudit(tx, { actor: c.actor, subjectType: 'case', subjectId: c.caseId, action: 'comment', from: row.state, to: row.state, comment: c.comment, atMs: c.atMs });
    return { ok: true, case: (await getCase(tx, c.caseId))! };
  });
}
