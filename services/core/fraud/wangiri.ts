/**
 * The short inbound rings from abroad a client received (fraud.wangiri), by calling number, so that a
 * later outbound call to one of those numbers is known for a call-back. Bounded: a few rings per
 * number, a cap on numbers, and rings older than the window are forgotten.
 */

export interface RingState {
  /** Calling number → its latest short rings, oldest first: [start time, cdr_id]. */
  rings: Map<string, [number, string][]>;
}

const RINGS_PER_NUMBER = 5;
/** Ringing numbers kept per client: a campaign ringing more numbers than this keeps its latest ones. */
export const MAX_RINGING_NUMBERS = 2000;

export function addRing(state: RingState, number: string, at: number, cdrId: string): void {
  let times = state.rings.get(number);
  if (times === undefined) {
    if (state.rings.size >= MAX_RINGING_NUMBERS) dropOldestNumber(state);
    times = [];
    state.rings.set(number, times);
  }
  let i = times.length;
  while (i > 0 && times[i - 1]![0] > at) i--;
  times.splice(i, 0, [at, cdrId]);
  if (times.length > RINGS_PER_NUMBER) times.shift();
}

/** The latest ring of `number` that started before `at` and less than `windowMs` before it. */
export function ringBefore(state: RingState, number: string, at: number, windowMs: number): { at: number; cdrId: string; count: number } | null {
  const times = state.rings.get(number);
  if (times === undefined) return null;
  for (let i = times.length - 1; i >= 0; i--) {
    const [t, cdrId] = times[i]!;
    if (t < at) return at - t < windowMs ? { at: t, cdrId, count: times.length } : null;
  }
  return null;
}

export function forgetRingsBefore(state: RingState, ms: number): void {
  for (const [number, times] of state.rings) {
    while (times.length > 0 && times[0]![0] < ms) times.shift();
    if (times.length === 0) state.rings.delete(number);
  }
}

function dropOldestNumber(state: RingState): void {
  let oldest: string | null = null;
  let oldestMs = Infinity;
  for (const [number, times] of state.rings) {
    const last = times[times.length - 1]![0];
    if (last < oldestMs) {
      oldestMs = last;
      oldest = number;
    }
  }
  if (oldest !== null) state.rings.delete(oldest);
}
