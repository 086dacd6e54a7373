/** Alerts: the list, one alert with its evidence and counters, and the case workflow with its audit trail. */
import type { FastifyInstance } from 'fastify';
import { DateTime } from 'luxon';
import { ALERT_SORTS, ALERT_STATUSES, RESOLUTIONS, SEVERITIES, getAlert, listAlerts, moveAlert, type AlertSort, type AlertStatus, type CaseAction, type Resolution } from '../../store/desk/alert-cases.js';
import { SUBJECT_TYPES, listAudit, type SubjectType } from '../../store/desk/audit-log.js';
import { callsByIds, countersOf } from '../../store/desk/subscriber-usage.js';
import { lockOf } from '../../store/desk/account-locks.js';
import { sendError } from '../api-errors.js';
import { commentSchema, idSchema, isoTimeSchema, pageQuery, periodSchema } from '../api-schemas.js';
import { ANALYST, DESK_AND_INVOICING } from '../roles.js';
import type { DeskContext } from '../server.js';
import { alertDisplay, alertTrail, counterDisplay, evidenceRow } from '../alert-detail.js';
import { alertDisplaySchema, alertSchema, auditEventSchema, counterDisplaySchema, evidenceCallSchema, lockSchema, routeErrors } from '../response-schemas.js';

interface ListQuery {
  rule?: string; severity?: string; status?: AlertStatus; client?: string; site?: string; user?: string;
  period?: string; from?: string; to?: string; updated_after?: string; sort: AlertSort; limit: number; offset: number;
}

const ZONE = 'Europe/Paris';

export async function alertRoutes(api: FastifyInstance, ctx: DeskContext): Promise<void> {
  api.get<{ Querystring: ListQuery }>('/alerts', {
    config: { roles: ANALYST },
    schema: {
      summary: 'Alerts, filtered, sorted (severity = most severe then newest), paginated',
      tags: ['alerts'],
      querystring: {
        type: 'object', additionalProperties: false,
        properties: {
          rule: { type: 'string', maxLength: 64 }, severity: { type: 'string', enum: [...SEVERITIES] }, status: { type: 'string', enum: [...ALERT_STATUSES] },
          client: idSchema, site: idSchema, user: idSchema, period: periodSchema, from: isoTimeSchema, to: isoTimeSchema,
          updated_after: { ...isoTimeSchema, description: 'only alerts changed after this instant (the page polls with it)' },
          sort: { type: 'string', enum: [...ALERT_SORTS], default: 'severity' }, ...pageQuery,
        },
      },
      response: {
        200: {
          type: 'object', additionalProperties: false, required: ['total', 'limit', 'offset', 'alerts', 'server_time'],
          properties: {
            total: { type: 'integer' }, limit: { type: 'integer' }, offset: { type: 'integer' }, alerts: { type: 'array', items: alertDisplaySchema },
            server_time: { type: 'string', format: 'date-time', description: "the server's clock: the next poll's updated_after" },
          },
        },
        ...routeErrors({}, 400),
      },
    },
  }, async (req) => {
    const q = req.query;
    let fromMs = q.from === undefined ? undefined : Date.parse(q.from);
    let toMs = q.to === undefined ? undefined : Date.parse(q.to);
    if (q.period !== undefined) {
      const start = DateTime.fromFormat(q.period, 'yyyy-MM', { zone: ZONE });
      fromMs = Math.max(fromMs ?? -Infinity, start.toMillis());
      toMs = Math.min(toMs ?? Infinity, start.plus({ months: 1 }).toMillis());
    }
    const result = await listAlerts(ctx.sql, {
      rule: q.rule, severity: q.severity, status: q.status, client: q.client, site: q.site, user: q.user,
      fromMs, toMs, updatedAfterMs: q.updated_after === undefined ? undefined : Date.parse(q.updated_after),
      sort: q.sort, limit: q.limit, offset: q.offset,
    });
    return { total: result.total, limit: q.limit, offset: q.offset, alerts: result.alerts.map(alertDisplay), server_time: new Date(ctx.now()).toISOString() };
  });

  api.get<{ Params: { id: string } }>('/alerts/:id', {
    config: { roles: ANALYST },
    schema: { summary: 'One alert with its evidence (rated calls), the counters of its subscriber for the month, its lock and audit trail', tags: ['alerts'], params: { type: 'object', properties: { id: idSchema }, required: ['id'] },
      response: {
        200: {
          type: 'object', additionalProperties: false, required: ['alert', 'period', 'account', 'lock', 'evidence', 'counters', 'audit'],
          properties: {
            alert: alertDisplaySchema, period: { type: 'string', description: 'the month of its first_seen (Europe/Paris), YYYY-MM' },
            account: { type: 'string', nullable: true, description: 'the account of its evidence; null without evidence' },
            lock: { ...lockSchema, nullable: true, description: "the account's lock; null when it has none" },
            evidence: { type: 'array', items: evidenceCallSchema }, counters: { type: 'array', items: counterDisplaySchema }, audit: { type: 'array', items: auditEventSchema },
          },
        },
        ...routeErrors({}, 400, 404),
      },
    },
  }, async (req, reply) => {
    const alert = await getAlert(ctx.sql, req.params.id);
    if (alert === undefined) return sendError(reply, 404, { error: 'not_found', message: `no alert ${req.params.id}` });
    const period = DateTime.fromISO(alert.first_seen, { zone: ZONE }).toFormat('yyyy-MM');
    const [evidence, counters] = await Promise.all([
      callsByIds(ctx.sql, alert.cdr_ids),
      // A client-wide alert (no site, no user) shows the client's counters.
      countersOf(ctx.sql, { client: alert.client_id, site: alert.site_id || undefined, user: alert.user_id || undefined }, period),
    ]);
    const account = evidence[0]?.account;
    const [lock, audit] = await Promise.all([
      account === undefined ? undefined : lockOf(ctx.sql, account),
      alertTrail(ctx.sql, alert.alert_id, account),
    ]);
    return {
      alert: alertDisplay(alert), period, account: account ?? null, lock: lock ?? null,
      evidence: evidence.map(evidenceRow),
      counters: counters.map(counterDisplay),
      audit,
    };
  });

  const move = (action: CaseAction, summary: string, withResolution: boolean) =>
    api.post<{ Params: { id: string }; Body: { comment: string; resolution?: Resolution } }>(`/alerts/:id/${action}`, {
      config: { roles: ANALYST },
      schema: {
        summary, tags: ['alerts'],
        params: { type: 'object', properties: { id: idSchema }, required: ['id'] },
        body: {
          type: 'object', additionalProperties: false,
          properties: { comment: commentSchema, ...(withResolution ? { resolution: { type: 'string', enum: [...RESOLUTIONS] } } : {}) },
          required: withResolution ? ['comment', 'resolution'] : ['comment'],
        },
        response: { 200: alertSchema, ...routeErrors({}, 400, 404, 409) },
      },
    }, async (req, reply) => {
      const result = await moveAlert(ctx.sql, { alertId: req.params.id, action, actor: req.who!.name, comment: req.body.comment, resolution: req.body.resolution, atMs: ctx.now() });
      if (!result.ok && result.reason === 'not_found') return sendError(reply, 404, { error: 'not_found', message: `no alert ${req.params.id}` });
      if (!result.ok) return sendError(reply, 409, { error: 'conflict', message: `alert is ${result.status}; ${action} applies to an alert that is ${result.allowedFrom.join(' or ')}` });
      return result.alert;
    });
  move('acknowledge', 'Acknowledge an open alert (someone is on it)', false);
  move('resolve', 'Resolve an open or acknowledged alert, with a resolution', true);
  move('reopen', 'Reopen an acknowledged or resolved alert', false);

  api.get<{ Querystring: { subject_type?: SubjectType; subject_id?: string; limit: number; offset: number } }>('/audit', {
    config: { roles: DESK_AND_INVOICING },
    schema: {
      summary: 'The audit trail (append-only: there is no route to change it), oldest first', tags: ['audit'],
      querystring: { type: 'object', additionalProperties: false, properties: { subject_type: { type: 'string', enum: [...SUBJECT_TYPES] }, subject_id: { type: 'string', maxLength: 200 }, ...pageQuery } },
      response: { 200: { type: 'object', additionalProperties: false, required: ['events'], properties: { events: { type: 'array', items: auditEventSchema } } }, ...routeErrors({}, 400) },
    },
  }, async (req) => ({ events: await listAudit(ctx.sql, { subjectType: req.query.subject_type, subjectId: req.query.subject_id, limit: req.query.limit, offset: req.query.offset }) }));
}
