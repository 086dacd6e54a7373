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
 * One fair-use metric: how a counter grows with each call, visited in event-time order, and how much of
 * the call lies beyond the threshold. Implementations hold no state of their own (it is in `S`).
 */
export interface MetricLogic<S> {
  init(): S;
  /** Event-time order of calls in the month: the metric's own notion of "when" (setup or answer). */
  orderKey(call: MeteredCall): number;
  /** Adds the call to the counter and returns the seconds of it beyond `threshold` (0 = within). */
  step(state: S, call: MeteredCall, threshold: number): number;
  /** The counter's value now, compared with the threshold ("plus de 150"). */
  value(state: S): number;
}
