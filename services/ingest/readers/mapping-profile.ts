/**
 * Mapping profiles: how to read a CSV export of a switch we have no reader for, written as a YAML file
 * (config/profiles/*.yaml) so that a new switch needs a file, not code. A profile names, for each
 * canonical field, the column that holds it (by header name, or by 1-based position when the file has
 * no header), how times are written and in which zone, and how the switch spells dispositions, legs…
 */
import Papa from 'papaparse';
import { z } from 'zod';
import { Zone } from '../../core/calendar.js';
import { DIRECTIONS, DISPOSITIONS, FORWARD_REASONS, LEGS } from '../../core/cdr.js';
import { loadYamlFile } from '../../config/yaml-file.js';
import { CANONICAL_COLUMNS } from '../canonical-csv.js';
import { readCsvLines, refusedHeaderItem, refusedItem } from '../csv-lines.js';
import { epochSecondsToIso } from '../epoch-time.js';
import type { IngestLimits } from '../input-limits.js';
import type { ReadItem, SourceRecord } from '../source-record.js';

type Field = (typeof CANONICAL_COLUMNS)[number];

const columnCondition = z
  .object({
    /** Column name, or 1-based number without a header. */
    column: z.union([z.string().trim().min(1), z.number().int().min(1)]),
    equals: z.string().optional(),
    matches: z.string().optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if ((c.equals === undefined) === (c.matches === undefined)) ctx.addIssue({ code: 'custom', message: 'a row filter has exactly one of equals or matches' });
    if (c.matches !== undefined && compileRegex(c.matches) === null) ctx.addIssue({ code: 'custom', path: ['matches'], message: `"${c.matches}" is not a regular expression` });
  });

const transform = z
  .object({
    /** Removed from the start of the value when it is there (`Ext. 1001` → `1001`). */
    strip_prefix: z.string().min(1).optional(),
    /** The value becomes the first capture group (or the whole match) when the expression matches. */
    regex: z.string().optional(),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (t.regex !== undefined && compileRegex(t.regex) === null) ctx.addIssue({ code: 'custom', path: ['regex'], message: `"${t.regex}" is not a regular expression` });
  });

function compileRegex(source: string): RegExp | null {
  try {
    return new RegExp(source);
  } catch {
    return null;
  }
}

const columnRef = z.union([z.string().trim().min(1, 'column name is empty'), z.number().int().min(1, 'column numbers start at 1')]);
const valueMap = <T extends readonly [string, ...string[]]>(allowed: T) => z.record(z.string(), z.enum(allowed));

export const TIME_FORMAT_HELP = "'iso' (2026-01-15T10:00:00+01:00, offset optional), 'epoch_seconds', 'epoch_millis', or a pattern of YYYY, MM, DD, HH, MM, SS such as 'DD/MM/YYYY HH:MM:SS' (the MM after HH is minutes)";

export const mappingProfileSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    /** The first line (after skip_lines) names the columns. */
    header: z.boolean().default(true),
    delimiter: z.string().length(1, 'delimiter is one character, e.g. "," or ";"').default(','),
    /** Lines before the header (or the first record): titles, export dates… */
    skip_lines: z.number().int().min(0).default(0),
    /** Canonical field → column name, or 1-based column number. */
    columns: z.partialRecord(z.enum(CANONICAL_COLUMNS), columnRef),
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
    /** Per canonical field, applied to the column's value before the value maps. */
    transforms: z.partialRecord(z.enum(CANONICAL_COLUMNS), transform).default({}),
  })
  .strict()
  .superRefine((p, ctx) => {
    for (const field of ['callee', 'start_time', 'end_time'] as const) {
      if (p.columns[field] === undefined) ctx.addIssue({ code: 'custom', path: ['columns', field], message: `${field} must be mapped to a column` });
    }
    if (p.columns.account === undefined && p.columns.caller === undefined && !p.defaults.account && !p.defaults.caller) {
      ctx.addIssue({ code: 'custom', path: ['columns', 'account'], message: 'map account or caller (or give defaults.account): otherwise no call can be charged to anyone' });
    }
    if (!p.header) {
      for (const [field, ref] of Object.entries(p.columns)) {
        if (typeof ref !== 'number') ctx.addIssue({ code: 'custom', path: ['columns', field], message: `"${ref}" is a name but header is false: give the column number (1 = first column)` });
      }
      p.skip_rows.forEach((c, i) => {
        if (typeof c.column !== 'number') ctx.addIssue({ code: 'custom', path: ['skip_rows', i, 'column'], message: `"${c.column}" is a name but header is false: give the column number` });
      });
    }
    if (compileTimeFormat(p.time.format) === null) ctx.addIssue({ code: 'custom', path: ['time', 'format'], message: `"${p.time.format}" is not a time format; use ${TIME_FORMAT_HELP}` });
    if (p.time.zone !== undefined) {
      try {
        new Zone(p.time.zone);
      } catch (e) {
        ctx.addIssue({ code: 'custom', path: ['time', 'zone'], message: (e as Error).message });
      }
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

// ---- time formats ----

type WallParts = { y: number; mo: number; d: number; h: number; mi: number; s: number };
type TimeParser = (text: string) => { wall: WallParts } | { iso: string } | null;

/** 'iso' | 'epoch_seconds' | 'epoch_millis' | pattern → parser, or null for an unusable format. */
export function compileTimeFormat(format: string): TimeParser | null {
  if (format === 'iso') {
    return (t) => {
      const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:[.,]\d+)?\s*(Z|[+-]\d{2}:?\d{2})?$/.exec(t);
      if (!m) return null;
      if (m[7] !== undefined) return { iso: t };
      return { wall: { y: +m[1]!, mo: +m[2]!, d: +m[3]!, h: +m[4]!, mi: +m[5]!, s: m[6] === undefined ? 0 : +m[6] } };
    };
  }
  if (format === 'epoch_seconds' || format === 'epoch_millis') {
    const scale = format === 'epoch_seconds' ? 1000 : 1;
    return (t) => {
      if (!/^\d+(\.\d+)?$/.test(t)) return null;
      return { iso: epochSecondsToIso((Number(t) * scale) / 1000, t) };
    };
  }
  const order: (keyof WallParts)[] = [];
  let sawMonth = false;
  let source = '';
  for (const token of format.match(/YYYY|MM|DD|HH|mm|SS|ss|[^YMDHSms]+|./g) ?? []) {
    switch (token) {
      case 'YYYY':
        order.push('y');
        source += '(\\d{4})';
        break;
      case 'MM':
        order.push(sawMonth ? 'mi' : 'mo');
        sawMonth = true;
        source += '(\\d{1,2})';
        break;
      case 'mm':
        order.push('mi');
        source += '(\\d{1,2})';
        break;
      case 'DD':
        order.push('d');
        source += '(\\d{1,2})';
        break;
      case 'HH':
        order.push('h');
        source += '(\\d{1,2})';
        break;
      case 'SS':
      case 'ss':
        order.push('s');
        source += '(\\d{1,2})';
        break;
      default:
        if (/[YMDHSms]/.test(token)) return null;
        source += token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/ /g, '\\s+');
    }
  }
  for (const needed of ['y', 'mo', 'd', 'h', 'mi'] as const) if (!order.includes(needed)) return null;
  if (new Set(order).size !== order.length) return null;
  const re = new RegExp(`^${source}$`);
  return (t) => {
    const m = re.exec(t);
    if (!m) return null;
    const wall: WallParts = { y: 0, mo: 0, d: 0, h: 0, mi: 0, s: 0 };
    order.forEach((k, i) => (wall[k] = Number(m[i + 1])));
    return { wall };
  };
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
const wallText = (w: WallParts): string => `${pad(w.y, 4)}-${pad(w.mo)}-${pad(w.d)} ${pad(w.h)}:${pad(w.mi)}:${pad(w.s)}`;

/**
 * Text for SourceRecord: an instant (ISO with offset) when the profile knows the zone or the format is
 * absolute, else the wall-clock text that normalize reads in the run's source zone. In the autumn
 * overlap, a time after `notBeforeMs` takes the occurrence that does not precede it.
 */
function toSourceTime(parsed: { wall: WallParts } | { iso: string }, zone: Zone | null, notBeforeMs: number | null): { text: string; ms: number | null } {
  if ('iso' in parsed) return { text: parsed.iso, ms: Date.parse(parsed.iso.replace(' ', 'T')) };
  const w = parsed.wall;
  // An impossible wall time (31/02, 25:00) goes on as text for the normaliser to reject, not rolled over.
  if (zone === null || !isRealWallTime(w)) return { text: wallText(w), ms: null };
  const res = zone.resolveLocal(Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s));
  const ms = res.kind === 'overlap' && notBeforeMs !== null && res.ms < notBeforeMs ? res.laterMs : res.ms;
  return { text: zone.iso(ms), ms };
}

function isRealWallTime(w: WallParts): boolean {
  const d = new Date(Date.UTC(w.y, w.mo - 1, w.d));
  return d.getUTCMonth() === w.mo - 1 && d.getUTCDate() === w.d && w.h < 24 && w.mi < 60 && w.s < 60;
}

/** Whole seconds, from `180`, `3:00` or `0:03:00`. */
function seconds(text: string): string {
  const m = /^(?:(\d+):)?(\d+):(\d{2})$/.exec(text);
  if (!m) return text;
  return String(Number(m[1] ?? 0) * 3600 + Number(m[2]) * 60 + Number(m[3]));
}

/** strip_prefix, then regex (first capture group, or the whole match); a value they do not match stays as it is. */
function transformed(value: string, t: { strip_prefix?: string; re: RegExp | null }): string {
  let v = t.strip_prefix !== undefined && value.startsWith(t.strip_prefix) ? value.slice(t.strip_prefix.length).trim() : value;
  if (t.re !== null) {
    const m = t.re.exec(v);
    if (m) v = (m[1] ?? m[0]).trim();
  }
  return v;
}

function lookup(map: Record<string, string> | undefined, value: string): string {
  if (map === undefined || value === '') return value;
  if (value in map) return map[value]!;
  const lower = value.toLowerCase();
  for (const [k, v] of Object.entries(map)) if (k.toLowerCase() === lower) return v;
  return value;
}

// ---- reading ----

export async function* readMappingProfile(path: string, opts: { profile: MappingProfile; limits?: IngestLimits }): AsyncGenerator<ReadItem> {
  const p = opts.profile;
  const parseTime = compileTimeFormat(p.time.format)!;
  const zone = p.time.zone === undefined ? null : new Zone(p.time.zone);
  const mapped = Object.entries(p.columns) as [Field, string | number][];
  let index: Map<Field, number> | null = p.header ? null : new Map(mapped.map(([f, ref]) => [f, (ref as number) - 1]));
  const minWidth = p.header ? 0 : Math.max(...mapped.map(([, ref]) => ref as number));
  let width = 0;
  let sawRecordOrHeader = false;
  const filters = p.skip_rows.map((c) => ({ ...c, re: c.matches === undefined ? null : new RegExp(c.matches), at: typeof c.column === 'number' ? c.column - 1 : -1 }));
  const transforms = Object.entries(p.transforms).map(([f, t]) => [f as Field, { ...t, re: t.regex === undefined ? null : new RegExp(t.regex) }] as const);

  for await (const batch of readCsvLines(path, p.delimiter, opts.limits)) {
    for (const l of batch) {
      const { line, raw, fields, error } = l;
      if (line <= p.skip_lines || raw.trim() === '') continue;
      if (l.refused) {
        sawRecordOrHeader = true;
        if (index === null) {
          yield refusedHeaderItem(path, l);
          return;
        }
        yield refusedItem(path, l);
        continue;
      }
      if (index === null) {
        sawRecordOrHeader = true;
        const header = (fields ?? []).map((f) => f.trim().toLowerCase());
        const resolved = new Map<Field, number>();
        const missing: string[] = [];
        for (const [field, ref] of mapped) {
          const i = typeof ref === 'number' ? ref - 1 : header.indexOf(ref.toLowerCase());
          if (i < 0 || i >= header.length) missing.push(`${ref} (${field})`);
          else resolved.set(field, i);
        }
        for (const f of filters) if (typeof f.column === 'string') f.at = header.indexOf(f.column.toLowerCase());
        const missingFilter = filters.find((f) => f.at < 0);
        if (missingFilter !== undefined) missing.push(`${missingFilter.column} (skip_rows)`);
        if (missing.length > 0) {
          yield reject(path, line, 'bad_header', `header lacks column(s) ${missing.join(', ')} that profile ${p.name} (${p.file}) maps; is this the right profile or delimiter "${p.delimiter}"?`, raw);
          return;
        }
        index = resolved;
        width = header.length;
        continue;
      }
      sawRecordOrHeader = true;
      if (fields === null) {
        yield reject(path, line, 'malformed_csv', `${error ?? 'not valid CSV'}; fix the quoting of this line`, raw);
        continue;
      }
      if (p.header ? fields.length !== width : fields.length < minWidth) {
        const expected = p.header ? `the header has ${width}` : `profile ${p.name} reads up to column ${minWidth}`;
        yield reject(path, line, 'column_count', `${fields.length} columns where ${expected}`, raw);
        continue;
      }
      const skippedBy = filters.findIndex((f) => {
        const v = (fields[f.at] ?? '').trim();
        return f.re !== null ? f.re.test(v) : v === f.equals;
      });
      if (skippedBy >= 0) {
        const f = filters[skippedBy]!;
        const rule = f.re !== null ? `matches ${JSON.stringify(f.matches)}` : `equals ${JSON.stringify(f.equals)}`;
        yield reject(path, line, 'skipped_by_profile', `skip_rows[${skippedBy}] of profile ${p.name}: column ${f.column} ${rule}; nothing to bill`, raw);
        continue;
      }
      const ix = index;
      const get = (f: Field): string => {
        const i = ix.get(f);
        const value = i === undefined ? (p.defaults[f] ?? '') : (fields[i] ?? '').trim();
        const t = transforms.find(([field]) => field === f)?.[1];
        return t === undefined ? value : transformed(value, t);
      };

      let bad: string | null = null;
      const time = (f: 'start_time' | 'answer_time' | 'end_time', notBefore: number | null): { text: string; ms: number | null } => {
        const text = get(f);
        if (text === '' || bad !== null) return { text: '', ms: null };
        const parsed = parseTime(text);
        if (parsed === null) {
          bad = `${f} "${text}" does not match the time format '${p.time.format}' of profile ${p.name}`;
          return { text: '', ms: null };
        }
        return toSourceTime(parsed, zone, notBefore);
      };
      const start = time('start_time', null);
      const answer = time('answer_time', start.ms);
      const end = time('end_time', start.ms);
      if (bad !== null) {
        yield reject(path, line, 'bad_time', bad, raw);
        continue;
      }

      const record: SourceRecord = {
        source: path,
        line,
        raw,
        cdrId: get('cdr_id'),
        account: get('account'),
        caller: get('caller'),
        callee: get('callee'),
        start: start.text,
        answer: answer.text,
        end: end.text,
        billableSeconds: seconds(get('billable_seconds')),
        disposition: lookup(p.values.disposition, get('disposition')),
        direction: lookup(p.values.direction, get('direction')),
        leg: lookup(p.values.leg, get('leg')),
        forwardReason: lookup(p.values.forward_reason, get('forward_reason')),
        device: get('device'),
      };
      yield { kind: 'record', record };
    }
  }
  if (!sawRecordOrHeader) yield reject(path, 0, 'empty_file', 'the file has no header and no record', '');
}

/** Whether the first lines of a file look like what `profile` describes: its header, or its column count and time format. */
export function profileMatches(profile: MappingProfile, firstLines: string[]): boolean {
  const lines = firstLines
    .map((l, i) => (i === 0 ? l.replace(/^\uFEFF/, '') : l).replace(/\r$/, ''))
    .slice(profile.skip_lines)
    .filter((l) => l.trim() !== '');
  const first = lines[0];
  if (first === undefined) return false;
  const fields = Papa.parse<string[]>(first, { delimiter: profile.delimiter, quoteChar: '"' }).data[0] ?? [];
  if (profile.header) {
    const header = fields.map((f) => f.trim().toLowerCase());
    return Object.values(profile.columns).every((ref) => (typeof ref === 'number' ? ref <= header.length : header.includes(ref.toLowerCase())));
  }
  const refs = Object.values(profile.columns) as number[];
  if (fields.length < Math.max(...refs)) return false;
  const start = fields[(profile.columns.start_time as number) - 1]?.trim() ?? '';
  return compileTimeFormat(profile.time.format)?.(start) != null;
}

function reject(source: string, line: number, reason: 'bad_header' | 'malformed_csv' | 'column_count' | 'bad_time' | 'empty_file' | 'skipped_by_profile', detail: string, raw: string): ReadItem {
  return { kind: 'reject', reject: { source, line, reason, detail, raw } };
}
