/**
 * The rejects as a person looks at them, over either store (portable SQL): how many per reason and per
 * file, which ones, and which files hold rejects that can be rated now that the directory or the
 * configuration knows their subscriber or plan.
 */
import type { Sql } from './sql.js';

/** Rejects that a fix of the directory or configuration makes ratable: their file is rated again. */
export const REPLAYABLE_REASONS = ['unknown_subscriber', 'unknown_plan'] as const;

export interface RejectGroup {
  source: string;
  checksum: string;
  reason: string;
  count: number;
}

export async function rejectGroups(sql: Sql): Promise<RejectGroup[]> {
  const rows = await sql.query<{ source: string; source_checksum: string; reason: string; n: unknown }>(
    'SELECT source, source_checksum, reason, COUNT(*) AS n FROM rejected_record GROUP BY source, source_checksum, reason ORDER BY source, reason',
  );
  return rows.map((r) => ({ source: r.source, checksum: r.source_checksum, reason: r.reason, count: Number(r.n) }));
}

export interface RejectRow {
  source: string;
  line: number;
  reason: string;
  detail: string;
}

export async function listRejects(sql: Sql, reasons: readonly string[] | null, limit: number): Promise<RejectRow[]> {
  const filter = reasons === null || reasons.length === 0 ? '' : `WHERE reason IN (${reasons.map((_, i) => `$${i + 2}`).join(', ')})`;
  const rows = await sql.query<{ source: string; line: unknown; reason: string; detail: string }>(
    `SELECT source, line, reason, detail FROM rejected_record ${filter} ORDER BY source, line LIMIT $1`,
    [limit, ...(reasons ?? [])],
  );
  return rows.map((r) => ({ source: r.source, line: Number(r.line), reason: r.reason, detail: r.detail }));
}
