/**
 * `cdr serve`: the fraud desk's and invoicing's HTTP API and the web page, in one fastify process
 * over the store (embedded data directory or PostgreSQL).
 *
 * Bounds, so that no request can take the server down: 16 KiB bodies, 200 rows a page, 64 requests
 * in flight (more get 503 and Retry-After), a 30 s request timeout, and on PostgreSQL a statement
 * timeout (open-store.ts).
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { SubscriberDirectory } from '../ingest/subscriber-directory.js';
import type { Sql } from '../store/sql.js';
import type { Plan } from '../core/plan.js';
import { hashToken, identify, type TokenIdentity } from '../store/desk/api-tokens.js';
import { handleError, sendError } from './api-errors.js';
import { FailedTokenThrottle } from './auth-throttle.js';
import { securityHeaders } from './security-headers.js';
import { DeskMetrics } from './desk-metrics.js';
import { InvoicingTerms } from '../config/invoicing-file.js';
import { DirectoryIndex } from './directory-index.js';
import { inProcessReads, threadReads, type HeavyReads } from './heavy-reads.js';
import type { StoreFlags } from './open-store.js';
import { BODY_LIMIT_BYTES } from './limits.js';
import { maskPhoneNumbers } from './log-masking.js';
import { admits } from './roles.js';
import { alertRoutes } from './routes/alert-routes.js';
import { lockRoutes } from './routes/lock-routes.js';
import { invoiceRoutes } from './routes/invoice-routes.js';
import { statementRoutes } from './routes/statement-routes.js';
import { adminRoutes } from './routes/admin-routes.js';
import { subscriberRoutes } from './routes/subscriber-routes.js';
import { chartRoutes } from './routes/chart-routes.js';
import { pageRoutes } from './routes/page-routes.js';
import { caseRoutes } from './routes/case-routes.js';
import { searchRoutes } from './routes/search-routes.js';
import { bulkRoutes } from './routes/bulk-routes.js';
import { projectFraudConfig, projectNumbering } from './project-config.js';
import { CallAuthorizer } from './switch/call-authorizer.js';
import { authorizeRoutes } from './routes/authorize-routes.js';
import { AlertReactor } from './policy/alert-reactor.js';
import { Notifier } from './notify/notifier.js';
import { NO_NOTIFICATIONS, type NotificationsConfig } from './notify/notify-config.js';
import { notificationRoutes } from './routes/notification-routes.js';
import { rejectRoutes } from './routes/reject-routes.js';
import { MonthAnswers } from './month-answers.js';
import type { FraudConfig } from '../core/fraud/fraud-config.js';
import { startAutoGrouping } from './case-autogroup.js';
import type { NumberingPlan } from '../core/numbering.js';
import { eventRoutes } from './routes/event-routes.js';
import { LiveUpdates } from './live/live-updates.js';

export interface ServerOptions {
  sql: Sql;
  /** Where `sql` comes from: the embedded store's month-long reads run in a thread with its own connection. */
  store: StoreFlags;
  /** Accounts, their numbers and scope, for locks and the barring feed. */
  directory: SubscriberDirectory;
  logger: Logger;
  /** VAT rates and invoice numbers (config/invoicing.yaml); the defaults without it. */
  invoicing?: InvoicingTerms;
  /** The plans (config/plans), for the statement's plan names and contract clauses; none: ids only. */
  plans?: ReadonlyMap<string, Plan>;
  /** The clock (tests fix it). */
  now?: () => number;
  maxInFlight?: number;
  /** Reads the numbers typed into the search (config/numbering.yaml of the configuration; the project's without it). */
  numbering?: NumberingPlan;
  /** The fraud settings (config/fraud.yaml of the configuration; the project's without it): case grouping, call authorization. */
  fraud?: FraudConfig;
  /** Who is told of critical alerts, automatic locks and new cases (config/notifications.yaml); nobody without it. */
  notifications?: NotificationsConfig;
  /** Apply the alert policies (config/fraud.yaml policies: locks, and their expiry) this often; off without it. */
  reactEveryMs?: number;
  /** Group worked alerts into cases this often (case-autogroup.ts); off without it (tests group on demand). */
  autoGroupEveryMs?: number;
  /** Open live-update streams (GET /api/v1/events) at most; a bound of their own, 100 unless said. */
  maxStreams?: number;
  /** Live updates' timings (tests shorten them). */
  live?: { pollMs?: number; heartbeatMs?: number };
}

export interface DeskContext {
  sql: Sql;
  directory: SubscriberDirectory;
  known: DirectoryIndex;
  invoicing: InvoicingTerms;
  plans: ReadonlyMap<string, Plan>;
  now: () => number;
  /** Reads that scan a month (the chart), off the event loop. */
  heavyReads: HeavyReads;
  /** Answers the switch at call setup, from counters in memory. */
  authorizer: CallAuthorizer;
  /** Called when a token is revoked, so that it stops working at once. */
  forgetTokens: () => void;
  numbering: NumberingPlan;
  caseGapMs: number;
  /** Whether a token still admits its holder (an open event stream re-checks it at each heartbeat). */
  tokenValid: (token: string) => Promise<boolean>;
  /** The pages' live updates. */
  live: LiveUpdates;
  /** Tells people (webhooks, e-mail) of alerts, automatic locks and cases. */
  notifier: Notifier;
  /** Client-month answers computed once per version of the store (invoice, usage, subscriber view). */
  monthAnswers: MonthAnswers;
}

export async function buildServer(o: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: o.logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    // Unknown query or body fields are an error, not silently dropped.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, allErrors: false } },
    // Our own request log line (onResponse below) masks phone numbers in the URL; fastify's is off.
    logController: new LogController({ disableRequestLogging: true }),
  });
  // First, so that every answer carries them, the 401s and 503s of the hooks below included.
  await securityHeaders(app);
  const tokens = new TokenCache(o.sql);
  // Same choice as openStore: a database URL wins over a data directory.
  const heavyReads = o.store.databaseUrl !== undefined ? inProcessReads(o.sql) : threadReads(o.store.data ?? '.cdr-data');
  const now = o.now ?? Date.now;
  const fraud = o.fraud ?? projectFraudConfig();
  const numbering = o.numbering ?? projectNumbering();
  const plans = o.plans ?? new Map<string, Plan>();
  const metrics = new DeskMetrics(o.sql, () => authorizer.callsInProgress);
  const authorizer = new CallAuthorizer({
    sql: o.sql, directory: o.directory, numbering, fraud, plans, logger: o.logger, now,
    counted: (decision, reason) => metrics.setupDecisions.inc({ decision, reason }),
  });
  const notifier = new Notifier({ sql: o.sql, config: o.notifications ?? NO_NOTIFICATIONS, logger: o.logger, now });
  const live = new LiveUpdates({ sql: o.sql, databaseUrl: o.store.databaseUrl, logger: o.logger, pollMs: o.live?.pollMs, stream: { heartbeatMs: o.live?.heartbeatMs } });
  const ctx: DeskContext = {
    sql: o.sql, directory: o.directory, known: new DirectoryIndex(o.directory), invoicing: o.invoicing ?? InvoicingTerms.defaults(), plans, now, heavyReads,
    authorizer, forgetTokens: () => tokens.forget(), numbering, caseGapMs: fraud.case_grouping.gap_minutes * 60_000,
    tokenValid: async (token) => (await tokens.identify(token, now())) !== undefined, live, notifier, monthAnswers: new MonthAnswers(o.sql),
  };
  const maxInFlight = o.maxInFlight ?? 64;
  // The barring feed has its own bound: a switch polling it must get its answer even when 64 analysts'
  // requests are in flight (it is a small read of the locks). Live-update streams have theirs too: each
  // open page holds one for hours, and they must neither fill the desk's bound nor grow without limit.
  // The switch's questions at call setup have the largest: thousands a second, each answered from memory.
  const inFlight = { desk: 0, feed: 0, stream: 0, switch: 0 };
  const bound = { desk: maxInFlight, feed: maxInFlight, stream: o.maxStreams ?? 100, switch: 1024 };

  await live.start();
  await authorizer.start();
  app.addHook('onClose', async () => authorizer.close());
  notifier.start();
  app.addHook('preClose', async () => notifier.close());
  // Streams end before the server waits for its open requests to finish, or it would wait for ever.
  app.addHook('preClose', async () => live.close());
  app.addHook('onClose', async () => heavyReads.close());
  app.decorateRequest('who', null);
  app.setErrorHandler(handleError);
  const throttle = new FailedTokenThrottle(ctx.now);
  // An unknown route asks for a token like a known one: without one, nobody learns which routes exist.
  app.setNotFoundHandler(async (req, reply) => {
    if ((await authenticate(req, reply)) === undefined) return reply;
    return sendError(reply, 404, { error: 'not_found', message: `no route ${req.method} ${maskPhoneNumbers(req.url.split('?')[0]!)}; see /api/openapi.json` });
  });

  /** The token's holder, or undefined once the answer (401, 429) is sent. */
  async function authenticate(req: FastifyRequest, reply: FastifyReply): Promise<TokenIdentity | undefined> {
    const wait = throttle.retryAfterSeconds(req.ip);
    if (wait > 0) {
      reply.header('retry-after', String(wait));
      sendError(reply, 429, { error: 'too_many_failed_tokens', message: `too many unknown tokens from ${req.ip}; retry in ${wait} s with a valid token (cdr token list shows which exist)` });
      return undefined;
    }
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    const who = m ? await tokens.identify(m[1]!, ctx.now()) : undefined;
    if (who === undefined) {
      if (m) throttle.fail(req.ip);
      reply.header('www-authenticate', 'Bearer realm="cdr"');
      sendError(reply, 401, { error: 'unauthorized', message: m ? 'unknown or revoked token' : 'missing bearer token: send Authorization: Bearer <token> (cdr token create)' });
      return undefined;
    }
    req.who = who;
    return who;
  }

  app.addHook('onRequest', async (req, reply) => {
    (req as { startedAt?: number }).startedAt = performance.now();
    const pool = req.routeOptions.config?.inFlightPool ?? 'desk';
    inFlight[pool] += 1;
    // 'close' fires once whether the response was sent or the client went away.
    reply.raw.once('close', () => {
      inFlight[pool] -= 1;
    });
    if (inFlight[pool] > bound[pool]) {
      reply.header('retry-after', '1');
      return sendError(reply, 503, { error: 'busy', message: `more than ${bound[pool]} ${pool === 'stream' ? 'live-update streams open' : 'requests in flight'}; retry in a second` });
    }
    const roles = req.routeOptions.config?.roles;
    if (roles === undefined) return;
    const who = await authenticate(req, reply);
    if (who === undefined) return reply;
    if (!admits(roles, who.role)) {
      return sendError(reply, 403, { error: 'forbidden', message: `role ${who.role} may not call this; it needs ${[...roles, 'admin'].join(' or ')}` });
    }
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const started = (req as { startedAt?: number }).startedAt ?? performance.now();
    const seconds = (performance.now() - started) / 1000;
    metrics.requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    metrics.duration.observe({ method: req.method, route }, seconds);
    // The switch asks thousands of times a second: its requests are counted in /metrics and logged at debug only.
    const level = req.routeOptions.config?.inFlightPool === 'switch' ? 'debug' : 'info';
    // Masking the URL's numbers costs more than the rest of an authorize answer: only for a line written.
    if (level === 'info' || req.log.level === 'debug' || req.log.level === 'trace') req.log[level]({ method: req.method, url: maskPhoneNumbers(req.url), status: reply.statusCode, ms: Math.round(seconds * 1000), who: req.who?.name }, 'request');
    // A write of this desk committed: the embedded store's watcher looks now rather than at its next tick.
    if (req.method !== 'GET' && req.method !== 'HEAD' && reply.statusCode < 400) live.written();
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'cdr fraud desk and invoicing API', version: '1.0.0', description: 'Every route but /health needs Authorization: Bearer <token> (cdr token create).' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  app.get('/health', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/metrics', { config: { roles: ['analyst', 'invoicing'] }, schema: { hide: true } }, async (_req, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.text();
  });
  app.get('/api/openapi.json', { config: { roles: ['analyst', 'invoicing'] }, schema: { hide: true } }, async () => app.swagger());

  await app.register(async (api) => {
    await alertRoutes(api, ctx);
    await subscriberRoutes(api, ctx);
    await lockRoutes(api, ctx);
    await invoiceRoutes(api, ctx);
    await statementRoutes(api, ctx);
    await adminRoutes(api, ctx);
    await chartRoutes(api, ctx);
    await caseRoutes(api, ctx);
    await searchRoutes(api, ctx);
    await bulkRoutes(api, ctx);
    await eventRoutes(api, ctx);
    await authorizeRoutes(api, ctx);
    await notificationRoutes(api, notifier);
    await rejectRoutes(api, ctx);
  }, { prefix: '/api/v1' });
  await pageRoutes(app);
  if (o.autoGroupEveryMs !== undefined) startAutoGrouping(app, ctx, o.autoGroupEveryMs);
  if (o.reactEveryMs !== undefined) {
    const reactor = new AlertReactor({
      sql: o.sql, directory: o.directory, fraud, logger: o.logger, now, lockSet: (account, level) => authorizer.lockSet(account, level),
      // Each alert once, and each lock its policy set; the notifier keeps those its routes want.
      reacted: async (alert, locks) => {
        await notifier.notify({ kind: 'alert', alert });
        for (const lock of locks) await notifier.notify({ kind: 'lock', lock });
      },
    });
    reactor.start(o.reactEveryMs);
    // Stops acting before the store closes.
    app.addHook('preClose', async () => reactor.close());
  }
  return app;
}

/** A token is looked up at most every 5 s: revoking through the API forgets at once, elsewhere within 5 s. */
class TokenCache {
  private readonly entries = new Map<string, { who: TokenIdentity | undefined; at: number }>();
  constructor(private readonly sql: Sql) {}

  async identify(token: string, now: number): Promise<TokenIdentity | undefined> {
    const key = hashToken(token);
    const hit = this.entries.get(key);
    if (hit !== undefined && now - hit.at < 5_000 && now >= hit.at) return hit.who;
    const who = await identify(this.sql, token);
    if (this.entries.size > 10_000) this.entries.clear();
    this.entries.set(key, { who, at: now });
    return who;
  }

  forget(): void {
    this.entries.clear();
  }
}
