/**
 * Reader of Kamailio / OpenSIPS accounting (the `acc` module): a SIP proxy accounts transactions, not
 * calls, so a call is two rows — its INVITE answered (200) and its BYE — that sip-pairing.ts puts
 * together. Three shapes are read, all into the same rows:
 * - the log lines of acc's syslog / stderr backend (acc.c `acc_log_request`), with whatever the logger
 *   put before `ACC:` (`Dec  3 10:00:00 host kamailio[123]: NOTICE: acc [acc.c:287]: acc_log_request(): `):
 *   `ACC: transaction answered: timestamp=<epoch>;method=INVITE;from_tag=…;to_tag=…;call_id=…;code=200;reason=OK`
 *   then the `log_extra` attributes (`;src_user=…;dst_ouser=…`), in that order, `;` between them and
 *   nothing escaped; `call missed:` and `request acknowledged:` alike; OpenSIPS's `call ended:` line
 *   (`created=…;call_start_time=…;duration=…;ms_duration=…;setuptime=…;method=…`) is a whole call;
 * - CSV exports of the `acc` and `missed_calls` tables (columns `method, from_tag, to_tag, callid,
 *   sip_code, sip_reason, time` and the `db_extra` columns), `time` as `YYYY-MM-DD HH:MM:SS` (the
 *   server's zone, `--tz`) or epoch seconds; OpenSIPS's `duration, setuptime, created` make a row a whole call;
 * - CSV exports of the dialog-based CDR table `acc_cdrs` (`start_time, end_time, duration` and the
 *   `cdr_extra` columns): one row per call, read as it is.
 * Kamailio's dialog CDR log lines (`start_time=…; end_time=…; duration=…`, acc_cdr.c) describe the same
 * calls as the `ACC:` lines beside them and take their extra attributes from whichever message ended the
 * call (the callee's BYE names the callee as src_user), so they are not billed from a log; a log that
 * holds only such lines is refused with what to do instead.
 */
import { readCsvLines, refusedHeaderItem, refusedItem } from '../csv-lines.js';
import { epochSecondsToIso } from '../epoch-time.js';
import type { IngestLimits } from '../input-limits.js';
import type { ReadItem, RejectReason } from '../source-record.js';
import { SipPairing, type AccRow, type PairingOptions } from './sip-pairing.js';

export interface SipAccountingOptions extends PairingOptions {
  limits?: IngestLimits;
}

/** The texts acc writes before `timestamp=` (Kamailio acc.h, OpenSIPS acc.h). */
const ACC_LINE = /\bACC: (transaction answered|call missed|request acknowledged|request accounted|call ended): ((?:timestamp|created)=.*)$/;
/** A dialog CDR line of Kamailio's acc_cdr.c `log_write_cdr`: `"; "` between attributes. */
const CDR_LOG_LINE = /(^|[\s:])start_time=[\d.]+; end_time=[\d.]+; duration=/;
/** The columns that make a CSV an export of the acc / missed_calls tables, and of acc_cdrs. */
const ACC_COLUMNS = ['method', 'callid', 'sip_code', 'time'] as const;
const CDRS_COLUMNS = ['start_time', 'end_time', 'duration'] as const;

/** What detection looks for: an acc log line, or the header of an acc, missed_calls or acc_cdrs export. */
export function looksSipAccounting(lines: string[]): boolean {
  if (lines.some((l) => ACC_LINE.test(l))) return true;
  const header = (lines[0] ?? '').replace(/^\uFEFF/, '').split(',').map(columnName);
  return isAccHeader(header) || isCdrsHeader(header);
}

export async function* readSipAccounting(path: string, opts: SipAccountingOptions = {}): AsyncGenerator<ReadItem> {
  const pairing = new SipPairing(path, opts);
  let shape: 'unknown' | 'log' | 'acc' | 'cdrs' = 'unknown';
  let header: string[] = [];
  let cdrLogLines = 0;
  let accLines = 0;
  for await (const batch of readCsvLines(path, ',', opts.limits)) {
    for (const l of batch) {
      const { line, raw } = l;
      if (raw.trim() === '') continue;
      if (shape === 'unknown') {
        const names = (l.fields ?? []).map(columnName);
        if (l.refused === undefined && (isAccHeader(names) || isCdrsHeader(names))) {
          shape = isAccHeader(names) ? 'acc' : 'cdrs';
          header = names;
          continue;
        }
        if (l.refused !== undefined && /^\s*\uFEFF?[a-z_]+,/i.test(raw)) {
          yield refusedHeaderItem(path, l);
          return;
        }
        shape = 'log';
      }
      if (l.refused) {
        yield refusedItem(path, l);
        continue;
      }
      if (shape === 'log') {
        const m = ACC_LINE.exec(raw);
        if (m === null) {
          // A log holds the proxy's other messages too: only acc's lines are records, and one that is damaged is said so.
          if (CDR_LOG_LINE.test(raw)) cdrLogLines++;
          else if (raw.includes('ACC: ')) yield reject(path, line, 'bad_field', 'a line with "ACC: " that is not as acc writes it ("ACC: transaction answered: timestamp=…;method=…"): it may be cut or damaged; check the log', raw);
          continue;
        }
        accLines++;
        const row = logRow(line, raw, m[1]!, m[2]!);
        yield* typeof row === 'string' ? [reject(path, line, 'bad_field', row, raw)] : pairing.add(row);
        continue;
      }
      if (l.fields === null) {
        yield reject(path, line, 'malformed_csv', `${l.error ?? 'not valid CSV'}; fix the quoting of this line`, raw);
        continue;
      }
      if (l.fields.length !== header.length) {
        yield reject(path, line, 'column_count', `${l.fields.length} columns where the header has ${header.length}`, raw);
        continue;
      }
      const attrs = new Map(header.map((h, i) => [h, (l.fields![i] ?? '').trim()] as [string, string]));
      const row = shape === 'acc' ? tableRow(line, raw, attrs) : cdrsRow(line, raw, attrs);
      yield* typeof row === 'string' ? [reject(path, line, 'bad_time', row, raw)] : pairing.add(row);
    }
  }
  if (shape === 'unknown') {
    yield reject(path, 0, 'empty_file', 'the file has no accounting line', '');
    return;
  }
  yield* pairing.end();
  if (shape === 'log' && accLines === 0) {
    const detail =
      cdrLogLines > 0
        ? `${cdrLogLines} dialog CDR lines (start_time=…; end_time=…; duration=…) and no "ACC:" line: a CDR line names whoever sent the last message, not who pays; ` +
          `turn on acc's transaction accounting (log_flag, with log_extra "src_user=$fU;src_ip=$si;dst_ouser=$tU") or export the acc_cdrs table as CSV, then rate again`
        : 'no "ACC: transaction answered:" or "ACC: call missed:" line in this log: check that acc logs to it (log_flag, log_missed_flag, log_level) and rate again';
    yield reject(path, 0, 'unknown_format', detail, '');
  }
}

/** A log line: the attributes after the text acc wrote, split at `;` (and OpenSIPS's `call ended`). */
function logRow(line: number, raw: string, text: string, rest: string): AccRow | string {
  const attrs = attributes(rest);
  const kind = text === 'call missed' ? 'missed' : 'acc';
  if (text === 'call ended') {
    // OpenSIPS CDR: created (the INVITE), call_start_time (the answer), duration (whole seconds, rounded up).
    const created = epochText(attrs.get('created'));
    const answer = epochText(attrs.get('call_start_time'));
    if (created === null || answer === null) return `created "${attrs.get('created') ?? ''}" or call_start_time "${attrs.get('call_start_time') ?? ''}" is not epoch seconds`;
    return { ...core(line, raw, kind, attrs), time: answer, whole: { start: created, answer, end: addSeconds(attrs.get('call_start_time')!, attrs.get('duration')), billable: wholeSeconds(attrs.get('duration')) } };
  }
  const time = epochText(attrs.get('timestamp'));
  if (time === null) return `timestamp "${attrs.get('timestamp') ?? ''}" is not epoch seconds; the line is not as acc writes it`;
  return { ...core(line, raw, kind, attrs), time };
}

/** A row of the acc or missed_calls table; OpenSIPS's CDR columns make it a whole call. */
function tableRow(line: number, raw: string, attrs: Map<string, string>): AccRow | string {
  const time = dbTime(attrs.get('time') ?? '');
  if (time === null) return `time "${attrs.get('time')}" is neither YYYY-MM-DD HH:MM:SS nor epoch seconds`;
  const row: AccRow = { ...core(line, raw, 'acc', attrs), time };
  const created = attrs.get('created') ?? '';
  if (created !== '' && created.toUpperCase() !== 'NULL' && /^\d+$/.test(attrs.get('duration') ?? '') && /^2\d\d$/.test(row.code)) {
    const start = dbTime(created);
    if (start === null) return `created "${created}" is neither YYYY-MM-DD HH:MM:SS nor epoch seconds`;
    row.whole = { start, answer: time, end: '', billable: attrs.get('duration')! };
  }
  return row;
}

/** A row of acc_cdrs: start_time, end_time and duration are the call (start is the answer with cdr_start_on_confirmed). */
function cdrsRow(line: number, raw: string, attrs: Map<string, string>): AccRow | string {
  const start = dbTime(attrs.get('start_time') ?? '');
  const end = dbTime(attrs.get('end_time') ?? '');
  if (start === null || end === null) return `start_time "${attrs.get('start_time')}" or end_time "${attrs.get('end_time')}" is neither YYYY-MM-DD HH:MM:SS nor epoch seconds`;
  const answered = Number(attrs.get('duration')) > 0;
  const row: AccRow = { ...core(line, raw, 'cdr', attrs), method: 'INVITE', code: answered ? '200' : '', time: start };
  row.whole = { start, answer: answered ? start : '', end, billable: '' };
  return row;
}

function core(line: number, raw: string, kind: AccRow['kind'], attrs: Map<string, string>): Omit<AccRow, 'time'> {
  const get = (...names: string[]): string => names.map((n) => attrs.get(n) ?? '').find((v) => v !== '' && v.toUpperCase() !== 'NULL') ?? '';
  return {
    line,
    raw,
    kind,
    method: get('method').toUpperCase(),
    fromTag: get('from_tag'),
    toTag: get('to_tag'),
    callId: get('call_id', 'callid'),
    code: get('code', 'sip_code'),
    reason: get('reason', 'sip_reason'),
    attrs: { get },
  };
}

/**
 * `key=value` pairs at `;`. A value holding `;` (a URI with parameters in an extra) stays whole as long as
 * what follows the `;` is not a name and `=`: acc escapes nothing, and core values (tags, Call-ID) have none.
 */
function attributes(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.replace(/\s+$/, '').split(/;(?=\s?[A-Za-z_][\w.-]*=)/)) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1));
  }
  return out;
}

function isAccHeader(names: string[]): boolean {
  return ACC_COLUMNS.every((c) => names.includes(c)) && names.includes('from_tag');
}

function isCdrsHeader(names: string[]): boolean {
  return CDRS_COLUMNS.every((c) => names.includes(c)) && !names.includes('callee') && !names.includes('method');
}

function columnName(field: string): string {
  return field.trim().replace(/^["'`]|["'`]$/g, '').toLowerCase();
}

/** A DATETIME as the database exports it (the server's wall clock, read in `--tz`), or epoch seconds. */
function dbTime(text: string): string | null {
  const t = text.trim();
  if (/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}$/.test(t)) return t.replace('T', ' ');
  return epochText(t);
}

function epochText(text: string | undefined): string | null {
  if (text === undefined || !/^\d{1,12}(\.\d+)?$/.test(text.trim())) return null;
  return epochSecondsToIso(Math.floor(Number(text)), text.trim());
}

function addSeconds(epoch: string, seconds: string | undefined): string {
  return epochSecondsToIso(Math.floor(Number(epoch)) + Number(wholeSeconds(seconds) || 0), epoch);
}

function wholeSeconds(text: string | undefined): string {
  return text !== undefined && /^\d+$/.test(text.trim()) ? text.trim() : '';
}

function reject(source: string, line: number, reason: RejectReason, detail: string, raw: string): ReadItem {
  return { kind: 'reject', reject: { source, line, reason, detail, raw } };
}
