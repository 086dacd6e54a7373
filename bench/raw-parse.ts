/**
 * The parsing limit of this machine: how fast the best streaming CSV parsers count the rows of the
 * workload's files, doing nothing with them. The embedded figures are ratios to the faster of the two.
 */
import { createReadStream } from 'node:fs';
import Papa from 'papaparse';
import { inferSchema, initParser, type Parser } from 'udsv';

export interface ParseRate {
  name: string;
  rows: number;
  seconds: number;
  perSecond: number;
}

/** Data rows per file (header excluded), by uDSV; also used to know each day's CDR count. */
export async function countUdsv(file: string): Promise<number> {
  let rows = 0;
  let parser: Parser | null = null;
  for await (const block of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    parser ??= initParser(inferSchema(block as string));
    parser.chunk<string[]>(block as string, parser.stringArrs, () => void rows++);
  }
  parser?.end();
  return rows;
}

/** Data rows of one file by papaparse's Node stream (header excluded). */
export function countPapa(file: string): Promise<number> {
  let rows = 0;
  return new Promise((resolve, reject) => {
    Papa.parse(createReadStream(file), { skipEmptyLines: true, step: () => void rows++, complete: () => resolve(rows - 1), error: reject });
  });
}

export async function parseRate(name: string, files: string[], count: (file: string) => Promise<number>): Promise<ParseRate> {
  const started = performance.now();
  let rows = 0;
  for (const f of files) rows += await count(f);
  const seconds = (performance.now() - started) / 1000;
  return { name, rows, seconds, perSecond: rows / seconds };
}
