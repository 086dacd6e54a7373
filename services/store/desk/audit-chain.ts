/**
 * The audit trail's hash chain: each event carries the hash of the one before it (`prev_hash`) and its
 * own `hash`, SHA-256 over a canonical serialisation of its position, its content and `prev_hash`. An
 * event edited, removed, inserted or moved by hand (triggers dropped, raw SQL on the store) no longer
 * matches its hash or its neighbour's, and `cdr audit verify` says where.
 *
 * A keyless chain cannot stop someone who rewrites every hash after the event they edit: the head hash
 * `cdr audit verify` prints is what to keep elsewhere (a ticket, a log) to catch that.
 */
import { createHash } from 'node:crypto';

/** The `prev_hash` of the first event. */
export const GENESIS_HASH = '0'.repeat(64);

/** Bumped if the serialisation ever changes, so that old and new hashes cannot be confused. */
const FORMAT = 'cdr-audit-v1';

/** What an event's hash covers, every field as the store holds it. */
export interface ChainedContent {
  seq: number;
  eventId: number;
  /** Epoch microseconds as decimal text (PostgreSQL keeps microseconds: an edit below the millisecond counts). */
  atMicros: string;
  actor: string;
  subjectType: string;
  subjectId: string;
  action: string;
  from: string;
  to: string;
  detail: string;
  comment: string;
  prevHash: string;
}

/**
 * A JSON array in a fixed order: JSON escapes every string one way, so two different contents never
 * serialise alike (no separator an actor or a comment could contain can shift a field into another).
 */
export function canonicalEvent(c: ChainedContent): string {
  return JSON.stringify([FORMAT, c.seq, c.eventId, c.atMicros, c.actor, c.subjectType, c.subjectId, c.action, c.from, c.to, c.detail, c.comment, c.prevHash]);
}

export function eventHash(c: ChainedContent): string {
  return createHash('sha256').update(canonicalEvent(c), 'utf8').digest('hex');
}

/** The micros of a time the desk writes (whole milliseconds, as `timeParam` sends them to either store). */
export function microsOfMs(ms: number): string {
  return (BigInt(new Date(ms).getTime()) * 1000n).toString();
}

/**
 * The columns that carry an event's chained content, read alike from both stores: `at_exact` is the
 * exact stored time as text (SQLite's epoch milliseconds, PostgreSQL's timestamptz in epoch microseconds).
 */
export function chainColumns(dialect: 'postgres' | 'sqlite'): string {
  const at = dialect === 'postgres' ? '(extract(epoch from at) * 1000000)::bigint::text' : 'CAST(at AS text)';
  return `event_id, seq, ${at} AS at_exact, actor, subject_type, subject_id, action, from_state, to_state, detail, comment, prev_hash, hash`;
}

/** A row read with `chainColumns`, before anything is assumed about its values. */
export type ChainRow = Record<string, unknown>;

/**
 * The content of a stored row as its hash covers it. A value of an unexpected type (SQLite stores what
 * it is given) is kept distinct from any value the desk could have written, so it cannot hash alike.
 */
export function contentOfRow(r: ChainRow, dialect: 'postgres' | 'sqlite', seq: number, prevHash: string): ChainedContent {
  return {
    seq,
    eventId: Number(r.event_id),
    atMicros: storedMicros(r.at_exact, dialect),
    actor: textOf(r.actor),
    subjectType: textOf(r.subject_type),
    subjectId: textOf(r.subject_id),
    action: textOf(r.action),
    from: textOf(r.from_state),
    to: textOf(r.to_state),
    detail: textOf(r.detail),
    comment: textOf(r.comment),
    prevHash,
  };
}

function textOf(v: unknown): string {
  return typeof v === 'string' ? v : `\u0000${JSON.stringify(v === undefined ? null : v)}`;
}

/**
 * Epoch microseconds of `at_exact` (PostgreSQL gives them, SQLite its integer milliseconds); anything
 * else (a real, text in SQLite) is marked so that it cannot match a time the desk wrote.
 */
export function storedMicros(v: unknown, dialect: 'postgres' | 'sqlite'): string {
  const text = textOf(v);
  if (!/^-?\d+$/.test(text)) return `\u0000${text}`;
  return dialect === 'sqlite' ? (BigInt(text) * 1000n).toString() : text;
}
