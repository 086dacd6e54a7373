/**
 * More than 3 simultaneous calls per user (R-FAIR-SIMUL-3). Calls are visited by the time they take
 * the line (answer, or setup if the plan counts ringing); a call that finds `threshold` others still
 * in progress is the offending one (the 4th), and only it.
 *
 * The state is the calls near the present (those that ended less than an hour before the latest one
 * took the line), each with how many calls were in progress when it took the line: enough to place a
 * call that arrives out of order within that hour without reading the month back.
 */
import type { MeteredCall, MetricLogic } from './metered-call.js';

/** A call of the recent window: takes the line at `at`, ends at `end`, found `count` calls in progress (itself included). */
interface Recent {
  at: number;
  end: number;
  id: string;
  count: number;
}

export interface ConcurrentCallsState {
  recent: Recent[];
  peak: number;
}

/** How far back a call may arrive out of order and still be placed from the state alone. */
const WINDOW_MS = 3_600_000;

export function concurrentCalls(fromSetup: boolean): MetricLogic<ConcurrentCallsState> {
  const takesLineAt = (call: MeteredCall): number => (fromSetup ? call.startMs : (call.answerMs ?? call.startMs));
  const before = (r: Recent, at: number, id: string) => r.at < at || (r.at === at && r.id < id);
  /** Calls in progress when a call taking the line at `at` arrives, itself included. */
  const inProgressAt = (state: ConcurrentCallsState, at: number, id: string) => 1 + state.recent.filter((r) => before(r, at, id) && r.end > at).length;
  const prune = (state: ConcurrentCallsState, latest: number) => {
    if (state.recent.length > 8 || state.recent[0]?.end! <= latest - WINDOW_MS) state.recent = state.recent.filter((r) => r.end > latest - WINDOW_MS);
  };
  const insert = (state: ConcurrentCallsState, r: Recent) => {
    let i = state.recent.length;
    while (i > 0 && !before(state.recent[i - 1]!, r.at, r.id)) i--;
    state.recent.splice(i, 0, r);
    state.peak = Math.max(state.peak, r.count);
  };
  return {
    init: () => ({ recent: [], peak: 0 }),
    orderKey: takesLineAt,
    step(state, call, threshold) {
      const at = takesLineAt(call);
      prune(state, at);
      const count = inProgressAt(state, at, call.cdrId);
      insert(state, { at, end: call.endMs, id: call.cdrId, count });
      return count > threshold ? call.billableSeconds : 0;
    },
    value: (state) => state.peak,
    wouldExceed: (state, call, threshold) => inProgressAt(state, takesLineAt(call), call.cdrId) > threshold,
    lateIsLocal(state, call, threshold) {
      const at = takesLineAt(call);
      const latest = state.recent.at(-1)?.at ?? at;
      if (at < latest - WINDOW_MS) return false;
      // The calls it overlaps that come after it each find one more call in progress: local while none crosses.
      return !state.recent.some((r) => !before(r, at, call.cdrId) && r.at < call.endMs && r.count === threshold);
    },
    stepLate(state, call, threshold) {
      const at = takesLineAt(call);
      for (const r of state.recent) if (!before(r, at, call.cdrId) && r.at < call.endMs) r.count++;
      const count = inProgressAt(state, at, call.cdrId);
      insert(state, { at, end: call.endMs, id: call.cdrId, count });
      for (const r of state.recent) state.peak = Math.max(state.peak, r.count);
      return count > threshold ? call.billableSeconds : 0;
    },
    save: (state) => ({ p: state.peak, r: state.recent.map((r) => [r.at, r.end, r.id, r.count]) }),
    load(saved) {
      const s = saved as { p: number; r: [number, number, string, number][] };
      return { peak: s.p, recent: s.r.map(([at, end, id, count]) => ({ at, end, id, count })) };
    },
  };
}
