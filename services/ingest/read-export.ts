/** Reads one switch export, whatever its format, as source records and rejects. */
import { readCanonicalCsv } from './canonical-csv.js';
import type { ReadItem } from './source-record.js';

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ReadOptions {}

export function readExport(path: string, _options: ReadOptions): AsyncGenerator<ReadItem> {
  return readCanonicalCsv(path);
}
