/**
 * More than N call setups in one second (R-CAP-CAPS-10: « 10 sessions par seconde »), as a sliding
 * one-second window in event time. Setups are kept sorted, so a CDR that arrives late is counted in
 * the second it happened in, and the windows it joins are checked again.
 */

const WINDOW_MS = 1000;
/** Setups older than this behind the newest are forgotten: a dialler's day fits, a month does not. */
const HORIZON_MS = 86_400_000;

export interface SetupWindowState {
  times: number[];
  newest: number;
}

export function newSetupWindow(): SetupWindowState {
  return { times: [], newest: -Infinity };
}

/**
 * Adds a setup and returns the busiest one-second window that contains it: its start and its count.
 * A window [u, u + 1 s) is counted for every setup u less than a second before the new one.
 */
export function addSetup(state: SetupWindowState, at: number): { windowStart: number; count: number } {
  const { times } = state;
  times.splice(upperBound(times, at), 0, at);
  if (at > state.newest) state.newest = at;
  if (times[0]! < state.newest - HORIZON_MS) times.splice(0, lowerBound(times, state.newest - HORIZON_MS));
  let best = { windowStart: at, count: 0 };
  for (let i = lowerBound(times, at - WINDOW_MS + 1); i < times.length && times[i]! <= at; i++) {
    const u = times[i]!;
    const count = lowerBound(times, u + WINDOW_MS) - i;
    if (count > best.count) best = { windowStart: u, count };
  }
  return best;
}

function lowerBound(a: number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(a: number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
