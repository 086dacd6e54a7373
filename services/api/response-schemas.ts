/**
 * The bodies the case, search and bulk routes answer, as JSON schemas: fastify serialises with them
 * (a field missing here is not sent) and the OpenAPI document shows them, so the contract and the
 * answers cannot drift apart. test/api/openapi-contract.test.ts validates real answers against it.
 */
import { errorSchema } from './api-errors.js';
import { ALERT_STATUSES, SEVERITIES } from '../store/desk/alert-cases.js';
import { SUBJECT_TYPES } from '../store/desk/audit-log.js';
import { CASE_STATES } from '../store/desk/fraud-cases.js';

const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const time = { type: 'string', format: 'date-time' } as const;
const nullableTime = { type: 'string', format: 'date-time', nullable: true } as const;
const decimal = (description: string) => ({ type: 'string', pattern: '^-?\\d+(\\.\\d+)?$', description }) as const;

function object<P extends Record<string, unknown>>(properties: P, description?: string) {
  return { type: 'object', additionalProperties: false, properties, required: Object.keys(properties), ...(description ? { description } : {}) } as const;
}

export const alertSchema = object({
  alert_id: str, rule: str, severity: { type: 'string', enum: [...SEVERITIES] }, client_id: str, site_id: str, user_id: str,
  first_seen: time, last_seen: time, created_at: nullableTime, updated_at: nullableTime,
  value: decimal('measured value'), threshold: decimal('threshold crossed'), message: str,
  status: { type: 'string', enum: [...ALERT_STATUSES] }, resolution: str, cdr_ids: { type: 'array', items: str },
});

export const callSchema = object({
  cdr_id: str, seq: int, client_id: str, site_id: str, user_id: str, account: str, period: str, start_time: time,
  caller: str, callee: str, destination_class: str, country: str, billable_seconds: int, disposition: str, direction: str, leg: str,
  in_bundle: { type: 'boolean' }, priced_seconds: int, amount: decimal('price, exact'), first_amount: decimal('price when first rated'),
  currency: str, reason: str, explanation: str, amount_display: decimal('amount to the cent, half up'),
});

export const auditEventSchema = object({
  event_id: int, at: time, actor: str, subject_type: { type: 'string', enum: [...SUBJECT_TYPES] }, subject_id: str,
  action: str, from: str, to: str, detail: str, comment: str,
});

export const caseSchema = object({
  case_id: { type: 'string', pattern: '^case-[0-9a-f]{12}$' }, client_id: str,
  site_id: { type: 'string', description: "the site all its alerts share; '' when they differ" },
  user_id: { type: 'string', description: "the user all its alerts share; '' when they differ or name none" },
  title: str, state: { type: 'string', enum: [...CASE_STATES] }, resolution: { type: 'string', description: "'' unless resolved" },
  owner: { type: 'string', description: "the analyst on it; '' for nobody" }, created_by: str, created_at: time, updated_at: time,
  alert_ids: { type: 'array', items: str }, severity: { type: 'string', enum: ['', ...SEVERITIES] },
  window_start: nullableTime, window_end: nullableTime,
});

export const moneyAtRiskSchema = object({
  window_start: time, window_end: time, currency: { type: 'string', enum: ['EUR'] },
  out_of_bundle_spend: decimal('sum of the amounts of the out-of-bundle calls in the window, exact, EUR'),
  out_of_bundle_spend_display: decimal('the same to the cent'),
  out_of_bundle_calls: int, premium_minutes: decimal('minutes to premium-rate and paid short numbers, to the hundredth'), premium_calls: int,
  international_minutes: decimal('minutes to international destinations, to the hundredth'), international_calls: int,
  calls: int, other_currency_calls: { type: 'integer', description: 'out-of-bundle calls priced in another currency (not in the sum)' },
}, 'what the case puts at risk: the rated calls of its scope in [window_start, window_end]');

export const timelineEntrySchema = {
  type: 'object', additionalProperties: false, required: ['at', 'kind'],
  description: 'one of alert, call or event, by kind',
  properties: { at: time, kind: { type: 'string', enum: ['alert', 'call', 'action', 'comment'] }, alert: alertSchema, call: callSchema, event: auditEventSchema },
} as const;

export const attachOutcomeSchema = {
  type: 'object', additionalProperties: false, required: ['alert_id', 'ok'],
  properties: { alert_id: str, ok: { type: 'boolean' }, status: str, case_id: str, error: str, message: str },
} as const;

/** The error answers a route may give, each with the one error shape. */
export function errorResponses(...codes: (400 | 401 | 403 | 404 | 409)[]): Record<number, unknown> {
  const why: Record<number, string> = {
    400: 'the request is malformed: which field and what was expected', 401: 'no token, or an unknown or revoked one',
    403: "the token's role may not call this", 404: 'no such case or alert', 409: 'the case or alert is not in a state this applies to',
  };
  return Object.fromEntries(codes.map((c) => [c, { ...errorSchema, description: why[c] }]));
}
