/**
 * Plain words for the invoice reader and the fraud desk: why a call costs what it costs, and what a
 * counter crossed, with the contract clause it comes from.
 */
import type { Severity } from '../alert.js';
import type { FairUseRule, Plan, Provenance, SanctionScope } from '../plan.js';
import { clauseRule } from './plan-counters.js';
import { callShares, type PlanCounter, type RatedCall, type Share } from './rater.js';

export interface CounterRule {
  ruleId: string;
  metric: string;
  scope: FairUseRule['scope'];
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

function scopeWords({ def }: PlanCounter): string {
  switch (def.rule.scope) {
    case 'user':
      return `client ${def.clientId}, user ${def.userId}`;
    case 'line':
      return `client ${def.clientId}, line ${def.scopeKey.split('/line/')[1] ?? ''}`;
    case 'site':
      return `client ${def.clientId}, site ${def.siteId}`;
    default:
      return `client ${def.clientId}`;
  }
}

/** The alert message of a crossed counter. */
export function describeCounter(pc: PlanCounter): string {
  const { def, counter } = pc;
  const { rule } = def;
  const what = rule.metric === 'pooled_seconds' ? 'used its pooled minutes' : 'crossed a fair-use limit';
  return (
    `${scopeWords(pc)} ${what} in ${def.period}: ${formatMetric(rule.metric, counter.value)}, ` +
    `limit ${formatMetric(rule.metric, counter.threshold)} — ${cite(rule.provenance)}. ` +
    `Calls beyond it are priced (${rule.sanction.replaceAll('_', ' ')}).`
  );
}

/** Where a clause comes from, in a few bytes: provider, lines of its seed, then as much of the section as fits. */
function clauseRef(p: Provenance): string {
  return `${p.provider} l.${p.lines} ${p.section}`;
}

/**
 * The short explanation on rated.csv (80 bytes at most): the rule that priced the call and the clause
 * it comes from. `cdr explain` gives the whole story from the store.
 */
export function shortExplanation(plan: Plan, reason: string, shares: readonly [number | 'pool', number][]): string {
  let clause: number | 'pool' | null = null;
  let most = 0;
  for (const [c, seconds] of shares) {
    if (seconds > most && clauseRule(plan, c).ruleId === reason) {
      clause = c;
      most = seconds;
    }
  }
  const fwd = plan.forwarding.provenance;
  const ref =
    clause !== null ? clauseRef(clauseRule(plan, clause).provenance)
    : reason === 'bundle' || reason === 'out_of_plan_destination' ? clauseRef(plan.inclusion_provenance)
    : reason === 'fair_use.forwarding' && fwd !== undefined ? clauseRef(fwd)
    : (FIXED_WORDS[reason] ?? plan.id);
  return truncateBytes(`${reason}: ${ref}`, 80);
}

const FIXED_WORDS: Record<string, string> = {
  internal: "internal call inside the customer's PBX, free",
  inbound: 'inbound leg, not billed',
  emergency: 'emergency number, free and never sanctioned',
  not_answered: 'not answered, free',
};

function truncateBytes(text: string, max: number): string {
  const bytes = Buffer.from(text);
  return bytes.length <= max ? text : bytes.subarray(0, max - 3).toString('utf8').replace(/\uFFFD$/, '') + '…';
}

function pricingShare(call: RatedCall): Share | undefined {
  let best: Share | undefined;
  for (const s of callShares(call)) if (s.seconds > 0 && s.rule.ruleId === call.reason && (best === undefined || s.seconds > best.seconds)) best = s;
  return best;
}

/** A counter as it stands now, for the full explanation. */
export interface CounterNow {
  value: number;
  threshold: number;
}

/** The whole explanation: plan, component, tariff entry, counter against threshold, contract clause. */
export function explainCall(call: RatedCall, counterNow?: (key: string) => CounterNow | undefined): string {
  const plan = `${call.plan.id} (${call.plan.name})`;
  const tariff = `tariff ${call.plan.tariffTable.id} entry ${call.entry.key} "${call.entry.name}" ${call.entry.perMinute.toString()}/min`;
  const head = `${call.cdrId}: ${call.amount.toFixed(call.entry.decimals)} ${call.plan.tariffTable.currency}, reason ${call.reason}. `;
  switch (call.reason) {
    case 'bundle':
      return head + `${plan}: ${call.dest.cls}${call.dest.country && call.dest.cls === 'international' ? ' ' + call.dest.country : ''} included in the bundle (${cite(call.plan.inclusion_provenance)})`;
    case 'internal':
      return head + `${plan}: internal call inside the customer's PBX, free and never counted`;
    case 'inbound':
      return head + `${plan}: inbound leg, not billed`;
    case 'emergency':
      return head + `${plan}: emergency number, free and never sanctioned`;
    case 'not_answered':
      return head + `${plan}: not answered, free`;
    case 'metered':
      return head + `${plan}: metered at ${tariff}`;
    case 'out_of_plan_destination':
      return head + `${plan}: ${call.dest.cls}${call.dest.country ? ' ' + call.dest.country : ''} not in the bundle (${cite(call.plan.inclusion_provenance)}); ${tariff}`;
    default: {
      const share = pricingShare(call);
      if (share === undefined) {
        const fwd = call.plan.forwarding.provenance;
        return head + `${plan}: ${call.cdr.leg} leg excluded from the bundle${fwd ? ' (' + cite(fwd) + ')' : ''}; ${tariff}`;
      }
      const now = counterNow?.(share.key);
      const counter = now ? `${formatMetric(share.rule.metric, now.value)} against a limit of ${formatMetric(share.rule.metric, now.threshold)}` : 'limit crossed';
      const penalty = share.multiplier ? `, penalty ×${share.multiplier.toString()}` : '';
      return (
        head +
        `${plan}: ${share.rule.ruleId} (${share.rule.scope} counter ${share.key}): ${counter} (${share.rule.sanction.replaceAll('_', ' ')}; ${cite(share.rule.provenance)}); ` +
        `${call.pricedSeconds} s of ${call.billableSeconds} s priced at ${tariff}${penalty}`
      );
    }
  }
}
