/**
 * What was read and not billed, as the desk sees it: the rejected records per file and reason. A
 * scanner's thousands of INVITEs from callers no directory knows are rightly unbilled (unknown_subscriber),
 * but their volume is what an analyst must see. Counts only: a reject's raw text holds phone numbers and
 * stays with `cdr rejects` (the CLI) for whoever replays it.
 */
import type { FastifyInstance } from 'fastify';
import { rejectGroups } from '../../store/rejects.js';
import { ANALYST } from '../roles.js';
import type { DeskContext } from '../server.js';
import { routeErrors } from '../response-schemas.js';

export async function rejectRoutes(api: FastifyInstance, ctx: DeskContext): Promise<void> {
  api.get<{ Querystring: { limit: number } }>('/rejects', {
    config: { roles: ANALYST },
    schema: {
      summary: 'Records read and not billed: rejected records per file and reason, largest first (counts, never the records)', tags: ['alerts'],
      querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 } } },
      response: {
        200: {
          type: 'object', additionalProperties: false, required: ['total', 'groups'],
          properties: {
            total: { type: 'integer', description: 'rejected records in the store, all files' },
            groups: {
              type: 'array',
              items: {
                type: 'object', additionalProperties: false, required: ['source', 'reason', 'count'],
                properties: { source: { type: 'string', description: 'the file as it was given to cdr rate' }, reason: { type: 'string' }, count: { type: 'integer' } },
              },
            },
          },
        },
        ...routeErrors({}, 400),
      },
    },
  }, async (req) => {
    const groups = (await rejectGroups(ctx.sql)).sort((a, b) => b.count - a.count || a.source.localeCompare(b.source));
    return {
      total: groups.reduce((n, g) => n + g.count, 0),
      groups: groups.slice(0, req.query.limit).map((g) => ({ source: g.source, reason: g.reason, count: g.count })),
    };
  });
}
