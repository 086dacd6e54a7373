/** Many alerts at once: POST /api/v1/alerts/bulk (acknowledge, resolve or attach to a case, one comment). */
import type { FastifyInstance } from 'fastify';
import { RESOLUTIONS, type Resolution } from '../../store/desk/alert-cases.js';
import { BULK_ACTIONS, bulkAlerts, type BulkAction } from '../../store/desk/alert-bulk.js';
import { commentSchema, idSchema } from '../api-schemas.js';
import { sendError } from '../api-errors.js';
import { ANALYST } from '../roles.js';
import type { DeskContext } from '../server.js';
import { attachOutcomeSchema, routeErrors } from '../response-schemas.js';

export const BULK_MAX = 200;

interface BulkBody {
  ids: string[];
  action: BulkAction;
  case_id?: string;
  resolution?: Resolution;
  comment: string;
}

export async function bulkRoutes(api: FastifyInstance, ctx: DeskContext): Promise<void> {
  api.post<{ Body: BulkBody }>('/alerts/bulk', {
    config: { roles: ANALYST },
    schema: {
      summary: 'Acknowledge, resolve or attach to a case up to 200 alerts with one comment, in one transaction; per alert, whether it moved and why not',
      tags: ['alerts'],
      body: {
        type: 'object', additionalProperties: false, required: ['ids', 'action', 'comment'],
        properties: {
          ids: { type: 'array', items: idSchema, minItems: 1, maxItems: BULK_MAX, uniqueItems: true },
          action: { type: 'string', enum: [...BULK_ACTIONS] },
          case_id: { ...idSchema, description: 'the case to attach to (action attach)' },
          resolution: { type: 'string', enum: [...RESOLUTIONS], description: 'required with action resolve' },
          comment: commentSchema,
        },
      },
      response: {
        200: {
          type: 'object', additionalProperties: false, required: ['action', 'applied', 'refused', 'results'],
          properties: { action: { type: 'string', enum: [...BULK_ACTIONS] }, applied: { type: 'integer' }, refused: { type: 'integer' }, results: { type: 'array', items: attachOutcomeSchema } },
        },
        ...routeErrors({}, 400, 404, 409),
      },
    },
  }, async (req, reply) => {
    const b = req.body;
    if (b.action === 'resolve' && b.resolution === undefined) {
      return sendError(reply, 400, { error: 'bad_request', message: 'body field "resolution": a value (it is required with action resolve)', field: 'resolution', expected: `one of ${RESOLUTIONS.join(', ')}` });
    }
    if (b.action === 'attach' && b.case_id === undefined) {
      return sendError(reply, 400, { error: 'bad_request', message: 'body field "case_id": a value (it is required with action attach)', field: 'case_id', expected: 'a case id' });
    }
    if (b.action !== 'attach' && b.case_id !== undefined) {
      return sendError(reply, 400, { error: 'bad_request', message: `body field "case_id": only with action attach`, field: 'case_id', expected: 'no such field with this action (remove it)' });
    }
    const r = await bulkAlerts(ctx.sql, { ids: b.ids, action: b.action, caseId: b.case_id, resolution: b.resolution, comment: b.comment, actor: req.who!.name, atMs: ctx.now() });
    if (!r.ok) return sendError(reply, r.error === 'case_not_found' ? 404 : 409, { error: r.error === 'case_not_found' ? 'not_found' : 'conflict', message: r.message });
    const applied = r.results.filter((x) => x.ok).length;
    return { action: b.action, applied, refused: r.results.length - applied, results: r.results };
  });
}
