/**
 * Reader of Cisco Unified CM CDR flat files (cdr_<cluster>_<node>_<time>_<seq>): a header line of
 * field names, a line of data types (INTEGER, VARCHAR(n), UNIQUEIDENTIFIER…), then one CDR per line.
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

export interface CucmOptions {
  /** origDeviceName of gateways and trunks: calls they originate are inbound. */
  inboundDevice?: RegExp;
  limits?: IngestLimits;
}

export const CUCM_INBOUND_DEVICE = /^(gw|gateway|trunk|sip[-_]?trunk|pstn|cube)/i;

const REQUIRED = ['cdrRecordType', 'globalCallID_callId', 'dateTimeOrigination', 'dateTimeDisconnect', 'callingPartyNumber', 'finalCalledPartyNumber'] as const;

/** OnBehalfOf codes (CDR field descriptions, "OnBehalfOf codes"). */
const ON_BEHALF_FORWARD = new Set(['5', '14']); // Call Forward, Immediate Divert
const ON_BEHALF_TRANSFER = new Set(['10']); // Transfer

/** Redirect reason codes (CDR field descriptions, "Redirect reason codes"). */
const REASON_TRANSFER = new Set(['4', '34', '130', '146']); // Call Transfer, Blind Transfer, Refer, Replaces
const REASON_FORWARD: Record<string, string> = {
  '1': 'busy', // Call Forward Busy
  '2': 'no_answer', // Call Forward No Answer
  '9': 'unreachable', // CPE Out of Order
  '10': '', // Call Forward (condition not given)
  '15': 'unconditional', // Call Forward All
  '18': '', // Call Deflection
  '50': '', // Call Immediate Divert
  '66': '', // Call Forward Alternate Party
  '82': 'unreachable', // Call Forward On Failure
};

export async function* readCucmCdr(path: string, opts: CucmOptions = {}): AsyncGenerator<ReadItem> {
  const inbound = opts.inboundDevice ?? CUCM_INBOUND_DEVICE;
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
      const payerIsRedirector = leg.leg !== 'originating' && redirecting !== '';
      const record: SourceRecord = {
        source: path,
        line,
        raw,
        cdrId: cdrIdOf(get),
        // The line that forwarded or transferred the call is the calling line of the leg it created, and pays for it.
        account: payerIsRedirector ? redirecting : get('origDeviceName'),
        caller: payerIsRedirector ? redirecting : get('callingPartyNumber'),
        callee: get('finalCalledPartyNumber') || get('originalCalledPartyNumber'),
        start: origination,
        answer: connect,
        end: disconnect,
        billableSeconds: connect === '' ? '' : get('duration'),
        disposition: connect !== '' ? 'answered' : unansweredDisposition(get('destCause_value'), get('origCause_value')),
        direction: leg.leg === 'originating' && inbound.test(get('origDeviceName')) ? 'in' : 'out',
        leg: leg.leg,
        forwardReason: leg.reason,
        device: get('origDeviceName'),
      };
      yield { kind: 'record', record };
    }
  }
  if (index === null) yield reject(path, 0, 'empty_file', 'the file has no header and no record', '');
}

export function isTypesLine(fields: string[]): boolean {
  return fields.length > 0 && fields.every((f) => /^(INTEGER|VARCHAR|UNIQUEIDENTIFIER|BIGINT|SMALLINT|TINYINT|CHAR|NVARCHAR|DATETIME)\b/i.test(f.trim()));
}

/**
 * Forwarded: the OnBehalfOf of a redirect says Call Forward or Immediate Divert, or its reason code is a
 * forwarding one. Transferred: joinOnBehalfOf (or a redirect's OnBehalfOf) says Transfer, or its reason
 * code is a transfer one. Files without these columns fall back on the numbers: a last redirecting
 * number and a final called number other than the original one mean the call was forwarded.
 */
function legOf(get: (name: string) => string): { leg: string; reason: string } {
  const onBehalf = [get('lastRedirectRedirectOnBehalfOf'), get('origCalledPartyRedirectOnBehalfOf')];
  const reasons = [get('lastRedirectRedirectReason'), get('origCalledPartyRedirectReason')];
  if (ON_BEHALF_TRANSFER.has(get('joinOnBehalfOf')) || onBehalf.some((o) => ON_BEHALF_TRANSFER.has(o)) || reasons.some((r) => REASON_TRANSFER.has(r))) {
    return { leg: 'transferred', reason: '' };
  }
  const forwardReason = reasons.find((r) => r in REASON_FORWARD);
  if (onBehalf.some((o) => ON_BEHALF_FORWARD.has(o)) || forwardReason !== undefined) {
    return { leg: 'forwarded', reason: forwardReason === undefined ? '' : REASON_FORWARD[forwardReason]! };
  }
  const hasRedirectColumns = onBehalf.some((o) => o !== '') || reasons.some((r) => r !== '');
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

function reject(source: string, line: number, reason: 'bad_header' | 'malformed_csv' | 'column_count' | 'bad_field' | 'bad_time' | 'empty_file', detail: string, raw: string): ReadItem {
  return { kind: 'reject', reject: { source, line, reason, detail, raw } };
}
