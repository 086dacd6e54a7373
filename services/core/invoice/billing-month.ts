/**
 * Which month's invoice a rated call or an adjustment goes on, once months can be closed
 * (R-MOB-LATE-CDR: late usage is re-invoiced later, with the month it belongs to).
 *
 * A row of month Q written after Q was closed cannot change Q's invoice: it goes on the first month
 * R ≥ Q that was still open when the row was written. "Open when written" is decided by sequence
 * numbers: a close records the highest rated_cdr and adjustment seq of the store at that moment, so a
 * row with a larger seq came later. The answer never changes once given, which is what keeps a closed
 * invoice fixed.
 */

export interface MonthClose {
  period: string;
  lastRatedSeq: number;
  lastAdjustmentSeq: number;
}

export type RowKind = 'rated' | 'adjustment';

/** The month a row (of month `period`, written with `seq`) is billed on, given a client's closes. */
export function billingMonth(period: string, seq: number, kind: RowKind, closes: ReadonlyMap<string, MonthClose>): string {
  let month = period;
  for (;;) {
    const close = closes.get(month);
    if (close === undefined) return month;
    const last = kind === 'rated' ? close.lastRatedSeq : close.lastAdjustmentSeq;
    if (seq <= last) return month;
    month = nextMonth(month);
  }
}

export function nextMonth(period: string): string {
  const [y, m] = period.split('-').map(Number) as [number, number];
  return m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
}

export const PERIOD = /^\d{4}-(0[1-9]|1[0-2])$/;
