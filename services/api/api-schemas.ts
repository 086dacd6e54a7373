/** JSON-schema pieces the routes share (fastify validates with them and the OpenAPI document shows them). */
import { MAX_PAGE_SIZE } from './limits.js';

export const PERIOD_PATTERN = '^\\d{4}-(0[1-9]|1[0-2])$';
export const periodSchema = { type: 'string', pattern: PERIOD_PATTERN, description: 'calendar month YYYY-MM (Europe/Paris)' } as const;
export const idSchema = { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9+._:@-]+$' } as const;
export const isoTimeSchema = { type: 'string', format: 'date-time', description: 'ISO-8601 instant, e.g. 2026-03-02T08:00:00Z' } as const;
export const commentSchema = { type: 'string', minLength: 1, maxLength: 2000, description: 'why (shown in the audit trail)' } as const;

export const pageQuery = {
  limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE, default: 50 },
  offset: { type: 'integer', minimum: 0, maximum: 1_000_000, default: 0 },
} as const;
