/**
 * The rows billed on a client month, and month closes. A close records the store's highest rated_cdr
 * and adjustment seq (billing-month.ts decides from those where a late row goes) and the invoice as
 * issued, which is what the month shows from then on.
 */
import type { Sql } from '../sql.js';
import { boolOf, decimalTextOf, intOf, isoOf, timeParam } from '../row-values.js';
import { billingMonth, type MonthClose } from '../../core/invoice/billing-month.js';
import type { InvoiceAdjustment, InvoiceCall } from '../../core/invoice/compose-invoice.js';
import type { DetailedCall } from '../../core/invoice/statement.js';
import { appendAudit } from './audit-log.js';

export interface ClosedMonth extends MonthClose {
  clientId: string;
  closedAt: string;
  closedBy: string;
}

export async function closesOf(sql: Sql, clientId: string): Promise<Map<string, ClosedMonth>> {
  const rows = await sql.query<Record<string, unknown>>(
    'SELECT client_id, period, closed_at, closed_by, last_rated_seq, last_adjustment_seq FROM month_close WHERE client_id = $1',
    [clientId],
  );
  return new Map(rows.map((r) => [String(r.period), closeOfRow(r)]));
}

export interface BilledRows<C extends InvoiceCall = InvoiceCall> {
  calls: C[];
  adjustments: InvoiceAdjustment[];
  close: ClosedMonth | undefined;
}

export interface SeqLimit {
  rated: number;
  adjustment: number;
}

const INVOICE_COLUMNS = 'cdr_id, seq, period, destination_class, country, billable_seconds, in_bundle, first_amount, currency, reason';

function invoiceCallOf(r: Record<string, unknown>): InvoiceCall {
  return {
    cdrId: String(r.cdr_id), period: String(r.period), destinationClass: String(r.destination_class), country: String(r.country),
    billableSeconds: intOf(r.billable_seconds), inBundle: boolOf(r.in_bundle), firstAmount: decimalTextOf(r.first_amount),
    currency: String(r.currency), reason: String(r.reason),
  };
}

/**
 * Everything billed on `period` for `clientId`: its own rows not late, and late rows of earlier closed
 * months; with `upTo`, only rows written up to those seq numbers (what a close issues).
 */
export function billedRows(sql: Sql, clientId: string, period: string, upTo?: SeqLimit): Promise<BilledRows> {
  return billedRowsWith(sql, clientId, period, upTo, INVOICE_COLUMNS, invoiceCallOf);
}

/**
 * The same rows as billedRows(), with the time, callee, user and plan of each call: a detailed statement
 * lists exactly the calls its invoice bills because both come from this one selection.
 */
export function billedCallDetails(sql: Sql, clientId: string, period: string): Promise<BilledRows<DetailedCall>> {
  return billedRowsWith(sql, clientId, period, undefined, `${INVOICE_COLUMNS}, start_time, callee, site_id, user_id, plan_id`, (r) => ({
    ...invoiceCallOf(r), startTime: isoOf(r.start_time) ?? '', callee: String(r.callee), siteId: String(r.site_id), userId: String(r.user_id), planId: String(r.plan_id),
  }));
}

async function billedRowsWith<C extends InvoiceCall>(sql: Sql, clientId: string, period: string, upTo: SeqLimit | undefined, columns: string, callOf: (r: Record<string, unknown>) => C): Promise<BilledRows<C>> {
  const closes = await closesOf(sql, clientId);
  // Rows of the month itself, and rows written after the close of an earlier month (seq > its last seq).
  const sources: { period: string; ratedAfter: number; adjustmentAfter: number }[] = [{ period, ratedAfter: -1, adjustmentAfter: -1 }];
  for (const c of closes.values()) if (c.period < period) sources.push({ period: c.period, ratedAfter: c.lastRatedSeq, adjustmentAfter: c.lastAdjustmentSeq });
  const calls: C[] = [];
  const adjustments: InvoiceAdjustment[] = [];
  for (const s of sources) {
    const rated = await sql.query<Record<string, unknown>>(
      `SELECT ${columns} FROM rated_cdr WHERE client_id = $1 AND period = $2 AND seq > $3 AND seq <= $4`,
      [clientId, s.period, s.ratedAfter, upTo?.rated ?? Number.MAX_SAFE_INTEGER],
    );
    for (const r of rated) {
      if (billingMonth(String(r.period), intOf(r.seq), 'rated', closes) !== period) continue;
      calls.push(callOf(r));
    }
    const adjusted = await sql.query<Record<string, unknown>>(
      'SELECT cdr_id, seq, period, delta, reason FROM adjustment WHERE client_id = $1 AND period = $2 AND seq > $3 AND seq <= $4',
      [clientId, s.period, s.adjustmentAfter, upTo?.adjustment ?? Number.MAX_SAFE_INTEGER],
    );
    for (const a of adjusted) {
      if (billingMonth(String(a.period), intOf(a.seq), 'adjustment', closes) !== period) continue;
      adjustments.push({ cdrId: String(a.cdr_id), period: String(a.period), delta: decimalTextOf(a.delta), reason: String(a.reason) });
    }
  }
  return { calls, adjustments, close: closes.get(period) };
}

/**
 * Clients with something billed on `period` (the clients `cdr invoice` and `cdr close` take when no --client
 * is given): rows of the month itself, and rows of an earlier closed month written after its close, which
 * billingMonth() may carry to `period` although the client has no call dated in it.
 */
export async function clientsBilledOn(sql: Sql, period: string): Promise<string[]> {
  const own = await sql.query<{ client_id: string }>(
    'SELECT client_id FROM rated_cdr WHERE period = $1 UNION SELECT client_id FROM adjustment WHERE period = $1',
    [period],
  );
  const lateCandidates = await sql.query<{ client_id: string }>(
    `SELECT DISTINCT c.client_id FROM month_close c
      WHERE c.period < $1
        AND (EXISTS (SELECT 1 FROM rated_cdr r WHERE r.client_id = c.client_id AND r.period = c.period AND r.seq > c.last_rated_seq)
          OR EXISTS (SELECT 1 FROM adjustment a WHERE a.client_id = c.client_id AND a.period = c.period AND a.seq > c.last_adjustment_seq))`,
    [period],
  );
  const clients = new Set(own.map((r) => r.client_id));
  for (const { client_id } of lateCandidates) {
    if (clients.has(client_id)) continue;
    // A late row may be billed on a month between its own and `period`: only rows that land on `period` count.
    const rows = await billedRows(sql, client_id, period);
    if (rows.calls.length > 0 || rows.adjustments.length > 0) clients.add(client_id);
  }
  return [...clients].sort();
}

/** Whether the store has ever billed `clientId` (a typo in --client must not give a 0.00 invoice). */
export async function clientInStore(sql: Sql, clientId: string): Promise<boolean> {
  const rows = await sql.query<{ one: unknown }>('SELECT 1 AS one FROM rated_cdr WHERE client_id = $1 LIMIT 1', [clientId]);
  return rows.length > 0;
}

/** The highest seq of rated_cdr and adjustment now: what a close fixes. */
export async function storeSeqs(tx: Sql): Promise<SeqLimit> {
  const [rated] = await tx.query<{ s: unknown }>('SELECT MAX(seq) AS s FROM rated_cdr');
  const [adjusted] = await tx.query<{ s: unknown }>('SELECT MAX(seq) AS s FROM adjustment');
  return { rated: intOf(rated?.s), adjustment: intOf(adjusted?.s) };
}

/**
 * The next invoice number, taken in the caller's transaction (the close's): if the close fails, the
 * number goes back with it, so the sequence has no gap (016_invoice_numbers.sql in schemas/sql and schemas/sqlite).
 */
export async function takeInvoiceNumber(tx: Sql): Promise<number> {
  const [row] = await tx.query<{ last_number: unknown }>('UPDATE invoice_sequence SET last_number = last_number + 1 WHERE id = 1 RETURNING last_number');
  return intOf(row?.last_number);
}

/** Records a close with the invoice it issued (JSON) and its number, and audits it; in the caller's transaction. */
export async function recordClose(tx: Sql, c: { clientId: string; period: string; actor: string; atMs: number; upTo: SeqLimit; invoiceNumber: number; printedNumber: string; invoiceJson: string }): Promise<void> {
  await tx.query(
    `INSERT INTO month_close (client_id, period, closed_at, closed_by, last_rated_seq, last_adjustment_seq, invoice, invoice_number)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [c.clientId, c.period, timeParam(c.atMs), c.actor, c.upTo.rated, c.upTo.adjustment, c.invoiceJson, c.invoiceNumber],
  );
  await appendAudit(tx, {
    actor: c.actor, subjectType: 'month', subjectId: `${c.clientId}/${c.period}`, action: 'close_month', from: 'open', to: 'closed',
    detail: `invoice ${c.printedNumber} last_rated_seq=${c.upTo.rated} last_adjustment_seq=${c.upTo.adjustment}`, atMs: c.atMs,
  });
}

/** The invoice a close issued (JSON text), if the month is closed. */
export async function issuedInvoice(sql: Sql, clientId: string, period: string): Promise<string | undefined> {
  const [row] = await sql.query<{ invoice: string }>('SELECT invoice FROM month_close WHERE client_id = $1 AND period = $2', [clientId, period]);
  return row?.invoice;
}

function closeOfRow(r: Record<string, unknown>): ClosedMonth {
  return {
    clientId: String(r.client_id),
    period: String(r.period),
    closedAt: isoOf(r.closed_at) ?? '',
    closedBy: String(r.closed_by),
    lastRatedSeq: intOf(r.last_rated_seq),
    lastAdjustmentSeq: intOf(r.last_adjustment_seq),
  };
}
