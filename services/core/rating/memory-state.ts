/**
 * A RatingState in memory: the rater's own when no store is given (tests, a one-off rating). It keeps
 * every drained call, so it is for small months only; the runtimes keep theirs in a store.
 */
import type { SavedCounter } from '../fair-use/monthly-counter.js';
import type { ScopeMonth } from './plan-counters.js';
import type { RatingState } from './rating-state.js';
import { scopeMonthKey } from './rating-state.js';
import type { CounterRow, RatedCall } from './rater.js';

export class MemoryState implements RatingState {
  private readonly saved = new Map<string, SavedCounter>();
  private readonly byScope = new Map<string, Map<string, RatedCall>>();
  private readonly billed = new Set<string>();

  counter(key: string): SavedCounter | null {
    return this.saved.get(key) ?? null;
  }

  calls(scope: ScopeMonth): readonly RatedCall[] {
    return [...(this.byScope.get(scopeMonthKey(scope))?.values() ?? [])];
  }

  isBilled(cdrId: string): boolean {
    return this.billed.has(cdrId);
  }

  remember(calls: RatedCall[], counters: CounterRow[]): void {
    for (const c of counters) this.saved.set(c.key, c.saved);
    for (const call of calls) {
      this.billed.add(call.cdrId);
      const s = call.cdr.subscriber;
      for (const scope of ['user', 'line', 'site', 'client'] as const) {
        const scopeId = scope === 'user' ? s.userId : scope === 'line' ? s.account : scope === 'site' ? s.siteId : s.clientId;
        const key = scopeMonthKey({ clientId: s.clientId, period: call.period, scope, scopeId });
        let calls = this.byScope.get(key);
        if (calls === undefined) this.byScope.set(key, (calls = new Map()));
        calls.set(call.cdrId, call);
      }
    }
  }
}
