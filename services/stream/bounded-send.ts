/**
 * Producing so that an acknowledged send means every record is on the broker.
 *
 * - Within the broker's size limit. A broker refuses a record batch over `message.max.bytes` (1 MB by
 *   default), and a produce request holds one batch per partition: records keyed by client go to one
 *   partition, so one busy client (a dialler's 12,000 setups in a day) fills a batch alone. Requests are
 *   cut so that all their records together stay under the limit, whatever the split among partitions,
 *   and as few requests as that allows are sent: each waits for every in-sync replica's acknowledgement.
 * - With every partition acknowledged. kafkajs 2.2.4 keeps, across the retries of one send, the answers
 *   of the brokers that already acknowledged; when a partition's leader fails mid-send and its partition
 *   moves onto one of those brokers, the retry skips that broker and the send resolves without the
 *   partition's records (tulios/kafkajs#1303, PR #1798, unreleased). The fault suite's full disk lost
 *   90 to 313 CDRs of a month that way. So our producers record which partition each record went to,
 *   and a send whose acknowledgement leaves out a partition sends that partition's records again: the
 *   idempotent producer had given their sequence numbers back, so nothing can be doubled.
 */
import { Partitioners, type Kafka, type Message, type Producer, type RecordMetadata, type TopicMessages } from 'kafkajs';

/** Bytes of records per produce request: under the broker's 1 MB, whatever the split among partitions. */
export const REQUEST_BYTES = 768 * 1024;
/** What a record costs beyond its key and value (headers, lengths, timestamps), generously. */
const RECORD_OVERHEAD = 64;
/** Sends of a partition left out of the acknowledgement before the send fails (the caller retries it whole). */
const RESENDS = 5;

/** The partition kafkajs chose for each record last (the default partitioner's choice, recorded). */
const partitionOf = new WeakMap<Message, number>();

/**
 * The producer every stage uses: idempotent, one request in flight per broker, partitions chosen by
 * key as Kafka's Java client does, and each record's partition recorded for `sendBounded`'s check.
 */
export function createProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: () => {
      const partitioner = Partitioners.DefaultPartitioner();
      return (args) => {
        const partition = partitioner(args);
        partitionOf.set(args.message, partition);
        return partition;
      };
    },
  });
}

function sizeOf(v: Buffer | string | null | undefined): number {
  return v === null || v === undefined ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length;
}

/**
 * Sends every message, every topic together, acknowledged by all in-sync replicas, in requests under
 * `maxBytes`. `producer` must come from `createProducer`.
 */
export async function sendBounded(producer: Producer, topicMessages: TopicMessages[], maxBytes = REQUEST_BYTES): Promise<void> {
  let request: TopicMessages[] = [];
  let bytes = 0;
  const send = async () => {
    if (request.length > 0) await sendAcknowledged(producer, request);
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

/** One request, then again for the partitions its acknowledgement left out, until every one is in. */
async function sendAcknowledged(producer: Producer, request: TopicMessages[]): Promise<void> {
  let pending = request;
  for (let attempt = 1; ; attempt++) {
    const acked = await producer.sendBatch({ topicMessages: pending, acks: -1 });
    pending = leftOut(pending, acked);
    if (pending.length === 0) return;
    if (attempt > RESENDS) {
      const partitions = pending.map((t) => `${t.topic} (${t.messages.length} records)`).join(', ');
      throw new Error(`the brokers did not acknowledge every partition after ${attempt} sends: ${partitions} left out`);
    }
  }
}

/** The messages of `request` whose partition is not in `acked`. */
function leftOut(request: TopicMessages[], acked: RecordMetadata[]): TopicMessages[] {
  const ok = new Set(acked.filter((a) => a.errorCode === 0).map((a) => `${a.topicName}|${a.partition}`));
  const out: TopicMessages[] = [];
  for (const { topic, messages } of request) {
    const missing = messages.filter((m) => {
      const partition = partitionOf.get(m);
      if (partition === undefined) throw new Error('sendBounded needs a producer made by createProducer (it records where each record went)');
      return !ok.has(`${topic}|${partition}`);
    });
    if (missing.length > 0) out.push({ topic, messages: missing });
  }
  return out;
}
