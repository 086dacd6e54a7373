/**
 * The switch asks before each call (role `switch`): POST /api/v1/authorize with JSON for an SBC or an
 * application server, GET with a query string for a dial plan (Kamailio's http_client, Asterisk's
 * CURL(), FreeSWITCH's mod_curl), whose answer is the status (200 relay, 403 refuse) and one plain line,
 * `allow <reason>` or `deny <reason>`. The end-of-call notice (call-end) frees the call's channel.
 *
 * The answers come from memory (switch/call-authorizer.ts): no store read on this path.
 */
import type { FastifyInstance } from 'fastify';
import { ALLOW_REASONS, DENY_REASONS } from '../../core/fraud/call-authorization.js';
import { listDecisions } from '../../store/desk/call-decisions.js';
import { ANALYST, SWITCH } from '../roles.js';
import type { DeskContext } from '../server.js';
import { routeErrors, textResponse } from '../response-schemas.js';
import { errorSchema } from '../api-errors.js';
import type { SetupQuestion } from '../switch/call-authorizer.js';

/** What a switch sends: numbers as dialled or presented (normalised here), its own call id. */
const numberField = { type: 'string', maxLength: 64 } as const;
const questionProperties = {
  account: { type: 'string', maxLength: 128, description: 'the SIP account, trunk or line; the caller number finds the subscriber when it is not a known account' },
  caller: { ...numberField, description: 'the presented caller number' },
  callee: { ...numberField, minLength: 1, description: 'the dialled number, as dialled or in E.164' },
  call_id: { type: 'string', maxLength: 256, description: 'the SIP Call-ID (or the switch\'s unique id): its end notice names it; without it the call is not counted as in progress' },
  time: { type: 'string', maxLength: 40, description: 'when the switch asked (informational: the server counts setups by its own clock)' },
} as const;
const questionSchema = { type: 'object', additionalProperties: false, required: ['account', 'callee'], properties: questionProperties } as const;

const answerSchema = {
  type: 'object', additionalProperties: false, required: ['decision', 'reason', 'detail', 'account', 'client_id', 'callee', 'destination', 'fair_use'],
  properties: {
    decision: { type: 'string', enum: ['allow', 'deny'] },
    reason: { type: 'string', enum: [...ALLOW_REASONS, ...DENY_REASONS] },
    detail: { type: 'string' },
    account: { type: 'string', description: "the subscriber's account (the one asked, when unknown)" },
    client_id: { type: 'string', description: 'empty when the subscriber is unknown' },
    callee: { type: 'string', description: 'the callee as normalised (E.164 or short digits)' },
    destination: { type: 'string', description: 'its destination class (emergency, international, fr_premium, …)' },
    fair_use: {
      type: 'array', items: { type: 'string' },
      description: "the month's fair-use rules whose threshold the subscriber's scope has crossed: the contracts then meter its calls (« suspendre l'illimité »), they do not bar them (re-read every 10 s)",
    },
  },
} as const;

interface Question {
  account: string;
  caller?: string;
  callee: string;
  call_id?: string;
  time?: string;
}

const asked = (q: Question): SetupQuestion => ({ account: q.account, caller: q.caller ?? '', callee: q.callee, callId: q.call_id ?? '' });

export async function authorizeRoutes(api: FastifyInstance, ctx: DeskContext): Promise<void> {
  const switchRoute = { roles: SWITCH, inFlightPool: 'switch' } as const;

  api.post<{ Body: Question }>('/authorize', {
    config: switchRoute,
    schema: {
      summary: 'May this call be relayed? Asked by the switch at call setup; emergency numbers are always allowed', tags: ['switch'],
      body: questionSchema,
      response: { 200: answerSchema, ...routeErrors({}, 400) },
    },
  }, async (req) => ctx.authorizer.authorize(asked(req.body)));

  api.get<{ Querystring: Question }>('/authorize', {
    config: switchRoute,
    schema: {
      summary: 'The same question for a dial plan: 200 "allow <reason>" to relay, 403 "deny <reason>" to refuse (text/plain)', tags: ['switch'],
      querystring: questionSchema,
      response: {
        200: textResponse('text/plain', '"allow ok" or "allow emergency"'),
        ...routeErrors({}, 400),
        // The refusal is the answer a dial plan tests, in its one line; a token of another role gets the JSON error.
        403: {
          description: '"deny <reason>" (lock_foreign, setup_rate, simultaneous_calls, …) as text/plain; the JSON error when the token may not ask',
          content: { 'text/plain': { schema: { type: 'string' } }, 'application/json': { schema: errorSchema } },
        },
      },
    },
  }, async (req, reply) => {
    const a = ctx.authorizer.authorize(asked(req.query));
    reply.code(a.decision === 'allow' ? 200 : 403).type('text/plain; charset=utf-8');
    return `${a.decision} ${a.reason}\n`;
  });

  const ended = async (callId: string) => ({ ended: ctx.authorizer.callEnded(callId) });
  const endSchema = { type: 'object', additionalProperties: false, required: ['call_id'], properties: { call_id: { type: 'string', minLength: 1, maxLength: 256 } } } as const;
  const endAnswer = { type: 'object', additionalProperties: false, required: ['ended'], properties: { ended: { type: 'boolean', description: 'false when the call was not in progress (ended already, timed out or never let through)' } } } as const;
  api.post<{ Body: { call_id: string } }>('/call-end', {
    config: switchRoute,
    schema: { summary: "A call let through has ended: it no longer counts against the account's simultaneous calls", tags: ['switch'], body: endSchema, response: { 200: endAnswer, ...routeErrors({}, 400) } },
  }, async (req) => ended(req.body.call_id));
  api.get<{ Querystring: { call_id: string } }>('/call-end', {
    config: switchRoute,
    schema: { summary: 'The same notice for a dial plan (query string)', tags: ['switch'], querystring: endSchema, response: { 200: endAnswer, ...routeErrors({}, 400) } },
  }, async (req) => ended(req.query.call_id));

  api.get<{ Querystring: { account?: string; client?: string; limit: number } }>('/call-decisions', {
    config: { roles: ANALYST },
    schema: {
      summary: 'Setups the switch was told to refuse, newest first: the evidence of calls that never happened', tags: ['switch'],
      querystring: {
        type: 'object', additionalProperties: false,
        properties: { account: { type: 'string', maxLength: 128 }, client: { type: 'string', maxLength: 128 }, limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 } },
      },
      response: {
        200: {
          type: 'object', additionalProperties: false, required: ['decisions'],
          properties: {
            decisions: {
              type: 'array',
              items: {
                type: 'object', additionalProperties: false, required: ['at', 'account', 'client_id', 'caller', 'callee', 'call_id', 'decision', 'reason', 'detail'],
                properties: {
                  at: { type: 'string', format: 'date-time' }, account: { type: 'string' }, client_id: { type: 'string' }, caller: { type: 'string' }, callee: { type: 'string' },
                  call_id: { type: 'string' }, decision: { type: 'string', enum: ['allow', 'deny'] }, reason: { type: 'string' }, detail: { type: 'string' },
                },
              },
            },
          },
        },
        ...routeErrors({}, 400),
      },
    },
  }, async (req) => ({ decisions: await listDecisions(ctx.sql, { account: req.query.account, clientId: req.query.client, limit: req.query.limit }) }));
}
