/** Tokens (role admin) and who-am-I (any role). */
import type { FastifyInstance } from 'fastify';
import { ROLES, TokenNameTaken, createToken, listTokens, revokeToken, type Role } from '../../store/desk/api-tokens.js';
import { sendError } from '../api-errors.js';
import { ADMIN, ANY_ROLE } from '../roles.js';
import type { DeskContext } from '../server.js';
import { identitySchema, routeErrors, tokenSchema } from '../response-schemas.js';

const nameSchema = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._@-]+$' } as const;

export async function adminRoutes(api: FastifyInstance, ctx: DeskContext): Promise<void> {
  api.get('/me', { config: { roles: ANY_ROLE }, schema: { summary: "The token's holder and role", tags: ['tokens'], response: { 200: identitySchema, ...routeErrors({ anyRole: true }) } } }, async (req) => req.who);

  api.get('/tokens', { config: { roles: ADMIN }, schema: {
    summary: 'Tokens (names and roles; never the tokens)', tags: ['tokens'],
    response: { 200: { type: 'object', additionalProperties: false, required: ['tokens'], properties: { tokens: { type: 'array', items: tokenSchema } } }, ...routeErrors({}) },
  } }, async () => ({ tokens: await listTokens(ctx.sql) }));

  api.post<{ Body: { name: string; role: Role } }>('/tokens', {
    config: { roles: ADMIN },
    schema: { summary: 'Create a token; the answer is the only time it is shown', tags: ['tokens'], body: { type: 'object', additionalProperties: false, required: ['name', 'role'], properties: { name: nameSchema, role: { type: 'string', enum: [...ROLES] } } },
      response: {
        201: { type: 'object', additionalProperties: false, required: ['name', 'role', 'token'], properties: { ...identitySchema.properties, token: { type: 'string', description: 'the bearer token: shown this once only' } } },
        ...routeErrors({}, 400, 409),
      },
    },
  }, async (req, reply) => {
    try {
      const token = await createToken(ctx.sql, req.body.name, req.body.role, req.who!.name, ctx.now());
      return reply.code(201).send({ name: req.body.name, role: req.body.role, token });
    } catch (e) {
      if (e instanceof TokenNameTaken) return sendError(reply, 409, { error: 'conflict', message: e.message });
      throw e;
    }
  });

  api.post<{ Params: { name: string } }>('/tokens/:name/revoke', {
    config: { roles: ADMIN },
    schema: { summary: 'Revoke a token (it stops working at once)', tags: ['tokens'], params: { type: 'object', properties: { name: nameSchema }, required: ['name'] },
      response: { 200: { type: 'object', additionalProperties: false, required: ['name', 'revoked'], properties: { name: { type: 'string' }, revoked: { type: 'boolean' } } }, ...routeErrors({}, 400, 404) },
    },
  }, async (req, reply) => {
    const done = await revokeToken(ctx.sql, req.params.name, req.who!.name, ctx.now());
    if (!done) return sendError(reply, 404, { error: 'not_found', message: `no live token named ${req.params.name}` });
    ctx.forgetTokens();
    return { name: req.params.name, revoked: true };
  });
}
