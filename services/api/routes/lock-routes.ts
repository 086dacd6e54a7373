/**
 * Locks and the barring feed. The desk sets an account's lock level; a switch or SBC polls
 * /api/v1/barring (JSON) or /api/v1/barring.txt (one line per account) and bars the calls itself.
 */
import type { FastifyInstance } from 'fastify';
import { LOCK_LEVELS, LOCK_LEVEL_MEANING, locksInForce, lockOf, setLock, type LockLevel } from '../../store/desk/account-locks.js';
import { listAudit } from '../../store/desk/audit-log.js';
import { sendError } from '../api-errors.js';
import { commentSchema } from '../api-schemas.js';
import { ANALYST } from '../roles.js';
import type { DeskContext } from '../server.js';
import { auditEventSchema, barringLockSchema, lockFeedSchema, lockMeaningSchema, lockSchema, routeErrors, textResponse } from '../response-schemas.js';

const accountSchema = { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9+._:@-]+$' } as const;

export async function lockRoutes(api: FastifyInstance, ctx: DeskContext): Promise<void> {
  const feed = async () => {
    const locks = await locksInForce(ctx.sql, ctx.now());
    return locks.map((l) => ({ ...l, meaning: LOCK_LEVEL_MEANING[l.level], numbers: [...(ctx.directory.resolve(l.account, '')?.numbers ?? [])] }));
  };

  api.get('/locks', { config: { roles: ANALYST }, schema: {
    summary: 'Locks in force, with the levels known', tags: ['locks'],
    response: {
      200: {
        type: 'object', additionalProperties: false, required: ['levels', 'locks'],
        properties: {
          levels: { type: 'array', items: { type: 'object', additionalProperties: false, required: ['level', 'meaning'], properties: { level: { type: 'string', enum: [...LOCK_LEVELS] }, meaning: { type: 'string' } } } },
          locks: { type: 'array', items: lockFeedSchema },
        },
      },
      ...routeErrors({}),
    },
  } }, async () => ({
    levels: LOCK_LEVELS.map((level) => ({ level, meaning: LOCK_LEVEL_MEANING[level] })),
    locks: await feed(),
  }));

  api.get<{ Params: { account: string } }>('/locks/:account', {
    config: { roles: ANALYST },
    schema: {
      summary: "An account's lock level and its history", tags: ['locks'], params: { type: 'object', properties: { account: accountSchema }, required: ['account'] },
      response: {
        200: {
          type: 'object', additionalProperties: false, required: ['account', 'level', 'meaning', 'lock', 'audit'],
          properties: {
            account: { type: 'string' }, level: { type: 'string', enum: [...LOCK_LEVELS] }, meaning: { type: 'string' },
            lock: { ...lockSchema, nullable: true, description: 'null when the account was never locked' }, audit: { type: 'array', items: auditEventSchema },
          },
        },
        ...routeErrors({}, 400, 404),
      },
    },
  }, async (req, reply) => {
    const subscriber = ctx.directory.resolve(req.params.account, '');
    if (subscriber === undefined) return sendError(reply, 404, { error: 'not_found', message: `no account ${req.params.account} in the subscriber directory` });
    const lock = await lockOf(ctx.sql, req.params.account);
    const audit = await listAudit(ctx.sql, { subjectType: 'lock', subjectId: req.params.account, limit: 500, offset: 0 });
    return { account: req.params.account, level: lock?.level ?? 'none', meaning: LOCK_LEVEL_MEANING[lock?.level ?? 'none'], lock: lock ?? null, audit };
  });

  api.put<{ Params: { account: string }; Body: { level: LockLevel; reason: string } }>('/locks/:account', {
    config: { roles: ANALYST },
    schema: {
      summary: "Set an account's lock level (none lifts it), with a reason; audited", tags: ['locks'],
      params: { type: 'object', properties: { account: accountSchema }, required: ['account'] },
      body: { type: 'object', additionalProperties: false, required: ['level', 'reason'], properties: { level: { type: 'string', enum: [...LOCK_LEVELS] }, reason: commentSchema } },
      response: { 200: lockMeaningSchema, ...routeErrors({}, 400, 404) },
    },
  }, async (req, reply) => {
    const s = ctx.directory.resolve(req.params.account, '');
    if (s === undefined) return sendError(reply, 404, { error: 'not_found', message: `no account ${req.params.account} in the subscriber directory` });
    const lock = await setLock(ctx.sql, { account: s.account, clientId: s.clientId, siteId: s.siteId, userId: s.userId, level: req.body.level, reason: req.body.reason, actor: req.who!.name, atMs: ctx.now() });
    ctx.authorizer.lockSet(lock.account, lock.level);
    return { ...lock, meaning: LOCK_LEVEL_MEANING[lock.level] };
  });

  api.get('/barring', { config: { roles: ANALYST, inFlightPool: 'feed' }, schema: {
    summary: 'Barring feed for a switch (JSON): accounts under a lock, their numbers and level', tags: ['locks'],
    response: {
      200: { type: 'object', additionalProperties: false, required: ['generated_at', 'locks'], properties: { generated_at: { type: 'string', format: 'date-time' }, locks: { type: 'array', items: barringLockSchema } } },
      ...routeErrors({}),
    },
  } }, async () => ({
    generated_at: new Date(ctx.now()).toISOString(),
    locks: (await feed()).map((l) => ({ account: l.account, numbers: l.numbers, level: l.level, meaning: l.meaning, reason: l.reason, set_at: l.set_at })),
  }));

  api.get('/barring.txt', { config: { roles: ANALYST, inFlightPool: 'feed' }, schema: {
    summary: 'Barring feed for a switch (plain text): "account<TAB>level<TAB>number,number"', tags: ['locks'],
    response: { 200: textResponse('text/plain', 'a "# cdr barring feed <time>: ..." comment line, then one line per account under a lock'), ...routeErrors({}) },
  } }, async (_req, reply) => {
    const lines = (await feed()).map((l) => `${l.account}\t${l.level}\t${l.numbers.join(',')}`);
    reply.header('content-type', 'text/plain; charset=utf-8');
    return `# cdr barring feed ${new Date(ctx.now()).toISOString()}: account, level (${LOCK_LEVELS.filter((l) => l !== 'none').join('|')}), numbers\n${lines.join('\n')}${lines.length > 0 ? '\n' : ''}`;
  });
}
