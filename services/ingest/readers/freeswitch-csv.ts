/**
 * Reader of FreeSWITCH mod_cdr_csv files. Their columns are whatever the template in
 * cdr_csv.conf.xml says, so the reader is driven by that template: the shipped `example` one unless the
 * user passes their own (a template file, or the cdr_csv.conf.xml itself).
 *
 * mod_cdr_csv expands `${variable}` into the template without escaping quotes, so a caller name with
 * a `"` in it yields a line that is not valid CSV; when every column of the template is quoted, lines
 * are split on the template's own `","` separators (see splitFreeswitchLine).
 *
 * A line is a view of the channel's variables by name (its template says which column holds which):
 * what they mean about the call, and how the legs of one call pair, is freeswitch-legs.ts and
 * freeswitch-pairing.ts, shared with the JSON and XML documents of mod_json_cdr / mod_xml_cdr.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../config/config-error.js';
import { acceptMended, readCsvLines, refusedItem } from '../csv-lines.js';
import type { IngestLimits } from '../input-limits.js';
import type { ReadItem, RejectReason } from '../source-record.js';
import { DEFAULT_ACCOUNT_FROM, FREESWITCH_DEFAULT_TRUNKS, FREESWITCH_INBOUND_CONTEXT, legFromVariables, type FsAccountSource, type FsLegRules } from './freeswitch-legs.js';
import { FsLegPairer } from './freeswitch-pairing.js';

/** The `example` template shipped in FreeSWITCH's vanilla cdr_csv.conf.xml. */
export const FREESWITCH_EXAMPLE_TEMPLATE =
  '"${caller_id_name}","${caller_id_number}","${destination_number}","${context}","${start_stamp}","${answer_stamp}","${end_stamp}","${duration}","${billsec}","${hangup_cause}","${uuid}","${bleg_uuid}","${accountcode}","${read_codec}","${write_codec}"';

export interface FreeswitchTemplate {
  /** Where it came from, for messages. */
  name: string;
  /** Variable of each column; null for a column that is not a plain `${variable}`. */
  columns: (string | null)[];
  /** Every column is written between quotes: lines can be split on `","`. */
  allQuoted: boolean;
}

export interface FreeswitchOptions {
  template?: FreeswitchTemplate;
  /** The stamps were written in UTC (a server running in UTC that should say so). */
  utc?: boolean;
  /** Dialplan contexts of calls from the network (FreeSWITCH's vanilla one is `public`). */
  inboundContext?: RegExp;
  /** Gateways and sofia profiles that are trunks, matched against the bridge target and channel name. */
  trunks?: RegExp;
  /** Where the account comes from, first non-empty wins (default accountcode, channel, src). */
  accountFrom?: readonly FsAccountSource[];
  /** A record waits this many lines for the other leg of its call. */
  pairWindow?: number;
  limits?: IngestLimits;
  /** The file's encoding when it is not UTF-8 (WHATWG label). */
  encoding?: string;
}

export { FREESWITCH_DEFAULT_TRUNKS, FREESWITCH_INBOUND_CONTEXT, diversionNumber, diversionReason, dispositionOf } from './freeswitch-legs.js';
const DEFAULT_PAIR_WINDOW = 2000;

/** The rules of a reader's options, with the defaults. */
export function legRules(opts: Pick<FreeswitchOptions, 'utc' | 'inboundContext' | 'trunks' | 'accountFrom'>): FsLegRules {
  return {
    utc: opts.utc === true,
    inbound: opts.inboundContext ?? FREESWITCH_INBOUND_CONTEXT,
    trunks: opts.trunks ?? FREESWITCH_DEFAULT_TRUNKS,
    accountFrom: opts.accountFrom ?? DEFAULT_ACCOUNT_FROM,
  };
}

export function parseFreeswitchTemplate(text: string, name: string): FreeswitchTemplate {
  const cells = splitTemplate(text.trim());
  const columns = cells.map((c) => {
    const m = /^"?\s*\$\{([A-Za-z0-9_-]+)\}\s*"?$/.exec(c.trim());
    return m ? m[1]!.toLowerCase() : null;
  });
  const allQuoted = cells.every((c) => /^".*"$/s.test(c.trim()));
  const has = (v: string): boolean => columns.includes(v);
  const missing = [
    has('destination_number') ? '' : '${destination_number}',
    has('start_stamp') || has('start_epoch') ? '' : '${start_stamp}',
    has('end_stamp') || has('end_epoch') ? '' : '${end_stamp}',
    has('accountcode') || has('caller_id_number') ? '' : '${accountcode} or ${caller_id_number}',
  ].filter((m) => m !== '');
  if (missing.length > 0) throw new ConfigError(name, 'template', `lacks ${missing.join(', ')}: its records cannot be billed`);
  return { name, columns, allQuoted };
}

/**
 * Loads a template file: either the template line itself, or a cdr_csv.conf.xml from which the
 * template named after `#` (else the `default-template` setting, else `example`) is taken.
 */
export function loadFreeswitchTemplate(spec: string): FreeswitchTemplate {
  const hash = spec.lastIndexOf('#');
  const path = hash > 0 ? spec.slice(0, hash) : spec;
  const wanted = hash > 0 ? spec.slice(hash + 1) : '';
  let text: string;
  try {
    text = readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  } catch (e) {
    throw new ConfigError(path, 'file', `cannot be read (${(e as Error).message})`);
  }
  if (!/<template\b/i.test(text)) return parseFreeswitchTemplate(text, path);
  const templates = new Map<string, string>();
  for (const m of text.matchAll(/<template\s+name\s*=\s*"([^"]+)"\s*>([\s\S]*?)<\/template>/gi)) templates.set(m[1]!, decodeXml(m[2]!));
  const configured = /<param\s+name\s*=\s*"default-template"\s+value\s*=\s*"([^"]+)"/i.exec(text)?.[1];
  const name = wanted || configured || 'example';
  const template = templates.get(name);
  if (template === undefined) {
    throw new ConfigError(path, `template ${name}`, `not found; the file defines ${[...templates.keys()].join(', ') || 'no template'}`);
  }
  return parseFreeswitchTemplate(template, `${path}#${name}`);
}

export const FREESWITCH_DEFAULT_TEMPLATE = parseFreeswitchTemplate(FREESWITCH_EXAMPLE_TEMPLATE, 'FreeSWITCH example template');

function decodeXml(s: string): string {
  return s.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** Splits a template on the commas between its cells (commas inside quotes belong to the cell). */
function splitTemplate(t: string): string[] {
  const cells: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of t) {
    if (ch === '"') quoted = !quoted;
    if (ch === ',' && !quoted) {
      cells.push(cur);
      cur = '';
    } else cur += ch;
  }
  cells.push(cur);
  return cells;
}

/**
 * Fields of one line. mod_cdr_csv writes values between the template's quotes without escaping them,
 * so when every column is quoted the template's own `","` separators are the true field boundaries
 * (papaparse would keep the quotes of a `, "…"` cell, and fail on a caller name with a quote).
 * Otherwise, or when a value itself contains `","`, papaparse's split is used if it has the right width.
 */
export function splitFreeswitchLine(raw: string, fields: string[] | null, template: FreeswitchTemplate): string[] | null {
  const width = template.columns.length;
  if (template.allQuoted) {
    const t = raw.trim();
    if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) {
      const parts = t.slice(1, -1).split(/"\s*,\s*"/);
      if (parts.length === width) return parts;
    }
  }
  return fields !== null && fields.length === width ? fields : null;
}

export async function* readFreeswitchCsv(path: string, opts: FreeswitchOptions = {}): AsyncGenerator<ReadItem> {
  const template = opts.template ?? FREESWITCH_DEFAULT_TEMPLATE;
  const rules = legRules(opts);
  const index = new Map<string, number>();
  template.columns.forEach((v, i) => {
    if (v !== null && !index.has(v)) index.set(v, i);
  });
  // Without ids to pair on, every line is a call of its own.
  const pairable = index.has('uuid') && (index.has('bleg_uuid') || index.has('originator'));
  const pairer = new FsLegPairer(Math.max(1, opts.pairWindow ?? DEFAULT_PAIR_WINDOW));
  let sawLine = false;

  // Caller names (caller_id_name, effective_caller_id_name…) are free text: a foreign byte there refuses no call.
  const isName = (c: number): boolean => /(^|_)name$/.test(template.columns[c] ?? '');
  for await (const batch of readCsvLines(path, ',', opts.limits, { encoding: opts.encoding })) {
    for (const read of batch) {
      const l = acceptMended(read, isName);
      const { line, raw, fields, error } = l;
      if (raw.trim() === '') continue;
      sawLine = true;
      if (l.refused) {
        yield refusedItem(path, l);
        continue;
      }
      const cells = splitFreeswitchLine(raw, fields, template);
      if (cells === null) {
        const reason: RejectReason = fields === null ? 'malformed_csv' : 'column_count';
        const detail =
          fields === null
            ? `${error ?? 'not valid CSV'}; the line does not split into the ${template.columns.length} columns of ${template.name} either`
            : `${fields.length} columns where ${template.name} has ${template.columns.length}; pass the template the switch uses`;
        yield { kind: 'reject', reject: { source: path, line, reason, detail, raw } };
        continue;
      }
      const get = (v: string): string => {
        const i = index.get(v);
        return i === undefined ? '' : (cells[i] ?? '').trim();
      };
      const leg = legFromVariables(path, line, line, raw, get, rules);
      if (l.notes !== undefined) leg.record.notes = l.notes;
      if (!pairable) {
        yield { kind: 'record', record: leg.record };
        continue;
      }
      for (const record of pairer.add(leg)) yield { kind: 'record', record };
    }
  }
  for (const record of pairer.flush()) yield { kind: 'record', record };
  if (!sawLine) yield { kind: 'reject', reject: { source: path, line: 0, reason: 'empty_file', detail: 'the file has no record', raw: '' } };
}
