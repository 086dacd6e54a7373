/**
 * The raw material of the page's daily chart, grouped by UTC hour in the store: out-of-bundle spend per
 * (hour, currency) and alerts per (hour, rule). A month of a million calls comes back as about 720 × a
 * few rows instead of a million, so the caller cuts Europe/Paris days (whose edges are whole UTC hours)
 * without touching every call. Amounts stay exact: SQLite sends each hour's amounts as text and they are
 * added with decimal.js here; PostgreSQL's numeric sum is exact already. Neither is a JS number.
 */
import { Money } from '../../core/money.js';
import type { Sql } from '../sql.js';
import { decimalTextOf, intOf, timeParam } from '../row-values.js';

export type StoreDialect = 'sqlite' | 'postgres';

export const HOUR_MS = 3_600_000;

export interface HourlyFigures {
  /** Hour = floor(epoch ms / 3,600,000); amount is exact decimal text. */
  spend: { hour: number; currency: string; amount: string }[];
  alerts: { hour: number; rule: string; count: number }[];
}

/** The store's hour number of a time column (SQLite keeps epoch milliseconds, PostgreSQL timestamptz). */
const hourOf = (column: string, d: StoreDialect) =>
  d === 'sqlite' ? `(${column} / ${HOUR_MS})` : `floor(extract(epoch FROM ${column}) / 3600)::bigint`;

export async function hourlyFigures(sql: Sql, dialect: StoreDialect, sinceMs: number, untilMs: number): Promise<HourlyFigures> {
  // SQLite: the ledger table itself, not the rated_cdr view (its joins cost 40 % more on a month's scan),
  // and amounts as text (SQLite would add them as floats); PostgreSQL adds numerics exactly.
  const spendSql =
    dialect === 'sqlite'
      ? `SELECT ${hourOf('start_time', dialect)} AS hour, currency, group_concat(amount, ' ') AS amounts FROM rated_call
          WHERE in_bundle = 0 AND start_time >= $1 AND start_time < $2 GROUP BY 1, 2`
      : `SELECT ${hourOf('start_time', dialect)} AS hour, currency, sum(amount)::text AS amounts FROM rated_cdr
          WHERE in_bundle = FALSE AND start_time >= $1 AND start_time < $2 GROUP BY 1, 2`;
  const spendRows = await sql.query<{ hour: unknown; currency: string; amounts: unknown }>(spendSql, [timeParam(sinceMs), timeParam(untilMs)]);
  const alertRows = await sql.query<{ hour: unknown; rule: string; n: unknown }>(
    `SELECT ${hourOf('first_seen', dialect)} AS hour, rule, count(*) AS n FROM alert WHERE first_seen >= $1 AND first_seen < $2 GROUP BY 1, 2`,
    [timeParam(sinceMs), timeParam(untilMs)],
  );
  return {
    spend: spendRows.map((r) => ({ hour: intOf(r.hour), currency: r.currency, amount: sumText(decimalTextOf(r.amounts)) })),
    alerts: alertRows.map((r) => ({ hour: intOf(r.hour), rule: r.rule, count: intOf(r.n) })),
  };
}

/** The exact sum of amounts sent as one space-separated text (SQLite's group_concat). */
export function sumText(amounts: string): string {
  let total = new Money(0);
  for (const a of amounts.split(' ')) if (a !== '') total = total.plus(new Money(a));
  return total.toFixed();
}
