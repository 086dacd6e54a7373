/**
 * Reader of Asterisk cdr_csv files (Master.csv, or the per-account files it writes beside it).
 *
 * Layout (cdr/cdr_csv.c): no header; accountcode, src, dst, dcontext, clid, channel, dstchannel,
 * lastapp, lastdata, start, answer, end, duration, billsec, disposition, amaflags, then uniqueid
 * (loguniqueid), userfield (loguserfield) and, with newcdrcolumns, peeraccount, linkedid, sequence.
 * Strings are quoted with "" escaping; integers are not; a time that was never set (the answer of an
 * unanswered call) is an empty unquoted field. Times are the server's wall clock, or UTC with usegmtime.
 *
 * One call can leave several records: a Local channel leaves one record per half, a transfer starts
 * new records for the parties that stay. Records are grouped by linkedid (or, on versions without it,
 * by Local channel name) so that each leg is billed once and is marked forwarded or transferred; see
 * resolveGroup for the rules.
 */
import { Buffer } from 'node:buffer';
import { readCsvLines, refusedItem } from '../csv-lines.js';
import type { IngestLimits } from '../input-limits.js';
import type { ReadItem, RejectReason, SourceRecord } from '../source-record.js';

export interface AsteriskOptions {
  /** The switch wrote its times in UTC (cdr.conf `usegmtime=yes`). */
  utc?: boolean;
  /** dcontext of calls that come in from the network; their records are direction `in`. */
  inboundContext?: RegExp;
  /** A group is complete once this many lines have passed since its last record. */
  groupWindow?: number;
  limits?: IngestLimits;
}

export const ASTERISK_INBOUND_CONTEXT = /^(from-pstn|from-trunk|inbound)/;
export const ASTERISK_MIN_COLUMNS = 16;
export const ASTERISK_MAX_COLUMNS = 21;

/**
 * cdr_csv builds each record in a 1024-byte buffer and writes it only when it is shorter than
 * bufsize - 5 bytes, newline included: a whole record is at most 1017 bytes before its newline. A
 * longer line that does not parse as a complete record was cut, and its missing fields (the
 * billable seconds, the linkedid…) must not be guessed.
 */
export const ASTERISK_RECORD_BUFFER = 1024;
const LONGEST_WHOLE_LINE = ASTERISK_RECORD_BUFFER - 7;

/** Records of one call are written within a few lines of each other; this bounds memory, not correctness of ordinary files. */
const DEFAULT_GROUP_WINDOW = 2000;

const DATE_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
const UNIQUEID = /^(?:[\w.-]+-)?\d+\.\d+$/;

const DISPOSITIONS: Record<string, string> = {
  ANSWERED: 'answered',
  'NO ANSWER': 'no_answer',
  BUSY: 'busy',
  FAILED: 'failed',
  CONGESTION: 'failed',
};

/** One Master.csv line, fields by name. */
export interface AsteriskRow {
  line: number;
  raw: string;
  accountcode: string;
  src: string;
  dst: string;
  dcontext: string;
  clid: string;
  channel: string;
  dstchannel: string;
  lastapp: string;
  lastdata: string;
  start: string;
  answer: string;
  end: string;
  duration: string;
  billsec: string;
  disposition: string;
  amaflags: string;
  uniqueid: string;
  userfield: string;
  peeraccount: string;
  linkedid: string;
  sequence: number | null;
}

type Parsed = { ok: true; row: AsteriskRow } | { ok: false; reason: RejectReason; detail: string };

export async function* readAsteriskCsv(path: string, opts: AsteriskOptions = {}): AsyncGenerator<ReadItem> {
  const inbound = opts.inboundContext ?? ASTERISK_INBOUND_CONTEXT;
  const window = Math.max(1, opts.groupWindow ?? DEFAULT_GROUP_WINDOW);
  const open = new Map<string, { rows: AsteriskRow[]; last: number }>();
  let fileWidth = 0;
  let sinceSweep = 0;
  let sawLine = false;

  for await (const batch of readCsvLines(path, ',', opts.limits)) {
    for (const l of batch) {
      const { line, raw, fields, error } = l;
      if (raw.trim() === '') continue;
      sawLine = true;
      if (l.refused) {
        yield refusedItem(path, l);
        continue;
      }
      const parsed = parseAsteriskLine(line, raw, fields, error, fileWidth, opts.utc === true);
      if (!parsed.ok) {
        yield { kind: 'reject', reject: { source: path, line, reason: parsed.reason, detail: parsed.detail, raw } };
        continue;
      }
      const row = parsed.row;
      if (fileWidth === 0) fileWidth = fields!.length;
      const key = groupKey(row);
      if (key === '') {
        for (const record of resolveGroup(path, [row], inbound)) yield { kind: 'record', record };
      } else {
        const group = open.get(key);
        if (group) {
          group.rows.push(row);
          group.last = line;
        } else {
          open.set(key, { rows: [row], last: line });
        }
      }
      // Sweeping every quarter window keeps the cost per line constant whatever the number of open groups.
      if (++sinceSweep >= Math.ceil(window / 4)) {
        sinceSweep = 0;
        const done: SourceRecord[] = [];
        for (const [k, g] of open) {
          if (g.last <= line - window) {
            open.delete(k);
            done.push(...resolveGroup(path, g.rows, inbound));
          }
        }
        yield* inLineOrder(done);
      }
    }
  }
  yield* inLineOrder([...open.values()].flatMap((g) => resolveGroup(path, g.rows, inbound)));
  if (!sawLine) yield { kind: 'reject', reject: { source: path, line: 0, reason: 'empty_file', detail: 'the file has no record', raw: '' } };
}

/** Splits one line into named fields, or says why it cannot be read. `fileWidth` is the width of the file's first good record (0 before it). */
export function parseAsteriskLine(line: number, raw: string, fields: string[] | null, error: string | undefined, fileWidth: number, utc: boolean): Parsed {
  const overLimit = Buffer.byteLength(raw, 'utf8') > LONGEST_WHOLE_LINE;
  const truncated = (what: string): Parsed => ({
    ok: false,
    reason: 'truncated_record',
    detail: `${what}: the line is ${Buffer.byteLength(raw, 'utf8')} bytes, more than cdr_csv's ${ASTERISK_RECORD_BUFFER}-byte record buffer holds, so it was cut by the switch; take the call from another source (cdr_custom, the database backend)`,
  });
  if (fields === null) {
    if (overLimit) return truncated('the record ends inside a field');
    return { ok: false, reason: 'malformed_csv', detail: `${error ?? 'not valid CSV'}; fix the quoting of this line` };
  }
  const width = fields.length;
  if (overLimit && (width < ASTERISK_MIN_COLUMNS || (fileWidth > 0 && width < fileWidth))) {
    return truncated(`${width} columns where the file's records have ${fileWidth || ASTERISK_MIN_COLUMNS}`);
  }
  if (width < ASTERISK_MIN_COLUMNS || width > ASTERISK_MAX_COLUMNS) {
    return {
      ok: false,
      reason: 'column_count',
      detail: `${width} columns where cdr_csv writes ${ASTERISK_MIN_COLUMNS} to ${ASTERISK_MAX_COLUMNS} (accountcode … amaflags, then uniqueid, userfield, peeraccount, linkedid, sequence)`,
    };
  }
  const f = (i: number): string => fields[i] ?? '';
  for (const [i, name] of [[9, 'start'], [11, 'end']] as const) {
    if (!DATE_TIME.test(f(i))) {
      return { ok: false, reason: 'bad_time', detail: `${name} (column ${i + 1}) is "${f(i)}", expected YYYY-MM-DD HH:MM:SS` };
    }
  }
  if (f(10) !== '' && !DATE_TIME.test(f(10))) {
    return { ok: false, reason: 'bad_time', detail: `answer (column 11) is "${f(10)}", expected YYYY-MM-DD HH:MM:SS or empty` };
  }
  for (const [i, name] of [[12, 'duration'], [13, 'billsec']] as const) {
    if (!/^\d+$/.test(f(i))) return { ok: false, reason: 'bad_field', detail: `${name} (column ${i + 1}) is "${f(i)}", expected whole seconds` };
  }

  // Optional tail: newcdrcolumns adds three columns ending with an integer; uniqueid and userfield come before them.
  let uniqueid = '';
  let userfield = '';
  let peeraccount = '';
  let linkedid = '';
  let sequence: number | null = null;
  let extras = width - ASTERISK_MIN_COLUMNS;
  if (extras >= 3) {
    if (!/^\d+$/.test(f(width - 1))) {
      return { ok: false, reason: 'bad_field', detail: `sequence (last column) is "${f(width - 1)}", expected a whole number (newcdrcolumns)` };
    }
    peeraccount = f(width - 3);
    linkedid = f(width - 2);
    sequence = Number(f(width - 1));
    extras -= 3;
  }
  if (extras === 2) {
    uniqueid = f(16);
    userfield = f(17);
  } else if (extras === 1) {
    // Only one of loguniqueid / loguserfield is on: an Asterisk uniqueid has the shape [system-]epoch.counter.
    if (UNIQUEID.test(f(16))) uniqueid = f(16);
    else userfield = f(16);
  }

  const time = (t: string): string => (t === '' || !utc ? t : `${t}Z`);
  return {
    ok: true,
    row: {
      line,
      raw,
      accountcode: f(0).trim(),
      src: f(1).trim(),
      dst: f(2).trim(),
      dcontext: f(3).trim(),
      clid: f(4),
      channel: f(5).trim(),
      dstchannel: f(6).trim(),
      lastapp: f(7).trim(),
      lastdata: f(8),
      start: time(f(9)),
      answer: time(f(10)),
      end: time(f(11)),
      duration: f(12),
      billsec: f(13),
      disposition: f(14).trim(),
      amaflags: f(15).trim(),
      uniqueid: uniqueid.trim(),
      userfield,
      peeraccount: peeraccount.trim(),
      linkedid: linkedid.trim(),
      sequence,
    },
  };
}

function* inLineOrder(records: SourceRecord[]): Generator<ReadItem> {
  records.sort((a, b) => a.line - b.line);
  for (const record of records) yield { kind: 'record', record };
}

/** `"Name" <number>` → number; a bare number stays as it is. */
export function numberFromClid(clid: string): string {
  const m = /<([^<>]*)>\s*$/.exec(clid);
  if (m) return m[1]!.trim();
  return /^[+\d][\d\s.-]*$/.test(clid.trim()) ? clid.trim() : '';
}

/** Masquerade and zombie suffixes of Asterisk ≤ 11 name the same channel. */
function channelKey(channel: string): string {
  return channel.replace(/<(ZOMBIE|MASQ)>/gi, '').replace(/^(AsyncGoto|Transferred)\//i, '').trim();
}

function localHalf(channel: string): { base: string; half: '1' | '2' } | null {
  const m = /^(Local\/[^;]+);([12])$/i.exec(channelKey(channel));
  return m ? { base: m[1]!, half: m[2] as '1' | '2' } : null;
}

function groupKey(row: AsteriskRow): string {
  if (row.linkedid !== '') return `L:${row.linkedid}`;
  const local = localHalf(row.channel) ?? localHalf(row.dstchannel);
  return local ? `C:${local.base}` : '';
}

/** Transfer traces that Asterisk ≤ 11 leaves on the record itself. */
function hasTransferMark(row: AsteriskRow): boolean {
  return /<(ZOMBIE|MASQ)>/i.test(row.channel) || /<(ZOMBIE|MASQ)>/i.test(row.dstchannel) || /^Transferred\//i.test(row.channel) || /transfer/i.test(row.lastapp);
}

/** The same line written with or without a trunk prefix or country code (0612…, 00612…, +33612…). */
function sameNumber(a: string, b: string): boolean {
  const x = a.replace(/\D/g, '');
  const y = b.replace(/\D/g, '');
  if (x.length >= 9 && y.length >= 9) return x.slice(-9) === y.slice(-9);
  return x === y;
}

/**
 * Turns the records of one call into the legs to bill.
 *
 * - Local channel halves: a record whose far end is `Local/X;1` and the record of `Local/X;2` describe
 *   one hop through the dialplan. Only the `;2` record reaches the real far end (the trunk), so it is
 *   the leg; the `;1` record is folded into it (its line is kept in `raw`). The leg is `forwarded` when
 *   the near record was an inbound call or was for another number (a follow-me or call forwarding to an
 *   external number); its caller is then that number, the forwarding line.
 * - Transfers: a record whose own channel was already an external party of the call (the far end of an
 *   earlier outbound record to an external number, or the caller of an earlier inbound record) connects that party to a new
 *   destination, which only a transfer does: it is `transferred`, charged to the account of the record
 *   that handed the party over, with that party's line as caller. A new call from the transferring
 *   user (the consultation call) starts from the user's own channel and stays `originating`.
 */
function resolveGroup(source: string, rows: AsteriskRow[], inbound: RegExp): SourceRecord[] {
  const ordered = rows.length === 1 ? rows : [...rows].sort((a, b) => (a.sequence ?? a.line) - (b.sequence ?? b.line) || a.line - b.line);
  const isInbound = (r: AsteriskRow): boolean => inbound.test(r.dcontext);

  const farHalf = new Map<string, AsteriskRow>();
  for (const r of ordered) {
    const h = localHalf(r.channel);
    if (h?.half === '2') farHalf.set(h.base, r);
  }
  const nearOf = new Map<AsteriskRow, AsteriskRow>();
  const folded = new Set<AsteriskRow>();
  for (const r of ordered) {
    const h = localHalf(r.dstchannel);
    const far = h?.half === '1' ? farHalf.get(h.base) : undefined;
    if (far !== undefined && far !== r && !nearOf.has(far)) {
      nearOf.set(far, r);
      folded.add(r);
    }
  }

  const out: SourceRecord[] = [];
  for (let i = 0; i < ordered.length; i++) {
    const row = ordered[i]!;
    if (folded.has(row)) continue;
    const chain: AsteriskRow[] = [row];
    for (let n = nearOf.get(row); n !== undefined && !chain.includes(n); n = nearOf.get(n)) chain.push(n);
    const origin = chain[chain.length - 1]!;

    let leg = 'originating';
    let account = row.accountcode;
    let caller = row.src || numberFromClid(row.clid);
    let direction = isInbound(row) ? 'in' : 'out';

    if (origin !== row) {
      account ||= origin.accountcode;
      caller ||= origin.src || numberFromClid(origin.clid);
      if (isInbound(origin) || !sameNumber(origin.dst, row.dst)) {
        leg = 'forwarded';
        caller = origin.dst || caller;
        direction = 'out';
      } else if (hasTransferMark(row) || hasTransferMark(origin)) {
        leg = 'transferred';
        direction = 'out';
      }
    } else {
      const handedOver = i > 0 ? transferor(ordered.slice(0, i), row, isInbound) : undefined;
      if (handedOver !== undefined || hasTransferMark(row)) {
        leg = 'transferred';
        direction = 'out';
        if (handedOver !== undefined) {
          account ||= handedOver.row.accountcode;
          caller = handedOver.line || caller;
        }
        account ||= ordered[0]!.accountcode;
      }
    }

    const lines = chain.length === 1 ? [row] : [...chain].sort((a, b) => a.line - b.line);
    out.push({
      source,
      line: row.line,
      raw: lines.map((r) => r.raw).join('\n'),
      cdrId: row.uniqueid !== '' ? (row.sequence !== null ? `${row.uniqueid}#${row.sequence}` : row.uniqueid) : row.linkedid !== '' && row.sequence !== null ? `${row.linkedid}#${row.sequence}` : '',
      account,
      caller,
      callee: row.dst,
      start: row.start,
      answer: row.answer,
      end: row.end,
      billableSeconds: row.billsec,
      disposition: DISPOSITIONS[row.disposition.toUpperCase()] ?? row.disposition,
      direction,
      leg,
      forwardReason: '',
      device: deviceOf(row.channel),
    });
  }
  return out;
}

/**
 * The earlier record that made `row.channel` an external party of the call, and the line number of
 * the user who handed that party over: the caller of an outbound record, the called number of an
 * inbound one.
 */
function transferor(earlier: AsteriskRow[], row: AsteriskRow, isInbound: (r: AsteriskRow) => boolean): { row: AsteriskRow; line: string } | undefined {
  const key = channelKey(row.channel);
  if (key === '' || localHalf(row.channel) !== null) return undefined;
  for (let i = earlier.length - 1; i >= 0; i--) {
    const e = earlier[i]!;
    if (!isInbound(e) && isExternalNumber(e.dst) && channelKey(e.dstchannel) === key) return { row: e, line: e.src || numberFromClid(e.clid) };
    if (isInbound(e) && channelKey(e.channel) === key) return { row: e, line: e.dst };
  }
  return undefined;
}

/** Extensions are short; a number of 8 digits or more is reached through a trunk, i.e. someone outside. */
function isExternalNumber(n: string): boolean {
  return n.replace(/\D/g, '').length >= 8;
}

/** `PJSIP/alice-0000001a` → `PJSIP/alice`: the device, without the per-call suffix. */
function deviceOf(channel: string): string {
  const c = channelKey(channel);
  if (/^Local\//i.test(c)) return '';
  return c.replace(/-[0-9a-f]{4,}(;\d)?$/i, '');
}
