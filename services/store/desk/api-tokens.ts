/**
 * Bearer tokens of the API: 32 random bytes, shown once; the store keeps only their SHA-256, which is
 * enough for a random secret of that length (no dictionary to guess from).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Sql } from '../sql.js';
import { isoOf, timeParam } from '../row-values.js';
import { appendAudit } from './audit-log.js';

/** `switch`: the switch asking /api/v1/authorize before each call, and nothing else. */
export const ROLES = ['analyst', 'invoicing', 'admin', 'switch'] as const;
export type Role = (typeof ROLES)[number];

export interface TokenIdentity {
  name: string;
  role: Role;
}

export interface TokenView extends TokenIdentity {
  created_at: string;
  revoked_at: string | null;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export class TokenNameTaken extends Error {}

/** Creates a token and returns it: the only time it exists in clear. */
export async function createToken(sql: Sql, name: string, role: Role, actor: string, atMs: number): Promise<string> {
  const token = `cdr_${randomBytes(32).toString('base64url')}`;
  await sql.transaction(async (tx) => {
    const [existing] = await tx.query<{ name: string }>('SELECT name FROM api_token WHERE name = $1', [name]);
    if (existing !== undefined) throw new TokenNameTaken(`a token named "${name}" already exists; choose another --name or revoke it first`);
    await tx.query('INSERT INTO api_token (name, role, token_hash, created_at) VALUES ($1, $2, $3, $4)', [name, role, hashToken(token), timeParam(atMs)]);
    await appendAudit(tx, { actor, subjectType: 'token', subjectId: name, action: 'create_token', from: 'none', to: role, atMs });
  });
  return token;
}

/** Who holds this token, if it is known and not revoked. */
export async function identify(sql: Sql, token: string): Promise<TokenIdentity | undefined> {
  const [row] = await sql.query<{ name: string; role: Role }>('SELECT name, role FROM api_token WHERE token_hash = $1 AND revoked_at IS NULL', [hashToken(token)]);
  return row === undefined ? undefined : { name: row.name, role: row.role };
}

export async function listTokens(sql: Sql): Promise<TokenView[]> {
  const rows = await sql.query<Record<string, unknown>>('SELECT name, role, created_at, revoked_at FROM api_token ORDER BY name');
  return rows.map((r) => ({ name: String(r.name), role: r.role as Role, created_at: isoOf(r.created_at) ?? '', revoked_at: isoOf(r.revoked_at) }));
}

/** Revokes a token by name; false when there is no such live token. */
export async function revokeToken(sql: Sql, name: string, actor: string, atMs: number): Promise<boolean> {
  return sql.transaction(async (tx) => {
    const [row] = await tx.query<{ role: string }>('SELECT role FROM api_token WHERE name = $1 AND revoked_at IS NULL', [name]);
    if (row === undefined) return false;
    await tx.query('UPDATE api_token SET revoked_at = $1 WHERE name = $2', [timeParam(atMs), name]);
    await appendAudit(tx, { actor, subjectType: 'token', subjectId: name, action: 'revoke_token', from: row.role, to: 'revoked', atMs });
    return true;
  });
}
