/**
 * The 150-numbers rule (R-FAIR-DISTINCT): « plus de 150 numéros différents » per user, line or channel
 * in a calendar month. Exact set, never a sketch: the threshold is small and a wrong count bills a
 * customer. Numbers are ranked in the order they were first called; a call to a number ranked beyond
 * the threshold is the excess, and calling again one of the first 150 stays within.
 *
 * The state is the set of numbers called, each with when it was first called and whether it ranks
 * beyond the threshold, packed in one typed array (16 bytes a number: one array rather than two saves
 * more per counter than the wider slot costs for a month's typical few dozen numbers) so that a busy
 * user's month stays small in memory and in the store.
 */
import type { MetricLogic } from './metered-call.js';

export interface DistinctNumbersState {
  /**
   * Two slots a number, sorted by the first: the number as a key (see keyOf) × 2, plus 1 when it ranks
   * beyond the threshold; then when it was first called, in whole seconds since 2000-01-01 rounded up
   * (see firstBefore).
   */
  numbers: Float64Array;
  size: number;
  /** Callees that are not digits (a SIP URI from a profile): rare, kept as text; null while there is none. */
  others: Map<string, { firstSec: number; beyond: boolean }> | null;
}

const EPOCH_2000 = 946_684_800_000;

/** E.164 numbers (`+33…`) as positive integers, short numbers (`3949`) as negative ones; null for anything else. */
function keyOf(callee: string): number | null {
  // Read in place: this runs on every counted call. 15 digits stay below 2^53, so the sum is exact.
  const plus = callee.charCodeAt(0) === 43; /* + */
  const from = plus ? 1 : 0;
  const digits = callee.length - from;
  if (digits === 0 || digits > 15 || (digits > 1 && !plus && callee.charCodeAt(0) === 48)) return null; /* 0 */
  let n = 0;
  for (let i = from; i < callee.length; i++) {
    const d = callee.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return null;
    n = n * 10 + d;
  }
  return plus ? n : -n - 1;
}

function calleeOf(key: number): string {
  return key >= 0 ? `+${key}` : String(-key - 1);
}

/** Seconds are rounded up, so that "first called before this call" is only ever said when it is true. */
function secondsOf(ms: number): number {
  return Math.ceil((ms - EPOCH_2000) / 1000);
}

function firstBefore(firstSec: number, ms: number): boolean {
  return firstSec * 1000 + EPOCH_2000 < ms;
}

/** A number already called, as `find` tells it without an object: first-called second × 2, + 1 when beyond. */
const NOT_SEEN = -Infinity;
const firstSecOf = (seen: number) => Math.floor(seen / 2);
const isBeyond = (seen: number) => seen - 2 * firstSecOf(seen) === 1;

/** Index of the number among the packed keys (each key × 2, + 1 when beyond). */
function indexOf(s: DistinctNumbersState, key: number): number {
  const packed = key * 2;
  let lo = 0;
  let hi = s.size;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (s.numbers[2 * mid]! < packed) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function find(s: DistinctNumbersState, callee: string): number {
  const key = keyOf(callee);
  if (key === null) {
    const other = s.others?.get(callee);
    return other === undefined ? NOT_SEEN : other.firstSec * 2 + (other.beyond ? 1 : 0);
  }
  const i = indexOf(s, key);
  if (i >= s.size) return NOT_SEEN;
  const packed = s.numbers[2 * i]!;
  return packed === key * 2 || packed === key * 2 + 1 ? s.numbers[2 * i + 1]! * 2 + (packed === key * 2 + 1 ? 1 : 0) : NOT_SEEN;
}

function count(s: DistinctNumbersState): number {
  return s.size + (s.others?.size ?? 0);
}

function add(s: DistinctNumbersState, callee: string, firstSec: number, beyond: boolean): void {
  const key = keyOf(callee);
  if (key === null) {
    (s.others ??= new Map()).set(callee, { firstSec, beyond });
    return;
  }
  if (2 * s.size === s.numbers.length) {
    const numbers = new Float64Array(2 * Math.max(8, Math.ceil(s.size * 1.5)));
    numbers.set(s.numbers);
    s.numbers = numbers;
  }
  const i = indexOf(s, key);
  s.numbers.copyWithin(2 * i + 2, 2 * i, 2 * s.size);
  s.numbers[2 * i] = key * 2 + (beyond ? 1 : 0);
  s.numbers[2 * i + 1] = firstSec;
  s.size++;
}

const NO_NUMBERS = new Float64Array(0);

function empty(): DistinctNumbersState {
  return { numbers: NO_NUMBERS, size: 0, others: null };
}

export const distinctNumbers: MetricLogic<DistinctNumbersState> = {
  init: empty,
  orderKey: (call) => call.startMs,
  step(state, call, threshold) {
    const seen = find(state, call.callee);
    if (seen !== NOT_SEEN) return isBeyond(seen) ? call.billableSeconds : 0;
    const beyond = count(state) + 1 > threshold;
    add(state, call.callee, secondsOf(call.startMs), beyond);
    return beyond ? call.billableSeconds : 0;
  },
  value: count,
  wouldExceed: (state, call, threshold) => find(state, call.callee) === NOT_SEEN && count(state) + 1 > threshold,
  lateIsLocal(state, call, threshold) {
    const seen = find(state, call.callee);
    // A number already called before this call keeps its rank; a new one ranks everyone after it one
    // further, which moves nobody's share while the month stays within the threshold.
    if (seen !== NOT_SEEN) return firstBefore(firstSecOf(seen), call.startMs);
    return count(state) + 1 <= threshold;
  },
  stepLate(state, call) {
    const seen = find(state, call.callee);
    if (seen !== NOT_SEEN) return isBeyond(seen) ? call.billableSeconds : 0;
    add(state, call.callee, secondsOf(call.startMs), false);
    return 0;
  },
  save(state) {
    const n: [string, number, number][] = [];
    for (let i = 0; i < state.size; i++) {
      const packed = state.numbers[2 * i]!;
      const beyond = Math.abs(packed % 2) === 1;
      n.push([calleeOf((packed - (beyond ? 1 : 0)) / 2), state.numbers[2 * i + 1]!, beyond ? 1 : 0]);
    }
    for (const [callee, v] of state.others ?? []) n.push([`s:${callee}`, v.firstSec, v.beyond ? 1 : 0]);
    return n;
  },
  load(saved) {
    const s = empty();
    for (const [k, firstSec, beyond] of saved as [string, number, number][]) add(s, k.startsWith('s:') ? k.slice(2) : k, firstSec, beyond === 1);
    return s;
  },
};
