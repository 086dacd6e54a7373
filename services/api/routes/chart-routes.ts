/** The page's chart: alerts per rule per day and out-of-bundle spend per day, last 30 days (Europe/Paris). */
import type { FastifyInstance } from 'fastify';
import { DateTime } from 'luxon';
import { Money } from '../../core/money.js';
import { latestAlertMs } from '../../store/desk/alert-cases.js';
import { CHART_ZONE, DayFiguresCache, parisDays, type DayFigures, type ParisDay } from '../daily-chart.js';
import { ANALYST } from '../roles.js';
import type { DeskContext } from '../server.js';
import { routeErrors } from '../response-schemas.js';

export async function chartRoutes(api: FastifyInstance, ctx: DeskContext): Promise<void> {
  const cache = new DayFiguresCache(ctx.heavyReads);
  const calendar = new Map<string, ParisDay[]>();
  let answered: { key: string; figures: DayFigures[]; answer: unknown } | undefined;
  api.get<{ Querystring: { days: number; until?: string } }>('/charts/daily', {
    config: { roles: ANALYST },
    schema: {
      summary: 'Alerts per rule per day and out-of-bundle spend per day (Europe/Paris days, up to a minute old)', tags: ['charts'],
      querystring: {
        type: 'object', additionalProperties: false,
        properties: {
          days: { type: 'integer', minimum: 1, maximum: 92, default: 30 },
          until: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'last day shown (default: the day of the newest alert, or today)' },
        },
      },
      response: {
        200: {
          type: 'object', additionalProperties: false, required: ['zone', 'days', 'alerts_per_rule', 'out_of_bundle_spend', 'currency', 'truncated'],
          properties: {
            zone: { type: 'string' }, days: { type: 'array', items: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } },
            alerts_per_rule: { type: 'object', description: 'by rule: the alerts of each day of days', additionalProperties: { type: 'array', items: { type: 'integer' } } },
            out_of_bundle_spend: {
              type: 'array',
              items: { type: 'object', additionalProperties: false, required: ['day', 'amount', 'amount_display'], properties: { day: { type: 'string' }, amount: { type: 'string' }, amount_display: { type: 'string' } } },
            },
            currency: { type: 'string' },
            other_currencies: { type: 'array', items: { type: 'string' }, description: 'only when the spend is in several currencies: those not shown' },
            truncated: { type: 'boolean' },
          },
        },
        ...routeErrors({}, 400),
      },
    },
  }, async (req) => {
    const last = req.query.until ?? DateTime.fromMillis((await latestAlertMs(ctx.sql)) ?? ctx.now(), { zone: CHART_ZONE }).toFormat('yyyy-MM-dd');
    // Calendar days are luxon's work, about a millisecond for a month of them: made once per last day.
    const key = `${last}|${req.query.days}`;
    let days = calendar.get(key);
    if (days === undefined) {
      if (calendar.size > 64) calendar.clear();
      days = parisDays(last, req.query.days);
      calendar.set(key, days);
    }
    const figures = await cache.figures(days);
    // The same days' figures as the last answer (they are kept up to a minute): the same answer, not rebuilt.
    if (answered !== undefined && answered.key === key && answered.figures.every((f, i) => f === figures[i])) return answered.answer;
    const currencies = [...new Set(figures.flatMap((f) => [...f.spend.keys()]))].sort();
    // One currency in practice (the tariffs'); were there several, the chart shows one and names the others.
    const currency = currencies.includes('EUR') || currencies.length === 0 ? 'EUR' : currencies[0]!;
    const rules = [...new Set(figures.flatMap((f) => [...f.alerts.keys()]))].sort();
    const answer = {
      zone: CHART_ZONE,
      days: days.map((d) => d.day),
      alerts_per_rule: Object.fromEntries(rules.map((rule) => [rule, figures.map((f) => f.alerts.get(rule) ?? 0)])),
      out_of_bundle_spend: figures.map((f, i) => {
        const s = f.spend.get(currency) ?? new Money(0);
        return { day: days[i]!.day, amount: s.toFixed(), amount_display: s.toFixed(2) };
      }),
      currency,
      ...(currencies.length > 1 ? { other_currencies: currencies.filter((c) => c !== currency) } : {}),
      truncated: false,
    };
    answered = { key, figures, answer };
    return answer;
  });
}
