/**
 * Reader of FreeSWITCH mod_cdr_csv files. Their columns are whatever the template in
 * cdr_csv.conf.xml says, so the reader is driven by that template: the shipped `example` one unless the
 * user passes their own (a template file, or the cdr_csv.conf.xml itself).
 *
 * mod_cdr_csv expands `${variable}` into the template without escaping quotes, so a caller name with
 * a `"` in it yields a line that is not valid CSV; when every column of the template is quoted, lines
 * are split on the template's own `","` separators (see splitFreeswitchLine).
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../config/config-error.js';
import { readCsvLines, refusedItem } from '../csv-lines.js';
import { epochSecondsToIso } from '../epoch-time.js';
import type { IngestLimits } from '../input-limits.js';
import type { ReadItem, RejectReason, SourceRecord } from '../source-record.js';

/** The `example` template shipped in FreeSWITCH's vanilla cdr_csv.conf.xml. */
export const FREESWITCH_EXAMPLE_TEMPLATE =
  '"${caller_id_name}","${caller_id_number}","${destination_number}","${context}","${start_stamp}","${answer_stamp}","${end_stamp}","${duration}","${billsec}","${hangup_cause}","${uuid}","${bleg_uuid}","${accountcode}","${read_codec}","${write_codec}"';

export interface FreeswitchTemplate {
  /** Where it came from, for messages. */
  name: string;
  /** Variable of each column; null for a column that is not a plain `${variable}`. */
  columns: (string | null)[];
  /** Every column is written between quotes: lines can be split on `","`. */
  allQuoted: boolean;
}

export interface FreeswitchOptions {
  template?: FreeswitchTemplate;
  /** The stamps were written in UTC (a server running in UTC that should say so). */
  utc?: boolean;
  /** Dialplan contexts of calls from the network (FreeSWITCH's vanilla one is `public`). */
  inboundContext?: RegExp;
  /** Gateways and sofia profiles that are trunks, matched against the bridge target and channel name. */
  trunks?: RegExp;
  /** Where the account comes from, first non-empty wins (default accountcode, channel, src). */
  accountFrom?: readonly ('accountcode' | 'channel' | 'src')[];
  /** A record waits this many lines for the other leg of its call. */
  pairWindow?: number;
  limits?: IngestLimits;
}

export const FREESWITCH_INBOUND_CONTEXT = /^(public|from-pstn|from-trunk|inbound)/;
/** Bridges through a gateway or the `external` sofia profile leave the PBX; so do peers named like trunks. */
export const FREESWITCH_DEFAULT_TRUNKS = /sofia\/gateway\/|sofia\/external\/|(^|[/_.-])(trunk|pstn|provider|gateway|gw|operator|carrier|sbc)([_.-]|$)/i;
/** Applications that answer inside the PBX: voicemail, conferences, queues, IVRs, prompts. */
const PBX_APPLICATIONS = /^(voicemail|conference|callcenter|fifo|ivr|playback|play_and_get_digits|park|valet_park|intercept|eavesdrop|echo|delay_echo|info|answer|hangup|transfer|lua|javascript|sleep)$/i;
const DEFAULT_PAIR_WINDOW = 2000;

/** Variables that carry the diversion of a forwarded leg (RFC 5806 header, or RDNIS). */
const DIVERSION_VARS = ['sip_h_diversion', 'diversion', 'rdnis', 'sip_rdnis'];
/** Variables that are set once a call has been transferred. */
const TRANSFER_VARS = ['transfer_history', 'transfer_source', 'sip_refer_to'];

export function parseFreeswitchTemplate(text: string, name: string): FreeswitchTemplate {
  const cells = splitTemplate(text.trim());
  const columns = cells.map((c) => {
    const m = /^"?\s*\$\{([A-Za-z0-9_-]+)\}\s*"?$/.exec(c.trim());
    return m ? m[1]!.toLowerCase() : null;
  });
  const allQuoted = cells.every((c) => /^".*"$/s.test(c.trim()));
  const has = (v: string): boolean => columns.includes(v);
  const missing = [
    has('destination_number') ? '' : '${destination_number}',
    has('start_stamp') || has('start_epoch') ? '' : '${start_stamp}',
    has('end_stamp') || has('end_epoch') ? '' : '${end_stamp}',
    has('accountcode') || has('caller_id_number') ? '' : '${accountcode} or ${caller_id_number}',
  ].filter((m) => m !== '');
  if (missing.length > 0) throw new ConfigError(name, 'template', `lacks ${missing.join(', ')}: its records cannot be billed`);
  return { name, columns, allQuoted };
}

/**
 * Loads a template file: either the template line itself, or a cdr_csv.conf.xml from which the
 * template named after `#` (else the `default-template` setting, else `example`) is taken.
 */
export function loadFreeswitchTemplate(spec: string): FreeswitchTemplate {
  const hash = spec.lastIndexOf('#');
  const path = hash > 0 ? spec.slice(0, hash) : spec;
  const wanted = hash > 0 ? spec.slice(hash + 1) : '';
  let text: string;
  try {
    text = readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  } catch (e) {
    throw new ConfigError(path, 'file', `cannot be read (${(e as Error).message})`);
  }
  if (!/<template\b/i.test(text)) return parseFreeswitchTemplate(text, path);
  const templates = new Map<string, string>();
  for (const m of text.matchAll(/<template\s+name\s*=\s*"([^"]+)"\s*>([\s\S]*?)<\/template>/gi)) templates.set(m[1]!, decodeXml(m[2]!));
  const configured = /<param\s+name\s*=\s*"default-template"\s+value\s*=\s*"([^"]+)"/i.exec(text)?.[1];
  const name = wanted || configured || 'example';
  const template = templates.get(name);
  if (template === undefined) {
    throw new ConfigError(path, `template ${name}`, `not found; the file defines ${[...templates.keys()].join(', ') || 'no template'}`);
  }
  return parseFreeswitchTemplate(template, `${path}#${name}`);
}

export const FREESWITCH_DEFAULT_TEMPLATE = parseFreeswitchTemplate(FREESWITCH_EXAMPLE_TEMPLATE, 'FreeSWITCH example template');

function decodeXml(s: string): string {
  return s.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** Splits a template on the commas between its cells (commas inside quotes belong to the cell). */
function splitTemplate(t: string): string[] {
  const cells: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of t) {
    if (ch === '"') quoted = !quoted;
    if (ch === ',' && !quoted) {
      cells.push(cur);
      cur = '';
    } else cur += ch;
  }
  cells.push(cur);
  return cells;
}

/**
 * Fields of one line. mod_cdr_csv writes values between the template's quotes without escaping them,
 * so when every column is quoted the template's own `","` separators are the true field boundaries
 * (papaparse would keep the quotes of a `, "…"` cell, and fail on a caller name with a quote).
 * Otherwise, or when a value itself contains `","`, papaparse's split is used if it has the right width.
 */
export function splitFreeswitchLine(raw: string, fields: string[] | null, template: FreeswitchTemplate): string[] | null {
  const width = template.columns.length;
  if (template.allQuoted) {
    const t = raw.trim();
    if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) {
      const parts = t.slice(1, -1).split(/"\s*,\s*"/);
      if (parts.length === width) return parts;
    }
  }
  return fields !== null && fields.length === width ? fields : null;
}

interface FsRow {
  line: number;
  raw: string;
  record: SourceRecord;
  uuid: string;
  bleg: string;
  /** Set once the other leg is found: what this row's place in the file yields. */
  resolved?: SourceRecord[];
}

export async function* readFreeswitchCsv(path: string, opts: FreeswitchOptions = {}): AsyncGenerator<ReadItem> {
  const template = opts.template ?? FREESWITCH_DEFAULT_TEMPLATE;
  const inbound = opts.inboundContext ?? FREESWITCH_INBOUND_CONTEXT;
  const window = Math.max(1, opts.pairWindow ?? DEFAULT_PAIR_WINDOW);
  const index = new Map<string, number>();
  template.columns.forEach((v, i) => {
    if (v !== null && !index.has(v)) index.set(v, i);
  });
  const pairable = index.has('uuid') && index.has('bleg_uuid');
  // Records wait here for the other leg of their call; both maps hold the same rows.
  const byUuid = new Map<string, FsRow>();
  const byBleg = new Map<string, FsRow>();
  const pending: FsRow[] = [];
  let sawLine = false;

  const forget = (r: FsRow): void => {
    if (byUuid.get(r.uuid) === r) byUuid.delete(r.uuid);
    if (byBleg.get(r.bleg) === r) byBleg.delete(r.bleg);
  };

  for await (const batch of readCsvLines(path, ',', opts.limits)) {
    for (const l of batch) {
      const { line, raw, fields, error } = l;
      if (raw.trim() === '') continue;
      sawLine = true;
      if (l.refused) {
        yield refusedItem(path, l);
        continue;
      }
      const cells = splitFreeswitchLine(raw, fields, template);
      if (cells === null) {
        const reason: RejectReason = fields === null ? 'malformed_csv' : 'column_count';
        const detail =
          fields === null
            ? `${error ?? 'not valid CSV'}; the line does not split into the ${template.columns.length} columns of ${template.name} either`
            : `${fields.length} columns where ${template.name} has ${template.columns.length}; pass the template the switch uses`;
        yield { kind: 'reject', reject: { source: path, line, reason, detail, raw } };
        continue;
      }
      const row = toRow(path, line, raw, cells, index, opts.utc === true, inbound, opts.trunks ?? FREESWITCH_DEFAULT_TRUNKS, opts.accountFrom ?? ['accountcode', 'channel', 'src']);
      if (!pairable || (row.uuid === '' && row.bleg === '')) {
        yield { kind: 'record', record: row.record };
        continue;
      }
      const a = row.uuid !== '' ? byBleg.get(row.uuid) : undefined;
      const b = row.bleg !== '' ? byUuid.get(row.bleg) : undefined;
      const partner = a ?? b;
      if (partner !== undefined) {
        // The pair takes the place of its first line, so that records come out in file order.
        forget(partner);
        partner.resolved = a !== undefined ? pair(a, row) : pair(row, partner);
      } else {
        pending.push(row);
        if (row.uuid !== '') byUuid.set(row.uuid, row);
        if (row.bleg !== '') byBleg.set(row.bleg, row);
      }
      while (pending.length > 0 && (pending[0]!.resolved !== undefined || pending[0]!.line <= line - window)) {
        const head = pending.shift()!;
        forget(head);
        for (const record of head.resolved ?? [head.record]) yield { kind: 'record', record };
      }
    }
  }
  for (const r of pending) for (const record of r.resolved ?? [r.record]) yield { kind: 'record', record };
  if (!sawLine) yield { kind: 'reject', reject: { source: path, line: 0, reason: 'empty_file', detail: 'the file has no record', raw: '' } };
}

/**
 * The A-leg (the caller's channel) and the B-leg it bridged to, both written with `legs=ab`.
 * - A plain B-leg repeats its A-leg's call: the A-leg is kept, as a `legs=a` export would give it.
 * - A forwarded B-leg is the leg to bill; the A-leg only carried the call to the forwarding line and is
 *   folded into it (its line stays in `raw`).
 * - A transferred B-leg and its A-leg are two legs: the A-leg talked before the transfer, the B-leg after.
 */
function pair(a: FsRow, b: FsRow): SourceRecord[] {
  const raw = (a.line < b.line ? [a, b] : [b, a]).map((r) => r.raw).join('\n');
  if (b.record.leg === 'forwarded') return [{ ...b.record, account: b.record.account || a.record.account, raw }];
  if (b.record.leg === 'transferred') {
    const legs = [a.record, { ...b.record, account: b.record.account || a.record.account }];
    return a.line < b.line ? legs : legs.reverse();
  }
  return [{ ...a.record, raw }];
}

function toRow(
  source: string,
  line: number,
  raw: string,
  cells: string[],
  index: Map<string, number>,
  utc: boolean,
  inbound: RegExp,
  trunks: RegExp,
  accountFrom: readonly ('accountcode' | 'channel' | 'src')[],
): FsRow {
  const get = (v: string): string => {
    const i = index.get(v);
    return i === undefined ? '' : (cells[i] ?? '').trim();
  };
  const stamp = (name: 'start' | 'answer' | 'end'): string => {
    const epoch = get(`${name}_epoch`);
    if (/^\d+$/.test(epoch)) return epoch === '0' ? '' : epochSecondsToIso(Number(epoch), epoch);
    const text = get(`${name}_stamp`);
    // Old mod_cdr_csv formatted a never-set answer time as the epoch itself.
    if (text === '' || text.startsWith('1970-01-01') || text.startsWith('1969-12-31')) return '';
    return utc ? `${text}Z` : text;
  };

  const diversion = DIVERSION_VARS.map(get).find((v) => v !== '') ?? '';
  const transferred = TRANSFER_VARS.some((v) => get(v) !== '');
  const forwarded = !transferred && diversion !== '';
  const answer = stamp('answer');
  const caller = get('caller_id_number') || get('ani');
  const direction = forwarded || transferred ? 'out' : inbound.test(get('context')) ? 'in' : 'out';
  const far = farEnd(get, trunks);
  const phone = direction === 'out' && !trunks.test(get('channel_name')) ? userOf(get('channel_name')) : '';
  const account = accountFrom.map((f) => (f === 'accountcode' ? get('accountcode') : f === 'channel' ? phone : direction === 'out' && !/^\+?\d{7,}$/.test(caller) ? caller : '')).find((v) => v !== '') ?? '';
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
    device: get('channel_name'),
  };
  if (direction === 'out') {
    if (forwarded || transferred || far.reach === 'trunk') record.internal = false;
    else if (far.reach === 'inside') record.internal = true;
    if (far.number !== '') record.calleeSent = true;
    if (!forwarded && !transferred) record.callerInside = true;
  }
  return { line, raw, record, uuid: get('uuid'), bleg: get('bleg_uuid') };
}

/**
 * Where the call went, from the variables the template carries: `sip_gateway_name`, or the bridge
 * target in `last_arg` (`sofia/gateway/orange/0612345678` gave the trunk 0612345678, `user/1001@pbx`
 * rang a phone), or an application that answers inside (voicemail, conference…).
 */
function farEnd(get: (v: string) => string, trunks: RegExp): { reach: 'trunk' | 'inside' | 'unknown'; number: string } {
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
