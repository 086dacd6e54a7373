/**
 * Asterisk CDRs as a database holds them: the `cdr` table of asteriskcdrdb (FreePBX, Issabel, Elastix,
 * VitalPBX, PBXware) exported with a header (FreePBX "CDR Reports", phpMyAdmin, `mysql -e`, psql `\copy`)
 * or without one, and the rows of an SQL dump of that table.
 *
 * Such a row has a start (`calldate`) and two durations, no answer and no end time (cdr_mysql,
 * cdr_adaptive_odbc and cdr_pgsql log `start` as `calldate` and leave `answer` and `end` out unless told
 * to): the normaliser computes the end from the start's instant plus `duration` (exact across a DST
 * change), and the answer as the end minus `billsec`. Then the row is an Asterisk row like a Master.csv
 * line, and the same leg rules (asterisk-legs.ts) bill it.
 *
 * Columns are found by name (and by the names Grandstream UCM's download gives them). A file without a
 * header is read when its rows line up with a known column order: the stock one (below), possibly after
 * a leading id column, or Bicom PBXware's.
 */
import type { AsteriskRow } from './asterisk-csv.js';

/** The stock column order of asteriskcdrdb.cdr (FreePBX's schema; Asterisk's sample schemas are its first 16 and the last three). */
export const ASTERISK_TABLE_COLUMNS = [
  'calldate', 'clid', 'src', 'dst', 'dcontext', 'channel', 'dstchannel', 'lastapp', 'lastdata', 'duration', 'billsec',
  'disposition', 'amaflags', 'accountcode', 'uniqueid', 'userfield', 'did', 'recordingfile', 'cnum', 'cnam',
  'outbound_cnum', 'outbound_cnam', 'dst_cnam', 'linkedid', 'peeraccount', 'sequence',
] as const;

/**
 * Bicom PBXware's `cdr` table (its "CDR table structure" guide): an id and the tenant first, `calldate`
 * after `lastdata`, and the call's price (`billamount`) after `billsec`.
 */
export const PBXWARE_TABLE_COLUMNS = [
  'acctid', 'tenant', 'clid', 'src', 'dst', 'dcontext', 'channel', 'dstchannel', 'lastapp', 'lastdata', 'calldate', 'duration',
  'billsec', 'billamount', 'disposition', 'amaflags', 'accountcode', 'uniqueid', 'userfield',
] as const;

/**
 * The mapping of Asterisk's sample cdr_custom.conf (`Master.csv => ${CSV_QUOTE(${CDR(clid)})},…`), which
 * most cdr_custom setups copy: clid first, start, answer and end as times, every value quoted but the
 * sequence; columns added after it (a callid, a direction…) are kept out.
 */
export const CDR_CUSTOM_SAMPLE_COLUMNS = [
  'clid', 'src', 'dst', 'dcontext', 'channel', 'dstchannel', 'lastapp', 'lastdata', 'calldate', 'answer', 'end', 'duration',
  'billsec', 'disposition', 'amaflags', 'accountcode', 'uniqueid', 'userfield', 'sequence',
] as const;

/** The column orders a header-less export is tried against: the stock one (after 0 to 2 leading columns), PBXware's, cdr_custom's sample. */
const KNOWN_ORDERS: { columns: readonly string[]; offsets: number[] }[] = [
  { columns: ASTERISK_TABLE_COLUMNS, offsets: [0, 1, 2] },
  { columns: PBXWARE_TABLE_COLUMNS, offsets: [0] },
  { columns: CDR_CUSTOM_SAMPLE_COLUMNS, offsets: [0] },
];

/** Where each field of a row is: column index by field name (lower case). */
export type TableLayout = ReadonlyMap<string, number>;

/**
 * Other names tools give these columns: Grandstream UCM's CSV download ("Caller Number", "Start time",
 * "Talk time"…), and spellings of `calldate` and `clid`.
 */
const ALIASES: Record<string, string> = {
  start: 'calldate', call_date: 'calldate', 'call date': 'calldate', 'start time': 'calldate',
  callerid: 'clid', 'caller id': 'clid',
  'account code': 'accountcode', 'caller number': 'src', 'callee number': 'dst', context: 'dcontext',
  'source channel': 'channel', 'dest channel': 'dstchannel', 'answer time': 'answer', 'end time': 'end',
  'call time': 'duration', 'talk time': 'billsec',
};
const REQUIRED = ['calldate', 'src', 'dst', 'channel', 'billsec', 'disposition'] as const;

/** The layout a header gives, when it names an Asterisk CDR table's columns; null otherwise. */
export function tableLayoutOfHeader(fields: readonly string[]): TableLayout | null {
  const layout = new Map<string, number>();
  fields.forEach((f, i) => {
    const name = f.trim().replace(/^[`"']|[`"']$/g, '').replace(/\s+/g, ' ').toLowerCase();
    const field = ALIASES[name] ?? name;
    if (!layout.has(field)) layout.set(field, i);
  });
  return REQUIRED.every((c) => layout.has(c)) && (layout.has('duration') || layout.has('end')) ? layout : null;
}

const DB_TIME = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;
const DISPOSITION = /^(ANSWERED|NO ANSWER|BUSY|FAILED|CONGESTION|UNKNOWN)$/i;
const CHANNEL = /^([A-Za-z0-9]+\/\S+|)$/;
const WHOLE = /^\d+$/;
/** `${CDR(billsec,f)}` writes seconds with decimals. */
const SECONDS = /^\d+(\.\d+)?$/;

/**
 * The layout of header-less rows: a known column order (KNOWN_ORDERS), chosen when most sampled rows
 * have a time, a channel, two whole durations and a disposition where that order puts them. Null when
 * none fits.
 */
export function tableLayoutOfRows(samples: readonly (readonly string[])[]): TableLayout | null {
  if (samples.length === 0) return null;
  for (const { columns, offsets } of KNOWN_ORDERS) {
    for (const offset of offsets) {
      const at = (row: readonly string[], name: string): string => tableValue(row[offset + columns.indexOf(name)]);
      const fits = samples.filter(
        (row) =>
          row.length >= offset + columns.indexOf('disposition') + 1 &&
          DB_TIME.test(at(row, 'calldate')) &&
          CHANNEL.test(at(row, 'channel')) &&
          SECONDS.test(at(row, 'duration')) &&
          SECONDS.test(at(row, 'billsec')) &&
          DISPOSITION.test(at(row, 'disposition')),
      );
      if (fits.length * 2 > samples.length) {
        const width = Math.min(...fits.map((r) => r.length)) - offset;
        return new Map(columns.slice(0, Math.min(width, columns.length)).map((c, i) => [c, offset + i]));
      }
    }
  }
  return null;
}

/** SQL NULL as the exports write it (`NULL`, mysql's `\N`) is an empty value. */
export function tableValue(v: string | undefined): string {
  if (v === undefined || v === 'NULL' || v === '\\N') return '';
  return v;
}

/** Columns that hold names and notes, never a number, time or id the bill depends on: a bad byte there refuses no call. */
export const TABLE_FREE_TEXT = new Set(['clid', 'userfield', 'cnam', 'outbound_cnam', 'dst_cnam', 'recordingfile', 'amaflags', 'caller name', 'tenant', 'billamount']);

export type TableRow = { ok: true; row: AsteriskRow } | { ok: false; reason: 'bad_time' | 'bad_field' | 'column_count'; detail: string };

/** One table row as an Asterisk row, or why it cannot be read (the column named by its header name). */
export function rowFromTable(line: number, raw: string, fields: readonly string[], layout: TableLayout, utc: boolean, headerWidth = 0): TableRow {
  const width = Math.max(...layout.values()) + 1;
  if (fields.length < width) return { ok: false, reason: 'column_count', detail: `${fields.length} columns where the header (or the table's column order) has ${width}` };
  if (headerWidth > 0 && fields.length !== headerWidth) return { ok: false, reason: 'column_count', detail: `${fields.length} columns where the header has ${headerWidth}: a value holds the delimiter or a quote the export did not escape; fix the line` };
  const get = (name: string): string => {
    const i = layout.get(name);
    return i === undefined ? '' : tableValue(fields[i]).trim();
  };
  const time = (name: string, required: boolean): string | { error: string } => {
    const text = get(name);
    if (text === '' && !required) return '';
    const m = DB_TIME.exec(text);
    if (m === null) return { error: `${name} (column ${layout.get(name)! + 1}) is "${text}", expected YYYY-MM-DD HH:MM:SS` };
    if (m[3] !== undefined) return `${m[1]}T${m[2]}${m[3] === 'Z' ? 'Z' : offsetText(m[3])}`;
    return utc ? `${m[1]} ${m[2]}Z` : `${m[1]} ${m[2]}`;
  };
  const start = time('calldate', true);
  const answer = time('answer', false);
  const end = time('end', false);
  for (const t of [start, answer, end]) if (typeof t !== 'string') return { ok: false, reason: 'bad_time', detail: t.error };
  const seconds = new Map<string, string>();
  for (const name of ['duration', 'billsec']) {
    const v = get(name);
    if (layout.has(name) && !SECONDS.test(v)) return { ok: false, reason: 'bad_field', detail: `${name} (column ${layout.get(name)! + 1}) is "${v}", expected seconds` };
    // Seconds with decimals (`CDR(billsec,f)`) are rounded as Asterisk rounds its own whole seconds: to the nearest.
    seconds.set(name, v === '' ? '' : String(Math.round(Number(v))));
  }
  const sequence = get('sequence');
  return {
    ok: true,
    row: {
      line,
      raw,
      accountcode: get('accountcode'),
      src: get('src'),
      dst: get('dst'),
      dcontext: get('dcontext'),
      clid: tableValue(fields[layout.get('clid') ?? -1]),
      channel: get('channel'),
      dstchannel: get('dstchannel'),
      lastapp: get('lastapp'),
      lastdata: tableValue(fields[layout.get('lastdata') ?? -1]),
      start: start as string,
      answer: answer as string,
      end: end as string,
      duration: seconds.get('duration')!,
      billsec: seconds.get('billsec')!,
      disposition: get('disposition'),
      amaflags: get('amaflags'),
      uniqueid: get('uniqueid'),
      userfield: tableValue(fields[layout.get('userfield') ?? -1]),
      peeraccount: get('peeraccount'),
      linkedid: get('linkedid'),
      sequence: WHOLE.test(sequence) ? Number(sequence) : null,
      ...(get('did') !== '' ? { did: get('did') } : {}),
    },
  };
}

/** `+02` and `+0200` as `+02:00`, the offset the normaliser reads. */
function offsetText(offset: string): string {
  const digits = offset.slice(1).replace(':', '');
  return `${offset[0]}${digits.slice(0, 2)}:${digits.length > 2 ? digits.slice(2, 4) : '00'}`;
}
