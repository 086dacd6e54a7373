/**
 * The embedded runtime: switch exports in, rated CDRs, adjustments, alerts and rejects out, with the
 * monthly state kept in PGlite so that daily files rated one after another share their counters
 * exactly as if they had been rated together.
 *
 * One run is one batch: read and normalise every file, restore the months the batch touches, rate
 * (per client, in event-time order), then write results and state in one transaction.
 */
import { renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Zone } from '../core/calendar.js';
import type { Cdr } from '../core/cdr.js';
import { Money } from '../core/money.js';
import { explainCall } from '../core/rating/explain.js';
import { CdrPipeline } from '../core/cdr-pipeline.js';
import type { Rater, RatedCall } from '../core/rating/rater.js';
import type { Config } from '../config/load-config.js';
import { readExport, type ReadExportOptions } from '../ingest/readers/detect-format.js';
import { normalizeRecord, type NormalizeContext } from '../ingest/normalize.js';
import { screenCdrIds } from '../ingest/cdr-identity.js';
import type { Reject } from '../ingest/source-record.js';
import { openPglite } from '../store/sql.js';
import { RatingStore, adjustmentOf, billedAmount, ratedRowOf } from '../store/rating-store.js';
import { prepareOutDir, ratedCsv, writeAdjustments, writeAlerts, writeRejects, writeSummary, type RatedCsvRow } from './output-files.js';
import type { Progress } from './progress.js';

export interface RateFilesOptions {
  config: Config;
  dataDir: string;
  outDir: string;
  /** Zone of timestamps written without an offset. */
  sourceZone: string;
  files: string[];
  read?: ReadExportOptions;
  progress?: Progress;
}

const OUTPUT_FILES = ['rated.csv', 'adjustments.csv', 'alerts.jsonl', 'rejected.csv', 'summary.json'] as const;

export interface RunSummary {
  files: string[];
  read: number;
  rated: number;
  duplicates: number;
  rejected: { total: number; byReason: Record<string, number> };
  adjustments: number;
  alerts: { total: number; byRule: Record<string, number> };
  /** Rated calls by `reason`: bundle, out_of_plan_destination, fair_use.…, not_answered … */
  byReason: Record<string, number>;
  /** Month totals after adjustments, for every client month this run touched. */
  totals: { client_id: string; period: string; amount: string; currency: string }[];
  outputs: Record<string, string>;
}

export async function rateFiles(opts: RateFilesOptions): Promise<RunSummary> {
  const { config } = opts;
  const sourceZone = new Zone(opts.sourceZone);
  const ctx = { numbering: config.numbering, sourceZone, directory: config.directory, limits: config.limits };

  // Opened first: PGlite's start is cheaper on a small heap, and a bad data directory fails before the reading.
  const store = new RatingStore(await openPglite(opts.dataDir));
  try {
    return await rateWith(store, opts, ctx);
  } finally {
    await store.sql.close();
  }
}

async function rateWith(store: RatingStore, opts: RateFilesOptions, ctx: NormalizeContext): Promise<RunSummary> {
  const { config } = opts;
  const { cdrs, rejects, read } = await readFiles(opts, ctx);
  const pipeline = new CdrPipeline({
    plans: config.plans,
    numbering: config.numbering,
    fraud: config.fraud,
    zone: reportingZone(config, ctx.sourceZone),
    usersOf: (c, s) => config.directory.usersOf(c, s),
    numbersOf: (c) => config.directory.numbersOfClient(c),
    isPlatform: (a) => config.directory.isPlatform(a),
  });
  await restoreMonths(store, pipeline, config, cdrs);

  // Event-time order per client keeps counters on their fast path; the result does not depend on it.
  cdrs.sort((a, b) => (a.subscriber.clientId < b.subscriber.clientId ? -1 : a.subscriber.clientId > b.subscriber.clientId ? 1 : a.startMs - b.startMs || (a.cdrId < b.cdrId ? -1 : 1)));
  const known = await store.knownCdrIds(cdrs.map((c) => c.cdrId));
  const { fresh, duplicates, conflicts } = screenCdrIds(cdrs, (id) => known.get(id));
  rejects.push(...conflicts);
  opts.progress?.start(fresh.length);
  for (let i = 0; i < fresh.length; i++) {
    pipeline.process(fresh[i]!);
    if (i % 10_000 === 0) opts.progress?.update(i);
  }
  opts.progress?.stop();

  const { changes, alerts } = pipeline.drain();
  const billed = changes.filter((c) => c.previous === null).map((c) => c.call);
  const adjustments = changes.filter((c) => c.previous !== null).map((c) => adjustmentOf(c.call, c.previous!));
  rejects.sort((a, b) => (a.source === b.source ? a.line - b.line : a.source < b.source ? -1 : 1));
  const summary: RunSummary = {
    files: opts.files,
    read,
    rated: billed.length,
    duplicates,
    rejected: { total: rejects.length, byReason: countBy(rejects, (r) => r.reason) },
    adjustments: adjustments.length,
    alerts: { total: alerts.length, byRule: countBy(alerts, (a) => a.rule) },
    byReason: countBy(billed, (c) => c.reason),
    totals: totalsOf(pipeline.rater, config),
    outputs: Object.fromEntries(OUTPUT_FILES.map((f) => [f, join(opts.outDir, f)])),
  };

  // Files first, in a directory of their own, then the state, then the files take their place: a run
  // either commits and leaves its outputs for invoicing, or commits nothing.
  const staging = join(opts.outDir, `.partial-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  try {
    prepareOutDir(staging);
    const ratedFile = ratedCsv(staging);
    for (const call of billed) await ratedFile.add(ratedCsvRow(call));
    await ratedFile.close();
    await writeAdjustments(staging, adjustments);
    writeAlerts(staging, alerts, reportingZone(config, ctx.sourceZone));
    await writeRejects(staging, rejects);
    writeSummary(staging, summary);
    await store.write({ rated: billed.map(ratedRowOf), adjustments, alerts, rejects });
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  // File by file: --out may hold other things, which stay.
  for (const f of OUTPUT_FILES) renameSync(join(staging, f), join(opts.outDir, f));
  rmSync(staging, { recursive: true, force: true });
  return summary;
}

async function readFiles(opts: RateFilesOptions, ctx: NormalizeContext): Promise<{ cdrs: Cdr[]; rejects: Reject[]; read: number }> {
  const cdrs: Cdr[] = [];
  const rejects: Reject[] = [];
  let read = 0;
  for (const file of opts.files) {
    for await (const item of readExport(file, { ...opts.read, limits: opts.config.limits })) {
      read++;
      if (item.kind === 'reject') {
        rejects.push(item.reject);
      } else {
        const n = normalizeRecord(item.record, ctx);
        if (n.ok) cdrs.push(n.cdr);
        else rejects.push(n.reject);
      }
      if (read % 50_000 === 0) opts.progress?.reading(read);
    }
  }
  return { cdrs, rejects, read };
}

/** Rebuilds the counters of every client month the batch touches from the calls already billed. */
async function restoreMonths(store: RatingStore, pipeline: CdrPipeline, config: Config, cdrs: Cdr[]): Promise<void> {
  const months = new Map<string, { clientId: string; period: string }>();
  for (const cdr of cdrs) {
    const period = config.plans.get(cdr.subscriber.planId)!.calendar.period(cdr.startMs);
    months.set(`${cdr.subscriber.clientId}|${period}`, { clientId: cdr.subscriber.clientId, period });
  }
  for await (const stored of store.loadMonths([...months.values()])) {
    // A month billed under a plan since removed cannot be re-rated: its calls keep their stored prices.
    if (config.plans.has(stored.cdr.subscriber.planId)) pipeline.restore(stored.cdr, new Money(stored.amount));
  }
  pipeline.restored();
}

function ratedCsvRow(call: RatedCall): RatedCsvRow {
  const s = call.cdr.subscriber;
  return {
    cdr_id: call.cdrId,
    client_id: s.clientId,
    site_id: s.siteId,
    user_id: s.userId,
    plan_id: s.planId,
    period: call.period,
    start_time: call.plan.calendar.iso(call.startMs),
    callee: call.callee,
    destination_class: call.dest.cls,
    country: call.dest.country,
    billable_seconds: String(call.billableSeconds),
    in_bundle: String(call.inBundle),
    amount: billedAmount(call, call.amount),
    currency: call.plan.tariffTable.currency,
    reason: call.reason,
    priced_seconds: String(call.pricedSeconds),
    explanation: explainCall(call),
    caller: call.cdr.caller,
    caller_original: call.cdr.callerOriginal,
  };
}

function totalsOf(rater: Rater, config: Config): RunSummary['totals'] {
  const currencies = new Set([...config.tariffs.values()].map((t) => t.currency));
  const currency = currencies.size === 1 ? [...currencies][0]! : '';
  const out: RunSummary['totals'] = [];
  for (const [clientId, periods] of rater.totals()) {
    for (const [period, amount] of periods) out.push({ client_id: clientId, period, amount: amount.toFixed(4), currency });
  }
  return out.sort((a, b) => (a.client_id === b.client_id ? (a.period < b.period ? -1 : 1) : a.client_id < b.client_id ? -1 : 1));
}

/** Alerts are read by a French fraud desk: their times are shown in the plans' zone. */
function reportingZone(config: Config, fallback: Zone): Zone {
  return config.plans.values().next().value?.calendar ?? fallback;
}

function countBy<T>(items: T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[key(i)] = (out[key(i)] ?? 0) + 1;
  return out;
}
