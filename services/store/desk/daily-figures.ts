/**
 * The raw material of the page's 30-day chart: out-of-bundle calls (time, amount) of a window. Days
 * are cut in Europe/Paris and amounts added with decimal.js by the caller, never in SQL.
 */
import type { Sql } from '../sql.js';
import { decimalTextOf, msOf, timeParam } from '../row-values.js';

export async function outOfBundleCalls(sql: Sql, sinceMs: number, untilMs: number, cap: number): Promise<{ startMs: number; amount: string; currency: string }[]> {
  const rows = await sql.query<{ start_time: unknown; amount: unknown; currency: string }>(
    `SELECT start_time, amount, currency FROM rated_cdr
      WHERE in_bundle = FALSE AND start_time >= $1 AND start_time < $2 LIMIT $3`,
    [timeParam(sinceMs), timeParam(untilMs), cap],
  );
  return rows.map((r) => ({ startMs: msOf(r.start_time)!, amount: decimalTextOf(r.amount), currency: r.currency }));
}
