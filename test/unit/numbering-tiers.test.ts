/**
 * The 08 tiers and the 3BPQ free / paid split on every shipped plan: a freephone call costs nothing,
 * whoever makes it; premium numbers stay premium, priced and watched by the fraud desk as before.
 */
import { describe, expect, it } from 'vitest';
import type { Cdr, Subscriber } from '../../services/core/cdr.js';
import { Rater } from '../../services/core/rating/rater.js';
import { loadConfig } from '../../services/config/load-config.js';
import { pipelineFor } from '../support/pipeline.js';

const config = loadConfig('config');
const T0 = Date.parse('2026-03-03T10:00:00+01:00');

/** One subscriber of each shipped plan. */
const onEveryPlan: [string, Subscriber][] = [...config.plans.keys()].map((planId) => {
  const s = config.directory.all.find((x) => x.planId === planId);
  if (s === undefined) throw new Error(`config/subscribers.csv has no subscriber on plan ${planId}`);
  return [planId, s];
});

let seq = 0;
function call(subscriber: Subscriber, dialled: string, seconds: number, startMs = T0 + seq * 60_000): Cdr {
  seq++;
  return {
    cdrId: `tier-${seq}`, account: subscriber.account, caller: subscriber.numbers[0] ?? '', callerOriginal: '',
    callee: config.numbering.normalize(dialled), startMs, answerMs: startMs + 2000, endMs: startMs + 2000 + seconds * 1000,
    billableSeconds: seconds, disposition: 'answered', direction: 'out', leg: 'originating', forwardReason: null,
    device: 'desk', subscriber, source: 'tiers', line: seq,
  };
}

function rateOne(subscriber: Subscriber, dialled: string, seconds: number) {
  const rater = new Rater({ plans: config.plans, numbering: config.numbering, usersOf: (c, s) => config.directory.usersOf(c, s) });
  return rater.rate(call(subscriber, dialled, seconds))!;
}

describe('08 tiers and 3BPQ on every shipped plan', () => {
  it.each(onEveryPlan)('%s: 0800 12 34 56 and 3015 cost 0.00, ten minutes or one second', (_plan, subscriber) => {
    for (const dialled of ['0800 12 34 56', '0805 99 99 99', '3015']) {
      for (const seconds of [1, 600]) {
        const rated = rateOne(subscriber, dialled, seconds);
        expect([dialled, seconds, rated.amount.toFixed(2)]).toEqual([dialled, seconds, '0.00']);
      }
    }
  });

  it.each(onEveryPlan)('%s: 0806 costs what a fixed call outside the bundle costs per minute; 089x and 0825 stay premium with their fee and cap', (_plan, subscriber) => {
    const plan = config.plans.get(subscriber.planId)!;
    const tariff = plan.tariffTable;
    const day = '2026-03-03';
    expect(tariff.lookup('+33806123456', 'fr_special_normal', day).perMinute.toFixed(4)).toBe(tariff.lookup('+33145000000', 'fr_fixed', day).perMinute.toFixed(4));
    const premium = rateOne(subscriber, '0899 12 34 56', 60);
    expect(premium.dest.cls).toBe('fr_premium');
    // 0.8000 €/min for the started minute + 0.1200 connection fee
    expect(premium.amount.toFixed(4)).toBe('0.9200');
    expect(rateOne(subscriber, '0825 12 34 56', 60).amount.toFixed(4)).toBe('0.9200');
    // R-SVA-CAP-24EUR: two hours would be 96.12 €; the cap holds it at 24.00 €
    expect(rateOne(subscriber, '0899 12 34 56', 7200).amount.toFixed(2)).toBe('24.00');
  });

  it('leaves emergency numbers free', () => {
    for (const [, subscriber] of onEveryPlan) {
      const rated = rateOne(subscriber, '112', 300);
      expect([rated.dest.cls, rated.amount.toFixed(2)]).toEqual(['emergency', '0.00']);
    }
  });

  it('raises fraud.premium_destination on the 16th call of an hour to 089x, never for freephone calls', () => {
    const subscriber = onEveryPlan[0]![1];
    const alertsFor = (dialled: string, n: number) => {
      const pipeline = pipelineFor(config);
      for (let i = 0; i < n; i++) pipeline.process(call(subscriber, dialled, 5, T0 + i * 10_000));
      return pipeline.drain().alerts.filter((a) => a.rule === 'fraud.premium_destination');
    };
    expect(alertsFor('0899123456', 15)).toEqual([]);
    expect(alertsFor('0899123456', 16)).toHaveLength(1);
    expect(alertsFor('0800123456', 40)).toEqual([]);
  });

  it('keeps the tiers coherent: priced by class in every tariff, in no bundle, premium alone watched as premium', () => {
    const day = '2026-03-03';
    for (const tariff of config.tariffs.values()) {
      // An empty callee matches no prefix: what comes back is the class entry, or the default if there is none.
      for (const cls of ['fr_freephone', 'fr_short_free'] as const) expect([tariff.id, cls, tariff.lookup('', cls, day).perMinute.toFixed(4)]).toEqual([tariff.id, cls, '0.0000']);
      for (const cls of ['fr_special_normal', 'fr_shared_cost', 'fr_premium'] as const) expect(tariff.lookup('', cls, day).key, `${tariff.id} ${cls}`).toBe(`class ${cls}`);
    }
    // A free call in a bundle would use up its minutes.
    for (const plan of config.plans.values()) expect(plan.included_classes.filter((c) => c.startsWith('fr_') && !['fr_fixed', 'fr_mobile', 'fr_drom_fixed', 'fr_drom_mobile'].includes(c))).toEqual([]);
    expect(config.fraud.premium_destination.classes).toEqual(['fr_premium']);
    // 30PQ / 31PQ are free and exempt from the premium-CLI ban (S1-XII §9.3 « hors 30PQ et 31PQ »).
    expect(config.fraud.premium_cli.banned_classes).not.toContain('fr_short_free');
    expect(config.fraud.premium_cli.banned_classes).toContain('fr_short');
  });
});
