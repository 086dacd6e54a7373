/**
 * Which fair-use counters of its plan count a call: the plan's clauses (and its pool) turned into
 * counter definitions for the call's scope and month. A definition is data; the counter's state lives
 * in MonthlyCounter, keyed by `key`. Rating asks for them on every call, so they are made once per
 * subscriber and month and shared.
 */
import { FORWARD_REASONS, LEGS, type Cdr, type Subscriber } from '../cdr.js';
import { callSeconds } from '../fair-use/call-seconds.js';
import { concurrentCalls } from '../fair-use/concurrent-calls.js';
import { distinctNumbers } from '../fair-use/distinct-numbers.js';
import type { MetricLogic } from '../fair-use/metered-call.js';
import { Money } from '../money.js';
import { DESTINATION_CLASSES, type Destination } from '../numbering.js';
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
  /** Shared by every counter of the clause. */
  rule: CounterRule;
  scopeKey: string;
  /** userId, account, siteId or clientId, by the rule's scope (see scopeMonthOf). */
  scopeId: string;
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

/** The scope's month a counter counts in, as the ledger is asked for it. */
export function scopeMonthOf(def: CounterDef): ScopeMonth {
  return { clientId: def.clientId, period: def.period, scope: def.rule.scope, scopeId: def.scopeId };
}

const NONE: readonly CounterDef[] = Object.freeze([]);

/**
 * The counters of the call's plan that count it. Which ones depends only on the subscriber's month and
 * on a few fields of the call (its shape), so the list is made once per shape and shared by the calls.
 */
export function countersOf(call: CountedCall, usersOf: (clientId: string, siteId: string | null) => number): readonly CounterDef[] {
  // Emergency calls are never counted, so never sanctioned (C20); calls inside the PBX are not the operator's traffic.
  if (call.fixedReason === 'emergency' || call.fixedReason === 'internal') return NONE;
  const month = subscriberMonth(call, usersOf);
  if (month.all.length === 0) return NONE;
  const included = bundleIncludes(call.plan, call.dest);
  const shape = shapeOf(call, included);
  let defs = month.byShape.get(shape);
  if (defs === undefined) {
    const { plan } = call;
    defs = month.all.filter((d) => (d.clause === 'pool' ? call.fixedReason === null : counts(plan.fair_use[d.clause]!, call, included)));
    month.byShape.set(shape, defs.length === 0 ? NONE : defs);
  }
  return defs;
}

/** Every counter of a subscriber's plan for one month, and which of them count each shape of call. */
interface SubscriberMonth {
  plan: Plan;
  period: string;
  all: CounterDef[];
  byShape: Map<number, readonly CounterDef[]>;
}

/** Made once per subscriber, plan and month: a subscriber has a month or two at a time. */
const monthsBySubscriber = new WeakMap<Subscriber, SubscriberMonth[]>();

function subscriberMonth(call: CountedCall, usersOf: (clientId: string, siteId: string | null) => number): SubscriberMonth {
  const s = call.cdr.subscriber;
  let months = monthsBySubscriber.get(s);
  if (months === undefined) monthsBySubscriber.set(s, (months = []));
  for (const m of months) if (m.plan === call.plan && m.period === call.period) return m;
  const { plan } = call;
  const clauses = clausesOf(plan);
  const all = plan.fair_use.map((rule, i) => {
    const threshold = (rule.threshold_by_line_type?.[s.lineType] ?? rule.threshold) * (rule.per_channel ? s.channels : 1);
    const c = clauses.fairUse[i]!;
    return def(call, i, rule.scope, threshold, c.rule, c.multiplier, c.logic);
  });
  const bundle = plan.bundle;
  if (bundle.mode === 'pooled') {
    const users = usersOf(s.clientId, bundle.scope === 'site' ? s.siteId : null);
    all.push(def(call, 'pool', bundle.scope, bundle.minutes_per_user * 60 * users, clauses.pool!, null, callSeconds as MetricLogic<unknown>));
  }
  const month: SubscriberMonth = { plan, period: call.period, all, byShape: new Map() };
  months.push(month);
  return month;
}

/** The plan's clauses as counters see them, made once per plan: their rule, penalty and metric. */
interface PlanClauses {
  fairUse: { rule: CounterRule; multiplier: Money | null; logic: MetricLogic<unknown> }[];
  pool: CounterRule | null;
}

const clausesByPlan = new WeakMap<Plan, PlanClauses>();

function clausesOf(plan: Plan): PlanClauses {
  let c = clausesByPlan.get(plan);
  if (c === undefined) {
    c = {
      fairUse: plan.fair_use.map((rule, i) => ({ rule: makeClauseRule(plan, i), multiplier: penaltyMultiplier(rule), logic: logicOf(rule) })),
      pool: plan.bundle.mode === 'pooled' ? makeClauseRule(plan, 'pool') : null,
    };
    clausesByPlan.set(plan, c);
  }
  return c;
}

/** The rule a clause of the plan reports under (for a call's stored shares, whose counters may not be loaded). */
export function clauseRule(plan: Plan, clause: number | 'pool'): CounterRule {
  const clauses = clausesOf(plan);
  const rule = clause === 'pool' ? clauses.pool : clauses.fairUse[clause]?.rule;
  return rule ?? makeClauseRule(plan, clause); // throws: the plan has no such clause
}

function makeClauseRule(plan: Plan, clause: number | 'pool'): CounterRule {
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
    scopeId: scopeIdOf(scope, call.cdr),
    period: call.period,
    threshold,
    multiplier,
    logic,
    clientId: s.clientId,
    siteId: scope === 'client' ? '' : s.siteId,
    userId: scope === 'user' || scope === 'line' ? s.userId : '',
  };
}

const CLASS_INDEX = new Map<string, number>(DESTINATION_CLASSES.map((c, i) => [c, i]));

/**
 * The fields of a call that `counts` and the pool look at, as one number. A CDR's words are its own
 * strings (read from a file), so they are compared rather than used as keys.
 */
function shapeOf(call: CountedCall, included: boolean): number {
  const cdr = call.cdr;
  const leg = cdr.leg === 'originating' ? 0 : cdr.leg === 'forwarded' ? 1 : 2;
  const forward = cdr.forwardReason === null ? 0 : FORWARD_REASONS.indexOf(cdr.forwardReason) + 1;
  let shape = CLASS_INDEX.get(call.dest.cls)!;
  shape = shape * (FORWARD_REASONS.length + 1) + forward;
  shape = shape * LEGS.length + leg;
  return shape * 16 + (cdr.direction === 'out' ? 8 : 0) + (included ? 4 : 0) + (cdr.disposition === 'answered' ? 2 : 0) + (call.fixedReason === null ? 1 : 0);
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
