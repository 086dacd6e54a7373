/**
 * Authorization at call setup: what the switch is told before it relays a call (POST/GET
 * /api/v1/authorize). A pure decision over what the server counts for the account — its lock level,
 * the setups it was allowed in the last second, its calls in progress — and the destination's class.
 *
 * The order is the answer's: an emergency number is allowed whatever else holds (the lock levels'
 * promise, and the law); then the lock an analyst or a policy set; then the destinations the policy
 * refuses; then simultaneous calls; the setup rate last, because only a setup that is let through
 * counts against it (a client dialling 11 times a second gets 10 calls a second, not none).
 */
import type { Subscriber } from '../cdr.js';
import type { Destination, DestinationClass } from '../numbering.js';
import type { HighRiskRanges } from './high-risk-ranges.js';
import type { LockLevel } from './lock-levels.js';

export const DENY_REASONS = [
  'unknown_account',
  'invalid_number',
  'lock_all',
  'lock_outgoing',
  'lock_foreign',
  'high_risk_destination',
  'barred_destination',
  'outside_plan',
  'simultaneous_calls',
  'setup_rate',
] as const;
export type DenyReason = (typeof DENY_REASONS)[number];
export const ALLOW_REASONS = ['emergency', 'ok'] as const;
export type AllowReason = (typeof ALLOW_REASONS)[number];

export type CallDecision =
  | { decision: 'allow'; reason: AllowReason; detail: string }
  | { decision: 'deny'; reason: DenyReason; detail: string };

/** The policy of call_authorization in config/fraud.yaml, resolved for one client. */
export interface AuthorizationPolicy {
  /** Setups let through per second and scope (call_setup_rate.max_per_second); none: not limited. */
  maxSetupsPerSecond: number | undefined;
  /** Calls in progress at most; none: not limited. */
  maxSimultaneous: number | undefined;
  /** Ranges refused at setup (the high-risk ranges); none: none refused. */
  refusedRanges: HighRiskRanges | undefined;
  /** Destination classes refused at setup (e.g. fr_premium). */
  refusedClasses: readonly DestinationClass[];
  /** Refuse calls abroad that the subscriber's plan does not include (its bundle's countries). */
  refuseAbroadOutsidePlan: boolean;
}

/** What the server knows of the account when the switch asks. */
export interface SetupContext {
  subscriber: Subscriber;
  /** The callee in E.164 (or short digits) and its class. */
  callee: string;
  destination: Destination;
  lock: LockLevel;
  /** Setups of the account's scope let through in the second before this one. */
  setupsInLastSecond: number;
  /** Calls of the account in progress (allowed, no end notice yet, not timed out). */
  callsInProgress: number;
  /** Whether the subscriber's plan includes the destination (its bundle). */
  inPlan: boolean;
}

/** Abroad for a foreign lock: a known foreign number, and any E.164 number no range of the plan knows (fail closed). */
function abroad(callee: string, d: Destination): boolean {
  return d.cls === 'international' || (d.cls === 'unknown' && callee.startsWith('+'));
}

export function decideCall(c: SetupContext, policy: AuthorizationPolicy): CallDecision {
  const d = c.destination;
  if (d.cls === 'emergency') return { decision: 'allow', reason: 'emergency', detail: 'emergency numbers are always relayed, whatever the lock' };
  if (c.lock === 'all' || c.lock === 'outgoing') {
    return { decision: 'deny', reason: c.lock === 'all' ? 'lock_all' : 'lock_outgoing', detail: `account under lock level ${c.lock}` };
  }
  if (c.lock === 'foreign' && abroad(c.callee, d)) return { decision: 'deny', reason: 'lock_foreign', detail: `calls abroad barred (${d.country || 'international'})` };
  const range = d.cls === 'fr_fixed' ? undefined : policy.refusedRanges?.match(c.callee);
  if (range !== undefined) return { decision: 'deny', reason: 'high_risk_destination', detail: `+${range.prefix} is a high-risk range (${range.name}, ${range.category})` };
  if (policy.refusedClasses.includes(d.cls)) return { decision: 'deny', reason: 'barred_destination', detail: `${d.cls} destinations refused by policy` };
  if (policy.refuseAbroadOutsidePlan && abroad(c.callee, d) && !c.inPlan) {
    return { decision: 'deny', reason: 'outside_plan', detail: `${d.country || 'this destination'} is not in the plan ${c.subscriber.planId}` };
  }
  if (policy.maxSimultaneous !== undefined && c.callsInProgress >= policy.maxSimultaneous) {
    return { decision: 'deny', reason: 'simultaneous_calls', detail: `${c.callsInProgress} calls in progress, at most ${policy.maxSimultaneous}` };
  }
  if (policy.maxSetupsPerSecond !== undefined && c.setupsInLastSecond >= policy.maxSetupsPerSecond) {
    return { decision: 'deny', reason: 'setup_rate', detail: `${c.setupsInLastSecond} setups in the last second, at most ${policy.maxSetupsPerSecond}` };
  }
  return { decision: 'allow', reason: 'ok', detail: '' };
}
