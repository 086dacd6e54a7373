/**
 * A subscriber as the desk sees it: its rated calls (an alert's evidence, the recent calls) and its
 * month's fair-use counters against the thresholds of its plan, as the rater left them in counter_state.
 */
import type { Sql } from '../sql.js';
import { boolOf, decimalTextOf, IN_CHUNK, intOf, isoOf, placeholders } from '../row-values.js';
import { HOUR_MS, sumText } from './daily-figures.js';

export interface CallView {
  cdr_id: string;
  seq: number;
  client_id: string;
  site_id: string;
  user_id: string;
  account: string;
  period: string;
  start_time: string;
  caller: string;
  /** The caller ID the switch presented when the rater rewrote it (a 089B number → the installation number); '' otherwise. */
  caller_original: string;
  callee: string;
  destination_class: string;
  country: string;
  billable_seconds: number;
  disposition: string;
  direction: string;
  leg: string;
  in_bundle: boolean;
  priced_seconds: number;
  amount: string;
  first_amount: string;
  currency: string;
  reason: string;
  explanation: string;
}

export interface CounterView {
  rule: string;
  scope: string;
  scope_key: string;
  site_id: string;
  user_id: string;
  period: string;
  value: number;
  threshold: number;
  /** threshold − value, never below 0: the pool or allowance left. */
  left: number;
  crossed: boolean;
  crossed_at: string | null;
}

export interface Scope {
  client: string;
  site?: string | undefined;
  user?: string | undefined;
}

/** The rated rows behind an alert, in call order; ids the store does not have are simply absent. */
export async function callsByIds(sql: Sql, ids: readonly string[]): Promise<CallView[]> {
  const out: CallView[] = [];
  for (let i = 0; i < ids.length; i += IN_CHUNK) {
    const chunk = ids.slice(i, i + IN_CHUNK);
    const rows = await sql.query<Record<string, unknown>>(`SELECT * FROM rated_cdr WHERE cdr_id IN (${placeholders(chunk.length)})`, [...chunk]);
    out.push(...rows.map(callOfRow));
  }
  return out.sort((a, b) => a.start_time.localeCompare(b.start_time) || a.cdr_id.localeCompare(b.cdr_id));
}

/** The latest calls of a scope (latest written first). */
export async function recentCalls(sql: Sql, scope: Scope, period: string | undefined, limit: number): Promise<CallView[]> {
  const { clause, params } = scopeClause(scope);
  if (period !== undefined) clause.push(`period = $${params.push(period)}`);
  const rows = await sql.query<Record<string, unknown>>(
    `SELECT * FROM rated_cdr WHERE ${clause.join(' AND ')} ORDER BY seq DESC LIMIT $${params.push(limit)}`,
    params,
  );
  return rows.map(callOfRow);
}

/**
 * The counters that bind this scope in a month: a user's (and its lines'), its site's pool, the
 * client's; for a site, the site's and its users'; for a client, all of the client's.
 */
export async function countersOf(sql: Sql, scope: Scope, period: string): Promise<CounterView[]> {
  const params: unknown[] = [scope.client, period];
  const clause = ['client_id = $1', 'period = $2'];
  if (scope.user !== undefined) clause.push(`(user_id = $${params.push(scope.user)} OR user_id = '')`);
  if (scope.site !== undefined) clause.push(`(site_id = $${params.push(scope.site)} OR site_id = '')`);
  const rows = await sql.query<Record<string, unknown>>(
    `SELECT client_id, site_id, user_id, scope, scope_key, period, rule, value, threshold, crossed_at
       FROM counter_state WHERE ${clause.join(' AND ')} ORDER BY rule, scope, scope_key`,
    params,
  );
  return rows.map((r) => {
    const value = Number(r.value);
    const threshold = Number(r.threshold);
    const crossedAt = isoOf(r.crossed_at);
    return {
      rule: String(r.rule),
      scope: String(r.scope),
      scope_key: String(r.scope_key),
      site_id: String(r.site_id),
      user_id: String(r.user_id),
      period: String(r.period),
      value,
      threshold,
      left: Math.max(0, threshold - value),
      crossed: crossedAt !== null || value > threshold,
      crossed_at: crossedAt,
    };
  });
}

function scopeClause(scope: Scope): { clause: string[]; params: unknown[] } {
  const params: unknown[] = [scope.client];
  const clause = ['client_id = $1'];
  if (scope.site !== undefined) clause.push(`site_id = $${params.push(scope.site)}`);
  if (scope.user !== undefined) clause.push(`user_id = $${params.push(scope.user)}`);
  return { clause, params };
}

export function callOfRow(r: Record<string, unknown>): CallView {
  return {
    cdr_id: String(r.cdr_id),
    seq: intOf(r.seq),
    client_id: String(r.client_id),
    site_id: String(r.site_id),
    user_id: String(r.user_id),
    account: String(r.account),
    period: String(r.period),
    start_time: isoOf(r.start_time) ?? '',
    caller: String(r.caller),
    caller_original: String(r.caller_original ?? ''),
    callee: String(r.callee),
    destination_class: String(r.destination_class),
    country: String(r.country),
    billable_seconds: intOf(r.billable_seconds),
    disposition: String(r.disposition),
    direction: String(r.direction),
    leg: String(r.leg),
    in_bundle: boolOf(r.in_bundle),
    priced_seconds: intOf(r.priced_seconds),
    amount: decimalTextOf(r.amount),
    first_amount: decimalTextOf(r.first_amount ?? r.amount),
    currency: String(r.currency),
    reason: String(r.reason),
    explanation: String(r.explanation ?? ''),
  };
}

/** A scope's calls of one UTC hour: how many, their billable seconds, and their out-of-bundle amount (exact text). */
export interface HourOfCalls {
  /** floor(epoch ms / 3,600,000): Europe/Paris days are whole UTC hours, so the caller cuts days from these. */
  hour: number;
  calls: number;
  seconds: number;
  outOfBundle: string;
}

/**
 * A scope's month hour by hour (the subscriber view's sparkline): a month of a busy client is ~720 rows,
 * not its calls. SQLite reads the ledger table along rated_call_month and sends the amounts as text,
 * added exactly here; PostgreSQL's numeric sum is exact already.
 */
export async function hoursOfScope(sql: Sql, scope: Scope, period: string): Promise<HourOfCalls[]> {
  const { clause, params } = scopeClause(scope);
  const periodParam = `$${params.push(period)}`;
  const rows =
    sql.dialect === 'sqlite'
      ? await sql.query<Record<string, unknown>>(
          `SELECT r.start_time / ${HOUR_MS} AS hour, count(*) AS calls, sum(r.billable_seconds) AS seconds, group_concat(CASE WHEN r.in_bundle = 0 THEN r.amount END, ' ') AS amounts
             FROM rated_call r WHERE r.party_id IN (SELECT party_id FROM party WHERE ${clause.join(' AND ')}) AND r.period = ${periodParam} GROUP BY 1 ORDER BY 1`,
          params,
        )
      : await sql.query<Record<string, unknown>>(
          `SELECT floor(extract(epoch FROM start_time) / 3600)::bigint AS hour, count(*) AS calls, sum(billable_seconds) AS seconds,
                  coalesce(sum(amount) FILTER (WHERE NOT in_bundle), 0)::text AS amounts
             FROM rated_cdr WHERE ${clause.join(' AND ')} AND period = ${periodParam} GROUP BY 1 ORDER BY 1`,
          params,
        );
  // An hour of in-bundle calls only has no amount to add: SQLite's group_concat of nothing is NULL, read as 0.
  return rows.map((r) => ({ hour: intOf(r.hour), calls: intOf(r.calls), seconds: intOf(r.seconds), outOfBundle: sumText(decimalTextOf(r.amounts)) }));
}
