/**
 * Producing within the broker's size limit. A broker refuses a record batch over `message.max.bytes`
 * (1 MB by default), and a produce request holds one batch per partition: records keyed by client go to
 * one partition, so one busy client (a dialler's 12,000 setups in a day) fills a batch alone. Requests
 * are cut so that all their records together stay under the limit, whatever the split among partitions,
 * and as few requests as that allows are sent: each waits for every in-sync replica's acknowledgement.
 */
import type { Message, Producer, TopicMessages } from 'kafkajs';

/** Bytes of records per produce request: under the broker's 1 MB, whatever the split among partitions. */
export const REQUEST_BYTES = 768 * 1024;
/** What a record costs beyond its key and value (headers, lengths, timestamps), generously. */
const RECORD_OVERHEAD = 64;

function sizeOf(v: Buffer | string | null | undefined): number {
  return v === null || v === undefined ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length;
}

/** Sends every message, every topic together, acknowledged by all in-sync replicas, in requests under `maxBytes`. */
export async function sendBounded(producer: Producer, topicMessages: TopicMessages[], maxBytes = REQUEST_BYTES): Promise<void> {
  let request: TopicMessages[] = [];
  let bytes = 0;
  const send = async () => {
    if (request.length > 0) await producer.sendBatch({ topicMessages: request, acks: -1 });
    [request, bytes] = [[], 0];
  };
  for (const { topic, messages } of topicMessages) {
    let part: Message[] = [];
    for (const m of messages) {
      const size = RECORD_OVERHEAD + sizeOf(m.key) + sizeOf(m.value);
      if (bytes + size > maxBytes && (part.length > 0 || request.length > 0)) {
        if (part.length > 0) request.push({ topic, messages: part });
        part = [];
        await send();
      }
      part.push(m);
      bytes += size;
    }
    if (part.length > 0) request.push({ topic, messages: part });
  }
  await send();
}
