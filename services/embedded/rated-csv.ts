/**
 * A row of rated.csv, made the same way whether it is written while the run commits (the writer thread)
 * or exported from the store afterwards (`cdr export`, a crashed run's recovery): both paths give the
 * same bytes because both go through `ratedCsvFields` from the same stored values.
 */
import type { Zone } from '../core/calendar.js';
import type { Plan } from '../core/plan.js';
import { shortExplanation } from '../core/rating/explain.js';
import { parseShares } from '../core/rating/rating-state.js';

export const RATED_COLUMNS = [
  'cdr_id', 'client_id', 'site_id', 'user_id', 'plan_id', 'period', 'start_time', 'callee', 'destination_class',
  'country', 'billable_seconds', 'in_bundle', 'amount', 'currency', 'reason', 'priced_seconds', 'explanation', 'caller',
  'caller_original',
] as const;

/** A billed call as the ledger stores it, in the order of the ledger's columns for rated.csv. */
export type StoredRated = readonly [
  cdrId: string, clientId: string, siteId: string, userId: string, planId: string, period: string, startMs: number,
  callee: string, cls: string, country: string, billableSeconds: number, inBundle: number, firstAmount: string,
  currency: string, reason: string, pricedSeconds: number, shares: string, caller: string, callerOriginal: string,
];

/** The ledger columns StoredRated reads (rated_cdr view): the call as first billed, whatever re-priced it since. */
export const STORED_RATED_COLUMNS = [
  'cdr_id', 'client_id', 'site_id', 'user_id', 'plan_id', 'period', 'start_time', 'callee', 'destination_class', 'country',
  'billable_seconds', 'first_in_bundle', 'first_amount', 'currency', 'first_reason', 'first_priced_seconds', 'first_shares', 'caller',
  'caller_original',
] as const;

/** The fields of one rated.csv row; `zone` is the plan's calendar (times are written in it). */
export function ratedCsvFields(r: StoredRated, explanation: string, zone: Zone): string[] {
  return [
    r[0], r[1], r[2], r[3], r[4], r[5], zone.iso(r[6]), r[7], r[8], r[9], String(r[10]), r[11] === 1 ? 'true' : 'false',
    r[12], r[13], r[14], String(r[15]), explanation, r[17], r[18],
  ];
}

/**
 * Short explanations, made once per (plan, reason, shares): most calls share all three. Looked up by the
 * values themselves, not a key string per call: the live write asks for every rated call.
 */
export class Explanations {
  private readonly made = new Map<string, Map<string, Map<string, string>>>();

  /** `plan` undefined: a plan no longer configured, explained by its reason alone. */
  of(plan: Plan | undefined, planId: string, reason: string, shares: string): string {
    let byReason = this.made.get(planId);
    if (byReason === undefined) this.made.set(planId, (byReason = new Map()));
    let byShares = byReason.get(reason);
    if (byShares === undefined) byReason.set(reason, (byShares = new Map()));
    let text = byShares.get(shares);
    if (text === undefined) byShares.set(shares, (text = plan === undefined ? reason : shortExplanation(plan, reason, parseShares(shares))));
    return text;
  }
}
