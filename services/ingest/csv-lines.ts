/**
 * Reads a CSV export as one record per physical line, fields split at the delimiters or by papaparse.
 *
 * Why lines first: every switch export we read writes one call per line, and both CSV libraries we
 * measured (papaparse, csv-parse) recover from a stray quote by swallowing every following line into
 * one field. Framing by line bounds the damage of a bad row to that row, which then goes to the
 * rejects with its line number and raw text. A line without a quote is split at its delimiters (all
 * CSV would do with it); the lines with quotes are parsed by papaparse in batches, and a batch that
 * papaparse does not split cleanly is parsed again line by line to find the culprit.
 *
 * Before any parsing, each line passes the byte checks of line-bytes.ts and the size limits: a line
 * that is not clean UTF-8 text, or is too long, or holds a field that is too long, comes out `refused`
 * and every reader turns it into a reject of its own (`bad_encoding`, `too_large`).
 *
 * Two things real exports need on top (issue: every export a real PBX writes):
 * - Foreign bytes in a name. A line that is not UTF-8 is still decoded (in the file's declared encoding,
 *   else with U+FFFD for each bad byte) and split; it comes out refused as before, with `mended` saying
 *   which columns hold a replaced byte. A reader that knows those columns are free text (a caller name,
 *   a user field) takes the mended line with `acceptMended` and rates the call; a bad byte in a number,
 *   a time or an id still refuses it. A file in a declared encoding is simply read in it.
 * - Quotes the switch did not escape (`"User 9" <113>` in an unquoted field, `""Name" <1115>"`). A line
 *   papaparse refuses is read again by csv-parse with `relax_quotes`, which keeps such quotes as text;
 *   it is what Python's csv and most spreadsheets do. `quoting: 'strict'` turns this off.
 */
import { parse as parseRelaxed } from 'csv-parse/sync';
import { TextDecoder } from 'node:util';
import Papa from 'papaparse';
import { DEFAULT_INGEST_LIMITS, type IngestLimits } from './input-limits.js';
import { OVERSIZE_HEAD_BYTES, cleanText, frameLines, frameTextLines, lineProblem, storableRaw, type FramedLine } from './line-bytes.js';
import type { ReadItem } from './source-record.js';

export interface CsvLine {
  /** 1-based physical line number in the file. */
  line: number;
  /** The line's text; for a refused line, what `refused.rawEncoding` says. */
  raw: string;
  /** Fields, or null when the line is not valid CSV (unbalanced quotes…) or is refused. */
  fields: string[] | null;
  /** Why the strict CSV parse failed: fields are null, or were read leniently (then `notes` says so). */
  error?: string;
  /** The line is not read at all: not clean text, or over a size limit. */
  refused?: { reason: 'bad_encoding' | 'too_large'; detail: string; rawEncoding?: 'base64' };
  /**
   * A line refused only for bytes that are not UTF-8, as decoded anyway: its text (U+FFFD for each bad
   * byte), fields, and the 0-based columns that hold a replaced byte. See `acceptMended`.
   */
  mended?: { text: string; fields: string[]; columns: number[] };
  /** What reading mended on an accepted line (quotes read as text, a name decoded with replacement). */
  notes?: string[];
}

export interface CsvReadOptions {
  /** The file's encoding when it is not UTF-8 (`windows-1252`, `latin1`, `windows-1251`…: WHATWG labels). */
  encoding?: string;
  /** `lenient` (default): a line with unescaped quotes is read with them kept as text. `strict`: it is refused. */
  quoting?: 'strict' | 'lenient';
}

/** Whether `encoding` is a label the decoder knows, for a message at load time rather than at the first line. */
export function isKnownEncoding(encoding: string): boolean {
  try {
    new TextDecoder(encoding);
    return true;
  } catch {
    return false;
  }
}

const BATCH = 2000;

/** A clean line that holds a quote: papaparse reads it, with the other such lines of its batch. */
type Quoted = { line: number; text: string };

/** Streams the lines of `path` in bounded memory, BOM and CRLF removed, empty lines included. */
export async function* readCsvLines(path: string, delimiter = ',', limits: IngestLimits = DEFAULT_INGEST_LIMITS, options: CsvReadOptions = {}): AsyncGenerator<CsvLine[]> {
  const reading: Reading = { delimiter, limits, lenient: options.quoting !== 'strict', decoder: declaredDecoder(options.encoding) };
  let batch: (CsvLine | Quoted)[] = [];
  // A declared encoding is applied to every line: the UTF-8 screen of whole chunks would read its bytes wrongly.
  const framed = reading.decoder === null ? frameTextLines(path, limits.maxLineBytes) : frameLinesAsBytes(path, limits.maxLineBytes);
  for await (const { firstLine, lines } of framed) {
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i]!;
      batch.push(typeof l === 'string' ? textLine(firstLine + i, l, reading) : screenLine(l, reading));
      if (batch.length === BATCH) {
        yield parseBatch(batch, reading);
        batch = [];
      }
    }
  }
  if (batch.length > 0) yield parseBatch(batch, reading);
}

/**
 * The mended line as an accepted one when every column holding a replaced byte is one the reader
 * calls free text; the line as it came (refused) otherwise.
 */
export function acceptMended(l: CsvLine, isFreeText: (column: number) => boolean, describe: (column: number) => string = (c) => `column ${c + 1}`): CsvLine {
  if (l.mended === undefined || !l.mended.columns.every(isFreeText)) return l;
  const where = l.mended.columns.map(describe).join(', ');
  return { line: l.line, raw: l.mended.text, fields: l.mended.fields, notes: [...(l.notes ?? []), `${where} not UTF-8: decoded with replacement characters (declare the export's encoding to read it exactly)`] };
}

interface Reading {
  delimiter: string;
  limits: IngestLimits;
  lenient: boolean;
  /** The declared encoding's decoder; null for UTF-8. */
  decoder: TextDecoder | null;
}

function declaredDecoder(encoding: string | undefined): TextDecoder | null {
  if (encoding === undefined || /^utf-?8$/i.test(encoding)) return null;
  return new TextDecoder(encoding);
}

async function* frameLinesAsBytes(path: string, maxLineBytes: number): AsyncGenerator<{ firstLine: number; lines: FramedLine[] }> {
  for await (const lines of frameLines(path, maxLineBytes)) if (lines.length > 0) yield { firstLine: lines[0]!.line, lines };
}

/**
 * A line of clean text. Without a quote, CSV has nothing to unescape and its fields are the text
 * between delimiters: what papaparse itself does for such input (its "fast mode"), without building
 * a batch string for it. A line with a quote is left for papaparse.
 */
function textLine(line: number, text: string, reading: Reading): CsvLine | Quoted {
  if (text.indexOf('"') >= 0) return { line, text };
  return withinFieldLimit({ line, raw: text, fields: text.split(reading.delimiter) }, reading.limits);
}

/** The reject of a refused line, as every reader yields it. */
export function refusedItem(source: string, l: CsvLine): ReadItem {
  const r = l.refused!;
  return { kind: 'reject', reject: { source, line: l.line, reason: r.reason, detail: r.detail, raw: l.raw, ...(r.rawEncoding ? { rawEncoding: r.rawEncoding } : {}) } };
}

/** A refused header line: without it no line of the file can be read, so the file is this one reject. */
export function refusedHeaderItem(source: string, l: CsvLine): ReadItem {
  const r = l.refused!;
  const detail = `the header line cannot be read (${r.reason}): ${r.detail}; no line of the file is read until the header is fixed`;
  return { kind: 'reject', reject: { source, line: l.line, reason: 'bad_header', detail, raw: l.raw, ...(r.rawEncoding ? { rawEncoding: r.rawEncoding } : {}) } };
}

function screenLine(f: FramedLine, reading: Reading): CsvLine | Quoted {
  const { delimiter, limits } = reading;
  if (f.oversize !== undefined) {
    const detail =
      `the line is ${f.oversize.length} bytes, over the limit of ${limits.maxLineBytes} (max_line_bytes in config/ingest.yaml); ` +
      `it starts at byte ${f.offset} of the file and only its first ${OVERSIZE_HEAD_BYTES} bytes are kept here: check the export ` +
      `(a file with CR-only line ends, or a runaway field) and rate it again`;
    const kept = storableRaw(f.bytes.subarray(0, OVERSIZE_HEAD_BYTES));
    return { line: f.line, raw: kept.raw, fields: null, refused: { reason: 'too_large', detail, ...(kept.rawEncoding ? { rawEncoding: kept.rawEncoding } : {}) } };
  }
  const text = reading.decoder === null ? cleanText(f.bytes) : controlFree(reading.decoder.decode(f.bytes));
  if (text !== null) return textLine(f.line, text, reading);
  const problem = lineProblem(f.bytes, delimiter) ?? 'not clean text';
  const refused: CsvLine = { line: f.line, raw: f.bytes.toString('base64'), fields: null, refused: { reason: 'bad_encoding', detail: `${problem}; the line is kept in base64 (raw_encoding base64)`, rawEncoding: 'base64' } };
  return withMended(refused, f.bytes, reading);
}

/** Control bytes refuse a line in any encoding: they are never part of a record. */
function controlFree(text: string): string | null {
  return /[\x00-\x08\x0a-\x1f\x7f]/.test(text) ? null : text;
}

/** A line refused only for invalid UTF-8 (no control byte, no field over the limit), decoded with U+FFFD and split. */
function withMended(refused: CsvLine, bytes: Buffer, reading: Reading): CsvLine {
  const text = new TextDecoder('utf-8').decode(bytes);
  if (controlFree(text) === null) return refused;
  const parsed = parseLine(text, refused.line, reading);
  if (parsed.fields === null || withinFieldLimit(parsed, reading.limits).refused !== undefined) return refused;
  const columns = parsed.fields.flatMap((f, i) => (f.includes('\uFFFD') ? [i] : []));
  return { ...refused, mended: { text, fields: parsed.fields, columns } };
}

function parseBatch(items: (CsvLine | Quoted)[], reading: Reading): CsvLine[] {
  const quoted = items.filter((i): i is Quoted => !('fields' in i));
  const parsed = quoted.length === 0 ? [] : parseClean(quoted, reading);
  let k = 0;
  return items.map((i) => ('fields' in i ? i : withinFieldLimit(parsed[k++]!, reading.limits)));
}

function parseClean(lines: Quoted[], reading: Reading): CsvLine[] {
  if (lines.length === 0) return [];
  const result = Papa.parse<string[]>(lines.map((l) => l.text).join('\n'), { delimiter: reading.delimiter, newline: '\n', quoteChar: '"' });
  if (result.errors.length === 0 && result.data.length === lines.length) {
    return lines.map((l, i) => ({ line: l.line, raw: l.text, fields: result.data[i]! }));
  }
  return lines.map((l) => parseLine(l.text, l.line, reading));
}

function parseLine(raw: string, line: number, reading: Reading): CsvLine {
  const result = Papa.parse<string[]>(raw, { delimiter: reading.delimiter, newline: '\n', quoteChar: '"' });
  if (result.errors.length === 0 && result.data.length === 1) return { line, raw, fields: result.data[0]! };
  const message = result.errors[0]?.message ?? 'line does not parse as one CSV record';
  const relaxed = reading.lenient ? relaxedFields(raw, reading.delimiter) : null;
  if (relaxed === null) return { line, raw, fields: null, error: message };
  return { line, raw, fields: relaxed, error: message, notes: ['quotes inside a field that the switch did not escape were read as text'] };
}

/** The fields of one line of text as the readers split it (unescaped quotes read as text), or null when it is not CSV. */
export function splitCsvLine(text: string, delimiter = ','): string[] | null {
  return parseLine(text, 0, { delimiter, limits: DEFAULT_INGEST_LIMITS, lenient: true, decoder: null }).fields;
}

/**
 * The fields of a line written by a writer that wraps a field in quotes when it holds the delimiter but
 * does not escape the quotes inside (FreePBX's CDR Reports download: `""Martin, Alice" <101>"`), which
 * no CSV reading recovers. Null when the line has no such field. A reader tries it only when the lenient
 * reading gives the wrong number of columns, and keeps it only when it gives the right one.
 */
export function splitUnescapedWrapped(raw: string, delimiter = ','): string[] | null {
  const parts = raw.split(delimiter);
  const fields: string[] = [];
  let wrapped = false;
  for (let i = 0; i < parts.length; i++) {
    let field = parts[i]!;
    if (field.startsWith('"') && !(field.length > 1 && field.endsWith('"'))) {
      let j = i;
      while (j + 1 < parts.length && !parts[j]!.endsWith('"')) field += delimiter + parts[++j]!;
      if (!field.endsWith('"')) return null;
      i = j;
      wrapped = true;
    }
    fields.push(field.length > 1 && field.startsWith('"') && field.endsWith('"') ? field.slice(1, -1) : field);
  }
  return wrapped ? fields : null;
}

/** csv-parse with relax_quotes: a quote that does not open or close a field is text. Null when even that fails (a quote never closed). */
function relaxedFields(raw: string, delimiter: string): string[] | null {
  try {
    const rows = parseRelaxed(raw, { delimiter, relax_quotes: true, relax_column_count: true, record_delimiter: '\n' }) as string[][];
    return rows.length === 1 ? rows[0]! : null;
  } catch {
    return null;
  }
}

/** A line can only hold a long field if it is long itself: the common case costs one comparison. */
function withinFieldLimit(l: CsvLine, limits: IngestLimits): CsvLine {
  if (l.fields === null || l.raw.length <= limits.maxFieldBytes / 3) return l;
  for (let i = 0; i < l.fields.length; i++) {
    const f = l.fields[i]!;
    if (f.length * 3 <= limits.maxFieldBytes) continue;
    const bytes = Buffer.byteLength(f, 'utf8');
    if (bytes > limits.maxFieldBytes) {
      const detail = `column ${i + 1} is ${bytes} bytes, over the limit of ${limits.maxFieldBytes} (max_field_bytes in config/ingest.yaml): no CDR field is that long; check the export`;
      return { line: l.line, raw: l.raw, fields: null, refused: { reason: 'too_large', detail } };
    }
  }
  return l;
}
