/** A call as both stores give it back, as a CDR: one reading of the ledger's columns for SQLite and PostgreSQL. */
import type { Cdr, Direction, Disposition, ForwardReason, Leg, Subscriber } from '../core/cdr.js';

/** Times come back as epoch milliseconds (SQLite) or as Date (PostgreSQL timestamptz). */
export function toMs(v: unknown): number {
  return v instanceof Date ? v.getTime() : typeof v === 'number' ? v : Number.isNaN(Number(v)) ? Date.parse(String(v)) : Number(v);
}

export function cdrOfLedgerRow(row: Record<string, unknown>, subscriber: Subscriber, source: string): Cdr {
  return {
    cdrId: String(row.cdr_id),
    account: subscriber.account,
    caller: String(row.caller),
    callerOriginal: String(row.caller_original ?? ''),
    callee: String(row.callee),
    startMs: toMs(row.start_time),
    answerMs: row.answer_time === null ? null : toMs(row.answer_time),
    endMs: toMs(row.end_time),
    billableSeconds: Number(row.billable_seconds),
    disposition: row.disposition as Disposition,
    direction: row.direction as Direction,
    leg: row.leg as Leg,
    forwardReason: (row.forward_reason ?? null) as ForwardReason | null,
    device: String(row.device),
    subscriber,
    source,
    line: Number(row.source_line),
  };
}
