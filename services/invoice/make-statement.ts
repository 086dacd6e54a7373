/**
 * The detailed statement of a client month from the store: the invoice and the rows it bills (read
 * together, make-invoice.ts), the month's counters and the plans of the configuration.
 */
import type { InvoicingTerms } from '../config/invoicing-file.js';
import type { Plan } from '../core/plan.js';
import { buildStatement, type Statement } from '../core/invoice/statement.js';
import { adjustedCalls, monthCounters } from '../store/desk/statement-rows.js';
import type { Sql } from '../store/sql.js';
import { invoiceWithCalls } from './make-invoice.js';

export async function makeStatement(sql: Sql, terms: InvoicingTerms, plans: ReadonlyMap<string, Plan>, clientId: string, period: string): Promise<Statement> {
  const { invoice, rows } = await invoiceWithCalls(sql, terms, clientId, period);
  const counters = await monthCounters(sql, clientId, period);
  const adjusted = await adjustedCalls(sql, rows.adjustments.map((a) => a.cdrId));
  return buildStatement({ invoice, calls: rows.calls, adjustments: rows.adjustments, adjustedCalls: adjusted, counters, plans });
}
