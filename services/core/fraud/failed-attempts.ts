/**
 * Failed attempts of one account in a sliding window of event time (fraud.failed_attempts): the
 * attempts are kept sorted, so a CDR that arrives late is counted in the windows it happened in, and
 * the busiest window is the same whatever the order. A window holds the attempts less than its length
 * apart: with a 10-minute window, attempts at 0 and at exactly 10:00 are not in one window.
 */

export interface Attempt {
  at: number;
  cdrId: string;
  number: string;
}

export interface AttemptWindowState {
  /** Sorted by time. */
  attempts: Attempt[];
}

export interface Busiest {
  /** First and last attempt of the window. */
  firstMs: number;
  lastMs: number;
  count: number;
}

/** The most attempts an account keeps: beyond it the oldest go (a burst that big has alerted long before). */
export const MAX_ATTEMPTS_KEPT = 5000;

/**
 * Adds an attempt and returns the busiest window it is in: among the windows that end at an attempt at
 * or after it and less than `windowMs` later, the one with the most attempts (the earliest on a tie).
 */
export function addAttempt(state: AttemptWindowState, attempt: Attempt, windowMs: number): Busiest {
  const list = state.attempts;
  list.splice(upperBound(list, attempt.at), 0, attempt);
  if (list.length > MAX_ATTEMPTS_KEPT) list.splice(0, list.length - MAX_ATTEMPTS_KEPT);
  const best: Busiest = { firstMs: attempt.at, lastMs: attempt.at, count: 0 };
  // Windows end at an attempt: (end - windowMs, end]. Those containing the new one end in [at, at + windowMs).
  for (let j = lowerBound(list, attempt.at); j < list.length && list[j]!.at < attempt.at + windowMs; j++) {
    const end = list[j]!.at;
    const from = lowerBound(list, end - windowMs + 1);
    const to = upperBound(list, end);
    if (to - from > best.count) {
      best.count = to - from;
      best.firstMs = list[from]!.at;
      best.lastMs = end;
    }
  }
  return best;
}

/** The attempts from `firstMs` to `lastMs` inclusive. */
export function attemptsBetween(state: AttemptWindowState, firstMs: number, lastMs: number): Attempt[] {
  return state.attempts.slice(lowerBound(state.attempts, firstMs), upperBound(state.attempts, lastMs));
}

/** Drops the attempts before `ms`: too old to share a window with any CDR still accepted. */
export function forgetAttemptsBefore(state: AttemptWindowState, ms: number): void {
  const n = lowerBound(state.attempts, ms);
  if (n > 0) state.attempts.splice(0, n);
}

function lowerBound(a: Attempt[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]!.at < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(a: Attempt[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]!.at <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
