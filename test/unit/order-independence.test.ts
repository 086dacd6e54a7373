import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Cdr } from '../../services/core/cdr.js';
import { Money } from '../../services/core/money.js';
import { Rater, sharesOf } from '../../services/core/rating/rater.js';
import type { SavedCounter } from '../../services/core/fair-use/monthly-counter.js';
import type { ScopeMonth } from '../../services/core/rating/plan-counters.js';
import { scopeMonthKey, type RatingState, type StoredCall } from '../../services/core/rating/rating-state.js';
import { numbering } from '../support/numbering.js';
import { call, fairUse, fixed, makePlan, raterFor, subscriber } from '../support/rating.js';

// Every kind of counter at once, with thresholds low enough for a small month to cross them all.
const plan = makePlan({
  id: 'busy_plan',
  bundle: { mode: 'pooled', minutes_per_user: 20, scope: 'site', provenance: { provider: 'Test', seed: '003_4c8e7c7cc66bb2f2.txt', section: 't', lines: '1' } },
  fair_use: [
    fairUse('distinct_numbers', 6, 'retroactive_month'),
    fairUse('outbound_seconds', 1500, 'excess_only'),
    fairUse('concurrent_calls', 2, 'excess_only'),
    fairUse('distinct_numbers', 4, 'suspend_unlimited', { scope: 'client' }),
  ],
});
const users = [subscriber('busy_plan'), subscriber('busy_plan', { account: 'acc-2', userId: 'U-2' }), subscriber('busy_plan', { account: 'acc-3', userId: 'U-3', siteId: 'S-2' })];

const callArb = fc.record({
  user: fc.integer({ min: 0, max: 2 }),
  number: fc.integer({ min: 0, max: 9 }),
  minuteOfMonth: fc.integer({ min: 0, max: 30 * 24 * 60 }),
  seconds: fc.integer({ min: 0, max: 900 }),
  mobile: fc.boolean(),
});

type CallSpec = { user: number; number: number; minuteOfMonth: number; seconds: number; mobile: boolean };

function month(specs: CallSpec[]): Cdr[] {
  return specs.map((s, i) => {
    const start = new Date(Date.parse('2026-03-01T00:00:00+01:00') + s.minuteOfMonth * 60_000).toISOString();
    const callee = s.mobile ? `06${String(10000000 + s.number).padStart(8, '0')}` : fixed(s.number);
    return { ...call(users[s.user]!, callee, start, s.seconds), cdrId: `m-${String(i).padStart(4, '0')}` };
  });
}

function rateAll(cdrs: Cdr[]): { total: string; billedTotal: string } {
  const rater = raterFor([plan], 2);
  let billed = new Money(0);
  // Drain after every CDR, as a stream would: the sum of first prices and adjustments is what invoicing sees.
  for (const c of cdrs) {
    rater.rate(c);
    for (const { call, previous } of rater.drain().changes) billed = billed.plus(call.amount.minus(previous ?? 0));
  }
  let total = new Money(0);
  for (const periods of rater.totals().values()) for (const t of periods.values()) total = total.plus(t);
  return { total: total.toFixed(2), billedTotal: billed.toFixed(2) };
}

/**
 * A ledger as the stores keep it: calls in their stored form (CDR, billed amount, shares) and counters
 * as JSON, read back through a fresh rater after every drain, the way daily runs and restarted workers do.
 */
class LedgerState implements RatingState {
  readonly saved = new Map<string, string>();
  readonly byScope = new Map<string, Map<string, StoredCall>>();
  counter(key: string): SavedCounter | null {
    const json = this.saved.get(key);
    return json === undefined ? null : (JSON.parse(json) as SavedCounter);
  }
  calls(scope: ScopeMonth): StoredCall[] {
    return [...(this.byScope.get(scopeMonthKey(scope))?.values() ?? [])];
  }
  write(drained: ReturnType<Rater['drain']>): void {
    for (const c of drained.counters) this.saved.set(c.key, JSON.stringify(c.saved));
    for (const { call } of drained.changes) {
      const s = call.cdr.subscriber;
      const stored: StoredCall = { cdr: call.cdr, billed: call.amount, shares: sharesOf(call) };
      for (const [scope, scopeId] of [['user', s.userId], ['line', s.account], ['site', s.siteId], ['client', s.clientId]] as const) {
        const key = scopeMonthKey({ clientId: s.clientId, period: call.period, scope, scopeId });
        if (!this.byScope.has(key)) this.byScope.set(key, new Map());
        this.byScope.get(key)!.set(call.cdrId, stored);
      }
    }
  }
}

function rateThroughLedger(cdrs: Cdr[], batch: number, deferVisits = false, finalPrices?: Map<string, string>): string {
  const ledger = new LedgerState();
  let billed = new Money(0);
  for (let i = 0; i < cdrs.length; i += batch) {
    const rater = new Rater({ plans: new Map([[plan.id, plan]]), numbering, usersOf: () => 2, state: ledger, deferVisits });
    for (const c of cdrs.slice(i, i + batch)) rater.rate(c);
    const drained = rater.drain();
    for (const { call, previous } of drained.changes) billed = billed.plus(call.amount.minus(previous ?? 0));
    for (const { call } of drained.changes) finalPrices?.set(call.cdrId, `${call.amount.toFixed(2)} ${call.reason}`);
    ledger.write(drained);
  }
  return billed.toFixed(2);
}

describe('order independence', () => {
  it('gives the same total when every batch starts from the stored counters and calls (daily runs, restarts)', () => {
    fc.assert(
      fc.property(fc.array(callArb, { minLength: 5, maxLength: 60 }), fc.integer(), fc.integer({ min: 1, max: 12 }), (specs, seed, batch) => {
        const cdrs = month(specs);
        const inOrder = [...cdrs].sort((a, b) => a.startMs - b.startMs || (a.cdrId < b.cdrId ? -1 : 1));
        const shuffled = fc.sample(fc.shuffledSubarray(cdrs, { minLength: cdrs.length, maxLength: cdrs.length }), { numRuns: 1, seed })[0]!;
        const expected = rateAll(inOrder).total;
        expect(rateThroughLedger(inOrder, batch)).toBe(expected);
        expect(rateThroughLedger(shuffled, batch)).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('bills the same calls the same amounts when late calls visit their month once per batch (the streaming rater)', () => {
    fc.assert(
      fc.property(fc.array(callArb, { minLength: 5, maxLength: 60 }), fc.integer(), fc.integer({ min: 1, max: 30 }), (specs, seed, batch) => {
        const cdrs = month(specs);
        const shuffled = fc.sample(fc.shuffledSubarray(cdrs, { minLength: cdrs.length, maxLength: cdrs.length }), { numRuns: 1, seed })[0]!;
        const eager = new Map<string, string>();
        const deferred = new Map<string, string>();
        const eagerTotal = rateThroughLedger(shuffled, batch, false, eager);
        expect(rateThroughLedger(shuffled, batch, true, deferred)).toBe(eagerTotal);
        expect(Object.fromEntries(deferred)).toEqual(Object.fromEntries(eager));
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same month total to the cent, however the month’s CDRs arrive', () => {
    fc.assert(
      fc.property(fc.array(callArb, { minLength: 5, maxLength: 60 }), fc.integer(), (specs, seed) => {
        const cdrs = month(specs);
        const inOrder = [...cdrs].sort((a, b) => a.startMs - b.startMs || (a.cdrId < b.cdrId ? -1 : 1));
        const shuffled = fc.sample(fc.shuffledSubarray(cdrs, { minLength: cdrs.length, maxLength: cdrs.length }), { numRuns: 1, seed })[0]!;
        const a = rateAll(inOrder);
        const b = rateAll(shuffled);
        expect(b.total).toBe(a.total);
        expect(b.billedTotal).toBe(a.total); // first prices + adjustments = final total
        expect(a.billedTotal).toBe(a.total);
      }),
      { numRuns: 300 },
    );
  });

  it('prices each call the same way whatever the order (not only the total)', () => {
    fc.assert(
      fc.property(fc.array(callArb, { minLength: 5, maxLength: 60 }), (specs) => {
        const cdrs = month(specs);
        const price = (list: Cdr[]) => {
          const rater = raterFor([plan], 2);
          const calls = list.map((c) => rater.rate(c)!);
          return new Map(calls.map((c) => [c.cdrId, `${c.amount.toFixed(2)} ${c.reason}`]));
        };
        const forward = price(cdrs);
        const backward = price([...cdrs].reverse());
        expect(Object.fromEntries(backward)).toEqual(Object.fromEntries(forward));
      }),
      { numRuns: 300 },
    );
  });
});
