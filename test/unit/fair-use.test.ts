import { describe, expect, it } from 'vitest';
import { amounts, call, fairUse, fixed, makePlan, raterFor, subscriber } from '../support/rating.js';

// Prices in these tests (test tariff): France fixed 0.02 €/min, charged per second after a first 30 s.
const MARCH = (day: number, hh = 10, mm = 0, ss = 0) =>
  `2026-03-${String(day).padStart(2, '0')}T${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}:${String(ss).padStart(2, '0')}+01:00`;

describe('the 150-numbers rule (distinct called numbers per user and month)', () => {
  const plan = (sanction: string) => makePlan({ fair_use: [fairUse('distinct_numbers', 150, sanction)] });

  it('keeps the 150th number in bundle and prices the 151st (excess only); a number among the first 150 stays in bundle', () => {
    const p = plan('excess_only');
    const rater = raterFor([p]);
    const u = subscriber(p.id);
    const rated = Array.from({ length: 151 }, (_, i) => rater.rate(call(u, fixed(i), MARCH(2 + Math.floor(i / 10), 9, i % 10), 60)));
    expect(rated[149]).toMatchObject({ inBundle: true, reason: 'bundle' });
    expect(rated[150]).toMatchObject({ inBundle: false, reason: 'fair_use.distinct_numbers', pricedSeconds: 60 });
    expect(amounts(rated.slice(148))).toEqual(['0.00', '0.00', '0.02']);
    const again1 = rater.rate(call(u, fixed(0), MARCH(20), 60));
    const again151 = rater.rate(call(u, fixed(150), MARCH(20, 11), 60));
    expect(again1).toMatchObject({ inBundle: true, reason: 'bundle' });
    expect(again151).toMatchObject({ inBundle: false, reason: 'fair_use.distinct_numbers' });
  });

  it('re-prices every bundled call of the month once crossed (retroactive), as adjustments for calls already billed', () => {
    const p = plan('retroactive_month');
    const rater = raterFor([p]);
    const u = subscriber(p.id);
    for (let i = 0; i < 150; i++) rater.rate(call(u, fixed(i), MARCH(2 + Math.floor(i / 10), 9, i % 10), 60));
    expect(rater.drain().changes.every((c) => c.call.inBundle)).toBe(true);
    const crossing = rater.rate(call(u, fixed(150), MARCH(25), 120))!;
    expect(crossing.amount.toFixed(2)).toBe('0.04');
    const { changes, alerts } = rater.drain();
    const adjusted = changes.filter((c) => c.previous !== null);
    expect(adjusted).toHaveLength(150);
    expect(adjusted.every((c) => c.previous!.toFixed(2) === '0.00' && c.call.amount.toFixed(2) === '0.02' && c.call.reason === 'fair_use.distinct_numbers')).toBe(true);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ rule: 'fair_use.distinct_numbers', severity: 'warning', value: 151, threshold: 150, userId: 'U-1' });
  });

  it('prices everything after the crossing, but not before, when the plan suspends the unlimited', () => {
    const p = makePlan({ fair_use: [fairUse('distinct_numbers', 2, 'suspend_unlimited')] });
    const rater = raterFor([p]);
    const u = subscriber(p.id);
    const r = [fixed(1), fixed(2), fixed(3), fixed(1)].map((n, i) => rater.rate(call(u, n, MARCH(3, 10 + i), 60)));
    expect(amounts(r)).toEqual(['0.00', '0.00', '0.02', '0.02']);
  });

  it('counts per user: a colleague has a counter of his own', () => {
    const p = makePlan({ fair_use: [fairUse('distinct_numbers', 1, 'excess_only')] });
    const rater = raterFor([p]);
    const a = subscriber(p.id);
    const b = subscriber(p.id, { account: 'acc-2', userId: 'U-2' });
    expect(amounts([rater.rate(call(a, fixed(1), MARCH(3), 60)), rater.rate(call(b, fixed(2), MARCH(3), 60)), rater.rate(call(a, fixed(3), MARCH(4), 60))])).toEqual(['0.00', '0.00', '0.02']);
  });

  it('starts again each calendar month in Paris: 31 March 23:59:30 is March, 1 April 00:00:30 is April', () => {
    const p = makePlan({ fair_use: [fairUse('distinct_numbers', 1, 'excess_only')] });
    const rater = raterFor([p]);
    const u = subscriber(p.id);
    rater.rate(call(u, fixed(1), '2026-03-02T10:00:00+01:00', 60));
    const lastOfMarch = rater.rate(call(u, fixed(2), '2026-03-31T23:59:30+02:00', 60))!;
    const firstOfApril = rater.rate(call(u, fixed(3), '2026-04-01T00:00:30+02:00', 60))!;
    expect(lastOfMarch).toMatchObject({ period: '2026-03', reason: 'fair_use.distinct_numbers' });
    expect(firstOfApril).toMatchObject({ period: '2026-04', reason: 'bundle' });
  });

  it('moves the crossing when a late CDR arrives after later ones, and adjusts the call that changed side', () => {
    const p = makePlan({ fair_use: [fairUse('distinct_numbers', 2, 'excess_only')] });
    const rater = raterFor([p]);
    const u = subscriber(p.id);
    const a = rater.rate(call(u, fixed(1), MARCH(3, 9), 60))!;
    const b = rater.rate(call(u, fixed(2), MARCH(3, 11), 60))!;
    const c = rater.rate(call(u, fixed(3), MARCH(3, 12), 60))!;
    expect(amounts([a, b, c])).toEqual(['0.00', '0.00', '0.02']);
    rater.drain();
    const late = rater.rate(call(u, fixed(4), MARCH(3, 10), 60))!; // happened at 10:00, before b
    expect(amounts([a, late, b, c])).toEqual(['0.00', '0.00', '0.02', '0.02']);
    const { changes, alerts } = rater.drain();
    expect(changes.filter((x) => x.previous !== null).map((x) => x.call.cdrId)).toEqual([b.cdrId]);
    expect(alerts[0]!.firstSeenMs).toBe(b.startMs);
  });
});

describe('the 40-hour rule (call time per user and month)', () => {
  const p = makePlan({ fair_use: [fairUse('outbound_seconds', 40 * 3600, 'excess_only')] });

  it('keeps 40 h exactly in bundle and prices one second more (charged as the 30 s first period)', () => {
    const rater = raterFor([p]);
    const u = subscriber(p.id);
    const hours = Array.from({ length: 40 }, (_, i) => rater.rate(call(u, fixed(i % 5), MARCH(2 + Math.floor(i / 2), 9 + (i % 2) * 2), 3600)));
    expect(hours.every((c) => c!.inBundle)).toBe(true);
    const oneMore = rater.rate(call(u, fixed(1), MARCH(27), 1))!;
    expect(oneMore).toMatchObject({ inBundle: false, reason: 'fair_use.duration', pricedSeconds: 1 });
    expect(oneMore.amount.toFixed(2)).toBe('0.01');
  });

  it('splits the call that crosses: only the seconds beyond 40 h are priced', () => {
    const rater = raterFor([p]);
    const u = subscriber(p.id);
    for (let i = 0; i < 39; i++) rater.rate(call(u, fixed(1), MARCH(2 + Math.floor(i / 2), 9 + (i % 2) * 2), 3600));
    const crossing = rater.rate(call(u, fixed(1), MARCH(25), 3600 + 90))!;
    expect(crossing).toMatchObject({ pricedSeconds: 90, reason: 'fair_use.duration' });
    expect(crossing.amount.toFixed(2)).toBe('0.03');
  });
});

describe('more than 3 simultaneous calls per user', () => {
  it('keeps the third simultaneous call in bundle and prices only the fourth', () => {
    const p = makePlan({ fair_use: [fairUse('concurrent_calls', 3, 'excess_only')] });
    const rater = raterFor([p]);
    const u = subscriber(p.id);
    const r = [0, 1, 2, 3].map((m) => rater.rate(call(u, fixed(m), MARCH(4, 10, m), 600)));
    const later = rater.rate(call(u, fixed(9), MARCH(4, 10, 30), 600)); // all four have ended by 10:30
    expect(amounts([...r, later])).toEqual(['0.00', '0.00', '0.00', '0.20', '0.00']);
    expect(r[3]!.reason).toBe('fair_use.concurrent_calls');
  });

  it('does not count a call that ended before the next one was answered', () => {
    const p = makePlan({ fair_use: [fairUse('concurrent_calls', 1, 'excess_only')] });
    const rater = raterFor([p]);
    const u = subscriber(p.id);
    // first: answered 10:00:05, ends 10:01:05; second answered 10:01:05 exactly: back to back, not simultaneous
    const r = [rater.rate(call(u, fixed(1), MARCH(4, 10, 0, 0), 60)), rater.rate(call(u, fixed(2), MARCH(4, 10, 1, 0), 60))];
    expect(amounts(r)).toEqual(['0.00', '0.00']);
  });
});

describe('pooled minutes per site (Orange: 500 minutes per user, no rollover)', () => {
  const pooled = makePlan({
    id: 'pooled',
    bundle: { mode: 'pooled', minutes_per_user: 500, scope: 'site', provenance: { provider: 'Orange', seed: '003_4c8e7c7cc66bb2f2.txt', section: '§2.6.1', lines: '261-285' } },
  });

  it('splits the call that uses the last minute of the pool: the part beyond it is priced, without connection fee', () => {
    const rater = raterFor([pooled], 1); // one user: 500 minutes = 30,000 s
    const u = subscriber('pooled');
    const before = rater.rate(call(u, fixed(1), MARCH(5), 499 * 60))!;
    const crossing = rater.rate(call(u, fixed(2), MARCH(6), 120))!;
    const after = rater.rate(call(u, fixed(3), MARCH(7), 60))!;
    expect(before.inBundle).toBe(true);
    expect(crossing).toMatchObject({ inBundle: false, reason: 'pool_exhausted', pricedSeconds: 60 });
    expect(amounts([crossing, after])).toEqual(['0.02', '0.02']);
    const alerts = rater.drain().alerts;
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ rule: 'pool_exhausted', severity: 'info', threshold: 30000 });
  });

  it('shares the pool between the users of a site and grows it with them', () => {
    const rater = raterFor([pooled], 5); // 2,500 minutes
    const a = subscriber('pooled');
    const b = subscriber('pooled', { account: 'acc-2', userId: 'U-2' });
    rater.rate(call(a, fixed(1), MARCH(5), 1500 * 60));
    const r = rater.rate(call(b, fixed(2), MARCH(6), 1000 * 60 + 30))!;
    expect(r).toMatchObject({ pricedSeconds: 30, reason: 'pool_exhausted' });
  });
});

describe('forwarding', () => {
  it('prices forwarded and transferred legs when the plan excludes them (Technicophone Centrex)', () => {
    const p = makePlan({ forwarding: { excluded_legs: ['forwarded', 'transferred'] } });
    const rater = raterFor([p]);
    const u = subscriber(p.id);
    const fwd = rater.rate(call(u, '0612345678', MARCH(3), 120, { leg: 'forwarded', forwardReason: 'busy' }))!;
    const xfer = rater.rate(call(u, fixed(1), MARCH(3, 11), 60, { leg: 'transferred' }))!;
    expect(fwd).toMatchObject({ reason: 'fair_use.forwarding', inBundle: false });
    expect(amounts([fwd, xfer])).toEqual(['0.12', '0.02']);
  });

  it('prices only permanent forwarding when the plan says so (VGA, mobile)', () => {
    const p = makePlan({ forwarding: { excluded_legs: ['forwarded'], excluded_forward_reasons: ['unconditional'] } });
    const rater = raterFor([p]);
    const u = subscriber(p.id);
    const busy = rater.rate(call(u, fixed(1), MARCH(3), 60, { leg: 'forwarded', forwardReason: 'busy' }))!;
    const permanent = rater.rate(call(u, fixed(1), MARCH(3, 11), 60, { leg: 'forwarded', forwardReason: 'unconditional' }))!;
    expect([busy.reason, permanent.reason]).toEqual(['bundle', 'fair_use.forwarding']);
  });

  it('includes 2 h of forwarding a month and prices what lies beyond (WITECH)', () => {
    const p = makePlan({ fair_use: [fairUse('forwarded_seconds', 7200, 'excess_only', { counts: { legs: ['forwarded'] } })] });
    const rater = raterFor([p]);
    const u = subscriber(p.id);
    const r = [3000, 3000, 3000].map((s, i) => rater.rate(call(u, fixed(1), MARCH(3 + i), s, { leg: 'forwarded', forwardReason: 'unconditional' })));
    expect(amounts(r)).toEqual(['0.00', '0.00', '0.60']); // 1,800 s beyond 7,200 s at 0.02 €/min
    expect(r[2]!.reason).toBe('fair_use.forwarding');
  });
});

describe('sanctions and exemptions', () => {
  it('applies a 400 % penalty on top of the per-minute price (ProgetCom)', () => {
    const p = makePlan({
      fair_use: [fairUse('distinct_numbers', 1, 'retroactive_month')].map((r) => ({
        ...r,
        sanction: { scope: 'retroactive_month', penalty: { percent: 400, mode: 'additive', provenance: { provider: 'ProgetCom', seed: '004_ecb50f6e509857a1.txt', section: 'art. 7.2.a', lines: '161-163' } } },
      })),
    });
    const rater = raterFor([p]);
    const u = subscriber(p.id);
    const r = [rater.rate(call(u, fixed(1), MARCH(3), 60)), rater.rate(call(u, fixed(2), MARCH(4), 120))];
    expect(amounts(r)).toEqual(['0.10', '0.20']); // (0.02, 0.04) × 5
  });

  it('never sanctions an emergency call, even in a month beyond every threshold', () => {
    const p = makePlan({ included_classes: ['fr_fixed', 'fr_mobile', 'emergency'], fair_use: [fairUse('distinct_numbers', 1, 'retroactive_month', { counts: { answered_only: false } })] });
    const rater = raterFor([p]);
    const u = subscriber(p.id);
    const r = [rater.rate(call(u, '112', MARCH(3), 300)), rater.rate(call(u, fixed(1), MARCH(3, 11), 60)), rater.rate(call(u, fixed(2), MARCH(3, 12), 60))];
    expect(r[0]).toMatchObject({ reason: 'emergency', inBundle: false });
    expect(amounts(r)).toEqual(['0.00', '0.02', '0.02']);
  });

  it('prices a destination outside the plan, keeps unanswered and inbound calls free', () => {
    const p = makePlan({});
    const rater = raterFor([p]);
    const u = subscriber(p.id);
    const premium = rater.rate(call(u, '0899123456', MARCH(3), 90))!;
    const germany = rater.rate(call(u, '+49301234567', MARCH(3, 11), 60))!;
    const missed = rater.rate(call(u, fixed(1), MARCH(3, 12), 0, { disposition: 'no_answer' }))!;
    const inbound = rater.rate(call(u, fixed(2), MARCH(3, 13), 600, { direction: 'in' }))!;
    expect([premium.reason, germany.reason, missed.reason, inbound.reason]).toEqual(['out_of_plan_destination', 'out_of_plan_destination', 'not_answered', 'inbound']);
    expect(amounts([premium, germany, missed, inbound])).toEqual(['1.32', '0.10', '0.00', '0.00']); // 0.80 × 1.5 + 0.12
  });

  it('is idempotent: the same cdr_id rated twice is a duplicate', () => {
    const p = makePlan({});
    const rater = raterFor([p]);
    const c = call(subscriber(p.id), fixed(1), MARCH(3), 60);
    expect(rater.rate(c)).not.toBeNull();
    expect(rater.rate({ ...c })).toBeNull();
  });

  it('raises one alert per scope, month and rule however many calls go beyond', () => {
    const p = makePlan({ fair_use: [fairUse('distinct_numbers', 2, 'excess_only')] });
    const rater = raterFor([p]);
    const u = subscriber(p.id);
    for (let i = 0; i < 10; i++) rater.rate(call(u, fixed(i), MARCH(3, 8 + i), 60));
    const { alerts } = rater.drain();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ value: 10, threshold: 2 });
    expect(alerts[0]!.message).toMatch(/client C-1, user U-1 crossed a fair-use limit in 2026-03: 10 distinct numbers, limit 2 distinct numbers/);
  });
});
