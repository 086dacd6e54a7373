/**
 * An alert for the fraud desk: one per rule, scope and window, updated while the situation lasts,
 * with a stable id so that re-processing the same CDRs never opens a second one.
 */
import { createHash } from 'node:crypto';

export type Severity = 'info' | 'warning' | 'critical';

export interface Alert {
  alertId: string;
  rule: string;
  severity: Severity;
  clientId: string;
  siteId: string;
  userId: string;
  firstSeenMs: number;
  lastSeenMs: number;
  /** A count, seconds, or an amount of money as a decimal string. */
  value: number | string;
  threshold: number | string;
  /** A sample of the CDRs behind the alert. */
  cdrIds: string[];
  message: string;
}

export const ALERT_SAMPLE_SIZE = 20;

/** Same rule, scope and window → same id, whatever the run or the worker. */
export function alertId(rule: string, scopeKey: string, window: string): string {
  return 'al-' + createHash('sha256').update(`${rule}|${scopeKey}|${window}`).digest('hex').slice(0, 20);
}
