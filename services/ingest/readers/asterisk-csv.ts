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
 * by Local channel name and time) so that each leg is billed once and is marked forwarded or
 * transferred; see asterisk-legs.ts for the rules. Who called, what the trunk was given and whether the
 * call stayed inside the PBX come from the channels (asterisk-channels.ts).
 */
import { Buffer } from 'node:buffer';
import { acceptMended, readCsvLines, refusedHeaderItem, refusedItem, splitUnescapedWrapped } from '../csv-lines.js';
import type { IngestLimits } from '../input-limits.js';
import type { ReadItem, RejectReason, SourceRecord } from '../source-record.js';
import { ASTERISK_DEFAULT_TRUNKS, wallMs } from './asterisk-channels.js';
export { numberFromClid } from './asterisk-channels.js';
import { resolveAsteriskGroup, type AccountSource, type LegRules } from './asterisk-legs.js';
import { TABLE_FREE_TEXT, rowFromTable, type TableLayout, type TableRow } from './asterisk-table.js';

export interface AsteriskOptions {
  /** The switch wrote its times in UTC (cdr.conf `usegmtime=yes`). */
  utc?: boolean;
  /** dcontext of calls that come in from the network; their records are direction `in`. */
  inboundContext?: RegExp;
  /** Channels (`PJSIP/orange`, `DAHDI/…`) that are trunks: calls from them are inbound, calls to them left the PBX. */
  trunks?: RegExp;
  /** Where the account comes from, first non-empty wins (default accountcode, channel, src). */
  accountFrom?: readonly AccountSource[];
  /** A group is complete once this many lines have passed since its last record. */
  groupWindow?: number;
  limits?: IngestLimits;
  /** A database-style export: where its columns are, and whether its first line is the header naming them. */
  table?: { layout: TableLayout; header: boolean };
  /** The file's encoding when it is not UTF-8 (WHATWG label). */
  encoding?: string;
}

/**
 * The stock contexts where calls from the network enter the dialplan, whole names only: FreePBX and
 * Issabel / Elastix (`from-pstn` and its `-toheader`, `-e164-us` variants, `from-trunk` and the
 * per-trunk `from-trunk-<tech>-<name>`, `from-sip-external`, DAHDi's `from-analog` / `from-digital`, the
 * inbound routes `ext-did`, `ext-did-0001`, `ext-did-catchall`; Grandstream UCM's `ext-did-<trunk>`), Wazo's `from-extern`,
 * Thirdlane's `from-outside`, and the generic `inbound`, `incoming`, `from-did`. FreePBX's
 * `from-did-direct` (follow-me, ring groups, queues reaching a phone) and `from-internal…` are inside.
 * VitalPBX and PBXware name a trunk's context after the trunk: there `--trunk` names the trunks.
 */
export const ASTERISK_INBOUND_CONTEXT = /^(from-pstn(-[\w-]+)?|from-trunk(-[\w-]+)?|from-sip-external|from-analog|from-digital|from-zaptel|ext-did(-[\w-]+)?|from-did|from-extern|from-outside|inbound|incoming)$/;
export const ASTERISK_ACCOUNT_FROM: readonly AccountSource[] = ['accountcode', 'channel', 'src'];

/**
 * Records of one call that share no linkedid (18-column files) are tied by their Local channel's name;
 * Asterisk numbers Local channels afresh after a restart, so the name only ties records that are also
 * close in time: a record starting this long after the group's last end begins another call.
 */
const LOCAL_GROUP_GAP_MS = 5 * 60_000;
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
  /** The number the network called (FreePBX's `did` column), when the export has it. */
  did?: string;
  /** What reading mended on this line (csv-lines.ts). */
  notes?: string[];
}

type Parsed = { ok: true; row: AsteriskRow } | { ok: false; reason: RejectReason; detail: string };

export async function* readAsteriskCsv(path: string, opts: AsteriskOptions = {}): AsyncGenerator<ReadItem> {
  yield* groupAsteriskCalls(path, asteriskCsvRows(path, opts), opts);
}

/** The rows of a CSV file (Master.csv, or a table export), and the rejects of the lines that are none. */
async function* asteriskCsvRows(path: string, opts: AsteriskOptions): AsyncGenerator<AsteriskRow | ReadItem> {
  const table = opts.table;
  const freeText = table === undefined ? null : tableFreeText(table.layout);
  let headerSeen = table?.header !== true;
  let headerWidth = 0;
  let fileWidth = 0;
  for await (const batch of readCsvLines(path, ',', opts.limits, { encoding: opts.encoding })) {
    for (const read of batch) {
      if (read.raw.trim() === '' && read.mended === undefined) continue;
      const l = acceptMended(read, freeText ?? ((c) => MASTER_FREE_TEXT.has(c)));
      if (!headerSeen) {
        headerSeen = true;
        if (l.refused) yield refusedHeaderItem(path, l);
        if (l.refused) return;
        headerWidth = l.fields?.length ?? 0;
        continue;
      }
      if (l.refused) {
        yield refusedItem(path, l);
        continue;
      }
      const { line, raw, error } = l;
      let fields = l.fields;
      // Read leniently, a table row must still have the header's width; FreePBX's download may need its own reading.
      if (table?.header === true && error !== undefined && fields !== null && fields.length !== headerWidth) {
        const wrapped = splitUnescapedWrapped(raw);
        fields = wrapped !== null && wrapped.length === headerWidth ? wrapped : null;
      }
      const parsed: Parsed | TableRow =
        table === undefined || fields === null ? parseAsteriskLine(line, raw, fields, error, fileWidth, opts.utc === true) : rowFromTable(line, raw, fields, table.layout, opts.utc === true, table.header ? headerWidth : 0);
      if (!parsed.ok) {
        yield { kind: 'reject', reject: { source: path, line, reason: parsed.reason, detail: parsed.detail, raw } };
        continue;
      }
      if (fileWidth === 0) fileWidth = fields!.length;
      if (l.notes !== undefined) parsed.row.notes = l.notes;
      yield parsed.row;
    }
  }
}

/**
 * Rows → the legs to bill: the rows of one call (one linkedid, or one Local channel pair) are gathered
 * and resolved together (asterisk-legs.ts); a call is complete once `groupWindow` rows have passed
 * since its last one. Shared by every source of Asterisk rows: Master.csv, table exports, SQL dumps.
 */
export async function* groupAsteriskCalls(path: string, rows: AsyncIterable<AsteriskRow | ReadItem>, opts: AsteriskOptions = {}): AsyncGenerator<ReadItem> {
  const rules: LegRules = {
    inbound: opts.inboundContext ?? ASTERISK_INBOUND_CONTEXT,
    trunks: opts.trunks ?? ASTERISK_DEFAULT_TRUNKS,
    accountFrom: opts.accountFrom ?? ASTERISK_ACCOUNT_FROM,
  };
  const window = Math.max(1, opts.groupWindow ?? DEFAULT_GROUP_WINDOW);
  const open = new Map<string, { rows: AsteriskRow[]; last: number; endMs: number }>();
  let sinceSweep = 0;
  let sawLine = false;

  for await (const row of rows) {
    sawLine = true;
    if ('kind' in row) {
      yield row;
      continue;
    }
    const line = row.line;
    const key = groupKey(row);
    if (key === '') {
      yield* inLineOrder(resolveAsteriskGroup(path, [row], rules));
    } else {
      let group = open.get(key);
      if (group !== undefined && key.startsWith('C:') && wallMs(row.start) > group.endMs + LOCAL_GROUP_GAP_MS) {
        open.delete(key);
        yield* inLineOrder(resolveAsteriskGroup(path, group.rows, rules));
        group = undefined;
      }
      if (group) {
        group.rows.push(row);
        group.last = line;
        group.endMs = Math.max(group.endMs, endWallMs(row));
      } else {
        open.set(key, { rows: [row], last: line, endMs: endWallMs(row) });
      }
    }
    // Sweeping every quarter window keeps the cost per line constant whatever the number of open groups.
    if (++sinceSweep >= Math.ceil(window / 4)) {
      sinceSweep = 0;
      const done: SourceRecord[] = [];
      for (const [k, g] of open) {
        if (g.last <= line - window) {
          open.delete(k);
          for (const r of resolveAsteriskGroup(path, g.rows, rules)) done.push(r);
        }
      }
      yield* inLineOrder(done);
    }
  }
  const rest: SourceRecord[] = [];
  for (const g of open.values()) for (const r of resolveAsteriskGroup(path, g.rows, rules)) rest.push(r);
  yield* inLineOrder(rest);
  if (!sawLine) yield { kind: 'reject', reject: { source: path, line: 0, reason: 'empty_file', detail: 'the file has no record', raw: '' } };
}

/** Master.csv columns that hold a name or a note: clid, and userfield (loguserfield) where cdr_csv puts it. */
const MASTER_FREE_TEXT = new Set([4, 15, 17]);

function tableFreeText(layout: TableLayout): (column: number) => boolean {
  const billing = new Set([...layout].filter(([name]) => !TABLE_FREE_TEXT.has(name)).map(([, i]) => i));
  return (c) => !billing.has(c);
}

/** A row's end on the wall clock; a table row has its duration instead. */
function endWallMs(row: AsteriskRow): number {
  return row.end !== '' ? wallMs(row.end) : wallMs(row.start) + Number(row.duration) * 1000;
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
  // Read leniently (unescaped quotes kept as text) yet not a record's width: the quotes were the damage.
  if (error !== undefined && !overLimit && (width < ASTERISK_MIN_COLUMNS || width > ASTERISK_MAX_COLUMNS || (fileWidth > 0 && width !== fileWidth))) {
    return { ok: false, reason: 'malformed_csv', detail: `${error}; fix the quoting of this line` };
  }
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

function localBase(channel: string): string {
  const m = /^(Local\/[^;]+);[12]$/i.exec(channel.replace(/<(ZOMBIE|MASQ)>/gi, '').trim());
  return m ? m[1]! : '';
}

function groupKey(row: AsteriskRow): string {
  if (row.linkedid !== '') return `L:${row.linkedid}`;
  const local = localBase(row.channel) || localBase(row.dstchannel);
  return local ? `C:${local}` : '';
}
