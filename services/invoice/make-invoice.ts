/** The invoice of a client month as `cdr invoice` and the API give it: rows billed on it, composed. */
import { composeInvoice, type Invoice } from '../core/invoice/compose-invoice.js';
import { billedRows } from '../store/desk/invoice-rows.js';
import type { Sql } from '../store/sql.js';

export async function makeInvoice(sql: Sql, clientId: string, period: string, defaultCurrency = 'EUR'): Promise<Invoice> {
  const rows = await billedRows(sql, clientId, period);
  return composeInvoice({
    clientId,
    period,
    calls: rows.calls,
    adjustments: rows.adjustments,
    defaultCurrency,
    close: rows.close === undefined ? null : { closedAt: rows.close.closedAt, closedBy: rows.close.closedBy },
  });
}
