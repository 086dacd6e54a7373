/**
 * The rating stage: prices every call against its subscriber's forfait, exactly, and keeps the
 * per-scope monthly counters that fair-use clauses need.
 *
 * State is counters, not history: per clause, scope and month the rater keeps a MonthlyCounter, loaded
 * from the shell's store the first time a call needs it and handed back at each drain. It never does
 * I/O: what it needs and does not have (a saved counter, or for the rare call that moves other calls'
 * prices, the calls of one scope's month) it asks of its RatingState, and when that is not at hand it
 * throws StateNeeded before changing anything, so that an asynchronous shell can fetch and rate again.
 */
import { ALERT_SAMPLE_SIZE, alertId, type Alert } from '../alert.js';
import type { Cdr } from '../cdr.js';
import type { MeteredCall } from '../fair-use/metered-call.js';
import { MonthlyCounter, type SavedCounter } from '../fair-use/monthly-counter.js';
import { Money, ZERO } from '../money.js';
import type { Destination, NumberingPlan } from '../numbering.js';
import type { Plan } from '../plan.js';
import { priceSeconds, type TariffEntry } from '../tariff.js';
import { describeCounter, type CounterRule } from './explain.js';
import { bundleIncludes } from './inclusion.js';
import { LocalDays } from '../local-days.js';
import { countersOf, scopeMonthOf, type CounterDef, type ScopeMonth } from './plan-counters.js';
import { MemoryState } from './memory-state.js';
import { StateNeeded, formatShares, parseShares, scopeMonthKey, type RatingState, type StoredCall } from './rating-state.js';

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
  /** Where saved counters and billed calls come from; in memory when absent (tests, one-off use). */
  state?: RatingState;
  /**
   * Late calls that move other calls' prices visit their counter's month once at the drain, however many
   * arrive before it, instead of once each: a batch of k late calls of one scope costs one visit, not k.
   * A call's price is then final only at the drain, so this is for shells that use only drained prices
   * (the streaming rater); what the drain returns is the same either way (prices are a function of the
   * month's set of calls).
   */
  deferVisits?: boolean;
}

/** Why a call is priced (or free) before any counter has a say. */
export type FixedReason = 'internal' | 'inbound' | 'emergency' | 'not_answered' | 'metered' | 'out_of_plan_destination' | 'fair_use.forwarding';

/** The part of a call a counter prices. */
export interface Share {
  key: string;
  clause: number | 'pool';
  rule: CounterRule;
  multiplier: Money | null;
  seconds: number;
}

/**
 * Per counter that counts the call, the seconds it prices: `counted` is the list the call's shape
 * shares with its subscriber's other calls of the month, `seconds` follows it and is null while every
 * share is zero (most calls), so that rating a call in its bundle allocates nothing for it.
 */
export interface Shares {
  readonly counted: readonly CounterDef[];
  seconds: number[] | null;
}

export interface RatedCall extends MeteredCall {
  cdr: Cdr;
  period: string;
  plan: Plan;
  dest: Destination;
  entry: TariffEntry;
  fixedReason: FixedReason | null;
  /** Per counter that counts the call, the seconds it prices. */
  shares: Shares;
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

/** A counter as the store keeps it (and the fraud desk reads it). */
export interface CounterRow {
  key: string;
  clientId: string;
  siteId: string;
  userId: string;
  scope: string;
  scopeKey: string;
  period: string;
  rule: string;
  value: number;
  threshold: number;
  crossedAtMs: number | null;
  saved: SavedCounter;
}

export interface Drained {
  changes: PriceChange[];
  /** Calls billed before whose shares or reason moved but not their price: the ledger updates them, invoicing sees nothing. */
  restated: RatedCall[];
  alerts: Alert[];
  /** Counters that changed since the last drain, to store with the results. */
  counters: CounterRow[];
  /** How these changes move month totals: client → period → delta. */
  moved: MonthTotals;
}

/** Amounts per client and period. */
export type MonthTotals = Map<string, Map<string, Money>>;

/** A monthly counter together with the clause it enforces and the alert it raises. */
export interface PlanCounter {
  readonly def: CounterDef;
  readonly counter: MonthlyCounter;
  alert: Alert | null;
}

export class Rater {
  private readonly state: RatingState;
  private readonly memory: MemoryState | null;
  private readonly counters = new Map<string, PlanCounter>();
  /** Calls rated or re-priced since the last drain, by cdr_id. */
  private pending = new Map<string, RatedCall>();
  /**
   * The pending calls each counter counts, by counter key: a late call visits its counter's month with
   * these, and a batch of late calls must not scan every pending call once each (quadratic in the batch).
   */
  private pendingOf = new Map<string, Map<string, RatedCall>>();
  /** Counters whose month is visited at the drain (deferVisits), with the month's billed calls. */
  private deferred = new Map<PlanCounter, readonly (StoredCall | RatedCall)[]>();
  /** Stored calls revived since the last drain: many late calls of one scope visit the same month. */
  private revived = new Map<string, RatedCall | null>();
  private dirty = new Set<PlanCounter>();
  private touchedAlerts = new Map<string, Alert>();
  /** Month totals moved by drained changes, per client and period. */
  private readonly moved: MonthTotals = new Map();

  constructor(private readonly ctx: RatingContext) {
    this.memory = ctx.state === undefined ? new MemoryState() : null;
    this.state = ctx.state ?? this.memory!;
  }

  /** Rates a CDR; null if this cdr_id was rated already (idempotency). */
  rate(cdr: Cdr): RatedCall | null {
    if (this.pending.has(cdr.cdrId) || this.memory?.isBilled(cdr.cdrId)) return null;
    const call = this.classify(cdr);
    const counters = this.countersFor(call.shares.counted);
    const replays = this.monthsToVisit(counters, call);
    this.markPending(call);
    for (let i = 0; i < counters.length; i++) {
      const pc = counters[i]!;
      const month = replays?.get(pc);
      if (month !== undefined && this.ctx.deferVisits === true) this.deferred.set(pc, month);
      if (this.deferred.has(pc)) {
        // priced by the drain's visit
      } else if (month === undefined) {
        const seconds = pc.counter.add(call);
        if (seconds !== 0) setSeconds(call.shares, i, seconds);
      } else this.visit(pc, month, call);
      this.dirty.add(pc);
      if (!this.deferred.has(pc)) this.updateAlert(pc);
    }
    this.settle(call);
    return call;
  }

  /**
   * What changed since the last drain: calls to bill (`previous` null) or to adjust (`previous` is what
   * invoicing was told), alerts raised or updated, and counters to store. Drained prices count as billed:
   * the shell writes them before it feeds more CDRs, or dies and starts again from the store.
   */
  drain(): Drained {
    for (const [pc, month] of this.deferred) {
      this.visit(pc, month, null);
      this.updateAlert(pc);
    }
    this.deferred = new Map();
    const changes: PriceChange[] = [];
    const restated: RatedCall[] = [];
    const moved: MonthTotals = new Map();
    for (const call of this.pending.values()) {
      if (call.billed !== null && call.billed.equals(call.amount)) {
        restated.push(call);
        continue;
      }
      changes.push({ call, previous: call.billed });
      // Most calls are billed nothing, for the first time: no arithmetic for them.
      const delta = call.billed === null ? call.amount : call.amount.minus(call.billed);
      addTo(moved, call, delta);
      addTo(this.moved, call, delta);
      call.billed = call.amount;
    }
    const counters = [...this.dirty].map(counterRow);
    const alerts = [...this.touchedAlerts.values()];
    this.memory?.remember(changes.map((c) => c.call), counters);
    this.pending = new Map();
    this.pendingOf = new Map();
    this.revived = new Map();
    this.dirty = new Set();
    this.touchedAlerts = new Map();
    return { changes, restated, alerts, counters, moved };
  }

  /** How every drained change so far moved month totals (for a rater that started the month: its totals). */
  totals(): MonthTotals {
    return this.moved;
  }

  /** Counters in memory, for the shell's memory budget. */
  get counterCount(): number {
    return this.counters.size;
  }

  countersPerClient(): Map<string, number> {
    const n = new Map<string, number>();
    for (const { def } of this.counters.values()) n.set(def.clientId, (n.get(def.clientId) ?? 0) + 1);
    return n;
  }

  /** Forgets counters not changed since the last drain: they are reloaded from the store when needed. */
  forget(keep: (clientId: string) => boolean = () => false): void {
    for (const [key, pc] of this.counters) if (!this.dirty.has(pc) && !keep(pc.def.clientId)) this.counters.delete(key);
  }

  /** The call as rated now, from a stored form (for `cdr explain` and re-pricing). */
  revive(stored: StoredCall): RatedCall | null {
    if (!this.ctx.plans.has(stored.cdr.subscriber.planId)) return null;
    const call = this.classify(stored.cdr);
    const shares = new Map(parseShares(stored.shares));
    call.shares.counted.forEach((def, i) => setSeconds(call.shares, i, shares.get(def.clause) ?? 0));
    call.billed = stored.billed;
    this.settle(call);
    return call;
  }

  private classify(cdr: Cdr): RatedCall {
    const plan = this.ctx.plans.get(cdr.subscriber.planId);
    if (plan === undefined) throw new UnknownPlan(cdr.subscriber.planId, cdr.subscriber.account);
    const dest = this.ctx.numbering.classify(cdr.callee);
    const local = LocalDays.of(plan.calendar).at(cdr.startMs);
    const call: RatedCall = {
      cdrId: cdr.cdrId,
      startMs: cdr.startMs,
      answerMs: cdr.answerMs,
      endMs: cdr.endMs,
      callee: cdr.callee,
      billableSeconds: cdr.billableSeconds,
      cdr,
      period: local.period,
      plan,
      dest,
      entry: plan.tariffTable.lookup(cdr.callee, dest.cls, local.day),
      fixedReason: fixedReason(plan, cdr, dest),
      shares: NO_SHARES,
      amount: ZERO,
      inBundle: false,
      reason: '',
      pricedSeconds: 0,
      billed: null,
    };
    const counted = countersOf(call, this.ctx.usersOf);
    if (counted.length > 0) call.shares = { counted, seconds: null };
    return call;
  }

  /** The call's counters, loaded or created; StateNeeded if a saved one is not at hand. */
  private countersFor(defs: readonly CounterDef[]): PlanCounter[] {
    const out: PlanCounter[] = [];
    let missing: string[] | null = null;
    for (const def of defs) {
      let pc = this.counters.get(def.key);
      if (pc === undefined) {
        const saved = this.state.counter(def.key, def.clientId, def.period);
        if (saved === undefined) {
          (missing ??= []).push(def.key);
          continue;
        }
        pc = { def, counter: new MonthlyCounter(def.logic, def.threshold, def.rule.sanction, saved ?? undefined), alert: null };
        this.counters.set(def.key, pc);
      }
      out.push(pc);
    }
    if (missing !== null) throw new StateNeeded(missing, []);
    return out;
  }

  /** The months the call makes this rater visit again (null: none, most calls), with their billed calls; StateNeeded if not at hand. */
  private monthsToVisit(counters: PlanCounter[], call: RatedCall): Map<PlanCounter, readonly (StoredCall | RatedCall)[]> | null {
    let visits: Map<PlanCounter, readonly (StoredCall | RatedCall)[]> | null = null;
    let missing: Map<string, ScopeMonth> | null = null;
    for (const pc of counters) {
      if (this.deferred.has(pc) || !pc.counter.needsMonth(call)) continue;
      const scope = scopeMonthOf(pc.def);
      const calls = this.state.calls(scope);
      if (calls === undefined) (missing ??= new Map()).set(scopeMonthKey(scope), scope);
      else (visits ??= new Map()).set(pc, calls);
    }
    if (missing !== null) throw new StateNeeded([], [...missing.values()]);
    return visits;
  }

  /** Visits a counter's month again: the ledger's calls, those since the last drain, and the new one (if any). */
  private visit(pc: PlanCounter, billed: readonly (StoredCall | RatedCall)[], call: RatedCall | null): void {
    const key = pc.def.key;
    const members = new Map<string, RatedCall>();
    for (const stored of billed) {
      if (this.pending.has(stored.cdr.cdrId)) continue;
      const c = 'plan' in stored ? stored : this.revivedOnce(stored);
      if (c !== null && shareIndex(c, key) >= 0) members.set(c.cdrId, c);
    }
    for (const c of this.pendingOf.get(key)?.values() ?? []) members.set(c.cdrId, c);
    if (call !== null) members.set(call.cdrId, call);
    const priced = pc.counter.visit([...members.values()]);
    for (const [member, seconds] of priced) {
      const i = shareIndex(member, key);
      const before = member.shares.seconds?.[i] ?? 0;
      setSeconds(member.shares, i, seconds);
      if (member !== call && before !== seconds) {
        this.markPending(member);
        this.settle(member);
      }
    }
  }

  /** A revived call is the same object for every visit until the drain, so that what one visit moved the next sees. */
  private revivedOnce(stored: StoredCall): RatedCall | null {
    let c = this.revived.get(stored.cdr.cdrId);
    if (c === undefined) this.revived.set(stored.cdr.cdrId, (c = this.revive(stored)));
    return c;
  }

  /** A call's counters are known from its classification: it is indexed under each of them. */
  private markPending(call: RatedCall): void {
    this.pending.set(call.cdrId, call);
    for (const def of call.shares.counted) {
      let calls = this.pendingOf.get(def.key);
      if (calls === undefined) this.pendingOf.set(def.key, (calls = new Map()));
      calls.set(call.cdrId, call);
    }
  }

  /** Sets the call's price from its fixed reason or from the counter that prices most of it. */
  private settle(call: RatedCall): void {
    if (call.fixedReason !== null) {
      const priced = FREE_REASONS.has(call.fixedReason) ? 0 : call.billableSeconds;
      call.pricedSeconds = priced;
      call.amount = priceSeconds(call.entry, priced, true);
      call.inBundle = false;
      call.reason = call.fixedReason;
      return;
    }
    const { counted, seconds } = call.shares;
    let best = -1;
    if (seconds !== null) for (let i = 0; i < seconds.length; i++) if (seconds[i]! > (best < 0 ? 0 : seconds[best]!)) best = i;
    if (best < 0) {
      call.pricedSeconds = 0;
      call.amount = ZERO;
      call.inBundle = true;
      call.reason = 'bundle';
      return;
    }
    const def = counted[best]!;
    const priced = Math.min(seconds![best]!, call.billableSeconds);
    call.pricedSeconds = priced;
    call.amount = priceSeconds(call.entry, priced, priced >= call.billableSeconds, def.multiplier);
    call.inBundle = false;
    call.reason = def.rule.ruleId;
  }

  private updateAlert(pc: PlanCounter): void {
    const crossing = pc.counter.crossing;
    if (crossing === null) return;
    const { def } = pc;
    pc.alert = {
      alertId: pc.alert?.alertId ?? alertId(def.rule.ruleId, def.scopeKey, def.period),
      rule: def.rule.ruleId,
      severity: def.rule.severity,
      clientId: def.clientId,
      siteId: def.siteId,
      userId: def.userId,
      firstSeenMs: crossing.atMs,
      lastSeenMs: pc.counter.lastSeenMs,
      value: pc.counter.value,
      threshold: pc.counter.threshold,
      cdrIds: pc.counter.excessCdrIds(ALERT_SAMPLE_SIZE),
      message: describeCounter(pc),
    };
    this.touchedAlerts.set(pc.alert.alertId, pc.alert);
  }

}

function addTo(totals: MonthTotals, call: RatedCall, delta: Money): void {
  const clientId = call.cdr.subscriber.clientId;
  let periods = totals.get(clientId);
  if (periods === undefined) totals.set(clientId, (periods = new Map()));
  const total = periods.get(call.period);
  if (total === undefined) periods.set(call.period, delta.isZero() ? ZERO : delta);
  else if (!delta.isZero()) periods.set(call.period, total.plus(delta));
}

/** A call's shares as the ledger stores them. */
export function sharesOf(call: RatedCall): string {
  const { counted, seconds } = call.shares;
  if (seconds === null) return ''; // most calls: no counter prices any of them
  return formatShares(counted.map((d, i) => [d.clause, seconds[i]!] as [number | 'pool', number]));
}

/** A call's shares one by one, with the clause each comes from (for explanations). */
export function callShares(call: RatedCall): Share[] {
  const { counted, seconds } = call.shares;
  return counted.map((d, i) => ({ key: d.key, clause: d.clause, rule: d.rule, multiplier: d.multiplier, seconds: seconds?.[i] ?? 0 }));
}

const NO_SHARES: Shares = Object.freeze({ counted: Object.freeze([]), seconds: null });

function shareIndex(call: RatedCall, key: string): number {
  return call.shares.counted.findIndex((d) => d.key === key);
}

function setSeconds(shares: Shares, i: number, seconds: number): void {
  if (shares.seconds === null) {
    if (seconds === 0) return;
    shares.seconds = shares.counted.map(() => 0);
  }
  shares.seconds[i] = seconds;
}


function counterRow({ def, counter }: PlanCounter): CounterRow {
  return {
    key: def.key,
    clientId: def.clientId,
    siteId: def.siteId,
    userId: def.userId,
    scope: def.rule.scope,
    scopeKey: def.scopeKey,
    period: def.period,
    rule: def.rule.ruleId,
    value: counter.value,
    threshold: counter.threshold,
    crossedAtMs: counter.crossing?.atMs ?? null,
    saved: counter.save(),
  };
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
