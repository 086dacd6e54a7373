import { Zone } from '../../services/core/calendar.js';
import type { Cdr, Subscriber } from '../../services/core/cdr.js';
import { planSchema, type Plan } from '../../services/core/plan.js';
import { Rater, type RatedCall } from '../../services/core/rating/rater.js';
import { Tariff, tariffSchema } from '../../services/core/tariff.js';
import { numbering } from './numbering.js';

const provenance = { provider: 'Test', seed: '001_742b69a7556570e9.txt', section: 'test', lines: '1-2', quote: 'test' };

/**
 * A test tariff with round prices: France fixed 0.02 €/min, mobile 0.06 €/min, Germany 0.10 €/min,
 * premium 0.80 €/min + 0.12 € connection; per second after a first period of 30 s, 2 decimals.
 */
export const testTariff = new Tariff(
  tariffSchema.parse({
    id: 'test_tariff',
    currency: 'EUR',
    example_prices: true,
    charging: { first_period: 30, increment: 1, decimals: 2, rounding: 'half_up' },
    default: { name: 'Other', per_minute: '1.20' },
    entries: [
      { prefix: '33', name: 'France fixed', per_minute: '0.02' },
      { prefix: '336', name: 'France mobile', per_minute: '0.06' },
      { prefix: '337', name: 'France mobile', per_minute: '0.06' },
      { prefix: '49', name: 'Germany', per_minute: '0.10' },
      { class: 'fr_premium', name: 'Premium', per_minute: '0.80', connection_fee: '0.12' },
      { class: 'emergency', name: 'Emergency', per_minute: '0' },
    ],
  }),
);

export function makePlan(overrides: Record<string, unknown>): Plan {
  const config = planSchema.parse({
    id: 'test_plan',
    name: 'Test plan',
    provider: 'Test',
    tariff: 'test_tariff',
    bundle: { mode: 'unlimited' },
    included_classes: ['fr_fixed', 'fr_mobile'],
    inclusion_provenance: provenance,
    ...overrides,
  });
  return { ...config, calendar: new Zone(config.zone), tariffTable: testTariff, file: 'test' };
}

export function fairUse(metric: string, threshold: number, sanction: string, extra: Record<string, unknown> = {}) {
  return { metric, scope: 'user', threshold, sanction: { scope: sanction }, provenance, ...extra };
}

export function subscriber(planId: string, overrides: Partial<Subscriber> = {}): Subscriber {
  return {
    account: 'acc-1', clientId: 'C-1', siteId: 'S-1', userId: 'U-1', planId, lineType: 'centrex_user',
    channels: 1, automated: false, numbers: ['+33142000001'], ...overrides,
  };
}

let seq = 0;
/** An answered outbound call: `start` in ISO with offset, `seconds` of talk after a 5 s ring. */
export function call(sub: Subscriber, callee: string, start: string, seconds: number, overrides: Partial<Cdr> = {}): Cdr {
  const startMs = Date.parse(start);
  const answered = (overrides.disposition ?? 'answered') === 'answered';
  return {
    cdrId: `t-${String(++seq).padStart(6, '0')}`,
    account: sub.account,
    caller: sub.numbers[0] ?? '',
    callerOriginal: '',
    callee: numbering.normalize(callee),
    startMs,
    answerMs: answered ? startMs + 5000 : null,
    endMs: startMs + 5000 + (answered ? seconds : 0) * 1000,
    billableSeconds: answered ? seconds : 0,
    disposition: 'answered',
    direction: 'out',
    leg: 'originating',
    forwardReason: null,
    device: 'desk',
    subscriber: sub,
    source: 'test',
    line: seq,
    ...overrides,
  };
}

export function raterFor(plans: Plan[], usersPerSite = 1): Rater {
  return new Rater({ plans: new Map(plans.map((p) => [p.id, p])), numbering, usersOf: () => usersPerSite });
}

/** French fixed number number i (distinct per i). */
export function fixed(i: number): string {
  return `01${String(40000000 + i).padStart(8, '0')}`;
}

export function amounts(calls: (RatedCall | null)[]): string[] {
  return calls.map((c) => c!.amount.toFixed(2));
}
