import { describe, expect, it } from 'vitest';
import type { Cdr } from '../../services/core/cdr.js';
import { Tariff, tariffSchema } from '../../services/core/tariff.js';
import { screenCdrIds } from '../../services/ingest/cdr-identity.js';
import { call, makePlan, raterFor, subscriber } from '../support/rating.js';

describe('tariff versions', () => {
  const tariff = new Tariff(
    tariffSchema.parse({
      id: 'versions',
      currency: 'EUR',
      example_prices: true,
      default: { name: 'Other', per_minute: '1.00' },
      entries: [
        { prefix: '33', name: 'France (March list)', per_minute: '0.02', valid_until: '2026-04-01' },
        { prefix: '33', name: 'France (April list)', per_minute: '0.03', valid_from: '2026-04-01' },
      ],
    }),
  );

  it('changes price list at midnight in Paris, not at midnight UTC', () => {
    const plan = { ...makePlan({}), tariffTable: tariff };
    const rater = raterFor([plan]);
    const u = subscriber(plan.id);
    const outOfPlan = (at: string) => rater.rate(call(u, '+4930123456', at, 60, { callee: '+33899123456' }))!;
    // 00:30 on 1 April in Paris is still 31 March in UTC
    expect(outOfPlan('2026-04-01T00:30:00+02:00').entry.name).toBe('France (April list)');
    expect(outOfPlan('2026-03-31T23:30:00+02:00').entry.name).toBe('France (March list)');
  });
});

describe('cdr_id identity', () => {
  const cdr = (id: string, clientId: string): Cdr => call(subscriber('test_plan', { clientId }), '0142000000', '2026-03-02T10:00:00+01:00', 60, { cdrId: id });

  it('counts the same id for the same client as a duplicate and rejects it for another client', () => {
    const billed = new Map([['x-1', 'C-1']]);
    const r = screenCdrIds([cdr('x-1', 'C-1'), cdr('x-1', 'C-2'), cdr('x-2', 'C-1'), cdr('x-2', 'C-1'), cdr('x-2', 'C-3')], (id) => billed.get(id));
    expect(r.fresh.map((c) => c.cdrId)).toEqual(['x-2']);
    expect(r.duplicates).toBe(2);
    expect(r.conflicts.map((c) => [c.reason, c.detail.slice(0, 45)])).toEqual([
      ['cdr_id_conflict', 'cdr_id "x-1" is already billed to client C-1,'],
      ['cdr_id_conflict', 'cdr_id "x-2" is already billed to client C-1,'],
    ]);
  });
});
