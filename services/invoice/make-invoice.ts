/**
 * The invoice of a client month as `cdr invoice` and the API give it, and month close. An open month
 * is composed from the rows billed on it; a closed month shows the invoice its close issued (the rows'
 * reasons and bundle flags may move later, by adjustments that go on a later month, never the issued one).
 */
import { composeInvoice, type Invoice } from '../core/invoice/compose-invoice.js';
import { billedRows, issuedInvoice, recordClose, storeSeqs, closesOf, type ClosedMonth } from '../store/desk/invoice-rows.js';
import type { Sql } from '../store/sql.js';

export async function makeInvoice(sql: Sql, clientId: string, period: string, defaultCurrency = 'EUR'): Promise<Invoice> {
  const issued = await issuedInvoice(sql, clientId, period);
  if (issued !== undefined) return JSON.parse(issued) as Invoice;
  const rows = await billedRows(sql, clientId, period);
  return composeInvoice({ clientId, period, calls: rows.calls, adjustments: rows.adjustments, defaultCurrency, close: null });
}

export type CloseResult = { closed: true; invoice: Invoice } | { closed: false; close: ClosedMonth };

/** Closes a client month once: issues its invoice from the rows written so far, audited. */
export async function closeMonth(sql: Sql, clientId: string, period: string, actor: string, atMs: number, defaultCurrency = 'EUR'): Promise<CloseResult> {
  return sql.transaction(async (tx) => {
    const existing = (await closesOf(tx, clientId)).get(period);
    if (existing !== undefined) return { closed: false, close: existing };
    const upTo = await storeSeqs(tx);
    // Only rows up to the recorded seq numbers: a row committed meanwhile with a larger seq goes on the next month.
    const rows = await billedRows(tx, clientId, period, upTo);
    const invoice = composeInvoice({
      clientId, period, calls: rows.calls, adjustments: rows.adjustments, defaultCurrency,
      close: { closedAt: new Date(atMs).toISOString(), closedBy: actor },
    });
    await recordClose(tx, { clientId, period, actor, atMs, upTo, invoiceJson: JSON.stringify(invoice) });
    return { closed: true, invoice };
  });
}
