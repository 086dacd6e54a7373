/**
 * Issue 21 part 4, patterns that passed unseen: bursts of failed attempts abroad (toll-fraud probing,
 * the prelude to IRSF) and wangiri call-backs; both read the high-risk ranges of config/high-risk-ranges.yaml.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../services/core/alert.js';
import { CdrPipeline } from '../../services/core/cdr-pipeline.js';
import type { Cdr, Subscriber } from '../../services/core/cdr.js';
import type { SavedFraudState } from '../../services/core/fraud/fraud-detector.js';
import { loadConfig, type Config } from '../../services/config/load-config.js';
import { pipelineContext } from '../../services/config/pipeline-context.js';
import { pipelineFor } from '../support/pipeline.js';

const config = loadConfig('config');
const users = ['tcx01-u1001', 'tcx01-u1002', 'tcx01-u1003'].map((a) => config.directory.resolve(a, '')!); // C-TCX-01
const [u1] = users as [Subscriber];
const trunk = config.directory.resolve('trk01-t1', '')!; // C-TRK-01

let seq = 0;
function cdr(sub: Subscriber, startMs: number, o: Partial<Cdr> & { talkMs?: number; ringMs?: number } = {}): Cdr {
  const disposition = o.disposition ?? 'answered';
  const answered = disposition === 'answered';
  const ringMs = o.ringMs ?? 2000;
  const talkMs = o.talkMs ?? 60_000;
  const { talkMs: _t, ringMs: _r, ...fields } = o;
  return {
    cdrId: `p-${String(++seq).padStart(6, '0')}`,
    account: sub.account,
    caller: sub.numbers[0]!,
    callerOriginal: '',
    callee: '+33247000001',
    startMs,
    answerMs: answered ? startMs + ringMs : null,
    endMs: startMs + ringMs + (answered ? talkMs : 0),
    billableSeconds: answered ? Math.round(talkMs / 1000) : 0,
    disposition,
    direction: 'out',
    leg: 'originating',
    forwardReason: null,
    device: '',
    subscriber: sub,
    source: 'test',
    line: seq,
    ...fields,
  };
}

function alertsOf(cdrs: Cdr[], cfg: Config = config): Alert[] {
  const p = pipelineFor(cfg);
  for (const c of cdrs) p.process(c);
  return p.drain().alerts;
}
const only = (alerts: Alert[], rule: string) => alerts.filter((a) => a.rule === rule);

const T0 = Date.parse('2026-03-04T14:03:12.000+01:00');
const MIN = 60_000;
const israel = (i: number) => `+97250${String(1_000_000 + i).slice(1)}`; // +972 50 xxx xxxx
const poland = (i: number) => `+48501${String(1_000_000 + i).slice(1)}`; // +48 501 xxx xxx
const FAILED = ['no_answer', 'busy', 'failed', 'rejected'] as const;

/** n failed attempts of one account to `number(i)`, evenly from `from` over `spanMs` (first at from, last at from + spanMs). */
function failed(sub: Subscriber, n: number, from: number, spanMs: number, number = israel): Cdr[] {
  return Array.from({ length: n }, (_, i) =>
    cdr(sub, from + (n === 1 ? 0 : Math.round((i * spanMs) / (n - 1))), { disposition: FAILED[i % 4], callee: number(i), ringMs: 3000 }),
  );
}

describe('fraud.failed_attempts (toll-fraud probing)', () => {
  it('catches the 162 failed attempts to Israel and Poland from three users within minutes: one alert per user, with the evidence', () => {
    // 54 attempts per user in 8 minutes, users interleaved, Israel and Poland alternating, a few numbers retried.
    const calls: Cdr[] = [];
    for (let i = 0; i < 162; i++) {
      const sub = users[i % 3]!;
      const to = i % 2 === 0 ? israel(Math.floor(i / 2) % 40) : poland(Math.floor(i / 2) % 40);
      calls.push(cdr(sub, T0 + i * 3000, { disposition: FAILED[i % 4], callee: to, ringMs: 1500 }));
    }
    const alerts = alertsOf(calls);
    expect(alerts.map((a) => a.rule)).toEqual(['fraud.failed_attempts', 'fraud.failed_attempts', 'fraud.failed_attempts']);
    expect(alerts.map((a) => [a.clientId, a.userId, a.value, a.threshold, a.severity])).toEqual(
      ['U1001', 'U1002', 'U1003'].map((u) => ['C-TCX-01', u, 54, 20, 'critical']),
    );
    const first = alerts.find((a) => a.userId === 'U1001')!;
    expect(first.firstSeenMs).toBe(T0);
    expect(first.cdrIds).toHaveLength(20);
    expect(first.message).toMatch(
      /^client C-TCX-01, account tcx01-u1001: 54 failed attempts \(not answered\) to international, premium or high-risk numbers within 10 min, from 2026-03-04 14:03:12 to 2026-03-04 14:11:09: 54 distinct number\(s\) in 2 destination\(s\) \(IL 27, PL 27\); limit 20 in 10 min — clause « Le Prestataire se réserve/,
    );
  });

  it('is silent at 19 failed attempts in 10 minutes and fires at 20', () => {
    expect(only(alertsOf(failed(u1, 19, T0, 9 * MIN)), 'fraud.failed_attempts')).toEqual([]);
    const alerts = only(alertsOf(failed(u1, 20, T0, 9 * MIN)), 'fraud.failed_attempts');
    expect(alerts.map((a) => [a.value, a.threshold])).toEqual([[20, 20]]);
  });

  it('counts a window of less than 10 minutes from first to last attempt: exactly 10 minutes apart is two windows', () => {
    expect(only(alertsOf(failed(u1, 20, T0, 10 * MIN)), 'fraud.failed_attempts')).toEqual([]);
    expect(only(alertsOf(failed(u1, 20, T0, 10 * MIN - 1)), 'fraud.failed_attempts')).toHaveLength(1);
  });

  it('does not count answered calls, even very short ones', () => {
    const calls = [...failed(u1, 19, T0, 5 * MIN), ...Array.from({ length: 10 }, (_, i) => cdr(u1, T0 + i * 20_000, { callee: poland(i), talkMs: 1000 }))];
    expect(only(alertsOf(calls), 'fraud.failed_attempts')).toEqual([]);
  });

  it('never counts emergency or internal calls, nor French numbers, nor DROM ones by default', () => {
    const to = (numbers: (i: number) => string) => alertsOf(failed(u1, 40, T0, 5 * MIN, numbers));
    expect(to(() => '112')).toEqual([]);
    expect(to(() => '1002')).toEqual([]); // an extension of the customer's PBX
    expect(to((i) => `+336120000${String(10 + i)}`)).toEqual([]);
    expect(to((i) => `+2626921000${String(10 + i).slice(-2)}`)).toEqual([]); // Réunion mobile
  });

  it('counts premium-rate French numbers, numbers abroad no metadata knows, and the listed high-risk ranges', () => {
    for (const numbers of [(i: number) => `+338990001${String(10 + i)}`, (i: number) => `+97200${String(10 + i)}`, (i: number) => `+88216${String(1000000 + i)}`]) {
      const alerts = only(alertsOf(failed(u1, 20, T0, 5 * MIN, numbers)), 'fraud.failed_attempts');
      expect(alerts, numbers(0)).toHaveLength(1);
    }
    const satellite = only(alertsOf(failed(u1, 20, T0, 5 * MIN, (i) => `+88216${String(1000000 + i)}`)), 'fraud.failed_attempts')[0]!;
    expect(satellite.message).toMatch(/\(\+882 International Networks .*20\), 20 to listed high-risk ranges/);
  });

  it('takes a per-client override of the thresholds', () => {
    const relaxed: Config = { ...config, fraud: { ...config.fraud, overrides: { 'C-TCX-01': { failed_attempts: { min_attempts: 50 } } } } };
    expect(only(alertsOf(failed(u1, 49, T0, 5 * MIN), relaxed), 'fraud.failed_attempts')).toEqual([]);
    expect(only(alertsOf(failed(u1, 50, T0, 5 * MIN), relaxed), 'fraud.failed_attempts')).toHaveLength(1);
  });

  it('finds the same alert (id, peak, start, sample) whatever the arrival order', () => {
    const burst = [...failed(u1, 12, T0, 20 * MIN), ...failed(u1, 25, T0 + 40 * MIN, 7 * MIN), ...failed(u1, 22, T0 + 60 * MIN, 9 * MIN)];
    const key = (as: Alert[]) => only(as, 'fraud.failed_attempts').map((a) => [a.alertId, a.value, a.firstSeenMs, a.cdrIds.join(), a.message]);
    const reference = key(alertsOf(burst));
    expect(reference.map((r) => [r[1], r[2]])).toEqual([[25, T0 + 40 * MIN]]);
    fc.assert(
      fc.property(fc.shuffledSubarray(burst, { minLength: burst.length, maxLength: burst.length }), (shuffled) => {
        expect(key(alertsOf(shuffled))).toEqual(reference);
      }),
      { numRuns: 30 },
    );
  });

  it('keeps its windows across a saved and restored state, and forgets them once closed', () => {
    const saved = new Map<string, SavedFraudState>();
    const source = { load: (c: string) => saved.get(c) ?? null };
    const run = (cdrs: Cdr[]) => {
      const p = new CdrPipeline(pipelineContext(config, { fraudState: source }));
      for (const c of cdrs) p.process(c);
      const drained = p.drain();
      for (const f of drained.fraudStates) saved.set(f.clientId, JSON.parse(JSON.stringify(f.saved)) as SavedFraudState);
      return drained.alerts;
    };
    const calls = failed(u1, 20, T0, 6 * MIN);
    expect(only(run(calls.slice(0, 12)), 'fraud.failed_attempts')).toEqual([]);
    expect(saved.get('C-TCX-01')!.attempts![0]![2]).toHaveLength(12);
    expect(only(run(calls.slice(12)), 'fraud.failed_attempts').map((a) => a.value)).toEqual([20]);
    // A call three hours later: the window and its alert are closed and forgotten.
    run([cdr(u1, T0 + 3 * 60 * MIN)]);
    expect(saved.get('C-TCX-01')!.attempts).toBeUndefined();
  });
});

describe('fraud.wangiri (short rings from abroad, then call-backs)', () => {
  const SL = '+23225123456'; // Sierra Leone, a listed range
  const DE = '+4930123456';
  const ring = (from: string, at: number, o: Partial<Cdr> & { ringMs?: number; talkMs?: number } = {}) =>
    cdr(u1, at, { direction: 'in', caller: from, callee: u1.numbers[0]!, disposition: 'no_answer', ringMs: 3000, ...o });
  const callBack = (to: string, at: number, o: Partial<Cdr> & { talkMs?: number } = {}) => cdr(u1, at, { callee: to, talkMs: 90_000, ...o });

  it('reaches the detector without being billed: an inbound call is rated free', () => {
    const p = pipelineFor(config);
    const call = p.process(ring(SL, T0))!;
    expect(call).not.toBeNull();
    expect([call.fixedReason, call.amount.toFixed(2)]).toEqual(['inbound', '0.00']);
  });

  it('alerts on the call-back to a number that rang once, naming it, with what the call-back cost', () => {
    const calls = [ring(SL, T0), ring(SL, T0 + 40 * MIN), callBack(SL, T0 + 2 * 60 * MIN), callBack(SL, T0 + 2 * 60 * MIN + 5 * MIN, { disposition: 'no_answer', talkMs: 0 })];
    const alerts = alertsOf(calls);
    expect(alerts.map((a) => a.rule)).toEqual(['fraud.wangiri']);
    const a = alerts[0]!;
    expect(a).toMatchObject({ clientId: 'C-TCX-01', userId: '', value: 2, threshold: 1, severity: 'warning', firstSeenMs: T0 + 40 * MIN, lastSeenMs: T0 + 125 * MIN });
    expect(new Set(a.cdrIds)).toEqual(new Set(calls.slice(1).map((c) => c.cdrId)));
    expect(a.message).toMatch(
      /^client C-TCX-01: 2 call-back\(s\) on 2026-03-04 to 1 number\(s\) that rang it briefly from abroad less than 24 h before: \+23225123456 \(SL, 2 short ring\(s\), last at 2026-03-04 14:43:12\); 1 answered, \d+\.\d\d EUR out of bundle; limit 1 — clause « Appels générés en réponse/,
    );
  });

  it('needs a short ring: under 8 s unanswered (7.999 s is, 8 s is not), or under 3 s answered', () => {
    expect(alertsOf([ring(DE, T0, { ringMs: 7999 }), callBack(DE, T0 + MIN * 30)]).map((a) => a.rule)).toEqual(['fraud.wangiri']);
    expect(alertsOf([ring(DE, T0, { ringMs: 8000 }), callBack(DE, T0 + MIN * 30)])).toEqual([]);
    expect(alertsOf([ring(DE, T0, { disposition: 'answered', talkMs: 2999 }), callBack(DE, T0 + MIN * 30)]).map((a) => a.rule)).toEqual(['fraud.wangiri']);
    expect(alertsOf([ring(DE, T0, { disposition: 'answered', talkMs: 3000 }), callBack(DE, T0 + MIN * 30)])).toEqual([]);
    // A busy or failed inbound call never rang: no lure.
    expect(alertsOf([ring(DE, T0, { disposition: 'busy', ringMs: 1000 }), callBack(DE, T0 + MIN * 30)])).toEqual([]);
  });

  it('counts call-backs less than 24 h after the ring, and only after it', () => {
    expect(alertsOf([ring(SL, T0), callBack(SL, T0 + 24 * 60 * MIN - 1)]).map((a) => a.rule)).toEqual(['fraud.wangiri']);
    expect(alertsOf([ring(SL, T0), callBack(SL, T0 + 24 * 60 * MIN)])).toEqual([]);
    expect(alertsOf([callBack(SL, T0 - MIN), ring(SL, T0)])).toEqual([]);
  });

  it('ignores rings from French numbers and calls to other numbers', () => {
    expect(alertsOf([ring('+33612345678', T0), callBack('+33612345678', T0 + MIN * 30)])).toEqual([]);
    expect(alertsOf([ring(SL, T0), callBack('+23225999999', T0 + MIN * 30)])).toEqual([]);
  });

  it('does not mistake a missed call from a partner abroad that rang a while for wangiri', () => {
    expect(alertsOf([ring(DE, T0, { ringMs: 25_000 }), callBack(DE, T0 + MIN * 10)])).toEqual([]);
  });

  it('forgets its rings once the window has closed', () => {
    const saved = new Map<string, SavedFraudState>();
    const source = { load: (c: string) => saved.get(c) ?? null };
    const run = (cdrs: Cdr[]) => {
      const p = new CdrPipeline(pipelineContext(config, { fraudState: source }));
      for (const c of cdrs) p.process(c);
      const drained = p.drain();
      for (const f of drained.fraudStates) saved.set(f.clientId, JSON.parse(JSON.stringify(f.saved)) as SavedFraudState);
      return drained.alerts;
    };
    run([ring(SL, T0)]);
    expect(saved.get('C-TCX-01')!.rings![1].map(([n]) => n)).toEqual([SL]);
    expect(run([callBack(SL, T0 + 60 * MIN)]).map((a) => a.rule)).toEqual(['fraud.wangiri']);
    run([callBack('+33247000001', T0 + 27 * 60 * MIN)]);
    expect(saved.get('C-TCX-01')!.rings).toBeUndefined();
  });

  it('is per client: a ring to one client and a call-back from another is not a call-back', () => {
    expect(alertsOf([ring(SL, T0), cdr(trunk, T0 + MIN * 30, { callee: SL })])).toEqual([]);
  });
});
