/**
 * The output contract of `cdr rate` (README "Outputs"): rated.csv, adjustments.csv, alerts.jsonl,
 * rejected.csv and summary.json. Invoicing and the fraud desk read these; columns only get added at
 * the end, never renamed or reordered.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SafeCsvWriter, type CsvColumnKind } from '../csv/safe-csv.js';
import type { Alert } from '../core/alert.js';
import type { Zone } from '../core/calendar.js';
import type { AdjustmentRow } from '../store/rating-store.js';
import type { Reject } from '../ingest/source-record.js';

export const RATED_COLUMNS = [
  'cdr_id', 'client_id', 'site_id', 'user_id', 'plan_id', 'period', 'start_time', 'callee', 'destination_class',
  'country', 'billable_seconds', 'in_bundle', 'amount', 'currency', 'reason', 'priced_seconds', 'explanation', 'caller',
  'caller_original',
] as const;
export const ADJUSTMENT_COLUMNS = ['cdr_id', 'period', 'previous_amount', 'new_amount', 'delta', 'reason'] as const;
export const REJECT_COLUMNS = ['source', 'line', 'reason', 'raw', 'detail', 'raw_encoding'] as const;

export type RatedCsvRow = Record<(typeof RATED_COLUMNS)[number], string>;

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

/** Writes a CSV file in chunks so that a million rows never sit in one string; every field goes through safe-csv. */
export class CsvFile<Row extends Record<string, string>> {
  private readonly out: SafeCsvWriter;

  constructor(path: string, private readonly columns: readonly (keyof Row & string)[]) {
    this.out = new SafeCsvWriter(path, columns, CSV_COLUMN_KINDS);
  }

  add(row: Row): Promise<void> {
    return this.out.write(this.columns.map((c) => row[c] ?? ''));
  }

  close(): Promise<void> {
    return this.out.close();
  }
}

export function prepareOutDir(outDir: string): void {
  mkdirSync(outDir, { recursive: true });
}

export function ratedCsv(outDir: string): CsvFile<RatedCsvRow> {
  return new CsvFile<RatedCsvRow>(join(outDir, 'rated.csv'), RATED_COLUMNS);
}

export async function writeAdjustments(outDir: string, rows: AdjustmentRow[]): Promise<void> {
  const file = new CsvFile<Record<(typeof ADJUSTMENT_COLUMNS)[number], string>>(join(outDir, 'adjustments.csv'), ADJUSTMENT_COLUMNS);
  for (const r of rows) {
    await file.add({ cdr_id: r.cdrId, period: r.period, previous_amount: r.previousAmount, new_amount: r.newAmount, delta: r.delta, reason: r.reason });
  }
  await file.close();
}

export async function writeRejects(outDir: string, rejects: Reject[]): Promise<void> {
  const file = new CsvFile<Record<(typeof REJECT_COLUMNS)[number], string>>(join(outDir, 'rejected.csv'), REJECT_COLUMNS);
  for (const r of rejects) await file.add({ source: r.source, line: String(r.line), reason: r.reason, raw: r.raw, detail: r.detail, raw_encoding: r.rawEncoding ?? '' });
  await file.close();
}

/** One JSON object a line; times in ISO 8601 with the offset of the reporting zone. */
export function writeAlerts(outDir: string, alerts: Alert[], zone: Zone): void {
  const lines = alerts.map((a) =>
    JSON.stringify({
      alert_id: a.alertId,
      rule: a.rule,
      severity: a.severity,
      client_id: a.clientId,
      site_id: a.siteId,
      user_id: a.userId,
      first_seen: zone.iso(a.firstSeenMs),
      last_seen: zone.iso(a.lastSeenMs),
      value: a.value,
      threshold: a.threshold,
      cdr_ids: a.cdrIds,
      message: a.message,
    }),
  );
  writeFileSync(join(outDir, 'alerts.jsonl'), lines.length === 0 ? '' : lines.join('\n') + '\n');
}

export function writeSummary(outDir: string, summary: unknown): void {
  writeFileSync(join(outDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
}
