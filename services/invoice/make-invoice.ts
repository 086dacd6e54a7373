/**
 * The invoice of a client month as `cdr invoice` and the API give it, and month close. An open month
 * is composed from the rows billed on it; a closed month shows the invoice its close issued (the rows'
 * reasons and bundle flags may move later, by adjustments that go on a later month, never the issued one).
 */
import { composeInvoice, type Invoice } from '../core/invoice/compose-invoice.js';
import type { DetailedCall } from '../core/invoice/statement.js';
import { vatTotals } from '../core/invoice/vat.js';
import { Money } from '../core/money.js';
import type { InvoicingTerms } from '../config/invoicing-file.js';
import { billedCallDetails, billedRows, issuedInvoice, recordClose, storeSeqs, closesOf, takeInvoiceNumber, type BilledRows, type ClosedMonth } from '../store/desk/invoice-rows.js';
import type { Sql } from '../store/sql.js';

export async function makeInvoice(sql: Sql, terms: InvoicingTerms, clientId: string, period: string, defaultCurrency = 'EUR'): Promise<Invoice> {
  const issued = await issuedInvoice(sql, clientId, period);
  if (issued !== undefined) return asIssued(JSON.parse(issued) as IssuedInvoice);
  const rows = await billedRows(sql, clientId, period);
  return composeInvoice({ clientId, period, calls: rows.calls, adjustments: rows.adjustments, defaultCurrency, vatRate: terms.vatRate(clientId), close: null });
}

/**
 * The invoice of a client month and the calls it bills, for a detailed statement. An open month's invoice
 * is composed from the very rows returned, so a run committing meanwhile cannot make them disagree; a
 * closed month's rows are bounded by its close's seq numbers, so they are the ones its issued invoice billed.
 */
export async function invoiceWithCalls(sql: Sql, terms: InvoicingTerms, clientId: string, period: string, defaultCurrency = 'EUR'): Promise<{ invoice: Invoice; rows: BilledRows<DetailedCall> }> {
  const issued = await issuedInvoice(sql, clientId, period);
  const rows = await billedCallDetails(sql, clientId, period);
  const invoice = issued !== undefined
    ? asIssued(JSON.parse(issued) as IssuedInvoice)
    : composeInvoice({ clientId, period, calls: rows.calls, adjustments: rows.adjustments, defaultCurrency, vatRate: terms.vatRate(clientId), close: null });
  return { invoice, rows };
}

export type CloseResult = { closed: true; invoice: Invoice } | { closed: false; close: ClosedMonth };

/** Closes a client month once: issues its invoice, numbered, from the rows written so far, audited. */
export async function closeMonth(sql: Sql, terms: InvoicingTerms, clientId: string, period: string, actor: string, atMs: number, defaultCurrency = 'EUR'): Promise<CloseResult> {
  try {
    return await sql.transaction((tx) => issue(tx, terms, clientId, period, actor, atMs, defaultCurrency));
  } catch (e) {
    if (e instanceof AlreadyClosed) return { closed: false, close: e.close };
    throw e;
  }
}

async function issue(tx: Sql, terms: InvoicingTerms, clientId: string, period: string, actor: string, atMs: number, defaultCurrency: string): Promise<CloseResult> {
  // The number is taken first: the counter's row lock serialises closes, so two closes of one month
  // cannot both pass the check below; a month found closed throws, which rolls the number back.
  const invoiceNumber = await takeInvoiceNumber(tx);
  const existing = (await closesOf(tx, clientId)).get(period);
  if (existing !== undefined) throw new AlreadyClosed(existing);
  const upTo = await storeSeqs(tx);
  // Only rows up to the recorded seq numbers: a row committed meanwhile with a larger seq goes on the next month.
  const rows = await billedRows(tx, clientId, period, upTo);
  const printedNumber = terms.invoiceNumber(invoiceNumber);
  const invoice = composeInvoice({
    clientId, period, calls: rows.calls, adjustments: rows.adjustments, defaultCurrency, vatRate: terms.vatRate(clientId),
    close: { closedAt: new Date(atMs).toISOString(), closedBy: actor, invoiceNumber: printedNumber },
  });
  await recordClose(tx, { clientId, period, actor, atMs, upTo, invoiceNumber, printedNumber, invoiceJson: JSON.stringify(invoice) });
  return { closed: true, invoice };
}

class AlreadyClosed extends Error {
  constructor(readonly close: ClosedMonth) {
    super(`${close.clientId} ${close.period} is already closed`);
  }
}

/** An invoice as a close stored it: before VAT and numbers were recorded, its total was HT without VAT. */
type IssuedInvoice = Invoice | (Omit<Invoice, 'invoice_number' | 'totals'> & { totals: { usage: string; sanctions: string; late_calls: string; adjustments: string; total_exact: string; total: string } });

/**
 * An invoice issued before VAT and numbers is shown with the figures it had (total HT), no number, and
 * VAT at 0: it was issued without VAT and is never recomputed; a credit note and a new invoice correct it.
 */
function asIssued(doc: IssuedInvoice): Invoice {
  if ('total_ht_exact' in doc.totals) return doc as Invoice;
  const { total_exact, total: _total, ...rest } = doc.totals;
  return { ...doc, invoice_number: null, totals: { ...rest, total_ht_exact: total_exact, ...vatTotals(new Money(total_exact), '0') } };
}
