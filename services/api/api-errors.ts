/**
 * One shape for every error the API answers: { error, message, field?, expected? }. A validation
 * failure says which field and what was expected, so a client can fix its request without reading code.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { maskLogValue } from './log-masking.js';

export interface ApiError {
  error: string;
  message: string;
  field?: string;
  expected?: string;
}

export const errorSchema = {
  type: 'object',
  properties: { error: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' }, expected: { type: 'string' } },
  required: ['error', 'message'],
} as const;

export function sendError(reply: FastifyReply, status: number, body: ApiError): FastifyReply {
  return reply.code(status).send(body);
}

/** Fastify's errors (validation, body too large, bad JSON) and ours, as ApiError. */
export function handleError(err: FastifyError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (err.validation && err.validation.length > 0) {
    const v = err.validation[0]!;
    const params = v.params as Record<string, unknown>;
    const where = err.validationContext ?? 'body';
    const path = v.instancePath.replace(/^\//, '').replace(/\//g, '.');
    const field =
      typeof params.missingProperty === 'string' ? params.missingProperty
      : typeof params.additionalProperty === 'string' ? params.additionalProperty
      : path !== '' ? path : where;
    const expected = typeof params.additionalProperty === 'string' ? 'no such field (remove it)' : describeExpected(v.keyword, params, v.message ?? '');
    return sendError(reply, 400, { error: 'bad_request', message: `${where} field "${field}": ${expected}`, field, expected });
  }
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendError(reply, 413, { error: 'body_too_large', message: 'request body is larger than the 16 KiB accepted' });
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return sendError(reply, 415, { error: 'unsupported_media_type', message: 'send JSON with Content-Type: application/json' });
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
    return sendError(reply, err.statusCode, { error: 'bad_request', message: err.message });
  }
  // A store's message can quote a request's values (numbers): masked even if the logger does not mask.
  req.log.error({ err: maskLogValue(err) }, 'request failed');
  if (/statement timeout|canceling statement/i.test(err.message)) {
    return sendError(reply, 503, { error: 'query_timeout', message: 'the query took too long and was stopped; narrow the filters or the period' });
  }
  return sendError(reply, 500, { error: 'internal', message: 'internal error; the server log has the details' });
}

function describeExpected(keyword: string, params: Record<string, unknown>, message: string): string {
  switch (keyword) {
    case 'enum':
      return `one of ${(params.allowedValues as unknown[]).map(String).join(', ')}`;
    case 'pattern':
      return `text matching ${String(params.pattern)}`;
    case 'required':
      return 'a value (it is required)';
    case 'maximum':
    case 'minimum':
      return `a number ${message.replace(/^must be /, '')}`;
    case 'type':
      return `a ${String(params.type)}`;
    default:
      return message;
  }
}
