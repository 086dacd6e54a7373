/**
 * The bodies the routes answer, as JSON schemas: fastify serialises with them
 * (a field missing here is not sent) and the OpenAPI document shows them, so the contract and the
 * answers cannot drift apart. test/api/openapi-contract.test.ts validates real answers against it.
 */
import { errorSchema } from './api-errors.js';
import { ALERT_STATUSES, SEVERITIES } from '../store/desk/alert-cases.js';
import { SUBJECT_TYPES } from '../store/desk/audit-log.js';
import { CASE_STATES } from '../store/desk/fraud-cases.js';
import { LOCK_LEVELS } from '../store/desk/account-locks.js';
import { ROLES } from '../store/desk/api-tokens.js';
import { LINE_KINDS } from '../core/invoice/compose-invoice.js';
import { METRIC_UNITS } from './metric-display.js';

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
  caller: str, caller_original: { type: 'string', description: "the caller ID the switch presented when the rater rewrote it (089B); '' otherwise" }, callee: str, destination_class: str, country: str, billable_seconds: int, disposition: str, direction: str, leg: str,
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

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 429 | 500 | 503;

const WHY: Record<ErrorStatus, string> = {
  400: 'the request is malformed: which field and what was expected', 401: 'no token, or an unknown or revoked one',
  403: "the token's role may not call this", 404: 'no such resource (the message names it)',
  409: 'the resource is not in a state this applies to (the message says which)',
  429: 'too many unknown tokens from this address: retry after the seconds of Retry-After, with a valid token',
  500: 'the server failed; the message says whether it is a known inconsistency or an internal error (the log has the details)',
  503: 'busy (too many requests in flight: retry after the seconds of Retry-After) or a query stopped by the statement timeout',
};

/** The error answers a route may give, each with the one error shape. */
export function errorResponses(...codes: ErrorStatus[]): Record<number, unknown> {
  return Object.fromEntries(codes.map((c) => [c, { ...errorSchema, description: WHY[c] }]));
}

/**
 * The errors of a route behind a token: 401, 429 (the failed-token throttle) and 503 (the in-flight
 * bound, the statement timeout) always; 403 unless every role may call it; and those given.
 */
export function routeErrors(o: { anyRole?: boolean }, ...codes: ErrorStatus[]): Record<number, unknown> {
  return errorResponses(...([...new Set<ErrorStatus>([...codes, 401, ...(o.anyRole ? [] : [403 as const]), 429, 503])].sort()));
}

/** A success answer that is not JSON (CSV, HTML, plain text, an event stream): a string of that media type. */
export function textResponse(mediaType: string, description: string) {
  return { description, content: { [mediaType]: { schema: { type: 'string' } } } } as const;
}

// ---- alerts, subscribers, locks, invoicing, tokens, chart -------------------------------------------

const num = { type: 'number' } as const;
const bool = { type: 'boolean' } as const;
const nullableStr = { type: 'string', nullable: true } as const;
const display = (what: string) => ({ type: 'string', description: `${what} as the page shows it (in its unit)` }) as const;
const unit = { type: 'string', enum: [...METRIC_UNITS], description: 'what the figures count: duration (seconds, shown h:mm), distinct numbers, simultaneous calls, or a plain number' } as const;

export const alertDisplaySchema = object({ ...alertSchema.properties, unit, value_display: display('value'), threshold_display: display('threshold') });

/** A rated call as the store gives it (with the caller ID the switch presented when the rater rewrote it) and its amount to the cent. */
export const ratedCallSchema = callSchema;
export const evidenceCallSchema = object({
  ...ratedCallSchema.properties, first_amount_display: decimal('first amount to the cent, half up'),
  presented_caller: { type: 'string', description: 'the number the switch presented (caller_original, or caller without a rewrite)' },
});

export const counterSchema = object({
  rule: str, scope: str, scope_key: str, site_id: str, user_id: str, period: str, value: num, threshold: num,
  left: { type: 'number', description: 'threshold - value, never below 0' }, crossed: bool, crossed_at: nullableTime,
});
export const counterDisplaySchema = object({ ...counterSchema.properties, unit, value_display: display('value'), threshold_display: display('threshold'), left_display: display('left') });
export const monthOfCallsSchema = object({
  calls: int, billable_seconds: int, out_of_bundle: decimal('out-of-bundle amount, exact, EUR'), out_of_bundle_display: decimal('the same to the cent'),
});
export const dayOfCallsSchema = object({ day: { type: 'string', format: 'date' }, ...monthOfCallsSchema.properties });
export const planCountSchema = object({ plan_id: str, name: { type: 'string', description: "the plan's name (config/plans); its id when unknown" }, lines: int });

const lockLevel = { type: 'string', enum: [...LOCK_LEVELS] } as const;
export const lockSchema = object({
  account: str, client_id: str, site_id: str, user_id: str, level: lockLevel, reason: str, set_at: time, set_by: str,
  rule: { type: 'string', description: "the alert rule whose policy set the lock; '' when a person did" }, alert_id: { type: 'string', description: "the alert that set it; '' when a person did" },
  expires_at: { type: 'string', format: 'date-time', nullable: true, description: 'when the lock lifts by itself; null: when a person lifts it' },
});
export const lockMeaningSchema = object({ ...lockSchema.properties, meaning: str });
export const lockFeedSchema = object({ ...lockMeaningSchema.properties, numbers: { type: 'array', items: str } });
export const barringLockSchema = object({ account: str, numbers: { type: 'array', items: str }, level: lockLevel, meaning: str, reason: str, set_at: time });

export const invoiceLineSchema = object({
  kind: { type: 'string', enum: [...LINE_KINDS] }, corrects_period: str, destination_class: str, country: str, rule: str,
  calls: int, minutes: decimal('minutes'), in_bundle_calls: int, out_of_bundle_calls: int, amount: decimal('amount HT, exact'), cdr_ids: { type: 'array', items: str },
});
export const invoiceTotalsSchema = object({
  usage: decimal('HT'), sanctions: decimal('HT'), late_calls: decimal('HT'), adjustments: decimal('HT'),
  total_ht_exact: decimal('exact sum of the lines, HT'), total_ht: decimal('to the cent, half up'), vat_rate: decimal('percent'), vat: decimal('VAT'), total_ttc: decimal('total including VAT'),
});
export const invoiceSchema = object({
  client_id: str, period: str, currency: str, status: { type: 'string', enum: ['open', 'closed'] },
  invoice_number: { type: 'string', nullable: true, description: 'given at the close; null while the month is open' },
  closed_at: nullableTime, closed_by: nullableStr, lines: { type: 'array', items: invoiceLineSchema }, totals: invoiceTotalsSchema,
});

const role = { type: 'string', enum: [...ROLES] } as const;
export const identitySchema = object({ name: str, role });
export const tokenSchema = object({ name: str, role, created_at: time, revoked_at: nullableTime });

/** Like object(), but the properties named in `optional` may be absent. */
export function objectWith<P extends Record<string, unknown>>(properties: P, optional: (keyof P & string)[]) {
  return { type: 'object', additionalProperties: false, properties, required: Object.keys(properties).filter((k) => !optional.includes(k)) } as const;
}
