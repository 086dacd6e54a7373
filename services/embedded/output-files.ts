/**
 * The output contract of `cdr rate` (README "Outputs"): rated.csv, adjustments.csv, alerts.jsonl,
 * rejected.csv and summary.json. Invoicing and the fraud desk read these; columns only get added at
 * the end, never renamed or reordered.
 */
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import Papa from 'papaparse';
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
export const REJECT_COLUMNS = ['source', 'line', 'reason', 'raw', 'detail'] as const;

export type RatedCsvRow = Record<(typeof RATED_COLUMNS)[number], string>;

/** Writes a CSV file in chunks so that a million rows never sit in one string. */
export class CsvFile<Row extends Record<string, string>> {
  private readonly out;
  private buffer: Row[] = [];

  constructor(path: string, private readonly columns: readonly (keyof Row & string)[]) {
    this.out = createWriteStream(path, { encoding: 'utf8' });
    this.out.write(columns.join(',') + '\n');
  }

  async add(row: Row): Promise<void> {
    this.buffer.push(row);
    if (this.buffer.length >= 10_000) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const text = Papa.unparse(this.buffer, { columns: [...this.columns], header: false, newline: '\n' }) + '\n';
    this.buffer = [];
    if (!this.out.write(text)) await once(this.out, 'drain');
  }

  async close(): Promise<void> {
    await this.flush();
    this.out.end();
    await once(this.out, 'finish');
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
  for (const r of rejects) await file.add({ source: r.source, line: String(r.line), reason: r.reason, raw: r.raw, detail: r.detail });
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
