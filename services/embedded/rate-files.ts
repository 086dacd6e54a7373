/**
 * The embedded runtime: switch exports in, rated CDRs, adjustments, alerts and rejects out, with the
 * monthly state kept in SQLite under --data so that daily files rated one after another share their
 * counters exactly as if they had been rated together.
 *
 * A run streams its files in chunks. Each chunk is screened against the ledger (duplicates, conflicts),
 * rated per client in event-time order against counters loaded per scope on demand, and committed with
 * the counters it moved and the run's progress in one transaction. The run's output folder is then an
 * export of what it committed, so neither a re-run nor a crash can lose or double a line of it.
 */
import { accessSync, constants, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Zone } from '../core/calendar.js';
import type { Cdr } from '../core/cdr.js';
import { CdrPipeline } from '../core/cdr-pipeline.js';
import { UnknownPlan } from '../core/rating/rater.js';
import type { Config } from '../config/load-config.js';
import { normalizeContext, pipelineContext, reportingZone } from '../config/pipeline-context.js';
import { screenCdrIds } from '../ingest/cdr-identity.js';
import { fileChecksum } from '../ingest/file-checksum.js';
import { normalizeRecord, type NormalizeContext } from '../ingest/normalize.js';
import { readExportBatches, type ReadExportOptions } from '../ingest/readers/detect-format.js';
import { exportInputProblem } from '../ingest/readers/export-directory.js';
import type { Reject } from '../ingest/source-record.js';
import { lockDataDir } from '../store/data-dir-lock.js';
import { EmbeddedLedger } from '../store/embedded-ledger.js';
import { LedgerWriter } from '../store/ledger-writer.js';
import { openSqlite } from '../store/sqlite.js';
import { claimOutDir, cleanStaging, finishExport, openStaging, OUTPUT_FILES, removeStaging, type ExportContext } from './output-files.js';
import { exportPending, failedExportMessage, type PendingExports } from './pending-exports.js';
import { faultPoint } from './fault-points.js';
import { keepHeapWithinBudget } from './memory-budget.js';
import type { Progress } from './progress.js';
import { OutputError, RunError, storeError } from './run-errors.js';

export interface RateFilesOptions {
  config: Config;
  dataDir: string;
  outDir: string;
  /** Zone of timestamps written without an offset. */
  sourceZone: string;
  files: string[];
  read?: ReadExportOptions;
  progress?: Progress;
  /** Records per committed chunk. */
  chunkSize?: number;
}

export interface RunSummary {
  run_id: number;
  files: string[];
  read: number;
  rated: number;
  duplicates: number;
  rejected: { total: number; byReason: Record<string, number> };
  adjustments: number;
  alerts: { total: number; byRule: Record<string, number> };
  /** Rated calls by `reason`: bundle, out_of_plan_destination, fair_use.…, not_answered … */
  byReason: Record<string, number>;
  /** Calls rated although reading mended something, by kind: quotes read as text, a name not UTF-8, a number rewritten… */
  mended: Record<string, number>;
  /**
   * Month totals after adjustments, for every client month this run read a call of; `billed_on` is the
   * invoice this run's rows of the month go on (a later one when the month was closed).
   */
  totals: { client_id: string; period: string; amount: string; currency: string; billed_on: string }[];
  /** Runs that had died (or stopped on a failed --out) before committing all their files, whose outputs this run exported. */
  recovered: number[];
  /** Runs committed earlier whose folder their --out failed to take, exported by this run. */
  reexported: number[];
  /** Runs still not exported: their own --out, another than this run's, could still not be written. */
  notExported: { run_id: number; out_dir: string; error: string }[];
  outputs: Record<string, string>;
}

const CHUNK = 25_000;

export async function rateFiles(opts: RateFilesOptions): Promise<RunSummary> {
  // Inputs are checked before the store is locked or a run is started: a bad one leaves nothing behind.
  const problems = opts.files.map(exportInputProblem).filter((p): p is string => p !== null);
  if (problems.length > 0) throw new RunError(`${problems.join('; ')}; nothing was rated`);
  let release: () => Promise<void>;
  try {
    release = await lockDataDir(opts.dataDir, `cdr rate ${opts.files.join(' ')}`.slice(0, 200));
  } catch (e) {
    // A read-only or unwritable data directory fails here first: said as such, not as a wrong path.
    throw storeError(e, opts.dataDir, 'open');
  }
  try {
    preflightOutDir(opts.outDir);
    let ledger: EmbeddedLedger;
    let writer: LedgerWriter;
    try {
      ledger = new EmbeddedLedger(openSqlite(opts.dataDir), (writer = new LedgerWriter(opts.dataDir)));
    } catch (e) {
      throw storeError(e, opts.dataDir, 'open');
    }
    try {
      return await runWith(ledger, opts);
    } catch (e) {
      throw storeError(e, opts.dataDir, 'write');
    } finally {
      await writer.close();
      ledger.db.close();
    }
  } finally {
    await release();
  }
}

async function runWith(ledger: EmbeddedLedger, opts: RateFilesOptions): Promise<RunSummary> {
  const exportCtx: ExportContext = { plans: opts.config.plans, zone: reportingZone(opts.config), store: { id: ledger.storeId(), dataDir: opts.dataDir } };
  claimOutDir(opts.outDir, exportCtx.store, (runId) => resolve(ledger.run(runId)?.outDir ?? '') === resolve(opts.outDir));

  // A run that died, or whose --out failed, left committed chunks and perhaps a staging folder: its
  // outputs are written first, so that no billed call stays out of every rated.csv.
  cleanStaging(opts.outDir);
  const pending = await exportPending(ledger, opts.outDir, exportCtx);

  const runId = ledger.startRun(opts.files, opts.outDir);
  const state: RunState = { staging: null, allRead: false, summary: null };
  try {
    return await rateRun(ledger, opts, runId, exportCtx, pending, state);
  } catch (e) {
    if (!(e instanceof OutputError)) throw e;
    opts.progress?.stop();
    // --out failed, the store did not: what was committed stays billed, the run ends now, naming the folder.
    if (state.staging !== null) removeStaging(state.staging);
    const complete = state.allRead && ledger.committedAll();
    if (complete) ledger.endRun(runId, 'committed', (state.summary ??= summarize(ledger, runId, opts, state, pending, 'committed')));
    else ledger.endRun(runId, 'interrupted');
    const rated = complete ? state.summary!.rated : Number(ledger.run(runId)?.counts.rated ?? 0);
    const message = failedExportMessage(e, { runId, outDir: opts.outDir, dataDir: opts.dataDir, complete, rated });
    ledger.markExportFailed(runId, message.why);
    throw new RunError(message.text);
  }
}

/** How far a run got: what its failure handling needs to know. */
interface RunState {
  staging: string | null;
  /** Every record of every file was read and its last chunk sent to the writer. */
  allRead: boolean;
  /** The run's summary, once its files are all committed. */
  summary: RunSummary | null;
  counts?: RunCounts;
  touched?: Map<string, Set<string>>;
}

async function rateRun(ledger: EmbeddedLedger, opts: RateFilesOptions, runId: number, exportCtx: ExportContext, pending: PendingExports, state: RunState): Promise<RunSummary> {
  const { config } = opts;
  const sourceZone = new Zone(opts.sourceZone);
  // rated.csv is written as chunks commit; the other files, small, are exported at the end.
  const staging = (state.staging = openStaging(opts.outDir, runId));
  ledger.openRatedCsv(join(staging, 'rated.csv'));
  const pipeline = new CdrPipeline(pipelineContext(config, { ratingState: ledger, fraudState: ledger }));
  const ctx: NormalizeContext = normalizeContext(config, sourceZone);
  const counts = (state.counts = new RunCounts());
  /** client → periods this run read a call of: their month totals go in the summary. */
  const touched = (state.touched = new Map<string, Set<string>>());
  const touch = (clientId: string, period: string) => {
    let periods = touched.get(clientId);
    if (periods === undefined) touched.set(clientId, (periods = new Set()));
    periods.add(period);
  };
  const checksums = new Map<string, string>();
  const replayable = new Map<string, string>();

  let chunk: Cdr[] = [];
  let rejects: Reject[] = [];
  const commitChunk = () => {
    const owners = ledger.owners(chunk.map((c) => c.cdrId));
    const { fresh, duplicates, conflicts } = screenCdrIds(sortForRating(chunk), (id) => owners.get(id));
    counts.duplicates += duplicates;
    rejects.push(...conflicts);
    for (const cdr of fresh) {
      faultPoint('rate');
      try {
        pipeline.process(cdr);
      } catch (err) {
        if (!(err instanceof UnknownPlan)) throw err;
        rejects.push({ source: cdr.source, line: cdr.line, reason: 'unknown_plan', detail: `${err.message}: add the plan to the configuration (or fix the subscriber's plan_id), then rate the file again`, raw: JSON.stringify({ ...cdr, subscriber: cdr.subscriber.account }) });
      }
    }
    const drained = pipeline.drain();
    const billed = drained.changes.filter((c) => c.previous === null).map((c) => c.call);
    const adjusted = drained.changes.filter((c) => c.previous !== null);
    for (const cdr of chunk) {
      const period = config.plans.get(cdr.subscriber.planId)?.calendar.period(cdr.startMs);
      if (period !== undefined) touch(cdr.subscriber.clientId, period);
    }
    for (const c of drained.changes) touch(c.call.cdr.subscriber.clientId, c.call.period);
    counts.add(billed, adjusted.length, drained.alerts, rejects);
    ledger.commit({
      runId,
      billed,
      adjusted,
      restated: drained.restated,
      counters: drained.counters,
      fraudStates: drained.fraudStates,
      alerts: drained.alerts,
      rejects: rejects.map((reject) => ({ reject, checksum: checksums.get(reject.source) ?? `path:${reject.source}` })),
      replayable,
      moved: drained.moved,
      counts: counts.json(runId, opts.files),
    });
    chunk = [];
    rejects = [];
    keepHeapWithinBudget();
    opts.progress?.update(counts.read, counts.rated);
  };

  opts.progress?.start(opts.files.length);
  for (const [i, file] of opts.files.entries()) {
    opts.progress?.file(i + 1, file);
    const checksum = await fileChecksum(file).catch(() => `unreadable:${file}`);
    checksums.set(file, checksum);
    if (ledger.hasRejects(checksum)) replayable.set(file, checksum);
    for await (const batch of readExportBatches(file, { ...opts.read, limits: config.limits })) {
      for (const item of batch) {
        counts.read++;
        faultPoint('read');
        if (item.kind === 'reject') rejects.push(item.reject);
        else {
          const n = normalizeRecord(item.record, ctx);
          if (n.ok) {
            chunk.push(n.cdr);
            if (n.notes !== undefined) counts.mend(n.notes);
          } else rejects.push(n.reject);
        }
        if (chunk.length + rejects.length >= (opts.chunkSize ?? CHUNK)) commitChunk();
      }
    }
  }
  commitChunk();
  state.allRead = true;
  opts.progress?.stop();

  const summary = (state.summary = summarize(ledger, runId, opts, state, pending, 'settled'));
  ledger.closeRatedCsv();
  // Committed, then exported: a crash or a failed --out in between leaves a committed run not exported,
  // which the next start exports (exported_at says which).
  ledger.finishRun(runId, summary);
  const folder = await finishExport(ledger, runId, opts.outDir, staging, summary, exportCtx);
  faultPoint('exported');
  ledger.markExported(runId);
  summary.outputs = Object.fromEntries(OUTPUT_FILES.map((f) => [f, `${folder}/${f}`]));
  return summary;
}

/**
 * The run's summary with the month totals it touched. `settled` waits for the writer; `committed` reads
 * what is committed, for a run whose writer stopped on a failure after its last chunk.
 */
function summarize(ledger: EmbeddedLedger, runId: number, opts: RateFilesOptions, state: RunState, pending: PendingExports, totalsAs: 'settled' | 'committed'): RunSummary {
  const total = (clientId: string, period: string) => (totalsAs === 'settled' ? ledger.monthTotal(clientId, period) : ledger.committedMonthTotal(clientId, period));
  const totals = [...(state.touched ?? [])]
    .flatMap(([clientId, periods]) => [...periods].map((period) => ({ client_id: clientId, period, amount: total(clientId, period).toFixed(4), currency: currencyOf(opts.config), billed_on: ledger.billedOn(clientId, period) })))
    .sort((a, b) => (a.client_id === b.client_id ? (a.period < b.period ? -1 : 1) : a.client_id < b.client_id ? -1 : 1));
  const counts = (state.counts ?? new RunCounts()).json(runId, opts.files);
  return { ...counts, totals, recovered: pending.recovered, reexported: pending.exported, notExported: pending.notExported, outputs: {} };
}

/** What a run has done so far: recorded with every chunk, so an interrupted run's summary says it too. */
class RunCounts {
  read = 0;
  rated = 0;
  duplicates = 0;
  adjustments = 0;
  private readonly rejectReasons: Record<string, number> = {};
  private readonly alertRules = new Map<string, Set<string>>();
  private readonly reasons: Record<string, number> = {};
  private readonly mended: Record<string, number> = {};

  /** Counts what reading mended on a call it rated, by kind (a note's words before its colon: no number of the call). */
  mend(notes: readonly string[]): void {
    for (const note of notes) {
      const kind = note.split(':')[0]!;
      this.mended[kind] = (this.mended[kind] ?? 0) + 1;
    }
  }

  add(billed: { reason: string }[], adjustments: number, alerts: { alertId: string; rule: string }[], rejects: Reject[]): void {
    this.rated += billed.length;
    this.adjustments += adjustments;
    for (const c of billed) this.reasons[c.reason] = (this.reasons[c.reason] ?? 0) + 1;
    for (const r of rejects) this.rejectReasons[r.reason] = (this.rejectReasons[r.reason] ?? 0) + 1;
    for (const a of alerts) {
      if (!this.alertRules.has(a.rule)) this.alertRules.set(a.rule, new Set());
      this.alertRules.get(a.rule)!.add(a.alertId);
    }
  }

  json(runId: number, files: string[]): Omit<RunSummary, 'totals' | 'recovered' | 'reexported' | 'notExported' | 'outputs'> {
    const byRule = Object.fromEntries([...this.alertRules].map(([rule, ids]) => [rule, ids.size]));
    return {
      run_id: runId,
      files,
      read: this.read,
      rated: this.rated,
      duplicates: this.duplicates,
      rejected: { total: Object.values(this.rejectReasons).reduce((a, b) => a + b, 0), byReason: this.rejectReasons },
      adjustments: this.adjustments,
      alerts: { total: Object.values(byRule).reduce((a, b) => a + b, 0), byRule },
      byReason: this.reasons,
      mended: this.mended,
    };
  }
}

/** Event-time order per client keeps counters on their fast path; the result does not depend on it. */
function sortForRating(cdrs: Cdr[]): Cdr[] {
  return cdrs.sort((a, b) => (a.subscriber.clientId < b.subscriber.clientId ? -1 : a.subscriber.clientId > b.subscriber.clientId ? 1 : a.startMs - b.startMs || (a.cdrId < b.cdrId ? -1 : 1)));
}


/** A run that cannot write its outputs must say so before it rates anything. */
function preflightOutDir(outDir: string): void {
  try {
    mkdirSync(outDir, { recursive: true });
    accessSync(outDir, constants.W_OK);
  } catch (e) {
    throw new RunError(`cannot write the output folder ${outDir} (${(e as NodeJS.ErrnoException).code ?? String(e)}): create it or make it writable, or choose another --out`);
  }
}

function currencyOf(config: Config): string {
  const currencies = new Set([...config.tariffs.values()].map((t) => t.currency));
  return currencies.size === 1 ? [...currencies][0]! : '';
}

