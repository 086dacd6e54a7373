/** The subscriber view: a client's, site's or user's month (subscriber-view.ts). */
import type { FastifyInstance } from 'fastify';
import { sendError } from '../api-errors.js';
import { idSchema, periodSchema } from '../api-schemas.js';
import { ANALYST } from '../roles.js';
import type { DeskContext } from '../server.js';
import { alertDisplaySchema, caseSchema, counterDisplaySchema, dayOfCallsSchema, lockMeaningSchema, monthOfCallsSchema, planCountSchema, ratedCallSchema, routeErrors } from '../response-schemas.js';
import { subscriberView, VIEW_LIST_LIMIT } from '../subscriber-view.js';

export async function subscriberRoutes(api: FastifyInstance, ctx: DeskContext): Promise<void> {
  api.get<{ Params: { client: string }; Querystring: { site?: string; user?: string; period: string; calls: number } }>('/subscribers/:client', {
    config: { roles: ANALYST },
    schema: {
      summary: "A client's (or site's, or user's) month: plans, counters against each threshold, days, recent calls, alerts, cases and locks", tags: ['subscribers'],
      params: { type: 'object', properties: { client: idSchema }, required: ['client'] },
      querystring: {
        type: 'object', additionalProperties: false, required: ['period'],
        properties: { site: idSchema, user: idSchema, period: periodSchema, calls: { type: 'integer', minimum: 0, maximum: 200, default: 20 } },
      },
      response: {
        200: {
          type: 'object', additionalProperties: false,
          required: ['client_id', 'site_id', 'user_id', 'period', 'lines', 'plans', 'counters', 'days', 'month', 'calls_of_other_days', 'recent_calls', 'alerts_total', 'alerts', 'cases_total', 'cases', 'locks'],
          properties: {
            client_id: { type: 'string' }, site_id: { type: 'string', nullable: true }, user_id: { type: 'string', nullable: true }, period: { type: 'string' },
            lines: { type: 'integer', description: "the directory's lines (accounts) in this scope" },
            plans: { type: 'array', items: planCountSchema },
            counters: { type: 'array', items: counterDisplaySchema, description: 'every fair-use counter binding the scope this month, against its threshold' },
            days: { type: 'array', items: dayOfCallsSchema, description: 'every Europe/Paris day of the month, oldest first (the sparkline)' },
            month: { ...monthOfCallsSchema, description: "the month's totals, late calls of a closed month included" },
            calls_of_other_days: { type: 'integer', description: 'calls billed on this month that started before it (late calls of a closed month)' },
            recent_calls: { type: 'array', items: ratedCallSchema, description: 'newest first' },
            alerts_total: { type: 'integer' }, alerts: { type: 'array', items: alertDisplaySchema, description: `the month's alerts of the scope, newest first, at most ${VIEW_LIST_LIMIT}` },
            cases_total: { type: 'integer' }, cases: { type: 'array', items: caseSchema, description: `cases of the scope (a client's case without a site counts for its sites), newest change first, at most ${VIEW_LIST_LIMIT}` },
            locks: { type: 'array', items: lockMeaningSchema, description: 'locks in force on the accounts of the scope' },
          },
        },
        ...routeErrors({}, 400, 404),
      },
    },
  }, async (req, reply) => {
    if (!ctx.known.knows(req.params.client, req.query.site, req.query.user)) return sendError(reply, 404, { error: 'not_found', message: `no subscriber of client ${req.params.client}${req.query.site ? ` site ${req.query.site}` : ''}${req.query.user ? ` user ${req.query.user}` : ''} in the subscriber directory` });
    return subscriberView(ctx, { client: req.params.client, site: req.query.site, user: req.query.user }, req.query.period, req.query.calls);
  });
}
