/**
 * The store's half of the desk's search: calls by number (callee or caller, latest first, counted up
 * to a bound; see numberOn), and alerts and cases by any of their ids.
 * Deciding what a query is (a number in which written form, an id) is the route's (search-routes.ts).
 */
import type { Sql } from '../sql.js';
import { intOf, isoOf, msOf, placeholders } from '../row-values.js';
import { callOfRow, type CallView } from './subscriber-usage.js';
import type { CaseState } from './fraud-cases.js';

/** Counting stops here: "more than 10,000 calls" is an answer, and it costs a bounded index range. */
export const CALL_COUNT_CAP = 10_000;

export interface NumberCalls {
  /** Calls to and from the number, up to CALL_COUNT_CAP (then `capped`). */
  total: number;
  capped: boolean;
  latest: (CallView & { matched: 'callee' | 'caller' })[];
}

export async function callsOfNumber(sql: Sql, e164: string, limit: number): Promise<NumberCalls> {
  // Neither store keeps a per-call number index (their migrations say why: SQLite's 019, PostgreSQL's 023):
  // call_number names the months the number appears in, walked along an index that ends with start_time.
  const found = sql.dialect === 'postgres' ? await userMonths(sql, e164, limit) : await partyMonths(sql, e164, limit);
  const total = found.callee + found.caller;
  // The latest of both sides, read from the ledger at once (a call to itself is both: listed once, as callee).
  const picked = new Map<number, Side>();
  for (const h of found.hits.sort((x, y) => y.start_time - x.start_time || x.seq - y.seq)) {
    if (picked.size < limit && !picked.has(h.seq)) picked.set(h.seq, h.matched);
  }
  const rows = picked.size === 0 ? [] : await sql.query<Record<string, unknown>>(`SELECT * FROM rated_cdr WHERE seq IN (${placeholders(picked.size)})`, [...picked.keys()]);
  const latest = rows.map((r) => ({ ...callOfRow(r), matched: picked.get(intOf(r.seq))! }))
    .sort((x, y) => y.start_time.localeCompare(x.start_time) || x.cdr_id.localeCompare(y.cdr_id));
  return { total: Math.min(total, CALL_COUNT_CAP), capped: total > CALL_COUNT_CAP, latest };
}

type Side = 'callee' | 'caller';
/** Calls to and from the number counted per side (up to the bound), and the latest calls found, as ledger positions to read. */
type Found = { callee: number; caller: number; hits: { seq: number; start_time: number; matched: Side }[] };

/**
 * PostgreSQL: every month in one statement (a trunk's users are many months of one number), each read
 * newest first as far as `limit` hits; then the calls counted per side, the walk stopping at the bound.
 */
async function userMonths(sql: Sql, e164: string, limit: number): Promise<Found> {
  const ofMonth = `FROM call_number m CROSS JOIN LATERAL (SELECT seq, start_time, callee, caller FROM rated_cdr r
     WHERE r.client_id = m.client_id AND r.period = m.period AND r.user_id = m.user_id AND (r.callee = $1 OR r.caller = $1)
     ORDER BY r.start_time DESC LIMIT $2) h WHERE m.number = $1`;
  const latest = await sql.query<{ seq: unknown; start_time: unknown; callee: string }>(`SELECT h.seq, h.start_time, h.callee ${ofMonth}`, [e164, limit]);
  const [count] = await sql.query<{ to_it: unknown; from_it: unknown }>(
    `SELECT count(*) FILTER (WHERE callee = $1) AS to_it, count(*) FILTER (WHERE caller = $1) AS from_it
       FROM (SELECT h.callee, h.caller ${ofMonth} LIMIT $2) AS hits`,
    [e164, CALL_COUNT_CAP + 1],
  );
  return {
    callee: intOf(count?.to_it ?? 0),
    caller: intOf(count?.from_it ?? 0),
    hits: latest.map((r) => ({ seq: intOf(r.seq), start_time: msOf(r.start_time)!, matched: r.callee === e164 ? 'callee' : 'caller' })),
  };
}

/**
 * SQLite: each party month in turn, both sides at a time: newest first for the latest calls, which counts
 * a number called a few times too, and when it has more, once again to count them (up to the bound). A
 * trunk's month of 100,000 calls is counted only as far as 10,000 hits (each side on its own walked a
 * month four times).
 */
async function partyMonths(sql: Sql, e164: string, limit: number): Promise<Found> {
  const months = await sql.query<{ party_id: unknown; period: string }>('SELECT party_id, period FROM call_number WHERE number = $1', [e164]);
  const found: Found = { callee: 0, caller: 0, hits: [] };
  for (const m of months) {
    const params = [m.party_id, m.period, e164];
    // Newest first, one more than asked: a number called a few times is then counted by this walk alone.
    const latest = await sql.query<{ seq: unknown; start_time: unknown; to_it: unknown; from_it: unknown }>(
      `SELECT seq, start_time, callee = $3 AS to_it, caller = $3 AS from_it FROM rated_call
        WHERE party_id = $1 AND period = $2 AND (callee = $3 OR caller = $3) ORDER BY start_time DESC LIMIT $4`,
      [...params, limit + 1],
    );
    for (const r of latest.slice(0, limit)) found.hits.push({ seq: intOf(r.seq), start_time: intOf(r.start_time), matched: intOf(r.to_it) === 1 ? 'callee' : 'caller' });
    const room = CALL_COUNT_CAP + 1 - found.callee - found.caller;
    if (latest.length <= limit) {
      found.callee += latest.filter((r) => intOf(r.to_it) === 1).length;
      found.caller += latest.filter((r) => intOf(r.from_it) === 1).length;
    } else if (room > 0) {
      const [count] = await sql.query<{ to_it: unknown; from_it: unknown }>(
        `SELECT sum(callee = $3) AS to_it, sum(caller = $3) AS from_it FROM (SELECT callee, caller FROM rated_call
          WHERE party_id = $1 AND period = $2 AND (callee = $3 OR caller = $3) LIMIT $4) AS hits`,
        [...params, room],
      );
      found.callee += intOf(count?.to_it ?? 0);
      found.caller += intOf(count?.from_it ?? 0);
    }
  }
  return found;
}

export interface AlertHit {
  alert_id: string;
  rule: string;
  severity: string;
  status: string;
  client_id: string;
  site_id: string;
  user_id: string;
  first_seen: string;
  matched: 'alert_id' | 'client_id' | 'site_id' | 'user_id';
}

/** Alerts whose id, client, site or user is `id` exactly, newest first. */
export async function alertsMatching(sql: Sql, id: string, limit: number): Promise<AlertHit[]> {
  const rows = await sql.query<Record<string, unknown>>(
    `SELECT alert_id, rule, severity, status, client_id, site_id, user_id, first_seen FROM alert
      WHERE alert_id = $1 OR client_id = $1 OR site_id = $1 OR user_id = $1 ORDER BY last_seen DESC, alert_id LIMIT $2`,
    [id, limit],
  );
  return rows.map((r) => ({
    alert_id: String(r.alert_id), rule: String(r.rule), severity: String(r.severity), status: String(r.status),
    client_id: String(r.client_id), site_id: String(r.site_id), user_id: String(r.user_id), first_seen: isoOf(r.first_seen) ?? '',
    matched: r.alert_id === id ? 'alert_id' : r.client_id === id ? 'client_id' : r.site_id === id ? 'site_id' : 'user_id',
  }));
}

export interface CaseHit {
  case_id: string;
  title: string;
  state: CaseState;
  owner: string;
  client_id: string;
  site_id: string;
  user_id: string;
  created_at: string;
  matched: 'case_id' | 'client_id' | 'site_id' | 'user_id' | 'owner' | 'alert_id';
}

/** Cases whose id, client, site, user or owner is `id`, or that hold the alert `id`, newest first. */
export async function casesMatching(sql: Sql, id: string, limit: number): Promise<CaseHit[]> {
  const rows = await sql.query<Record<string, unknown>>(
    `SELECT c.*, ca.alert_id AS via_alert FROM fraud_case c LEFT JOIN case_alert ca ON ca.case_id = c.case_id AND ca.alert_id = $1
      WHERE c.case_id = $1 OR c.client_id = $1 OR c.site_id = $1 OR c.user_id = $1 OR c.owner = $1 OR ca.alert_id IS NOT NULL
      ORDER BY c.updated_at DESC, c.case_id LIMIT $2`,
    [id, limit],
  );
  const matched = (r: Record<string, unknown>): CaseHit['matched'] =>
    r.case_id === id ? 'case_id' : r.via_alert === id ? 'alert_id' : r.client_id === id ? 'client_id' : r.site_id === id ? 'site_id' : r.user_id === id ? 'user_id' : 'owner';
  return rows.map((r) => ({
    case_id: String(r.case_id), title: String(r.title), state: r.state as CaseState, owner: String(r.owner), client_id: String(r.client_id),
    site_id: String(r.site_id), user_id: String(r.user_id), created_at: isoOf(r.created_at) ?? '', matched: matched(r),
  }));
}
