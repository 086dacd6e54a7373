/**
 * Headers that keep the desk's page and API from being framed, sniffed or leaking URLs (helmet), and
 * API answers out of every cache: they carry alerts, numbers and invoices, and a shared browser or proxy
 * must not keep them. The page loads only its own files (Chart.js is served from node_modules), so the
 * content security policy admits nothing else: no inline script, no other origin, no framing.
 */
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

export async function securityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    // The desk listens on plain HTTP (127.0.0.1 by default); HSTS belongs to the TLS proxy in front of it.
    strictTransportSecurity: false,
  });
  app.addHook('onSend', async (req, reply) => {
    if (req.url.startsWith('/api/') || req.url.startsWith('/metrics')) reply.header('cache-control', 'no-store');
  });
}
