/** The answer at call setup, rule by rule, at each threshold's boundary (core/fraud/call-authorization.ts). */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../services/config/load-config.js';
import { HighRiskRanges } from '../../services/core/fraud/high-risk-ranges.js';
import { decideCall, type AuthorizationPolicy, type SetupContext } from '../../services/core/fraud/call-authorization.js';

const config = loadConfig('config');
const trunk = config.directory.ofAccount('trk01-t1')!; // 8 channels
const open: AuthorizationPolicy = { maxSetupsPerSecond: 10, maxSimultaneous: 8, refusedRanges: undefined, refusedClasses: [], refuseAbroadOutsidePlan: false };
const setup = (callee: string, over: Partial<SetupContext> = {}): SetupContext => {
  const e164 = config.numbering.normalize(callee);
  return { subscriber: trunk, callee: e164, destination: config.numbering.classify(e164), lock: 'none', setupsInLastSecond: 0, callsInProgress: 0, inPlan: false, ...over };
};
const answer = (c: SetupContext, p: AuthorizationPolicy = open) => `${decideCall(c, p).decision} ${decideCall(c, p).reason}`;

describe('decideCall', () => {
  it('lets the 10th setup of a second through and refuses the 11th', () => {
    expect(answer(setup('0145000001', { setupsInLastSecond: 9 }))).toBe('allow ok');
    expect(answer(setup('0145000001', { setupsInLastSecond: 10 }))).toBe('deny setup_rate');
    expect(answer(setup('0145000001', { setupsInLastSecond: 500 }), { ...open, maxSetupsPerSecond: undefined })).toBe('allow ok');
  });

  it('lets the 8th simultaneous call of an 8-channel trunk through and refuses the 9th', () => {
    expect(answer(setup('0145000001', { callsInProgress: 7 }))).toBe('allow ok');
    expect(answer(setup('0145000001', { callsInProgress: 8 }))).toBe('deny simultaneous_calls');
  });

  it('bars by lock level: foreign only abroad, outgoing and all everything', () => {
    expect(answer(setup('+48221234567', { lock: 'foreign' }))).toBe('deny lock_foreign');
    expect(answer(setup('0612345678', { lock: 'foreign' }))).toBe('allow ok');
    // Overseas departments are France: a foreign lock does not bar them.
    expect(answer(setup('+262262123456', { lock: 'foreign' }))).toBe('allow ok');
    expect(answer(setup('0612345678', { lock: 'outgoing' }))).toBe('deny lock_outgoing');
    expect(answer(setup('0612345678', { lock: 'all' }))).toBe('deny lock_all');
  });

  it('always relays emergency numbers, over every lock, rate and channel count', () => {
    for (const n of ['112', '15', '17', '18', '114', '115', '119', '116000']) {
      expect(answer(setup(n, { lock: 'all', setupsInLastSecond: 99, callsInProgress: 99 }), { ...open, refusedClasses: ['fr_short'] })).toBe('allow emergency');
    }
  });

  it('refuses the high-risk ranges and classes the policy names, and only those', () => {
    const strict = { ...open, refusedRanges: HighRiskRanges.ofPrefixes(['882', '53']), refusedClasses: ['fr_premium' as const] };
    expect(answer(setup('+88213000000'), strict)).toBe('deny high_risk_destination');
    expect(answer(setup('+5372345678'), strict)).toBe('deny high_risk_destination');
    expect(answer(setup('0899123456'), strict)).toBe('deny barred_destination');
    expect(answer(setup('0899123456'))).toBe('allow ok');
    expect(answer(setup('+88213000000'))).toBe('allow ok');
    expect(answer(setup('+4930123456'), strict)).toBe('allow ok');
    // The shipped list: +979 (international premium rate) refused, Germany not.
    const shipped = { ...open, refusedRanges: config.fraud.highRisk };
    expect(answer(setup('+979123456789'), shipped)).toBe('deny high_risk_destination');
    expect(answer(setup('+4930123456'), shipped)).toBe('allow ok');
  });

  it('refuses calls abroad outside the plan when the policy says so, and only abroad', () => {
    const strict = { ...open, refuseAbroadOutsidePlan: true };
    expect(answer(setup('+4930123456', { inPlan: false }), strict)).toBe('deny outside_plan');
    expect(answer(setup('+4930123456', { inPlan: true }), strict)).toBe('allow ok');
    expect(answer(setup('0145000001', { inPlan: false }), strict)).toBe('allow ok');
    expect(answer(setup('+4930123456', { inPlan: false }))).toBe('allow ok');
  });
});
