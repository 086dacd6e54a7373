/**
 * What a row read from either store looks like once normalised: PostgreSQL gives Date, boolean and
 * bigint-as-string, SQLite gives epoch-millisecond integers, 0/1 and numbers. Every reader of desk and invoice tables goes
 * through these, so the API answers the same over both stores.
 */

/**
 * A time as a query parameter: a Date, which node-postgres sends as timestamptz and the SQLite adapter
 * as epoch milliseconds (SQLite keeps times as integers).
 */
export function timeParam(ms: number): Date {
  return new Date(ms);
}

/** Epoch milliseconds of a timestamp column (Date, epoch ms, or ISO-8601 text); null stays null. */
export function msOf(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'number' || typeof v === 'bigint') return Number(v);
  if (/^\d+$/.test(String(v))) return Number(v);
  const ms = Date.parse(String(v));
  if (Number.isNaN(ms)) throw new Error(`not a timestamp: ${String(v)}`);
  return ms;
}

/** ISO-8601 UTC text of a timestamp column, as the API writes every time. */
export function isoOf(v: unknown): string | null {
  const ms = msOf(v);
  return ms === null ? null : new Date(ms).toISOString();
}

export function boolOf(v: unknown): boolean {
  return v === true || v === 1 || v === '1' || v === 't' || v === 'true';
}

/** A count or a sequence number (bigint comes back as text from PostgreSQL). */
export function intOf(v: unknown): number {
  if (v === null || v === undefined) return 0;
  const n = typeof v === 'number' ? v : Number(String(v));
  if (!Number.isFinite(n)) throw new Error(`not a number: ${String(v)}`);
  return n;
}

/** A decimal column as exact text (numeric comes back as text, or as a JS number from SQLite integers). */
export function decimalTextOf(v: unknown): string {
  return v === null || v === undefined ? '0' : String(v);
}

/** `$first, $first+1, …` placeholders for an IN list (callers chunk their lists by 500). */
export function placeholders(count: number, first = 1): string {
  return Array.from({ length: count }, (_, i) => `$${first + i}`).join(', ');
}

export const IN_CHUNK = 500;
