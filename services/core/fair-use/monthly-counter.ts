/**
 * A fair-use counter for one scope (user, line, site or client) and one calendar month, with the
 * sanction its plan applies on crossing.
 *
 * State is counters, not history: the counter keeps what deciding the next call needs (the metric's
 * state, the latest call visited, the crossing point, a sample of the calls beyond it). Most calls are
 * decided from it alone (`add`). A call that would move other calls' shares (one that arrives before the
 * latest and changes the ranking, or the crossing of a retroactive sanction) needs the month's calls:
 * `needsMonth` says so, and `visit` then replays the scope's month in event-time order.
 *
 * Order independence: what a call costs is a function of the *set* of calls in the month, visited in
 * event-time order (ties broken by cdr_id), never of the order they arrived in.
 */
import type { SanctionScope } from '../plan.js';
import type { MeteredCall, MetricLogic } from './metered-call.js';

export interface Crossing {
  cdrId: string;
  atMs: number;
}

/** How many calls beyond the threshold an alert cites. */
const SAMPLE = 20;

export interface SavedCounter {
  metric: unknown;
  last: [number, string] | null;
  size: number;
  crossing: [string, number] | null;
  excess: string[];
}

/**
 * One per scope and month for a month's worth of subscribers: the latest position is kept as two
 * fields rather than an object, and the excess sample only once a call is beyond the threshold.
 */
export class MonthlyCounter<S = unknown> {
  private state: S;
  /** Event-time key and cdr_id of the latest call visited; lastId null before the first. */
  private lastKey = 0;
  private lastId: string | null = null;
  private members = 0;
  private crossingAt: Crossing | null = null;
  private excess: string[] | null = null;

  constructor(
    private readonly logic: MetricLogic<S>,
    readonly threshold: number,
    readonly sanction: SanctionScope,
    saved?: SavedCounter,
  ) {
    this.state = saved === undefined ? logic.init() : logic.load(saved.metric);
    if (saved !== undefined) {
      if (saved.last !== null) [this.lastKey, this.lastId] = saved.last;
      this.members = saved.size;
      this.crossingAt = saved.crossing === null ? null : { cdrId: saved.crossing[0], atMs: saved.crossing[1] };
      this.excess = saved.excess.length === 0 ? null : saved.excess;
    }
  }

  get value(): number {
    return this.logic.value(this.state);
  }

  get crossing(): Crossing | null {
    return this.crossingAt;
  }

  get lastSeenMs(): number {
    return this.lastKey;
  }

  get size(): number {
    return this.members;
  }

  /** A sample of the calls beyond the threshold, for the alert. */
  excessCdrIds(limit: number): string[] {
    return this.excess === null ? [] : this.excess.slice(0, limit);
  }

  /** Whether this call can only be decided by visiting the month again (pure). */
  needsMonth(call: MeteredCall): boolean {
    if (this.isLatest(this.logic.orderKey(call), call.cdrId)) {
      // Crossing a retroactive sanction prices every earlier call of the month.
      return this.sanction === 'retroactive_month' && this.crossingAt === null && this.logic.wouldExceed(this.state, call, this.threshold);
    }
    // Before the latest call: local only if it moves no other share and no crossing point.
    if (this.crossingAt !== null && this.sanction !== 'excess_only') return true;
    if (this.sanction !== 'excess_only' && this.logic.wouldExceed(this.state, call, this.threshold)) return true;
    return !this.logic.lateIsLocal(this.state, call, this.threshold);
  }

  /** Adds a call that `needsMonth` said can be decided alone; returns its priced seconds. */
  add(call: MeteredCall): number {
    const key = this.logic.orderKey(call);
    this.members++;
    let priced: number;
    if (this.isLatest(key, call.cdrId)) {
      const wasCrossed = this.crossingAt !== null;
      const excess = this.logic.step(this.state, call, this.threshold);
      if (!wasCrossed && this.logic.value(this.state) > this.threshold) this.crossingAt = { cdrId: call.cdrId, atMs: key };
      priced = this.sanctioned(excess, call, wasCrossed);
      this.lastKey = key;
      this.lastId = call.cdrId;
    } else {
      priced = this.logic.stepLate(this.state, call, this.threshold);
      if (priced > 0 && (this.crossingAt === null || key < this.crossingAt.atMs)) this.crossingAt = { cdrId: call.cdrId, atMs: key };
    }
    if (priced > 0) this.sample(call.cdrId);
    return priced;
  }

  /**
   * Visits the whole month again, in event-time order: `calls` are all the calls this counter counts
   * (those of the ledger and the new one). Returns each call's priced seconds.
   */
  visit<C extends MeteredCall>(calls: C[]): Map<C, number> {
    const ordered = calls.map((call) => ({ call, position: { key: this.logic.orderKey(call), cdrId: call.cdrId } }));
    ordered.sort((a, b) => (before(a.position, b.position) ? -1 : before(b.position, a.position) ? 1 : 0));
    this.state = this.logic.init();
    this.crossingAt = null;
    this.excess = null;
    this.members = ordered.length;
    const priced = new Map<C, number>();
    for (const { call, position } of ordered) {
      const wasCrossed = this.crossingAt !== null;
      const excess = this.logic.step(this.state, call, this.threshold);
      if (!wasCrossed && this.logic.value(this.state) > this.threshold) this.crossingAt = { cdrId: call.cdrId, atMs: position.key };
      priced.set(call, this.sanctioned(excess, call, wasCrossed));
    }
    if (this.sanction === 'retroactive_month' && this.crossingAt !== null) for (const { call } of ordered) priced.set(call, call.billableSeconds);
    for (const { call } of ordered) if (priced.get(call)! > 0) this.sample(call.cdrId);
    const last = ordered.at(-1)?.position;
    this.lastKey = last?.key ?? 0;
    this.lastId = last?.cdrId ?? null;
    return priced;
  }

  save(): SavedCounter {
    return {
      metric: this.logic.save(this.state),
      last: this.lastId === null ? null : [this.lastKey, this.lastId],
      size: this.members,
      crossing: this.crossingAt === null ? null : [this.crossingAt.cdrId, this.crossingAt.atMs],
      excess: this.excess ?? [],
    };
  }

  /** Whether a call at this position comes after the latest one visited (or is the first). */
  private isLatest(key: number, cdrId: string): boolean {
    return this.lastId === null || this.lastKey < key || (this.lastKey === key && this.lastId < cdrId);
  }

  private sample(cdrId: string): void {
    if (this.excess === null) this.excess = [cdrId];
    else if (this.excess.length < SAMPLE && !this.excess.includes(cdrId)) this.excess.push(cdrId);
  }

  private sanctioned(excess: number, call: MeteredCall, crossedBefore: boolean): number {
    if (this.sanction === 'suspend_unlimited' && crossedBefore) return call.billableSeconds;
    if (this.sanction === 'retroactive_month' && this.crossingAt !== null) return call.billableSeconds;
    return excess;
  }
}

interface Position {
  key: number;
  cdrId: string;
}

function before(a: Position, b: Position): boolean {
  return a.key < b.key || (a.key === b.key && a.cdrId < b.cdrId);
}
