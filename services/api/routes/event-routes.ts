/**
 * GET /api/v1/events: the desk's live updates as server-sent events (text/event-stream): `change`
 * events naming the alerts and audit subjects that changed, a heartbeat comment every 15 s.
 *
 * Authentication is the ordinary bearer header. The page reads the stream with fetch() rather than
 * EventSource because EventSource cannot send a header, and the long-lived token must never travel in a
 * URL (URLs end up in proxy and server logs, and in the browser's history); a signed short-lived ticket
 * in the URL would work too, but would add a second credential to issue, expire and protect, for nothing
 * fetch() cannot already do. Streams count against their own bound, never against the desk's 64
 * requests in flight: an open page holds one all day.
 */
import type { FastifyInstance } from 'fastify';
import { ANALYST } from '../roles.js';
import type { DeskContext } from '../server.js';
import { routeErrors, textResponse } from '../response-schemas.js';

export async function eventRoutes(api: FastifyInstance, ctx: DeskContext): Promise<void> {
  api.get('/events', {
    config: { roles: ANALYST, inFlightPool: 'stream' },
    schema: {
      summary: 'Live updates (server-sent events): "change" events with the alerts and audit subjects changed; a heartbeat comment every 15 s',
      tags: ['alerts'],
      response: { 200: textResponse('text/event-stream', 'an endless stream: "event: change" with a JSON data line, and ": heartbeat" comments'), ...routeErrors({}) },
    },
  }, async (req, reply) => {
    const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const out = ctx.live.streams.open(reply.raw, () => ctx.tokenValid(token));
    reply.header('content-type', 'text/event-stream; charset=utf-8');
    // nginx and its kind buffer answers by default; a buffered event stream arrives late or never.
    reply.header('x-accel-buffering', 'no');
    return reply.send(out);
  });
}
