/**
 * The embedded runtime's store, over SQLite: the ledger of rated calls, adjustments, alerts, rejects,
 * the saved counters and detector states, and the runs. It is the RatingState and FraudStateSource the
 * pipeline reads (synchronously, on demand, per scope) and the place each chunk of a run is committed
 * to, results and state in one transaction.
 */
import { hostname } from 'node:os';
import type { Alert } from '../core/alert.js';
import type { Cdr, LineType, Subscriber } from '../core/cdr.js';
import { cdrOfLedgerRow } from './ledger-row.js';
import type { SavedCounter } from '../core/fair-use/monthly-counter.js';
import type { FraudStateSource, SavedFraudState } from '../core/fraud/fraud-detector.js';
import { Money } from '../core/money.js';
import type { ScopeMonth } from '../core/rating/plan-counters.js';
import { sharesOf, type CounterRow, type MonthTotals, type PriceChange, type RatedCall } from '../core/rating/rater.js';
import type { RatingState, StoredCall } from '../core/rating/rating-state.js';
import type { Reject } from '../ingest/source-record.js';
import { billedAmount } from './rating-store.js';
import type { SqliteDb } from './sqlite.js';
import { faultPoint } from '../embedded/fault-points.js';

/** What one committed chunk of a run holds. */
export interface ChunkResults {
  runId: number;
  billed: RatedCall[];
  adjusted: PriceChange[];
  restated: RatedCall[];
  counters: CounterRow[];
  fraudStates: { clientId: string; saved: SavedFraudState }[];
  alerts: Alert[];
  /** Rejects with the checksum of the file they come from. */
  rejects: { reject: Reject; checksum: string }[];
  /** The checksum of each file read whose earlier rejects a rated record may replace, by path. */
  replayable: ReadonlyMap<string, string>;
  /** How the chunk moved month totals: client → period → delta. */
  moved: MonthTotals;
  /** The run's counts so far, recorded with the chunk. */
  counts: unknown;
}

export interface RunRecord {
  runId: number;
  startedAt: number;
  finishedAt: number | null;
  status: 'running' | 'committed' | 'interrupted';
  host: string;
  pid: number;
  files: string[];
  counts: Record<string, unknown>;
  outDir: string;
}

interface PartyRow {
  party_id: number;
  account: string;
  client_id: string;
  site_id: string;
  user_id: string;
  plan_id: string;
  line_type: string;
  channels: number;
  automated: number;
}

export class EmbeddedLedger implements RatingState, FraudStateSource {
  private readonly parties = new Map<string, number>();
  /** The directory's subscribers are shared objects: most calls find their party without a key. */
  private readonly partyOf = new WeakMap<Subscriber, number>();
  private readonly partyRows = new Map<number, Subscriber>();
  private readonly sources = new Map<string, number>();
  private readonly sourcePaths = new Map<number, string>();
  private readonly stmt;

  constructor(readonly db: SqliteDb) {
    this.stmt = {
      owners: db.prepare(ownersQuery(OWNER_BATCH)),
      anyReject: db.prepare("SELECT 1 FROM rejected_record WHERE source_checksum = ? AND reason IN ('unknown_subscriber', 'unknown_plan') LIMIT 1").pluck(),
      counter: db.prepare('SELECT state FROM counter_state WHERE key = ?').pluck(),
      fraud: db.prepare('SELECT state FROM fraud_state WHERE client_id = ?').pluck(),
      party: db.prepare('SELECT party_id FROM party WHERE account = ? AND client_id = ? AND site_id = ? AND user_id = ? AND plan_id = ? AND line_type = ? AND channels = ? AND automated = ?').pluck(),
      partyById: db.prepare('SELECT * FROM party WHERE party_id = ?'),
      insertParty: db.prepare('INSERT INTO party (account, client_id, site_id, user_id, plan_id, line_type, channels, automated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      source: db.prepare('SELECT source_id FROM source_file WHERE path = ?').pluck(),
      sourceById: db.prepare('SELECT path FROM source_file WHERE source_id = ?').pluck(),
      insertSource: db.prepare('INSERT INTO source_file (path) VALUES (?)'),
      insertRated: db.prepare(
        `INSERT INTO rated_call (cdr_id, run_id, party_id, period, start_time, answer_time, end_time, caller, caller_original, callee,
           destination_class, country, billable_seconds, disposition, direction, leg, forward_reason, device, in_bundle, priced_seconds,
           amount, first_amount, currency, reason, shares, source_id, source_line)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      reprice: db.prepare('UPDATE rated_call SET amount = ?, reason = ?, in_bundle = ?, priced_seconds = ?, shares = ? WHERE cdr_id = ?'),
      insertAdjustment: db.prepare(
        `INSERT INTO adjustment (cdr_id, client_id, site_id, user_id, plan_id, period, previous_amount, new_amount, delta, reason, run_id, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      upsertCounter: db.prepare(
        `INSERT INTO counter_state (key, client_id, site_id, user_id, scope, scope_key, period, rule, value, threshold, crossed_at, state)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, threshold = excluded.threshold, crossed_at = excluded.crossed_at, state = excluded.state`,
      ),
      upsertFraud: db.prepare('INSERT INTO fraud_state (client_id, state) VALUES (?, ?) ON CONFLICT (client_id) DO UPDATE SET state = excluded.state'),
      upsertAlert: db.prepare(
        `INSERT INTO alert (alert_id, rule, severity, client_id, site_id, user_id, first_seen, last_seen, value, threshold, cdr_ids, message, run_id, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (alert_id) DO UPDATE SET first_seen = excluded.first_seen, last_seen = excluded.last_seen, value = excluded.value,
           threshold = excluded.threshold, cdr_ids = excluded.cdr_ids, message = excluded.message, severity = excluded.severity,
           run_id = excluded.run_id, updated_at = excluded.updated_at`,
      ),
      upsertReject: db.prepare(
        `INSERT INTO rejected_record (source_checksum, line, source, reason, detail, raw, raw_encoding, run_id, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (source_checksum, line) DO UPDATE SET source = excluded.source, reason = excluded.reason, detail = excluded.detail,
           raw = excluded.raw, raw_encoding = excluded.raw_encoding, run_id = excluded.run_id, seen_at = excluded.seen_at`,
      ),
      // A record rated now that was rejected before (unknown subscriber since added) leaves the rejects.
      unreject: db.prepare("DELETE FROM rejected_record WHERE source_checksum = ? AND line = ? AND reason IN ('unknown_subscriber', 'unknown_plan')"),
      total: db.prepare('SELECT amount FROM month_total WHERE client_id = ? AND period = ?').pluck(),
      upsertTotal: db.prepare('INSERT INTO month_total (client_id, period, amount) VALUES (?, ?, ?) ON CONFLICT (client_id, period) DO UPDATE SET amount = excluded.amount'),
      runCounts: db.prepare('UPDATE run SET counts = ? WHERE run_id = ?'),
    };
  }

  // --- what rating reads -------------------------------------------------------------------------

  counter(key: string): SavedCounter | null {
    const json = this.stmt.counter.get(key) as string | undefined;
    return json === undefined ? null : (JSON.parse(json) as SavedCounter);
  }

  calls(scope: ScopeMonth): StoredCall[] {
    const column = scope.scope === 'user' ? 'user_id' : scope.scope === 'line' ? 'account' : scope.scope === 'site' ? 'site_id' : 'client_id';
    const rows = this.db
      .prepare(
        `SELECT r.* FROM rated_call r WHERE r.period = ? AND r.party_id IN (SELECT party_id FROM party WHERE client_id = ? AND ${column} = ?)`,
      )
      .all(scope.period, scope.clientId, scope.scopeId) as Record<string, unknown>[];
    return rows.map((row) => ({ cdr: this.cdrOf(row), billed: new Money(String(row.amount)), shares: String(row.shares) }));
  }

  load(clientId: string): SavedFraudState | null {
    const json = this.stmt.fraud.get(clientId) as string | undefined;
    return json === undefined ? null : (JSON.parse(json) as SavedFraudState);
  }

  /** The client each of these cdr_ids was billed to, for those billed before. */
  owners(cdrIds: readonly string[]): Map<string, string> {
    const out = new Map<string, string>();
    for (let i = 0; i < cdrIds.length; i += OWNER_BATCH) {
      const ids = cdrIds.slice(i, i + OWNER_BATCH);
      const stmt = ids.length === OWNER_BATCH ? this.stmt.owners : this.db.prepare(ownersQuery(ids.length));
      for (const [id, owner] of stmt.raw().all(...ids) as [string, string][]) out.set(id, owner);
    }
    return out;
  }

  /** Whether a file (by checksum) has rejects from an earlier run that a record of it may now replace. */
  hasRejects(checksum: string): boolean {
    return this.stmt.anyReject.get(checksum) !== undefined;
  }

  /** A stored call by cdr_id (for `cdr explain`). */
  storedCall(cdrId: string): StoredCall | null {
    const row = this.db.prepare('SELECT * FROM rated_call WHERE cdr_id = ?').get(cdrId) as Record<string, unknown> | undefined;
    return row === undefined ? null : { cdr: this.cdrOf(row), billed: new Money(String(row.amount)), shares: String(row.shares) };
  }

  /** A counter's value and threshold now, for explanations. */
  counterRow(key: string): { value: number; threshold: number } | null {
    return (this.db.prepare('SELECT value, threshold FROM counter_state WHERE key = ?').get(key) as { value: number; threshold: number } | undefined) ?? null;
  }

  /** Month totals after adjustments. */
  monthTotal(clientId: string, period: string): Money {
    const t = this.stmt.total.get(clientId, period) as string | undefined;
    return new Money(t ?? 0);
  }

  // --- runs ----------------------------------------------------------------------------------------

  startRun(files: string[], outDir: string): number {
    const r = this.db
      .prepare("INSERT INTO run (started_at, status, host, pid, files, out_dir, first_seq) VALUES (?, 'running', ?, ?, ?, ?, (SELECT coalesce(max(seq), 0) + 1 FROM rated_call))")
      .run(Date.now(), hostname(), process.pid, JSON.stringify(files), outDir);
    return Number(r.lastInsertRowid);
  }

  finishRun(runId: number, counts: unknown): void {
    this.db.prepare("UPDATE run SET status = 'committed', finished_at = ?, counts = ? WHERE run_id = ?").run(Date.now(), JSON.stringify(counts), runId);
  }

  /** Runs that started and never finished (the process died): their committed chunks are in the ledger. */
  markInterrupted(): RunRecord[] {
    const rows = this.db.prepare("SELECT * FROM run WHERE status = 'running'").all() as Record<string, unknown>[];
    this.db.prepare("UPDATE run SET status = 'interrupted' WHERE status = 'running'").run();
    return rows.map((r) => ({ ...runOf(r), status: 'interrupted' }));
  }

  run(runId: number): RunRecord | null {
    const row = this.db.prepare('SELECT * FROM run WHERE run_id = ?').get(runId) as Record<string, unknown> | undefined;
    return row === undefined ? null : runOf(row);
  }

  runs(): RunRecord[] {
    return (this.db.prepare('SELECT * FROM run ORDER BY run_id').all() as Record<string, unknown>[]).map(runOf);
  }

  // --- what a chunk commits --------------------------------------------------------------------------

  /** Commits a chunk: results, counters, detector states, totals and the run's progress, all or nothing. */
  commit(chunk: ChunkResults): void {
    const now = Date.now();
    const s = this.stmt;
    this.db
      .transaction(() => {
        for (const call of chunk.billed) {
          const c = call.cdr;
          const amount = billedAmount(call, call.amount);
          s.insertRated.run(
            c.cdrId, chunk.runId, this.partyId(c.subscriber), call.period, c.startMs, c.answerMs, c.endMs, c.caller, c.callerOriginal,
            c.callee, call.dest.cls, call.dest.country, c.billableSeconds, c.disposition, c.direction, c.leg, c.forwardReason, c.device,
            call.inBundle ? 1 : 0, call.pricedSeconds, amount, amount, call.plan.tariffTable.currency, call.reason, sharesOf(call),
            this.sourceId(c.source), c.line,
          );
          const checksum = chunk.replayable.get(c.source);
          if (checksum !== undefined) s.unreject.run(checksum, c.line);
        }
        for (const { call, previous } of chunk.adjusted) {
          const sub = call.cdr.subscriber;
          const text = (m: Money) => billedAmount(call, m);
          s.reprice.run(text(call.amount), call.reason, call.inBundle ? 1 : 0, call.pricedSeconds, sharesOf(call), call.cdrId);
          s.insertAdjustment.run(call.cdrId, sub.clientId, sub.siteId, sub.userId, sub.planId, call.period, text(previous!), text(call.amount), text(call.amount.minus(previous!)), call.reason, chunk.runId, now);
        }
        for (const call of chunk.restated) s.reprice.run(billedAmount(call, call.amount), call.reason, call.inBundle ? 1 : 0, call.pricedSeconds, sharesOf(call), call.cdrId);
        for (const c of chunk.counters) {
          s.upsertCounter.run(c.key, c.clientId, c.siteId, c.userId, c.scope, c.scopeKey, c.period, c.rule, c.value, c.threshold, c.crossedAtMs, JSON.stringify(c.saved));
        }
        for (const f of chunk.fraudStates) s.upsertFraud.run(f.clientId, JSON.stringify(f.saved));
        for (const a of chunk.alerts) {
          s.upsertAlert.run(a.alertId, a.rule, a.severity, a.clientId, a.siteId, a.userId, a.firstSeenMs, a.lastSeenMs, String(a.value), String(a.threshold), JSON.stringify(a.cdrIds), a.message, chunk.runId, now, now);
        }
        for (const { reject: r, checksum } of chunk.rejects) s.upsertReject.run(checksum, r.line, r.source, r.reason, r.detail, r.raw, r.rawEncoding ?? '', chunk.runId, now);
        for (const [clientId, periods] of chunk.moved) {
          for (const [period, delta] of periods) s.upsertTotal.run(clientId, period, this.monthTotal(clientId, period).plus(delta).toString());
        }
        s.runCounts.run(JSON.stringify(chunk.counts), chunk.runId);
        faultPoint('commit');
      })
      .immediate();
  }

  // --- the ledger as invoicing reads it ---------------------------------------------------------------

  /** The calls a run billed first, in the order it billed them, as rows of RATED_EXPORT_COLUMNS. */
  ratedOfRun(runId: number): IterableIterator<unknown[]> {
    return this.db
      .prepare(`SELECT ${RATED_EXPORT_COLUMNS.join(', ')} FROM rated_cdr WHERE seq >= (SELECT first_seq FROM run WHERE run_id = ?) AND run_id = ? ORDER BY seq`)
      .raw()
      .iterate(runId, runId) as IterableIterator<unknown[]>;
  }

  adjustmentsOfRun(runId: number): Record<string, unknown>[] {
    return this.db.prepare('SELECT * FROM adjustment WHERE run_id = ? ORDER BY seq').all(runId) as Record<string, unknown>[];
  }

  alertsOfRun(runId: number): Record<string, unknown>[] {
    return this.db.prepare('SELECT * FROM alert WHERE run_id = ? ORDER BY alert_id').all(runId) as Record<string, unknown>[];
  }

  rejectsOfRun(runId: number): Record<string, unknown>[] {
    return this.db.prepare('SELECT * FROM rejected_record WHERE run_id = ? ORDER BY source, line').all(runId) as Record<string, unknown>[];
  }

  private partyId(s: Subscriber): number {
    const known = this.partyOf.get(s);
    if (known !== undefined) return known;
    const key = `${s.account}\u0000${s.clientId}\u0000${s.siteId}\u0000${s.userId}\u0000${s.planId}\u0000${s.lineType}\u0000${s.channels}\u0000${s.automated}`;
    let id = this.parties.get(key);
    if (id === undefined) {
      const values = [s.account, s.clientId, s.siteId, s.userId, s.planId, s.lineType, s.channels, s.automated ? 1 : 0];
      id = (this.stmt.party.get(...values) as number | undefined) ?? Number(this.stmt.insertParty.run(...values).lastInsertRowid);
      this.parties.set(key, id);
    }
    this.partyOf.set(s, id);
    return id;
  }

  private sourceId(path: string): number {
    let id = this.sources.get(path);
    if (id === undefined) {
      id = (this.stmt.source.get(path) as number | undefined) ?? Number(this.stmt.insertSource.run(path).lastInsertRowid);
      this.sources.set(path, id);
    }
    return id;
  }

  private subscriberOf(partyId: number): Subscriber {
    let s = this.partyRows.get(partyId);
    if (s === undefined) {
      const p = this.stmt.partyById.get(partyId) as PartyRow;
      s = { account: p.account, clientId: p.client_id, siteId: p.site_id, userId: p.user_id, planId: p.plan_id, lineType: p.line_type as LineType, channels: p.channels, automated: p.automated === 1, numbers: [] };
      this.partyRows.set(partyId, s);
    }
    return s;
  }

  private sourcePath(sourceId: number): string {
    let p = this.sourcePaths.get(sourceId);
    if (p === undefined) {
      p = this.stmt.sourceById.get(sourceId) as string;
      this.sourcePaths.set(sourceId, p);
    }
    return p;
  }

  private cdrOf(row: Record<string, unknown>): Cdr {
    return cdrOfLedgerRow(row, this.subscriberOf(Number(row.party_id)), this.sourcePath(Number(row.source_id)));
  }

}

const OWNER_BATCH = 500;

/** What rated.csv is made of, in the ledger's columns. */
export const RATED_EXPORT_COLUMNS = [
  'cdr_id', 'client_id', 'site_id', 'user_id', 'plan_id', 'period', 'start_time', 'callee', 'destination_class', 'country',
  'billable_seconds', 'in_bundle', 'first_amount', 'currency', 'reason', 'priced_seconds', 'shares', 'caller', 'caller_original',
] as const;

function ownersQuery(n: number): string {
  return `SELECT r.cdr_id, p.client_id FROM rated_call r JOIN party p USING (party_id) WHERE r.cdr_id IN (${Array(n).fill('?').join(',')})`;
}

function runOf(r: Record<string, unknown>): RunRecord {
  return {
    runId: Number(r.run_id),
    startedAt: Number(r.started_at),
    finishedAt: r.finished_at === null ? null : Number(r.finished_at),
    status: r.status as RunRecord['status'],
    host: String(r.host),
    pid: Number(r.pid),
    files: JSON.parse(String(r.files)) as string[],
    counts: JSON.parse(String(r.counts)) as Record<string, unknown>,
    outDir: String(r.out_dir),
  };
}
