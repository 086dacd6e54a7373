/**
 * The 150-numbers rule (R-FAIR-DISTINCT): « plus de 150 numéros différents » per user, line or channel
 * in a calendar month. Exact set, never a sketch: the threshold is small and a wrong count bills a
 * customer. Numbers are ranked in the order they were first called; a call to a number ranked beyond
 * the threshold is the excess, and calling again one of the first 150 stays within.
 */
import type { MeteredCall, MetricLogic } from './metered-call.js';

export interface DistinctNumbersState {
  rankOf: Map<string, number>;
}

export const distinctNumbers: MetricLogic<DistinctNumbersState> = {
  init: () => ({ rankOf: new Map() }),
  orderKey: (call) => call.startMs,
  step(state, call, threshold) {
    let rank = state.rankOf.get(call.callee);
    if (rank === undefined) {
      rank = state.rankOf.size + 1;
      state.rankOf.set(call.callee, rank);
    }
    return rank > threshold ? call.billableSeconds : 0;
  },
  value: (state) => state.rankOf.size,
};
