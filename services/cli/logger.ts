/**
 * Logs go to stderr as JSON (pino); stdout is for the command's own output. Phone numbers and secrets
 * are never logged at info: log counts and ids, not callees.
 */
import pino from 'pino';

export const logger = pino(
  { level: process.env.LOG_LEVEL ?? 'warn', redact: { paths: ['*.caller', '*.callee', '*.numbers', '*.password', 'password'], censor: '[redacted]' } },
  pino.destination(2),
);
