/**
 * More than N call setups in one second (R-CAP-CAPS-10: « 10 sessions par seconde »), as a sliding
 * one-second window in event time. Setups are kept sorted in hourly buckets, so a CDR that arrives late
 * (by seconds or by days) is counted in the second it happened in, and the windows it joins are checked
 * again; nothing is forgotten because some other CDR carried a later clock.
 */

const WINDOW_MS = 1000;
const BUCKET_MS = 3_600_000;

export interface SetupWindowState {
  buckets: Map<number, number[]>;
}

export function newSetupWindow(): SetupWindowState {
  return { buckets: new Map() };
}

/**
 * Adds a setup and returns the busiest one-second window that contains it: its start and its count.
 * A window [u, u + 1 s) is counted for every setup u less than a second before the new one.
 */
export function addSetup(state: SetupWindowState, at: number): { windowStart: number; count: number } {
  const bucket = Math.floor(at / BUCKET_MS);
  let times = state.buckets.get(bucket);
  if (times === undefined) {
    times = [];
    state.buckets.set(bucket, times);
  }
  times.splice(upperBound(times, at), 0, at);
  // A window of one second touches at most the bucket before or after this one.
  const around = [...(state.buckets.get(bucket - 1) ?? []).filter((t) => t > at - WINDOW_MS), ...times, ...(state.buckets.get(bucket + 1) ?? []).filter((t) => t < at + WINDOW_MS)];
  let best = { windowStart: at, count: 0 };
  for (let i = lowerBound(around, at - WINDOW_MS + 1); i < around.length && around[i]! <= at; i++) {
    const u = around[i]!;
    const count = lowerBound(around, u + WINDOW_MS) - i;
    if (count > best.count) best = { windowStart: u, count };
  }
  return best;
}

/** Drops the hours that ended before `ms`: a setup that late is no longer placed among its neighbours. */
export function forgetSetupsBefore(state: SetupWindowState, ms: number): void {
  for (const bucket of state.buckets.keys()) if ((bucket + 1) * BUCKET_MS < ms) state.buckets.delete(bucket);
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
