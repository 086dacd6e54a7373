/**
 * One normaliser for every reader: text record → validated canonical CDR with its subscriber, or a
 * reject that says which field is wrong and what to do.
 */
import { createHash } from 'node:crypto';
import { exactInstant, parseTimestamp, type Zone } from '../core/calendar.js';
import {
  DIRECTIONS,
  FORWARD_REASONS,
  LEGS,
  type Cdr,
  type Direction,
  type Disposition,
  type ForwardReason,
  type Leg,
} from '../core/cdr.js';
import { InvalidNumber, type NumberingPlan } from '../core/numbering.js';
import type { Subscriber } from '../core/cdr.js';
import { DEFAULT_COUNTRY, readCallee, readCaller, toE164 } from './dialled-number.js';
import { DEFAULT_INGEST_LIMITS, type IngestLimits } from './input-limits.js';
import type { NumberRewrites } from './number-rewrites.js';
import type { SubscriberDirectory } from './subscriber-directory.js';
import type { Reject, RejectReason, SourceRecord } from './source-record.js';

export interface NormalizeContext {
  numbering: NumberingPlan;
  /** Zone of timestamps written without an offset. */
  sourceZone: Zone;
  directory: SubscriberDirectory;
  /** Time window, longest call, longest cdr_id (config/ingest.yaml); the defaults otherwise. */
  limits?: IngestLimits;
  /** The time of the run, for the window's upper end; the clock otherwise. */
  nowMs?: number;
  /** Carrier and switch prefixes taken off numbers before they are read (number-rewrites.yaml). */
  rewrites?: NumberRewrites;
}

/** `notes`: what reading and number rewriting mended on the way (SourceRecord.notes), when anything was. */
export type Normalized = { ok: true; cdr: Cdr; notes?: string[] } | { ok: false; reject: Reject };

/** Module-level: a regex literal in a function is a new RegExp each time it runs. */
const WHOLE_NUMBER = /^\d+$/;

/** Switch spellings of a call outcome, folded to ours. */
const DISPOSITION_WORDS: Record<string, Disposition> = {
  answered: 'answered',
  answer: 'answered',
  no_answer: 'no_answer',
  'no answer': 'no_answer',
  noanswer: 'no_answer',
  busy: 'busy',
  failed: 'failed',
  congestion: 'failed',
  rejected: 'rejected',
  cancel: 'no_answer',
};

export function normalizeRecord(source: SourceRecord, ctx: NormalizeContext): Normalized {
  const r = ctx.rewrites === undefined ? source : ctx.rewrites.apply(source);

  const limits = ctx.limits ?? DEFAULT_INGEST_LIMITS;
  // A UTF-16 unit is at most 3 bytes of UTF-8: only a long id needs its bytes counted.
  if (r.cdrId.length * 3 > limits.maxCdrIdBytes && Buffer.byteLength(r.cdrId, 'utf8') > limits.maxCdrIdBytes) {
    return rejected(r, 'bad_field', `cdr_id is ${Buffer.byteLength(r.cdrId, 'utf8')} bytes, over the limit of ${limits.maxCdrIdBytes} (max_cdr_id_bytes in config/ingest.yaml): no switch writes ids that long; check the export`);
  }
  if (r.account === '' && r.caller === '') {
    return rejected(r, 'missing_field', 'account and caller are both empty: the call cannot be charged to anyone; give the switch an accountcode, or name the phone in the channel, or declare the caller number in subscribers.csv');
  }
  if (r.callee === '') return rejected(r, 'missing_callee', 'callee is empty');

  // The subscriber first: its PBX's dial plan says how to read what was dialled.
  const inbound = r.direction.toLowerCase() === 'in';
  let callee: string;
  let caller: string;
  let subscriber: Subscriber | undefined;
  try {
    if (inbound) {
      callee = toE164(r.callee, r.country ?? DEFAULT_COUNTRY, ctx.numbering);
      subscriber = ctx.directory.resolve(r.account, callee);
      caller = readCaller(r, subscriber, ctx.directory, ctx.numbering);
    } else {
      // The caller number only matters for an account the directory does not know.
      subscriber = ctx.directory.ofAccount(r.account) ?? ctx.directory.resolve(r.account, readCaller(r, undefined, ctx.directory, ctx.numbering));
      caller = readCaller(r, subscriber, ctx.directory, ctx.numbering);
      callee = readCallee(r, subscriber, ctx.directory, ctx.numbering);
    }
  } catch (e) {
    if (e instanceof InvalidNumber) return rejected(r, 'invalid_number', `callee: ${e.message}`);
    throw e;
  }

  const startMs = instantOf(r.start, ctx.sourceZone, -Infinity);
  if (typeof startMs === 'string') return rejected(r, 'bad_time', `start_time: ${startMs}`);
  const latestMs = (ctx.nowMs ?? Date.now()) + limits.latestAheadMs;
  if (startMs < limits.earliestMs || startMs > latestMs) return rejected(r, 'bad_time', `start_time ${r.start} is outside the accepted window ${windowText(limits.earliestMs, latestMs)}; check the switch's clock (window: earliest_time and latest_ahead_hours in config/ingest.yaml)`);
  const endMs = r.end === '' && r.durationSeconds !== undefined ? endFromDuration(startMs, r.durationSeconds) : instantOf(r.end, ctx.sourceZone, startMs);
  if (typeof endMs === 'string') return rejected(r, 'bad_time', `end_time: ${endMs}`);
  if (endMs < startMs) return rejected(r, 'end_before_start', `end_time ${r.end} is before start_time ${r.start}`);
  if (endMs - startMs > limits.maxCallSeconds * 1000) {
    return rejected(r, 'bad_field', `the call lasts ${Math.round((endMs - startMs) / 1000)} s from start_time to end_time, more than the ${limits.maxCallSeconds} s a call may last (max_call_seconds in config/ingest.yaml); check the times`);
  }
  let answerMs: number | null = null;
  if (r.answer !== '') {
    const answer = instantOf(r.answer, ctx.sourceZone, startMs);
    if (typeof answer === 'string') return rejected(r, 'bad_time', `answer_time: ${answer}`);
    answerMs = answer;
    if (answerMs < startMs || answerMs > endMs) return rejected(r, 'bad_time', `answer_time ${r.answer} is outside start_time..end_time`);
  }

  const disposition = r.disposition === '' ? (answerMs === null ? 'no_answer' : 'answered') : DISPOSITION_WORDS[r.disposition.toLowerCase()];
  if (disposition === undefined) return rejected(r, 'bad_field', `disposition "${r.disposition}" is not one of answered, no_answer, busy, failed, rejected`);
  // `internal` is a word of the exports: the call is billed as the caller's, to an internal callee.
  const direction = r.direction.toLowerCase() === 'internal' ? 'out' : pick<Direction>(r.direction, DIRECTIONS, 'out');
  if (direction === undefined) return rejected(r, 'bad_field', `direction "${r.direction}" is not one of ${DIRECTIONS.join(', ')}, internal`);
  const leg = pick<Leg>(r.leg, LEGS, 'originating');
  if (leg === undefined) return rejected(r, 'bad_field', `leg "${r.leg}" is not one of ${LEGS.join(', ')}`);
  const forwardReason = r.forwardReason === '' ? null : pick<ForwardReason>(r.forwardReason, FORWARD_REASONS, 'unconditional');
  if (forwardReason === undefined) return rejected(r, 'bad_field', `forward_reason "${r.forwardReason}" is not one of ${FORWARD_REASONS.join(', ')}`);

  let billableSeconds = 0;
  if (disposition === 'answered') {
    if (r.billableSeconds !== '') {
      if (!WHOLE_NUMBER.test(r.billableSeconds)) return rejected(r, 'bad_field', `billable_seconds "${r.billableSeconds}" is not a whole number of seconds`);
      billableSeconds = Number(r.billableSeconds);
      if (billableSeconds > limits.maxCallSeconds) {
        return rejected(r, 'bad_field', `billable_seconds ${r.billableSeconds.length > 20 ? r.billableSeconds.slice(0, 20) + '…' : r.billableSeconds} is more than the ${limits.maxCallSeconds} s a call may last (max_call_seconds in config/ingest.yaml); check the export`);
      }
      if (billableSeconds * 1000 > endMs - startMs + 1000) {
        return rejected(r, 'bad_field', `billable_seconds ${billableSeconds} is longer than the call (${Math.round((endMs - startMs) / 1000)} s from start to end)`);
      }
    } else {
      billableSeconds = Math.max(0, Math.round((endMs - (answerMs ?? startMs)) / 1000));
    }
    if (answerMs === null) answerMs = endMs - billableSeconds * 1000;
  }

  if (subscriber === undefined) return rejected(r, 'unknown_subscriber', unknownSubscriberAdvice(r.account, inbound ? callee : caller, inbound));

  const cdrId = r.cdrId !== '' ? ownCopy(r.cdrId) : contentId(r.account, caller, callee, startMs, endMs, billableSeconds, direction, leg);
  return {
    ok: true,
    ...(r.notes !== undefined ? { notes: r.notes } : {}),
    cdr: {
      cdrId,
      account: r.account === '' ? subscriber.account : ownCopy(r.account),
      caller: ownCopy(caller),
      callerOriginal: '',
      callee: ownCopy(callee),
      startMs,
      answerMs,
      endMs,
      billableSeconds,
      disposition,
      direction,
      leg,
      forwardReason,
      device: ownCopy(r.device),
      subscriber,
      source: r.source,
      line: r.line,
    },
  };
}

function rejected(r: SourceRecord, reason: RejectReason, detail: string): Normalized {
  return { ok: false, reject: { source: r.source, line: r.line, reason, detail, raw: r.raw } };
}

function unknownSubscriberAdvice(account: string, number: string, inbound: boolean): string {
  const which = inbound ? 'called number' : 'caller number';
  const numberPart = number.startsWith('+') ? ` nor for the ${which} ${number}` : '';
  const fix =
    account !== ''
      ? `add a row with account "${account}" to subscribers.csv${numberPart ? `, or list ${number} in the numbers column of the subscriber it belongs to` : ''}`
      : numberPart
        ? `list ${number} in the numbers column of the subscriber it belongs to in subscribers.csv`
        : 'the export names no account: set the accountcode on the switch, or read the account from another field (--account-from)';
  const trunk = account !== '' && !inbound ? `; if "${account}" is a trunk or gateway rather than a phone, the call came from the network: declare it with --trunk (or its context with --inbound-context)` : '';
  return `no subscriber for account "${account}"${numberPart}; ${fix}, then rate the file again${trunk}`;
}

function windowText(fromMs: number, toMs: number): string {
  return `${new Date(fromMs).toISOString()} .. ${new Date(toMs).toISOString()}`;
}

/**
 * The instant of a time field, or why it cannot be read. In the autumn overlap, a time after the start
 * is read as its second occurrence if the first would precede the start (`startMs`; -Infinity for the
 * start itself). Nearly every time is exact, and exactInstant reads it without allocating.
 */
function instantOf(text: string, zone: Zone, startMs: number): number | string {
  const exact = exactInstant(text, zone);
  if (!Number.isNaN(exact)) return exact;
  const parsed = parseTimestamp(text, zone);
  if (!parsed.ok) return parsed.error;
  const res = parsed.resolution;
  return res.kind === 'overlap' && res.ms < startMs ? res.laterMs : res.ms;
}

/** The end of a call given by its duration (whole seconds), or why the duration cannot be read. */
function endFromDuration(startMs: number, duration: string): number | string {
  return WHOLE_NUMBER.test(duration) ? startMs + Number(duration) * 1000 : `no end time, and the duration "${duration}" is not a whole number of seconds`;
}

function pick<T extends string>(text: string, allowed: readonly T[], fallback: T): T | undefined {
  if (text === '') return fallback;
  const t = text.toLowerCase() as T;
  return allowed.includes(t) ? t : undefined;
}

/** A CDR without a switch id is identified by what it says, so that the same call read twice is one call. */
function contentId(...parts: (string | number)[]): string {
  return 'h-' + createHash('sha256').update(parts.join('|')).digest('hex').slice(0, 24);
}

/**
 * A field read from a line is a slice of the reader's text, and keeps all of it alive for as long as the
 * field lives. The cdr_id outlives its chunk (counters and alerts keep the ids of the calls they cite), and
 * so may the numbers, account and device (the classifier's cache, fraud windows): they get text of their
 * own, so that memory follows the subscribers, not the files read (a month's retained chunks were 160 bytes
 * a CDR of heap before).
 */
function ownCopy(text: string): string {
  return text.length < 13 ? text : Buffer.from(text, 'utf8').toString('utf8');
}
