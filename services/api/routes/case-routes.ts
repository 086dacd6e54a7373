/**
 * Cases: made by hand from alerts or by the automatic grouping, listed, opened with their money at risk
 * and timeline, moved new → investigating → resolved, given an owner, commented, grown and shrunk.
 * Every change is audited (subject_type 'case'); analysts (and admins) only.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { idSchema, commentSchema, pageQuery } from '../api-schemas.js';
import { sendError } from '../api-errors.js';
import { ANALYST } from '../roles.js';
import type { DeskContext } from '../server.js';
import { withDisplayAmounts } from '../display-amounts.js';
import {
  CASE_RESOLUTIONS, CASE_STATES, assignCase, attachIn, caseRow, commentCase, createCaseIn, detachIn, getCase, listCases, moveCase,
  type CaseChange, type CaseMoveAction, type CaseResolution, type CaseState,
} from '../../store/desk/fraud-cases.js';
import { groupAlerts } from '../../store/desk/case-grouping.js';
import { moneyAtRisk } from '../../store/desk/case-exposure.js';
import { caseTimeline } from '../../store/desk/case-timeline.js';
import { listAudit } from '../../store/desk/audit-log.js';
import { getAlert, type AlertView } from '../../store/desk/alert-cases.js';
import { alertSchema, attachOutcomeSchema, auditEventSchema, caseSchema, routeErrors, moneyAtRiskSchema, timelineEntrySchema } from '../response-schemas.js';

const caseParams = { type: 'object', properties: { id: idSchema }, required: ['id'] } as const;
const alertIdsSchema = { type: 'array', items: idSchema, minItems: 1, maxItems: 200, uniqueItems: true } as const;
const TAGS = ['cases'];
const MAX_TIMELINE_CALLS = 1000;

function answerChange(reply: FastifyReply, id: string, r: CaseChange): unknown {
  if (r.ok) return r.case;
  if (r.reason === 'not_found') return sendError(reply, 404, { error: 'not_found', message: `no case ${id}` });
  if (r.reason === 'bad_owner') return sendError(reply, 400, { error: 'bad_request', message: r.message, field: 'owner', expected: "the name of an analyst's token, or '' for nobody" });
  return sendError(reply, 409, { error: 'conflict', message: r.message });
}

export async function caseRoutes(api: FastifyInstance, ctx: DeskContext): Promise<void> {
  api.get<{ Querystring: { state?: CaseState; client?: string; owner?: string; limit: number; offset: number } }>('/cases', {
    config: { roles: ANALYST },
    schema: {
      summary: 'Cases, the most recently changed first', tags: TAGS,
      querystring: { type: 'object', additionalProperties: false, properties: { state: { type: 'string', enum: [...CASE_STATES] }, client: idSchema, owner: idSchema, ...pageQuery } },
      response: { 200: { type: 'object', required: ['total', 'limit', 'offset', 'cases'], properties: { total: { type: 'integer' }, limit: { type: 'integer' }, offset: { type: 'integer' }, cases: { type: 'array', items: caseSchema } } }, ...routeErrors({}, 400) },
    },
  }, async (req) => {
    const q = req.query;
    const r = await listCases(ctx.sql, { state: q.state, client: q.client, owner: q.owner, limit: q.limit, offset: q.offset });
    return { total: r.total, limit: q.limit, offset: q.offset, cases: r.cases };
  });

  api.post<{ Body: { alert_ids: string[]; title?: string; comment: string } }>('/cases', {
    config: { roles: ANALYST },
    schema: {
      summary: "A case made by hand of alerts of one client, none of them in a case yet (all of them, or none and why)", tags: TAGS,
      body: { type: 'object', additionalProperties: false, required: ['alert_ids', 'comment'], properties: { alert_ids: alertIdsSchema, title: { type: 'string', minLength: 1, maxLength: 200 }, comment: commentSchema } },
      response: { 201: caseSchema, ...routeErrors({}, 400, 404, 409) },
    },
  }, async (req, reply) => {
    const r = await ctx.sql.transaction((tx) => createCaseIn(tx, { alertIds: req.body.alert_ids, title: req.body.title, actor: req.who!.name, comment: req.body.comment, atMs: ctx.now(), action: 'create' }));
    if (r.ok) return reply.code(201).send(r.case);
    if (r.error === 'not_found') return sendError(reply, 404, { error: 'not_found', message: r.message });
    if (r.error === 'several_clients') return sendError(reply, 400, { error: 'bad_request', message: r.message, field: 'alert_ids', expected: 'alerts of one client' });
    return sendError(reply, 409, { error: 'conflict', message: r.message });
  });

  api.post<{ Body: { comment?: string } }>('/cases/group', {
    config: { roles: ANALYST },
    schema: {
      summary: 'Groups the worked alerts into cases now: same client (and user), windows overlapping or at most case_grouping.gap_minutes apart', tags: TAGS,
      body: { type: 'object', additionalProperties: false, properties: { comment: commentSchema } },
      response: {
        200: {
          type: 'object', required: ['gap_minutes', 'created', 'attached'],
          properties: {
            gap_minutes: { type: 'number' }, created: { type: 'array', items: caseSchema },
            attached: { type: 'array', items: { type: 'object', required: ['case_id', 'alert_ids'], properties: { case_id: { type: 'string' }, alert_ids: { type: 'array', items: { type: 'string' } } } } },
          },
        },
        ...routeErrors({}, 400),
      },
    },
  }, async (req) => {
    const r = await groupAlerts(ctx.sql, { gapMs: ctx.caseGapMs, actor: req.who!.name, comment: req.body?.comment ?? 'grouped automatically', atMs: ctx.now() });
    return { gap_minutes: ctx.caseGapMs / 60_000, ...r };
  });

  api.get<{ Params: { id: string } }>('/cases/:id', {
    config: { roles: ANALYST },
    schema: {
      summary: 'One case: its alerts, what it puts at risk (out-of-bundle spend, premium and international minutes in its window) and its audit trail', tags: TAGS,
      params: caseParams,
      response: {
        200: {
          type: 'object', required: ['case', 'alerts', 'money_at_risk', 'audit'],
          properties: { case: caseSchema, alerts: { type: 'array', items: alertSchema }, money_at_risk: { ...moneyAtRiskSchema, nullable: true }, audit: { type: 'array', items: auditEventSchema } },
        },
        ...routeErrors({}, 404),
      },
    },
  }, async (req, reply) => {
    const c = await getCase(ctx.sql, req.params.id);
    if (c === undefined) return sendError(reply, 404, { error: 'not_found', message: `no case ${req.params.id}` });
    const alerts = await listAlertsByIds(ctx, c.alert_ids);
    const money = c.window_start === null || c.window_end === null ? null
      : await moneyAtRisk(ctx.sql, { client: c.client_id, site: c.site_id, user: c.user_id }, Date.parse(c.window_start), Date.parse(c.window_end));
    const audit = await listAudit(ctx.sql, { subjectType: 'case', subjectId: c.case_id, limit: 500, offset: 0 });
    return { case: c, alerts, money_at_risk: money, audit };
  });

  api.get<{ Params: { id: string }; Querystring: { calls: number } }>('/cases/:id/timeline', {
    config: { roles: ANALYST },
    schema: {
      summary: "A case's story in time order: its alerts, the calls of its window (the first `calls`, with the count of all), comments and actions", tags: TAGS,
      params: caseParams,
      querystring: { type: 'object', additionalProperties: false, properties: { calls: { type: 'integer', minimum: 0, maximum: MAX_TIMELINE_CALLS, default: 200 } } },
      response: {
        200: { type: 'object', required: ['case_id', 'calls_total', 'calls_shown', 'entries'], properties: { case_id: { type: 'string' }, calls_total: { type: 'integer' }, calls_shown: { type: 'integer' }, entries: { type: 'array', items: timelineEntrySchema } } },
        ...routeErrors({}, 400, 404),
      },
    },
  }, async (req, reply) => {
    const c = await getCase(ctx.sql, req.params.id);
    if (c === undefined) return sendError(reply, 404, { error: 'not_found', message: `no case ${req.params.id}` });
    const t = await caseTimeline(ctx.sql, c, req.query.calls);
    const entries = t.entries.map((e) => (e.kind === 'call' ? { ...e, call: withDisplayAmounts(e.call, ['amount']) } : e));
    return { case_id: c.case_id, calls_total: t.calls_total, calls_shown: t.calls_shown, entries };
  });

  const move = (action: CaseMoveAction, summary: string, withResolution: boolean) =>
    api.post<{ Params: { id: string }; Body: { comment: string; resolution?: CaseResolution } }>(`/cases/:id/${action}`, {
      config: { roles: ANALYST },
      schema: {
        summary, tags: TAGS, params: caseParams,
        body: {
          type: 'object', additionalProperties: false,
          properties: { comment: commentSchema, ...(withResolution ? { resolution: { type: 'string', enum: [...CASE_RESOLUTIONS] } } : {}) },
          required: withResolution ? ['comment', 'resolution'] : ['comment'],
        },
        response: { 200: caseSchema, ...routeErrors({}, 400, 404, 409) },
      },
    }, async (req, reply) =>
      answerChange(reply, req.params.id, await moveCase(ctx.sql, { caseId: req.params.id, action, actor: req.who!.name, comment: req.body.comment, resolution: req.body.resolution, atMs: ctx.now() })));
  move('investigate', 'Start investigating a new case', false);
  move('resolve', 'Resolve a new or investigated case with a resolution; its alerts not yet resolved are resolved with it', true);
  move('reopen', 'Reopen a resolved case (it is investigated again); its alerts stay as they are', false);

  api.put<{ Params: { id: string }; Body: { owner: string; comment: string } }>('/cases/:id/owner', {
    config: { roles: ANALYST },
    schema: {
      summary: "Give the case to an analyst (the name of an analyst's or admin's token), or to nobody with ''", tags: TAGS, params: caseParams,
      body: { type: 'object', additionalProperties: false, required: ['owner', 'comment'], properties: { owner: { type: 'string', maxLength: 128 }, comment: commentSchema } },
      response: { 200: caseSchema, ...routeErrors({}, 400, 404) },
    },
  }, async (req, reply) => answerChange(reply, req.params.id, await assignCase(ctx.sql, { caseId: req.params.id, owner: req.body.owner, actor: req.who!.name, comment: req.body.comment, atMs: ctx.now() })));

  api.post<{ Params: { id: string }; Body: { comment: string } }>('/cases/:id/comments', {
    config: { roles: ANALYST },
    schema: {
      summary: 'A comment on the case (an audit event; the case stays as it is)', tags: TAGS, params: caseParams,
      body: { type: 'object', additionalProperties: false, required: ['comment'], properties: { comment: commentSchema } },
      response: { 200: caseSchema, ...routeErrors({}, 400, 404) },
    },
  }, async (req, reply) => answerChange(reply, req.params.id, await commentCase(ctx.sql, { caseId: req.params.id, actor: req.who!.name, comment: req.body.comment, atMs: ctx.now() })));

  const membership = (what: 'attach' | 'detach', summary: string) =>
    api.post<{ Params: { id: string }; Body: { alert_ids: string[]; comment: string } }>(`/cases/:id/${what}`, {
      config: { roles: ANALYST },
      schema: {
        summary, tags: TAGS, params: caseParams,
        body: { type: 'object', additionalProperties: false, required: ['alert_ids', 'comment'], properties: { alert_ids: alertIdsSchema, comment: commentSchema } },
        response: {
          200: { type: 'object', required: ['case', 'results'], properties: { case: caseSchema, results: { type: 'array', items: attachOutcomeSchema } } },
          ...routeErrors({}, 400, 404, 409),
        },
      },
    }, async (req, reply) => {
      const id = req.params.id;
      const r = await ctx.sql.transaction(async (tx) => {
        const target = await caseRow(tx, id);
        if (target === undefined) return { error: 404 as const, message: `no case ${id}` };
        if (target.state === 'resolved') return { error: 409 as const, message: `case ${id} is resolved; reopen it first` };
        const results = what === 'attach'
          ? await attachIn(tx, target, req.body.alert_ids, req.who!.name, req.body.comment, ctx.now())
          : await detachIn(tx, target, req.body.alert_ids, req.who!.name, req.body.comment, ctx.now());
        return { results, case: (await getCase(tx, id))! };
      });
      if (r.error !== undefined) return sendError(reply, r.error, { error: r.error === 404 ? 'not_found' : 'conflict', message: r.message });
      return { case: r.case, results: r.results };
    });
  membership('attach', 'Attach alerts of the same client, not in another case; per alert, whether it was attached and why not');
  membership('detach', 'Take alerts out of the case; per alert, whether it was detached');
}

async function listAlertsByIds(ctx: DeskContext, ids: readonly string[]): Promise<AlertView[]> {
  const alerts = await Promise.all(ids.map((id) => getAlert(ctx.sql, id)));
  return alerts.filter((a): a is AlertView => a !== undefined);
}
