/**
 * What a FreeSWITCH channel's variables say about a call, whatever wrote them: a mod_cdr_csv line read
 * through its template, or a mod_json_cdr / mod_xml_cdr document. Each reader gives a "variables by
 * name" view (`FsVariables`); this module turns it into a SourceRecord (account, direction, trunk or
 * inside, forwarded or transferred leg) and pairs the A leg (the caller's channel) with the B leg it
 * bridged to, so that the three exports of one call give the same bill.
 */
import { epochSecondsToIso } from '../epoch-time.js';
import type { SourceRecord } from '../source-record.js';

/** A channel variable by name ('' when the export does not have it). */
export type FsVariables = (name: string) => string;

export type FsAccountSource = 'accountcode' | 'channel' | 'src';

export interface FsLegRules {
  /** The stamps were written in UTC (a server running in UTC that should say so). */
  utc: boolean;
  /** Dialplan contexts of calls from the network. */
  inbound: RegExp;
  /** Gateways and sofia profiles that are trunks, matched against the bridge target and channel name. */
  trunks: RegExp;
  /** Where the account comes from, first non-empty wins. */
  accountFrom: readonly FsAccountSource[];
}

export const FREESWITCH_INBOUND_CONTEXT = /^(public|from-pstn|from-trunk|inbound)$/;
/** Bridges through a gateway or the `external` sofia profile leave the PBX; so do peers named like trunks. */
export const FREESWITCH_DEFAULT_TRUNKS = /sofia\/gateway\/|sofia\/external\/|(^|[/_.-])(trunk|pstn|provider|gateway|gw|operator|carrier|sbc)([_.-]|$)/i;
export const DEFAULT_ACCOUNT_FROM: readonly FsAccountSource[] = ['accountcode', 'channel', 'src'];

/** One channel's record, with what pairing needs. */
export interface FsLeg {
  /** Arrival order across everything one reader reads (lines of a CSV, documents of a directory). */
  seq: number;
  line: number;
  raw: string;
  record: SourceRecord;
  uuid: string;
  /** The B leg this leg bridged to (`bleg_uuid`: the originatee's uuid). */
  bleg: string;
  /** The A leg that originated this leg (`originator`). */
  originator: string;
  /** The channel itself is the trunk's (a gateway or external-profile channel). */
  trunkLeg: boolean;
}

/** Applications that answer inside the PBX: voicemail, conferences, queues, IVRs, prompts. */
const PBX_APPLICATIONS = /^(voicemail|conference|callcenter|fifo|ivr|playback|play_and_get_digits|park|valet_park|intercept|eavesdrop|echo|delay_echo|info|answer|hangup|transfer|lua|javascript|sleep)$/i;
/** Variables that carry the diversion of a forwarded leg (RFC 5806 header, or RDNIS). */
const DIVERSION_VARS = ['sip_h_diversion', 'diversion', 'rdnis', 'sip_rdnis'];
/** Variables that are set once a call has been transferred. */
const TRANSFER_VARS = ['transfer_history', 'transfer_source', 'sip_refer_to'];

/** The record of one channel, from its variables. */
export function legFromVariables(source: string, seq: number, line: number, raw: string, get: FsVariables, rules: FsLegRules): FsLeg {
  const stamp = (name: 'start' | 'answer' | 'end'): string => {
    const epoch = get(`${name}_epoch`);
    if (/^\d+$/.test(epoch)) return epoch === '0' ? '' : epochSecondsToIso(Number(epoch), epoch);
    const micro = get(`${name}_uepoch`);
    if (/^\d+$/.test(micro)) return micro === '0' ? '' : epochSecondsToIso(Math.floor(Number(micro) / 1e6), micro);
    const text = get(`${name}_stamp`);
    // Old mod_cdr_csv formatted a never-set answer time as the epoch itself.
    if (text === '' || text.startsWith('1970-01-01') || text.startsWith('1969-12-31')) return '';
    return rules.utc ? `${text}Z` : text;
  };

  const far = farEnd(get, rules.trunks);
  // A transfer or a forwarding that stays between the PBX's own phones is still an internal call
  // (a dialplan `transfer`, a blind transfer to another extension): only one that leaves makes a leg.
  const leaves = far.reach !== 'inside';
  const diversion = DIVERSION_VARS.map(get).find((v) => v !== '') ?? '';
  const transferred = leaves && TRANSFER_VARS.some((v) => get(v) !== '');
  const forwarded = leaves && !transferred && diversion !== '';
  const answer = stamp('answer');
  const caller = get('caller_id_number') || get('ani');
  const channel = get('channel_name');
  const direction = forwarded || transferred ? 'out' : rules.inbound.test(get('context')) ? 'in' : 'out';
  const phone = direction === 'out' && !rules.trunks.test(channel) ? userOf(channel) : '';
  const account =
    rules.accountFrom.map((f) => (f === 'accountcode' ? get('accountcode') : f === 'channel' ? phone : direction === 'out' && !/^\+?\d{7,}$/.test(caller) ? caller : '')).find((v) => v !== '') ?? '';
  const record: SourceRecord = {
    source,
    line,
    raw,
    cdrId: get('uuid'),
    account,
    // The forwarding line is the caller of the leg its forwarding creates, and the party charged.
    caller: forwarded ? diversionNumber(diversion) || caller : caller,
    callee: far.number || get('destination_number'),
    start: stamp('start'),
    answer,
    end: stamp('end'),
    billableSeconds: get('billsec'),
    disposition: dispositionOf(answer, get('hangup_cause')),
    direction,
    leg: transferred ? 'transferred' : forwarded ? 'forwarded' : 'originating',
    forwardReason: forwarded ? diversionReason(diversion) : '',
    device: channel,
  };
  if (direction === 'out') {
    if (forwarded || transferred || far.reach === 'trunk') record.internal = false;
    else if (far.reach === 'inside') record.internal = true;
    if (far.number !== '') record.calleeSent = true;
    if (!forwarded && !transferred) record.callerInside = true;
  }
  const trunkLeg = (channel !== '' && rules.trunks.test(channel)) || get('sip_gateway_name') !== '';
  return { seq, line, raw, record, uuid: get('uuid'), bleg: get('bleg_uuid'), originator: get('originator'), trunkLeg };
}

/**
 * Where the call went, from the variables: `sip_gateway_name`, or the bridge target in `last_arg`
 * (`sofia/gateway/orange/0612345678` gave the trunk 0612345678, `user/1001@pbx` rang a phone), or an
 * application that answers inside (voicemail, conference…).
 */
function farEnd(get: FsVariables, trunks: RegExp): { reach: 'trunk' | 'inside' | 'unknown'; number: string } {
  const app = get('last_app');
  const arg = get('last_arg');
  if (/^bridge$/i.test(app) && arg !== '') {
    const target = arg.replace(/^\{[^}]*\}|^\[[^\]]*\]/, '').split(/[,|:]/)[0]!.trim();
    const viaGateway = /^sofia\/gateway\/[^/]+\/(?:sips?:)?(\+?\d+)/i.exec(target);
    if (viaGateway) return { reach: 'trunk', number: viaGateway[1]! };
    if (trunks.test(target)) return { reach: 'trunk', number: /\/(?:sips?:)?(\+?\d{3,})(?:@|$)/.exec(target)?.[1] ?? '' };
    if (/^(user|sofia\/internal|loopback|verto\.rtc)\//i.test(target) || /^\$\{group_call/i.test(arg)) return { reach: 'inside', number: '' };
  }
  if (get('sip_gateway_name') !== '') return { reach: 'trunk', number: '' };
  if (app !== '' && PBX_APPLICATIONS.test(app)) return { reach: 'inside', number: '' };
  return { reach: 'unknown', number: '' };
}

/** `sofia/internal/1001@pbx.example.com` → `1001`: the registered user of a phone's channel. */
function userOf(channel: string): string {
  const m = /^sofia\/[^/]+\/(?:sips?:)?([^@/]+)@/i.exec(channel);
  return m ? m[1]! : '';
}

/**
 * The records of a call from its A leg, the B leg it bridged to, and the B legs that failed before it
 * (a gateway that refused, then the next one answered): those are attempts of the same call.
 * - A forwarded B leg is the leg to bill; the A leg only carried the call to the forwarding line.
 * - A B leg on the trunk, from a phone's A leg: the trunk was held as long as the B leg lasted (a called
 *   party parked, then taken back from another phone, outlives the phone that called): one call, the
 *   A leg's, for the B leg's time.
 * - A transferred B leg and its A leg are two legs: the A leg talked before the transfer, the B leg after.
 * - Otherwise the B leg repeats its A leg's call: the A leg is kept, as a `legs=a` export would give it.
 */
export function recordsOfCall(a: FsLeg, b: FsLeg, attempts: readonly FsLeg[] = []): SourceRecord[] {
  const raw = [a, b, ...attempts]
    .sort((x, y) => x.seq - y.seq)
    .map((l) => l.raw)
    .join('\n');
  if (b.record.leg === 'forwarded') return [{ ...b.record, account: b.record.account || a.record.account, raw }];
  if (b.trunkLeg && !a.trunkLeg) {
    const held = b.record;
    return [
      {
        ...a.record,
        raw,
        answer: held.answer,
        end: held.end || a.record.end,
        billableSeconds: held.billableSeconds,
        disposition: held.disposition,
        leg: a.record.leg === 'forwarded' ? 'forwarded' : 'originating',
        direction: a.record.direction === 'in' ? 'in' : 'out',
        ...(a.record.direction === 'in' ? {} : { internal: false }),
      },
    ];
  }
  if (b.record.leg === 'transferred') {
    const legs = [{ ...a.record, raw: [a, ...attempts].map((l) => l.raw).join('\n') }, { ...b.record, account: b.record.account || a.record.account }];
    return a.seq < b.seq ? legs : legs.reverse();
  }
  return [{ ...a.record, raw }];
}

/** Q.850 causes as FreeSWITCH names them, for calls that were never answered. */
const UNANSWERED_CAUSES: Record<string, string> = {
  USER_BUSY: 'busy',
  CALL_REJECTED: 'rejected',
  NO_ANSWER: 'no_answer',
  NO_USER_RESPONSE: 'no_answer',
  ORIGINATOR_CANCEL: 'no_answer',
  NORMAL_CLEARING: 'no_answer',
  ALLOTTED_TIMEOUT: 'no_answer',
  LOSE_RACE: 'no_answer',
  PICKED_OFF: 'no_answer',
  SUBSCRIBER_ABSENT: 'no_answer',
};

/** An answer time means answered, whatever the cause of the hang-up; otherwise the cause says why not. */
export function dispositionOf(answer: string, cause: string): string {
  if (answer !== '') return 'answered';
  if (cause === '') return '';
  return UNANSWERED_CAUSES[cause.toUpperCase()] ?? 'failed';
}

/** `<sip:0145000002@pbx>;reason=unconditional` → `0145000002`; an RDNIS value is the number itself. */
export function diversionNumber(value: string): string {
  const uri = /<?(?:sips?|tel):\+?([^@;>]+)/i.exec(value);
  if (uri) return (value.includes('tel:+') || value.includes('sip:+') ? '+' : '') + uri[1]!;
  return /^[+\d][\d\s.-]*$/.test(value.trim()) ? value.trim() : '';
}

/** RFC 5806 reasons → ours; anything else (deflection, unknown…) stays unset rather than guessed. */
export function diversionReason(value: string): string {
  const reason = /;\s*reason\s*=\s*"?([a-z-]+)/i.exec(value)?.[1]?.toLowerCase() ?? '';
  switch (reason) {
    case 'unconditional':
      return 'unconditional';
    case 'user-busy':
      return 'busy';
    case 'no-answer':
      return 'no_answer';
    case 'unavailable':
    case 'out-of-service':
      return 'unreachable';
    default:
      return '';
  }
}
