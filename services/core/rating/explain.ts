/**
 * Plain words for the invoice reader and the fraud desk: why a call costs what it costs, and what a
 * counter crossed, with the contract clause it comes from.
 */
import type { Severity } from '../alert.js';
import type { Provenance, SanctionScope } from '../plan.js';
import type { PlanCounter, RatedCall } from './rater.js';

export interface CounterRule {
  ruleId: string;
  metric: string;
  scope: string;
  sanction: SanctionScope;
  provenance: Provenance;
  severity: Severity;
}

const SECOND_METRICS = new Set(['outbound_seconds', 'forwarded_seconds']);

export function formatMetric(metric: string, value: number): string {
  if (SECOND_METRICS.has(metric)) return formatDuration(value);
  if (metric === 'pooled_seconds') return `${Number((value / 60).toFixed(1))} min`;
  if (metric === 'distinct_numbers') return `${value} distinct numbers`;
  if (metric === 'concurrent_calls') return `${value} simultaneous calls`;
  return String(value);
}

export function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h} h ${String(m).padStart(2, '0')} min ${String(s).padStart(2, '0')} s`;
}

export function cite(p: Provenance): string {
  const quote = p.quote ? `clause « ${p.quote} », ` : '';
  return `${quote}${p.provider} ${p.section} l.${p.lines}`;
}

function scopeWords(pc: PlanCounter): string {
  switch (pc.rule.scope) {
    case 'user':
      return `client ${pc.clientId}, user ${pc.userId}`;
    case 'line':
      return `client ${pc.clientId}, line ${pc.scopeKey.split('/line/')[1] ?? ''}`;
    case 'site':
      return `client ${pc.clientId}, site ${pc.siteId}`;
    default:
      return `client ${pc.clientId}`;
  }
}

/** The alert message of a crossed counter. */
export function describeCounter(pc: PlanCounter): string {
  const { rule, counter } = pc;
  const what = rule.metric === 'pooled_seconds' ? 'used its pooled minutes' : 'crossed a fair-use limit';
  return (
    `${scopeWords(pc)} ${what} in ${pc.period}: ${formatMetric(rule.metric, counter.value)}, ` +
    `limit ${formatMetric(rule.metric, counter.threshold)} — ${cite(rule.provenance)}. ` +
    `Calls beyond it are priced (${rule.sanction.replaceAll('_', ' ')}).`
  );
}

/** One line on the rated CDR: plan, component, tariff entry, counter against threshold, rule. */
export function explainCall(call: RatedCall): string {
  const plan = call.plan.id;
  const tariff = `${call.entry.key} "${call.entry.name}" ${call.entry.perMinute.toString()}/min`;
  switch (call.reason) {
    case 'bundle':
      return `${plan}: ${call.dest.cls}${call.dest.country && call.dest.cls === 'international' ? ' ' + call.dest.country : ''} included (${cite(call.plan.inclusion_provenance)})`;
    case 'inbound':
      return `${plan}: inbound leg, not billed`;
    case 'emergency':
      return `${plan}: emergency number, free and never sanctioned`;
    case 'internal':
      return `${plan}: internal call inside the customer's PBX, free and never counted`;
    case 'not_answered':
      return `${plan}: not answered, free`;
    case 'metered':
      return `${plan}: metered at ${tariff}`;
    case 'out_of_plan_destination':
      return `${plan}: ${call.dest.cls}${call.dest.country ? ' ' + call.dest.country : ''} not in the bundle; ${tariff}`;
    default: {
      const m = call.memberships.find((x) => x.counter.rule.ruleId === call.reason);
      if (m === undefined) {
        const fwd = call.plan.forwarding.provenance;
        return `${plan}: ${call.cdr.leg} leg excluded from the bundle${fwd ? ' (' + cite(fwd) + ')' : ''}; ${tariff}`;
      }
      const c = m.counter;
      const penalty = c.multiplier ? `, penalty ×${c.multiplier.toString()}` : '';
      return (
        `${plan}: ${c.rule.ruleId} ${formatMetric(c.rule.metric, c.counter.value)} > ${formatMetric(c.rule.metric, c.counter.threshold)} ` +
        `(${c.rule.sanction}; ${c.rule.provenance.section} l.${c.rule.provenance.lines}); ${call.pricedSeconds} s priced at ${tariff}${penalty}`
      );
    }
  }
}
