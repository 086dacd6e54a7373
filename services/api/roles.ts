/** Who may call what: each route names the roles it admits; admin is admitted everywhere. */
import type { Role } from '../store/desk/api-tokens.js';

export type { Role };

export const ANALYST: readonly Role[] = ['analyst'];
export const INVOICING: readonly Role[] = ['invoicing'];
export const ADMIN: readonly Role[] = ['admin'];
export const ANY_ROLE: readonly Role[] = ['analyst', 'invoicing', 'admin'];
/** The switch asking before each call; its token opens nothing else. */
export const SWITCH: readonly Role[] = ['switch'];
export const DESK_AND_INVOICING: readonly Role[] = ['analyst', 'invoicing'];

export function admits(allowed: readonly Role[], role: Role): boolean {
  return role === 'admin' || allowed.includes(role);
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Roles admitted by the route; a route without it is public (only /health and the page's files). */
    roles?: readonly Role[];
    /** Which in-flight bound the route counts against (server.ts); 'desk' unless said. */
    inFlightPool?: 'desk' | 'feed' | 'stream' | 'switch';
  }
  interface FastifyRequest {
    /** The token's holder, set by the auth hook on every non-public route. */
    who: { name: string; role: Role } | null;
  }
}
