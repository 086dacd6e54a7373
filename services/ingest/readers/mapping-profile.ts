/**
 * Mapping profiles: how to read the export of a switch we have no reader for, written as a YAML file
 * (config/profiles/*.yaml) so that a new switch needs a file, not code. A profile names, for each
 * canonical field, the column that holds it (by header name, by 1-based position when the file has no
 * header, or by field name in a fixed-width layout), how times are written and in which zone, what is
 * computed (end = start + duration, answer = end − billable), and how the switch spells dispositions,
 * legs, and internal calls. The schema is mapping-profile-schema.ts; times are profile-time.ts.
 */
import { statSync } from 'node:fs';
import Papa from 'papaparse';
import { Zone } from '../../core/calendar.js';
import { acceptMended, readCsvLines, refusedHeaderItem, refusedItem, type CsvLine } from '../csv-lines.js';
import { readFixedWidthLines } from '../fixed-width-lines.js';
import type { IngestLimits } from '../input-limits.js';
import type { ReadItem, RejectReason, SourceRecord } from '../source-record.js';
import { isSplitTime, refsOf, type ColumnCondition, type ColumnRef, type Field, type MappingProfile, type SplitTime } from './mapping-profile-schema.js';
import { billableText, compileTimeFormat, instantText, secondsOf, toSourceTime, withYear, type SourceTime } from './profile-time.js';

export { loadMappingProfile, mappingProfileSchema, type MappingProfile, type MappingProfileConfig } from './mapping-profile-schema.js';
export { TIME_FORMAT_HELP, compileTimeFormat } from './profile-time.js';

type Mapped = Field | 'duration';
type Condition = ColumnCondition & { re: RegExp | null; at: number };

export async function* readMappingProfile(path: string, opts: { profile: MappingProfile; limits?: IngestLimits }): AsyncGenerator<ReadItem> {
  const p = opts.profile;
  const parseTime = compileTimeFormat(p.time.format)!;
  const zone = p.time.zone === undefined ? null : new Zone(p.time.zone);
  const fixed = p.layout === 'fixed';
  const fixedNames = Object.keys(p.fields);
  const mapped = Object.entries(p.columns) as [Mapped, ColumnRef | SplitTime | ColumnRef[]][];
  const condition = (c: ColumnCondition): Condition => ({ ...c, re: c.matches === undefined ? null : new RegExp(c.matches), at: -1 });
  const filters = p.skip_rows.map(condition);
  const insideWhen = p.internal_when.map(condition);
  const outsideWhen = p.external_when.map(condition);
  const inboundWhen = p.inbound_when.map(condition);
  const conditions = [...filters, ...insideWhen, ...outsideWhen, ...inboundWhen];
  const skipLine = p.skip_lines_matching.map((re) => new RegExp(re));
  const transforms = new Map(Object.entries(p.transforms).map(([f, t]) => [f as Field, { ...t, re: t.regex === undefined ? null : new RegExp(t.regex) }]));
  const seen = p.cdr_id_sequence ? new Map<string, number>() : null;
  let writtenMs: number | null = null; // the file's mtime, read once if a date lacks its year

  // Column indexes: known from the profile for a fixed layout or a file without header, else from the header line.
  const positions = (header: string[]): { at: (ref: ColumnRef) => number; width: number } => ({
    at: (ref) => (typeof ref === 'number' ? (ref <= header.length || !p.header ? ref - 1 : -1) : header.indexOf(ref.toLowerCase())),
    width: header.length,
  });
  let at: ((ref: ColumnRef) => number) | null = null;
  let width = 0;
  const minWidth = fixed || p.header ? 0 : Math.max(...mapped.flatMap(([, ref]) => refsOf(ref) as number[]), ...conditions.map((c) => c.column as number));
  const resolve = (header: string[]): string[] => {
    const pos = positions(header);
    const missing: string[] = [];
    for (const [field, ref] of mapped) for (const r of refsOf(ref)) if (pos.at(r) < 0) missing.push(`${r} (${field})`);
    for (const c of conditions) if ((c.at = pos.at(c.column)) < 0) missing.push(`${c.column} (a condition)`);
    at = pos.at;
    width = pos.width;
    return missing;
  };
  if (fixed) resolve(fixedNames.map((n) => n.toLowerCase()));
  else if (!p.header) resolve([]);

  let sawRecordOrHeader = false;
  const lines = fixed ? readFixedWidthLines(path, { fields: Object.values(p.fields), recordLength: p.record_length, encoding: p.encoding }, opts.limits) : readCsvLines(path, p.delimiter, opts.limits, { encoding: p.encoding, quoting: p.quoting });
  /** Columns the bill depends on: a byte that is not text there refuses the record; elsewhere (the device, unmapped names) it is mended. */
  let billing: Set<number> | null = null;
  const billingColumns = (): Set<number> =>
    (billing ??= new Set([...mapped.filter(([field]) => field !== 'device').flatMap(([, ref]) => refsOf(ref)), ...conditions.map((c) => c.column)].map((r) => at!(r))));
  for await (const batch of lines) {
    for (const read of batch) {
      const l = at === null ? read : acceptMended(read, (c) => !billingColumns().has(c));
      const { line, raw, fields, error } = l;
      if (line <= p.skip_lines || raw.trim() === '' || skipLine.some((re) => re.test(raw))) continue;
      sawRecordOrHeader = true;
      if (l.refused) {
        if (at === null) {
          yield refusedHeaderItem(path, l);
          return;
        }
        yield refusedItem(path, l);
        continue;
      }
      if (at === null) {
        const missing = resolve((fields ?? []).map((f) => f.trim().toLowerCase()));
        if (missing.length > 0) {
          yield reject(path, line, 'bad_header', `header lacks column(s) ${missing.join(', ')} that profile ${p.name} (${p.file}) maps; is this the right profile or delimiter "${p.delimiter}"?`, raw);
          return;
        }
        continue;
      }
      if (fields === null) {
        if (fixed) yield reject(path, line, 'column_count', `${error ?? 'not a record of this layout'} (profile ${p.name})`, raw);
        else yield reject(path, line, 'malformed_csv', `${error ?? 'not valid CSV'}; fix the quoting of this line`, raw);
        continue;
      }
      if (!fixed && (p.header ? fields.length !== width : fields.length < minWidth)) {
        const expected = p.header ? `the header has ${width}` : `profile ${p.name} reads up to column ${minWidth}`;
        yield reject(path, line, 'column_count', `${fields.length} columns where ${expected}`, raw);
        continue;
      }
      const item = readRecord(l, fields);
      if (item !== null) yield item;
    }
  }
  if (!sawRecordOrHeader) yield reject(path, 0, 'empty_file', 'the file has no header and no record', '');

  function readRecord(l: CsvLine, fields: string[]): ReadItem | null {
    const { line, raw } = l;
    const cell = (ref: ColumnRef): string => (fields[at!(ref)] ?? '').trim();
    const holds = (c: Condition): boolean => (c.re !== null ? c.re.test(cell(c.column)) : cell(c.column) === c.equals);
    const skippedBy = filters.findIndex(holds);
    if (skippedBy >= 0) {
      const f = filters[skippedBy]!;
      const rule = f.re !== null ? `matches ${JSON.stringify(f.matches)}` : `equals ${JSON.stringify(f.equals)}`;
      return reject(path, line, 'skipped_by_profile', `skip_rows[${skippedBy}] of profile ${p.name}: column ${f.column} ${rule}; nothing to bill`, raw);
    }
    const get = (f: Field): string => {
      const ref = p.columns[f];
      const value = ref === undefined ? (p.defaults[f] ?? '') : isSplitTime(ref) ? `${cell(ref.date)} ${cell(ref.time)}`.trim() : cell(ref as ColumnRef);
      const t = transforms.get(f);
      return t === undefined ? value : transformed(value, t);
    };

    let bad = null as { reason: RejectReason; detail: string } | null;
    const time = (f: 'start_time' | 'answer_time' | 'end_time', notBefore: number | null): SourceTime => {
      const text = get(f);
      if (text === '' || bad !== null) return { text: '', ms: null };
      const parsed = parseTime(text);
      if (parsed === null) {
        bad = { reason: 'bad_time', detail: `${f} "${text}" does not match the time format '${p.time.format}' of profile ${p.name}` };
        return { text: '', ms: null };
      }
      if ('wall' in parsed && parsed.wall.y === 0) parsed.wall = withYear(parsed.wall, (writtenMs ??= statSync(path).mtimeMs), zone);
      return toSourceTime(parsed, zone, notBefore);
    };
    const start = time('start_time', null);
    let end = time('end_time', start.ms);
    const duration = p.columns.duration;
    if (bad === null && p.columns.end_time === undefined && duration !== undefined && start.ms !== null) {
      const parts = refsOf(duration).map((r) => [r, cell(r)] as const);
      const wrong = parts.find(([, v]) => v !== '' && secondsOf(v) === null);
      if (wrong !== undefined) bad = { reason: 'bad_field', detail: `duration column ${wrong[0]} "${wrong[1]}" is not seconds or h:mm:ss (profile ${p.name})` };
      else end = instantText(start.ms + parts.reduce((sum, [, v]) => sum + (secondsOf(v) ?? 0), 0) * 1000, zone);
    }
    const billable = billableText(get('billable_seconds'));
    let answer = time('answer_time', start.ms);
    // answer = end − billable: a call billed 0 s was not answered, and keeps no answer time.
    if (p.columns.answer_time === undefined && end.ms !== null && /^\d+$/.test(billable) && Number(billable) > 0) answer = instantText(end.ms - Number(billable) * 1000, zone);
    if (bad !== null) return reject(path, line, bad.reason, bad.detail, raw);

    let cdrId = get('cdr_id');
    if (seen !== null && cdrId !== '') {
      const n = (seen.get(cdrId) ?? 0) + 1;
      seen.set(cdrId, n);
      cdrId = `${cdrId}#${n}`;
    }
    const record: SourceRecord = {
      source: path,
      line,
      raw,
      cdrId,
      account: get('account'),
      caller: get('caller'),
      callee: get('callee'),
      start: start.text,
      answer: answer.text,
      end: end.text,
      billableSeconds: billable,
      disposition: lookup(p.values.disposition, get('disposition')),
      direction: inboundWhen.length > 0 && inboundWhen.every(holds) ? 'in' : lookup(p.values.direction, get('direction')),
      leg: lookup(p.values.leg, get('leg')),
      forwardReason: lookup(p.values.forward_reason, get('forward_reason')),
      device: get('device'),
    };
    if (l.notes !== undefined) record.notes = l.notes;
    if (p.callee_sent) record.calleeSent = true;
    if (insideWhen.length > 0 && insideWhen.every(holds)) record.internal = true;
    else if (outsideWhen.length > 0 && outsideWhen.every(holds)) record.internal = false;
    return { kind: 'record', record };
  }
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

/** Whether the first lines of a file look like what `profile` describes: its header, or its record shape and time format. */
export function profileMatches(profile: MappingProfile, firstLines: string[]): boolean {
  const skip = profile.skip_lines_matching.map((re) => new RegExp(re));
  const lines = firstLines
    .map((l, i) => (i === 0 ? l.replace(/^\uFEFF/, '') : l).replace(/\r$/, '').replace(/^\f/, ''))
    .slice(profile.skip_lines)
    .filter((l) => l.trim() !== '' && !skip.some((re) => re.test(l)));
  const first = lines[0];
  if (first === undefined) return false;
  const startRef = profile.columns.start_time!;
  const startOf = (cell: (ref: ColumnRef) => string): string => (isSplitTime(startRef) ? `${cell(startRef.date)} ${cell(startRef.time)}` : cell(startRef as ColumnRef)).trim();
  const readsAsTime = (text: string): boolean => compileTimeFormat(profile.time.format)?.(text) != null;
  if (profile.layout === 'fixed') {
    const length = profile.record_length ?? Math.max(...Object.values(profile.fields).map((f) => f.at + f.width - 1));
    if (first.length !== length) return false;
    return readsAsTime(startOf((ref) => first.substr(profile.fields[ref as string]!.at - 1, profile.fields[ref as string]!.width)));
  }
  const fields = Papa.parse<string[]>(first, { delimiter: profile.delimiter, quoteChar: '"' }).data[0] ?? [];
  const refs = Object.values(profile.columns).flatMap((ref) => refsOf(ref));
  if (profile.header) {
    // The first lines come as UTF-8: in an 8-bit export each accented letter reads as U+FFFD, so names are compared with every non-ASCII run as one.
    const eightBit = !/^utf-?8$/i.test(profile.encoding);
    const name = (s: string): string => (eightBit ? s.replace(/[^\x00-\x7f]+/g, '\ufffd') : s).trim().toLowerCase();
    const header = fields.map(name);
    return refs.every((ref) => (typeof ref === 'number' ? ref <= header.length : header.includes(name(ref))));
  }
  if (fields.length < Math.max(...(refs as number[]))) return false;
  return readsAsTime(startOf((ref) => fields[(ref as number) - 1] ?? ''));
}

function reject(source: string, line: number, reason: RejectReason, detail: string, raw: string): ReadItem {
  return { kind: 'reject', reject: { source, line, reason, detail, raw } };
}
