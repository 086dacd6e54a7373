/**
 * The rater worker's memory for late CDRs: the calls of scope months it fetched are kept between batches,
 * up to its share of --state-budget, and past that dropped (fetched again by the next late call).
 */
import { describe, expect, it } from 'vitest';
import type { ScopeMonth } from '../../services/core/rating/plan-counters.js';
import type { StoredCall } from '../../services/core/rating/rating-state.js';
import { Money } from '../../services/core/money.js';
import type { RatingStore } from '../../services/store/rating-store.js';
import { PgRatingState } from '../../services/stream/stage-state.js';

const scope = (userId: string): ScopeMonth => ({ clientId: 'C1', period: '2026-03', scope: 'user', scopeId: userId });

/** A store whose every scope month holds `size` calls, counting how often it was read. */
function storeOf(size: number) {
  const reads: string[] = [];
  const store = {
    async callsOf(s: ScopeMonth): Promise<StoredCall[]> {
      reads.push(s.scopeId);
      return Array.from({ length: size }, (_, i) => ({ cdr: { cdrId: `${s.scopeId}-${i}` }, billed: new Money(0), shares: '' }) as unknown as StoredCall);
    },
  } as unknown as RatingStore;
  return { store, reads };
}

describe('calls kept for late CDRs in the rater worker', () => {
  it('keeps fetched scope months up to the limit, and at the limit still keeps them', async () => {
    const { store, reads } = storeOf(5);
    const state = new PgRatingState(store, 10);
    await state.fetchScopes([scope('U1')]);
    await state.fetchScopes([scope('U2')]); // 10 calls kept: at the limit, not past it
    await state.fetchScopes([scope('U3')]);
    expect(state.calls(scope('U1'))).toHaveLength(5);
    expect(state.calls(scope('U2'))).toHaveLength(5);
    expect(state.calls(scope('U3'))).toHaveLength(5);
    expect(reads).toEqual(['U1', 'U2', 'U3']);
  });

  it('past the limit starts again empty: a dropped month is asked for again, not served stale', async () => {
    const { store, reads } = storeOf(6);
    const state = new PgRatingState(store, 10);
    await state.fetchScopes([scope('U1')]);
    await state.fetchScopes([scope('U2')]); // 12 kept, past 10
    await state.fetchScopes([scope('U3')]);
    expect(state.calls(scope('U1'))).toBeUndefined();
    expect(state.calls(scope('U2'))).toBeUndefined();
    expect(state.calls(scope('U3'))).toHaveLength(6);
    expect(reads).toEqual(['U1', 'U2', 'U3']);
  });
});
