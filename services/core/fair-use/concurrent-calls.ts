/**
 * More than 3 simultaneous calls per user (R-FAIR-SIMUL-3). Calls are visited by the time they take
 * the line (answer, or setup if the plan counts ringing); a call that finds `threshold` others still
 * in progress is the offending one (the 4th), and only it.
 */
import type { MeteredCall, MetricLogic } from './metered-call.js';

export interface ConcurrentCallsState {
  /** End times of the calls in progress at the last visited start. */
  inProgress: number[];
  peak: number;
  fromSetup: boolean;
}

export function concurrentCalls(fromSetup: boolean): MetricLogic<ConcurrentCallsState> {
  const takesLineAt = (call: MeteredCall): number => (fromSetup ? call.startMs : (call.answerMs ?? call.startMs));
  return {
    init: () => ({ inProgress: [], peak: 0, fromSetup }),
    orderKey: takesLineAt,
    step(state, call, threshold) {
      const at = takesLineAt(call);
      state.inProgress = state.inProgress.filter((end) => end > at);
      state.inProgress.push(call.endMs);
      state.peak = Math.max(state.peak, state.inProgress.length);
      return state.inProgress.length > threshold ? call.billableSeconds : 0;
    },
    value: (state) => state.peak,
  };
}
