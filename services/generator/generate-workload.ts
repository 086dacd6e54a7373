/**
 * Workload generator behind `cdr generate`: realistic French business telephony in the canonical CSV
 * (one file per day, as switches export it), the subscriber directory it belongs to, and optional
 * fair-use and fraud scenarios, each on a dedicated client so that it trips exactly one rule.
 *
 * Same options, same bytes: every random choice comes from pure-rand streams derived from the seed,
 * never from Math.random or the clock. Ordinary traffic, scenarios and contact books draw from
 * separate streams, so injecting a scenario does not change the ordinary calls (only their cdr_id
 * sequence numbers, which follow file order).
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { finished } from 'node:stream/promises';
import { DateTime, IANAZone } from 'luxon';
import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import type { JumpableRandomGenerator } from 'pure-rand/types/JumpableRandomGenerator';
import type { Direction, Disposition, ForwardReason, Leg, LineType } from '../core/cdr.js';
import { CANONICAL_COLUMNS } from '../ingest/canonical-csv.js';
import { SUBSCRIBER_COLUMNS } from '../ingest/subscriber-directory.js';
import { PROBING_ATTEMPTS, PROBING_USERS, tollFraudProbing } from './toll-fraud-probing.js';

export const SCENARIOS = [
  'distinct_numbers',
  'duration_40h',
  'concurrent_calls',
  'forwarding_2h',
  'pool_exhausted',
  'setup_burst',
  'dialler_burst',
  'premium_cli',
  'hyper_short',
  'premium_destination',
  'spend_velocity',
  'toll_fraud_probing',
] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** The rule each scenario is built to trigger, as reported in `reason` and in alerts. */
export const SCENARIO_RULES: Record<Scenario, string> = {
  distinct_numbers: 'fair_use.distinct_numbers',
  duration_40h: 'fair_use.duration',
  concurrent_calls: 'fair_use.concurrent_calls',
  forwarding_2h: 'fair_use.forwarding',
  pool_exhausted: 'pool_exhausted',
  setup_burst: 'fraud.call_setup_rate',
  dialler_burst: 'fraud.call_setup_rate',
  premium_cli: 'fraud.premium_cli',
  hyper_short: 'fraud.hyper_short_calls',
  premium_destination: 'fraud.premium_destination',
  spend_velocity: 'fraud.spend_velocity',
  toll_fraud_probing: 'fraud.failed_attempts',
};

export interface GenerateOptions {
  subscribers: number;
  days: number;
  seed: number;
  /** YYYY-MM-DD, first day generated (Europe/Paris); default 2026-03-02, a Monday. */
  startDate?: string;
  inject?: Scenario[];
  outDir: string;
  /** Called as CDRs reach the files, with the number written so far. */
  onProgress?: (written: number) => void;
}

export interface InjectedScenario {
  scenario: Scenario;
  clientId: string;
  siteId: string;
  userId: string;
  account: string;
  expectedRule: string;
  /** At most 20: enough to find the calls, small enough to read. */
  cdrIds: string[];
  note: string;
}

export interface GenerateResult {
  /** One canonical CSV per day: cdrs-YYYY-MM-DD.csv. */
  files: string[];
  subscribersFile: string;
  manifestFile: string;
  cdrs: number;
  injected: InjectedScenario[];
}

export const DEFAULT_START_DATE = '2026-03-02';
const ZONE = 'Europe/Paris';
const MANIFEST_CDR_IDS = 20;
const WRITE_CHUNK_CHARS = 1 << 20;
const DAY_SECONDS = 86_400;

// Ordinary traffic is kept well inside every fair-use and fraud threshold, so that an alert on a
// generated workload means an injected scenario (or a bug), never noise.
const MAX_ORDINARY_SETUPS_PER_SECOND = 5; // fraud threshold: more than 10 per second
const MONTHLY_TALK_CAP_SECONDS = 24 * 3600; // fair use: 40 h per user
const MONTHLY_FORWARDED_CAP_SECONDS = 45 * 60; // WITECH: 2 h of forwarding
const ORANGE_MONTHLY_OUTBOUND_CAP_SECONDS = 300 * 60; // Orange: 500 min per user pooled per site
const MIN_ANSWERED_SECONDS = 3; // hyper-short calls are answered calls under 2 s
/** No ordinary setup after this: a call shifted past it would land in the next day's counters. */
const LAST_ORDINARY_SETUP = DAY_SECONDS - 15 * 60;

/** Relative call arrivals per local hour of a working day: morning and afternoon peaks, lunch dip. */
const HOURLY_ARRIVALS = [0, 0, 0, 0, 0, 0, 0.1, 0.8, 4, 9, 11, 10, 4, 5, 9, 10, 9, 6, 2.5, 1, 0.4, 0.2, 0.1, 0];
const WEEKDAY_ACTIVITY = { business: 1, saturday: 0.1, sunday: 0.03 } as const;

const SHORT_NUMBERS = ['3949', '3639', '3646', '3966'];
const EMERGENCY_NUMBERS = ['15', '17', '18', '112'];
/** Three-digit French blocks that caller-ID rules single out (automated systems, platforms): kept off ordinary numbers. */
const SINGLED_OUT_BLOCKS = new Set(['162', '163', '270', '271', '377', '378', '424', '425', '568', '569', '948', '949', '937', '938', '939']);
/**
 * The own numbers of generated subscribers have an 8 as second national digit and contacts never do,
 * so a contact is never another subscriber (on-net calls are rated differently, e.g. Orange « hors réseau »).
 */
const OWN_NUMBER_MARK = '8';

/**
 * Number templates checked against libphonenumber-js metadata (every fill of the X digits is a valid
 * number of that country and line kind): [E.164 prefix, random digits].
 */
const INTERNATIONAL: readonly { weight: number; fixed: readonly [string, number]; mobile: readonly [string, number] }[] = [
  { weight: 22, fixed: ['+4930', 8], mobile: ['+49151', 8] }, // DE
  { weight: 18, fixed: ['+3222', 6], mobile: ['+32479', 6] }, // BE
  { weight: 15, fixed: ['+3491', 7], mobile: ['+346', 8] }, // ES
  { weight: 15, fixed: ['+3906', 8], mobile: ['+39347', 7] }, // IT
  { weight: 12, fixed: ['+44207', 7], mobile: ['+44777', 7] }, // GB
  { weight: 10, fixed: ['+4144', 7], mobile: ['+4179', 7] }, // CH
  { weight: 8, fixed: ['+12122', 6], mobile: ['+12125', 6] }, // US (NANP: fixed or mobile)
];
const DROM: readonly { fixed: readonly [string, number]; mobile: readonly [string, number] }[] = [
  { fixed: ['+26226220', 4], mobile: ['+26269210', 4] }, // Réunion
  { fixed: ['+59059080', 4], mobile: ['+59069012', 4] }, // Guadeloupe
  { fixed: ['+59659660', 4], mobile: ['+59669620', 4] }, // Martinique
  { fixed: ['+59459430', 4], mobile: ['+59469420', 4] }, // Guyane
];
/**
 * Destinations no plan includes and no example tariff prices (the default rate applies), yet not on the
 * high-risk (IRSF) list either: Moscow and Saint Petersburg fixed lines. A hacked PBX running up a bill
 * this way is the spend-velocity rule's alone.
 */
const FAR_INTERNATIONAL: readonly (readonly [string, number])[] = [
  ['+7495', 7],
  ['+7812', 7],
];
/** 08 value-added numbers outside the premium ranges (089, 0825) that have rules of their own. */
const SPECIAL_08_BLOCKS = ['800', '805', '806', '809', '810', '811', '820', '821'];
const PREMIUM_CLI = '+33899123456';

// ───────────────────────────── randomness ─────────────────────────────

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/**
 * An independent xoroshiro128+ stream for a tuple of integers. pure-rand's own seeding puts the seed
 * straight into the state, so neighbouring seeds would start almost alike; hashing spreads them.
 */
function streamFor(...parts: number[]): JumpableRandomGenerator {
  let h = 0x2545f491;
  for (const p of parts) {
    h = fmix32(h ^ (p >>> 0));
    h = fmix32(h ^ (Math.floor(p / 0x1_0000_0000) | 0));
  }
  return xoroshiro128plusFromState([fmix32(h ^ 0x68e31da4), fmix32(h ^ 0x1b56c4e9), fmix32(h ^ 0x7f4a7c15), fmix32(h ^ 0x3c6ef372)]);
}

class Dice {
  constructor(private readonly gen: JumpableRandomGenerator) {}

  float(): number {
    return (this.gen.next() >>> 0) / 0x1_0000_0000;
  }

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.float() * xs.length)]!;
  }

  /** Index drawn with probability proportional to its weight. */
  weighted(weights: readonly number[], total: number): number {
    let u = this.float() * total;
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i]!;
      if (u < 0) return i;
    }
    return weights.length - 1;
  }

  normal(): number {
    return Math.sqrt(-2 * Math.log(1 - this.float())) * Math.cos(2 * Math.PI * this.float());
  }

  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean > 50) return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.normal()));
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.float();
    while (p > limit) {
      k++;
      p *= this.float();
    }
    return k;
  }

  digits(n: number): string {
    let s = '';
    while (n > 0) {
      const take = Math.min(n, 9);
      s += String(Math.floor(this.float() * 10 ** take)).padStart(take, '0');
      n -= take;
    }
    return s;
  }
}

// ───────────────────────────── numbers ─────────────────────────────

function frenchFixed(d: Dice, mark: boolean): string {
  for (;;) {
    const zone = d.pick(['1', '1', '1', '2', '3', '4', '5', '9']);
    const second = mark ? OWN_NUMBER_MARK : d.pick(['0', '1', '2', '3', '4', '5', '6', '7', '9']);
    const third = String(d.int(0, 9));
    if (SINGLED_OUT_BLOCKS.has(zone + second + third)) continue;
    return `+33${zone}${second}${third}${d.digits(6)}`;
  }
}

function frenchMobile(d: Dice, mark: boolean): string {
  const first = d.chance(0.7) ? '6' : '7';
  const second = mark ? OWN_NUMBER_MARK : first === '6' ? d.pick(['0', '1', '2', '3', '4', '5', '6', '7', '9']) : d.pick(['3', '4', '5', '6', '7', '9']);
  return `+33${first}${second}${d.digits(7)}`;
}

function fromTemplate(d: Dice, [prefix, digits]: readonly [string, number]): string {
  return prefix + d.digits(digits);
}

/** Whether an E.164 number is a French 08 value-added number, which never calls in. */
function isFrenchSpecial(n: string): boolean {
  return n.startsWith('+338');
}

const INTERNATIONAL_WEIGHTS = INTERNATIONAL.map((c) => c.weight);
const INTERNATIONAL_TOTAL = INTERNATIONAL_WEIGHTS.reduce((a, b) => a + b, 0);

/**
 * Entry k of a subscriber's contact book, derived from (seed, subscriber, k) rather than stored:
 * the book costs no memory however many subscribers there are. The first two entries are the
 * French numbers a user calls most; the rest follow the national destination mix.
 */
function contactNumber(seed: number, subscriber: number, k: number): string {
  const d = new Dice(streamFor(seed, 4, subscriber, k));
  if (k === 0) return frenchFixed(d, false);
  if (k === 1) return frenchMobile(d, false);
  const u = d.float();
  if (u < 0.55) return frenchFixed(d, false);
  if (u < 0.85) return frenchMobile(d, false);
  if (u < 0.88) {
    const drom = d.pick(DROM);
    return fromTemplate(d, d.chance(0.5) ? drom.fixed : drom.mobile);
  }
  if (u < 0.92) return `+338${d.pick(SPECIAL_08_BLOCKS).slice(1)}${d.digits(6)}`;
  const country = INTERNATIONAL[d.weighted(INTERNATIONAL_WEIGHTS, INTERNATIONAL_TOTAL)]!;
  return fromTemplate(d, d.chance(0.6) ? country.fixed : country.mobile);
}

// ───────────────────────────── time ─────────────────────────────

/** Europe/Paris offsets through luxon, cached per quarter hour (every DST change falls on one). */
class ParisClock {
  private readonly zone = IANAZone.create(ZONE);
  private readonly offsets = new Map<number, number>();

  offsetMinutes(ms: number): number {
    const bucket = Math.floor(ms / 900_000);
    let offset = this.offsets.get(bucket);
    if (offset === undefined) {
      offset = this.zone.offset(bucket * 900_000);
      this.offsets.set(bucket, offset);
    }
    return offset;
  }

  /** Instant of a Paris wall-clock time written as if it were UTC. */
  instant(wallAsUtcMs: number): number {
    const guess = wallAsUtcMs - this.offsetMinutes(wallAsUtcMs) * 60_000;
    return wallAsUtcMs - this.offsetMinutes(guess) * 60_000;
  }

  /** ISO 8601 with the Paris offset, to the second: 2026-03-02T09:12:03+01:00. */
  iso(ms: number): string {
    const offset = this.offsetMinutes(ms);
    const abs = Math.abs(offset);
    const suffix = `${offset < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
    return new Date(ms + offset * 60_000).toISOString().slice(0, 19) + suffix;
  }
}

interface Day {
  index: number;
  /** YYYY-MM-DD */
  date: string;
  /** YYYY-MM: the calendar month counters belong to. */
  month: string;
  /** Paris midnight written as if it were UTC. */
  wallMidnight: number;
  business: boolean;
  /** Share of a working day's traffic. */
  activity: number;
}

function easterSunday(year: number): DateTime {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const h = (19 * a + b - Math.floor(b / 4) - Math.floor((b - Math.floor((b + 8) / 25) + 1) / 3) + 15) % 30;
  const l = (32 + 2 * (b % 4) + 2 * Math.floor(c / 4) - h - (c % 4)) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return DateTime.utc(year, month, day);
}

/** French public holidays: offices are closed, traffic looks like a Sunday. */
function frenchHolidays(year: number): Set<string> {
  const easter = easterSunday(year);
  const fixed = ['01-01', '05-01', '05-08', '07-14', '08-15', '11-01', '11-11', '12-25'].map((md) => `${year}-${md}`);
  const moving = [1, 39, 50].map((offset) => easter.plus({ days: offset }).toISODate()!);
  return new Set([...fixed, ...moving]);
}

function calendarDays(startDate: string, count: number): Day[] {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(startDate)) throw new Error(`startDate must be YYYY-MM-DD, got "${startDate}"`);
  const start = DateTime.fromISO(startDate, { zone: 'utc' });
  if (!start.isValid) throw new Error(`startDate "${startDate}" is not a calendar date`);
  const holidays = new Map<number, Set<string>>();
  const days: Day[] = [];
  for (let i = 0; i < count; i++) {
    const day = start.plus({ days: i });
    const date = day.toISODate()!;
    let yearHolidays = holidays.get(day.year);
    if (!yearHolidays) holidays.set(day.year, (yearHolidays = frenchHolidays(day.year)));
    const closed = day.weekday === 7 || yearHolidays.has(date);
    const business = !closed && day.weekday !== 6;
    days.push({
      index: i,
      date,
      month: date.slice(0, 7),
      wallMidnight: day.toMillis(),
      business,
      activity: business ? WEEKDAY_ACTIVITY.business : closed ? WEEKDAY_ACTIVITY.sunday : WEEKDAY_ACTIVITY.saturday,
    });
  }
  return days;
}

// ───────────────────────────── population ─────────────────────────────

interface GenSubscriber {
  /** Global number: U-000123 and acc-000123. */
  no: number;
  account: string;
  clientId: string;
  siteId: string;
  userId: string;
  planId: string;
  lineType: LineType;
  channels: number;
  number: string;
  /** One terminal per line, from the provider's catalogue: no softphone, no second device. */
  device: string;
  callsPerBusinessDay: number;
  contacts: number;
  forwardTarget: string;
  outboundCapSeconds: number;
}

interface Client {
  subscribers: GenSubscriber[];
}

type ClientKind = 'technicophone_hosted' | 'technicophone_trunk' | 'witech' | 'progetcom' | 'orange';
const CLIENT_KINDS: readonly ClientKind[] = ['technicophone_hosted', 'technicophone_trunk', 'witech', 'progetcom', 'orange'];
const CLIENT_KIND_WEIGHTS = [25, 15, 20, 15, 25];

const DEVICES: Record<string, readonly string[]> = {
  technicophone_centrex: ['yealink-t54w', 'yealink-t46u', 'gigaset-maxwell-3'],
  technicophone_trunk_sip: ['ipbx-3cx', 'ipbx-asterisk'],
  technicophone_vga_analog: ['analog-line'],
  technicophone_vga_t0: ['isdn-t0-pbx'],
  technicophone_mobile: ['mobile-handset'],
  witech_illimite: ['yealink-t43u', 'yealink-t54w'],
  progetcom_full_illimite: ['snom-d717', 'snom-d785'],
  orange_wte: ['cisco-8845', 'cisco-6871'],
};

class Population {
  readonly clients: Client[] = [];
  readonly all: GenSubscriber[] = [];
  private readonly numbers = new Set<string>();
  private clientCount = 0;

  constructor(
    private readonly d: Dice,
    private readonly seed: number,
  ) {}

  ordinary(total: number): void {
    let remaining = total;
    while (remaining > 0) {
      let kind = CLIENT_KINDS[this.d.weighted(CLIENT_KIND_WEIGHTS, 100)]!;
      if (kind === 'orange' && remaining < 2) kind = 'technicophone_hosted';
      const size = Math.min(remaining, this.clientSize(kind));
      this.clients.push(this.ordinaryClient(kind, size));
      remaining -= size;
    }
  }

  private clientSize(kind: ClientKind): number {
    const u = this.d.float();
    switch (kind) {
      case 'technicophone_trunk':
        return 1 + Math.floor(4 * u * u);
      case 'orange':
        return 2 + Math.floor(48 * u ** 2.5);
      default:
        return 1 + Math.floor(49 * u ** 3);
    }
  }

  private ordinaryClient(kind: ClientKind, size: number): Client {
    const clientNo = this.newClient();
    const client: Client = { subscribers: [] };
    const add = (siteNo: number, planId: string, lineType: LineType, channels: number, deviceKey = planId): void => {
      client.subscribers.push(this.subscriber(clientNo, siteNo, planId, lineType, channels, this.d.pick(DEVICES[deviceKey]!)));
    };
    if (kind === 'technicophone_trunk') {
      // One trunk per site, the client's mobiles on the first site.
      const trunks = size >= 3 ? 2 : 1;
      for (let i = 0; i < size; i++) {
        if (i < trunks) add(i + 1, 'technicophone_trunk_sip', 'sip_trunk', this.d.int(4, 30));
        else add(1, 'technicophone_mobile', 'mobile', 1);
      }
      return client;
    }
    for (const [siteNo, siteSize] of this.siteSizes(kind, size).entries()) {
      for (let i = 0; i < siteSize; i++) {
        if (kind === 'witech') add(siteNo + 1, 'witech_illimite', 'centrex_user', 1);
        else if (kind === 'progetcom') add(siteNo + 1, 'progetcom_full_illimite', 'centrex_user', 1);
        else if (kind === 'orange') add(siteNo + 1, 'orange_wte', 'centrex_user', 1);
        else {
          const u = client.subscribers.length === 0 ? 0 : this.d.float();
          if (u < 0.75) add(siteNo + 1, 'technicophone_centrex', 'centrex_user', 1);
          else if (u < 0.9) add(siteNo + 1, 'technicophone_mobile', 'mobile', 1);
          else if (this.d.chance(0.75)) add(siteNo + 1, 'technicophone_vga', 'analog', 1, 'technicophone_vga_analog');
          else add(siteNo + 1, 'technicophone_vga', 't0', 2, 'technicophone_vga_t0');
        }
      }
    }
    return client;
  }

  /** Orange sites hold 2 to 20 users (the pool is per site); other clients have sites of 1 to 15. */
  private siteSizes(kind: ClientKind, size: number): number[] {
    const sizes: number[] = [];
    let remaining = size;
    while (remaining > 0) {
      if (kind === 'orange') {
        const s = remaining <= 20 ? remaining : this.d.int(2, Math.min(20, remaining - 2));
        sizes.push(s);
        remaining -= s;
      } else {
        const u = this.d.float();
        const s = Math.min(remaining, 1 + Math.floor(14 * u * u));
        sizes.push(s);
        remaining -= s;
      }
    }
    return sizes;
  }

  newClient(): number {
    return ++this.clientCount;
  }

  subscriber(clientNo: number, siteNo: number, planId: string, lineType: LineType, channels: number, device: string): GenSubscriber {
    const no = this.all.length + 1;
    const clientId = `C-${String(clientNo).padStart(4, '0')}`;
    let rate = this.d.int(10, 30);
    if (planId === 'orange_wte') rate = this.d.int(4, 9);
    else if (lineType === 'analog' || lineType === 't0') rate *= 0.35;
    else if (lineType === 'sip_trunk') rate *= 1.5;
    else if (lineType === 'mobile') rate *= 0.8;
    const s: GenSubscriber = {
      no,
      account: `acc-${String(no).padStart(6, '0')}`,
      clientId,
      siteId: `S-${String(clientNo).padStart(4, '0')}-${String(siteNo).padStart(2, '0')}`,
      userId: `U-${String(no).padStart(6, '0')}`,
      planId,
      lineType,
      channels,
      number: this.ownNumber(lineType === 'mobile'),
      device,
      callsPerBusinessDay: rate,
      contacts: this.d.int(20, 60),
      forwardTarget: frenchMobile(new Dice(streamFor(this.seed, 5, no)), false),
      outboundCapSeconds: planId === 'orange_wte' ? ORANGE_MONTHLY_OUTBOUND_CAP_SECONDS : Infinity,
    };
    this.all.push(s);
    return s;
  }

  private ownNumber(mobile: boolean): string {
    for (;;) {
      const n = mobile ? frenchMobile(this.d, true) : frenchFixed(this.d, true);
      if (!this.numbers.has(n)) {
        this.numbers.add(n);
        return n;
      }
    }
  }
}

// ───────────────────────────── calls ─────────────────────────────

interface Call {
  startMs: number;
  /** -1 when not answered. */
  answerMs: number;
  endMs: number;
  billable: number;
  disposition: Disposition;
  direction: Direction;
  leg: Leg;
  forwardReason: ForwardReason | '';
  account: string;
  caller: string;
  callee: string;
  device: string;
  /** Index into the manifest's injected list, -1 for ordinary traffic. */
  scenario: number;
}

/** What a call looks like before it is placed in time. */
interface CallShape {
  callee: string;
  caller?: string;
  /** Seconds from setup to answer (or to the end when not answered). */
  ring: number;
  billable: number;
  disposition?: Disposition;
  direction?: Direction;
  leg?: Leg;
  forwardReason?: ForwardReason;
}

function placeCall(clock: ParisClock, day: Day, startSec: number, sub: GenSubscriber, shape: CallShape, scenario: number): Call {
  const disposition = shape.disposition ?? 'answered';
  const answered = disposition === 'answered';
  const startMs = clock.instant(day.wallMidnight + startSec * 1000);
  const answerMs = answered ? startMs + shape.ring * 1000 : -1;
  const direction = shape.direction ?? 'out';
  return {
    startMs,
    answerMs,
    endMs: answered ? answerMs + shape.billable * 1000 : startMs + shape.ring * 1000,
    billable: answered ? shape.billable : 0,
    disposition,
    direction,
    leg: shape.leg ?? 'originating',
    forwardReason: shape.forwardReason ?? '',
    account: sub.account,
    caller: shape.caller ?? (direction === 'out' ? sub.number : ''),
    callee: shape.callee,
    device: sub.device,
    scenario,
  };
}

const HOUR_TOTAL = HOURLY_ARRIVALS.reduce((a, b) => a + b, 0);

/** Monthly counters of the ordinary subscribers, reset when the calendar month changes. */
class MonthCounters {
  talk: Float64Array;
  outbound: Float64Array;
  forwarded: Float64Array;
  constructor(size: number) {
    this.talk = new Float64Array(size);
    this.outbound = new Float64Array(size);
    this.forwarded = new Float64Array(size);
  }
  reset(): void {
    this.talk.fill(0);
    this.outbound.fill(0);
    this.forwarded.fill(0);
  }
}

class OrdinaryTraffic {
  /** Setups per local second of the day for the client being generated. */
  private readonly setups = new Uint8Array(DAY_SECONDS + 2);

  constructor(
    private readonly d: Dice,
    private readonly clock: ParisClock,
    private readonly seed: number,
    private readonly month: MonthCounters,
  ) {}

  clientDay(client: Client, day: Day, out: Call[]): void {
    this.setups.fill(0);
    for (const sub of client.subscribers) this.subscriberDay(sub, day, out);
  }

  private subscriberDay(sub: GenSubscriber, day: Day, out: Call[]): void {
    const n = this.d.poisson(sub.callsPerBusinessDay * day.activity);
    if (n === 0) return;
    const arrivals = new Int32Array(n);
    for (let i = 0; i < n; i++) arrivals[i] = this.d.weighted(HOURLY_ARRIVALS, HOUR_TOTAL) * 3600 + this.d.int(0, 3599);
    arrivals.sort();
    // A user has two lines' worth of calls at most (one held, one active): each slot holds the end
    // of its last call. Setups never go back in time, so the slots see every call that can overlap.
    let lineFree0 = 0;
    let lineFree1 = 0;
    let previous = 0;
    for (let i = 0; i < n; i++) {
      let s = Math.max(arrivals[i]!, previous);
      if (s < lineFree0 && s < lineFree1) s = Math.min(lineFree0, lineFree1) + this.d.int(5, 90);
      while (s < LAST_ORDINARY_SETUP && !this.setupFits(s)) s++;
      if (s >= LAST_ORDINARY_SETUP) return;
      const shape = this.shape(sub);
      if (shape === null) continue;
      this.setups[s]!++;
      const end = s + shape.ring + (shape.disposition === 'answered' ? shape.billable : 0);
      if (lineFree0 <= s) lineFree0 = end;
      else lineFree1 = end;
      previous = s;
      out.push(placeCall(this.clock, day, s, sub, shape, -1));
    }
  }

  /** At most 5 setups in any one-second window of the client, however the window is aligned. */
  private setupFits(s: number): boolean {
    const here = this.setups[s]! + 1;
    return here + (s > 0 ? this.setups[s - 1]! : 0) <= MAX_ORDINARY_SETUPS_PER_SECOND && here + this.setups[s + 1]! <= MAX_ORDINARY_SETUPS_PER_SECOND;
  }

  private contact(sub: GenSubscriber): string {
    // Skewed towards the first entries: a few numbers are called every day, most now and then.
    return contactNumber(this.seed, sub.no, Math.floor(sub.contacts * this.d.float() ** 2.2));
  }

  /** The call's content, or null when it would take the subscriber past a monthly cap. */
  private shape(sub: GenSubscriber): (CallShape & { disposition: Disposition }) | null {
    const d = this.d;
    const inbound = d.chance(0.15);
    let leg: Leg = 'originating';
    let forwardReason: ForwardReason | undefined;
    let caller: string | undefined;
    let callee: string;
    // Short-number services and emergency desks always pick up.
    let service: 'short' | 'emergency' | null = null;
    if (inbound) {
      const c = this.contact(sub);
      caller = isFrenchSpecial(c) ? contactNumber(this.seed, sub.no, 0) : c;
      callee = sub.number;
    } else {
      const u = d.float();
      if (u < 0.025) {
        leg = 'forwarded';
        const r = d.float();
        forwardReason = r < 0.3 ? 'unconditional' : r < 0.6 ? 'busy' : 'no_answer';
        callee = sub.forwardTarget;
      } else if (u < 0.035) {
        leg = 'transferred';
        callee = this.contact(sub);
      } else if (u < 0.055) {
        service = 'short';
        callee = d.pick(SHORT_NUMBERS);
      } else if (u < 0.0553) {
        service = 'emergency';
        callee = d.pick(EMERGENCY_NUMBERS);
      } else {
        callee = this.contact(sub);
      }
    }
    let disposition: Disposition = 'answered';
    if (service === null) {
      const u = d.float();
      disposition = u < 0.8 ? 'answered' : u < 0.92 ? 'no_answer' : u < 0.97 ? 'busy' : 'failed';
    }
    let ring: number;
    let billable = 0;
    switch (disposition) {
      case 'answered':
        ring = service === 'emergency' ? d.int(1, 3) : d.int(2, 15);
        billable = service === 'emergency' ? d.int(30, 240) : this.talkSeconds();
        break;
      case 'no_answer':
        ring = d.int(15, 45);
        break;
      case 'busy':
        ring = d.int(1, 4);
        break;
      default:
        ring = d.int(0, 3);
    }
    if (disposition === 'answered') {
      const i = sub.no - 1;
      const m = this.month;
      if (leg === 'forwarded' && m.forwarded[i]! + billable > MONTHLY_FORWARDED_CAP_SECONDS) {
        leg = 'originating';
        forwardReason = undefined;
        callee = this.contact(sub);
      }
      if (m.talk[i]! + billable > MONTHLY_TALK_CAP_SECONDS) return null;
      if (!inbound && m.outbound[i]! + billable > sub.outboundCapSeconds) return null;
      m.talk[i]! += billable;
      if (!inbound) m.outbound[i]! += billable;
      if (leg === 'forwarded') m.forwarded[i]! += billable;
    }
    return {
      callee,
      ...(caller === undefined ? {} : { caller }),
      ring,
      billable,
      disposition,
      direction: inbound ? 'in' : 'out',
      leg,
      ...(forwardReason === undefined ? {} : { forwardReason }),
    };
  }

  /** Log-normal conversation length: median under two minutes, one call in twenty a long meeting. */
  private talkSeconds(): number {
    const t = this.d.chance(0.05) ? this.d.logNormal(900, 0.6) : this.d.logNormal(100, 0.85);
    return Math.min(7200, Math.max(MIN_ANSWERED_SECONDS, Math.round(t)));
  }
}

// ───────────────────────────── scenarios ─────────────────────────────

class ScenarioBuilder {
  readonly injected: InjectedScenario[] = [];
  /** Scenario calls per day index. */
  readonly byDay = new Map<number, Call[]>();
  private readonly monthDays: Day[];
  private readonly businessDays: Day[];
  private readonly month: string;
  private readonly usedNumbers = new Set<string>();

  constructor(
    private readonly d: Dice,
    private readonly clock: ParisClock,
    private readonly population: Population,
    days: Day[],
  ) {
    // Monthly rules need all of a scenario inside one calendar month: take the window's fullest one.
    const perMonth = new Map<string, Day[]>();
    for (const day of days) perMonth.set(day.month, [...(perMonth.get(day.month) ?? []), day]);
    const fullest = [...perMonth.entries()].reduce((best, e) => (e[1].length > best[1].length ? e : best));
    this.month = fullest[0];
    this.monthDays = fullest[1];
    this.businessDays = this.monthDays.filter((day) => day.business);
  }

  inject(scenario: Scenario): void {
    const index = this.injected.length;
    const d = this.d;
    const fresh = (planId: string, lineType: LineType, channels: number, deviceKey = planId): GenSubscriber => {
      const clientNo = this.population.newClient();
      return this.population.subscriber(clientNo, 1, planId, lineType, channels, DEVICES[deviceKey]![0]!);
    };
    const record = (sub: GenSubscriber, note: string): void => {
      this.injected.push({
        scenario,
        clientId: sub.clientId,
        siteId: sub.siteId,
        userId: sub.userId,
        account: sub.account,
        expectedRule: SCENARIO_RULES[scenario],
        cdrIds: [],
        note,
      });
    };
    const day = this.middleDay();
    switch (scenario) {
      case 'distinct_numbers': {
        const sub = fresh('technicophone_centrex', 'centrex_user', 1);
        const shapes = this.distinctFrench(200, 0.6).map((callee) => ({ callee, ring: d.int(3, 10), billable: d.int(45, 180) }));
        this.spread(scenario, index, sub, shapes);
        record(sub, `technicophone_centrex user calling 200 distinct French numbers (answered, 45-180 s, spread over the working days of ${this.month}); threshold: more than 150 per user per month`);
        break;
      }
      case 'duration_40h': {
        const sub = fresh('technicophone_mobile', 'mobile', 1);
        const callees = this.distinctFrench(3, 0.5);
        const total = 41 * 3600;
        const shapes: CallShape[] = [];
        for (let sum = 0; sum < total; ) {
          const billable = Math.min(d.int(2400, 4500), total - sum);
          shapes.push({ callee: d.pick(callees), ring: d.int(3, 10), billable });
          sum += billable;
        }
        this.spread(scenario, index, sub, shapes);
        record(sub, `technicophone_mobile user with ${total} s (41 h) of answered outbound calls to 3 numbers in ${this.month}, never two at once; threshold: more than 40 h per user per month`);
        break;
      }
      case 'concurrent_calls': {
        const sub = fresh('witech_illimite', 'centrex_user', 1);
        const callees = this.distinctFrench(5, 0.5);
        const base = 10 * 3600;
        callees.forEach((callee, i) => {
          this.push(index, day, base + i * 15, sub, { callee, ring: d.int(4, 8), billable: 1800 - i * 60 });
        });
        record(sub, `witech_illimite user with 5 answered calls overlapping from about 10:01 on ${day.date} (setups 15 s apart); threshold: more than 3 simultaneous calls`);
        break;
      }
      case 'forwarding_2h': {
        const sub = fresh('witech_illimite', 'centrex_user', 1);
        const shapes: CallShape[] = Array.from({ length: 12 }, () => ({
          callee: sub.forwardTarget,
          ring: d.int(2, 5),
          billable: 900,
          leg: 'forwarded' as const,
          forwardReason: 'unconditional' as const,
        }));
        this.spread(scenario, index, sub, shapes);
        record(sub, `witech_illimite user with 12 unconditional forwarded legs of 15 min (10800 s, 3 h) in ${this.month}; threshold: 2 h (7200 s) of forwarding per user per month`);
        break;
      }
      case 'pool_exhausted': {
        const clientNo = this.population.newClient();
        const users = [0, 1].map(() => this.population.subscriber(clientNo, 1, 'orange_wte', 'centrex_user', 1, DEVICES.orange_wte![0]!));
        for (const sub of users) {
          const callees = this.distinctFrench(10, 1);
          const total = 550 * 60;
          const shapes: CallShape[] = [];
          for (let sum = 0; sum < total; ) {
            const billable = Math.min(d.int(600, 1800), total - sum);
            shapes.push({ callee: d.pick(callees), ring: d.int(3, 10), billable });
            sum += billable;
          }
          this.spread(scenario, index, sub, shapes);
        }
        record(users[0]!, `orange_wte site ${users[0]!.siteId} with 2 users (${users[0]!.account}, ${users[1]!.account}) talking 550 min each to French fixed numbers in ${this.month}: 1100 min against a pool of 2 × 500 = 1000 min`);
        break;
      }
      case 'setup_burst': {
        const sub = fresh('technicophone_trunk_sip', 'sip_trunk', 10);
        const callees = this.distinctFrench(50, 0.5);
        const base = 10 * 3600 + 30 * 60;
        callees.forEach((callee, i) => {
          // Two of the fifty get through, one per second of the burst, and talk normally.
          const answered = i === 0 || i === 25;
          this.push(index, day, base + Math.floor(i / 25), sub, answered ? { callee, ring: d.int(3, 6), billable: d.int(45, 90) } : this.failedAttempt(callee));
        });
        record(sub, `technicophone_trunk_sip trunk with 50 setups in 2 seconds (25 per second) at 10:30:00 on ${day.date}, 48 of them unanswered; threshold: more than 10 setups per second`);
        break;
      }
      case 'dialler_burst': {
        const sub = fresh('technicophone_trunk_sip', 'sip_trunk', 30);
        // A campaign list dialled over and over: a dialler retries, it does not invent numbers.
        const campaign = this.distinctFrench(1500, 0.3);
        const base = 14 * 3600;
        let next = 0;
        let total = 0;
        for (let second = 0; second < 600; second++) {
          const setups = d.int(18, 22);
          for (let k = 0; k < setups; k++) {
            const callee = campaign[next++ % campaign.length]!;
            // One answered call a minute, each over before the next: no concurrency, no hyper-short call.
            const shape = k === 0 && second % 60 === 0 ? { callee, ring: d.int(4, 8), billable: d.int(20, 40) } : this.failedAttempt(callee);
            this.push(index, day, base + second, sub, shape);
            total++;
          }
        }
        record(sub, `technicophone_trunk_sip trunk (30 channels) dialling ${total} setups in 10 minutes from 14:00:00 on ${day.date} (18-22 per second) over a list of 1500 numbers, 10 answered; threshold: more than 10 setups per second`);
        break;
      }
      case 'premium_cli': {
        const sub = fresh('technicophone_centrex', 'centrex_user', 1);
        const callees = this.distinctFrench(8, 0.6);
        const shapes = callees.map((callee, i) => ({
          callee,
          ring: d.int(3, 10),
          billable: d.int(60, 300),
          ...(i % 2 === 1 ? { caller: PREMIUM_CLI } : {}),
        }));
        this.spread(scenario, index, sub, shapes, [day]);
        record(sub, `technicophone_centrex account presenting the premium-rate caller ID ${PREMIUM_CLI} (089B) on 4 of its 8 calls on ${day.date}; its own number is ${sub.number}`);
        break;
      }
      case 'hyper_short': {
        const sub = fresh('technicophone_trunk_sip', 'sip_trunk', 8);
        const callees = this.distinctFrench(20, 0);
        const base = 11 * 3600;
        for (let i = 0; i < 200; i++) {
          this.push(index, day, base + i * 18, sub, { callee: callees[i % callees.length]!, ring: d.int(1, 3), billable: 1 });
        }
        record(sub, `technicophone_trunk_sip trunk with 200 answered calls of 1 s to 20 mobile numbers between 11:00 and 12:00 on ${day.date}, one setup every 18 s; hyper-short: answered under 2 s`);
        break;
      }
      case 'premium_destination': {
        const sub = fresh('technicophone_centrex', 'centrex_user', 1);
        const premium = Array.from({ length: 3 }, () => this.unique(() => `+33899${d.digits(6)}`));
        const base = 15 * 3600;
        for (let i = 0; i < 40; i++) {
          this.push(index, day, base + i * 88, sub, { callee: premium[i % premium.length]!, ring: d.int(3, 6), billable: d.int(20, 45) });
        }
        record(sub, `technicophone_centrex user calling 3 premium-rate 089 numbers 40 times between 15:00 and 16:00 on ${day.date} (answered, 20-45 s)`);
        break;
      }
      case 'spend_velocity': {
        const sub = fresh('technicophone_centrex', 'centrex_user', 1);
        const far = FAR_INTERNATIONAL.map((t) => this.unique(() => fromTemplate(d, t)));
        const total = 5 * 3600;
        // Back to back from 13:00: the spend piles up by the hour, which is what the rule watches.
        let cursor = 13 * 3600;
        for (let sum = 0; sum < total; ) {
          const billable = Math.min(d.int(900, 2400), total - sum);
          const ring = d.int(5, 15);
          this.push(index, day, cursor, sub, { callee: d.pick(far), ring, billable });
          cursor += ring + billable + d.int(20, 90);
          sum += billable;
        }
        record(sub, `technicophone_centrex user calling Moscow (+7 495) and Saint Petersburg (+7 812), outside every plan, for 5 h of answered calls back to back from 13:00 on ${day.date}`);
        break;
      }
      case 'toll_fraud_probing': {
        // A hacked PBX at night: its users' accounts try ranges abroad (services/generator/toll-fraud-probing.ts).
        const clientNo = this.population.newClient();
        const users = Array.from({ length: PROBING_USERS }, () => this.population.subscriber(clientNo, 1, 'technicophone_centrex', 'centrex_user', 1, DEVICES.technicophone_centrex![0]!));
        const base = 2 * 3600 + 14 * 60;
        for (const a of tollFraudProbing(d)) {
          this.push(index, day, base + a.offset, users[a.user]!, { callee: a.callee, ring: a.ring, billable: 0, disposition: a.disposition });
        }
        record(users[0]!, `technicophone_centrex client with ${PROBING_USERS} users (${users.map((u) => u.account).join(', ')}) making ${PROBING_ATTEMPTS} failed attempts to Israel (+972) and Poland (+48), one every 3 s from 02:14 on ${day.date}; threshold: 20 failed attempts abroad per account within 10 min`);
        break;
      }
    }
  }

  private middleDay(): Day {
    const days = this.businessDays.length > 0 ? this.businessDays : this.monthDays;
    return days[Math.floor((days.length - 1) / 2)]!;
  }

  /** Distinct French numbers no ordinary subscriber owns; `fixedShare` of them fixed, the rest mobile. */
  private distinctFrench(count: number, fixedShare: number): string[] {
    return Array.from({ length: count }, () => this.unique(() => (this.d.chance(fixedShare) ? frenchFixed(this.d, false) : frenchMobile(this.d, false))));
  }

  private unique(draw: () => string): string {
    for (;;) {
      const n = draw();
      if (!this.usedNumbers.has(n)) {
        this.usedNumbers.add(n);
        return n;
      }
    }
  }

  private failedAttempt(callee: string): CallShape {
    const u = this.d.float();
    if (u < 0.7) return { callee, ring: this.d.int(5, 25), billable: 0, disposition: 'no_answer' };
    if (u < 0.9) return { callee, ring: this.d.int(1, 3), billable: 0, disposition: 'busy' };
    return { callee, ring: this.d.int(0, 2), billable: 0, disposition: 'failed' };
  }

  private push(scenario: number, day: Day, startSec: number, sub: GenSubscriber, shape: CallShape): void {
    let calls = this.byDay.get(day.index);
    if (!calls) this.byDay.set(day.index, (calls = []));
    calls.push(placeCall(this.clock, day, startSec, sub, shape, scenario));
  }

  /**
   * Lays calls one after another (never two at once) over the working days of the month, in office
   * hours when they fit, else over a longer day; falls back to every day of the month.
   */
  private spread(name: Scenario, scenario: number, sub: GenSubscriber, shapes: CallShape[], only?: Day[]): void {
    const candidates = only ? [only] : [this.businessDays, this.monthDays];
    for (const days of candidates) {
      if (days.length === 0) continue;
      const plan = this.layout(days, shapes);
      if (plan === null) continue;
      for (const [i, { day, start }] of plan.entries()) this.push(scenario, day, start, sub, shapes[i]!);
      return;
    }
    throw new Error(
      `--inject ${name}: its calls do not fit, one after another, in the ${this.monthDays.length} day(s) of ${this.month} in the window; generate more --days`,
    );
  }

  private layout(days: Day[], shapes: CallShape[]): { day: Day; start: number }[] | null {
    const MIN_GAP = 10;
    const plan: { day: Day; start: number }[] = [];
    for (let j = 0; j < days.length; j++) {
      const from = Math.floor((j * shapes.length) / days.length);
      const to = Math.floor(((j + 1) * shapes.length) / days.length);
      const todays = shapes.slice(from, to);
      if (todays.length === 0) continue;
      const busy = todays.reduce((sum, s) => sum + s.ring + (s.disposition === undefined || s.disposition === 'answered' ? s.billable : 0), 0);
      const need = busy + 3 * MIN_GAP * todays.length;
      let windowStart = 8 * 3600;
      let windowEnd = 20 * 3600;
      if (need > windowEnd - windowStart) {
        windowStart = Math.max(1800, windowEnd - need);
        windowEnd = Math.max(windowEnd, windowStart + need);
        if (windowEnd > DAY_SECONDS - 1800) return null;
      }
      const weights = todays.map(() => 0.5 + this.d.float());
      const weightSum = weights.reduce((a, b) => a + b, 0);
      const slack = windowEnd - windowStart - busy;
      let cursor = windowStart;
      todays.forEach((s, i) => {
        cursor += Math.max(MIN_GAP, Math.floor((slack * weights[i]!) / weightSum) - 1);
        plan.push({ day: days[j]!, start: cursor });
        cursor += s.ring + (s.disposition === undefined || s.disposition === 'answered' ? s.billable : 0);
      });
    }
    return plan;
  }
}

// ───────────────────────────── output ─────────────────────────────

/** Buffers text into large chunks and honours the stream's backpressure. */
class ChunkedFile {
  private readonly stream;
  private buffer = '';
  /** Kept rather than left unhandled: a write error (disk full) must fail the run, not the process. */
  private error: Error | null = null;

  constructor(readonly path: string) {
    this.stream = createWriteStream(path, { encoding: 'utf8' });
    this.stream.on('error', (e) => {
      this.error ??= e;
    });
  }

  get full(): boolean {
    return this.buffer.length >= WRITE_CHUNK_CHARS;
  }

  append(text: string): void {
    this.buffer += text;
  }

  async flush(): Promise<void> {
    if (this.error) throw this.error;
    if (this.buffer === '') return;
    const chunk = this.buffer;
    this.buffer = '';
    if (!this.stream.write(chunk)) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {
    if (this.error) throw this.error;
    this.stream.end(this.buffer);
    this.buffer = '';
    await finished(this.stream);
    if (this.error) throw this.error;
  }
}

function validate(opts: GenerateOptions): Scenario[] {
  if (!Number.isSafeInteger(opts.subscribers) || opts.subscribers < 1) throw new Error(`--subscribers must be a whole number ≥ 1, got ${opts.subscribers}`);
  if (!Number.isSafeInteger(opts.days) || opts.days < 1) throw new Error(`--days must be a whole number ≥ 1, got ${opts.days}`);
  if (!Number.isSafeInteger(opts.seed)) throw new Error(`--seed must be a whole number, got ${opts.seed}`);
  const inject: Scenario[] = [];
  for (const s of opts.inject ?? []) {
    if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`--inject: unknown scenario "${s}"; known: ${SCENARIOS.join(', ')}`);
    if (!inject.includes(s)) inject.push(s);
  }
  return inject;
}

export async function generateWorkload(opts: GenerateOptions): Promise<GenerateResult> {
  const inject = validate(opts);
  const startDate = opts.startDate ?? DEFAULT_START_DATE;
  const days = calendarDays(startDate, opts.days);
  const clock = new ParisClock();
  const seed = opts.seed;

  const population = new Population(new Dice(streamFor(seed, 1)), seed);
  population.ordinary(opts.subscribers);
  const ordinaryCount = population.all.length;
  // Scenarios are built before anything is written so that one that cannot fit fails the run early.
  const scenarios = new ScenarioBuilder(new Dice(streamFor(seed, 3)), clock, population, days);
  for (const s of inject) scenarios.inject(s);

  await mkdir(opts.outDir, { recursive: true });
  const subscribersFile = join(opts.outDir, 'subscribers.csv');
  const directory = new ChunkedFile(subscribersFile);
  directory.append(SUBSCRIBER_COLUMNS.join(',') + '\n');
  for (const s of population.all) {
    directory.append(`${s.account},${s.clientId},${s.siteId},${s.userId},${s.planId},${s.lineType},${s.channels},false,${s.number}\n`);
    if (directory.full) await directory.flush();
  }
  await directory.close();

  const month = new MonthCounters(ordinaryCount);
  const traffic = new OrdinaryTraffic(new Dice(streamFor(seed, 2)), clock, seed, month);
  const header = CANONICAL_COLUMNS.join(',') + '\n';
  const files: string[] = [];
  let written = 0;
  let currentMonth = '';
  for (const day of days) {
    if (day.month !== currentMonth) {
      month.reset();
      currentMonth = day.month;
    }
    const calls: Call[] = [];
    for (const client of population.clients) traffic.clientDay(client, day, calls);
    for (const c of scenarios.byDay.get(day.index) ?? []) calls.push(c);
    calls.sort((a, b) => a.startMs - b.startMs);

    const file = new ChunkedFile(join(opts.outDir, `cdrs-${day.date}.csv`));
    file.append(header);
    const idPrefix = `g${seed}-${day.date.replaceAll('-', '')}-`;
    for (let i = 0; i < calls.length; i++) {
      const c = calls[i]!;
      const id = idPrefix + String(i + 1).padStart(6, '0');
      if (c.scenario >= 0) {
        const ids = scenarios.injected[c.scenario]!.cdrIds;
        if (ids.length < MANIFEST_CDR_IDS) ids.push(id);
      }
      file.append(
        `${id},${c.account},${c.caller},${c.callee},${clock.iso(c.startMs)},${c.answerMs < 0 ? '' : clock.iso(c.answerMs)},${clock.iso(c.endMs)},${c.billable},${c.disposition},${c.direction},${c.leg},${c.forwardReason},${c.device}\n`,
      );
      if (file.full) {
        await file.flush();
        opts.onProgress?.(written + i + 1);
      }
    }
    await file.close();
    written += calls.length;
    opts.onProgress?.(written);
    files.push(file.path);
  }

  const manifestFile = join(opts.outDir, 'manifest.json');
  const manifest = {
    generator: 'cdr generate',
    seed,
    subscribers: opts.subscribers,
    days: opts.days,
    startDate,
    zone: ZONE,
    cdrs: written,
    files: files.map((f) => basename(f)),
    injected: scenarios.injected,
  };
  const manifestOut = new ChunkedFile(manifestFile);
  manifestOut.append(JSON.stringify(manifest, null, 2) + '\n');
  await manifestOut.close();

  return { files, subscribersFile, manifestFile, cdrs: written, injected: scenarios.injected };
}
