/**
 * The rating stage: prices every call against its subscriber's forfait, exactly, and keeps the
 * per-client monthly counters that fair-use clauses need.
 *
 * State is per client (Kafka partitions are keyed by client_id, so it is partition-local). The rater
 * never does I/O: the shell feeds it CDRs, restores it from the store after a restart, and drains
 * what changed: calls to bill or to adjust, alerts to raise or update.
 */
import { ALERT_SAMPLE_SIZE, alertId, type Alert } from '../alert.js';
import type { Cdr } from '../cdr.js';
import { callSeconds } from '../fair-use/call-seconds.js';
import { concurrentCalls } from '../fair-use/concurrent-calls.js';
import { distinctNumbers } from '../fair-use/distinct-numbers.js';
import type { MeteredCall, MetricLogic } from '../fair-use/metered-call.js';
import { MonthlyCounter, type CounterMember } from '../fair-use/monthly-counter.js';
import { Money, ZERO } from '../money.js';
import type { Destination, NumberingPlan } from '../numbering.js';
import { METRIC_RULE_IDS, type FairUseRule, type Plan } from '../plan.js';
import { priceSeconds, type TariffEntry } from '../tariff.js';
import { bundleIncludes } from './inclusion.js';
import { describeCounter, type CounterRule } from './explain.js';

/** A CDR whose subscriber's plan this rater does not have (its configuration is older than the directory's). */
export class UnknownPlan extends Error {
  constructor(
    readonly planId: string,
    readonly account: string,
  ) {
    super(`plan "${planId}" of account ${account} is not in this configuration`);
  }
}

export interface RatingContext {
  plans: ReadonlyMap<string, Plan>;
  numbering: NumberingPlan;
  /** Users sharing a pool (Orange: 500 minutes per user of the site). */
  usersOf(clientId: string, siteId: string | null): number;
}

/** Why a call is priced (or free) before any counter has a say. */
export type FixedReason = 'internal' | 'inbound' | 'emergency' | 'not_answered' | 'metered' | 'out_of_plan_destination' | 'fair_use.forwarding';

export interface RatedCall extends MeteredCall {
  cdr: Cdr;
  period: string;
  plan: Plan;
  dest: Destination;
  entry: TariffEntry;
  /** Null when the bundle covers the call unless a counter says otherwise. */
  fixedReason: FixedReason | null;
  memberships: Membership[];
  amount: Money;
  inBundle: boolean;
  /** `bundle`, or the id of the rule that priced the call. */
  reason: string;
  pricedSeconds: number;
  /** What invoicing has been told this call costs; null until first billed. */
  billed: Money | null;
}

export interface PriceChange {
  call: RatedCall;
  /** Amount invoicing was told before; null for a call billed for the first time. */
  previous: Money | null;
}

interface Membership {
  counter: PlanCounter;
  member: CounterMember<RatedCall>;
}

/** A monthly counter together with the clause it enforces and the alert it raises. */
export interface PlanCounter {
  rule: CounterRule;
  scopeKey: string;
  period: string;
  counter: MonthlyCounter<RatedCall>;
  multiplier: Money | null;
  alert: Alert | null;
  clientId: string;
  siteId: string;
  userId: string;
}

interface ClientState {
  calls: Map<string, RatedCall>;
  counters: Map<string, PlanCounter>;
}

export class Rater {
  private readonly clients = new Map<string, ClientState>();
  private touchedCalls = new Set<RatedCall>();
  private touchedAlerts = new Map<string, Alert>();

  constructor(private readonly ctx: RatingContext) {}

  has(clientId: string, cdrId: string): boolean {
    return this.clients.get(clientId)?.calls.has(cdrId) ?? false;
  }

  /** Rates a CDR; null if this cdr_id was rated already (idempotency). */
  rate(cdr: Cdr): RatedCall | null {
    const state = this.stateOf(cdr.subscriber.clientId);
    if (state.calls.has(cdr.cdrId)) return null;
    const call = this.classify(cdr);
    state.calls.set(cdr.cdrId, call);
    this.touchedCalls.add(call);
    // Emergency calls are never counted, so never sanctioned (C20); calls inside the PBX are not the operator's traffic.
    const counters = call.fixedReason === 'emergency' || call.fixedReason === 'internal' ? [] : this.countersFor(state, call);
    for (const counter of counters) {
      for (const member of counter.counter.add(call)) {
        if (member.call === call) call.memberships.push({ counter, member });
        else this.settle(member.call);
      }
      this.updateAlert(counter);
    }
    this.settle(call);
    return call;
  }

  /** Rebuilds state from a call the store already billed at `billed`. */
  restore(cdr: Cdr, billed: Money): RatedCall | null {
    const call = this.rate(cdr);
    if (call !== null) call.billed = billed;
    return call;
  }

  /** Restored counters re-raise their alerts; the store has them already. */
  forgetAlertChanges(): void {
    this.touchedAlerts = new Map();
  }

  /**
   * What changed since the last drain: calls to bill (`previous` null) or to adjust (`previous` is
   * what invoicing was told), and alerts raised or updated. Drained prices count as billed: the
   * shell writes them before it feeds more CDRs, or dies and rebuilds from the store.
   */
  drain(): { changes: PriceChange[]; alerts: Alert[] } {
    const changes: PriceChange[] = [];
    for (const call of this.touchedCalls) {
      if (call.billed !== null && call.billed.equals(call.amount)) continue;
      changes.push({ call, previous: call.billed });
      call.billed = call.amount;
    }
    const alerts = [...this.touchedAlerts.values()];
    this.touchedCalls = new Set();
    this.touchedAlerts = new Map();
    return { changes, alerts };
  }

  /** Month totals (after adjustments) per client and period. */
  totals(): Map<string, Map<string, Money>> {
    const totals = new Map<string, Map<string, Money>>();
    for (const [clientId, state] of this.clients) {
      const byPeriod = new Map<string, Money>();
      for (const call of state.calls.values()) byPeriod.set(call.period, (byPeriod.get(call.period) ?? ZERO).plus(call.amount));
      totals.set(clientId, byPeriod);
    }
    return totals;
  }

  private stateOf(clientId: string): ClientState {
    let state = this.clients.get(clientId);
    if (state === undefined) {
      state = { calls: new Map(), counters: new Map() };
      this.clients.set(clientId, state);
    }
    return state;
  }

  private classify(cdr: Cdr): RatedCall {
    const plan = this.ctx.plans.get(cdr.subscriber.planId);
    if (plan === undefined) throw new UnknownPlan(cdr.subscriber.planId, cdr.subscriber.account);
    const dest = this.ctx.numbering.classify(cdr.callee);
    const entry = plan.tariffTable.lookup(cdr.callee, dest.cls, plan.calendar.day(cdr.startMs));
    const call: RatedCall = {
      cdrId: cdr.cdrId,
      startMs: cdr.startMs,
      answerMs: cdr.answerMs,
      endMs: cdr.endMs,
      callee: cdr.callee,
      billableSeconds: cdr.billableSeconds,
      cdr,
      period: plan.calendar.period(cdr.startMs),
      plan,
      dest,
      entry,
      fixedReason: fixedReason(plan, cdr, dest),
      memberships: [],
      amount: ZERO,
      inBundle: false,
      reason: '',
      pricedSeconds: 0,
      billed: null,
    };
    return call;
  }

  /** The counters of the call's plan that count it, created on first use. */
  private *countersFor(state: ClientState, call: RatedCall): Generator<PlanCounter> {
    const { plan, cdr } = call;
    const s = cdr.subscriber;
    const included = bundleIncludes(plan, call.dest);
    for (let i = 0; i < plan.fair_use.length; i++) {
      const rule = plan.fair_use[i]!;
      if (!counts(rule, call, included)) continue;
      const scopeKey = scopeKeyOf(rule.scope, cdr);
      const threshold = (rule.threshold_by_line_type?.[s.lineType] ?? rule.threshold) * (rule.per_channel ? s.channels : 1);
      yield this.counter(state, `${plan.id}#${i}|${scopeKey}|${call.period}`, () => ({
        rule: { ruleId: METRIC_RULE_IDS[rule.metric], metric: rule.metric, scope: rule.scope, sanction: rule.sanction.scope, provenance: rule.provenance, severity: 'warning' },
        scopeKey,
        period: call.period,
        counter: new MonthlyCounter<RatedCall>(logicOf(rule) as MetricLogic<unknown>, threshold, rule.sanction.scope),
        multiplier: penaltyMultiplier(rule),
        alert: null,
        ...scopeIds(rule.scope, cdr),
      }));
    }
    const bundle = plan.bundle;
    if (bundle.mode === 'pooled' && call.fixedReason === null) {
      const scopeKey = scopeKeyOf(bundle.scope, cdr);
      yield this.counter(state, `${plan.id}#pool|${scopeKey}|${call.period}`, () => {
        const users = this.ctx.usersOf(s.clientId, bundle.scope === 'site' ? s.siteId : null);
        return {
          rule: { ruleId: 'pool_exhausted', metric: 'pooled_seconds', scope: bundle.scope, sanction: 'excess_only', provenance: bundle.provenance, severity: 'info' },
          scopeKey,
          period: call.period,
          counter: new MonthlyCounter<RatedCall>(callSeconds as MetricLogic<unknown>, bundle.minutes_per_user * 60 * users, 'excess_only'),
          multiplier: null,
          alert: null,
          ...scopeIds(bundle.scope, cdr),
        };
      });
    }
  }

  private counter(state: ClientState, key: string, create: () => PlanCounter): PlanCounter {
    let c = state.counters.get(key);
    if (c === undefined) {
      c = create();
      state.counters.set(key, c);
    }
    return c;
  }

  /** Sets the call's price from its fixed reason or from the counter that prices most of it. */
  private settle(call: RatedCall): void {
    this.touchedCalls.add(call);
    if (call.fixedReason !== null) {
      const priced = FREE_REASONS.has(call.fixedReason) ? 0 : call.billableSeconds;
      call.pricedSeconds = priced;
      call.amount = priceSeconds(call.entry, priced, true);
      call.inBundle = false;
      call.reason = call.fixedReason;
      return;
    }
    let best: Membership | null = null;
    for (const m of call.memberships) if (m.member.pricedSeconds > (best?.member.pricedSeconds ?? 0)) best = m;
    if (best === null) {
      call.pricedSeconds = 0;
      call.amount = ZERO;
      call.inBundle = true;
      call.reason = 'bundle';
      return;
    }
    const priced = Math.min(best.member.pricedSeconds, call.billableSeconds);
    call.pricedSeconds = priced;
    call.amount = priceSeconds(call.entry, priced, priced >= call.billableSeconds, best.counter.multiplier);
    call.inBundle = false;
    call.reason = best.counter.rule.ruleId;
  }

  private updateAlert(pc: PlanCounter): void {
    const crossing = pc.counter.crossing;
    if (crossing === null) return;
    const described = describeCounter(pc);
    pc.alert = {
      alertId: pc.alert?.alertId ?? alertId(pc.rule.ruleId, pc.scopeKey, pc.period),
      rule: pc.rule.ruleId,
      severity: pc.rule.severity,
      clientId: pc.clientId,
      siteId: pc.siteId,
      userId: pc.userId,
      firstSeenMs: crossing.atMs,
      lastSeenMs: pc.counter.lastSeenMs,
      value: pc.counter.value,
      threshold: pc.counter.threshold,
      cdrIds: pc.counter.excessCdrIds(ALERT_SAMPLE_SIZE),
      message: described,
    };
    this.touchedAlerts.set(pc.alert.alertId, pc.alert);
  }
}

const FREE_REASONS: ReadonlySet<FixedReason> = new Set(['internal', 'inbound', 'emergency', 'not_answered']);

function fixedReason(plan: Plan, cdr: Cdr, dest: Destination): FixedReason | null {
  if (dest.cls === 'emergency') return 'emergency';
  if (dest.cls === 'internal') return 'internal';
  if (cdr.direction === 'in') return plan.bill_inbound ? 'metered' : 'inbound';
  if (cdr.disposition !== 'answered') return 'not_answered';
  if (plan.bundle.mode === 'metered') return 'metered';
  if (!bundleIncludes(plan, dest)) return 'out_of_plan_destination';
  const fwd = plan.forwarding;
  if (cdr.leg !== 'originating' && fwd.excluded_legs.includes(cdr.leg)) {
    const reasons = fwd.excluded_forward_reasons;
    if (reasons === undefined || (cdr.forwardReason !== null && reasons.includes(cdr.forwardReason))) return 'fair_use.forwarding';
  }
  return null;
}

function counts(rule: FairUseRule, call: RatedCall, included: boolean): boolean {
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
      return concurrentCalls(rule.counts.interval === 'setup') as MetricLogic<unknown>;
  }
}

function penaltyMultiplier(rule: FairUseRule): Money | null {
  const p = rule.sanction.penalty;
  if (p === undefined) return null;
  const rate = new Money(p.percent).dividedBy(100);
  return p.mode === 'additive' ? rate.plus(1) : rate;
}

type Scope = FairUseRule['scope'];

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

function scopeIds(scope: Scope, cdr: Cdr): { clientId: string; siteId: string; userId: string } {
  const s = cdr.subscriber;
  return {
    clientId: s.clientId,
    siteId: scope === 'client' ? '' : s.siteId,
    userId: scope === 'user' || scope === 'line' ? s.userId : '',
  };
}

