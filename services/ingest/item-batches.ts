/**
 * Readers hand items on in batches: an async generator costs a promise and a turn of the microtask
 * queue per value it yields, at every level it passes through, which for a one-line record cost as
 * much as reading it. Within the readers items move a batch at a time; the one-at-a-time interface
 * (`readExport`, each reader's own function) flattens them once, at the edge.
 */
import type { ReadItem } from './source-record.js';

/** Items one at a time, from batches. */
export async function* oneByOne(batches: AsyncIterable<ReadItem[]>): AsyncGenerator<ReadItem> {
  for await (const batch of batches) for (const item of batch) yield item;
}

/** Items of a reader that yields them one at a time, grouped (what it yields, in its order). */
export async function* grouped(items: AsyncIterable<ReadItem>, size = 2000): AsyncGenerator<ReadItem[]> {
  let batch: ReadItem[] = [];
  for await (const item of items) {
    batch.push(item);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
