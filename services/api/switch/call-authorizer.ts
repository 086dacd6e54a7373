/**
 * The switch's side of `cdr serve`: answers /api/v1/authorize from counters kept in memory, so that an
 * answer never waits on the store (p99 ≤ 5 ms at 2,000 requests/s), and checkpoints them every second.
 *
 * What is counted and how it survives a restart:
 * - setups let through per scope in the last second (call_setup_rate's scope): memory only, so a restart
 *   forgets at most one second of them;
 * - calls in progress per account, from the setups let through and the switch's end-of-call notices,
 *   a call without an end notice forgotten after lost_end_minutes: checkpointed to call_in_progress;
 * - lock levels: the store's account_lock, read at start and every second (another process, a policy or
 *   a desk, may set one), and at once when this server's desk sets one;
 * - refused setups: appended to call_decision every second, the desk's evidence of a call that never was.
 */
import type { Logger } from 'pino';
import { decideCall, type CallDecision } from '../../core/fraud/call-authorization.js';
import { authorizationSettingsFor, settingsFor, type FraudConfig } from '../../core/fraud/fraud-config.js';
import type { LockLevel } from '../../core/fraud/lock-levels.js';
import { HighRiskRanges } from '../../core/fraud/high-risk-ranges.js';
import { InvalidNumber, type Destination, type NumberingPlan } from '../../core/numbering.js';
import type { Plan } from '../../core/plan.js';
import { bundleIncludes } from '../../core/rating/inclusion.js';
import type { Subscriber } from '../../core/cdr.js';
import { Zone } from '../../core/calendar.js';
import type { SubscriberDirectory } from '../../ingest/subscriber-directory.js';
import { locksInForce } from '../../store/desk/account-locks.js';
import { appendDecisions, checkpointCallsInProgress, crossedCounters, loadCallsInProgress, type CallInProgress, type DecisionRow } from '../../store/desk/call-decisions.js';
import type { Sql } from '../../store/sql.js';

export interface SetupQuestion {
  account: string;
  caller: string;
  callee: string;
  /** The switch's call id (SIP Call-ID): its end notice names it. Empty: the call is not counted as in progress. */
  callId: string;
}

export type SetupAnswer = CallDecision & {
  account: string;
  client_id: string;
  callee: string;
  destination: string;
  /** The month's fair-use rules whose threshold the subscriber's scope has crossed: its calls are metered beyond them (R-FAIR-SANCTION), not refused. */
  fair_use: string[];
};

export interface AuthorizerOptions {
  sql: Sql;
  directory: SubscriberDirectory;
  numbering: NumberingPlan;
  fraud: FraudConfig;
  /** The plans, for refuse_abroad_outside_plan. */
  plans: ReadonlyMap<string, Plan>;
  logger: Logger;
  now: () => number;
  /** Counts each answer (Prometheus). */
  counted?: (decision: 'allow' | 'deny', reason: string) => void;
  /** How often counters are checkpointed and locks re-read; 1 s unless said. */
  tickMs?: number;
}

const SECOND_MS = 1000;
/** The contracts' calendar, for a server given no plans. */
const PARIS = new Zone('Europe/Paris');
/** Refused setups waiting for the store at most; beyond, the oldest are dropped and said so in the log. */
const MAX_PENDING_DECISIONS = 100_000;

export class CallAuthorizer {
  /** Setups let through in the last second, oldest first, by scope key. */
  private readonly setups = new Map<string, number[]>();
  private readonly calls = new Map<string, CallInProgress>();
  private readonly callsOfAccount = new Map<string, number>();
  private locks = new Map<string, LockLevel>();
  private readonly highRisk = new Map<string, HighRiskRanges>();
  /** Crossed fair-use rules by "client|site|user" scope, re-read every 10 ticks. */
  private crossed = new Map<string, string[]>();
  private ticks = 0;
  private pending: DecisionRow[] = [];
  private started: CallInProgress[] = [];
  private ended: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> = Promise.resolve();

  constructor(private readonly o: AuthorizerOptions) {}

  async start(): Promise<void> {
    await this.readLocks();
    await this.readCrossed();
    const lostBefore = (s: Subscriber | undefined) => this.o.now() - this.lostEndMs(s);
    for (const c of await loadCallsInProgress(this.o.sql)) {
      if (c.startedMs >= lostBefore(this.o.directory.ofAccount(c.account))) this.addCall(c);
      else this.ended.push(c.callId);
    }
    this.timer = setInterval(() => {
      this.ticking = this.ticking.then(() => this.tick());
    }, this.o.tickMs ?? SECOND_MS);
    this.timer.unref();
  }

  /** Stops the ticks and writes what is pending. */
  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.ticking;
    await this.tick();
  }

  authorize(q: SetupQuestion): SetupAnswer {
    const now = this.o.now();
    const answer = this.decide(q, now);
    this.o.counted?.(answer.decision, answer.reason);
    if (answer.decision === 'deny') {
      if (this.pending.length >= MAX_PENDING_DECISIONS) this.pending.shift();
      this.pending.push({ atMs: now, account: answer.account, clientId: answer.client_id, caller: q.caller, callee: answer.callee, callId: q.callId, decision: 'deny', reason: answer.reason, detail: answer.detail });
    }
    return answer;
  }

  /** The switch's end-of-call notice; false when the call was not in progress (ended already, timed out, unknown). */
  callEnded(callId: string): boolean {
    const c = this.calls.get(callId);
    if (c === undefined) return false;
    this.removeCall(c);
    this.ended.push(callId);
    return true;
  }

  /** A lock set by this server's desk counts from the next setup, not from the next tick. */
  lockSet(account: string, level: LockLevel): void {
    if (level === 'none') this.locks.delete(account);
    else this.locks.set(account, level);
  }

  /** Calls in progress, for /metrics. */
  get callsInProgress(): number {
    return this.calls.size;
  }

  private decide(q: SetupQuestion, now: number): SetupAnswer {
    let caller = '';
    try {
      caller = q.caller === '' ? '' : this.o.numbering.normalize(q.caller);
    } catch (e) {
      if (!(e instanceof InvalidNumber)) throw e;
    }
    const s = this.o.directory.resolve(q.account, caller);
    const base = { account: s?.account ?? q.account, client_id: s?.clientId ?? '', callee: q.callee, destination: '', fair_use: s === undefined ? [] : this.crossedFor(s) };
    let callee: string;
    try {
      callee = this.o.numbering.normalize(q.callee);
    } catch (e) {
      if (!(e instanceof InvalidNumber)) throw e;
      return { ...base, decision: 'deny', reason: 'invalid_number', detail: `the callee is not a number this plan can read: ${e.message}` };
    }
    const destination = this.o.numbering.classify(callee);
    const answered = { ...base, callee, destination: destination.cls };
    // Emergency numbers first: a caller unknown to the directory is still relayed to 112.
    if (s === undefined && destination.cls !== 'emergency') {
      return { ...answered, decision: 'deny', reason: 'unknown_account', detail: 'neither the account nor the caller number is in the subscriber directory' };
    }
    if (s === undefined) return { ...answered, decision: 'allow', reason: 'emergency', detail: 'emergency numbers are always relayed, whatever the lock' };
    const policy = authorizationSettingsFor(this.o.fraud, s.clientId);
    const rate = settingsFor(this.o.fraud, 'call_setup_rate', s.clientId);
    const scope = rate.scope === 'client' ? s.clientId : `${s.clientId}/${s.account}`;
    const recent = this.recentSetups(scope, now);
    const decision = decideCall(
      {
        subscriber: s, callee, destination, lock: this.locks.get(s.account) ?? 'none',
        setupsInLastSecond: recent.length, callsInProgress: this.callsOfAccount.get(s.account) ?? 0,
        inPlan: policy.refuse_abroad_outside_plan && this.inPlan(s, destination),
      },
      {
        maxSetupsPerSecond: policy.setup_rate ? rate.max_per_second : undefined,
        maxSimultaneous: policy.simultaneous_calls === 'off' ? undefined : policy.simultaneous_calls === 'channels' ? s.channels : policy.simultaneous_calls,
        refusedRanges: policy.refuse_high_risk ? this.highRiskOf(s.clientId) : undefined,
        refusedClasses: policy.refuse_classes,
        refuseAbroadOutsidePlan: policy.refuse_abroad_outside_plan,
      },
    );
    if (decision.decision === 'allow' && decision.reason === 'ok') {
      recent.push(now);
      if (q.callId !== '' && !this.calls.has(q.callId)) {
        const call = { callId: q.callId, account: s.account, startedMs: now };
        this.addCall(call);
        this.started.push(call);
      }
    }
    return { ...answered, ...decision };
  }

  /** Whether the subscriber's plan includes the destination; a plan this server was not given includes nothing. */
  private inPlan(s: Subscriber, d: Destination): boolean {
    const plan = this.o.plans.get(s.planId);
    return plan !== undefined && bundleIncludes(plan, d);
  }

  /** premium_destination's ranges for a client: the high-risk ranges file, or the client's irsf_prefixes. */
  private highRiskOf(clientId: string): HighRiskRanges {
    let ranges = this.highRisk.get(clientId);
    if (ranges === undefined) {
      const prefixes = settingsFor(this.o.fraud, 'premium_destination', clientId).irsf_prefixes;
      ranges = prefixes === undefined ? this.o.fraud.highRisk : HighRiskRanges.ofPrefixes(prefixes);
      this.highRisk.set(clientId, ranges);
    }
    return ranges;
  }

  /** The scope's setups of the last second (the list itself, pruned: the caller may push onto it). */
  private recentSetups(scope: string, now: number): number[] {
    let times = this.setups.get(scope);
    if (times === undefined) {
      times = [];
      this.setups.set(scope, times);
    }
    let first = 0;
    while (first < times.length && times[first]! <= now - SECOND_MS) first++;
    if (first > 0) times.splice(0, first);
    return times;
  }

  private addCall(c: CallInProgress): void {
    this.calls.set(c.callId, c);
    this.callsOfAccount.set(c.account, (this.callsOfAccount.get(c.account) ?? 0) + 1);
  }

  private removeCall(c: CallInProgress): void {
    this.calls.delete(c.callId);
    const n = (this.callsOfAccount.get(c.account) ?? 1) - 1;
    if (n > 0) this.callsOfAccount.set(c.account, n);
    else this.callsOfAccount.delete(c.account);
  }

  private lostEndMs(s: Subscriber | undefined): number {
    return authorizationSettingsFor(this.o.fraud, s?.clientId ?? '').lost_end_minutes * 60_000;
  }

  /** The crossed fair-use rules binding a subscriber: its user's, its site's, its client's. */
  private crossedFor(s: Subscriber): string[] {
    const rules = new Set<string>();
    for (const key of [`${s.clientId}||`, `${s.clientId}|${s.siteId}|`, `${s.clientId}|${s.siteId}|${s.userId}`, `${s.clientId}||${s.userId}`]) {
      for (const r of this.crossed.get(key) ?? []) rules.add(r);
    }
    return [...rules].sort();
  }

  /** The current month's crossed counters, in each plan's calendar (a month turns at midnight in its zone). */
  private async readCrossed(): Promise<void> {
    const now = this.o.now();
    const periods = new Set([...this.o.plans.values()].map((p) => p.calendar.period(now)));
    if (periods.size === 0) periods.add(PARIS.period(now));
    const crossed = new Map<string, string[]>();
    for (const c of await crossedCounters(this.o.sql, [...periods])) {
      const key = `${c.clientId}|${c.siteId}|${c.userId}`;
      crossed.set(key, [...(crossed.get(key) ?? []), c.rule]);
    }
    this.crossed = crossed;
  }

  private async readLocks(): Promise<void> {
    this.locks = new Map((await locksInForce(this.o.sql, this.o.now())).map((l) => [l.account, l.level]));
  }

  /** Every second: forget what is over, write what is pending, re-read the locks. A failure is retried at the next tick. */
  private async tick(): Promise<void> {
    const now = this.o.now();
    for (const [scope, times] of this.setups) if ((times.at(-1) ?? 0) <= now - SECOND_MS) this.setups.delete(scope);
    for (const c of this.calls.values()) {
      if (c.startedMs < now - this.lostEndMs(this.o.directory.ofAccount(c.account))) {
        this.removeCall(c);
        this.ended.push(c.callId);
      }
    }
    const decisions = this.pending;
    const started = this.started;
    const ended = this.ended;
    this.pending = [];
    this.started = [];
    this.ended = [];
    try {
      await appendDecisions(this.o.sql, decisions);
    } catch (e) {
      this.pending = decisions.concat(this.pending).slice(-MAX_PENDING_DECISIONS);
      this.o.logger.error({ err: e, pending: this.pending.length }, 'refused setups not yet written to the store; retrying in a second');
    }
    try {
      await checkpointCallsInProgress(this.o.sql, started, ended);
    } catch (e) {
      this.started = started.concat(this.started);
      this.ended = ended.concat(this.ended);
      this.o.logger.error({ err: e }, 'calls in progress not yet checkpointed; retrying in a second');
    }
    try {
      await this.readLocks();
      if (++this.ticks % 10 === 0) await this.readCrossed();
    } catch (e) {
      this.o.logger.error({ err: e }, 'locks or fair-use counters not re-read from the store; the last ones read stay in force');
    }
  }
}
