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
 */
import Papa from 'papaparse';
import { DEFAULT_INGEST_LIMITS, type IngestLimits } from './input-limits.js';
import { OVERSIZE_HEAD_BYTES, cleanText, frameTextLines, lineProblem, storableRaw, type FramedLine } from './line-bytes.js';
import type { ReadItem } from './source-record.js';

export interface CsvLine {
  /** 1-based physical line number in the file. */
  line: number;
  /** The line's text; for a refused line, what `refused.rawEncoding` says. */
  raw: string;
  /** Fields, or null when the line is not valid CSV (unbalanced quotes…) or is refused. */
  fields: string[] | null;
  error?: string;
  /** The line is not read at all: not clean text, or over a size limit. */
  refused?: { reason: 'bad_encoding' | 'too_large'; detail: string; rawEncoding?: 'base64' };
}

const BATCH = 2000;

/** A clean line that holds a quote: papaparse reads it, with the other such lines of its batch. */
type Quoted = { line: number; text: string };

/** Streams the lines of `path` in bounded memory, BOM and CRLF removed, empty lines included. */
export async function* readCsvLines(path: string, delimiter = ',', limits: IngestLimits = DEFAULT_INGEST_LIMITS): AsyncGenerator<CsvLine[]> {
  let batch: (CsvLine | Quoted)[] = [];
  for await (const { firstLine, lines } of frameTextLines(path, limits.maxLineBytes)) {
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i]!;
      batch.push(typeof l === 'string' ? textLine(firstLine + i, l, delimiter, limits) : screenLine(l, delimiter, limits));
      if (batch.length === BATCH) {
        yield parseBatch(batch, delimiter, limits);
        batch = [];
      }
    }
  }
  if (batch.length > 0) yield parseBatch(batch, delimiter, limits);
}

/**
 * A line of clean text. Without a quote, CSV has nothing to unescape and its fields are the text
 * between delimiters: what papaparse itself does for such input (its "fast mode"), without building
 * a batch string for it. A line with a quote is left for papaparse.
 */
function textLine(line: number, text: string, delimiter: string, limits: IngestLimits): CsvLine | Quoted {
  if (text.indexOf('"') >= 0) return { line, text };
  return withinFieldLimit({ line, raw: text, fields: text.split(delimiter) }, limits);
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

function screenLine(f: FramedLine, delimiter: string, limits: IngestLimits): CsvLine | Quoted {
  if (f.oversize !== undefined) {
    const detail =
      `the line is ${f.oversize.length} bytes, over the limit of ${limits.maxLineBytes} (max_line_bytes in config/ingest.yaml); ` +
      `it starts at byte ${f.offset} of the file and only its first ${OVERSIZE_HEAD_BYTES} bytes are kept here: check the export ` +
      `(a file with CR-only line ends, or a runaway field) and rate it again`;
    const kept = storableRaw(f.bytes.subarray(0, OVERSIZE_HEAD_BYTES));
    return { line: f.line, raw: kept.raw, fields: null, refused: { reason: 'too_large', detail, ...(kept.rawEncoding ? { rawEncoding: kept.rawEncoding } : {}) } };
  }
  const text = cleanText(f.bytes);
  if (text !== null) return textLine(f.line, text, delimiter, limits);
  const problem = lineProblem(f.bytes, delimiter) ?? 'not clean text';
  return { line: f.line, raw: f.bytes.toString('base64'), fields: null, refused: { reason: 'bad_encoding', detail: `${problem}; the line is kept in base64 (raw_encoding base64)`, rawEncoding: 'base64' } };
}

function parseBatch(items: (CsvLine | Quoted)[], delimiter: string, limits: IngestLimits): CsvLine[] {
  const quoted = items.filter((i): i is Quoted => !('fields' in i));
  const parsed = quoted.length === 0 ? [] : parseClean(quoted, delimiter);
  let k = 0;
  return items.map((i) => ('fields' in i ? i : withinFieldLimit(parsed[k++]!, limits)));
}

function parseClean(lines: Quoted[], delimiter: string): CsvLine[] {
  if (lines.length === 0) return [];
  const result = Papa.parse<string[]>(lines.map((l) => l.text).join('\n'), { delimiter, newline: '\n', quoteChar: '"' });
  if (result.errors.length === 0 && result.data.length === lines.length) {
    return lines.map((l, i) => ({ line: l.line, raw: l.text, fields: result.data[i]! }));
  }
  return lines.map((l) => parseOne(l.text, l.line, delimiter));
}

function parseOne(raw: string, line: number, delimiter: string): CsvLine {
  const result = Papa.parse<string[]>(raw, { delimiter, newline: '\n', quoteChar: '"' });
  if (result.errors.length > 0 || result.data.length !== 1) {
    const message = result.errors[0]?.message ?? 'line does not parse as one CSV record';
    return { line, raw, fields: null, error: message };
  }
  return { line, raw, fields: result.data[0]! };
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
