/** A subscriber's month: fair-use counters against thresholds, and its recent calls. */
import type { FastifyInstance } from 'fastify';
import { countersOf, recentCalls } from '../../store/desk/subscriber-usage.js';
import { sendError } from '../api-errors.js';
import { idSchema, periodSchema } from '../api-schemas.js';
import { withDisplayAmounts } from '../display-amounts.js';
import { ANALYST } from '../roles.js';
import type { DeskContext } from '../server.js';
import { counterSchema, ratedCallSchema, routeErrors } from '../response-schemas.js';

export async function subscriberRoutes(api: FastifyInstance, ctx: DeskContext): Promise<void> {
  api.get<{ Params: { client: string }; Querystring: { site?: string; user?: string; period: string; calls: number } }>('/subscribers/:client', {
    config: { roles: ANALYST },
    schema: {
      summary: "A client's (or site's, or user's) counters for a month against each threshold, and its recent calls", tags: ['subscribers'],
      params: { type: 'object', properties: { client: idSchema }, required: ['client'] },
      querystring: {
        type: 'object', additionalProperties: false, required: ['period'],
        properties: { site: idSchema, user: idSchema, period: periodSchema, calls: { type: 'integer', minimum: 0, maximum: 200, default: 20 } },
      },
      response: {
        200: {
          type: 'object', additionalProperties: false, required: ['client_id', 'site_id', 'user_id', 'period', 'counters', 'recent_calls'],
          properties: {
            client_id: { type: 'string' }, site_id: { type: 'string', nullable: true }, user_id: { type: 'string', nullable: true }, period: { type: 'string' },
            counters: { type: 'array', items: counterSchema }, recent_calls: { type: 'array', items: ratedCallSchema, description: 'newest first' },
          },
        },
        ...routeErrors({}, 400, 404),
      },
    },
  }, async (req, reply) => {
    if (!ctx.known.knows(req.params.client, req.query.site, req.query.user)) return sendError(reply, 404, { error: 'not_found', message: `no subscriber of client ${req.params.client}${req.query.site ? ` site ${req.query.site}` : ''}${req.query.user ? ` user ${req.query.user}` : ''} in the subscriber directory` });
    const scope = { client: req.params.client, site: req.query.site, user: req.query.user };
    const key = `subscriber|${scope.client}|${scope.site ?? ''}|${scope.user ?? ''}|${req.query.period}|${req.query.calls}`;
    return ctx.monthAnswers.get(key, scope.client, async () => {
      const [counters, calls] = await Promise.all([
        countersOf(ctx.sql, scope, req.query.period),
        req.query.calls === 0 ? Promise.resolve([]) : recentCalls(ctx.sql, scope, req.query.period, req.query.calls),
      ]);
      return { client_id: scope.client, site_id: scope.site ?? null, user_id: scope.user ?? null, period: req.query.period, counters, recent_calls: calls.map((c) => withDisplayAmounts(c, ['amount'])) };
    });
  });
}
