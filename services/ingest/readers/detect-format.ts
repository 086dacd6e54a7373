/**
 * Which reader a file needs, from its first lines, and the one entry point that reads any export.
 *
 * Rules, tried in this order on the first non-blank lines (blank lines, however many, are passed over,
 * and one damaged record never decides: the lines sampled are looked at together):
 * - cucm: the first line's first field is `cdrRecordType`, with the CDR fields (the line of data types
 *   after it is optional: CAR and most tools strip it), or the fields of a CMR file (refused as such).
 * - canonical: a header with callee, start_time, end_time and account or cdr_id.
 * - kamailio-acc: a Kamailio / OpenSIPS `ACC:` log line, or the header of an acc, missed_calls or acc_cdrs export.
 * - profile (only when a profile is given): its header names, or its column count and time format.
 * - asterisk, a database's table (asterisk-table.ts): a header naming the columns of Asterisk's `cdr`
 *   table (calldate, src, dst, channel, billsec, disposition…), or rows in that table's column order.
 * - sql-dump: a dump's header comment or first statement (INSERT INTO, CREATE TABLE, COPY … FROM stdin).
 * - asterisk: 16 to 21 columns, start and end (columns 10 and 12) `YYYY-MM-DD HH:MM:SS`, answer
 *   (column 11) the same or empty, duration and billsec (columns 13, 14) unquoted integers, on any line sampled.
 * - freeswitch: the template's column count, with its start and end stamps where the template puts them.
 * - freeswitch-doc: a mod_json_cdr document (`{` with `variables`, `callflow`…) or a mod_xml_cdr one
 *   (`<?xml` then `<cdr`); a directory is read as a log-dir of such documents (export-directory.ts).
 * A file that fits none is refused with one `unknown_format` reject that says what was expected.
 */
import Papa from 'papaparse';
import { readCanonicalBatches } from '../canonical-csv.js';
import { DEFAULT_INGEST_LIMITS, type IngestLimits } from '../input-limits.js';
import { splitCsvLine } from '../csv-lines.js';
import { grouped, oneByOne } from '../item-batches.js';
import { frameLines } from '../line-bytes.js';
import type { ReadItem } from '../source-record.js';
import { ASTERISK_MAX_COLUMNS, ASTERISK_MIN_COLUMNS, groupAsteriskCalls, readAsteriskCsv, type AsteriskOptions } from './asterisk-csv.js';
import type { AccountSource } from './asterisk-legs.js';
import { tableLayoutOfHeader, tableLayoutOfRows, type TableLayout } from './asterisk-table.js';
import { isCdrHeader, isCmrHeader, isTypesLine, readCucmCdr } from './cucm-cdr.js';
import { isDirectory, listExportDirectory } from './export-directory.js';
import { FREESWITCH_DEFAULT_TEMPLATE, loadFreeswitchTemplate, readFreeswitchCsv, splitFreeswitchLine, type FreeswitchTemplate } from './freeswitch-csv.js';
import { looksFreeswitchDocument, readFreeswitchDocs } from './freeswitch-docs.js';
import { profileMatches, readMappingProfile, type MappingProfile } from './mapping-profile.js';
import { looksLikeSqlDump, readSqlDumpRows } from './sql-dump.js';
import { looksSipAccounting, readSipAccounting } from './sip-accounting.js';

export type ExportFormat = 'canonical' | 'asterisk' | 'sql-dump' | 'freeswitch' | 'freeswitch-doc' | 'cucm' | 'profile' | 'kamailio-acc';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['canonical', 'asterisk', 'sql-dump', 'freeswitch', 'freeswitch-doc', 'cucm', 'profile', 'kamailio-acc'];

export interface DetectHints {
  freeswitchTemplate?: FreeswitchTemplate;
  profile?: MappingProfile;
}

export interface ReadExportOptions {
  /** Skip detection. */
  format?: ExportFormat;
  profile?: MappingProfile;
  /** FreeSWITCH template file (the template line, or cdr_csv.conf.xml[#name]). */
  freeswitchTemplate?: string;
  /** Asterisk wrote UTC times (usegmtime=yes). */
  asteriskUtc?: boolean;
  /** ISO 3166 country of national numbers without a country code (default FR). */
  country?: string;
  /** Trunks: Asterisk channels, FreeSWITCH gateways and profiles, CUCM devices (replaces each format's default). */
  trunks?: RegExp;
  /** Asterisk and FreeSWITCH contexts of calls from the network (replaces the default). */
  inboundContext?: RegExp;
  /** Where the account comes from, first non-empty wins (default accountcode, channel, src). */
  accountFrom?: readonly AccountSource[];
  /** Sizes a line or field may have (config/ingest.yaml); the defaults otherwise. */
  limits?: IngestLimits;
  /** The files' encoding when they are not UTF-8 (`--encoding windows-1252`): names with foreign bytes are read exactly. */
  encoding?: string;
}

/** How many lines detection looks at: a header, a types line, and a few records. */
export const SNIFF_LINES = 10;

const DATE_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

export function detectFormat(path: string, firstLines: string[], hints: DetectHints = {}): ExportFormat | null {
  void path; // the content decides: operators rename their exports
  const lines = firstLines.map((l) => l.replace(/^\uFEFF/, '').replace(/\r$/, '')).filter((l) => l.trim() !== '');
  if (lines.length === 0) return null;
  if (looksFreeswitchDocument(lines)) return 'freeswitch-doc';
  const first = parseFields(lines[0]!);

  if (first?.[0]?.trim() === 'cdrRecordType') {
    const second = lines[1] === undefined ? null : parseFields(lines[1]);
    if ((second !== null && isTypesLine(second)) || isCdrHeader(first) || isCmrHeader(first)) return 'cucm';
  }
  if (first !== null) {
    const header = first.map((f) => f.trim().toLowerCase());
    if (['callee', 'start_time', 'end_time'].every((c) => header.includes(c)) && (header.includes('account') || header.includes('cdr_id'))) return 'canonical';
  }
  if (looksSipAccounting(lines)) return 'kamailio-acc';
  if (hints.profile !== undefined && profileMatches(hints.profile, firstLines)) return 'profile';
  if (looksLikeSqlDump(lines)) return 'sql-dump';
  if (asteriskTableOf(lines) !== null) return 'asterisk';
  // Every sampled line has its say: one mangled record must not hide the format of the file.
  const records = lines.slice(0, SNIFF_LINES).map((l) => ({ raw: l, fields: parseFields(l) }));
  if (records.some((r) => r.fields !== null && looksAsterisk(r.raw, r.fields))) return 'asterisk';
  const template = hints.freeswitchTemplate ?? FREESWITCH_DEFAULT_TEMPLATE;
  if (records.some((r) => looksFreeswitch(r.raw, r.fields, template))) return 'freeswitch';
  return null;
}

/** A database-style Asterisk export: the layout its header names, or the table's column order its rows follow. */
export function asteriskTableOf(lines: string[]): { layout: TableLayout; header: boolean } | null {
  const rows = lines.map((l) => l.replace(/^\uFEFF/, '').replace(/\r$/, '')).filter((l) => l.trim() !== '').map((l) => splitCsvLine(l));
  const first = rows[0];
  if (first === undefined || first === null) return null;
  const named = tableLayoutOfHeader(first);
  if (named !== null) return { layout: named, header: true };
  const byOrder = tableLayoutOfRows(rows.filter((r): r is string[] => r !== null));
  // Master.csv has its own column order (accountcode first, three times): the table's order must not claim it.
  return byOrder === null || rows.some((r) => r !== null && looksAsterisk(r.join(','), r)) ? null : { layout: byOrder, header: false };
}

function parseFields(line: string): string[] | null {
  const r = Papa.parse<string[]>(line, { delimiter: ',', newline: '\n', quoteChar: '"' });
  return r.errors.length > 0 || r.data.length !== 1 ? null : r.data[0]!;
}

function looksAsterisk(raw: string, fields: string[]): boolean {
  if (fields.length < ASTERISK_MIN_COLUMNS || fields.length > ASTERISK_MAX_COLUMNS) return false;
  if (!DATE_TIME.test(fields[9]!) || !DATE_TIME.test(fields[11]!) || !(fields[10] === '' || DATE_TIME.test(fields[10]!))) return false;
  if (!/^\d+$/.test(fields[12]!) || !/^\d+$/.test(fields[13]!)) return false;
  // cdr_csv never quotes its integers; FreeSWITCH's `asterisk` template does, which tells the two apart.
  return new RegExp(`,${fields[12]},${fields[13]},"`).test(raw);
}

function looksFreeswitch(raw: string, fields: string[] | null, template: FreeswitchTemplate): boolean {
  const cells = splitFreeswitchLine(raw, fields, template);
  if (cells === null) return false;
  const at = (v: string): string | undefined => {
    const i = template.columns.indexOf(v);
    return i < 0 ? undefined : cells[i]?.trim();
  };
  const stampOk = (name: 'start' | 'end'): boolean => {
    const stamp = at(`${name}_stamp`);
    if (stamp !== undefined) return DATE_TIME.test(stamp);
    const epoch = at(`${name}_epoch`);
    return epoch !== undefined && /^\d{9,}$/.test(epoch);
  };
  const answer = at('answer_stamp');
  return stampOk('start') && stampOk('end') && (answer === undefined || answer === '' || DATE_TIME.test(answer));
}

function asteriskOptions(options: ReadExportOptions): AsteriskOptions {
  return { utc: options.asteriskUtc, trunks: options.trunks, inboundContext: options.inboundContext, accountFrom: options.accountFrom, limits: options.limits, encoding: options.encoding };
}

/** What detection accepts, for the message of a refused file. */
export function describeExpectedFormats(hints: DetectHints = {}): string {
  const t = hints.freeswitchTemplate ?? FREESWITCH_DEFAULT_TEMPLATE;
  const stamp = t.columns.indexOf('start_stamp');
  const expected = [
    'canonical CSV (a header with account, callee, start_time, end_time…)',
    `Asterisk cdr_csv Master.csv (no header, ${ASTERISK_MIN_COLUMNS}–${ASTERISK_MAX_COLUMNS} columns, start/answer/end as YYYY-MM-DD HH:MM:SS in columns 10–12)`,
    'an export of the Asterisk cdr table (a header with calldate, src, dst, channel, billsec, disposition…, or those columns in the table\'s order)',
    'an SQL dump of that table (INSERT INTO cdr … VALUES, or COPY cdr FROM stdin)',
    'FreeSWITCH mod_json_cdr / mod_xml_cdr documents (JSON with variables and callflow, or XML <cdr>), or a directory of them',
    `FreeSWITCH mod_cdr_csv with ${t.name} (${t.columns.length} columns${stamp >= 0 ? `, start_stamp in column ${stamp + 1}` : ''}; pass --freeswitch-template for another template)`,
    'Cisco CUCM CDR (a header line starting with cdrRecordType, with or without a line of data types)',
    'Kamailio / OpenSIPS accounting (acc log lines "ACC: transaction answered: timestamp=…", or a CSV export of the acc, missed_calls or acc_cdrs table with its header)',
    hints.profile !== undefined
      ? `the mapping profile ${hints.profile.name} (${hints.profile.file})`
      : 'any other CSV through a mapping profile (--profile config/profiles/….yaml)',
  ];
  return `expected one of: ${expected.join('; ')}`;
}

/**
 * The first `n` non-blank lines of a file, read without loading the file (nor a whole overlong line: its
 * head only). Blank lines are passed over however many there are: they never make a file look empty.
 */
export async function readFirstLines(path: string, n = SNIFF_LINES, maxLineBytes = DEFAULT_INGEST_LIMITS.maxLineBytes): Promise<string[]> {
  const lines: string[] = [];
  for await (const framed of frameLines(path, maxLineBytes)) {
    for (const f of framed) {
      const text = f.bytes.toString('utf8');
      if (text.trim() === '') continue;
      lines.push(text);
      if (lines.length >= n) return lines;
    }
  }
  return lines;
}

/** Reads any supported export: the forced format, or the one its first lines show. */
export function readExport(path: string, options: ReadExportOptions = {}): AsyncGenerator<ReadItem> {
  return oneByOne(readExportBatches(path, options));
}

/** The same items, a batch at a time (for a consumer that can take them so: it saves a step per item). */
export async function* readExportBatches(path: string, options: ReadExportOptions = {}): AsyncGenerator<ReadItem[]> {
  const country = options.country;
  for await (const batch of readInFormat(path, options)) {
    if (country !== undefined) for (const item of batch) if (item.kind === 'record') item.record.country = country;
    yield batch;
  }
}

async function* readInFormat(path: string, options: ReadExportOptions): AsyncGenerator<ReadItem[]> {
  if (isDirectory(path)) {
    const { documents, refused } = listExportDirectory(path);
    if (refused.length > 0) yield refused;
    if (documents.length > 0) yield* grouped(readFreeswitchDocs(documents, { trunks: options.trunks, inboundContext: options.inboundContext, accountFrom: options.accountFrom, limits: options.limits }));
    return;
  }
  const template = options.freeswitchTemplate === undefined ? undefined : loadFreeswitchTemplate(options.freeswitchTemplate);
  const hints: DetectHints = { freeswitchTemplate: template, profile: options.profile };
  let format = options.format;
  const first = await readFirstLines(path, SNIFF_LINES, options.limits?.maxLineBytes);
  if (format === undefined) {
    if (first.length === 0) {
      yield [{ kind: 'reject', reject: { source: path, line: 0, reason: 'empty_file', detail: 'the file has no record', raw: '' } }];
      return;
    }
    const detected = detectFormat(path, first, hints);
    if (detected === null) {
      const shown = first.find((l) => l.trim() !== '')!.slice(0, 200);
      yield [{ kind: 'reject', reject: { source: path, line: 0, reason: 'unknown_format', detail: `format not recognised; ${describeExpectedFormats(hints)}`, raw: shown } }];
      return;
    }
    format = detected;
  }
  switch (format) {
    case 'canonical':
      yield* readCanonicalBatches(path, { limits: options.limits, encoding: options.encoding });
      return;
    // The switch formats pair legs and rows across lines one item at a time; they are grouped here.
    case 'asterisk':
      yield* grouped(readAsteriskCsv(path, { ...asteriskOptions(options), table: asteriskTableOf(first) ?? undefined }));
      return;
    case 'sql-dump':
      yield* grouped(groupAsteriskCalls(path, readSqlDumpRows(path, { utc: options.asteriskUtc, limits: options.limits }), asteriskOptions(options)));
      return;
    case 'freeswitch':
      yield* grouped(readFreeswitchCsv(path, { template, trunks: options.trunks, inboundContext: options.inboundContext, accountFrom: options.accountFrom, limits: options.limits, encoding: options.encoding }));
      return;
    case 'freeswitch-doc':
      yield* grouped(readFreeswitchDocs([path], { trunks: options.trunks, inboundContext: options.inboundContext, accountFrom: options.accountFrom, limits: options.limits }));
      return;
    case 'cucm':
      yield* grouped(readCucmCdr(path, { trunks: options.trunks, limits: options.limits }));
      return;
    case 'kamailio-acc':
      yield* grouped(readSipAccounting(path, { trunks: options.trunks, limits: options.limits }));
      return;
    case 'profile':
      if (options.profile === undefined) throw new Error('format "profile" needs a mapping profile (--profile config/profiles/….yaml)');
      yield* grouped(readMappingProfile(path, { profile: options.profile, limits: options.limits }));
      return;
  }
}
