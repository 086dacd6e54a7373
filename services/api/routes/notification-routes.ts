/**
 * The notifications' delivery log for the desk (issue 21 part 3): which notice went to which channel,
 * in what state, after how many attempts and with what last error. No secret, no URL (a webhook URL can
 * hold a token), no body.
 */
import type { FastifyInstance } from 'fastify';
import { NOTICE_KINDS } from '../notify/notification.js';
import { DELIVERY_STATES, type DeliveryState, type Notifier } from '../notify/notifier.js';
import { ANALYST } from '../roles.js';
import { routeErrors } from '../response-schemas.js';

const str = { type: 'string' } as const;
const time = { type: 'string', format: 'date-time' } as const;
const nullableTime = { type: 'string', format: 'date-time', nullable: true } as const;
const kind = { type: 'string', enum: [...NOTICE_KINDS] } as const;

function object<P extends Record<string, unknown>>(properties: P, description?: string) {
  return { type: 'object', additionalProperties: false, properties, required: Object.keys(properties), ...(description ? { description } : {}) } as const;
}

export const deliverySchema = object({
  notice_id: { type: 'string', description: 'stable id of the notice (kind, subject and state): the receiver dedupes by it (header x-cdr-notice-id)' },
  channel: { type: 'string', description: 'webhook:NAME or email:NAME of config/notifications.yaml' },
  kind, subject_id: { type: 'string', description: 'the alert, account or case the notice is about' },
  subject: { type: 'string', description: 'the e-mail subject, e.g. "[cdr] critical fraud.premium_destination C-0042"' },
  state: { type: 'string', enum: [...DELIVERY_STATES] },
  attempts: { type: 'integer' },
  last_error: { type: 'string', description: "what the last failed attempt met (HTTP status, timeout, SMTP answer); '' once delivered" },
  created_at: time, last_attempt_at: nullableTime,
  next_attempt_at: { ...nullableTime, description: 'when it is attempted next; null unless pending' },
  delivered_at: nullableTime,
}, 'one notice to one channel');

export const channelSchema = object({
  channel: str, type: { type: 'string', enum: ['webhook', 'email'] }, kinds: { type: 'array', items: kind },
  rules: { type: 'array', items: str, description: "the rules it takes; ['*'] for every rule" },
  min_severity: { type: 'string', enum: ['info', 'warning', 'critical'] },
});

export async function notificationRoutes(api: FastifyInstance, notifier: Notifier): Promise<void> {
  api.get<{ Querystring: { state?: DeliveryState; channel?: string; limit: number } }>('/notifications', {
    config: { roles: ANALYST },
    schema: {
      summary: 'Notifications sent (webhooks, e-mail): the delivery log, newest first, and the channels configured', tags: ['notifications'],
      querystring: {
        type: 'object', additionalProperties: false,
        properties: {
          state: { type: 'string', enum: [...DELIVERY_STATES] },
          channel: { type: 'string', minLength: 1, maxLength: 80, pattern: '^(webhook|email):[A-Za-z0-9_.-]+$' },
          limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
        },
      },
      response: {
        200: object({ channels: { type: 'array', items: channelSchema }, deliveries: { type: 'array', items: deliverySchema } }),
        ...routeErrors({}, 400),
      },
    },
  }, async (req) => ({
    channels: notifier.channelList(),
    deliveries: await notifier.deliveries({ state: req.query.state, channel: req.query.channel, limit: req.query.limit }),
  }));
}
