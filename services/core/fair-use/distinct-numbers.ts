/**
 * The 150-numbers rule (R-FAIR-DISTINCT): « plus de 150 numéros différents » per user, line or channel
 * in a calendar month. Exact set, never a sketch: the threshold is small and a wrong count bills a
 * customer. Numbers are ranked in the order they were first called; a call to a number ranked beyond
 * the threshold is the excess, and calling again one of the first 150 stays within.
 *
 * The state is the set of numbers called, each with when it was first called and whether it ranks
 * beyond the threshold, packed in typed arrays (about 17 bytes a number) so that a month of a busy user
 * stays small in memory and in the store.
 */
import type { MetricLogic } from './metered-call.js';

export interface DistinctNumbersState {
  /** Numbers as keys (see keyOf), sorted ascending, with the time each was first called. */
  keys: Float64Array;
  firstMs: Float64Array;
  beyond: Uint8Array;
  size: number;
  /** Callees that are not digits (a SIP URI from a profile): rare, kept as text. */
  others: Map<string, { firstMs: number; beyond: boolean }>;
}

/** E.164 numbers (`+33…`) as positive integers, short numbers (`3949`) as negative ones; null for anything else. */
function keyOf(callee: string): number | null {
  const plus = callee.startsWith('+');
  const digits = plus ? callee.slice(1) : callee;
  if (digits.length === 0 || digits.length > 15 || !/^\d+$/.test(digits) || (digits.length > 1 && digits[0] === '0' && !plus)) return null;
  const n = Number(digits);
  return plus ? n : -n - 1;
}

function indexOf(s: DistinctNumbersState, key: number): number {
  let lo = 0;
  let hi = s.size;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (s.keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface Seen {
  firstMs: number;
  beyond: boolean;
}

function find(s: DistinctNumbersState, callee: string): Seen | undefined {
  const key = keyOf(callee);
  if (key === null) return s.others.get(callee);
  const i = indexOf(s, key);
  return i < s.size && s.keys[i] === key ? { firstMs: s.firstMs[i]!, beyond: s.beyond[i] === 1 } : undefined;
}

function count(s: DistinctNumbersState): number {
  return s.size + s.others.size;
}

function add(s: DistinctNumbersState, callee: string, firstMs: number, beyond: boolean): void {
  const key = keyOf(callee);
  if (key === null) {
    s.others.set(callee, { firstMs, beyond });
    return;
  }
  if (s.size === s.keys.length) {
    const grow = <T extends Float64Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(Math.max(8, a.length * 2));
      b.set(a);
      return b;
    };
    s.keys = grow(s.keys, (n) => new Float64Array(n));
    s.firstMs = grow(s.firstMs, (n) => new Float64Array(n));
    s.beyond = grow(s.beyond, (n) => new Uint8Array(n));
  }
  const i = indexOf(s, key);
  s.keys.copyWithin(i + 1, i, s.size);
  s.firstMs.copyWithin(i + 1, i, s.size);
  s.beyond.copyWithin(i + 1, i, s.size);
  s.keys[i] = key;
  s.firstMs[i] = firstMs;
  s.beyond[i] = beyond ? 1 : 0;
  s.size++;
}

function empty(): DistinctNumbersState {
  return { keys: new Float64Array(0), firstMs: new Float64Array(0), beyond: new Uint8Array(0), size: 0, others: new Map() };
}

export const distinctNumbers: MetricLogic<DistinctNumbersState> = {
  init: empty,
  orderKey: (call) => call.startMs,
  step(state, call, threshold) {
    const seen = find(state, call.callee);
    if (seen !== undefined) return seen.beyond ? call.billableSeconds : 0;
    const beyond = count(state) + 1 > threshold;
    add(state, call.callee, call.startMs, beyond);
    return beyond ? call.billableSeconds : 0;
  },
  value: count,
  wouldExceed: (state, call, threshold) => find(state, call.callee) === undefined && count(state) + 1 > threshold,
  lateIsLocal(state, call, threshold) {
    const seen = find(state, call.callee);
    // A number already called before this call keeps its rank; a new one ranks everyone after it one
    // further, which moves nobody's share while the month stays within the threshold.
    if (seen !== undefined) return seen.firstMs < call.startMs;
    return count(state) + 1 <= threshold;
  },
  stepLate(state, call) {
    const seen = find(state, call.callee);
    if (seen !== undefined) return seen.beyond ? call.billableSeconds : 0;
    add(state, call.callee, call.startMs, false);
    return 0;
  },
  save(state) {
    const n: [string, number, number][] = [];
    for (let i = 0; i < state.size; i++) n.push([String(state.keys[i]), state.firstMs[i]!, state.beyond[i]!]);
    for (const [callee, v] of state.others) n.push([`s:${callee}`, v.firstMs, v.beyond ? 1 : 0]);
    return n;
  },
  load(saved) {
    const s = empty();
    for (const [k, firstMs, beyond] of saved as [string, number, number][]) {
      if (k.startsWith('s:')) s.others.set(k.slice(2), { firstMs, beyond: beyond === 1 });
      else {
        const key = Number(k);
        add(s, key >= 0 ? `+${key}` : String(-key - 1), firstMs, beyond === 1);
      }
    }
    return s;
  },
};
