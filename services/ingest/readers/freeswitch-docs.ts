/**
 * Reader of FreeSWITCH mod_json_cdr and mod_xml_cdr CDRs: one document per channel, as the modules
 * write them to their log-dir (`a_<uuid>.cdr.json` for an A leg, `<uuid>.cdr.json` for a B leg; the
 * same in `.cdr.xml`), several concatenated in one file, or a directory of them read together so that
 * the legs of a call pair across files.
 *
 * A document is the channel's `variables` (switch_ivr_generate_json_cdr / _xml_cdr), plus its
 * `callflow`: the caller profiles, newest first, each with its originator / originatee profiles. The
 * reader gives the shared FreeSWITCH logic (freeswitch-legs.ts) the same "variables by name" view that
 * mod_cdr_csv expands a template with: a channel variable, else a field of the caller profile
 * (`destination_number`, `caller_id_number`…), `bleg_uuid` from the originatee profile. Two choices
 * differ from the template's: `context` is the one the call entered the dialplan in (the oldest
 * profile: an inbound call transferred from `public` to `default` is still inbound), and `originator`
 * names a B leg's A leg.
 *
 * Values: mod_xml_cdr URL-encodes every variable (switch_ivr_set_xml_chan_var); mod_json_cdr does so
 * unless `encode-values` is false, which the stamps show (`2026-02-02%2009%3A00%3A00`).
 * A broken document is one reject naming the file, its line and what is wrong; the others are read.
 */
import { basename } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { IngestLimits } from '../input-limits.js';
import { DEFAULT_INGEST_LIMITS } from '../input-limits.js';
import type { ReadItem, Reject } from '../source-record.js';
import { legRules, type FreeswitchOptions } from './freeswitch-csv.js';
import { splitDocuments, type DocKind, type DocPiece } from './freeswitch-doc-split.js';
import { legFromVariables, type FsVariables } from './freeswitch-legs.js';
import { FsLegPairer } from './freeswitch-pairing.js';

export interface FreeswitchDocOptions extends Omit<FreeswitchOptions, 'template' | 'pairWindow'> {
  /** A leg waits this many documents for the other leg of its call (default 2000; a directory: all of it). */
  pairWindow?: number;
  limits?: IngestLimits;
}

/** Whether the first lines of a file are a FreeSWITCH JSON or XML CDR. */
export function looksFreeswitchDocument(firstLines: string[]): boolean {
  const text = firstLines.join('\n').replace(/^\uFEFF/, '').trimStart();
  if (text.startsWith('{')) return /"(variables|callflow|channel_data|core-uuid)"\s*:/.test(text);
  if (text.startsWith('<?xml')) return /<cdr[\s>]/.test(text);
  return /^<cdr[\s>]/.test(text);
}

/** Reads the documents of these files, in this order, pairing the legs of each call across them. */
export async function* readFreeswitchDocs(paths: readonly string[], opts: FreeswitchDocOptions = {}): AsyncGenerator<ReadItem> {
  const rules = legRules(opts);
  const limits = opts.limits ?? DEFAULT_INGEST_LIMITS;
  // A document is many lines' worth: a real one is 5–50 kB; a megabyte is none.
  const maxDocChars = Math.max(1 << 20, 16 * limits.maxLineBytes);
  const pairer = new FsLegPairer(Math.max(1, opts.pairWindow ?? (paths.length > 1 ? Infinity : 2000)), paths.length > 1);
  let seq = 0;
  for (const path of paths) {
    let documents = 0;
    try {
      for await (const piece of splitDocuments(path, maxDocChars)) {
        documents++;
        if (!piece.ok) {
          yield { kind: 'reject', reject: refused(path, piece, maxDocChars) };
          continue;
        }
        const doc = parseDocument(piece.kind, piece.text, piece.line);
        if (typeof doc === 'string') {
          // The document cannot be read as a CDR at all: no field of it can be trusted.
          yield { kind: 'reject', reject: { source: path, line: piece.line, reason: 'unknown_format', detail: `${where(path, piece.line)} ${doc}; the other documents were read`, raw: piece.text } };
          continue;
        }
        const leg = legFromVariables(path, ++seq, piece.line, piece.text, doc, rules);
        for (const record of pairer.add(leg)) yield { kind: 'record', record };
      }
    } catch (e) {
      yield { kind: 'reject', reject: { source: path, line: 0, reason: 'unknown_format', detail: `${path} cannot be read (${(e as Error).message})`, raw: '' } };
      continue;
    }
    if (documents === 0) yield { kind: 'reject', reject: { source: path, line: 0, reason: 'empty_file', detail: 'the file has no record', raw: '' } };
  }
  for (const record of pairer.flush()) yield { kind: 'record', record };
}

function where(path: string, line: number): string {
  return `the document at line ${line} of ${basename(path)}`;
}

function refused(path: string, p: Extract<DocPiece, { ok: false }>, maxDocChars: number): Reject {
  const what = p.kind === 'xml' ? 'XML' : 'JSON';
  switch (p.problem) {
    case 'too_large':
      return { source: path, line: p.line, reason: 'too_large', detail: `${where(path, p.line)} is ${p.bytes} characters, over the ${maxDocChars} a CDR document may have (16 × max_line_bytes in config/ingest.yaml); only its head is kept here: check the export`, raw: p.text };
    case 'cut_short':
      return { source: path, line: p.line, reason: 'unknown_format', detail: `${where(path, p.line)} is cut short: the ${what} document does not end before the next one or the end of the file (a switch stopped while writing it?); the other documents were read`, raw: p.text };
    case 'stray_text':
      return { source: path, line: p.line, reason: 'unknown_format', detail: `line ${p.line} of ${basename(path)} is not part of a FreeSWITCH CDR document (JSON from mod_json_cdr or XML from mod_xml_cdr): it was skipped; the documents around it were read`, raw: p.text };
  }
}

/** A caller profile's fields, as both modules write them (never URL-encoded). */
type Profile = Record<string, unknown>;

/** The variables view of a document, or what is wrong with it. */
export function parseDocument(kind: DocKind, text: string, line = 1): FsVariables | string {
  return kind === 'json' ? parseJson(text) : parseXml(text, line);
}

function parseJson(text: string): FsVariables | string {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return `is not valid JSON (${(e as Error).message})`;
  }
  if (!isObject(doc) || !isObject(doc.variables)) return 'has no `variables` object: it is not a mod_json_cdr CDR';
  const raw = doc.variables;
  const stamp = `${text1(raw.start_stamp)}${text1(raw.end_stamp)}`;
  const encoded = /%[0-9A-Fa-f]{2}/.test(stamp);
  const callflow = Array.isArray(doc.callflow) ? doc.callflow : isObject(doc.callflow) ? [doc.callflow] : [];
  const profiles = callflow.filter(isObject).map((c) => (isObject(c.caller_profile) ? c.caller_profile : {}));
  return view(raw, encoded, profiles, 'originatee_caller_profiles', 'originator_caller_profiles');
}

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (_name, jpath) => jpath === 'cdr.callflow' || /\.(originatee_caller_profile|originator_caller_profile)$/.test(String(jpath)),
});

function parseXml(text: string, line: number): FsVariables | string {
  const valid = XMLValidator.validate(text);
  if (valid !== true) return `is not well-formed XML (${valid.err.msg.replace(/\.$/, '')}; at line ${line + valid.err.line - 1} of the file)`;
  let doc: unknown;
  try {
    doc = xml.parse(text);
  } catch (e) {
    return `cannot be read as XML (${(e as Error).message})`;
  }
  if (!isObject(doc) || !isObject(doc.cdr)) return 'has no `cdr` element: it is not a mod_xml_cdr CDR';
  const cdr = doc.cdr;
  // An empty <variables/> parses as ''.
  if (!isObject(cdr.variables)) return 'has no `variables` element: it is not a mod_xml_cdr CDR';
  const callflow = Array.isArray(cdr.callflow) ? cdr.callflow : [];
  const profiles = callflow.filter(isObject).map((c) => (isObject(c.caller_profile) ? c.caller_profile : {}));
  return view(cdr.variables, true, profiles, 'originatee_caller_profile', 'originator_caller_profile');
}

/**
 * The variables by name: a channel variable (decoded), else what mod_cdr_csv would expand it to from
 * the newest caller profile, with the exceptions in the header.
 */
function view(variables: Record<string, unknown>, encoded: boolean, profiles: Profile[], originatees: string, originators: string): FsVariables {
  const newest = profiles[0] ?? {};
  const oldest = profiles[profiles.length - 1] ?? {};
  const linked = (profile: Profile, group: 'originatee' | 'originator', list: string): Profile => {
    const g = profile[group];
    const l = isObject(g) ? g[list] : undefined;
    const first: unknown = Array.isArray(l) ? l[0] : l;
    return isObject(first) ? first : {};
  };
  return (name: string): string => {
    const value = decode(text1(variables[name]), encoded);
    if (value !== '') return value;
    switch (name) {
      case 'context':
        return text1(oldest.context) || text1(newest.context);
      case 'channel_name':
        return text1(newest.chan_name);
      case 'bleg_uuid':
        return text1(linked(newest, 'originatee', originatees).uuid);
      case 'originator':
        return text1(linked(newest, 'originator', originators).uuid);
      default:
        return text1(newest[name]);
    }
  };
}

/** A value as text: a string, the first of repeated ones (an XML variable set several times). */
function text1(v: unknown): string {
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return text1(v[0]);
  return '';
}

function decode(v: string, encoded: boolean): string {
  if (!encoded || !v.includes('%')) return v;
  try {
    return decodeURIComponent(v);
  } catch {
    return v; // a lone `%`: the value was not encoded after all
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
