/**
 * Seconds of calls in a month against an allowance: the 40 h rule (R-FAIR-DURATION-40H), WITECH's
 * 2 h of forwarding (R-FAIR-FWD-2H-WITECH) and Orange's pooled minutes (R-PLAN-ORANGE-500). The call
 * that crosses the allowance is split: the seconds up to it are within, the rest is the excess.
 */
import type { MetricLogic } from './metered-call.js';

export interface CallSecondsState {
  total: number;
}

export const callSeconds: MetricLogic<CallSecondsState> = {
  init: () => ({ total: 0 }),
  orderKey: (call) => call.startMs,
  step(state, call, threshold) {
    const before = state.total;
    state.total += call.billableSeconds;
    return Math.max(0, state.total - threshold) - Math.max(0, before - threshold);
  },
  value: (state) => state.total,
  wouldExceed: (state, call, threshold) => state.total + call.billableSeconds > threshold,
  // Below the allowance nobody's excess moves; once it is reached, a late call moves the crossing point.
  lateIsLocal: (state, call, threshold) => state.total + call.billableSeconds <= threshold,
  stepLate(state, call) {
    state.total += call.billableSeconds;
    return 0;
  },
  save: (state) => state.total,
  load: (saved) => ({ total: Number(saved) }),
};
