/**
 * Alerts as the fraud desk works them: listed with filters, opened with their evidence, and moved
 * through open → acknowledged → resolved (and back by reopening), each move audited in the same
 * transaction. The detectors own the rest of an alert; the desk owns its status and resolution.
 */
import type { Sql } from '../sql.js';
import { decimalTextOf, intOf, isoOf, msOf, timeParam } from '../row-values.js';
import { appendAudit } from './audit-log.js';

export const ALERT_STATUSES = ['open', 'acknowledged', 'resolved'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];
export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export const RESOLUTIONS = ['fraud_confirmed', 'false_positive', 'customer_contacted', 'expected_usage', 'duplicate'] as const;
export type Resolution = (typeof RESOLUTIONS)[number];
export const ALERT_SORTS = ['severity', 'newest', 'oldest'] as const;
export type AlertSort = (typeof ALERT_SORTS)[number];

export interface AlertView {
  alert_id: string;
  rule: string;
  severity: string;
  client_id: string;
  site_id: string;
  user_id: string;
  first_seen: string;
  last_seen: string;
  created_at: string | null;
  updated_at: string | null;
  value: string;
  threshold: string;
  message: string;
  status: AlertStatus;
  resolution: string;
  cdr_ids: string[];
}

export interface AlertFilter {
  rule?: string;
  severity?: string;
  status?: AlertStatus;
  client?: string;
  site?: string;
  user?: string;
  /** Alerts whose window overlaps [fromMs, toMs). */
  fromMs?: number;
  toMs?: number;
  /** Alerts changed after this instant (the page polls with it). */
  updatedAfterMs?: number;
  sort: AlertSort;
  limit: number;
  offset: number;
}

const SEVERITY_RANK = `CASE severity WHEN 'critical' THEN 3 WHEN 'warning' THEN 2 ELSE 1 END`;
const ORDER: Record<AlertSort, string> = {
  severity: `${SEVERITY_RANK} DESC, last_seen DESC, alert_id`,
  newest: 'last_seen DESC, alert_id',
  oldest: 'first_seen, alert_id',
};

export async function listAlerts(sql: Sql, f: AlertFilter): Promise<{ total: number; alerts: AlertView[] }> {
  const where: string[] = [];
  const params: unknown[] = [];
  const eq = (column: string, v: string | undefined) => {
    if (v !== undefined) where.push(`${column} = $${params.push(v)}`);
  };
  eq('rule', f.rule);
  eq('severity', f.severity);
  eq('status', f.status);
  eq('client_id', f.client);
  eq('site_id', f.site);
  eq('user_id', f.user);
  if (f.fromMs !== undefined) where.push(`last_seen >= $${params.push(timeParam(f.fromMs))}`);
  if (f.toMs !== undefined) where.push(`first_seen < $${params.push(timeParam(f.toMs))}`);
  if (f.updatedAfterMs !== undefined) where.push(`updated_at > $${params.push(timeParam(f.updatedAfterMs))}`);
  const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  const [count] = await sql.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM alert ${clause}`, params);
  const rows = await sql.query<Record<string, unknown>>(
    `SELECT * FROM alert ${clause} ORDER BY ${ORDER[f.sort]} LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
    [...params, f.limit, f.offset],
  );
  return { total: intOf(count?.n), alerts: rows.map(alertOfRow) };
}

export async function getAlert(sql: Sql, alertId: string): Promise<AlertView | undefined> {
  const [row] = await sql.query<Record<string, unknown>>('SELECT * FROM alert WHERE alert_id = $1', [alertId]);
  return row === undefined ? undefined : alertOfRow(row);
}

export type CaseAction = 'acknowledge' | 'resolve' | 'reopen';

/** Where each action may start from, and where it leads. */
const MOVES: Record<CaseAction, { from: readonly AlertStatus[]; to: AlertStatus }> = {
  acknowledge: { from: ['open'], to: 'acknowledged' },
  resolve: { from: ['open', 'acknowledged'], to: 'resolved' },
  reopen: { from: ['acknowledged', 'resolved'], to: 'open' },
};

export type MoveResult =
  | { ok: true; alert: AlertView }
  | { ok: false; reason: 'not_found' }
  | { ok: false; reason: 'conflict'; status: AlertStatus; allowedFrom: readonly AlertStatus[] };

export interface CaseMove {
  alertId: string;
  action: CaseAction;
  actor: string;
  comment: string;
  resolution?: Resolution;
  atMs: number;
}

/** Moves an alert and records it; a move from the wrong status changes nothing and says why. */
export async function moveAlert(sql: Sql, m: CaseMove): Promise<MoveResult> {
  return sql.transaction((tx) => moveAlertIn(tx, m));
}

/** moveAlert inside the caller's transaction (a bulk action, a case resolved with its alerts). */
export async function moveAlertIn(tx: Sql, m: CaseMove): Promise<MoveResult> {
  const move = MOVES[m.action];
  const [row] = await tx.query<{ status: AlertStatus }>('SELECT status FROM alert WHERE alert_id = $1', [m.alertId]);
  if (row === undefined) return { ok: false, reason: 'not_found' };
  if (!move.from.includes(row.status)) return { ok: false, reason: 'conflict', status: row.status, allowedFrom: move.from };
  const resolution = m.action === 'resolve' ? (m.resolution ?? '') : '';
  // The status in the WHERE makes two desks moving the same alert at once end with one move, not two.
  const updated = await tx.query<{ alert_id: string }>(
    'UPDATE alert SET status = $1, resolution = $2, updated_at = $3 WHERE alert_id = $4 AND status = $5 RETURNING alert_id',
    [move.to, resolution, timeParam(m.atMs), m.alertId, row.status],
  );
  if (updated.length === 0) return { ok: false, reason: 'conflict', status: row.status, allowedFrom: move.from };
  await appendAudit(tx, {
    actor: m.actor, subjectType: 'alert', subjectId: m.alertId, action: m.action,
    from: row.status, to: move.to, detail: resolution, comment: m.comment, atMs: m.atMs,
  });
  const alert = await getAlert(tx, m.alertId);
  return { ok: true, alert: alert! };
}

/** Alerts by rule and status, for /metrics. */
export async function alertCounts(sql: Sql): Promise<{ rule: string; status: string; n: number }[]> {
  const rows = await sql.query<{ rule: string; status: string; n: unknown }>('SELECT rule, status, COUNT(*) AS n FROM alert GROUP BY rule, status');
  return rows.map((r) => ({ rule: r.rule, status: r.status, n: intOf(r.n) }));
}

/** The days (first_seen) and rules of alerts since `sinceMs`, for the page's chart. */
export async function alertTimes(sql: Sql, sinceMs: number, untilMs: number, cap: number): Promise<{ rule: string; firstSeenMs: number }[]> {
  const rows = await sql.query<{ rule: string; first_seen: unknown }>(
    'SELECT rule, first_seen FROM alert WHERE first_seen >= $1 AND first_seen < $2 ORDER BY first_seen LIMIT $3',
    [timeParam(sinceMs), timeParam(untilMs), cap],
  );
  return rows.map((r) => ({ rule: r.rule, firstSeenMs: msOf(r.first_seen)! }));
}

/** The newest instant the store knows of (an alert's last_seen), so the chart shows the data's last 30 days. */
export async function latestAlertMs(sql: Sql): Promise<number | null> {
  const [row] = await sql.query<{ last_seen: unknown }>('SELECT last_seen FROM alert ORDER BY last_seen DESC LIMIT 1');
  return row === undefined ? null : msOf(row.last_seen);
}

function alertOfRow(r: Record<string, unknown>): AlertView {
  const ids = typeof r.cdr_ids === 'string' ? (JSON.parse(r.cdr_ids) as unknown) : r.cdr_ids;
  return {
    alert_id: String(r.alert_id),
    rule: String(r.rule),
    severity: String(r.severity),
    client_id: String(r.client_id),
    site_id: String(r.site_id),
    user_id: String(r.user_id),
    first_seen: isoOf(r.first_seen) ?? '',
    last_seen: isoOf(r.last_seen) ?? '',
    created_at: isoOf(r.created_at),
    updated_at: isoOf(r.updated_at),
    value: decimalTextOf(r.value),
    threshold: decimalTextOf(r.threshold),
    message: String(r.message),
    status: r.status as AlertStatus,
    resolution: String(r.resolution ?? ''),
    cdr_ids: Array.isArray(ids) ? ids.map(String) : [],
  };
}
