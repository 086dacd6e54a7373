/** The detailed statement of a client month (« relevé détaillé des communications »), as HTML (role invoicing). */
import type { FastifyInstance } from 'fastify';
import { StatementMismatch } from '../../core/invoice/statement.js';
import { makeStatement } from '../../invoice/make-statement.js';
import { statementHtml } from '../../invoice/statement-html.js';
import { sendError } from '../api-errors.js';
import { idSchema, periodSchema } from '../api-schemas.js';
import { INVOICING } from '../roles.js';
import type { DeskContext } from '../server.js';
import { routeErrors, textResponse } from '../response-schemas.js';

/**
 * The document has no script and loads nothing: a policy that forbids both keeps an escaping mistake
 * from ever running code in the reader's browser.
 */
const CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'";

export async function statementRoutes(api: FastifyInstance, ctx: DeskContext): Promise<void> {
  api.get<{ Params: { client: string; period: string } }>('/statements/:client/:period', {
    config: { roles: INVOICING },
    schema: {
      summary: 'The detailed statement of a client month (HTML, French): plans, counters against thresholds, sanctions with their clause, every billed call with the called number masked, totals of the invoice',
      tags: ['invoicing'],
      params: { type: 'object', properties: { client: idSchema, period: periodSchema }, required: ['client', 'period'] },
      response: {
        200: textResponse('text/html', 'the statement, a self-contained HTML document (no script, nothing loaded)'),
        ...routeErrors({}, 400, 404, 500),
      },
    },
  }, async (req, reply) => {
    const { client, period } = req.params;
    if (!ctx.known.knows(client)) return sendError(reply, 404, { error: 'not_found', message: `no client ${client} in the subscriber directory` });
    let statement;
    try {
      statement = await makeStatement(ctx.sql, ctx.invoicing, ctx.plans, client, period);
    } catch (e) {
      // Not a request error: the store no longer agrees with an issued invoice. Say so rather than a bare 500.
      if (!(e instanceof StatementMismatch)) throw e;
      req.log.error({ client, period }, e.message);
      return sendError(reply, 500, { error: 'statement_mismatch', message: e.message });
    }
    return reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('content-disposition', `inline; filename="statement-${client}-${period}.html"`)
      .send(statementHtml(statement));
  });
}
