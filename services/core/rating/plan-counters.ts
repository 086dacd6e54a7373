/**
 * Which fair-use counters of its plan count a call: the plan's clauses (and its pool) turned into
 * counter definitions for the call's scope and month. A definition is data; the counter's state lives
 * in MonthlyCounter, keyed by `key`.
 */
import type { Cdr, Subscriber } from '../cdr.js';
import { callSeconds } from '../fair-use/call-seconds.js';
import { concurrentCalls } from '../fair-use/concurrent-calls.js';
import { distinctNumbers } from '../fair-use/distinct-numbers.js';
import type { MetricLogic } from '../fair-use/metered-call.js';
import { Money } from '../money.js';
import type { Destination } from '../numbering.js';
import { METRIC_RULE_IDS, type FairUseRule, type Plan } from '../plan.js';
import type { CounterRule } from './explain.js';
import { bundleIncludes } from './inclusion.js';

export type Scope = FairUseRule['scope'];

/** One scope's month, as the ledger is asked for it. */
export interface ScopeMonth {
  clientId: string;
  period: string;
  scope: Scope;
  /** userId, account, siteId or clientId, by scope. */
  scopeId: string;
}

export interface CounterDef {
  /** `<plan>#<clause>|<scope key>|<period>`: one counter per clause, scope and month. */
  key: string;
  /** The clause's index in the plan's fair_use list, or `pool`. */
  clause: number | 'pool';
  rule: CounterRule;
  scopeKey: string;
  scopeMonth: ScopeMonth;
  period: string;
  threshold: number;
  multiplier: Money | null;
  logic: MetricLogic<unknown>;
  clientId: string;
  siteId: string;
  userId: string;
}

/** What a call is, as far as counting goes. */
export interface CountedCall {
  cdr: Cdr;
  plan: Plan;
  dest: Destination;
  period: string;
  /** Null when the bundle covers the call unless a counter says otherwise. */
  fixedReason: string | null;
}

/** The counters of the call's plan that count it. */
export function countersOf(call: CountedCall, usersOf: (clientId: string, siteId: string | null) => number): CounterDef[] {
  // Emergency calls are never counted, so never sanctioned (C20); calls inside the PBX are not the operator's traffic.
  if (call.fixedReason === 'emergency' || call.fixedReason === 'internal') return [];
  const { plan } = call;
  const included = bundleIncludes(plan, call.dest);
  const defs: CounterDef[] = [];
  for (const d of scopeDefs(call, usersOf)) {
    if (d.clause === 'pool' ? call.fixedReason === null : counts(plan.fair_use[d.clause]!, call, included)) defs.push(d);
  }
  return defs;
}

/** Every counter of the plan for the call's subscriber and month, made once per subscriber, plan and month. */
const defsBySubscriber = new WeakMap<Subscriber, Map<string, CounterDef[]>>();

function scopeDefs(call: CountedCall, usersOf: (clientId: string, siteId: string | null) => number): CounterDef[] {
  const s = call.cdr.subscriber;
  let byMonth = defsBySubscriber.get(s);
  if (byMonth === undefined) defsBySubscriber.set(s, (byMonth = new Map()));
  const key = `${call.plan.id}|${call.period}`;
  let defs = byMonth.get(key);
  if (defs === undefined) {
    const { plan } = call;
    defs = plan.fair_use.map((rule, i) => {
      const threshold = (rule.threshold_by_line_type?.[s.lineType] ?? rule.threshold) * (rule.per_channel ? s.channels : 1);
      return def(call, i, rule.scope, threshold, clauseRule(plan, i), penaltyMultiplier(rule), logicOf(rule));
    });
    const bundle = plan.bundle;
    if (bundle.mode === 'pooled') {
      const users = usersOf(s.clientId, bundle.scope === 'site' ? s.siteId : null);
      defs.push(def(call, 'pool', bundle.scope, bundle.minutes_per_user * 60 * users, clauseRule(plan, 'pool'), null, callSeconds as MetricLogic<unknown>));
    }
    byMonth.set(key, defs);
  }
  return defs;
}

/** The rule a clause of the plan reports under (for a call's stored shares, whose counters may not be loaded). */
export function clauseRule(plan: Plan, clause: number | 'pool'): CounterRule {
  if (clause === 'pool') {
    if (plan.bundle.mode !== 'pooled') throw new Error(`plan ${plan.id} has no pool`);
    return { ruleId: 'pool_exhausted', metric: 'pooled_seconds', scope: plan.bundle.scope, sanction: 'excess_only', provenance: plan.bundle.provenance, severity: 'info' };
  }
  const rule = plan.fair_use[clause];
  if (rule === undefined) throw new Error(`plan ${plan.id} has no fair-use clause #${clause}`);
  return { ruleId: METRIC_RULE_IDS[rule.metric], metric: rule.metric, scope: rule.scope, sanction: rule.sanction.scope, provenance: rule.provenance, severity: 'warning' };
}

function def(call: CountedCall, clause: number | 'pool', scope: Scope, threshold: number, rule: CounterRule, multiplier: Money | null, logic: MetricLogic<unknown>): CounterDef {
  const s = call.cdr.subscriber;
  const scopeKey = scopeKeyOf(scope, call.cdr);
  return {
    key: `${call.plan.id}#${clause}|${scopeKey}|${call.period}`,
    clause,
    rule,
    scopeKey,
    scopeMonth: { clientId: s.clientId, period: call.period, scope, scopeId: scopeIdOf(scope, call.cdr) },
    period: call.period,
    threshold,
    multiplier,
    logic,
    clientId: s.clientId,
    siteId: scope === 'client' ? '' : s.siteId,
    userId: scope === 'user' || scope === 'line' ? s.userId : '',
  };
}

function counts(rule: FairUseRule, call: CountedCall, included: boolean): boolean {
  const c = rule.counts;
  const cdr = call.cdr;
  if (!c.directions.includes(cdr.direction) || !c.legs.includes(cdr.leg)) return false;
  if (c.answered_only && cdr.disposition !== 'answered') return false;
  if (c.classes !== undefined ? !c.classes.includes(call.dest.cls) : !included) return false;
  if (c.forward_reasons !== undefined && (cdr.forwardReason === null || !c.forward_reasons.includes(cdr.forwardReason))) return false;
  return true;
}

function logicOf(rule: FairUseRule): MetricLogic<unknown> {
  switch (rule.metric) {
    case 'distinct_numbers':
      return distinctNumbers as MetricLogic<unknown>;
    case 'outbound_seconds':
    case 'forwarded_seconds':
      return callSeconds as MetricLogic<unknown>;
    case 'concurrent_calls':
      return (rule.counts.interval === 'setup' ? FROM_SETUP : FROM_ANSWER) as MetricLogic<unknown>;
  }
}

const FROM_SETUP = concurrentCalls(true);
const FROM_ANSWER = concurrentCalls(false);

function penaltyMultiplier(rule: FairUseRule): Money | null {
  const p = rule.sanction.penalty;
  if (p === undefined) return null;
  const rate = new Money(p.percent).dividedBy(100);
  return p.mode === 'additive' ? rate.plus(1) : rate;
}

function scopeKeyOf(scope: Scope, cdr: Cdr): string {
  const s = cdr.subscriber;
  switch (scope) {
    case 'user':
      return `${s.clientId}/user/${s.userId}`;
    case 'line':
      return `${s.clientId}/line/${s.account}`;
    case 'site':
      return `${s.clientId}/site/${s.siteId}`;
    case 'client':
      return s.clientId;
  }
}

function scopeIdOf(scope: Scope, cdr: Cdr): string {
  const s = cdr.subscriber;
  return scope === 'user' ? s.userId : scope === 'line' ? s.account : scope === 'site' ? s.siteId : s.clientId;
}
