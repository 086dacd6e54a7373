/**
 * The embedded runtime's store, over SQLite: the ledger of rated calls, adjustments, alerts, rejects,
 * the saved counters and detector states, and the runs. It is the RatingState and FraudStateSource the
 * pipeline reads (synchronously, on demand, per scope) and the place each chunk of a run is committed
 * to, results and state in one transaction: made into rows here, written by the ledger's writer thread
 * (ledger-writer.ts) while the run rates the next chunk.
 */
import { hostname } from 'node:os';
import type { Alert } from '../core/alert.js';
import type { Cdr, LineType, Subscriber } from '../core/cdr.js';
import { cdrOfLedgerRow } from './ledger-row.js';
import type { SavedCounter } from '../core/fair-use/monthly-counter.js';
import type { FraudStateSource, SavedFraudState } from '../core/fraud/fraud-detector.js';
import { billingMonth } from '../core/invoice/billing-month.js';
import { Money } from '../core/money.js';
import type { ScopeMonth } from '../core/rating/plan-counters.js';
import { sharesOf, type CounterRow, type MonthTotals, type PriceChange, type RatedCall } from '../core/rating/rater.js';
import type { RatingState, StoredCall } from '../core/rating/rating-state.js';
import type { Reject } from '../ingest/source-record.js';
import { billedAmount } from './rating-store.js';
import type { SqliteDb } from './sqlite.js';
import { Explanations, RATED_COLUMNS, STORED_RATED_COLUMNS, type StoredRated } from '../embedded/rated-csv.js';
import type { ChunkWrite, PartyRef, SourceRef } from './chunk-write.js';
import type { LedgerWriter } from './ledger-writer.js';
import { RatedCallsPacker } from './rated-calls.js';

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
  /** When its folder under outDir was last written whole; null: not exported (yet). */
  exportedAt: number | null;
  /** Why the last export of it failed, while it is not exported. */
  exportError: string | null;
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
  /**
   * Parties and source files by the run's own references: the writer thread turns them into the
   * ledger's ids inside its transaction, so the run never writes (nor waits for the writer) itself.
   */
  private readonly partyRefs = new Map<string, number>();
  /** The directory's subscribers are shared objects: most calls find their party without a key. */
  private readonly partyRefOf = new WeakMap<Subscriber, number>();
  private readonly sourceRefs = new Map<string, number>();
  private newParties: PartyRef[] = [];
  private newSources: SourceRef[] = [];
  private readonly partyRows = new Map<number, Subscriber>();
  private readonly sourcePaths = new Map<number, string>();
  private readonly stmt;
  /** Texts the writer thread has been sent (explanations, zone names), by the id it knows them by. */
  private readonly textIds = new Map<string, number>();
  private readonly explanations = new Explanations();
  /** The last party and source asked for: a chunk comes sorted by client, from one file at a time. */
  private lastParty: { subscriber: Subscriber; ref: number } | null = null;
  private lastSource: { path: string; ref: number } | null = null;
  /** The billed calls of the chunk the writer may still be committing: cdr_id → client. */
  private inFlight = new Map<string, string>();

  /** `writer` null: a ledger opened to read (cdr export, explain, runs). */
  constructor(
    readonly db: SqliteDb,
    private readonly writer: LedgerWriter | null = null,
  ) {
    this.stmt = {
      owners: db.prepare(ownersQuery(OWNER_BATCH)),
      anyReject: db.prepare("SELECT 1 FROM rejected_record WHERE source_checksum = ? AND reason IN ('unknown_subscriber', 'unknown_plan') LIMIT 1").pluck(),
      counter: db.prepare('SELECT state FROM counter_state WHERE key = ?').pluck(),
      fraud: db.prepare('SELECT state FROM fraud_state WHERE client_id = ?').pluck(),
      partyById: db.prepare('SELECT * FROM party WHERE party_id = ?'),
      sourceById: db.prepare('SELECT path FROM source_file WHERE source_id = ?').pluck(),
      total: db.prepare('SELECT amount FROM month_total WHERE client_id = ? AND period = ?').pluck(),
    };
  }

  // --- what rating reads -------------------------------------------------------------------------

  counter(key: string): SavedCounter | null {
    const json = this.stmt.counter.get(key) as string | undefined;
    return json === undefined ? null : (JSON.parse(json) as SavedCounter);
  }

  calls(scope: ScopeMonth): StoredCall[] {
    this.settle(); // the month must hold every call drained so far
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
    for (const id of cdrIds) {
      const owner = this.inFlight.get(id);
      if (owner !== undefined) out.set(id, owner);
    }
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
    this.settle();
    return this.committedMonthTotal(clientId, period);
  }

  /** Month totals as committed, without waiting for the writer: for a run whose writer stopped on a failure. */
  committedMonthTotal(clientId: string, period: string): Money {
    const t = this.stmt.total.get(clientId, period) as string | undefined;
    return new Money(t ?? 0);
  }

  /**
   * The month a row of `period` written now is invoiced on: `period` itself while it is open, else the
   * first later month still open (R-MOB-LATE-CDR), as billingMonth() decides for the invoice.
   */
  billedOn(clientId: string, period: string): string {
    const rows = this.db.prepare('SELECT period, last_rated_seq, last_adjustment_seq FROM month_close WHERE client_id = ? AND period >= ?').all(clientId, period) as { period: string; last_rated_seq: number; last_adjustment_seq: number }[];
    const closes = new Map(rows.map((r) => [r.period, { period: r.period, lastRatedSeq: r.last_rated_seq, lastAdjustmentSeq: r.last_adjustment_seq }]));
    return billingMonth(period, Number.POSITIVE_INFINITY, 'rated', closes);
  }

  // --- runs ----------------------------------------------------------------------------------------

  /** This store's own id (made with it): the run folders it writes under --out carry it. */
  storeId(): string {
    return this.db.prepare('SELECT id FROM store_identity').pluck().get() as string;
  }

  startRun(files: string[], outDir: string): number {
    const r = this.db
      .prepare("INSERT INTO run (started_at, status, host, pid, files, out_dir, first_seq) VALUES (?, 'running', ?, ?, ?, ?, (SELECT coalesce(max(seq), 0) + 1 FROM rated_call))")
      .run(Date.now(), hostname(), process.pid, JSON.stringify(files), outDir);
    return Number(r.lastInsertRowid);
  }

  /** Every file of the run is committed: its calls are billed, whether or not its folder gets written. */
  finishRun(runId: number, counts: unknown): void {
    this.settle();
    this.endRun(runId, 'committed', counts);
  }

  /**
   * The end of a run whose writer stopped on a failure (nothing more commits): `committed` if every file
   * was, with its summary; `interrupted` if it stopped before (its counts are those of its last commit):
   * what it committed stays billed, and a run of the same files bills the rest.
   */
  endRun(runId: number, status: 'committed' | 'interrupted', counts?: unknown): void {
    if (counts === undefined) this.db.prepare('UPDATE run SET status = ?, finished_at = ? WHERE run_id = ?').run(status, Date.now(), runId);
    else this.db.prepare('UPDATE run SET status = ?, finished_at = ?, counts = ? WHERE run_id = ?').run(status, Date.now(), JSON.stringify(counts), runId);
  }

  /** Whether every chunk sent to the writer was committed (false once a failure stopped it before the last). */
  committedAll(): boolean {
    return this.writer?.allCommitted() ?? true;
  }

  /** The run's folder is in place under its --out, whole. */
  markExported(runId: number): void {
    this.db.prepare('UPDATE run SET exported_at = ?, export_error = NULL WHERE run_id = ?').run(Date.now(), runId);
  }

  /** Writing the run's folder failed: it stays listed as not exported, with why. */
  markExportFailed(runId: number, why: string): void {
    this.db.prepare('UPDATE run SET exported_at = NULL, export_error = ? WHERE run_id = ?').run(why, runId);
  }

  /** Runs that are over (committed or interrupted) and whose folder is not written yet, oldest first. */
  unexported(): RunRecord[] {
    return (this.db.prepare("SELECT * FROM run WHERE status <> 'running' AND exported_at IS NULL ORDER BY run_id").all() as Record<string, unknown>[]).map(runOf);
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

  /**
   * Sends a chunk to the writer, made into rows: results, counters, detector states, totals and the
   * run's progress, committed all or nothing. Returns once the previous chunk is committed.
   */
  commit(chunk: ChunkResults): void {
    const writer = this.writerOf();
    const write = this.rowsOf(chunk);
    writer.post(write);
    const inFlight = new Map<string, string>();
    for (const call of chunk.billed) inFlight.set(call.cdrId, call.cdr.subscriber.clientId);
    this.inFlight = inFlight;
  }

  /** Returns once every chunk sent is committed. */
  settle(): void {
    this.writer?.settle();
  }

  /** From now on committed calls are also written to rated.csv at `path`. */
  openRatedCsv(path: string): void {
    this.writerOf().openRatedCsv(path, RATED_COLUMNS);
  }

  closeRatedCsv(): void {
    this.writerOf().closeRatedCsv();
  }

  private rowsOf(chunk: ChunkResults): ChunkWrite {
    const now = Date.now();
    const texts: string[] = [];
    const textId = (text: string) => {
      let id = this.textIds.get(text);
      if (id === undefined) {
        this.textIds.set(text, (id = this.textIds.size));
        texts.push(text);
      }
      return id;
    };
    const rated = new RatedCallsPacker(chunk.billed.length, textId);
    const unrejects: unknown[][] = [];
    for (let i = 0; i < chunk.billed.length; i++) {
      const call = chunk.billed[i]!;
      const c = call.cdr;
      const amount = billedAmount(call, call.amount);
      const shares = sharesOf(call);
      rated.setStrings(i, c.cdrId, c.caller, c.callerOriginal, c.callee, c.device, amount, shares);
      rated.setTexts(
        i, call.period, call.dest.cls, call.dest.country, c.disposition, c.direction, c.leg, c.forwardReason, call.plan.tariffTable.currency,
        call.reason, this.explanations.of(call.plan, c.subscriber.planId, call.reason, shares), call.plan.calendar.name,
      );
      rated.setNumbers(i, this.partyRef(c.subscriber), this.sourceRef(c.source), c.startMs, c.answerMs, c.endMs, c.billableSeconds, call.inBundle, call.pricedSeconds, c.line);
      const checksum = chunk.replayable.get(c.source);
      if (checksum !== undefined) unrejects.push([checksum, c.line]);
    }
    const reprices: unknown[][] = [];
    const adjustments: unknown[][] = [];
    for (const { call, previous } of chunk.adjusted) {
      const sub = call.cdr.subscriber;
      const text = (m: Money) => billedAmount(call, m);
      reprices.push(repriceRow(call));
      adjustments.push([call.cdrId, sub.clientId, sub.siteId, sub.userId, sub.planId, call.period, text(previous!), text(call.amount), text(call.amount.minus(previous!)), call.reason, chunk.runId, now]);
    }
    for (const call of chunk.restated) reprices.push(repriceRow(call));
    const totals: [string, string, string][] = [];
    for (const [clientId, periods] of chunk.moved) for (const [period, delta] of periods) totals.push([clientId, period, delta.toString()]);
    const parties = this.newParties;
    const sources = this.newSources;
    this.newParties = [];
    this.newSources = [];
    return {
      runId: chunk.runId,
      now,
      parties,
      sources,
      rated: rated.finish(),
      texts,
      unrejects,
      reprices,
      adjustments,
      counters: chunk.counters.map((c) => [c.key, c.clientId, c.siteId, c.userId, c.scope, c.scopeKey, c.period, c.rule, c.value, c.threshold, c.crossedAtMs, JSON.stringify(c.saved)]),
      fraudStates: chunk.fraudStates.map((f) => [f.clientId, JSON.stringify(f.saved)]),
      alerts: chunk.alerts.map((a) => [a.alertId, a.rule, a.severity, a.clientId, a.siteId, a.userId, a.firstSeenMs, a.lastSeenMs, String(a.value), String(a.threshold), JSON.stringify(a.cdrIds), a.message, chunk.runId, now, now]),
      rejects: chunk.rejects.map(({ reject: r, checksum }) => [checksum, r.line, r.source, r.reason, r.detail, r.raw, r.rawEncoding ?? '', chunk.runId, now]),
      totals,
      counts: JSON.stringify(chunk.counts),
    };
  }

  private writerOf(): LedgerWriter {
    if (this.writer === null) throw new Error('this ledger was opened to read: it has no writer');
    return this.writer;
  }

  // --- the ledger as invoicing reads it ---------------------------------------------------------------

  /** The calls a run billed first, in the order it billed them. */
  ratedOfRun(runId: number): IterableIterator<StoredRated> {
    return this.db
      .prepare(`SELECT ${STORED_RATED_COLUMNS.join(', ')} FROM rated_cdr WHERE seq >= (SELECT first_seq FROM run WHERE run_id = ?) AND run_id = ? ORDER BY seq`)
      .raw()
      .iterate(runId, runId) as IterableIterator<StoredRated>;
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

  private partyRef(s: Subscriber): number {
    if (this.lastParty?.subscriber === s) return this.lastParty.ref;
    let ref = this.partyRefOf.get(s);
    if (ref === undefined) {
      const key = `${s.account}\u0000${s.clientId}\u0000${s.siteId}\u0000${s.userId}\u0000${s.planId}\u0000${s.lineType}\u0000${s.channels}\u0000${s.automated}`;
      ref = this.partyRefs.get(key);
      if (ref === undefined) {
        this.partyRefs.set(key, (ref = this.partyRefs.size));
        this.newParties.push([ref, s.account, s.clientId, s.siteId, s.userId, s.planId, s.lineType, s.channels, s.automated ? 1 : 0]);
      }
      this.partyRefOf.set(s, ref);
    }
    this.lastParty = { subscriber: s, ref };
    return ref;
  }

  private sourceRef(path: string): number {
    if (this.lastSource?.path === path) return this.lastSource.ref;
    let ref = this.sourceRefs.get(path);
    if (ref === undefined) {
      this.sourceRefs.set(path, (ref = this.sourceRefs.size));
      this.newSources.push([ref, path]);
    }
    this.lastSource = { path, ref };
    return ref;
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

function repriceRow(call: RatedCall): unknown[] {
  return [billedAmount(call, call.amount), call.reason, call.inBundle ? 1 : 0, call.pricedSeconds, sharesOf(call), call.cdrId];
}

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
    exportedAt: r.exported_at === null || r.exported_at === undefined ? null : Number(r.exported_at),
    exportError: r.export_error === null || r.export_error === undefined ? null : String(r.export_error),
  };
}
