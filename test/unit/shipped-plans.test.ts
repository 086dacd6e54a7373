/**
 * One worked example per shipped plan. Each expected amount is computed by hand from the contract
 * (which calls the forfait covers) and the plan's example tariff (config/tariffs), in the comment of
 * its row. Amounts are to the ten-thousandth of a euro, as the tariffs round.
 */
import { describe, expect, it } from 'vitest';
import type { Cdr, Direction, Disposition, ForwardReason, Leg } from '../../services/core/cdr.js';
import { loadConfig } from '../../services/config/load-config.js';
import { Rater } from '../../services/core/rating/rater.js';

const config = loadConfig('config');

interface Row {
  account: string;
  callee: string;
  /** Paris wall-clock start in March 2026 (winter time, +01:00). */
  at: string;
  seconds: number;
  leg?: Leg;
  forward?: ForwardReason;
  disposition?: Disposition;
  direction?: Direction;
  amount: string;
  reason: string;
}

let seq = 0;
function cdrOf(r: Row): Cdr {
  const subscriber = config.directory.resolve(r.account, '')!;
  const startMs = Date.parse(`2026-03-${r.at}:00+01:00`);
  const answered = (r.disposition ?? 'answered') === 'answered';
  return {
    cdrId: `w-${++seq}`,
    account: r.account,
    caller: subscriber.numbers[0]!,
    callerOriginal: '',
    callee: config.numbering.normalize(r.callee),
    startMs,
    answerMs: answered ? startMs + 3000 : null,
    endMs: startMs + 3000 + (answered ? r.seconds : 0) * 1000,
    billableSeconds: answered ? r.seconds : 0,
    disposition: r.disposition ?? 'answered',
    direction: r.direction ?? 'out',
    leg: r.leg ?? 'originating',
    forwardReason: r.forward ?? null,
    device: 'desk',
    subscriber,
    source: 'worked-example',
    line: seq,
  };
}

function rate(rows: Row[]) {
  const rater = new Rater({ plans: config.plans, numbering: config.numbering, usersOf: (c, s) => config.directory.usersOf(c, s) });
  const calls = rows.map((r) => rater.rate(cdrOf(r))!);
  return rows.map((r, i) => ({ expected: [r.amount, r.reason], actual: [calls[i]!.amount.toFixed(4), calls[i]!.reason] }));
}

function check(rows: Row[]) {
  for (const { expected, actual } of rate(rows)) expect(actual).toEqual(expected);
}

describe('worked examples, one per shipped plan', () => {
  it('Technicophone Centrex (30 s then per second; fixed 0.02, mobile 0.06 €/min)', () => {
    const u = 'tcx01-u1001';
    check([
      { account: u, callee: '0247123456', at: '02T09:00', seconds: 180, amount: '0.0000', reason: 'bundle' }, // 02 is national fixed
      { account: u, callee: '0612345678', at: '02T09:10', seconds: 300, amount: '0.0000', reason: 'bundle' }, // 06 national mobile
      { account: u, callee: '+49301234567', at: '02T09:20', seconds: 120, amount: '0.0000', reason: 'bundle' }, // DE fixed, on the example order form
      { account: u, callee: '+4915112345678', at: '02T09:30', seconds: 90, amount: '0.1800', reason: 'out_of_plan_destination' }, // DE mobile: 0.12 × 90/60
      { account: u, callee: '0899123456', at: '02T09:40', seconds: 45, amount: '0.7200', reason: 'out_of_plan_destination' }, // 089: 0.80 × 45/60 + 0.12
      { account: u, callee: '0612345678', at: '02T10:00', seconds: 120, leg: 'forwarded', forward: 'busy', amount: '0.1200', reason: 'fair_use.forwarding' }, // « renvois et transferts » excluded: 0.06 × 2
      { account: u, callee: '0145000000', at: '02T10:10', seconds: 0, disposition: 'no_answer', amount: '0.0000', reason: 'not_answered' },
      { account: u, callee: '3949', at: '02T10:20', seconds: 60, amount: '0.3500', reason: 'out_of_plan_destination' }, // short number 0.35 × 1
      { account: u, callee: '112', at: '02T10:30', seconds: 200, amount: '0.0000', reason: 'emergency' },
      { account: u, callee: '+12125551234', at: '02T10:40', seconds: 10, amount: '0.0150', reason: 'out_of_plan_destination' }, // US not listed: first period 30 s × 0.03
      { account: u, callee: '0612345678', at: '02T11:00', seconds: 600, direction: 'in', amount: '0.0000', reason: 'inbound' },
    ]);
  });

  it('Technicophone Trunk SIP (transfers excluded; thresholds × 4 channels keep a busy trunk in bundle)', () => {
    const t = 'trk01-t2';
    check([
      { account: t, callee: '0241000001', at: '03T09:00', seconds: 20, amount: '0.0000', reason: 'bundle' },
      { account: t, callee: '0241000002', at: '03T09:01', seconds: 45, leg: 'transferred', amount: '0.0150', reason: 'fair_use.forwarding' }, // 0.02 × 45/60
    ]);
  });

  it('Technicophone VGA (only permanent forwarding is excluded)', () => {
    const l = 'vga01-l1';
    check([
      { account: l, callee: '0612345678', at: '04T09:00', seconds: 600, leg: 'forwarded', forward: 'unconditional', amount: '0.6000', reason: 'fair_use.forwarding' }, // 0.06 × 10
      { account: l, callee: '0612345678', at: '04T10:00', seconds: 600, leg: 'forwarded', forward: 'busy', amount: '0.0000', reason: 'bundle' },
    ]);
  });

  it('Technicophone mobile (no international in the forfait; permanent forwarding excluded)', () => {
    const m = 'mob01-1';
    check([
      { account: m, callee: '0547000000', at: '05T09:00', seconds: 300, amount: '0.0000', reason: 'bundle' },
      { account: m, callee: '+49301234567', at: '05T09:10', seconds: 60, amount: '0.0300', reason: 'out_of_plan_destination' }, // « option international »: 0.03 × 1
      { account: m, callee: '0547000001', at: '05T09:20', seconds: 30, leg: 'forwarded', forward: 'unconditional', amount: '0.0100', reason: 'fair_use.forwarding' }, // 0.02 × 30/60
    ]);
  });

  it('WITECH (per started minute; 2 h of forwarding a month included, the rest priced)', () => {
    const u = 'wit01-u1';
    check([
      { account: u, callee: '0320000001', at: '06T09:00', seconds: 3000, leg: 'forwarded', forward: 'unconditional', amount: '0.0000', reason: 'bundle' },
      { account: u, callee: '0320000001', at: '07T09:00', seconds: 3000, leg: 'forwarded', forward: 'unconditional', amount: '0.0000', reason: 'bundle' },
      // 9,000 s forwarded: 1,800 s beyond 7,200 s → 30 min × 0.022
      { account: u, callee: '0320000001', at: '08T09:00', seconds: 3000, leg: 'forwarded', forward: 'unconditional', amount: '0.6600', reason: 'fair_use.forwarding' },
      { account: u, callee: '+4915112345678', at: '08T11:00', seconds: 100, amount: '0.0000', reason: 'bundle' }, // DE fixed and mobile on the example order form
      { account: u, callee: '0899123456', at: '08T12:00', seconds: 61, amount: '1.7200', reason: 'out_of_plan_destination' }, // 2 started minutes × 0.80 + 0.12
    ]);
  });

  it('ProgetCom Full Illimité (fixed lines of the 44 countries; 151st number re-prices the month with the 400 % penalty)', () => {
    const rows: Row[] = Array.from({ length: 151 }, (_, i) => ({
      account: 'pgc01-u1',
      callee: `04910${String(10000 + i).padStart(5, '0')}`,
      at: `${String(2 + Math.floor(i / 8)).padStart(2, '0')}T${String(9 + (i % 8)).padStart(2, '0')}:00`,
      seconds: 60,
      amount: '0.1200', // 0.024 × 1 min × (1 + 400 %), every call of the month once the 151st number is called
      reason: 'fair_use.distinct_numbers',
    }));
    const rater = new Rater({ plans: config.plans, numbering: config.numbering, usersOf: () => 1 });
    const calls = rows.map((r) => rater.rate(cdrOf(r))!);
    expect(calls.map((c) => [c.amount.toFixed(4), c.reason])).toEqual(rows.map((r) => [r.amount, r.reason]));
    check([
      { account: 'pgc01-u2', callee: '+12125551234', at: '02T09:00', seconds: 60, amount: '0.0000', reason: 'bundle' }, // US, fixed or mobile counts as fixed
      { account: 'pgc01-u2', callee: '+4915112345678', at: '02T09:10', seconds: 60, amount: '0.1440', reason: 'out_of_plan_destination' }, // DE mobile: fixed lines only
    ]);
  });

  it('Orange WTE (500 min per user pooled per site: the Lyon site of 2 users has 1,000 min)', () => {
    check([
      { account: 'ora01-l1', callee: '0472000001', at: '09T09:00', seconds: 900 * 60, amount: '0.0000', reason: 'bundle' },
      { account: 'ora01-l2', callee: '0612345678', at: '10T09:00', seconds: 90 * 60, amount: '0.0000', reason: 'bundle' }, // 990 min used
      // 20 min: 10 within the pool, 10 beyond → 10 × 0.018, no connection fee on the remainder
      { account: 'ora01-l1', callee: '0472000002', at: '11T09:00', seconds: 20 * 60, amount: '0.1800', reason: 'pool_exhausted' },
      { account: 'ora01-p1', callee: '0153000000', at: '11T09:30', seconds: 10 * 60, amount: '0.0000', reason: 'bundle' }, // the Paris site has its own pool
      { account: 'ora01-p2', callee: '0692123456', at: '12T09:00', seconds: 60, amount: '0.0000', reason: 'bundle' }, // Réunion mobile: DROM count as France
      { account: 'ora01-p2', callee: '+5491123456789', at: '12T09:10', seconds: 60, amount: '0.1080', reason: 'out_of_plan_destination' }, // Argentina: fixed lines only; 1 min × 0.108
    ]);
  });
});
