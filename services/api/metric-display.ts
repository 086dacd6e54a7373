/**
 * Counter and alert figures as the desk shows them: a duration counter holds seconds (the contracts say
 * « 40 h par canal »), so 144000 is shown 40:00 h, never as a bare number of seconds; a count keeps its
 * unit. The exact value stays in the API beside the display text.
 */
import { METRIC_RULE_IDS, type Metric } from '../core/plan.js';
import { formatMetric } from '../core/rating/explain.js';

/** Rules whose value and threshold are seconds: the fair-use durations and a site's pooled minutes. */
const SECOND_RULES = new Set([METRIC_RULE_IDS.outbound_seconds, METRIC_RULE_IDS.forwarded_seconds, 'pool_exhausted']);
const METRIC_OF_RULE = new Map<string, Metric>(Object.entries(METRIC_RULE_IDS).map(([metric, rule]) => [rule, metric as Metric]));

/** h:mm, hours unbounded (a month's counter runs past 24 h): 147600 → "41:00 h". Seconds are dropped, not rounded up. */
export function hoursMinutes(seconds: number): string {
  const whole = Math.max(0, Math.floor(seconds));
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  return `${h}:${String(m).padStart(2, '0')} h`;
}

/** What a rule's figures count, for a reader in another language: `duration` is shown h:mm, the others as a number of that unit. */
export const METRIC_UNITS = ['duration', 'distinct_numbers', 'concurrent_calls', 'number'] as const;
export type MetricUnit = (typeof METRIC_UNITS)[number];

export function metricUnit(rule: string): MetricUnit {
  if (SECOND_RULES.has(rule)) return 'duration';
  const metric = METRIC_OF_RULE.get(rule);
  return metric === 'distinct_numbers' || metric === 'concurrent_calls' ? metric : 'number';
}

/** The display text of a rule's value or threshold; a figure that is not a finite number is shown as written. */
export function displayMetric(rule: string, value: number | string): string {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n)) return String(value);
  if (SECOND_RULES.has(rule)) return hoursMinutes(n);
  const metric = METRIC_OF_RULE.get(rule);
  return metric === undefined ? String(value) : formatMetric(metric, n);
}
