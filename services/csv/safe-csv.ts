/**
 * The one CSV writer for the files people open: rated.csv, adjustments.csv, rejected.csv.
 *
 * Two rules, applied to every field:
 * - Formula neutralising (OWASP "CSV injection"): a field that starts with `=`, `+`, `-`, `@`, TAB or
 *   CR would be run as a formula by a spreadsheet, so it is written with a single quote `'` in front.
 *   Two kinds of column are exempt because their values cannot be formulas and the quote would spoil
 *   them: `phone` columns keep a leading `+` when the rest is digits (an E.164 number, `+33612345678`),
 *   `amount` columns keep a leading `-` when the rest is a decimal number (`-1.2500`).
 * - RFC 4180 quoting: a field holding `"`, `,`, LF or CR is enclosed in double quotes, inner quotes doubled.
 *
 * A plain function, not a library call per row: rated.csv has a million rows and this is on its path.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { utf8Bytes } from './text-bytes.js';

export type CsvColumnKind = 'text' | 'phone' | 'amount';

export interface CsvLineOptions {
  /** Kind of each column by position; absent or `text`: the full rule applies. */
  kinds?: readonly CsvColumnKind[];
}

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\n\r]/;
const E164 = /^\+\d+$/;
const SIGNED_DECIMAL = /^-\d+(\.\d+)?$/;

/** Either rule may apply: most fields match neither, and are written as they are after this one test. */
const NEEDS_CARE = /^[=+\-@\t\r]|[",\n\r]/;

/** One field, neutralised and quoted. */
export function csvField(value: string, kind: CsvColumnKind = 'text'): string {
  if (!NEEDS_CARE.test(value)) return value;
  let v = value;
  if (v.length > 0 && FORMULA_START.test(v)) {
    const exempt = (kind === 'phone' && E164.test(v)) || (kind === 'amount' && SIGNED_DECIMAL.test(v));
    if (!exempt) v = `'${v}`;
  }
  return NEEDS_QUOTES.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** One record, fields joined by commas, with its LF. */
export function csvLine(fields: readonly string[], opts: CsvLineOptions = {}): string {
  const kinds = opts.kinds;
  // Joined, not grown field by field: a grown line is a rope that each later copy must walk again.
  const safe = new Array<string>(fields.length);
  for (let i = 0; i < fields.length; i++) safe[i] = csvField(fields[i]!, kinds?.[i] ?? 'text');
  return safe.join(',') + '\n';
}

/** Characters buffered before a write to the file. */
const FLUSH_AT = 1 << 20;

/** A CSV file written in large chunks with the stream's backpressure honoured; header first. */
export class SafeCsvWriter {
  private readonly out: WriteStream;
  private readonly kinds: readonly CsvColumnKind[];
  /**
   * Lines waiting for the file, joined once per write: a string grown line by line is a rope of
   * thousands of pieces, and turning it into bytes cost more than making the lines (7 of the 12 s that
   * the whole month's rated.csv took on the ledger's writer thread).
   */
  private lines: string[] = [];
  private buffered = 0;
  private error: Error | null = null;

  /** `kinds` names the exempt columns (see the module comment); every other column is `text`. */
  constructor(path: string, readonly columns: readonly string[], kinds: Readonly<Record<string, CsvColumnKind>> = {}) {
    this.kinds = columns.map((c) => kinds[c] ?? 'text');
    this.out = createWriteStream(path, { encoding: 'utf8' });
    this.out.on('error', (e) => {
      this.error ??= e;
    });
    this.add(columns);
  }

  /** One row, fields in the order of `columns`. */
  async write(fields: readonly string[]): Promise<void> {
    this.add(fields);
    if (this.buffered >= FLUSH_AT) await this.flush();
  }

  /** Rows, in order: one wait for the file at most, not one a row. */
  async writeAll(rows: Iterable<readonly string[]>): Promise<void> {
    for (const fields of rows) this.add(fields);
    if (this.buffered >= FLUSH_AT) await this.flush();
  }

  async close(): Promise<void> {
    await this.flush();
    this.out.end();
    // `finished` settles on a stream that already failed too (a full disk, a folder gone): waiting for
    // 'finish' there would wait for ever, and with it the run.
    await finished(this.out);
    if (this.error) throw this.error;
  }

  private add(fields: readonly string[]): void {
    const line = csvLine(fields, { kinds: this.kinds });
    this.lines.push(line);
    this.buffered += line.length;
  }

  private async flush(): Promise<void> {
    if (this.error) throw this.error;
    if (this.lines.length === 0) return;
    const chunk = this.lines.join('');
    this.lines = [];
    this.buffered = 0;
    if (!this.out.write(utf8Bytes(chunk))) await once(this.out, 'drain');
  }
}
