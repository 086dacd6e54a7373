/**
 * The detailed statement of a client month (« relevé détaillé des communications »): the calls its
 * invoice bills, one by one, with the plans they were rated under, the fair-use counters against their
 * thresholds, the sanctions with the contract clause behind them, and the invoice's totals.
 *
 * Built once, from the invoice and the rows it was composed from, and checked against it: the calls'
 * amounts plus the adjustments must be the invoice's exact total HT, else the statement is refused
 * rather than printed beside an invoice it contradicts. Called numbers are masked here, so the full
 * number never reaches a renderer (HTML, PDF).
 */
import { Money, ZERO } from '../money.js';
import { METRIC_RULE_IDS, METRICS, type Metric, type Plan, type Provenance } from '../plan.js';
import { cite } from '../rating/explain.js';
import { clauseRule } from '../rating/plan-counters.js';
import type { Invoice, InvoiceAdjustment, InvoiceCall, InvoiceLine, InvoiceTotals } from './compose-invoice.js';
import { numberMasker } from './masked-number.js';

/** A billed call with what the statement prints of it; `callee` in full (the model masks it). */
export interface DetailedCall extends InvoiceCall {
  /** ISO-8601. */
  startTime: string;
  callee: string;
  siteId: string;
  userId: string;
  planId: string;
}

/** A fair-use counter of the month as the rater left it (counter_state). */
export interface CounterRow {
  /** `<plan>#<clause>|<scope key>|<period>` when written by the rater: names the clause it counts for. */
  key: string;
  rule: string;
  scope: string;
  siteId: string;
  userId: string;
  value: number;
  threshold: number;
  crossedAt: string | null;
}

/** The call an adjustment corrects, as far as the statement shows it. */
export interface AdjustedCall {
  startTime: string;
  callee: string;
}

export interface StatementInput {
  invoice: Invoice;
  calls: readonly DetailedCall[];
  adjustments: readonly InvoiceAdjustment[];
  /** The calls the adjustments correct, by cdr id (absent when the store no longer has the row). */
  adjustedCalls: ReadonlyMap<string, AdjustedCall>;
  counters: readonly CounterRow[];
  plans: ReadonlyMap<string, Plan>;
}

export interface StatementPlan {
  id: string;
  /** Null when the configuration no longer has the plan: the statement prints its id. */
  name: string | null;
  provider: string | null;
  /** Distinct users (site/user) with a billed call under it. */
  users: number;
}

/** What a counter counts, hence the unit it is printed in. */
export type CounterMetric = Metric | 'pooled_seconds' | 'unknown';

export interface StatementCounter {
  rule: string;
  metric: CounterMetric;
  scope: string;
  siteId: string;
  userId: string;
  value: number;
  threshold: number;
  crossed: boolean;
  crossedAt: string | null;
  /** The contract clause (cite()), or null when no loaded plan has it. */
  clause: string | null;
}

export interface StatementSanction {
  rule: string;
  calls: number;
  minutes: string;
  amount: string;
  clauses: string[];
}

export interface StatementCallLine {
  startTime: string;
  siteId: string;
  userId: string;
  /** Last four digits masked (masked-number.ts). */
  callee: string;
  destinationClass: string;
  country: string;
  seconds: number;
  reason: string;
  /** Exact, as billed (first_amount). */
  amount: string;
}

export interface CallSection {
  /** Null for the month's own calls; else the earlier, closed month these late calls belong to. */
  correctsPeriod: string | null;
  calls: StatementCallLine[];
  seconds: number;
  amount: string;
}

export interface StatementAdjustment {
  correctsPeriod: string;
  reason: string;
  /** Null when the store no longer has the call. */
  startTime: string | null;
  callee: string | null;
  amount: string;
}

export interface Statement {
  clientId: string;
  period: string;
  status: Invoice['status'];
  invoiceNumber: string | null;
  closedAt: string | null;
  currency: string;
  plans: StatementPlan[];
  counters: StatementCounter[];
  sanctions: StatementSanction[];
  /** The invoice's lines, as its summary. */
  summary: InvoiceLine[];
  sections: CallSection[];
  adjustments: StatementAdjustment[];
  /** Exact sums: the calls listed, and the adjustments listed. */
  callsAmount: string;
  adjustmentsAmount: string;
  totals: InvoiceTotals;
}

export class StatementMismatch extends Error {}

export function buildStatement(input: StatementInput): Statement {
  const { invoice } = input;
  const mask = numberMasker();
  const calls = [...input.calls].sort((a, b) => a.startTime.localeCompare(b.startTime) || a.cdrId.localeCompare(b.cdrId));

  const sections = new Map<string | null, CallSection>();
  for (const c of calls) {
    const key = c.period === invoice.period ? null : c.period;
    let s = sections.get(key);
    if (s === undefined) sections.set(key, (s = { correctsPeriod: key, calls: [], seconds: 0, amount: '0' }));
    s.calls.push({ startTime: c.startTime, siteId: c.siteId, userId: c.userId, callee: mask(c.callee), destinationClass: c.destinationClass, country: c.country, seconds: c.billableSeconds, reason: c.reason, amount: c.firstAmount });
    s.seconds += c.billableSeconds;
  }
  for (const s of sections.values()) s.amount = sum(s.calls.map((c) => c.amount)).toFixed();
  // The month's own calls first, then late calls oldest month first.
  const orderedSections = [...sections.values()].sort((a, b) => (a.correctsPeriod ?? '').localeCompare(b.correctsPeriod ?? ''));

  const adjustments = [...input.adjustments]
    .map((a): StatementAdjustment => {
      const call = input.adjustedCalls.get(a.cdrId);
      return { correctsPeriod: a.period, reason: a.reason, startTime: call?.startTime ?? null, callee: call ? mask(call.callee) : null, amount: a.delta };
    })
    .sort((a, b) => a.correctsPeriod.localeCompare(b.correctsPeriod) || a.reason.localeCompare(b.reason) || (a.startTime ?? '').localeCompare(b.startTime ?? ''));

  const callsAmount = sum(calls.map((c) => c.firstAmount));
  const adjustmentsAmount = sum(adjustments.map((a) => a.amount));
  checkAgainstInvoice(invoice, calls.length, callsAmount, adjustmentsAmount);

  const planIds = new Set(calls.map((c) => c.planId));
  const plans = [...planIds].sort().map((id): StatementPlan => {
    const plan = input.plans.get(id);
    const users = new Set(calls.filter((c) => c.planId === id).map((c) => `${c.siteId}\u0000${c.userId}`)).size;
    return { id, name: plan?.name ?? null, provider: plan?.provider ?? null, users };
  });
  const clientPlans = [...planIds].map((id) => input.plans.get(id)).filter((p): p is Plan => p !== undefined);

  return {
    clientId: invoice.client_id,
    period: invoice.period,
    status: invoice.status,
    invoiceNumber: invoice.invoice_number,
    closedAt: invoice.closed_at,
    currency: invoice.currency,
    plans,
    counters: input.counters.map((c) => counterOf(c, input.plans, clientPlans)),
    sanctions: invoice.lines
      .filter((l) => l.kind === 'sanction')
      .map((l) => ({ rule: l.rule, calls: l.calls, minutes: l.minutes, amount: l.amount, clauses: sanctionClauses(l.rule, clientPlans) })),
    summary: invoice.lines,
    sections: orderedSections,
    adjustments,
    callsAmount: callsAmount.toFixed(),
    adjustmentsAmount: adjustmentsAmount.toFixed(),
    totals: invoice.totals,
  };
}

function sum(amounts: readonly string[]): Money {
  return amounts.reduce((s, a) => s.plus(new Money(a)), ZERO);
}

/** The statement must bill what the invoice bills, to the exact decimal, or not be printed at all. */
function checkAgainstInvoice(invoice: Invoice, callCount: number, callsAmount: Money, adjustmentsAmount: Money): void {
  const who = `${invoice.client_id} ${invoice.period}${invoice.invoice_number ? ` (invoice ${invoice.invoice_number})` : ''}`;
  const invoicedCalls = invoice.lines.filter((l) => l.kind !== 'adjustment').reduce((n, l) => n + l.calls, 0);
  const total = callsAmount.plus(adjustmentsAmount);
  if (invoicedCalls !== callCount || !total.equals(new Money(invoice.totals.total_ht_exact))) {
    throw new StatementMismatch(
      `the detailed statement of ${who} does not match its invoice: ${callCount} calls and adjustments for ${total.toFixed()} in the store, ` +
        `${invoicedCalls} calls for ${invoice.totals.total_ht_exact} on the invoice. Rows of a closed month were changed or removed in the store; ` +
        'check them (cdr audit verify, the month_close row) before sending this statement.',
    );
  }
}

const RULE_METRICS = new Map<string, Metric>(METRICS.map((m) => [METRIC_RULE_IDS[m], m]));

function counterOf(c: CounterRow, plans: ReadonlyMap<string, Plan>, clientPlans: readonly Plan[]): StatementCounter {
  const provenance = counterClause(c, plans, clientPlans);
  const metric: CounterMetric = c.rule === 'pool_exhausted' ? 'pooled_seconds' : (RULE_METRICS.get(c.rule) ?? 'unknown');
  return {
    rule: c.rule, metric, scope: c.scope, siteId: c.siteId, userId: c.userId, value: c.value, threshold: c.threshold,
    crossed: c.crossedAt !== null || c.value > c.threshold, crossedAt: c.crossedAt, clause: provenance ? cite(provenance) : null,
  };
}

const RATER_KEY = /^([a-z0-9_]+)#(\d+|pool)\|/;

/**
 * The clause a counter counts for: named by the rater's key (plan and clause index); for a counter
 * written otherwise (an older store, a hand fix), the client's plan clause with the same rule and scope.
 */
function counterClause(c: CounterRow, plans: ReadonlyMap<string, Plan>, clientPlans: readonly Plan[]): Provenance | null {
  const m = RATER_KEY.exec(c.key);
  const plan = m ? plans.get(m[1]!) : undefined;
  if (m && plan) {
    try {
      const rule = clauseRule(plan, m[2] === 'pool' ? 'pool' : Number(m[2]));
      if (rule.ruleId === c.rule) return rule.provenance;
    } catch {
      // The plan changed since the counter was written: fall back to matching by rule and scope.
    }
  }
  for (const p of clientPlans) {
    if (c.rule === 'pool_exhausted' && p.bundle.mode === 'pooled' && p.bundle.scope === c.scope) return p.bundle.provenance;
    const clause = p.fair_use.find((f) => METRIC_RULE_IDS[f.metric] === c.rule && f.scope === c.scope);
    if (clause) return clause.provenance;
  }
  return null;
}

/** Every clause of the client's plans that prices calls under `rule` (a plan may have several per rule). */
function sanctionClauses(rule: string, clientPlans: readonly Plan[]): string[] {
  const found: Provenance[] = [];
  for (const p of clientPlans) {
    for (const f of p.fair_use) if (METRIC_RULE_IDS[f.metric] === rule) found.push(f.provenance);
    if (rule === 'pool_exhausted' && p.bundle.mode === 'pooled') found.push(p.bundle.provenance);
    // Forwarded legs the plan excludes are priced under fair_use.forwarding too (explain.ts).
    if (rule === 'fair_use.forwarding' && p.forwarding.provenance) found.push(p.forwarding.provenance);
  }
  return [...new Set(found.map(cite))];
}
