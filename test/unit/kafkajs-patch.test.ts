import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

/**
 * kafkajs 2.2.4 grouped a send's messages by partition by copying the partition's whole array for each
 * message: quadratic in the messages of a send, 16 % of a rater's CPU when it published a batch's rated
 * rows. `npm ci` applies patches/kafkajs+2.2.4.patch (patch-package), which appends in place.
 */
type Group = (a: { topic: string; partitionMetadata: unknown[]; messages: { key: string }[]; partitioner: (a: { message: { key: string } }) => number }) => Record<string, { key: string }[]>;
const group = createRequire(import.meta.url)('kafkajs/src/producer/groupMessagesPerPartition.js') as Group;

describe('kafkajs as installed: a send grouped by partition', () => {
  const messages = Array.from({ length: 3000 }, (_, i) => ({ key: `C${i % 7}` }));
  const partitioner = ({ message }: { message: { key: string } }) => Number(message.key.slice(1)) % 4;

  it('keeps every message, in order, in its partition', () => {
    const byPartition = group({ topic: 't', partitionMetadata: [{}, {}, {}, {}], messages, partitioner });
    expect(Object.keys(byPartition).sort()).toEqual(['0', '1', '2', '3']);
    for (const [p, list] of Object.entries(byPartition)) expect(list).toEqual(messages.filter((m) => partitioner({ message: m }) === Number(p)));
  });

  it('walks the messages once, not each partition again for every message (the patch is applied)', () => {
    // Spreading an array walks it with its iterator: count the walks while grouping.
    const original = Array.prototype[Symbol.iterator];
    let walks = 0;
    Array.prototype[Symbol.iterator] = function (this: unknown[]) {
      walks++;
      return original.call(this);
    };
    try {
      group({ topic: 't', partitionMetadata: [{}, {}, {}, {}], messages, partitioner });
    } finally {
      Array.prototype[Symbol.iterator] = original;
    }
    expect(walks).toBeLessThanOrEqual(1);
  });
});
