/**
 * `cdr audit verify`: walks the audit trail's hash chain (audit-chain.ts) from the first event to the
 * head and names the first event where it breaks, and how: content edited, events missing (deleted),
 * events out of order, an event that is not in the chain at all (inserted around the triggers), the
 * trail's end cut off. What it prints never holds an event's content (a comment may quote a number),
 * only its id, place and time.
 */
import type { Sql } from '../sql.js';
import { GENESIS_HASH, chainColumns, contentOfRow, eventHash, storedMicros, type ChainRow } from './audit-chain.js';

export type BreakKind = 'altered' | 'missing' | 'reordered' | 'unchained' | 'duplicate' | 'head' | 'anchor';

export interface ChainBreak {
  kind: BreakKind;
  /** The event where the chain breaks (null when the break is past the last event, or the trail is empty). */
  eventId: number | null;
  seq: number | null;
  /** ISO-8601 UTC, or the stored value as it is when it is not a time the desk writes. */
  at: string | null;
  /** What differs, in a sentence. */
  problem: string;
}

export type VerifyResult =
  | { ok: true; events: number; head: string }
  | { ok: false; events: number; broken: ChainBreak };

export interface VerifyOptions {
  /** Head hashes printed by earlier verifications and kept elsewhere: each must still be in the chain. */
  anchors?: readonly string[];
}

export async function verifyAuditTrail(sql: Sql, opts: VerifyOptions = {}): Promise<VerifyResult> {
  // In chain order; an event without a place in the chain comes last, where the walk finds it.
  const rows = await sql.query<ChainRow>(`SELECT ${chainColumns(sql.dialect)} FROM audit_event ORDER BY seq IS NULL, seq, event_id`);
  const events = rows.length;
  const broken = (kind: BreakKind, r: ChainRow | undefined, problem: string): VerifyResult => ({
    ok: false, events, broken: { kind, eventId: r === undefined ? null : Number(r.event_id), seq: seqOf(r), at: r === undefined ? null : timeOf(storedMicros(r.at_exact, sql.dialect)), problem },
  });

  let expected = 1;
  let prevHash = GENESIS_HASH;
  let prevEventId = Number.NEGATIVE_INFINITY;
  for (const r of rows) {
    const seq = seqOf(r);
    if (seq === null || typeof r.hash !== 'string' || typeof r.prev_hash !== 'string') {
      return broken('unchained', r, 'it is not in the chain (no seq or hash): inserted by hand, around the store\'s triggers');
    }
    if (eventHash(contentOfRow(r, sql.dialect, seq, r.prev_hash)) !== r.hash) {
      return broken('altered', r, 'its content does not match its hash: edited after it was written');
    }
    if (seq < expected) {
      return broken('duplicate', r, `seq ${seq} is taken twice: an event was inserted by hand in the place of another`);
    }
    if (seq > expected) {
      const gap = seq - expected === 1 ? `event seq ${expected} is` : `events seq ${expected}–${seq - 1} are`;
      return broken('missing', r, `${gap} missing before it: deleted`);
    }
    if (Number(r.event_id) <= prevEventId || r.prev_hash !== prevHash) {
      return broken('reordered', r, `it does not follow the event before it (seq ${seq - 1}): events were reordered, or that event was replaced`);
    }
    prevHash = r.hash;
    prevEventId = Number(r.event_id);
    expected = seq + 1;
  }

  const last = rows.at(-1);
  const lastSeq = expected - 1;
  const [head] = await sql.query<{ seq: unknown; hash: unknown }>('SELECT seq, hash FROM audit_chain_head WHERE id = 1');
  if (head === undefined) return broken('head', last, 'the chain head (audit_chain_head) is gone: the end of the trail cannot be checked');
  const headSeq = Number(head.seq);
  if (headSeq > lastSeq) {
    const gap = headSeq - lastSeq === 1 ? `event seq ${headSeq} is` : `events seq ${lastSeq + 1}–${headSeq} are`;
    return broken('missing', last, `the trail ends here but its head is at seq ${headSeq}: ${gap} missing after it, deleted`);
  }
  if (headSeq < lastSeq) {
    return broken('unchained', rows.find((r) => seqOf(r) === headSeq + 1), `it comes after the chain's head (seq ${headSeq}): appended by hand, around the store's triggers`);
  }
  if (head.hash !== prevHash) return broken('altered', last, 'it is not the event the chain head records as last: replaced');

  for (const anchor of opts.anchors ?? []) {
    if (!rows.some((r) => r.hash === anchor)) {
      return broken('anchor', undefined, `no event carries the hash ${anchor}, a head recorded earlier: the trail was rewritten up to or past that point, hashes and all`);
    }
  }
  return { ok: true, events, head: prevHash };
}

function seqOf(r: ChainRow | undefined): number | null {
  const v = r?.seq;
  return v === null || v === undefined ? null : Number(v);
}

function timeOf(micros: string): string {
  if (!/^-?\d+$/.test(micros)) return `not a time (${JSON.stringify(micros.replace(/^\u0000/, ''))})`;
  const us = BigInt(micros);
  const iso = new Date(Number(us / 1000n)).toISOString();
  return us % 1000n === 0n ? iso : `${iso.slice(0, -1)}${(us % 1000n).toString().padStart(3, '0')}Z`;
}

/** The line `cdr audit verify` prints. */
export function describeVerification(r: VerifyResult): string {
  if (r.ok) return `audit trail intact: ${r.events} events, head ${r.head}`;
  const b = r.broken;
  const where = b.eventId === null ? 'the trail' : `event ${b.eventId} (seq ${b.seq ?? 'none'}, ${b.at})`;
  return `audit trail broken (${b.kind}) at ${where}: ${b.problem}; ${r.events} events read`;
}
