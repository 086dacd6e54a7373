/**
 * The stages' state in a worker: what the rater and the detectors read back from PostgreSQL, fetched per
 * batch for the client months and clients it touches, and evicted least recently used so that a worker
 * stays within its memory budget whatever the month holds.
 */
import type { SavedCounter } from '../core/fair-use/monthly-counter.js';
import type { FraudStateSource, SavedFraudState } from '../core/fraud/fraud-detector.js';
import type { ScopeMonth } from '../core/rating/plan-counters.js';
import { scopeMonthKey, type RatingState, type StoredCall } from '../core/rating/rating-state.js';
import { Money } from '../core/money.js';
import { sharesOf, type RatedCall } from '../core/rating/rater.js';
import { billedAmount, type RatingStore } from '../store/rating-store.js';

/** Roughly what one counter costs in memory, to turn a budget in MB into a count (measured by `make bench`). */
export const BYTES_PER_COUNTER = 2048;

/** What one billed call kept for late calls costs in memory (measured on the bench's month: about 850 bytes). */
export const BYTES_PER_CACHED_CALL = 1024;

/** A RatingState over PostgreSQL: what a batch needs is fetched before it is rated, the rest on demand. */
export class PgRatingState implements RatingState {
  private readonly saved = new Map<string, SavedCounter>();
  /** Client months whose counters are at hand (fetched, or in the rater's memory). */
  private readonly warm = new Set<string>();
  /** Scope months fetched, kept equal to the store by `absorb` (this worker is the only writer of its clients). */
  private readonly scopes = new Map<string, Map<string, StoredCall>>();
  private cachedCalls = 0;

  /**
   * `maxCachedCalls`: billed calls of scope months kept between batches. Late calls keep coming to the same
   * scopes, and fetching a client's month again for every batch made each batch cost the month; past this
   * many calls the cache starts again empty, so that it stays within its share of the worker's budget.
   */
  constructor(private readonly store: RatingStore, private readonly maxCachedCalls: number) {}

  counter(key: string, clientId: string, period: string): SavedCounter | null | undefined {
    const saved = this.saved.get(key);
    if (saved !== undefined) return saved;
    return this.warm.has(`${clientId}|${period}`) ? null : undefined;
  }

  calls(scope: ScopeMonth): StoredCall[] | undefined {
    const calls = this.scopes.get(scopeMonthKey(scope));
    return calls === undefined ? undefined : [...calls.values()];
  }

  /** Fetches the counters of the client months not at hand. */
  async prefetch(clientPeriods: { clientId: string; period: string }[]): Promise<void> {
    const cold = clientPeriods.filter((c) => !this.warm.has(`${c.clientId}|${c.period}`));
    if (cold.length === 0) return;
    for (const [key, saved] of await this.store.countersOf(cold)) this.saved.set(key, saved);
    for (const c of cold) this.warm.add(`${c.clientId}|${c.period}`);
  }

  async fetchScopes(scopes: ScopeMonth[]): Promise<void> {
    if (this.cachedCalls > this.maxCachedCalls) this.dropScopes(() => true);
    for (const s of scopes) {
      const calls = await this.store.callsOf(s);
      this.scopes.set(scopeMonthKey(s), new Map(calls.map((c) => [c.cdr.cdrId, c])));
      this.cachedCalls += calls.length;
    }
  }

  /** After a batch: the rater holds the counters it loaded. */
  settled(): void {
    this.saved.clear();
  }

  /**
   * What a drain wrote, as the store now has it, into the scope months kept. Called only with a drain
   * that is then written: a batch that fails resets the stage, and this state with it.
   */
  absorb(calls: RatedCall[]): void {
    for (const call of calls) {
      const s = call.cdr.subscriber;
      const stored: StoredCall = { cdr: call.cdr, billed: new Money(billedAmount(call, call.amount)), shares: sharesOf(call) };
      for (const [scope, scopeId] of [['user', s.userId], ['line', s.account], ['site', s.siteId], ['client', s.clientId]] as const) {
        const month = this.scopes.get(scopeMonthKey({ clientId: s.clientId, period: call.period, scope, scopeId }));
        if (month === undefined) continue;
        if (!month.has(call.cdrId)) this.cachedCalls++;
        month.set(call.cdrId, stored);
      }
    }
  }

  /** Client months evicted from the rater are fetched again when seen. */
  cool(clientId: string): void {
    for (const k of this.warm) if (k.startsWith(`${clientId}|`)) this.warm.delete(k);
    this.dropScopes((k) => k.startsWith(`${clientId}|`));
  }

  reset(): void {
    this.saved.clear();
    this.warm.clear();
    this.dropScopes(() => true);
  }

  private dropScopes(which: (key: string) => boolean): void {
    for (const [k, calls] of this.scopes) {
      if (!which(k)) continue;
      this.cachedCalls -= calls.size;
      this.scopes.delete(k);
    }
  }
}

export class PgFraudState implements FraudStateSource {
  private readonly saved = new Map<string, SavedFraudState | null>();

  constructor(private readonly store: RatingStore) {}

  load(clientId: string): SavedFraudState | null | undefined {
    return this.saved.get(clientId);
  }

  async prefetch(clientIds: string[]): Promise<void> {
    const cold = [...new Set(clientIds)].filter((c) => !this.saved.has(c));
    if (cold.length === 0) return;
    const found = await this.store.fraudStatesOf(cold);
    for (const c of cold) this.saved.set(c, found.get(c) ?? null);
  }

  /** The detector holds the clients it loaded; the store is read again only for a client it forgot. */
  settled(): void {
    this.saved.clear();
  }
}

/** Least recently used clients, for eviction. */
export class ClientRecency {
  private readonly order = new Map<string, number>();
  private tick = 0;

  touch(clientId: string): void {
    this.order.delete(clientId);
    this.order.set(clientId, ++this.tick);
  }

  /** Oldest first. */
  *oldest(): Generator<string> {
    yield* this.order.keys();
  }

  drop(clientId: string): void {
    this.order.delete(clientId);
  }

  clear(): void {
    this.order.clear();
  }
}
