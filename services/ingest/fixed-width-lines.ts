/**
 * Reads a fixed-width export (the SMDR of hardware PBXs, Alcatel-Lucent OXE tickets) as the same `CsvLine`
 * batches as readCsvLines, each field cut at the columns the vendor's manual prints (1-based first column
 * and width), so that a mapping profile reads it like a CSV file with a header.
 *
 * Why a module of its own: position is the only framing such a line has, so a line of another length
 * cannot be read at all (every field after the missing or extra character would shift) and is handed on
 * with the reason instead of fields. Bytes are checked as in readCsvLines: a line that is not clean text
 * in the declared encoding, or too long, comes out `refused`. Fields keep their blanks; the profile trims.
 */
import { DEFAULT_INGEST_LIMITS, type IngestLimits } from './input-limits.js';
import type { CsvLine } from './csv-lines.js';
import { OVERSIZE_HEAD_BYTES, cleanText, frameLines, lineProblem, storableRaw, type FramedLine } from './line-bytes.js';

export interface FixedWidthLayout {
  /** In record order: a field starts at column `at` (1 = first character) and is `width` characters wide. */
  fields: { at: number; width: number }[];
  /** Every record is this many characters (line end excluded); default: the end of the last field. */
  recordLength?: number;
  /** The bytes' encoding: utf-8 (default), windows-1252, latin1… */
  encoding?: string;
}

const BATCH = 2000;
const UTF8 = /^utf-?8$/i;

/** Streams the lines of `path` in bounded memory, LF or CRLF removed, blank lines included (raw ''). */
export async function* readFixedWidthLines(path: string, layout: FixedWidthLayout, limits: IngestLimits = DEFAULT_INGEST_LIMITS): AsyncGenerator<CsvLine[]> {
  const length = layout.recordLength ?? Math.max(...layout.fields.map((f) => f.at + f.width - 1));
  const encoding = layout.encoding ?? 'utf-8';
  const decode = decoderFor(encoding);
  let batch: CsvLine[] = [];
  for await (const framed of frameLines(path, limits.maxLineBytes)) {
    for (const f of framed) {
      batch.push(cut(f, layout, length, encoding, decode, limits));
      if (batch.length === BATCH) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length > 0) yield batch;
}

function cut(f: FramedLine, layout: FixedWidthLayout, length: number, encoding: string, decode: (bytes: Buffer) => string | null, limits: IngestLimits): CsvLine {
  if (f.oversize !== undefined) {
    const detail = `the line is ${f.oversize.length} bytes, over the limit of ${limits.maxLineBytes} (max_line_bytes in config/ingest.yaml); a fixed-width record is ${length} characters: check the export (CR-only line ends?)`;
    const kept = storableRaw(f.bytes.subarray(0, OVERSIZE_HEAD_BYTES));
    return { line: f.line, raw: kept.raw, fields: null, refused: { reason: 'too_large', detail, ...(kept.rawEncoding ? { rawEncoding: kept.rawEncoding } : {}) } };
  }
  const bytes = f.bytes.length > 0 && f.bytes[0] === 0x0c ? f.bytes.subarray(1) : f.bytes; // a form feed starts a printer page
  const text = decode(bytes);
  if (text === null) {
    const problem = (UTF8.test(encoding) ? lineProblem(bytes, '\t') : null) ?? `not clean ${encoding} text (a byte the encoding lacks, or a control character)`;
    return { line: f.line, raw: bytes.toString('base64'), fields: null, refused: { reason: 'bad_encoding', detail: `${problem}; the line is kept in base64 (raw_encoding base64)`, rawEncoding: 'base64' } };
  }
  if (text.trim() === '') return { line: f.line, raw: '', fields: [] };
  if (text.length !== length) {
    const error = `${text.length} characters where every record of this layout has ${length}: a field cut off or shifted cannot be read by position; check the capture (trailing blanks stripped, a line split or joined)`;
    return { line: f.line, raw: text, fields: null, error };
  }
  return { line: f.line, raw: text, fields: layout.fields.map((fl) => text.slice(fl.at - 1, fl.at - 1 + fl.width)) };
}

/** Text of a line in `encoding`, or null when it is not clean text (invalid bytes, control characters). */
function decoderFor(encoding: string): (bytes: Buffer) => string | null {
  if (UTF8.test(encoding)) return cleanText;
  const decoder = new TextDecoder(encoding, { fatal: true });
  return (bytes) => {
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      return null;
    }
    return /[\x00-\x08\x0a-\x1f\x7f]/.test(text) ? null : text;
  };
}
