/**
 * Locks of accounts in the store (levels: core/fraud/lock-levels.ts): the switch asks /api/v1/authorize
 * before each call, or polls /api/v1/barring and bars the calls itself. Every change is audited.
 */
import type { Sql } from '../sql.js';
import { isoOf, timeParam } from '../row-values.js';
import { appendAudit } from './audit-log.js';

export { LOCK_LEVELS, LOCK_LEVEL_MEANING, type LockLevel } from '../../core/fraud/lock-levels.js';
import type { LockLevel } from '../../core/fraud/lock-levels.js';

export interface LockView {
  account: string;
  client_id: string;
  site_id: string;
  user_id: string;
  level: LockLevel;
  reason: string;
  set_at: string;
  set_by: string;
  /** The alert rule whose policy set it, and that alert; '' when a person did. */
  rule: string;
  alert_id: string;
  /** When it lifts by itself; null: when a person lifts it. */
  expires_at: string | null;
}

export interface LockChange {
  account: string;
  clientId: string;
  siteId: string;
  userId: string;
  level: LockLevel;
  reason: string;
  actor: string;
  atMs: number;
  /** Set by a policy: its rule and alert, and when the lock lifts by itself (none: when a person lifts it). */
  policy?: { rule: string; alertId: string; expiresAtMs: number | null };
}

/** Locks in force at `nowMs` (level other than none, not expired), by account. */
export async function locksInForce(sql: Sql, nowMs: number): Promise<LockView[]> {
  const rows = await sql.query<Record<string, unknown>>(
    "SELECT * FROM account_lock WHERE level <> 'none' AND (expires_at IS NULL OR expires_at > $1) ORDER BY account",
    [timeParam(nowMs)],
  );
  return rows.map(lockOfRow);
}

/** Locks whose time ran out at `nowMs` and that are still recorded as in force: to be lifted (and audited). */
export async function expiredLocks(sql: Sql, nowMs: number): Promise<LockView[]> {
  const rows = await sql.query<Record<string, unknown>>(
    "SELECT * FROM account_lock WHERE level <> 'none' AND expires_at IS NOT NULL AND expires_at <= $1 ORDER BY account",
    [timeParam(nowMs)],
  );
  return rows.map(lockOfRow);
}

export async function lockOf(sql: Sql, account: string): Promise<LockView | undefined> {
  const [row] = await sql.query<Record<string, unknown>>('SELECT * FROM account_lock WHERE account = $1', [account]);
  return row === undefined ? undefined : lockOfRow(row);
}

/** Sets an account's level (none lifts the lock) and records the change from → to. */
export async function setLock(sql: Sql, c: LockChange): Promise<LockView> {
  return sql.transaction(async (tx) => setLockIn(tx, c));
}

/** setLock inside the caller's transaction (a policy's locks commit with the alert's reaction). */
export async function setLockIn(tx: Sql, c: LockChange): Promise<LockView> {
  const previous = await lockOf(tx, c.account);
  await tx.query(
    `INSERT INTO account_lock (account, client_id, site_id, user_id, level, reason, set_at, set_by, rule, alert_id, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (account) DO UPDATE SET level = excluded.level, reason = excluded.reason, set_at = excluded.set_at, set_by = excluded.set_by,
       rule = excluded.rule, alert_id = excluded.alert_id, expires_at = excluded.expires_at`,
    [c.account, c.clientId, c.siteId, c.userId, c.level, c.reason, timeParam(c.atMs), c.actor,
      c.policy?.rule ?? '', c.policy?.alertId ?? '', c.policy?.expiresAtMs == null ? null : timeParam(c.policy.expiresAtMs)],
  );
  const expiry = c.policy?.expiresAtMs == null ? '' : `; lifts itself at ${new Date(c.policy.expiresAtMs).toISOString()}`;
  await appendAudit(tx, {
    actor: c.actor, subjectType: 'lock', subjectId: c.account, action: 'set_lock',
    from: previous?.level ?? 'none', to: c.level, comment: c.reason, atMs: c.atMs,
    detail: c.policy === undefined ? '' : `policy of ${c.policy.rule}, alert ${c.policy.alertId}${expiry}`,
  });
  return (await lockOf(tx, c.account))!;
}

function lockOfRow(r: Record<string, unknown>): LockView {
  return {
    account: String(r.account),
    client_id: String(r.client_id),
    site_id: String(r.site_id),
    user_id: String(r.user_id),
    level: r.level as LockLevel,
    reason: String(r.reason),
    set_at: isoOf(r.set_at) ?? '',
    set_by: String(r.set_by),
    rule: String(r.rule ?? ''),
    alert_id: String(r.alert_id ?? ''),
    expires_at: isoOf(r.expires_at),
  };
}
