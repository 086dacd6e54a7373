/**
 * The fraud stage: watches every rated call of a client and raises few, precise, explained alerts for
 * the fraud desk. State is per client (partition-local, like the rater's); the detector never blocks a
 * call, and emergency and internal calls are never counted by it.
 *
 * Alerts are deduplicated: one per rule, scope and window (a burst, an hour, a day, a month), updated
 * while the situation lasts, with an id derived from rule, scope and window so that re-processing the
 * same CDRs updates the same alert instead of opening another.
 */
import { ALERT_SAMPLE_SIZE, alertId, type Alert, type Severity } from '../alert.js';
import type { Zone } from '../calendar.js';
import type { Cdr } from '../cdr.js';
import { LocalDays } from '../local-days.js';
import { Money, ZERO } from '../money.js';
import type { Destination, DestinationClass, NumberingPlan } from '../numbering.js';
import { cite } from '../rating/explain.js';
import { addSetup, forgetSetupsBefore, newSetupWindow, type SetupWindowState } from './call-setup-rate.js';
import { CLI_VIOLATION_WORDS, cliPolicyViolation, isPremiumCallerId, presentedCallerId } from './caller-id.js';
import { addAttempt, attemptsBetween, forgetAttemptsBefore, type AttemptWindowState } from './failed-attempts.js';
import { HighRiskRanges } from './high-risk-ranges.js';
import { addRing, forgetRingsBefore, ringBefore, type RingState } from './wangiri.js';
import { settingsFor, type FraudConfig } from './fraud-config.js';

/** What the fraud stage needs of a rated call. */
export interface ObservedCall {
  cdr: Cdr;
  dest: Destination;
  /** Price of the call beyond its bundle (0 in bundle). */
  amount: Money;
}

export interface FraudContext {
  config: FraudConfig;
  numbering: NumberingPlan;
  /** Calendar of hours and days in alerts and windows (Europe/Paris). */
  zone: Zone;
  /** Every number of a client, for the caller-ID consent rule. */
  numbersOf(clientId: string): ReadonlySet<string>;
  /** Lines declared as a technical platform's (R-CLI-PLATFORM). */
  isPlatform(account: string): boolean;
  /** Saved states of clients not yet seen by this process; none when absent (tests, one-off use). */
  state?: FraudStateSource;
}

interface Tally {
  count: number;
  matching: number;
  spend: Money;
  cdrIds: string[];
  /** Event time after which the window is closed for good and forgotten. */
  expires: number;
  /** What the window saw, when a rule names it (the numbers a wangiri window's call-backs went to). */
  keys?: string[];
}

interface ClientFraudState {
  setups: Map<string, SetupWindowState>;
  /** Counters per detector and window, keyed "rule|window start". */
  tallies: Map<string, Tally>;
  /** Alerts by "rule|scope|window", with the time their window is forgotten. */
  alerts: Map<string, { alert: Alert; expires: number }>;
  /** fraud.failed_attempts: per account, its recent failed attempts abroad, and the window they are counted in. */
  attempts: Map<string, AttemptWindowState & { windowMs: number }>;
  /** fraud.wangiri: the short rings from abroad of the last window, by calling number. */
  rings: RingState & { windowMs: number };
  /** The latest event time seen: windows that ended long before it are forgotten. */
  latestMs: number;
  /**
   * The hyper-short window the client's latest answered call fell in, with its keys, so that calls in
   * time order do not build them again; not saved, and dropped with the windows it could outlive.
   */
  hyperShort: { start: number; tally: Tally; alertKey: string } | null;
}

/** A client's detector state as the store keeps it. */
export interface SavedFraudState {
  setups: [string, [number, number[]][]][];
  tallies: [string, number, number, string, string[], number, string[]?][];
  alerts: [string, Alert, number][];
  latestMs: number;
  /** Absent from states saved before the rule: [account, window ms, [time, cdr_id, number]…]. */
  attempts?: [string, number, [number, string, string][]][];
  /** Absent from states saved before the rule: window ms and [calling number, [time, cdr_id]…]. */
  rings?: [number, [string, [number, string][]][]];
}

/** Where a client's saved detector state comes from (undefined: not at hand, the shell fetches it). */
export interface FraudStateSource {
  load(clientId: string): SavedFraudState | null | undefined;
}

export class FraudStateNeeded extends Error {
  constructor(readonly clientId: string) {
    super(`fraud detection needs the saved state of client ${clientId}`);
  }
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/**
 * How late a CDR may arrive and still join the window it happened in: a window is kept this long after
 * it closes (the spend baseline's days are kept for the baseline). State is the recent windows, not the
 * month: memory, and what each batch stores, follow the clients. Money does not depend on it: a later
 * CDR is rated exactly, only its fraud window is one of its own.
 */
export const LATE_CDR_MS = 2 * HOUR_MS;
/** Numbers a wangiri alert names at most in its message (all of them count). */
const WANGIRI_NUMBERS_KEPT = 50;
const WANGIRI_NUMBERS_SHOWN = 5;

export class FraudDetector {
  private readonly clients = new Map<string, ClientFraudState>();
  private touched = new Map<string, Alert>();
  private touchedClients = new Set<string>();
  /** Explanations to write at the drain, by alert id: a burst's evidence is gathered once a batch, not once a call. */
  private explain = new Map<string, () => void>();
  /** irsf_prefixes overrides of premium_destination, matched like the ranges file. */
  private readonly overrideRanges = new Map<string[], HighRiskRanges>();

  constructor(private readonly ctx: FraudContext) {}

  /** Whether the client's saved state must be fetched before its calls are observed. */
  needsState(clientId: string): boolean {
    return !this.clients.has(clientId) && this.ctx.state?.load(clientId) === undefined;
  }

  observe(call: ObservedCall): void {
    const { cdr } = call;
    // Emergency calls and calls that never left the customer's PBX are not the operator's traffic.
    if (call.dest.cls === 'emergency' || call.dest.cls === 'internal') return;
    const state = this.stateOf(cdr.subscriber.clientId);
    state.latestMs = Math.max(state.latestMs, cdr.startMs);
    this.touchedClients.add(cdr.subscriber.clientId);
    if (cdr.direction === 'out') {
      this.callSetupRate(state, cdr);
      if (cdr.leg === 'originating') this.callerId(state, cdr);
      if (cdr.disposition !== 'answered') this.failedAttempts(state, call);
      if (cdr.leg === 'originating' && state.rings.rings.size > 0) this.wangiriCallBack(state, call);
    } else {
      this.wangiriRing(state, cdr);
    }
    this.hyperShortCalls(state, cdr);
    this.premiumDestination(state, call);
    this.spendVelocity(state, call);
  }

  /** Alerts raised or updated since the last drain. */
  drain(): Alert[] {
    for (const write of this.explain.values()) write();
    this.explain = new Map();
    const out = [...this.touched.values()];
    this.touched = new Map();
    return out;
  }

  /** The states of the clients observed since the last call, windows past their time forgotten, to store. */
  drainStates(): { clientId: string; saved: SavedFraudState }[] {
    const out: { clientId: string; saved: SavedFraudState }[] = [];
    for (const clientId of this.touchedClients) {
      const s = this.clients.get(clientId)!;
      forgetClosedWindows(s);
      out.push({ clientId, saved: save(s) });
    }
    this.touchedClients = new Set();
    return out;
  }

  /** Forgets the clients not observed since the last drain: they are reloaded when seen again. */
  forget(): void {
    for (const clientId of this.clients.keys()) if (!this.touchedClients.has(clientId)) this.clients.delete(clientId);
  }

  private stateOf(clientId: string): ClientFraudState {
    let s = this.clients.get(clientId);
    if (s === undefined) {
      const saved = this.ctx.state?.load(clientId);
      if (saved === undefined && this.ctx.state !== undefined) throw new FraudStateNeeded(clientId);
      s = saved ? load(saved) : { setups: new Map(), tallies: new Map(), alerts: new Map(), attempts: new Map(), rings: { rings: new Map(), windowMs: 0 }, latestMs: 0, hyperShort: null };
      this.clients.set(clientId, s);
    }
    return s;
  }

  /**
   * fraud.call_setup_rate: one alert per scope and day (Paris), whatever the order the CDRs arrive in,
   * holding the day's peak second; a ten-minute dialler burst is one alert.
   */
  private callSetupRate(state: ClientFraudState, cdr: Cdr): void {
    const s = cdr.subscriber;
    const cfg = settingsFor(this.ctx.config, 'call_setup_rate', s.clientId);
    const scopeKey = cfg.scope === 'client' ? s.clientId : `${s.clientId}/${cfg.scope}/${s.account}`;
    let window = state.setups.get(scopeKey);
    if (window === undefined) {
      window = newSetupWindow();
      state.setups.set(scopeKey, window);
    }
    const busiest = addSetup(window, cdr.startMs);
    if (busiest.count <= cfg.max_per_second) return;
    const day = this.ctx.zone.day(busiest.windowStart);
    const expires = this.dayStart(busiest.windowStart) + DAY_MS + LATE_CDR_MS;
    const a = this.alertFor(state, 'fraud.call_setup_rate', cfg.severity, cdr, cfg.scope === 'client', `${scopeKey}|${day}`, busiest.windowStart, expires);
    a.firstSeenMs = Math.min(a.firstSeenMs, busiest.windowStart);
    a.lastSeenMs = Math.max(a.lastSeenMs, cdr.startMs);
    a.threshold = cfg.max_per_second;
    sample(a, cdr.cdrId);
    if (busiest.count > Number(a.value)) {
      a.value = busiest.count;
      const who = cfg.scope === 'client' ? `client ${s.clientId}` : `client ${s.clientId}, ${cfg.scope} ${s.account}`;
      a.message =
        `${who}: ${busiest.count} call setups in 1 s at ${this.clock(busiest.windowStart)}, limit ${cfg.max_per_second} — ${cite(cfg.provenance)}.` +
        ' The peak second of the day; the alert follows the traffic until the day ends.';
    }
    this.touch(a);
  }

  /** fraud.premium_cli and fraud.cli_policy: one alert per account, rule and month. */
  private callerId(state: ClientFraudState, cdr: Cdr): void {
    const s = cdr.subscriber;
    const period = LocalDays.of(this.ctx.zone).at(cdr.startMs).period;
    const premium = settingsFor(this.ctx.config, 'premium_cli', s.clientId);
    if (isPremiumCallerId(cdr, this.ctx.numbering, premium)) {
      const rewritten = cdr.callerOriginal !== '' ? `, rewritten to the installation number ${cdr.caller}` : '';
      this.monthlyCount(state, 'fraud.premium_cli', premium.severity, cdr, period,
        (n) => `client ${s.clientId}, account ${s.account}: ${n} call(s) in ${period} presenting the premium-rate caller ID ${presentedCallerId(cdr)}${rewritten} — ${cite(premium.provenance)}.`);
      return; // the more precise rule speaks; the consent rule would only repeat it
    }
    const policy = settingsFor(this.ctx.config, 'cli_policy', s.clientId);
    const violation = cliPolicyViolation(cdr, this.ctx.numbering, this.ctx.numbersOf(s.clientId), policy.consented[s.clientId] ?? [], this.ctx.isPlatform(s.account));
    if (violation === null) return;
    this.monthlyCount(state, 'fraud.cli_policy', policy.severity, cdr, `${period}|${violation}`,
      (n) => `client ${s.clientId}, account ${s.account}: ${n} call(s) in ${period} where ${CLI_VIOLATION_WORDS[violation]} (${presentedCallerId(cdr)}) — ${cite(policy.provenance)}.`);
  }

  private monthlyCount(state: ClientFraudState, rule: string, severity: Severity, cdr: Cdr, window: string, message: (n: number) => string): void {
    const key = `${rule}|${cdr.subscriber.account}|${window}`;
    // A month's count lives until its last day is two days behind.
    const expires = this.ctx.zone.monthEnd(cdr.startMs) + LATE_CDR_MS;
    const tally = this.tally(state, key, expires);
    tally.count++;
    const a = this.alertFor(state, rule, severity, cdr, false, key, cdr.startMs, expires);
    a.firstSeenMs = Math.min(a.firstSeenMs, cdr.startMs);
    a.lastSeenMs = Math.max(a.lastSeenMs, cdr.startMs);
    a.value = tally.count;
    a.threshold = 0;
    a.message = message(tally.count);
    sample(a, cdr.cdrId);
    this.touch(a);
  }

  /** fraud.hyper_short_calls: answered calls shorter than 2 s, over a count and a share of the window's answered calls. */
  private hyperShortCalls(state: ClientFraudState, cdr: Cdr): void {
    if (cdr.disposition !== 'answered' || cdr.answerMs === null) return;
    const s = cdr.subscriber;
    const cfg = settingsFor(this.ctx.config, 'hyper_short_calls', s.clientId);
    const windowMs = cfg.window_minutes * 60_000;
    const start = Math.floor(cdr.startMs / windowMs) * windowMs;
    let window = state.hyperShort;
    if (window === null || window.start !== start) {
      const tally = this.tally(state, `fraud.hyper_short_calls|${start}`, start + windowMs + LATE_CDR_MS);
      state.hyperShort = window = { start, tally, alertKey: alertKey('fraud.hyper_short_calls', s.clientId, String(start)) };
    }
    const { tally } = window;
    tally.count++;
    // Event times are in milliseconds: 1.99 s is hyper-short, 2.00 s is not.
    const short = cdr.endMs - cdr.answerMs < cfg.below_seconds * 1000;
    if (short) {
      tally.matching++;
      if (tally.cdrIds.length < ALERT_SAMPLE_SIZE) tally.cdrIds.push(cdr.cdrId);
    }
    const ratio = tally.matching / tally.count;
    const crossed = tally.matching >= cfg.min_count && ratio >= cfg.min_ratio;
    if (!crossed && !state.alerts.has(window.alertKey)) return;
    const a = this.windowAlert(state, 'fraud.hyper_short_calls', cfg.severity, cdr, start, true, tally.expires);
    if (a === null) return;
    a.value = tally.matching;
    a.threshold = cfg.min_count;
    a.cdrIds = [...tally.cdrIds];
    a.message =
      `client ${s.clientId}: ${tally.matching} answered calls shorter than ${cfg.below_seconds} s out of ${tally.count} ` +
      `(${Math.round(ratio * 100)} %) between ${this.clock(start)} and ${this.clock(start + windowMs)}, limits ${cfg.min_count} calls and ${Math.round(cfg.min_ratio * 100)} % — ${cite(cfg.provenance)}.`;
    this.touch(a);
  }

  /** fraud.premium_destination: calls to premium numbers and high-risk international ranges, by count and spend. */
  private premiumDestination(state: ClientFraudState, call: ObservedCall): void {
    const { cdr } = call;
    if (cdr.direction !== 'out') return;
    const s = cdr.subscriber;
    const cfg = settingsFor(this.ctx.config, 'premium_destination', s.clientId);
    const ranges = cfg.irsf_prefixes === undefined ? this.ctx.config.highRisk : this.rangesOf(cfg.irsf_prefixes);
    const risky = cfg.classes.includes(call.dest.cls) || (call.dest.cls !== 'fr_fixed' && ranges.match(cdr.callee) !== undefined);
    if (!risky) return;
    const windowMs = cfg.window_minutes * 60_000;
    const start = Math.floor(cdr.startMs / windowMs) * windowMs;
    const tally = this.tally(state, `fraud.premium_destination|${start}`, start + windowMs + LATE_CDR_MS);
    tally.count++;
    tally.spend = tally.spend.plus(call.amount);
    if (tally.cdrIds.length < ALERT_SAMPLE_SIZE) tally.cdrIds.push(cdr.cdrId);
    const maxSpend = new Money(cfg.max_spend);
    const a = this.windowAlert(state, 'fraud.premium_destination', cfg.severity, cdr, start, tally.count > cfg.max_calls || tally.spend.greaterThan(maxSpend), tally.expires);
    if (a === null) return;
    a.value = tally.count;
    a.threshold = cfg.max_calls;
    a.cdrIds = [...tally.cdrIds];
    a.message =
      `client ${s.clientId}: ${tally.count} calls to premium-rate or high-risk destinations costing ${tally.spend.toFixed(2)} EUR ` +
      `between ${this.clock(start)} and ${this.clock(start + windowMs)}, limits ${cfg.max_calls} calls or ${maxSpend.toFixed(2)} EUR — ${cite(cfg.provenance)}.`;
    this.touch(a);
  }

  private rangesOf(prefixes: string[]): HighRiskRanges {
    let r = this.overrideRanges.get(prefixes);
    if (r === undefined) this.overrideRanges.set(prefixes, (r = HighRiskRanges.ofPrefixes(prefixes)));
    return r;
  }

  /** fraud.spend_velocity: out-of-bundle spend per hour and per day over a ceiling or over N × the client's baseline. */
  private spendVelocity(state: ClientFraudState, call: ObservedCall): void {
    if (call.amount.isZero()) return;
    const { cdr } = call;
    const s = cdr.subscriber;
    const cfg = settingsFor(this.ctx.config, 'spend_velocity', s.clientId);
    const hourStart = Math.floor(cdr.startMs / HOUR_MS) * HOUR_MS;
    const dayStart = this.dayStart(cdr.startMs);
    const hour = this.tally(state, `spend|hour|${hourStart}`, hourStart + HOUR_MS + LATE_CDR_MS);
    // A day's spend is kept as long as it is part of a later day's baseline.
    const day = this.tally(state, `spend|day|${dayStart}`, dayStart + DAY_MS * (cfg.baseline_days + 1) + LATE_CDR_MS);
    for (const t of [hour, day]) {
      t.spend = t.spend.plus(call.amount);
      t.count++;
      if (t.cdrIds.length < ALERT_SAMPLE_SIZE) t.cdrIds.push(cdr.cdrId);
    }
    let baseline = ZERO;
    let history = false;
    for (let d = 1; d <= cfg.baseline_days; d++) {
      const past = state.tallies.get(`spend|day|${this.dayStart(dayStart - d * DAY_MS + HOUR_MS * 12)}`);
      if (past !== undefined) {
        history = true;
        baseline = baseline.plus(past.spend);
      }
    }
    baseline = baseline.dividedBy(cfg.baseline_days);
    const relative = Money.max(baseline, new Money(cfg.baseline_min_day)).times(cfg.baseline_multiplier);
    const limits: [string, Tally, number, Money][] = [
      ['hour', hour, hourStart, new Money(cfg.hour_ceiling)],
      ['day', day, dayStart, history ? Money.min(new Money(cfg.day_ceiling), relative) : new Money(cfg.day_ceiling)],
    ];
    for (const [unit, tally, start, limit] of limits) {
      const a = this.windowAlert(state, 'fraud.spend_velocity', cfg.severity, cdr, start, tally.spend.greaterThan(limit), tally.expires, `${unit}|${start}`);
      if (a === null) continue;
      a.value = tally.spend.toFixed(2);
      a.threshold = limit.toFixed(2);
      a.cdrIds = [...tally.cdrIds];
      const base = history ? `, ${cfg.baseline_multiplier} × the daily baseline ${baseline.toFixed(2)} EUR` : '';
      a.message =
        `client ${s.clientId}: out-of-bundle spend of ${tally.spend.toFixed(2)} EUR in the ${unit} from ${this.clock(start)}, ` +
        `limit ${limit.toFixed(2)} EUR (ceiling ${unit === 'hour' ? cfg.hour_ceiling : cfg.day_ceiling} EUR${unit === 'day' ? base : ''}) — ${cite(cfg.provenance)}.`;
      this.touch(a);
    }
  }

  /**
   * fraud.failed_attempts: failed outgoing attempts (not answered) to international, premium or
   * high-risk numbers, per account, in a sliding window; one alert per account and day (Paris) holding
   * the day's busiest window, whatever the order the CDRs arrive in.
   */
  private failedAttempts(state: ClientFraudState, call: ObservedCall): void {
    const { cdr } = call;
    const s = cdr.subscriber;
    const cfg = settingsFor(this.ctx.config, 'failed_attempts', s.clientId);
    if (!this.fromOrToRisk(cdr.callee, call.dest, cfg.classes)) return;
    const windowMs = cfg.window_minutes * 60_000;
    let w = state.attempts.get(s.account);
    if (w === undefined) {
      w = { attempts: [], windowMs };
      state.attempts.set(s.account, w);
    }
    w.windowMs = windowMs;
    const busiest = addAttempt(w, { at: cdr.startMs, cdrId: cdr.cdrId, number: cdr.callee }, windowMs);
    const rule = 'fraud.failed_attempts';
    const day = this.ctx.zone.day(busiest.firstMs);
    if (busiest.count < cfg.min_attempts && !state.alerts.has(alertKey(rule, `${s.clientId}/${s.account}`, day))) return;
    const expires = this.dayStart(busiest.firstMs) + DAY_MS + LATE_CDR_MS;
    const fresh = !state.alerts.has(alertKey(rule, `${s.clientId}/${s.account}`, day));
    const a = this.alertFor(state, rule, cfg.severity, cdr, false, day, busiest.firstMs, expires);
    a.lastSeenMs = Math.max(a.lastSeenMs, cdr.startMs);
    a.threshold = cfg.min_attempts;
    // The day's busiest window, the earliest of equal ones: the same whatever the order.
    if (fresh || busiest.count > Number(a.value) || (busiest.count === Number(a.value) && busiest.firstMs < a.firstSeenMs)) {
      a.value = busiest.count;
      a.firstSeenMs = busiest.firstMs;
      const window = w;
      this.explain.set(a.alertId, () => {
        const seen = attemptsBetween(window, a.firstSeenMs, a.firstSeenMs + windowMs - 1);
        const numbers = new Set(seen.map((x) => x.number));
        const places = new Map<string, number>();
        let risky = 0;
        for (const x of seen) {
          const place = this.placeOf(x.number);
          places.set(place, (places.get(place) ?? 0) + 1);
          if (this.ctx.config.highRisk.match(x.number) !== undefined) risky++;
        }
        const byPlace = [...places].sort((p, q) => q[1] - p[1] || (p[0] < q[0] ? -1 : 1)).map(([p, n]) => `${p} ${n}`).join(', ');
        a.cdrIds = seen.slice(0, ALERT_SAMPLE_SIZE).map((x) => x.cdrId);
        a.message =
          `client ${s.clientId}, account ${s.account}: ${a.value} failed attempts (not answered) to international, premium or high-risk numbers ` +
          `within ${cfg.window_minutes} min, from ${this.clock(a.firstSeenMs)} to ${this.clock(seen[seen.length - 1]?.at ?? a.firstSeenMs)}: ` +
          `${numbers.size} distinct number(s) in ${places.size} destination(s) (${byPlace})${risky > 0 ? `, ${risky} to listed high-risk ranges` : ''}; ` +
          `limit ${cfg.min_attempts} in ${cfg.window_minutes} min — ${cite(cfg.provenance)}. The day's busiest window; the alert follows the attempts until the day ends.`;
      });
    }
    this.touch(a);
  }

  /** fraud.wangiri, first half: a short inbound ring from abroad is remembered for the window. */
  private wangiriRing(state: ClientFraudState, cdr: Cdr): void {
    if (!cdr.caller.startsWith('+')) return;
    const cfg = settingsFor(this.ctx.config, 'wangiri', cdr.subscriber.clientId);
    const short =
      cdr.disposition === 'no_answer'
        ? cdr.endMs - cdr.startMs < cfg.ring_below_seconds * 1000
        : cdr.disposition === 'answered' && cdr.answerMs !== null && cdr.endMs - cdr.answerMs < cfg.answered_below_seconds * 1000;
    if (!short) return;
    if (!this.fromOrToRisk(cdr.caller, this.ctx.numbering.classify(cdr.caller), cfg.classes)) return;
    state.rings.windowMs = cfg.window_hours * HOUR_MS;
    addRing(state.rings, cdr.caller, cdr.startMs, cdr.cdrId);
  }

  /**
   * fraud.wangiri, second half: an outgoing call to a number that rang the client briefly less than the
   * window before is a call-back; one alert per client and day (Paris) of the call-backs, naming the numbers.
   */
  private wangiriCallBack(state: ClientFraudState, call: ObservedCall): void {
    const { cdr } = call;
    const s = cdr.subscriber;
    const cfg = settingsFor(this.ctx.config, 'wangiri', s.clientId);
    const ring = ringBefore(state.rings, cdr.callee, cdr.startMs, cfg.window_hours * HOUR_MS);
    if (ring === null) return;
    const dayStart = this.dayStart(cdr.startMs);
    const day = this.ctx.zone.day(cdr.startMs);
    const tally = this.tally(state, `fraud.wangiri|${dayStart}`, dayStart + DAY_MS + LATE_CDR_MS);
    tally.count++;
    if (cdr.disposition === 'answered') tally.matching++;
    tally.spend = tally.spend.plus(call.amount);
    for (const id of [cdr.cdrId, ring.cdrId]) if (tally.cdrIds.length < ALERT_SAMPLE_SIZE && !tally.cdrIds.includes(id)) tally.cdrIds.push(id);
    const keys = (tally.keys ??= []);
    if (!keys.includes(cdr.callee) && keys.length < WANGIRI_NUMBERS_KEPT) keys.push(cdr.callee);
    const rule = 'fraud.wangiri';
    if (tally.count < cfg.min_callbacks && !state.alerts.has(alertKey(rule, s.clientId, day))) return;
    const a = this.alertFor(state, rule, cfg.severity, cdr, true, day, ring.at, tally.expires);
    a.firstSeenMs = Math.min(a.firstSeenMs, ring.at);
    a.lastSeenMs = Math.max(a.lastSeenMs, cdr.startMs);
    a.value = tally.count;
    a.threshold = cfg.min_callbacks;
    a.cdrIds = [...tally.cdrIds];
    const named = keys.slice(0, WANGIRI_NUMBERS_SHOWN).map((n) => {
      const rings = state.rings.rings.get(n) ?? [];
      const last = rings[rings.length - 1]?.[0];
      return `${n} (${this.placeOf(n)}, ${rings.length} short ring(s)${last === undefined ? '' : `, last at ${this.clock(last)}`})`;
    });
    const more = keys.length > WANGIRI_NUMBERS_SHOWN ? ` and ${keys.length - WANGIRI_NUMBERS_SHOWN} more` : '';
    a.message =
      `client ${s.clientId}: ${tally.count} call-back(s) on ${day} to ${keys.length} number(s) that rang it briefly from abroad less than ${cfg.window_hours} h before: ` +
      `${named.join(', ')}${more}; ${tally.matching} answered, ${tally.spend.toFixed(2)} EUR out of bundle; limit ${cfg.min_callbacks} — ${cite(cfg.provenance)}.`;
    this.touch(a);
  }

  /** A number abroad (one no metadata knows included), in one of `classes`, or in a listed high-risk range. */
  private fromOrToRisk(number: string, dest: Destination, classes: readonly DestinationClass[]): boolean {
    return classes.includes(dest.cls) || (dest.cls === 'unknown' && this.ctx.numbering.isAbroad(number)) || this.ctx.config.highRisk.match(number) !== undefined;
  }

  /** Where a number goes, for the desk: its country, or its calling code, or a home class (FR fr_premium). */
  private placeOf(number: string): string {
    const d = this.ctx.numbering.classify(number);
    if (d.country === this.ctx.numbering.homeCountry) return `${d.country} ${d.cls}`;
    const range = this.ctx.config.highRisk.match(number);
    if (d.country === '' && range !== undefined) return `+${range.prefix} ${range.name}`;
    return d.country !== '' ? d.country : `+${this.ctx.numbering.callingCode(number)}`;
  }

  private tally(state: ClientFraudState, key: string, expires: number): Tally {
    let t = state.tallies.get(key);
    if (t === undefined) {
      t = { count: 0, matching: 0, spend: ZERO, cdrIds: [], expires };
      state.tallies.set(key, t);
    }
    return t;
  }

  /**
   * The client's alert of a fixed window starting at `start`: opened when the window first crosses its
   * limit (`crossed`), then kept up to date by every later call of the window; null while none is due.
   */
  private windowAlert(state: ClientFraudState, rule: string, severity: Severity, cdr: Cdr, start: number, crossed: boolean, expires: number, window = String(start)): Alert | null {
    if (!crossed && !state.alerts.has(alertKey(rule, cdr.subscriber.clientId, window))) return null;
    const a = this.alertFor(state, rule, severity, cdr, true, window, start, expires);
    a.firstSeenMs = start;
    a.lastSeenMs = Math.max(a.lastSeenMs, cdr.startMs);
    return a;
  }

  /** The alert of this rule, scope and window: the one already open, or a new one. */
  private alertFor(state: ClientFraudState, rule: string, severity: Severity, cdr: Cdr, clientScope: boolean, window: string, firstSeenMs: number, expires: number): Alert {
    const s = cdr.subscriber;
    const scope = clientScope ? s.clientId : `${s.clientId}/${s.account}`;
    const key = alertKey(rule, scope, window);
    let held = state.alerts.get(key);
    if (held === undefined) {
      const a: Alert = {
        alertId: alertId(rule, scope, window),
        rule,
        severity,
        clientId: s.clientId,
        siteId: clientScope ? '' : s.siteId,
        userId: clientScope ? '' : s.userId,
        firstSeenMs,
        lastSeenMs: firstSeenMs,
        value: 0,
        threshold: 0,
        cdrIds: [],
        message: '',
      };
      held = { alert: a, expires };
      state.alerts.set(key, held);
    }
    return held.alert;
  }

  private touch(a: Alert): void {
    this.touched.set(a.alertId, a);
  }

  private clock(ms: number): string {
    return this.ctx.zone.iso(ms).slice(0, 19).replace('T', ' ');
  }

  /** Midnight in the reporting zone of the day containing `ms`. */
  private dayStart(ms: number): number {
    const local = ms + this.ctx.zone.offsetAt(ms);
    const midnightLocal = Math.floor(local / DAY_MS) * DAY_MS;
    return midnightLocal - this.ctx.zone.offsetAt(midnightLocal - this.ctx.zone.offsetAt(ms));
  }
}

/** Where a client's alert of a rule, scope and window is held in its state. */
function alertKey(rule: string, scope: string, window: string): string {
  return `${rule}|${scope}|${window}`;
}

function forgetClosedWindows(s: ClientFraudState): void {
  const now = s.latestMs;
  s.hyperShort = null;
  for (const [k, t] of s.tallies) if (t.expires < now) s.tallies.delete(k);
  for (const [k, a] of s.alerts) if (a.expires < now) s.alerts.delete(k);
  for (const w of s.setups.values()) forgetSetupsBefore(w, now - LATE_CDR_MS);
  for (const [account, w] of s.attempts) {
    forgetAttemptsBefore(w, now - LATE_CDR_MS - w.windowMs);
    if (w.attempts.length === 0) s.attempts.delete(account);
  }
  forgetRingsBefore(s.rings, now - LATE_CDR_MS - s.rings.windowMs);
}

function save(s: ClientFraudState): SavedFraudState {
  return {
    setups: [...s.setups].map(([k, w]) => [k, [...w.buckets]]),
    tallies: [...s.tallies].map(([k, t]) => (t.keys === undefined ? [k, t.count, t.matching, t.spend.toString(), t.cdrIds, t.expires] : [k, t.count, t.matching, t.spend.toString(), t.cdrIds, t.expires, t.keys])),
    alerts: [...s.alerts].map(([k, a]) => [k, a.alert, a.expires]),
    latestMs: s.latestMs,
    ...(s.attempts.size === 0 ? {} : { attempts: [...s.attempts].map(([account, w]) => [account, w.windowMs, w.attempts.map((x) => [x.at, x.cdrId, x.number])]) }),
    ...(s.rings.rings.size === 0 ? {} : { rings: [s.rings.windowMs, [...s.rings.rings]] }),
  };
}

function load(saved: SavedFraudState): ClientFraudState {
  return {
    setups: new Map(saved.setups.map(([k, buckets]) => [k, { buckets: new Map(buckets) }])),
    tallies: new Map(
      saved.tallies.map(([k, count, matching, spend, cdrIds, expires, keys]) => [k, { count, matching, spend: new Money(spend), cdrIds, expires, ...(keys === undefined ? {} : { keys }) }]),
    ),
    alerts: new Map(saved.alerts.map(([k, alert, expires]) => [k, { alert, expires }])),
    attempts: new Map((saved.attempts ?? []).map(([account, windowMs, list]) => [account, { windowMs, attempts: list.map(([at, cdrId, number]) => ({ at, cdrId, number })) }])),
    rings: { windowMs: saved.rings?.[0] ?? 0, rings: new Map(saved.rings?.[1] ?? []) },
    latestMs: saved.latestMs,
    hyperShort: null,
  };
}

function sample(a: Alert, cdrId: string): void {
  if (a.cdrIds.length < ALERT_SAMPLE_SIZE && !a.cdrIds.includes(cdrId)) a.cdrIds.push(cdrId);
}
