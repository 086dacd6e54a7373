/**
 * The output contract of `cdr rate` (README "Outputs"): rated.csv, adjustments.csv, alerts.jsonl,
 * rejected.csv and summary.json, in a folder of the run's own. They are an export of what the run
 * committed to the store, so `cdr export --run N` rebuilds them byte for byte after any crash.
 * Invoicing and the fraud desk read these; columns only get added at the end, never renamed or reordered.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Zone } from '../core/calendar.js';
import type { Plan } from '../core/plan.js';
import { Explanations, RATED_COLUMNS, ratedCsvFields } from './rated-csv.js';
import type { EmbeddedLedger } from '../store/embedded-ledger.js';
import { SafeCsvWriter, type CsvColumnKind } from '../csv/safe-csv.js';
import { faultPoint } from './fault-points.js';
import { asOutputError, OutputError, RunError } from './run-errors.js';

export const ADJUSTMENT_COLUMNS = ['cdr_id', 'period', 'previous_amount', 'new_amount', 'delta', 'reason', 'client_id', 'site_id', 'user_id', 'plan_id'] as const;
export const REJECT_COLUMNS = ['source', 'line', 'reason', 'raw', 'detail', 'raw_encoding'] as const;
export const OUTPUT_FILES = ['rated.csv', 'adjustments.csv', 'alerts.jsonl', 'rejected.csv', 'summary.json'] as const;

/** The folder of a run's outputs under --out. */
export function runFolder(outDir: string, runId: number): string {
  return join(outDir, `run-${String(runId).padStart(6, '0')}`);
}

const STAGING_PREFIX = '.staging-run-';

/** Removes staging folders a crashed run left under --out (their run is exported again from the store). */
export function cleanStaging(outDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(outDir);
  } catch {
    return [];
  }
  const stale = names.filter((n) => n.startsWith(STAGING_PREFIX));
  for (const n of stale) removeStaging(join(outDir, n));
  return stale;
}

export interface ExportContext {
  plans: ReadonlyMap<string, Plan>;
  /** Zone of times when a row's plan is no longer configured, and of alert times. */
  zone: Zone;
  /** The store writing: its id goes into each run folder (STORE_MARKER), its data directory names it in messages. */
  store: { id: string; dataDir: string };
}

/**
 * The file in each run folder that says which store wrote it: its id, then its data directory. Two data
 * directories share `out/` by default, and both number their runs from 1: without it, the second one's
 * `run-000001/` replaced the first one's, and billed calls vanished from every file.
 */
export const STORE_MARKER = '.cdr-store';

/**
 * Refuses an --out that holds run folders of another store, before a run starts: each data directory
 * needs an --out of its own. A folder without a marker (written before markers) is this store's only
 * when this store has a run of that number that wrote there.
 */
export function claimOutDir(outDir: string, store: ExportContext['store'], wroteThere: (runId: number) => boolean): void {
  let names: string[];
  try {
    names = readdirSync(outDir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^run-(\d+)$/.exec(name);
    if (m === null) continue;
    const owner = storeOf(join(outDir, name));
    if (owner === null ? !wroteThere(Number(m[1])) : owner.id !== store.id) {
      if (owner !== null && resolve(owner.dataDir) === resolve(store.dataDir)) {
        // The same path, another store: the data directory was deleted (or replaced) since that run.
        throw new RunError(`${outDir} holds ${name}/, written by an earlier store at ${store.dataDir} that has since been deleted or replaced: its runs are not this store's. Move those run folders away (they are the earlier store's only copy of its bills) or give this store another --out; nothing was rated`);
      }
      const other = owner === null ? 'another data directory (or an older version)' : `the data directory ${owner.dataDir}`;
      throw new RunError(`${outDir} holds ${name}/, written by ${other}, not by ${store.dataDir}: give each data directory its own --out (e.g. --out out/${basename(store.dataDir).replace(/^\./, '') || 'store'}); nothing was rated`);
    }
  }
}

function storeOf(folder: string): { id: string; dataDir: string } | null {
  try {
    const [id, dataDir] = readFileSync(join(folder, STORE_MARKER), 'utf8').split('\n');
    return { id: id ?? '', dataDir: dataDir ?? '' };
  } catch {
    return null;
  }
}

/**
 * Writes a run's files from the store into a staging folder, then moves it into place: a reader sees
 * the whole folder or none of it. Returns the folder. A failed write throws an OutputError naming it.
 */
export async function exportRun(ledger: EmbeddedLedger, runId: number, outDir: string, summary: unknown, ctx: ExportContext): Promise<string> {
  const staging = openStaging(outDir, runId);
  try {
    await writeCsv(join(staging, 'rated.csv'), RATED_COLUMNS, ratedLines(ledger, runId, ctx));
  } catch (e) {
    removeStaging(staging);
    throw asOutputError(e, join(staging, 'rated.csv'));
  }
  return finishExport(ledger, runId, outDir, staging, summary, ctx);
}

/** An empty staging folder for a run's files under --out (a crashed run's is removed at the next start). */
export function openStaging(outDir: string, runId: number): string {
  const staging = join(outDir, `${STAGING_PREFIX}${runId}-${process.pid}`);
  try {
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
  } catch (e) {
    throw asOutputError(e, staging);
  }
  return staging;
}

/**
 * Removes a staging folder after a failed write, giving back the space its partial files took on a full
 * disk. Best effort: on a read-only or failing disk it cannot be removed, and the first error is the one to tell.
 */
export function removeStaging(staging: string): void {
  try {
    rmSync(staging, { recursive: true, force: true });
  } catch {
    // the next run's cleanStaging removes it
  }
}

/** The files after rated.csv (already in `staging`), then the folder moved into place. */
export async function finishExport(ledger: EmbeddedLedger, runId: number, outDir: string, staging: string, summary: unknown, ctx: ExportContext): Promise<string> {
  const final = runFolder(outDir, runId);
  // The file being written, for the message if it fails: a full disk is named where it is full.
  let writing = staging;
  const into = (name: string) => (writing = join(staging, name));
  try {
    faultPoint('export');
    await writeCsv(into('adjustments.csv'), ADJUSTMENT_COLUMNS, adjustmentLines(ledger, runId));
    await writeCsv(into('rejected.csv'), REJECT_COLUMNS, rejectLines(ledger, runId));
    writeAlerts(into('alerts.jsonl'), ledger.alertsOfRun(runId), ctx.zone);
    writeFileSync(into('summary.json'), JSON.stringify(summary, null, 2) + '\n');
    writeFileSync(into(STORE_MARKER), `${ctx.store.id}\n${resolve(ctx.store.dataDir)}\n`);
    // A run folder is rewritten only by the store that wrote it (the same bytes again: cdr export --run N).
    const owner = existsSync(final) ? storeOf(final) : null;
    if (owner !== null && owner.id !== ctx.store.id) throw new OutputError(final, 'OTHER_STORE', `written by the data directory ${owner.dataDir}: it is not replaced; export into another --out`);
    writing = final;
    rmSync(final, { recursive: true, force: true });
    renameSync(staging, final);
  } catch (e) {
    removeStaging(staging);
    throw asOutputError(e, writing);
  }
  return final;
}

function* ratedLines(ledger: EmbeddedLedger, runId: number, ctx: ExportContext): Generator<string[]> {
  const explanations = new Explanations();
  for (const r of ledger.ratedOfRun(runId)) {
    const plan = ctx.plans.get(r[4]);
    yield ratedCsvFields(r, explanations.of(plan, r[4], r[14], r[16]), plan?.calendar ?? ctx.zone);
  }
}

function* adjustmentLines(ledger: EmbeddedLedger, runId: number): Generator<string[]> {
  for (const a of ledger.adjustmentsOfRun(runId)) {
    yield [a.cdr_id, a.period, a.previous_amount, a.new_amount, a.delta, a.reason, a.client_id, a.site_id, a.user_id, a.plan_id].map(String);
  }
}

function* rejectLines(ledger: EmbeddedLedger, runId: number): Generator<string[]> {
  for (const r of ledger.rejectsOfRun(runId)) yield [r.source, r.line, r.reason, r.raw, r.detail, r.raw_encoding].map(String);
}

/** Columns exempt from the formula rule for their own values (README "CSV safety"): E.164 numbers and signed amounts. */
export const CSV_COLUMN_KINDS: Readonly<Record<string, CsvColumnKind>> = {
  callee: 'phone',
  caller: 'phone',
  caller_original: 'phone',
  amount: 'amount',
  previous_amount: 'amount',
  new_amount: 'amount',
  delta: 'amount',
};

/** Every CSV file of a run goes through here: the one safe writer, with the exempt columns above. */
export async function writeCsv(path: string, columns: readonly string[], rows: Iterable<string[]>): Promise<void> {
  const out = new SafeCsvWriter(path, columns, CSV_COLUMN_KINDS);
  for (const row of rows) await out.write(row);
  await out.close();
}

/** One JSON object a line; times in ISO 8601 with the offset of the reporting zone. */
function writeAlerts(path: string, alerts: Record<string, unknown>[], zone: Zone): void {
  const lines = alerts.map((a) =>
    JSON.stringify({
      alert_id: a.alert_id,
      rule: a.rule,
      severity: a.severity,
      client_id: a.client_id,
      site_id: a.site_id,
      user_id: a.user_id,
      first_seen: zone.iso(Number(a.first_seen)),
      last_seen: zone.iso(Number(a.last_seen)),
      value: numberOrText(String(a.value)),
      threshold: numberOrText(String(a.threshold)),
      cdr_ids: JSON.parse(String(a.cdr_ids)) as string[],
      message: a.message,
    }),
  );
  writeFileSync(path, lines.length === 0 ? '' : lines.join('\n') + '\n');
}

/** Counts stay numbers in alerts.jsonl; amounts (decimal text such as "61.20") stay text. */
function numberOrText(v: string): number | string {
  return /^-?\d+$/.test(v) ? Number(v) : v;
}
