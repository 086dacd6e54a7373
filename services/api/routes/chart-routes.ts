/** The page's chart: alerts per rule per day and out-of-bundle spend per day, last 30 days (Europe/Paris). */
import type { FastifyInstance } from 'fastify';
import { DateTime } from 'luxon';
import { Money, ZERO } from '../../core/money.js';
import { alertTimes, latestAlertMs } from '../../store/desk/alert-cases.js';
import { outOfBundleCalls } from '../../store/desk/daily-figures.js';
import { ANALYST } from '../roles.js';
import type { DeskContext } from '../server.js';

const ZONE = 'Europe/Paris';
/** At most this many rows feed one chart; beyond, the answer says it is truncated. */
const CAP = 500_000;
/** The chart scans a month of calls: its answer is kept this long, so a room of desks does not rescan. */
const CACHE_MS = 60_000;

export async function chartRoutes(api: FastifyInstance, ctx: DeskContext): Promise<void> {
  const cache = new Map<string, { at: number; answer: Promise<unknown> }>();
  api.get<{ Querystring: { days: number; until?: string } }>('/charts/daily', {
    config: { roles: ANALYST },
    schema: {
      summary: 'Alerts per rule per day and out-of-bundle spend per day (Europe/Paris days)', tags: ['charts'],
      querystring: {
        type: 'object', additionalProperties: false,
        properties: {
          days: { type: 'integer', minimum: 1, maximum: 92, default: 30 },
          until: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'last day shown (default: the day of the newest alert, or today)' },
        },
      },
    },
  }, async (req) => {
    const key = `${req.query.days}|${req.query.until ?? ''}`;
    const hit = cache.get(key);
    if (hit !== undefined && ctx.now() - hit.at < CACHE_MS && ctx.now() >= hit.at) return hit.answer;
    const answer = daily(req.query.days, req.query.until);
    cache.set(key, { at: ctx.now(), answer });
    answer.catch(() => cache.delete(key));
    return answer;
  });

  async function daily(daysWanted: number, until: string | undefined) {
    const latest = until !== undefined ? DateTime.fromISO(until, { zone: ZONE }) : DateTime.fromMillis((await latestAlertMs(ctx.sql)) ?? ctx.now(), { zone: ZONE });
    const end = latest.startOf('day').plus({ days: 1 });
    const start = end.minus({ days: daysWanted });
    const days: string[] = [];
    for (let d = start; d < end; d = d.plus({ days: 1 })) days.push(d.toFormat('yyyy-MM-dd'));
    const dayOf = (ms: number) => DateTime.fromMillis(ms, { zone: ZONE }).toFormat('yyyy-MM-dd');
    const index = new Map(days.map((d, i) => [d, i]));

    const alerts = await alertTimes(ctx.sql, start.toMillis(), end.toMillis(), CAP);
    const perRule = new Map<string, number[]>();
    for (const a of alerts) {
      const i = index.get(dayOf(a.firstSeenMs));
      if (i === undefined) continue;
      const counts = perRule.get(a.rule) ?? days.map(() => 0);
      counts[i]! += 1;
      perRule.set(a.rule, counts);
    }
    const calls = await outOfBundleCalls(ctx.sql, start.toMillis(), end.toMillis(), CAP);
    const spend = days.map(() => ZERO);
    for (const c of calls) {
      const i = index.get(dayOf(c.startMs));
      if (i !== undefined) spend[i] = spend[i]!.plus(new Money(c.amount));
    }
    return {
      zone: ZONE,
      days,
      alerts_per_rule: Object.fromEntries([...perRule.entries()].sort(([a], [b]) => a.localeCompare(b))),
      out_of_bundle_spend: spend.map((s, i) => ({ day: days[i], amount: s.toFixed(), amount_display: s.toFixed(2) })),
      currency: calls[0]?.currency ?? 'EUR',
      truncated: alerts.length >= CAP || calls.length >= CAP,
    };
  }
}
