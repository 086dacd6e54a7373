/**
 * What a mapping profile (config/profiles/*.yaml) may say, validated on load with zod so that a wrong
 * profile stops the run with its file, the field and the problem instead of misreading a month of calls.
 * The reader is mapping-profile.ts; the time formats are profile-time.ts.
 */
import { z } from 'zod';
import { Zone } from '../../core/calendar.js';
import { DIRECTIONS, DISPOSITIONS, FORWARD_REASONS, LEGS } from '../../core/cdr.js';
import { loadYamlFile } from '../../config/yaml-file.js';
import { CANONICAL_COLUMNS } from '../canonical-csv.js';
import { TIME_FORMAT_HELP, compileTimeFormat } from './profile-time.js';

export type Field = (typeof CANONICAL_COLUMNS)[number];
export type ColumnRef = string | number;
/** A timestamp written in two columns, read together (`date time`) with time.format. */
export type SplitTime = { date: ColumnRef; time: ColumnRef };

const TIME_FIELDS = ['start_time', 'answer_time', 'end_time'] as const;

const columnRef = z.union([z.string().trim().min(1, 'column name is empty'), z.number().int().min(1, 'column numbers start at 1')]);

const columnCondition = z
  .object({
    /** Column name, or 1-based number without a header. */
    column: columnRef,
    equals: z.string().optional(),
    matches: z.string().optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if ((c.equals === undefined) === (c.matches === undefined)) ctx.addIssue({ code: 'custom', message: 'a condition has exactly one of equals or matches' });
    if (c.matches !== undefined && compileRegex(c.matches) === null) ctx.addIssue({ code: 'custom', path: ['matches'], message: `"${c.matches}" is not a regular expression` });
  });
export type ColumnCondition = z.infer<typeof columnCondition>;

const transform = z
  .object({
    /** Removed from the start of the value when it is there (`Ext. 1001` → `1001`). */
    strip_prefix: z.string().min(1).optional(),
    /**
     * The value becomes the first capture group (or the whole match) when the expression matches:
     * `^(?:\d{8}\*)?(.*)$` drops an 8-digit account code and its star, `^E(\d+)$` keeps a device's number.
     */
    regex: z.string().optional(),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (t.regex !== undefined && compileRegex(t.regex) === null) ctx.addIssue({ code: 'custom', path: ['regex'], message: `"${t.regex}" is not a regular expression` });
  });

/** A fixed-width field as vendor manuals print it: first column (1-based) and width, or first and last column. */
const fixedField = z
  .object({ at: z.number().int().min(1, 'columns start at 1'), width: z.number().int().min(1).optional(), to: z.number().int().min(1).optional() })
  .strict()
  .superRefine((f, ctx) => {
    if ((f.width === undefined) === (f.to === undefined)) ctx.addIssue({ code: 'custom', message: 'give the field either width or to (its last column)' });
    if (f.to !== undefined && f.to < f.at) ctx.addIssue({ code: 'custom', path: ['to'], message: `the last column ${f.to} is before the first ${f.at}` });
  })
  .transform((f) => ({ at: f.at, width: f.width ?? f.to! - f.at + 1 }));

const valueMap = <T extends readonly [string, ...string[]]>(allowed: T) => z.record(z.string(), z.enum(allowed));

const mappedColumn = z.union([columnRef, z.object({ date: columnRef, time: columnRef }).strict(), z.array(columnRef).min(1)]);

export const mappingProfileSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    /** delimited: CSV; fixed: every field at fixed columns (SMDR of hardware PBXs, OXE tickets). */
    layout: z.enum(['delimited', 'fixed']).default('delimited'),
    /** The first line (after skip_lines) names the columns (delimited only). */
    header: z.boolean().default(true),
    delimiter: z.string().length(1, 'delimiter is one character, e.g. "," or ";"').default(','),
    /** The encoding the switch writes: utf-8, windows-1252, latin1, windows-1251… */
    encoding: z.string().default('utf-8'),
    /** strict: a stray quote rejects its line; lenient: a quote inside a field is kept as a character. */
    quoting: z.enum(['strict', 'lenient']).default('strict'),
    /** Lines before the header (or the first record): titles, export dates… */
    skip_lines: z.number().int().min(0).default(0),
    /** Lines that are no record (page headers repeated by a printer port, separators): left out silently. */
    skip_lines_matching: z.array(z.string()).default([]),
    /** layout fixed: the record's fields, name → { at, width } or { at, to }. */
    fields: z.record(z.string().trim().min(1), fixedField).default({}),
    /** layout fixed: the length of every record; another length is rejected (default: the end of the last field). */
    record_length: z.number().int().min(1).optional(),
    /**
     * Canonical field → column name, 1-based number without a header, or field name of a fixed layout.
     * A time may be `{ date: …, time: … }`; `duration` (not a canonical field) is the call's length from
     * start to end, one column or a list of columns added up, in seconds or h:mm:ss: end = start + duration.
     */
    columns: z.partialRecord(z.enum([...CANONICAL_COLUMNS, 'duration']), mappedColumn),
    time: z
      .object({
        format: z.string().default('iso'),
        /** IANA zone of times written without an offset; absent: the run's source zone. */
        zone: z.string().optional(),
      })
      .strict()
      .default({ format: 'iso' }),
    /** The switch's words → ours, per field; unlisted words are passed on as they are. */
    values: z
      .object({
        disposition: valueMap(DISPOSITIONS).optional(),
        direction: valueMap([...DIRECTIONS, 'internal'] as const).optional(),
        leg: valueMap(LEGS).optional(),
        forward_reason: valueMap(FORWARD_REASONS).optional(),
      })
      .strict()
      .default({}),
    /** Values for fields the export does not have (the one trunk a file is for, the direction…). */
    defaults: z.partialRecord(z.enum(CANONICAL_COLUMNS), z.string()).default({}),
    /** Rows left out (system records, totals…): a row matching any condition is skipped, and reported as such. */
    skip_rows: z.array(columnCondition).default([]),
    /** The export says the call stayed inside the PBX when every condition holds: free, never a fraud signal. */
    internal_when: z.array(columnCondition).default([]),
    /** The export says the call left through a trunk when every condition holds. */
    external_when: z.array(columnCondition).default([]),
    /** The call came from the network when every condition holds (exports without a direction column): direction in. */
    inbound_when: z.array(columnCondition).default([]),
    /** The switch repeats cdr_id on the records of one call (segments): the n-th record of an id gets `id#n`. */
    cdr_id_sequence: z.boolean().default(false),
    /** The callee column holds the digits the trunk received (SMDR "digits dialed on the trunk"): no outside-line prefix to take off. */
    callee_sent: z.boolean().default(false),
    /** Per canonical field, applied to the column's value before the value maps. */
    transforms: z.partialRecord(z.enum(CANONICAL_COLUMNS), transform).default({}),
  })
  .strict()
  .superRefine((p, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    for (const field of ['callee', 'start_time'] as const) if (p.columns[field] === undefined) issue(['columns', field], `${field} must be mapped to a column`);
    if (p.columns.end_time === undefined && p.columns.duration === undefined) issue(['columns', 'end_time'], 'map end_time, or duration (end = start + duration)');
    if (p.columns.account === undefined && p.columns.caller === undefined && !p.defaults.account && !p.defaults.caller) {
      issue(['columns', 'account'], 'map account or caller (or give defaults.account): otherwise no call can be charged to anyone');
    }
    for (const [field, ref] of Object.entries(p.columns)) {
      if (Array.isArray(ref) && field !== 'duration') issue(['columns', field], `a list of columns is for duration only (added up); ${field} takes one column`);
      if (isSplitTime(ref) && !(TIME_FIELDS as readonly string[]).includes(field)) issue(['columns', field], `{ date, time } is for start_time, answer_time and end_time; ${field} takes one column`);
    }
    const conditions = [...p.skip_rows.map((c, i) => ['skip_rows', i, c] as const), ...p.internal_when.map((c, i) => ['internal_when', i, c] as const), ...p.external_when.map((c, i) => ['external_when', i, c] as const), ...p.inbound_when.map((c, i) => ['inbound_when', i, c] as const)];
    const refs = Object.entries(p.columns).flatMap(([field, ref]) => refsOf(ref).map((r) => [field, r] as const));
    if (p.layout === 'fixed') {
      if (Object.keys(p.fields).length === 0) issue(['fields'], 'layout fixed needs its fields: name → { at, width } as the vendor documents them');
      const known = (r: ColumnRef) => typeof r === 'string' && r in p.fields;
      for (const [field, r] of refs) if (!known(r)) issue(['columns', field], `"${r}" is not one of the fields of this fixed layout (${Object.keys(p.fields).join(', ')})`);
      for (const [key, i, c] of conditions) if (!known(c.column)) issue([key, i, 'column'], `"${c.column}" is not one of the fields of this fixed layout`);
      const end = Math.max(...Object.values(p.fields).map((f) => f.at + f.width - 1));
      if (p.record_length !== undefined && p.record_length < end) issue(['record_length'], `${p.record_length} is shorter than the last field, which ends at column ${end}`);
    } else if (!p.header) {
      for (const [field, r] of refs) if (typeof r !== 'number') issue(['columns', field], `"${r}" is a name but header is false: give the column number (1 = first column)`);
      for (const [key, i, c] of conditions) if (typeof c.column !== 'number') issue([key, i, 'column'], `"${c.column}" is a name but header is false: give the column number`);
    }
    p.skip_lines_matching.forEach((re, i) => {
      if (compileRegex(re) === null) issue(['skip_lines_matching', i], `"${re}" is not a regular expression`);
    });
    try {
      new TextDecoder(p.encoding);
    } catch {
      issue(['encoding'], `"${p.encoding}" is not an encoding this runtime knows (utf-8, windows-1252, latin1, windows-1251, iso-8859-15…)`);
    }
    if (compileTimeFormat(p.time.format) === null) issue(['time', 'format'], `"${p.time.format}" is not a time format; use ${TIME_FORMAT_HELP}`);
    if (p.time.zone !== undefined) {
      try {
        new Zone(p.time.zone);
      } catch (e) {
        issue(['time', 'zone'], (e as Error).message);
      }
    } else if (p.columns.duration !== undefined && !p.time.format.startsWith('epoch_')) {
      issue(['time', 'zone'], 'end = start + duration needs the zone of the wall-clock times (time.zone, e.g. Europe/Paris), so that a call across a DST change lasts what it lasted');
    }
  });

export type MappingProfileConfig = z.infer<typeof mappingProfileSchema>;
export interface MappingProfile extends MappingProfileConfig {
  /** The YAML file it was read from, for messages. */
  file: string;
}

/** Reads and validates a profile; a bad one stops the run with its file, field and problem. */
export function loadMappingProfile(path: string): MappingProfile {
  return { ...loadYamlFile(path, mappingProfileSchema), file: path };
}

export function isSplitTime(ref: unknown): ref is SplitTime {
  return typeof ref === 'object' && ref !== null && !Array.isArray(ref) && 'date' in ref;
}

/** The plain column references of a mapped column (one, two for a split time, several for a duration). */
export function refsOf(ref: ColumnRef | SplitTime | ColumnRef[]): ColumnRef[] {
  if (Array.isArray(ref)) return ref;
  if (isSplitTime(ref)) return [ref.date, ref.time];
  return [ref];
}

export function compileRegex(source: string): RegExp | null {
  try {
    return new RegExp(source);
  } catch {
    return null;
  }
}
