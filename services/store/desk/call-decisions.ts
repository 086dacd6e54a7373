/**
 * What the switch was told at call setup: refused setups kept as the desk's evidence (a refused call
 * never becomes a CDR), and the calls in progress checkpointed so that a restart still counts them.
 */
import type { Sql } from '../sql.js';
import { isoOf, msOf, placeholders, timeParam } from '../row-values.js';

export interface DecisionRow {
  atMs: number;
  account: string;
  clientId: string;
  caller: string;
  callee: string;
  callId: string;
  decision: 'allow' | 'deny';
  reason: string;
  detail: string;
}

export interface DecisionView {
  at: string;
  account: string;
  client_id: string;
  caller: string;
  callee: string;
  call_id: string;
  decision: 'allow' | 'deny';
  reason: string;
  detail: string;
}

export interface CallInProgress {
  callId: string;
  account: string;
  startedMs: number;
}

/** Rows at most per INSERT: well under both stores' limits on parameters (9 each). */
const ROWS_PER_INSERT = 100;

export async function appendDecisions(sql: Sql, rows: readonly DecisionRow[]): Promise<void> {
  if (rows.length === 0) return;
  await sql.transaction(async (tx) => {
    for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
      const part = rows.slice(i, i + ROWS_PER_INSERT);
      const values = part.map((_, j) => `(${placeholders(9, j * 9 + 1)})`).join(', ');
      await tx.query(
        `INSERT INTO call_decision (at, account, client_id, caller, callee, call_id, decision, reason, detail) VALUES ${values}`,
        part.flatMap((r) => [timeParam(r.atMs), r.account, r.clientId, r.caller, r.callee, r.callId, r.decision, r.reason, r.detail]),
      );
    }
  });
}

/** The latest decisions kept, newest first, of an account or a client (or all). */
export async function listDecisions(sql: Sql, f: { account?: string; clientId?: string; limit: number }): Promise<DecisionView[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (f.account !== undefined) where.push(`account = $${params.push(f.account)}`);
  if (f.clientId !== undefined) where.push(`client_id = $${params.push(f.clientId)}`);
  const rows = await sql.query<Record<string, unknown>>(
    `SELECT * FROM call_decision ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, decision_id DESC LIMIT $${params.push(f.limit)}`,
    params,
  );
  return rows.map((r) => ({
    at: isoOf(r.at) ?? '', account: String(r.account), client_id: String(r.client_id), caller: String(r.caller), callee: String(r.callee),
    call_id: String(r.call_id), decision: r.decision as 'allow' | 'deny', reason: String(r.reason), detail: String(r.detail),
  }));
}

export async function loadCallsInProgress(sql: Sql): Promise<CallInProgress[]> {
  const rows = await sql.query<Record<string, unknown>>('SELECT call_id, account, started_at FROM call_in_progress');
  return rows.map((r) => ({ callId: String(r.call_id), account: String(r.account), startedMs: msOf(r.started_at) ?? 0 }));
}

/** Writes the calls that started and removes those that ended since the last checkpoint, in one transaction. */
export async function checkpointCallsInProgress(sql: Sql, started: readonly CallInProgress[], ended: readonly string[]): Promise<void> {
  if (started.length === 0 && ended.length === 0) return;
  await sql.transaction(async (tx) => {
    for (let i = 0; i < started.length; i += ROWS_PER_INSERT) {
      const part = started.slice(i, i + ROWS_PER_INSERT);
      await tx.query(
        `INSERT INTO call_in_progress (call_id, account, started_at) VALUES ${part.map((_, j) => `(${placeholders(3, j * 3 + 1)})`).join(', ')} ON CONFLICT (call_id) DO NOTHING`,
        part.flatMap((c) => [c.callId, c.account, timeParam(c.startedMs)]),
      );
    }
    for (let i = 0; i < ended.length; i += ROWS_PER_INSERT) {
      const part = ended.slice(i, i + ROWS_PER_INSERT);
      await tx.query(`DELETE FROM call_in_progress WHERE call_id IN (${placeholders(part.length)})`, part);
    }
  });
}

export interface CrossedCounter {
  clientId: string;
  siteId: string;
  userId: string;
  rule: string;
}

/** The fair-use counters of these months whose threshold is crossed: their scopes are metered beyond it. */
export async function crossedCounters(sql: Sql, periods: readonly string[]): Promise<CrossedCounter[]> {
  if (periods.length === 0) return [];
  const rows = await sql.query<{ client_id: string; site_id: string; user_id: string; rule: string }>(
    `SELECT DISTINCT client_id, site_id, user_id, rule FROM counter_state
      WHERE period IN (${placeholders(periods.length)}) AND (crossed_at IS NOT NULL OR value > threshold)`,
    [...periods],
  );
  return rows.map((r) => ({ clientId: r.client_id, siteId: r.site_id, userId: r.user_id, rule: r.rule }));
}
