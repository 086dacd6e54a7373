/** Usage, invoices and month close (role invoicing). */
import type { FastifyInstance } from 'fastify';
import { closesOf } from '../../store/desk/invoice-rows.js';
import { closeMonth, makeInvoice } from '../../invoice/make-invoice.js';
import { invoiceCsv } from '../../invoice/invoice-csv.js';
import { sendError } from '../api-errors.js';
import { idSchema, periodSchema } from '../api-schemas.js';
import { INVOICING } from '../roles.js';
import type { DeskContext } from '../server.js';
import { invoiceLineSchema, invoiceSchema, invoiceTotalsSchema, routeErrors } from '../response-schemas.js';

const clientPeriod = { type: 'object', properties: { client: idSchema, period: periodSchema }, required: ['client', 'period'] } as const;

export async function invoiceRoutes(api: FastifyInstance, ctx: DeskContext): Promise<void> {
  const knownClient = (client: string) => ctx.known.knows(client);
  // One computation per client month and version of the store, whoever asks (invoice, usage, CSV).
  const invoiceOf = (client: string, period: string) => ctx.monthAnswers.get(`invoice|${client}|${period}`, client, () => makeInvoice(ctx.sql, ctx.invoicing, client, period));

  api.get<{ Params: { client: string; period: string }; Querystring: { format: 'json' | 'csv' } }>('/invoices/:client/:period', {
    config: { roles: INVOICING },
    schema: {
      summary: 'The invoice of a client month: usage by destination class and country, sanctions, late calls, adjustments, totals', tags: ['invoicing'],
      params: clientPeriod,
      querystring: { type: 'object', additionalProperties: false, properties: { format: { type: 'string', enum: ['json', 'csv'], default: 'json' } } },
      response: {
        200: {
          description: 'the invoice (format=json), or the same as CSV (format=csv, an attachment)',
          content: { 'application/json': { schema: invoiceSchema }, 'text/csv': { schema: { type: 'string' } } },
        },
        ...routeErrors({}, 400, 404),
      },
    },
  }, async (req, reply) => {
    if (!knownClient(req.params.client)) return sendError(reply, 404, { error: 'not_found', message: `no client ${req.params.client} in the subscriber directory` });
    const invoice = await invoiceOf(req.params.client, req.params.period);
    if (req.query.format === 'csv') {
      reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="invoice-${req.params.client}-${req.params.period}.csv"`);
      return invoiceCsv(invoice);
    }
    return invoice;
  });

  api.get<{ Params: { client: string; period: string } }>('/usage/:client/:period', {
    config: { roles: INVOICING },
    schema: {
      summary: "A client's usage for a month as it stands (an open month moves with new CDRs)", tags: ['invoicing'], params: clientPeriod,
      response: {
        200: {
          type: 'object', additionalProperties: false, required: ['client_id', 'period', 'status', 'currency', 'lines', 'totals'],
          properties: {
            client_id: invoiceSchema.properties.client_id, period: invoiceSchema.properties.period, status: invoiceSchema.properties.status, currency: invoiceSchema.properties.currency,
            lines: { type: 'array', items: invoiceLineSchema, description: 'the usage and sanction lines' }, totals: invoiceTotalsSchema,
          },
        },
        ...routeErrors({}, 400, 404),
      },
    },
  }, async (req, reply) => {
    if (!knownClient(req.params.client)) return sendError(reply, 404, { error: 'not_found', message: `no client ${req.params.client} in the subscriber directory` });
    const invoice = await invoiceOf(req.params.client, req.params.period);
    return { client_id: invoice.client_id, period: invoice.period, status: invoice.status, currency: invoice.currency, lines: invoice.lines.filter((l) => l.kind === 'usage' || l.kind === 'sanction'), totals: invoice.totals };
  });

  api.get<{ Params: { client: string } }>('/months/:client', {
    config: { roles: INVOICING },
    schema: {
      summary: "A client's closed months", tags: ['invoicing'], params: { type: 'object', properties: { client: idSchema }, required: ['client'] },
      response: {
        200: {
          type: 'object', additionalProperties: false, required: ['client_id', 'closed'],
          properties: {
            client_id: { type: 'string' },
            closed: {
              type: 'array', description: 'oldest first',
              items: {
                type: 'object', additionalProperties: false, required: ['period', 'closed_at', 'closed_by', 'last_rated_seq', 'last_adjustment_seq'],
                properties: { period: { type: 'string' }, closed_at: { type: 'string', format: 'date-time' }, closed_by: { type: 'string' }, last_rated_seq: { type: 'integer' }, last_adjustment_seq: { type: 'integer' } },
              },
            },
          },
        },
        ...routeErrors({}, 400, 404),
      },
    },
  }, async (req, reply) => {
    if (!knownClient(req.params.client)) return sendError(reply, 404, { error: 'not_found', message: `no client ${req.params.client} in the subscriber directory` });
    const closes = [...(await closesOf(ctx.sql, req.params.client)).values()].sort((a, b) => a.period.localeCompare(b.period));
    return { client_id: req.params.client, closed: closes.map((c) => ({ period: c.period, closed_at: c.closedAt, closed_by: c.closedBy, last_rated_seq: c.lastRatedSeq, last_adjustment_seq: c.lastAdjustmentSeq })) };
  });

  api.post<{ Params: { client: string; period: string } }>('/months/:client/:period/close', {
    config: { roles: INVOICING },
    schema: {
      summary: 'Close a client month: its invoice never changes after; later rows go on the next open month', tags: ['invoicing'], params: clientPeriod,
      response: {
        201: {
          type: 'object', additionalProperties: false,
          required: ['client_id', 'period', 'closed_at', 'closed_by', 'invoice_number', 'total_ht', 'vat', 'total_ttc', 'currency'],
          properties: {
            client_id: { type: 'string' }, period: { type: 'string' }, closed_at: invoiceSchema.properties.closed_at, closed_by: invoiceSchema.properties.closed_by,
            invoice_number: invoiceSchema.properties.invoice_number, total_ht: invoiceTotalsSchema.properties.total_ht, vat: invoiceTotalsSchema.properties.vat,
            total_ttc: invoiceTotalsSchema.properties.total_ttc, currency: { type: 'string' },
          },
        },
        ...routeErrors({}, 400, 404, 409),
      },
    },
  }, async (req, reply) => {
    if (!knownClient(req.params.client)) return sendError(reply, 404, { error: 'not_found', message: `no client ${req.params.client} in the subscriber directory` });
    const result = await closeMonth(ctx.sql, ctx.invoicing, req.params.client, req.params.period, req.who!.name, ctx.now());
    if (!result.closed) return sendError(reply, 409, { error: 'conflict', message: `${req.params.client} ${req.params.period} was already closed at ${result.close.closedAt} by ${result.close.closedBy}` });
    return reply.code(201).send({ client_id: req.params.client, period: req.params.period, closed_at: result.invoice.closed_at, closed_by: result.invoice.closed_by, invoice_number: result.invoice.invoice_number, total_ht: result.invoice.totals.total_ht, vat: result.invoice.totals.vat, total_ttc: result.invoice.totals.total_ttc, currency: result.invoice.currency });
  });
}
