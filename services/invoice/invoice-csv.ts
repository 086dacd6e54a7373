/**
 * An invoice as CSV: one row per line, then the totals, through the project's formula-safe CSV writer
 * (services/csv/safe-csv.ts), so a spreadsheet never runs what a CDR field smuggled in; only the amount
 * column keeps a leading minus (a negative adjustment).
 */
import type { Invoice } from '../core/invoice/compose-invoice.js';
import { csvLine, type CsvColumnKind } from '../csv/safe-csv.js';

export const INVOICE_CSV_COLUMNS = [
  'client_id', 'period', 'kind', 'corrects_period', 'destination_class', 'country', 'rule', 'calls', 'minutes',
  'in_bundle_calls', 'out_of_bundle_calls', 'amount', 'currency', 'cdr_ids', 'invoice_number',
] as const;
const KINDS: readonly CsvColumnKind[] = INVOICE_CSV_COLUMNS.map((c) => (c === 'amount' ? 'amount' : 'text'));

export function invoiceCsv(invoice: Invoice): string {
  const rows: (string | number)[][] = invoice.lines.map((l) => [
    invoice.client_id, invoice.period, l.kind, l.corrects_period, l.destination_class, l.country, l.rule, l.calls, l.minutes,
    l.in_bundle_calls, l.out_of_bundle_calls, l.amount, invoice.currency, l.cdr_ids.join(' '), invoice.invoice_number ?? '',
  ]);
  const t = invoice.totals;
  const totals = [
    ['total_usage', t.usage], ['total_sanctions', t.sanctions], ['total_late_calls', t.late_calls], ['total_adjustments', t.adjustments],
    ['total_ht_exact', t.total_ht_exact], ['total_ht', t.total_ht], ['vat', t.vat], ['total_ttc', t.total_ttc],
  ] as const;
  for (const [kind, amount] of totals) {
    // The VAT row names its rate in `rule`, as an invoice prints « TVA 20 % ».
    rows.push([invoice.client_id, invoice.period, kind, '', '', '', kind === 'vat' ? `${t.vat_rate}%` : '', '', '', '', '', amount, invoice.currency, '', invoice.invoice_number ?? '']);
  }
  return csvLine(INVOICE_CSV_COLUMNS) + rows.map((r) => csvLine(r.map(String), { kinds: KINDS })).join('');
}
