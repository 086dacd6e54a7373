/**
 * A fair-use counter for one scope (user, line, site or client) and one calendar month, with the
 * sanction its plan applies on crossing.
 *
 * Order independence: what a call costs is a function of the *set* of calls in the month, visited in
 * event-time order (ties broken by cdr_id), never of the order they arrived in. A call that arrives in
 * order is one step of the counter; a late one (re-ordered export, roaming CDR up to 90 days late)
 * makes the month be visited again, and the calls whose share changed are reported so that the
 * rater re-prices them (adjustment lines for those already billed).
 */
import type { SanctionScope } from '../plan.js';
import type { MeteredCall, MetricLogic } from './metered-call.js';

export interface CounterMember<C extends MeteredCall = MeteredCall> {
  call: C;
  orderKey: number;
  /** Seconds of this call the sanction prices (0: within the allowance). */
  pricedSeconds: number;
}

export interface Crossing {
  cdrId: string;
  atMs: number;
}

export class MonthlyCounter<C extends MeteredCall = MeteredCall, S = unknown> {
  private readonly members: CounterMember<C>[] = [];
  private state: S;
  private crossingIndex = -1;

  constructor(
    private readonly logic: MetricLogic<S>,
    readonly threshold: number,
    private readonly sanction: SanctionScope,
  ) {
    this.state = logic.init();
  }

  get value(): number {
    return this.logic.value(this.state);
  }

  get crossing(): Crossing | null {
    const m = this.members[this.crossingIndex];
    return m === undefined ? null : { cdrId: m.call.cdrId, atMs: m.orderKey };
  }

  get lastSeenMs(): number {
    return this.members.length === 0 ? 0 : this.members[this.members.length - 1]!.orderKey;
  }

  get size(): number {
    return this.members.length;
  }

  /** A sample of the calls beyond the threshold, for the alert. */
  excessCdrIds(limit: number): string[] {
    const ids: string[] = [];
    for (const m of this.members) {
      if (m.pricedSeconds > 0) ids.push(m.call.cdrId);
      if (ids.length >= limit) break;
    }
    return ids;
  }

  /** Adds a call; returns the members whose priced seconds changed, the new one included. */
  add(call: C): CounterMember<C>[] {
    const member: CounterMember<C> = { call, orderKey: this.logic.orderKey(call), pricedSeconds: 0 };
    const last = this.members[this.members.length - 1];
    if (last === undefined || before(last, member)) {
      this.members.push(member);
      return this.stepLast();
    }
    this.members.splice(this.insertionIndex(member), 0, member);
    return this.revisit(member);
  }

  /** The usual case: the call is the latest of the month so far. */
  private stepLast(): CounterMember<C>[] {
    const i = this.members.length - 1;
    const member = this.members[i]!;
    const excess = this.logic.step(this.state, member.call, this.threshold);
    const wasCrossed = this.crossingIndex >= 0;
    if (!wasCrossed && this.logic.value(this.state) > this.threshold) this.crossingIndex = i;
    member.pricedSeconds = this.sanctioned(excess, member, wasCrossed);
    if (this.sanction === 'retroactive_month' && !wasCrossed && this.crossingIndex >= 0) {
      const changed = [member];
      for (const m of this.members) {
        if (m !== member && m.pricedSeconds !== m.call.billableSeconds) {
          m.pricedSeconds = m.call.billableSeconds;
          changed.push(m);
        }
      }
      return changed;
    }
    return [member];
  }

  /** Visits the whole month again in event-time order after a late call. */
  private revisit(late: CounterMember<C>): CounterMember<C>[] {
    const previous = this.members.map((m) => m.pricedSeconds);
    this.state = this.logic.init();
    this.crossingIndex = -1;
    const excess: number[] = [];
    this.members.forEach((m, i) => {
      excess.push(this.logic.step(this.state, m.call, this.threshold));
      const wasCrossed = this.crossingIndex >= 0;
      if (!wasCrossed && this.logic.value(this.state) > this.threshold) this.crossingIndex = i;
      m.pricedSeconds = this.sanctioned(excess[i]!, m, wasCrossed);
    });
    if (this.sanction === 'retroactive_month' && this.crossingIndex >= 0) {
      for (const m of this.members) m.pricedSeconds = m.call.billableSeconds;
    }
    return this.members.filter((m, i) => m === late || previous[i] !== m.pricedSeconds);
  }

  private sanctioned(excess: number, member: CounterMember<C>, crossedBefore: boolean): number {
    if (this.sanction === 'suspend_unlimited' && crossedBefore) return member.call.billableSeconds;
    if (this.sanction === 'retroactive_month' && this.crossingIndex >= 0) return member.call.billableSeconds;
    return excess;
  }

  private insertionIndex(member: CounterMember<C>): number {
    let lo = 0;
    let hi = this.members.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(this.members[mid]!, member)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function before(a: CounterMember, b: CounterMember): boolean {
  return a.orderKey < b.orderKey || (a.orderKey === b.orderKey && a.call.cdrId < b.call.cdrId);
}
