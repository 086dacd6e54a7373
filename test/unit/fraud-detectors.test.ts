import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../services/core/alert.js';
import type { Cdr, Subscriber } from '../../services/core/cdr.js';
import { loadConfig } from '../../services/config/load-config.js';
import { pipelineFor } from '../support/pipeline.js';

const config = loadConfig('config');
const trunk = config.directory.resolve('trk01-t1', '')!; // C-TRK-01, Technicophone Trunk SIP
const centrex = config.directory.resolve('tcx01-u1001', '')!; // C-TCX-01
const dialer = config.directory.resolve('trk02-dialer', '')!; // declared automated system, 0162 numbers

let seq = 0;
function cdr(sub: Subscriber, at: string | number, o: Partial<Cdr> & { talkMs?: number } = {}): Cdr {
  const startMs = typeof at === 'number' ? at : Date.parse(at);
  const talkMs = o.talkMs ?? 60_000;
  const answered = (o.disposition ?? 'answered') === 'answered';
  return {
    cdrId: `f-${String(++seq).padStart(6, '0')}`,
    account: sub.account,
    caller: sub.numbers[0]!,
    callerOriginal: '',
    callee: '+33247000001',
    startMs,
    answerMs: answered ? startMs + 2000 : null,
    endMs: startMs + 2000 + (answered ? talkMs : 0),
    billableSeconds: answered ? Math.round(talkMs / 1000) : 0,
    disposition: 'answered',
    direction: 'out',
    leg: 'originating',
    forwardReason: null,
    device: '',
    subscriber: sub,
    source: 'test',
    line: seq,
    ...o,
  };
}

function alertsOf(cdrs: Cdr[]): Alert[] {
  const p = pipelineFor(config);
  for (const c of cdrs) p.process(c);
  return p.drain().alerts;
}

const T0 = Date.parse('2026-03-04T14:03:12.000+01:00');
/** n unanswered setups spread evenly over `spanMs` from `from`, to distinct numbers. */
const setups = (n: number, from: number, spanMs: number) =>
  Array.from({ length: n }, (_, i) => cdr(trunk, from + Math.floor((i * spanMs) / n), { disposition: 'no_answer', callee: `+3324700${String(1000 + i)}` }));

describe('fraud.call_setup_rate (more than 10 setups in one second)', () => {
  it('is silent at 10 setups within one second and fires at 11', () => {
    expect(alertsOf(setups(10, T0, 999)).filter((a) => a.rule === 'fraud.call_setup_rate')).toEqual([]);
    const alerts = alertsOf(setups(11, T0, 999)).filter((a) => a.rule === 'fraud.call_setup_rate');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ clientId: 'C-TRK-01', value: 11, threshold: 10, severity: 'critical' });
    expect(alerts[0]!.message).toMatch(/^client C-TRK-01: 11 call setups in 1 s at 2026-03-04 14:03:12, limit 10 — clause « Limiter .*10 sessions\s+par seconde/);
  });

  it('sees a burst that straddles a second boundary (6 in the end of one second, 5 in the start of the next)', () => {
    const burst = [...setups(6, T0 + 500, 400), ...setups(5, T0 + 1000, 400)];
    expect(alertsOf(burst).filter((a) => a.rule === 'fraud.call_setup_rate')).toHaveLength(1);
  });

  it('does not count 11 setups spread over just over a second', () => {
    expect(alertsOf(setups(11, T0, 1100)).filter((a) => a.rule === 'fraud.call_setup_rate')).toEqual([]);
  });

  it('finds the same alert (id, peak, start) whatever the arrival order', () => {
    const burst = [...setups(30, T0, 10_000), ...setups(14, T0 + 20_000, 900), ...setups(12, T0 + 40_000, 900)];
    const reference = alertsOf(burst).filter((a) => a.rule === 'fraud.call_setup_rate');
    expect(reference.map((a) => [a.value, a.firstSeenMs])).toEqual([[14, T0 + 20_000]]);
    fc.assert(
      fc.property(fc.shuffledSubarray(burst, { minLength: burst.length, maxLength: burst.length }), (shuffled) => {
        const alerts = alertsOf(shuffled).filter((a) => a.rule === 'fraud.call_setup_rate');
        expect(alerts.map((a) => [a.alertId, a.value, a.firstSeenMs])).toEqual(reference.map((a) => [a.alertId, a.value, a.firstSeenMs]));
      }),
      { numRuns: 50 },
    );
  });

  it('counts a burst that arrives a day late, after CDRs of later days', () => {
    const later = setups(3, T0 + 30 * 3_600_000, 60_000);
    const alerts = alertsOf([...later, ...setups(15, T0, 750)]).filter((a) => a.rule === 'fraud.call_setup_rate');
    expect(alerts.map((a) => a.value)).toEqual([15]);
  });

  it('raises one alert for a ten-minute dialler burst, updated with its peak and end, whatever the order', () => {
    const burst = setups(12_000, T0, 600_000); // 20 setups a second for 10 minutes
    const alerts = alertsOf(burst).filter((a) => a.rule === 'fraud.call_setup_rate');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ value: 20, firstSeenMs: T0 });
    expect(alerts[0]!.lastSeenMs).toBeGreaterThan(T0 + 599_000);
  });

  it('never counts emergency calls', () => {
    const calls = Array.from({ length: 15 }, (_, i) => cdr(trunk, T0 + i * 50, { callee: '112' }));
    expect(alertsOf(calls)).toEqual([]);
  });
});

describe('fraud.premium_cli (089B caller IDs and other premium forms)', () => {
  it('rewrites a 089B caller ID to the account’s own number, keeps the original, and alerts once for the month', () => {
    const p = pipelineFor(config);
    const calls = [0, 1, 2].map((i) => p.process(cdr(centrex, T0 + i * 600_000, { caller: '+33899123456' }))!);
    expect(calls[0]!.cdr).toMatchObject({ caller: '+33247501001', callerOriginal: '+33899123456' });
    const alerts = p.drain().alerts;
    expect(alerts.map((a) => [a.rule, a.value])).toEqual([['fraud.premium_cli', 3]]);
    expect(alerts[0]!.message).toMatch(/premium-rate caller ID \+33899123456, rewritten to the installation number \+33247501001/);
  });

  it('alerts on a 118XYZ or 3BPQ caller ID without rewriting it', () => {
    const p = pipelineFor(config);
    const call = p.process(cdr(centrex, T0, { caller: '118712' }))!;
    expect(call.cdr.caller).toBe('118712');
    expect(p.drain().alerts.map((a) => a.rule)).toEqual(['fraud.premium_cli']);
  });

  it('leaves an ordinary caller ID alone', () => {
    expect(alertsOf([cdr(centrex, T0)])).toEqual([]);
  });
});

describe('fraud.cli_policy', () => {
  it('accepts a declared automated system presenting its 0162 number', () => {
    expect(alertsOf([cdr(dialer, T0)])).toEqual([]);
  });

  it('flags an automated system presenting a mobile, or a number outside 0ZAB', () => {
    const mobile = alertsOf([cdr(dialer, T0, { caller: '+33612345678' })]);
    expect(mobile.map((a) => a.rule)).toEqual(['fraud.cli_policy']);
    expect(mobile[0]!.message).toMatch(/06\/07 mobile/);
    const geographic = alertsOf([cdr(dialer, T0, { caller: '+33238701000' })]);
    expect(geographic[0]!.message).toMatch(/outside the 0ZAB ranges/);
  });

  it('flags a presented number the client does not own, but not a forwarded leg’s original caller', () => {
    expect(alertsOf([cdr(centrex, T0, { caller: '+33142999999' })]).map((a) => a.rule)).toEqual(['fraud.cli_policy']);
    expect(alertsOf([cdr(centrex, T0, { caller: '+33142999999', leg: 'forwarded', forwardReason: 'busy' })])).toEqual([]);
  });

  it('holds a declared platform line to 0937, 0938 and 09390-09394', () => {
    const platform = config.directory.resolve('trk02-platform', '')!;
    expect(alertsOf([cdr(platform, T0)])).toEqual([]);
    const outside = alertsOf([cdr(platform, T0, { caller: '+33238701000' })]);
    expect(outside.map((a) => a.rule)).toEqual(['fraud.cli_policy']);
    expect(outside[0]!.message).toMatch(/technical platform presents a number outside 0937/);
  });

  it('accepts any number of the same client, from another line', () => {
    expect(alertsOf([cdr(centrex, T0, { caller: '+33247501003' })])).toEqual([]);
  });
});

describe('fraud.hyper_short_calls (answered calls under 2 s)', () => {
  const calls = (n: number, talkMs: number) => Array.from({ length: n }, (_, i) => cdr(trunk, T0 + i * 60_000, { talkMs, callee: `+3324700${1000 + i}` }));

  it('counts 1.99 s and not 2 s', () => {
    expect(alertsOf(calls(30, 1990)).map((a) => a.rule)).toEqual(['fraud.hyper_short_calls']);
    expect(alertsOf(calls(30, 2000))).toEqual([]);
  });

  it('needs the count and the share: 29 short calls are not enough', () => {
    expect(alertsOf(calls(29, 1000))).toEqual([]);
  });
});

describe('fraud.premium_destination and fraud.spend_velocity', () => {
  it('fires on the 16th premium call of an hour, not the 15th', () => {
    const premium = (n: number) => Array.from({ length: n }, (_, i) => cdr(centrex, T0 + i * 10_000, { callee: '+33899000111', talkMs: 5000 }));
    expect(alertsOf(premium(15)).filter((a) => a.rule === 'fraud.premium_destination')).toEqual([]);
    expect(alertsOf(premium(16)).filter((a) => a.rule === 'fraud.premium_destination')).toHaveLength(1);
  });

  it('fires when out-of-bundle spend passes the hourly ceiling', () => {
    // Russia is in no plan and no tariff entry: 1.50 €/min by default; 41 min = 61.50 € > 60.00 €
    const alerts = alertsOf([cdr(centrex, T0, { callee: '+74951234567', talkMs: 41 * 60_000 })]);
    const spend = alerts.filter((a) => a.rule === 'fraud.spend_velocity');
    expect(spend).toHaveLength(1);
    expect(spend[0]).toMatchObject({ value: '61.50', threshold: '60.00' });
  });
});
