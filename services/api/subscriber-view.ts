/**
 * The subscriber view (issue 20): a user's, site's or client's month as an analyst opens it from an
 * alert, a case or the search: its lines and plans, every fair-use counter against its threshold in the
 * unit a person reads, the month day by day (the sparkline), recent calls, alerts, cases and locks.
 *
 * The answer reads the client's month and is shared per version of the store (month-answers.ts), whose
 * version moves with every rated row, counter, alert, and analyst's or policy's act, so that a status
 * move or a lock shows at once.
 */
import { DateTime } from 'luxon';
import { Money } from '../core/money.js';
import type { Plan } from '../core/plan.js';
import type { SubscriberDirectory } from '../ingest/subscriber-directory.js';
import { LOCK_LEVEL_MEANING, locksInForce } from '../store/desk/account-locks.js';
import { listAlerts } from '../store/desk/alert-cases.js';
import { HOUR_MS } from '../store/desk/daily-figures.js';
import { listCases } from '../store/desk/fraud-cases.js';
import { countersOf, hoursOfScope, recentCalls, type HourOfCalls, type Scope } from '../store/desk/subscriber-usage.js';
import type { Sql } from '../store/sql.js';
import { alertDisplay, counterDisplay } from './alert-detail.js';
import { toCents, withDisplayAmounts } from './display-amounts.js';
import type { MonthAnswers } from './month-answers.js';

const ZONE = 'Europe/Paris';
/** Alerts and cases listed on the view; the totals say when there are more (the alert list filters by client). */
export const VIEW_LIST_LIMIT = 20;

export interface SubscriberViewSources {
  sql: Sql;
  directory: SubscriberDirectory;
  plans: ReadonlyMap<string, Plan>;
  monthAnswers: MonthAnswers;
  now: () => number;
}

export interface DayOfCalls {
  day: string;
  calls: number;
  billable_seconds: number;
  out_of_bundle: string;
  out_of_bundle_display: string;
}

export async function subscriberView(src: SubscriberViewSources, scope: Scope, period: string, calls: number) {
  const key = `subscriber|${scope.client}|${scope.site ?? ''}|${scope.user ?? ''}|${period}|${calls}`;
  return src.monthAnswers.get(key, scope.client, async () => {
    const { startMs, endMs } = monthEdges(period);
    const [counters, hours, recent, alerts, cases, locks] = await Promise.all([
      countersOf(src.sql, scope, period),
      hoursOfScope(src.sql, scope, period),
      calls === 0 ? Promise.resolve([]) : recentCalls(src.sql, scope, period, calls),
      listAlerts(src.sql, { client: scope.client, site: scope.site, user: scope.user, fromMs: startMs, toMs: endMs, sort: 'newest', limit: VIEW_LIST_LIMIT, offset: 0 }),
      listCases(src.sql, { client: scope.client, limit: 200, offset: 0 }),
      locksInForce(src.sql, src.now()),
    ]);
    const lines = src.directory.all.filter((s) => s.clientId === scope.client && within(scope, s.siteId, s.userId));
    const plans = new Map<string, number>();
    for (const s of lines) plans.set(s.planId, (plans.get(s.planId) ?? 0) + 1);
    // A case of the client with no site (or user) of its own concerns every site of it.
    const ofScope = cases.cases.filter((c) => (c.site_id === '' || scope.site === undefined || c.site_id === scope.site) && (c.user_id === '' || scope.user === undefined || c.user_id === scope.user));
    return {
      client_id: scope.client, site_id: scope.site ?? null, user_id: scope.user ?? null, period,
      lines: lines.length,
      plans: [...plans].map(([id, n]) => ({ plan_id: id, name: src.plans.get(id)?.name ?? id, lines: n })),
      counters: counters.map(counterDisplay),
      ...daysOfMonth(period, hours),
      recent_calls: recent.map((c) => withDisplayAmounts(c, ['amount'])),
      alerts_total: alerts.total,
      alerts: alerts.alerts.map(alertDisplay),
      cases_total: ofScope.length,
      cases: ofScope.slice(0, VIEW_LIST_LIMIT),
      locks: locks.filter((l) => l.client_id === scope.client && within(scope, l.site_id, l.user_id)).map((l) => ({ ...l, meaning: LOCK_LEVEL_MEANING[l.level] })),
    };
  });
}

function within(scope: Scope, site: string, user: string): boolean {
  return (scope.site === undefined || site === scope.site) && (scope.user === undefined || user === scope.user);
}

function monthEdges(period: string): { startMs: number; endMs: number } {
  const start = DateTime.fromFormat(period, 'yyyy-MM', { zone: ZONE });
  return { startMs: start.toMillis(), endMs: start.plus({ months: 1 }).toMillis() };
}

/**
 * Every Europe/Paris day of the month, days without calls included (a sparkline's gaps are news too),
 * the month's totals, and the calls billed on this month that started on no day of it: late calls of a
 * month already closed go on the next open one (they are on its invoice, so the totals count them too).
 */
export function daysOfMonth(period: string, hours: readonly HourOfCalls[]): { days: DayOfCalls[]; month: Omit<DayOfCalls, 'day'>; calls_of_other_days: number } {
  const first = DateTime.fromFormat(period, 'yyyy-MM', { zone: ZONE });
  const days = new Map<string, { calls: number; seconds: number; spend: Money }>();
  for (let d = first; d.month === first.month; d = d.plus({ days: 1 })) days.set(d.toFormat('yyyy-MM-dd'), { calls: 0, seconds: 0, spend: new Money(0) });
  let otherDays = 0;
  const month = { calls: 0, seconds: 0, spend: new Money(0) };
  for (const h of hours) {
    month.calls += h.calls;
    month.seconds += h.seconds;
    month.spend = month.spend.plus(new Money(h.outOfBundle));
    const day = days.get(DateTime.fromMillis(h.hour * HOUR_MS, { zone: ZONE }).toFormat('yyyy-MM-dd'));
    if (day === undefined) {
      otherDays += h.calls;
      continue;
    }
    day.calls += h.calls;
    day.seconds += h.seconds;
    day.spend = day.spend.plus(new Money(h.outOfBundle));
  }
  const figures = (f: { calls: number; seconds: number; spend: Money }) => ({ calls: f.calls, billable_seconds: f.seconds, out_of_bundle: f.spend.toFixed(), out_of_bundle_display: toCents(f.spend.toFixed()) });
  return { days: [...days].map(([day, f]) => ({ day, ...figures(f) })), month: figures(month), calls_of_other_days: otherDays };
}
