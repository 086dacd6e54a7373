/**
 * The embedded runtime: switch exports in, rated CDRs, adjustments, alerts and rejects out, with the
 * monthly state kept in PGlite so that daily files rated one after another share their counters
 * exactly as if they had been rated together.
 *
 * One run is one batch: read and normalise every file, restore the months the batch touches, rate
 * (per client, in event-time order), then write results and state in one transaction.
 */
import { Zone } from '../core/calendar.js';
import type { Cdr } from '../core/cdr.js';
import { Money } from '../core/money.js';
import { explainCall } from '../core/rating/explain.js';
import { Rater, type RatedCall } from '../core/rating/rater.js';
import type { Config } from '../config/load-config.js';
import { readExport, type ReadOptions } from '../ingest/read-export.js';
import { normalizeRecord } from '../ingest/normalize.js';
import type { Reject } from '../ingest/source-record.js';
import { openPglite } from '../store/sql.js';
import { RatingStore, type AdjustmentRow, type RatedRow } from '../store/rating-store.js';
import { prepareOutDir, ratedCsv, writeAdjustments, writeAlerts, writeRejects, writeSummary, type RatedCsvRow } from './output-files.js';
import type { Progress } from './progress.js';

export interface RateFilesOptions {
  config: Config;
  dataDir: string;
  outDir: string;
  /** Zone of timestamps written without an offset. */
  sourceZone: string;
  files: string[];
  read?: ReadOptions;
  progress?: Progress;
}

export interface RunSummary {
  files: string[];
  read: number;
  rated: number;
  duplicates: number;
  rejected: { total: number; byReason: Record<string, number> };
  adjustments: number;
  alerts: { total: number; byRule: Record<string, number> };
  inBundle: number;
  priced: number;
  /** Month totals after adjustments, for every client month this run touched. */
  totals: { client_id: string; period: string; amount: string; currency: string }[];
  outputs: Record<string, string>;
}

export async function rateFiles(opts: RateFilesOptions): Promise<RunSummary> {
  const { config } = opts;
  const sourceZone = new Zone(opts.sourceZone);
  const ctx = { numbering: config.numbering, sourceZone, directory: config.directory };

  const cdrs: Cdr[] = [];
  const rejects: Reject[] = [];
  let read = 0;
  for (const file of opts.files) {
    for await (const item of readExport(file, opts.read ?? {})) {
      read++;
      if (item.kind === 'reject') {
        rejects.push(item.reject);
        continue;
      }
      const n = normalizeRecord(item.record, ctx);
      if (n.ok) cdrs.push(n.cdr);
      else rejects.push(n.reject);
      if (read % 50_000 === 0) opts.progress?.reading(read);
    }
  }
  // Emergency calls have no plan-dependent month, but every CDR has a plan through its subscriber.
  const periodOf = (cdr: Cdr): string => config.plans.get(cdr.subscriber.planId)!.calendar.period(cdr.startMs);

  const store = new RatingStore(await openPglite(opts.dataDir));
  try {
    const rater = new Rater({
      plans: config.plans,
      numbering: config.numbering,
      usersOf: (clientId, siteId) => config.directory.usersOf(clientId, siteId),
    });

    const months = new Map<string, { clientId: string; period: string }>();
    for (const cdr of cdrs) {
      const period = periodOf(cdr);
      months.set(`${cdr.subscriber.clientId}|${period}`, { clientId: cdr.subscriber.clientId, period });
    }
    for await (const stored of store.loadMonths([...months.values()])) rater.restore(stored.cdr, new Money(stored.amount));
    rater.forgetAlertChanges();

    // Event-time order per client keeps counters on their fast path; the result does not depend on it.
    cdrs.sort((a, b) => (a.subscriber.clientId < b.subscriber.clientId ? -1 : a.subscriber.clientId > b.subscriber.clientId ? 1 : a.startMs - b.startMs || (a.cdrId < b.cdrId ? -1 : 1)));
    const knownElsewhere = await store.knownCdrIds(cdrs.map((c) => c.cdrId));
    let duplicates = 0;
    opts.progress?.start(cdrs.length);
    for (let i = 0; i < cdrs.length; i++) {
      const cdr = cdrs[i]!;
      if (knownElsewhere.has(cdr.cdrId) && !rater.has(cdr.subscriber.clientId, cdr.cdrId)) duplicates++;
      else if (rater.rate(cdr) === null) duplicates++;
      if (i % 10_000 === 0) opts.progress?.update(i);
    }
    opts.progress?.stop();

    const { changes, alerts } = rater.drain();
    const rated: RatedRow[] = [];
    const adjustments: AdjustmentRow[] = [];
    prepareOutDir(opts.outDir);
    const ratedFile = ratedCsv(opts.outDir);
    let inBundle = 0;
    for (const { call, previous } of changes) {
      if (previous === null) {
        rated.push(ratedRow(call));
        if (call.inBundle) inBundle++;
        await ratedFile.add(ratedCsvRow(call));
      } else {
        adjustments.push(adjustmentRow(call, previous));
      }
    }
    await ratedFile.close();
    rejects.sort((a, b) => (a.source === b.source ? a.line - b.line : a.source < b.source ? -1 : 1));
    await store.write({ rated, adjustments, alerts, rejects });

    await writeAdjustments(opts.outDir, adjustments);
    const reportZone = firstPlanZone(config, sourceZone);
    writeAlerts(opts.outDir, alerts, reportZone);
    await writeRejects(opts.outDir, rejects);

    const summary: RunSummary = {
      files: opts.files,
      read,
      rated: rated.length,
      duplicates,
      rejected: { total: rejects.length, byReason: countBy(rejects, (r) => r.reason) },
      adjustments: adjustments.length,
      alerts: { total: alerts.length, byRule: countBy(alerts, (a) => a.rule) },
      inBundle,
      priced: rated.length - inBundle,
      totals: totalsOf(rater, config),
      outputs: Object.fromEntries(['rated.csv', 'adjustments.csv', 'alerts.jsonl', 'rejected.csv', 'summary.json'].map((f) => [f, `${opts.outDir}/${f}`])),
    };
    writeSummary(opts.outDir, summary);
    return summary;
  } finally {
    await store.sql.close();
  }
}

function ratedRow(call: RatedCall): RatedRow {
  return {
    cdr: call.cdr,
    period: call.period,
    destinationClass: call.dest.cls,
    country: call.dest.country,
    inBundle: call.inBundle,
    pricedSeconds: call.pricedSeconds,
    amount: amountText(call, call.amount),
    currency: call.plan.tariffTable.currency,
    reason: call.reason,
  };
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
    amount: amountText(call, call.amount),
    currency: call.plan.tariffTable.currency,
    reason: call.reason,
    priced_seconds: String(call.pricedSeconds),
    explanation: explainCall(call),
  };
}

function adjustmentRow(call: RatedCall, previous: Money): AdjustmentRow {
  return {
    cdrId: call.cdrId,
    period: call.period,
    previousAmount: amountText(call, previous),
    newAmount: amountText(call, call.amount),
    delta: amountText(call, call.amount.minus(previous)),
    reason: call.reason,
    inBundle: call.inBundle,
    pricedSeconds: call.pricedSeconds,
  };
}

function amountText(call: RatedCall, amount: Money): string {
  return amount.toFixed(call.entry.decimals);
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

function firstPlanZone(config: Config, fallback: Zone): Zone {
  return config.plans.values().next().value?.calendar ?? fallback;
}

function countBy<T>(items: T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[key(i)] = (out[key(i)] ?? 0) + 1;
  return out;
}
