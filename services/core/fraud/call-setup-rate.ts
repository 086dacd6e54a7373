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
  // A window of one second touches at most the bucket before or after this one. Windows start at a
  // setup u of the last second, earliest first; the first of equal u counts the most.
  const around = { earlier: state.buckets.get(bucket - 1), times, later: state.buckets.get(bucket + 1) };
  const best = { windowStart: at, count: 0 };
  if (around.earlier !== undefined) busiestFrom(around.earlier, around, at, best);
  busiestFrom(times, around, at, best);
  return best;
}

interface Around {
  earlier: number[] | undefined;
  times: number[];
  later: number[] | undefined;
}

/** Raises `best` to the busiest window starting at a setup of `list` in the second up to `at`. */
function busiestFrom(list: number[], around: Around, at: number, best: { windowStart: number; count: number }): void {
  for (let i = lowerBound(list, at - WINDOW_MS + 1); i < list.length && list[i]! <= at; i++) {
    const u = list[i]!;
    const count = countFrom(around.earlier, u) + countFrom(around.times, u) + countFrom(around.later, u);
    if (count > best.count) {
      best.windowStart = u;
      best.count = count;
    }
  }
}

/** Setups of a bucket in the second from `u`. */
function countFrom(list: number[] | undefined, u: number): number {
  return list === undefined ? 0 : lowerBound(list, u + WINDOW_MS) - lowerBound(list, u);
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
