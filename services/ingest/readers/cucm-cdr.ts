/**
 * Reader of Cisco Unified CM CDR flat files (cdr_<cluster>_<node>_<time>_<seq>): a header line of
 * field names, a line of data types (INTEGER, VARCHAR(n), UNIQUEIDENTIFIER…) that CAR and most export
 * tools strip, then one CDR per line. A CMR file (cmr_…: voice-quality records, no billable call) is
 * refused as such.
 * Columns are found by name, so every CUCM release (they add fields at the end) reads alike.
 * Times are epoch seconds in UTC; a dateTimeConnect of 0 means the call was never answered.
 *
 * CUCM writes one CDR for a forwarded call (calling party, original and final called numbers, last
 * redirecting number) and three for a transfer (original call, consultation, and the final call
 * flagged joinOnBehalfOf = Transfer); the reader marks legs from those fields, see legOf.
 */
import { readCsvLines, refusedHeaderItem, refusedItem } from '../csv-lines.js';
import { epochSecondsToIso } from '../epoch-time.js';
import type { IngestLimits } from '../input-limits.js';
import type { ReadItem, SourceRecord } from '../source-record.js';
import { ON_BEHALF_OF, REDIRECT_REASONS, type RedirectKind } from './cucm-codes.js';

export interface CucmOptions {
  /** Device names of gateways and trunks: calls they originate are inbound, calls to them left the PBX. */
  trunks?: RegExp;
  /** origDeviceName of gateways and trunks: calls they originate are inbound. */
  inboundDevice?: RegExp;
  limits?: IngestLimits;
}

/**
 * Gateways and trunks by default: names that say so, and MGCP PRI / BRI / T1 endpoints
 * (`S0/SU2/DS1-0@gw.example.com`, `S0/SU0/BRI-1@…`), and H.323 gateways, which CUCM names by their IP
 * address (`10.20.30.1`): a PRI behind one has no span in the CDR. `origSpan` / `destSpan` other than 0
 * also mark a gateway.
 */
export const CUCM_DEFAULT_TRUNKS = /^(gw|gateway|trunk|sip[-_]?trunk|pstn|cube|sbc)|^S\d+\/(SU\d+\/)?(DS1|BRI|E1|T1)-\d+|[_.-](trunk|gw|gateway|pstn)([_.-]|$)|^\d{1,3}(\.\d{1,3}){3}$|^[0-9a-f]*:[0-9a-f:]+$/i;

/** Cisco phone and soft-client device names (SEP + MAC, Jabber CSF/BOT/TCT/TAB, ATA, IP Communicator) and voicemail ports. */
const CUCM_PHONES = /^(SEP[0-9A-F]{12}|CSF|BOT|TCT|TAB|ATA[0-9A-F]{12}|CIPC|AN[0-9A-F]{12}|CiscoUM|UnityVM|VM-?\d|CTIVM|CTIRP)/i;

/** Fields a CDR file has and a CMR file does not, and fields only a CMR file has. */
const REQUIRED = ['cdrRecordType', 'globalCallID_callId', 'dateTimeOrigination', 'dateTimeDisconnect', 'callingPartyNumber', 'finalCalledPartyNumber'] as const;
const CMR_FIELDS = ['directoryNum', 'dateTimeStamp', 'numberPacketsSent'] as const;

/** The header of a CUCM CMR file: quality statistics of each call, written beside the CDR file. */
export function isCmrHeader(fields: string[]): boolean {
  const header = fields.map((f) => f.trim().toLowerCase());
  return header[0] === 'cdrrecordtype' && CMR_FIELDS.every((c) => header.includes(c.toLowerCase())) && !header.includes('datetimeorigination');
}

/** A CDR file header, with or without its types line after it. */
export function isCdrHeader(fields: string[]): boolean {
  const header = fields.map((f) => f.trim().toLowerCase());
  return header[0] === 'cdrrecordtype' && REQUIRED.every((c) => header.includes(c.toLowerCase()));
}

export const CMR_FILE_DETAIL =
  'this is a Cisco CUCM CMR file (call management records: voice-quality statistics, no billable call); rate the CDR file of the same period instead (cdr_<cluster>_<node>_<time>_<seq>, not cmr_…)';

export async function* readCucmCdr(path: string, opts: CucmOptions = {}): AsyncGenerator<ReadItem> {
  const trunks = opts.trunks ?? CUCM_DEFAULT_TRUNKS;
  let index: Map<string, number> | null = null;
  let width = 0;
  let lookForTypes = false;
  for await (const batch of readCsvLines(path, ',', opts.limits)) {
    for (const l of batch) {
      const { line, raw, fields, error } = l;
      if (raw.trim() === '') continue;
      if (l.refused) {
        if (index === null) {
          yield refusedHeaderItem(path, l);
          return;
        }
        yield refusedItem(path, l);
        lookForTypes = false;
        continue;
      }
      if (index === null) {
        // Releases disagree on the case of some names (globalCallId_ClusterID / …ClusterId).
        if (fields !== null && isCmrHeader(fields)) {
          yield reject(path, 0, 'unknown_format', CMR_FILE_DETAIL, raw.slice(0, 200));
          return;
        }
        const header = (fields ?? []).map((f) => f.trim().toLowerCase());
        const missing = REQUIRED.filter((c) => !header.includes(c.toLowerCase()));
        if (missing.length > 0) {
          yield reject(path, line, 'bad_header', `header lacks ${missing.join(', ')}; a CUCM CDR file starts with the field names (cdrRecordType,globalCallID_callManagerId,…)`, raw);
          return;
        }
        index = new Map(header.map((h, i) => [h, i] as [string, number]));
        width = header.length;
        lookForTypes = true;
        continue;
      }
      if (lookForTypes) {
        lookForTypes = false;
        if (fields !== null && isTypesLine(fields)) continue;
      }
      if (fields === null) {
        yield reject(path, line, 'malformed_csv', `${error ?? 'not valid CSV'}; fix the quoting of this line`, raw);
        continue;
      }
      if (fields.length !== width) {
        yield reject(path, line, 'column_count', `${fields.length} columns where the header has ${width}`, raw);
        continue;
      }
      const ix = index;
      const get = (name: string): string => {
        const i = ix.get(name.toLowerCase());
        return i === undefined ? '' : (fields[i] ?? '').trim();
      };
      const type = get('cdrRecordType');
      if (type !== '1') {
        yield reject(path, line, 'bad_field', `cdrRecordType is "${type}": only 1 (end-of-call record) describes a call; CMR records (2) belong in the cmr files`, raw);
        continue;
      }
      const origination = epoch(get('dateTimeOrigination'));
      const disconnect = epoch(get('dateTimeDisconnect'));
      if (origination === '' || disconnect === '') {
        const which = origination === '' ? 'dateTimeOrigination' : 'dateTimeDisconnect';
        yield reject(path, line, 'bad_time', `${which} is "${get(which)}", expected epoch seconds (UTC) greater than 0`, raw);
        continue;
      }
      const connect = epoch(get('dateTimeConnect'));
      if (connect === '' && !/^0?$/.test(get('dateTimeConnect'))) {
        yield reject(path, line, 'bad_time', `dateTimeConnect is "${get('dateTimeConnect')}", expected epoch seconds (UTC), or 0 for a call never answered`, raw);
        continue;
      }
      const leg = legOf(get);
      const redirecting = get('lastRedirectDn');
      const isGateway = (side: 'orig' | 'dest'): boolean => trunks.test(get(`${side}DeviceName`)) || /^[1-9]\d*$/.test(get(`${side}Span`));
      // A forwarding or transfer that stays inside the cluster is no forwarding: only one to a gateway leaves.
      const leaves = isGateway('dest');
      const legKind = leg.leg !== 'originating' && !leaves && CUCM_PHONES.test(get('destDeviceName')) ? 'originating' : leg.leg;
      const inbound = legKind === 'originating' && isGateway('orig');
      const payerIsRedirector = legKind !== 'originating' && redirecting !== '';
      const record: SourceRecord = {
        source: path,
        line,
        raw,
        cdrId: cdrIdOf(get),
        // The line that forwarded or transferred the call is the calling line of the leg it created, and pays for it.
        account: payerIsRedirector ? redirecting : inbound ? get('destDeviceName') : get('origDeviceName'),
        caller: payerIsRedirector ? redirecting : get('callingPartyNumber'),
        callee: get('finalCalledPartyNumber') || get('originalCalledPartyNumber'),
        start: origination,
        answer: connect,
        end: disconnect,
        billableSeconds: connect === '' ? '' : get('duration'),
        disposition: connect !== '' ? 'answered' : unansweredDisposition(get('destCause_value'), get('origCause_value')),
        direction: inbound ? 'in' : 'out',
        leg: legKind,
        forwardReason: legKind === 'originating' ? '' : leg.reason,
        device: get('origDeviceName'),
      };
      if (!inbound) {
        if (leaves) record.internal = false;
        else if (CUCM_PHONES.test(get('destDeviceName'))) record.internal = true;
        if (!payerIsRedirector && CUCM_PHONES.test(get('origDeviceName'))) record.callerInside = true;
      }
      yield { kind: 'record', record };
    }
  }
  if (index === null) yield reject(path, 0, 'empty_file', 'the file has no header and no record', '');
}

export function isTypesLine(fields: string[]): boolean {
  return fields.length > 0 && fields.every((f) => /^(INTEGER|VARCHAR|UNIQUEIDENTIFIER|BIGINT|SMALLINT|TINYINT|CHAR|NVARCHAR|DATETIME)\b/i.test(f.trim()));
}

/**
 * Forwarded or transferred, from the codes Cisco's guide lists (cucm-codes.ts): joinOnBehalfOf or a
 * redirect's OnBehalfOf / reason code saying Transfer, else saying a forwarding (its reason from the
 * redirect reason code). Files without these columns fall back on the numbers: a last redirecting
 * number and a final called number other than the original one mean the call was forwarded.
 */
function legOf(get: (name: string) => string): { leg: string; reason: string } {
  const meanings: RedirectKind[] = [
    ON_BEHALF_OF.get(get('joinOnBehalfOf'))?.means.kind === 'transfer' ? { kind: 'transfer' } : { kind: 'same_call' },
    ...[get('lastRedirectRedirectReason'), get('origCalledPartyRedirectReason')].map((c) => REDIRECT_REASONS.get(c)?.means ?? { kind: 'same_call' as const }),
    ...[get('lastRedirectRedirectOnBehalfOf'), get('origCalledPartyRedirectOnBehalfOf')].map((c) => ON_BEHALF_OF.get(c)?.means ?? { kind: 'same_call' as const }),
  ];
  if (meanings.some((m) => m.kind === 'transfer')) return { leg: 'transferred', reason: '' };
  const forwards = meanings.filter((m): m is Extract<RedirectKind, { kind: 'forward' }> => m.kind === 'forward');
  if (forwards.length > 0) return { leg: 'forwarded', reason: forwards.find((f) => f.reason !== '')?.reason ?? '' };
  const codes = ['lastRedirectRedirectOnBehalfOf', 'origCalledPartyRedirectOnBehalfOf', 'lastRedirectRedirectReason', 'origCalledPartyRedirectReason'].map(get);
  const hasRedirectColumns = codes.some((c) => c !== '');
  const original = get('originalCalledPartyNumber');
  const final = get('finalCalledPartyNumber');
  if (!hasRedirectColumns && get('lastRedirectDn') !== '' && original !== '' && final !== '' && original !== final) {
    return { leg: 'forwarded', reason: '' };
  }
  return { leg: 'originating', reason: '' };
}

/** Q.850 cause of an unanswered call; the destination side says why it did not answer. */
function unansweredDisposition(destCause: string, origCause: string): string {
  const cause = destCause !== '' && destCause !== '0' ? destCause : origCause;
  switch (cause) {
    case '17':
      return 'busy';
    case '21':
      return 'rejected';
    case '':
    case '0':
    case '16':
    case '18':
    case '19':
    case '31':
    case '393216': // "split": a call cut by a transfer before its answer
      return 'no_answer';
    default:
      return 'failed';
  }
}

/** The global call id is shared by every CDR of a call (transfers, immediate divert): the leg ids tell them apart. */
function cdrIdOf(get: (name: string) => string): string {
  const parts = [get('globalCallId_ClusterID'), get('globalCallID_callManagerId'), get('globalCallID_callId'), get('origLegCallIdentifier'), get('destLegIdentifier') || get('destLegCallIdentifier')];
  return parts.filter((p) => p !== '').join('-');
}

/** Epoch seconds → ISO 8601 in UTC; '' for 0 or empty (never happened). */
function epoch(text: string): string {
  if (!/^\d+$/.test(text) || Number(text) === 0) return '';
  return epochSecondsToIso(Number(text), text);
}

function reject(source: string, line: number, reason: 'bad_header' | 'malformed_csv' | 'column_count' | 'bad_field' | 'bad_time' | 'empty_file' | 'unknown_format', detail: string, raw: string): ReadItem {
  return { kind: 'reject', reject: { source, line, reason, detail, raw } };
}
