/**
 * Reads a CSV export as one record per physical line, fields split by papaparse.
 *
 * Why lines first: every switch export we read writes one call per line, and both CSV libraries we
 * measured (papaparse, csv-parse) recover from a stray quote by swallowing every following line into
 * one field. Framing by line bounds the damage of a bad row to that row, which then goes to the
 * rejects with its line number and raw text. Lines are parsed in batches (the fast path); a batch that
 * papaparse does not split cleanly is parsed again line by line to find the culprit.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import Papa from 'papaparse';

export interface CsvLine {
  /** 1-based physical line number in the file. */
  line: number;
  raw: string;
  /** Fields, or null when the line is not valid CSV (unbalanced quotes…). */
  fields: string[] | null;
  error?: string;
}

const BATCH = 2000;

/** Streams the lines of `path` in constant memory, BOM and CRLF removed, empty lines included. */
export async function* readCsvLines(path: string, delimiter = ','): AsyncGenerator<CsvLine[]> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let batch: string[] = [];
  let first = 1;
  let lineNo = 0;
  for await (let text of lines) {
    lineNo++;
    if (lineNo === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    batch.push(text);
    if (batch.length === BATCH) {
      yield parseBatch(batch, first, delimiter);
      first += batch.length;
      batch = [];
    }
  }
  if (batch.length > 0) yield parseBatch(batch, first, delimiter);
}

function parseBatch(lines: string[], first: number, delimiter: string): CsvLine[] {
  const result = Papa.parse<string[]>(lines.join('\n'), { delimiter, newline: '\n', quoteChar: '"' });
  if (result.errors.length === 0 && result.data.length === lines.length) {
    return lines.map((raw, i) => ({ line: first + i, raw, fields: result.data[i]! }));
  }
  return lines.map((raw, i) => parseOne(raw, first + i, delimiter));
}

function parseOne(raw: string, line: number, delimiter: string): CsvLine {
  const result = Papa.parse<string[]>(raw, { delimiter, newline: '\n', quoteChar: '"' });
  if (result.errors.length > 0 || result.data.length !== 1) {
    const message = result.errors[0]?.message ?? 'line does not parse as one CSV record';
    return { line, raw, fields: null, error: message };
  }
  return { line, raw, fields: result.data[0]! };
}
