/**
 * What a case puts at risk: the rated calls of its scope (client, and site and user when the case has
 * them) in its window [earliest first_seen, latest last_seen], inclusive at both ends. Out-of-bundle
 * spend is the exact sum of those calls' amounts (decimal.js over the amounts' text on SQLite; numeric
 * SUM on PostgreSQL, exact too), in euros: calls priced in another currency are counted apart, never
 * added. Premium and international minutes are their billable seconds / 60, to the hundredth.
 */
import { DateTime } from 'luxon';
import type { Sql } from '../sql.js';
import { intOf, placeholders, timeParam } from '../row-values.js';
import { Money, ZERO } from '../../core/money.js';

/** Paid value-added numbers: 089 / 0825 premium rate, paid 3BPQ and 1XY short numbers, 118XYZ directories. */
export const PREMIUM_CLASSES = ['fr_premium', 'fr_short', 'fr_directory'] as const;
export const INTERNATIONAL_CLASSES = ['international'] as const;
const ZONE = 'Europe/Paris';

export interface CaseScope {
  client: string;
  /** '' or undefined: the whole client. */
  site?: string;
  user?: string;
}

export interface MoneyAtRisk {
  window_start: string;
  window_end: string;
  currency: 'EUR';
  /** Sum of the amounts of the window's out-of-bundle calls in EUR, exact decimal text (e.g. "12.3400"). */
  out_of_bundle_spend: string;
  /** The same to the cent (half up), as the page shows it. */
  out_of_bundle_spend_display: string;
  out_of_bundle_calls: number;
  premium_minutes: string;
  premium_calls: number;
  international_minutes: string;
  international_calls: number;
  /** Every call of the scope in the window. */
  calls: number;
  /** Out-of-bundle calls priced in another currency: not in the sum. */
  other_currency_calls: number;
}

/** The calendar months (Europe/Paris, as the ledger's `period`) an instant range touches: the index's prefix. */
export function periodsOf(fromMs: number, toMs: number): string[] {
  const out: string[] = [];
  let m = DateTime.fromMillis(fromMs, { zone: ZONE }).startOf('month');
  const end = DateTime.fromMillis(toMs, { zone: ZONE });
  while (m <= end) {
    out.push(m.toFormat('yyyy-MM'));
    m = m.plus({ months: 1 });
  }
  return out;
}

/** WHERE clause and parameters for the scope's calls in [fromMs, toMs]. */
export function windowClause(scope: CaseScope, fromMs: number, toMs: number): { where: string; params: unknown[] } {
  const params: unknown[] = [scope.client];
  const where = ['client_id = $1'];
  if (scope.site) where.push(`site_id = $${params.push(scope.site)}`);
  if (scope.user) where.push(`user_id = $${params.push(scope.user)}`);
  const periods = periodsOf(fromMs, toMs);
  where.push(`period IN (${placeholders(periods.length, params.length + 1)})`);
  params.push(...periods);
  where.push(`start_time >= $${params.push(timeParam(fromMs))}`);
  where.push(`start_time <= $${params.push(timeParam(toMs))}`);
  return { where: where.join(' AND '), params };
}

const minutesOf = (seconds: number) => new Money(seconds).div(60).toFixed(2);

export async function moneyAtRisk(sql: Sql, scope: CaseScope, fromMs: number, toMs: number): Promise<MoneyAtRisk> {
  const { where, params } = windowClause(scope, fromMs, toMs);
  const inList = (classes: readonly string[]) => classes.map((c) => `'${c}'`).join(', ');
  const [counts] = await sql.query<Record<string, unknown>>(
    `SELECT COUNT(*) AS calls,
            SUM(CASE WHEN destination_class IN (${inList(PREMIUM_CLASSES)}) THEN billable_seconds ELSE 0 END) AS premium_seconds,
            SUM(CASE WHEN destination_class IN (${inList(PREMIUM_CLASSES)}) THEN 1 ELSE 0 END) AS premium_calls,
            SUM(CASE WHEN destination_class IN (${inList(INTERNATIONAL_CLASSES)}) THEN billable_seconds ELSE 0 END) AS international_seconds,
            SUM(CASE WHEN destination_class IN (${inList(INTERNATIONAL_CLASSES)}) THEN 1 ELSE 0 END) AS international_calls,
            SUM(CASE WHEN in_bundle = $${params.length + 1} AND currency <> 'EUR' THEN 1 ELSE 0 END) AS other_currency_calls
       FROM rated_cdr WHERE ${where}`,
    [...params, false],
  );
  let spend = ZERO;
  let outCalls = 0;
  const outWhere = `${where} AND in_bundle = $${params.length + 1} AND currency = 'EUR'`;
  if (sql.dialect === 'postgres') {
    // numeric SUM is exact; its text is read back as decimal.js.
    const [s] = await sql.query<{ total: string | null; n: unknown }>(`SELECT SUM(amount)::text AS total, COUNT(*) AS n FROM rated_cdr WHERE ${outWhere}`, [...params, false]);
    spend = new Money(s?.total ?? '0');
    outCalls = intOf(s?.n);
  } else {
    // SQLite keeps amounts as text and would sum them as floats: they are added here, exactly.
    const rows = await sql.query<{ amount: unknown }>(`SELECT amount FROM rated_cdr WHERE ${outWhere}`, [...params, false]);
    for (const r of rows) spend = spend.plus(new Money(String(r.amount)));
    outCalls = rows.length;
  }
  return {
    window_start: new Date(fromMs).toISOString(),
    window_end: new Date(toMs).toISOString(),
    currency: 'EUR',
    out_of_bundle_spend: spend.toFixed(Math.max(4, spend.decimalPlaces())),
    out_of_bundle_spend_display: spend.toFixed(2),
    out_of_bundle_calls: outCalls,
    premium_minutes: minutesOf(intOf(counts?.premium_seconds)),
    premium_calls: intOf(counts?.premium_calls),
    international_minutes: minutesOf(intOf(counts?.international_seconds)),
    international_calls: intOf(counts?.international_calls),
    calls: intOf(counts?.calls),
    other_currency_calls: intOf(counts?.other_currency_calls),
  };
}
