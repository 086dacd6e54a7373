/**
 * An invoice of a client month, from the rows billed on it: usage by destination class and country,
 * fair-use sanctions by rule, late calls of closed months, and adjustments with the month they
 * correct. Every amount is decimal.js and excludes VAT (HT), as the tariffs do; the exact total HT is the
 * sum of first_amount of the rated rows and delta of the adjustments billed on the month; the total HT
 * is that to the cent, and VAT and the total including VAT (TTC) come from it (vat.ts).
 */
import { Money, ZERO } from '../money.js';
import { vatTotals } from './vat.js';

export interface InvoiceCall {
  cdrId: string;
  period: string;
  destinationClass: string;
  country: string;
  billableSeconds: number;
  inBundle: boolean;
  firstAmount: string;
  currency: string;
  reason: string;
}

export interface InvoiceAdjustment {
  cdrId: string;
  period: string;
  delta: string;
  reason: string;
}

export const LINE_KINDS = ['usage', 'sanction', 'late_calls', 'adjustment'] as const;
export type LineKind = (typeof LINE_KINDS)[number];

export interface InvoiceLine {
  kind: LineKind;
  /** The month the line's calls belong to: the invoice's own, or the earlier one it corrects. */
  corrects_period: string;
  destination_class: string;
  country: string;
  /** The fair-use rule or the reason of an adjustment. */
  rule: string;
  calls: number;
  minutes: string;
  in_bundle_calls: number;
  out_of_bundle_calls: number;
  amount: string;
  /** The calls a correction is about (late calls and adjustments). */
  cdr_ids: string[];
}

export interface Invoice {
  client_id: string;
  period: string;
  currency: string;
  status: 'open' | 'closed';
  /** From one gapless sequence, given at the close; null while the month is open (a statement, not an invoice). */
  invoice_number: string | null;
  closed_at: string | null;
  closed_by: string | null;
  lines: InvoiceLine[];
  totals: InvoiceTotals;
}

export interface InvoiceTotals {
  usage: string;
  sanctions: string;
  late_calls: string;
  adjustments: string;
  /** The exact sum of the lines, excluding VAT (as many decimals as the tariffs give). */
  total_ht_exact: string;
  /** To the cent, half up: what VAT is computed on. */
  total_ht: string;
  /** Percent, e.g. "20" or "5.5". */
  vat_rate: string;
  vat: string;
  total_ttc: string;
}

/** Reasons that mean "priced because a fair-use limit was passed": billed as sanction lines. */
export function isSanction(reason: string): boolean {
  return reason.startsWith('fair_use.') || reason === 'pool_exhausted';
}

export interface InvoiceInput {
  clientId: string;
  period: string;
  calls: readonly InvoiceCall[];
  adjustments: readonly InvoiceAdjustment[];
  /** Used when the month has no row at all. */
  defaultCurrency: string;
  /** The client's VAT rate in percent. */
  vatRate: string;
  close: { closedAt: string; closedBy: string; invoiceNumber: string } | null;
}

export function composeInvoice(input: InvoiceInput): Invoice {
  const groups = new Map<string, { line: InvoiceLine; seconds: number; amount: Money }>();
  const add = (key: string, base: Omit<InvoiceLine, 'calls' | 'minutes' | 'in_bundle_calls' | 'out_of_bundle_calls' | 'amount' | 'cdr_ids'>, amount: string, seconds: number, inBundle: boolean | null, cdrId: string | null) => {
    let g = groups.get(key);
    if (g === undefined) {
      g = { line: { ...base, calls: 0, minutes: '0', in_bundle_calls: 0, out_of_bundle_calls: 0, amount: '0', cdr_ids: [] }, seconds: 0, amount: ZERO };
      groups.set(key, g);
    }
    g.line.calls += 1;
    if (inBundle === true) g.line.in_bundle_calls += 1;
    if (inBundle === false) g.line.out_of_bundle_calls += 1;
    g.seconds += seconds;
    g.amount = g.amount.plus(new Money(amount));
    if (cdrId !== null) g.line.cdr_ids.push(cdrId);
  };
  for (const c of input.calls) {
    const late = c.period !== input.period;
    if (late) {
      add(`late|${c.period}`, { kind: 'late_calls', corrects_period: c.period, destination_class: '', country: '', rule: '' }, c.firstAmount, c.billableSeconds, c.inBundle, c.cdrId);
    } else if (isSanction(c.reason)) {
      add(`sanction|${c.reason}`, { kind: 'sanction', corrects_period: c.period, destination_class: '', country: '', rule: c.reason }, c.firstAmount, c.billableSeconds, c.inBundle, null);
    } else {
      add(`usage|${c.destinationClass}|${c.country}`, { kind: 'usage', corrects_period: c.period, destination_class: c.destinationClass, country: c.country, rule: '' }, c.firstAmount, c.billableSeconds, c.inBundle, null);
    }
  }
  for (const a of input.adjustments) {
    add(`adjustment|${a.period}|${a.reason}`, { kind: 'adjustment', corrects_period: a.period, destination_class: '', country: '', rule: a.reason }, a.delta, 0, null, a.cdrId);
  }
  const order: Record<LineKind, number> = { usage: 0, sanction: 1, late_calls: 2, adjustment: 3 };
  const lines = [...groups.values()]
    .map((g) => ({ ...g.line, minutes: new Money(g.seconds).div(60).toFixed(2), amount: g.amount.toFixed() }))
    .sort((a, b) => order[a.kind] - order[b.kind] || a.corrects_period.localeCompare(b.corrects_period) || a.destination_class.localeCompare(b.destination_class) || a.country.localeCompare(b.country) || a.rule.localeCompare(b.rule));
  const sum = (kind: LineKind) => lines.filter((l) => l.kind === kind).reduce((s, l) => s.plus(new Money(l.amount)), ZERO);
  const exact = lines.reduce((s, l) => s.plus(new Money(l.amount)), ZERO);
  const currencies = new Set(input.calls.map((c) => c.currency));
  if (currencies.size > 1) throw new Error(`client ${input.clientId} ${input.period} is billed in several currencies (${[...currencies].join(', ')}); one invoice per currency is not supported`);
  return {
    client_id: input.clientId,
    period: input.period,
    currency: [...currencies][0] ?? input.defaultCurrency,
    status: input.close === null ? 'open' : 'closed',
    invoice_number: input.close?.invoiceNumber ?? null,
    closed_at: input.close?.closedAt ?? null,
    closed_by: input.close?.closedBy ?? null,
    lines,
    totals: {
      usage: sum('usage').toFixed(),
      sanctions: sum('sanction').toFixed(),
      late_calls: sum('late_calls').toFixed(),
      adjustments: sum('adjustment').toFixed(),
      total_ht_exact: exact.toFixed(),
      ...vatTotals(exact, input.vatRate),
    },
  };
}
