/**
 * Reader of the project's canonical CSV: a header row naming the columns below (any order, extra
 * columns ignored), then one call per line. The columns are documented in the README.
 */
import { acceptMended, readCsvLines, refusedHeaderItem, refusedItem } from './csv-lines.js';
import type { IngestLimits } from './input-limits.js';
import { oneByOne } from './item-batches.js';
import type { ReadItem, SourceRecord } from './source-record.js';

export const CANONICAL_COLUMNS = [
  'cdr_id',
  'account',
  'caller',
  'callee',
  'start_time',
  'answer_time',
  'end_time',
  'billable_seconds',
  'disposition',
  'direction',
  'leg',
  'forward_reason',
  'device',
] as const;
type Column = (typeof CANONICAL_COLUMNS)[number];

const REQUIRED: readonly Column[] = ['account', 'callee', 'start_time', 'end_time'];

export interface CanonicalOptions {
  limits?: IngestLimits;
  /** The file's encoding when it is not UTF-8 (WHATWG label). */
  encoding?: string;
}

export function readCanonicalCsv(path: string, opts: CanonicalOptions = {}): AsyncGenerator<ReadItem> {
  return oneByOne(readCanonicalBatches(path, opts));
}

/** The items of the file, those of each batch of lines together. */
export async function* readCanonicalBatches(path: string, opts: CanonicalOptions = {}): AsyncGenerator<ReadItem[]> {
  /** Where each of CANONICAL_COLUMNS is in the file's header, -1 when it is not. */
  let at: number[] = [];
  let width = 0;
  let sawHeader = false;
  for await (const batch of readCsvLines(path, ',', opts.limits, { encoding: opts.encoding })) {
    const out: ReadItem[] = [];
    for (const read of batch) {
      // Only the device is free text: a bad byte in an id, a number or a time refuses the record.
      const l = sawHeader ? acceptMended(read, (c) => c === at[DEVICE] || !at.includes(c)) : read;
      const { line, raw, fields, error } = l;
      if (raw.trim() === '' && l.mended === undefined) continue; // blank lines carry no call
      if (l.refused) {
        if (!sawHeader) {
          out.push(refusedHeaderItem(path, l));
          yield out;
          return;
        }
        out.push(refusedItem(path, l));
        continue;
      }
      if (!sawHeader) {
        sawHeader = true;
        const header = fields?.map((f) => f.trim().toLowerCase()) ?? [];
        const missing = REQUIRED.filter((c) => !header.includes(c));
        if (missing.length > 0) {
          out.push(reject(path, line, 'bad_header', `header lacks column(s) ${missing.join(', ')}; expected ${CANONICAL_COLUMNS.join(',')}`, raw));
          yield out;
          return; // without the columns no line can be read: the whole file is one reject
        }
        at = CANONICAL_COLUMNS.map((c) => header.indexOf(c));
        width = header.length;
        continue;
      }
      // A line read leniently that then lacks or has extra columns had quotes that were not text after all.
      if (fields === null || (error !== undefined && fields.length !== width)) {
        out.push(reject(path, line, 'malformed_csv', `${error ?? 'not valid CSV'}; fix the quoting of this line`, raw));
        continue;
      }
      if (fields.length !== width) {
        out.push(reject(path, line, 'column_count', `${fields.length} columns where the header has ${width}`, raw));
        continue;
      }
      const record: SourceRecord = {
        source: path,
        line,
        raw,
        cdrId: field(fields, at[CDR_ID]!),
        account: field(fields, at[ACCOUNT]!),
        caller: field(fields, at[CALLER]!),
        callee: field(fields, at[CALLEE]!),
        start: field(fields, at[START]!),
        answer: field(fields, at[ANSWER]!),
        end: field(fields, at[END]!),
        billableSeconds: field(fields, at[BILLABLE]!),
        disposition: field(fields, at[DISPOSITION]!),
        direction: field(fields, at[DIRECTION]!),
        leg: field(fields, at[LEG]!),
        forwardReason: field(fields, at[FORWARD_REASON]!),
        device: field(fields, at[DEVICE]!),
      };
      if (l.notes !== undefined) record.notes = l.notes;
      out.push({ kind: 'record', record });
    }
    if (out.length > 0) yield out;
  }
  if (!sawHeader) yield [reject(path, 0, 'empty_file', 'the file has no header and no record', '')];
}

const column = (c: Column): number => CANONICAL_COLUMNS.indexOf(c);
const CDR_ID = column('cdr_id'), ACCOUNT = column('account'), CALLER = column('caller'), CALLEE = column('callee');
const START = column('start_time'), ANSWER = column('answer_time'), END = column('end_time'), BILLABLE = column('billable_seconds');
const DISPOSITION = column('disposition'), DIRECTION = column('direction'), LEG = column('leg'), FORWARD_REASON = column('forward_reason'), DEVICE = column('device');

function field(fields: string[], i: number): string {
  return i < 0 ? '' : fields[i]!.trim();
}

function reject(source: string, line: number, reason: 'bad_header' | 'malformed_csv' | 'column_count' | 'empty_file', detail: string, raw: string): ReadItem {
  return { kind: 'reject', reject: { source, line, reason, detail, raw } };
}
