/**
 * A chunk of a run as the ledger's writer applies it: its billed calls packed (rated-calls.ts) and the
 * rest as plain rows of statement parameters, made by the run's thread from the rated calls
 * (EmbeddedLedger.commit) and applied in one transaction by the writer thread, so that the run rates
 * the next chunk while SQLite writes this one.
 */
import { Money } from '../core/money.js';
import { faultPoint } from '../embedded/fault-points.js';
import { NUMBER, RatedCallsReader, STRING, TEXT, type RatedCalls } from './rated-calls.js';
import type { SqliteDb } from './sqlite.js';

type Row = unknown[];

/** A party first met in this run: [ref, account, client_id, site_id, user_id, plan_id, line_type, channels, automated]. */
export type PartyRef = [ref: number, account: string, clientId: string, siteId: string, userId: string, planId: string, lineType: string, channels: number, automated: number];
/** A source file first met in this run: [ref, path]. */
export type SourceRef = [ref: number, path: string];

export interface ChunkWrite {
  runId: number;
  now: number;
  /** Parties and source files the rows below refer to for the first time. */
  parties: PartyRef[];
  sources: SourceRef[];
  /** The billed calls (rated_call rows, and what rated.csv adds: the explanation and the zone); party_id and source_id hold the run's refs. */
  rated: RatedCalls;
  /** Texts new since the last chunk, appended to the writer's text table (the ids `rated` refers to). */
  texts: string[];
  /** [source checksum, line] of earlier rejects that a record rated now replaces. */
  unrejects: Row[];
  /** [amount, reason, in_bundle, priced_seconds, shares, cdr_id] of calls re-priced or restated. */
  reprices: Row[];
  adjustments: Row[];
  counters: Row[];
  fraudStates: Row[];
  alerts: Row[];
  rejects: Row[];
  /** [client_id, period, delta] of month totals moved. */
  totals: [clientId: string, period: string, delta: string][];
  /** The run's counts so far, as JSON. */
  counts: string;
}

export const RATED_CALL_COLUMNS = [
  'cdr_id', 'run_id', 'party_id', 'period', 'start_time', 'answer_time', 'end_time', 'caller', 'caller_original', 'callee',
  'destination_class', 'country', 'billable_seconds', 'disposition', 'direction', 'leg', 'forward_reason', 'device', 'in_bundle',
  'priced_seconds', 'amount', 'first_amount', 'currency', 'reason', 'shares', 'source_id', 'source_line',
] as const;

/** Positions in a rated_call row. */
export const RATED_AT = Object.fromEntries(RATED_CALL_COLUMNS.map((c, i) => [c, i])) as Record<(typeof RATED_CALL_COLUMNS)[number], number>;

const placeholders = (n: number) => Array(n).fill('?').join(', ');

/** The ledger's write statements, prepared once per connection. */
export class ChunkApplier {
  private readonly s;
  /** The ledger's ids of the run's party and source refs. */
  private readonly partyIds: number[] = [];
  private readonly sourceIds: number[] = [];
  /** The writer's text table: what the ids of a chunk's packed calls stand for. */
  readonly texts: string[] = [];

  constructor(private readonly db: SqliteDb) {
    this.s = {
      party: db.prepare('SELECT party_id FROM party WHERE account = ? AND client_id = ? AND site_id = ? AND user_id = ? AND plan_id = ? AND line_type = ? AND channels = ? AND automated = ?').pluck(),
      insertParty: db.prepare('INSERT INTO party (account, client_id, site_id, user_id, plan_id, line_type, channels, automated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      source: db.prepare('SELECT source_id FROM source_file WHERE path = ?').pluck(),
      insertSource: db.prepare('INSERT INTO source_file (path) VALUES (?)'),
      rated: db.prepare(`INSERT INTO rated_call (${RATED_CALL_COLUMNS.join(', ')}) VALUES (${placeholders(RATED_CALL_COLUMNS.length)})`),
      // A record rated now that was rejected before (unknown subscriber since added) leaves the rejects,
      // under every name its file's content was rated under: the call is billed once, whichever copy.
      unreject: db.prepare("DELETE FROM rejected_record WHERE source_checksum = ? AND line = ? AND reason IN ('unknown_subscriber', 'unknown_plan')"),
      // The terms of the first price are kept at the first re-price (the right side reads the old values).
      reprice: db.prepare(
        `UPDATE rated_call SET first_terms = coalesce(first_terms, json_array(in_bundle, priced_seconds, reason, shares)),
           first_amount = CASE first_amount WHEN '' THEN amount ELSE first_amount END,
           amount = ?, reason = ?, in_bundle = ?, priced_seconds = ?, shares = ? WHERE cdr_id = ?`,
      ),
      adjustment: db.prepare(
        `INSERT INTO adjustment (cdr_id, client_id, site_id, user_id, plan_id, period, previous_amount, new_amount, delta, reason, run_id, created_at)
         VALUES (${placeholders(12)})`,
      ),
      counter: db.prepare(
        `INSERT INTO counter_state (key, client_id, site_id, user_id, scope, scope_key, period, rule, value, threshold, crossed_at, state)
         VALUES (${placeholders(12)})
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, threshold = excluded.threshold, crossed_at = excluded.crossed_at, state = excluded.state`,
      ),
      fraud: db.prepare('INSERT INTO fraud_state (client_id, state) VALUES (?, ?) ON CONFLICT (client_id) DO UPDATE SET state = excluded.state'),
      alert: db.prepare(
        `INSERT INTO alert (alert_id, rule, severity, client_id, site_id, user_id, first_seen, last_seen, value, threshold, cdr_ids, message, run_id, created_at, updated_at)
         VALUES (${placeholders(15)})
         ON CONFLICT (alert_id) DO UPDATE SET first_seen = excluded.first_seen, last_seen = excluded.last_seen, value = excluded.value,
           threshold = excluded.threshold, cdr_ids = excluded.cdr_ids, message = excluded.message, severity = excluded.severity,
           run_id = excluded.run_id, updated_at = excluded.updated_at`,
      ),
      reject: db.prepare(
        `INSERT INTO rejected_record (source_checksum, line, source, reason, detail, raw, raw_encoding, run_id, seen_at) VALUES (${placeholders(9)})
         ON CONFLICT (source_checksum, source, line) DO UPDATE SET reason = excluded.reason, detail = excluded.detail,
           raw = excluded.raw, raw_encoding = excluded.raw_encoding, run_id = excluded.run_id, seen_at = excluded.seen_at`,
      ),
      total: db.prepare('SELECT amount FROM month_total WHERE client_id = ? AND period = ?').pluck(),
      upsertTotal: db.prepare('INSERT INTO month_total (client_id, period, amount) VALUES (?, ?, ?) ON CONFLICT (client_id, period) DO UPDATE SET amount = excluded.amount'),
      runCounts: db.prepare('UPDATE run SET counts = ? WHERE run_id = ?'),
    };
  }

  /** The ledger's id of a party the run refers to by `ref` (known once a chunk that names it is applied). */
  partyId(ref: number): number {
    return this.partyIds[ref]!;
  }

  /** The billed calls of a chunk (texts new with it already in the table). */
  calls(w: ChunkWrite): RatedCallsReader {
    return new RatedCallsReader(w.rated, this.texts);
  }

  /** Results, counters, detector states, totals and the run's progress: all or nothing. */
  apply(w: ChunkWrite): void {
    const s = this.s;
    for (const text of w.texts) this.texts.push(text);
    this.db
      .transaction(() => {
        for (const [ref, ...party] of w.parties) {
          this.partyIds[ref] = (s.party.get(party) as number | undefined) ?? Number(s.insertParty.run(party).lastInsertRowid);
        }
        for (const [ref, path] of w.sources) this.sourceIds[ref] = (s.source.get(path) as number | undefined) ?? Number(s.insertSource.run(path).lastInsertRowid);
        this.insertRated(w);
        for (const row of w.unrejects) s.unreject.run(row);
        for (const row of w.reprices) s.reprice.run(row);
        for (const row of w.adjustments) s.adjustment.run(row);
        for (const row of w.counters) s.counter.run(row);
        for (const row of w.fraudStates) s.fraud.run(row);
        for (const row of w.alerts) s.alert.run(row);
        for (const row of w.rejects) s.reject.run(row);
        for (const [clientId, period, delta] of w.totals) {
          const before = new Money((s.total.get(clientId, period) as string | undefined) ?? 0);
          s.upsertTotal.run(clientId, period, before.plus(new Money(delta)).toString());
        }
        s.runCounts.run(w.counts, w.runId);
        faultPoint('commit');
      })
      .immediate();
  }

  /** One statement a call, its parameters in one array filled again for each (nothing made per call but its free texts). */
  private insertRated(w: ChunkWrite): void {
    const calls = this.calls(w);
    const row: unknown[] = new Array(RATED_CALL_COLUMNS.length);
    row[RATED_AT.run_id] = w.runId;
    row[RATED_AT.first_amount] = ''; // the amount, until a re-price keeps it (migration 019)
    for (let i = 0; i < calls.count; i++) {
      row[RATED_AT.cdr_id] = calls.string(i, STRING.cdr_id);
      row[RATED_AT.party_id] = this.partyIds[calls.number(i, NUMBER.party_id)!];
      row[RATED_AT.period] = calls.text(i, TEXT.period);
      row[RATED_AT.start_time] = calls.number(i, NUMBER.start_time);
      row[RATED_AT.answer_time] = calls.number(i, NUMBER.answer_time);
      row[RATED_AT.end_time] = calls.number(i, NUMBER.end_time);
      row[RATED_AT.caller] = calls.string(i, STRING.caller);
      row[RATED_AT.caller_original] = calls.string(i, STRING.caller_original);
      row[RATED_AT.callee] = calls.string(i, STRING.callee);
      row[RATED_AT.destination_class] = calls.text(i, TEXT.destination_class);
      row[RATED_AT.country] = calls.text(i, TEXT.country);
      row[RATED_AT.billable_seconds] = calls.number(i, NUMBER.billable_seconds);
      row[RATED_AT.disposition] = calls.text(i, TEXT.disposition);
      row[RATED_AT.direction] = calls.text(i, TEXT.direction);
      row[RATED_AT.leg] = calls.text(i, TEXT.leg);
      row[RATED_AT.forward_reason] = calls.text(i, TEXT.forward_reason);
      row[RATED_AT.device] = calls.string(i, STRING.device);
      row[RATED_AT.in_bundle] = calls.number(i, NUMBER.in_bundle);
      row[RATED_AT.priced_seconds] = calls.number(i, NUMBER.priced_seconds);
      row[RATED_AT.amount] = calls.string(i, STRING.amount);
      row[RATED_AT.currency] = calls.text(i, TEXT.currency);
      row[RATED_AT.reason] = calls.text(i, TEXT.reason);
      row[RATED_AT.shares] = calls.string(i, STRING.shares);
      row[RATED_AT.source_id] = this.sourceIds[calls.number(i, NUMBER.source_id)!];
      row[RATED_AT.source_line] = calls.number(i, NUMBER.source_line);
      this.s.rated.run(row);
    }
  }
}
