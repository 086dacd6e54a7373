/** What a fair-use counter needs to know of a call. */
export interface MeteredCall {
  cdrId: string;
  startMs: number;
  answerMs: number | null;
  endMs: number;
  callee: string;
  billableSeconds: number;
}

/**
 * One fair-use metric: how a counter grows with each call visited in event-time order, and how much of
 * the call lies beyond the threshold. The state `S` is what deciding the next call needs (numbers already
 * called, a sum of seconds, the calls in progress), never the month's calls: when a call cannot be decided
 * from it (a late call that moves other calls' shares), the counter asks for the month to be visited again.
 */
export interface MetricLogic<S> {
  init(): S;
  /** Event-time order of calls in the month: the metric's own notion of "when" (setup or answer). */
  orderKey(call: MeteredCall): number;
  /** Adds the call (the latest of the month so far) and returns its seconds beyond `threshold` (0 = within). */
  step(state: S, call: MeteredCall, threshold: number): number;
  /** The counter's value now, compared with the threshold ("plus de 150"). */
  value(state: S): number;
  /** Whether adding this call in order would take the value above the threshold (pure). */
  wouldExceed(state: S, call: MeteredCall, threshold: number): boolean;
  /**
   * Whether a call that comes before the latest one can be added without changing any other call's
   * share (pure). When false, the month is visited again from the ledger.
   */
  lateIsLocal(state: S, call: MeteredCall, threshold: number): boolean;
  /** Adds such a call (after `lateIsLocal` said yes) and returns its excess seconds. */
  stepLate(state: S, call: MeteredCall, threshold: number): number;
  /** A JSON-safe form of the state, and back. */
  save(state: S): unknown;
  load(saved: unknown): S;
}
