/**
 * What `cdr ingest` and the stages rely on when the broker acknowledges a send: every record is there.
 * kafkajs 2.2.4 can resolve a send without the records of a partition whose leader moved mid-send onto a
 * broker that had already answered (tulios/kafkajs#1303); the fault suite's full-disk campaign lost a
 * few hundred CDRs of a month that way. Here kafkajs's side is played by a producer that answers as
 * kafkajs does then (an acknowledgement that leaves that partition out), through the real partitioner
 * `createProducer` installs; the fault suite shows the same on a real three-broker cluster.
 */
import { describe, expect, it } from 'vitest';
import type { Kafka, Message, PartitionerArgs, Producer, ProducerConfig, ProducerBatch, RecordMetadata } from 'kafkajs';
import { createProducer, sendBounded } from '../../services/stream/bounded-send.js';

const PARTITIONS = 4;
const META = Array.from({ length: PARTITIONS }, (_, i) => ({ partitionId: i, leader: i % 3, replicas: [0, 1, 2], isr: [0, 1, 2], partitionErrorCode: 0 }));

/** A broker set as kafkajs shows it: `leftOut(n)` names the partitions the n-th send's acknowledgement forgets. */
function fakeCluster(leftOut: (send: number) => number[]) {
  const onBroker: { topic: string; partition: number; key: string }[] = [];
  const requests: number[] = [];
  let sends = 0;
  const kafka = {
    producer(config: ProducerConfig): Producer {
      const partitioner = config.createPartitioner!();
      const sendBatch = async ({ topicMessages }: ProducerBatch): Promise<RecordMetadata[]> => {
        const forgotten = new Set(leftOut(++sends));
        const acks: RecordMetadata[] = [];
        let bytes = 0;
        for (const { topic, messages } of topicMessages!) {
          const byPartition = new Map<number, Message[]>();
          for (const message of messages) {
            const p = partitioner({ topic, partitionMetadata: META, message } as PartitionerArgs);
            byPartition.set(p, [...(byPartition.get(p) ?? []), message]);
            bytes += (message.value as Buffer).length;
          }
          for (const [partition, ms] of byPartition) {
            if (forgotten.has(partition)) continue; // kafkajs's bug: not sent, yet the send resolves
            for (const m of ms) onBroker.push({ topic, partition, key: String(m.key) });
            acks.push({ topicName: topic, partition, errorCode: 0 });
          }
        }
        requests.push(bytes);
        return acks;
      };
      return { sendBatch } as unknown as Producer;
    },
  } as unknown as Kafka;
  return { producer: createProducer(kafka), onBroker, requests, sends: () => sends };
}

const cdrs = (n: number, bytes = 100) =>
  Array.from({ length: n }, (_, i) => ({ key: `C-${String(i % 40).padStart(4, '0')}`, value: Buffer.alloc(bytes, i % 251) }));

describe('a send the brokers acknowledged holds every record', () => {
  it('sends again the records of a partition the acknowledgement left out, and only those: each record once on the broker', async () => {
    const c = fakeCluster((n) => (n === 1 ? [2] : []));
    const messages = cdrs(500);
    await sendBounded(c.producer, [{ topic: 'cdr.normalized', messages }]);
    expect(c.onBroker).toHaveLength(500);
    expect(c.onBroker.filter((r) => r.partition === 2).length, 'partition 2 records (sent on the second try)').toBeGreaterThan(0);
    expect(c.sends()).toBe(2);
    // The second send carried partition 2 alone: the others were already on the broker.
    const perKey = new Map<string, number>();
    for (const r of c.onBroker) perKey.set(r.key, (perKey.get(r.key) ?? 0) + 1);
    const sent = new Map<string, number>();
    for (const m of messages) sent.set(m.key, (sent.get(m.key) ?? 0) + 1);
    expect(perKey).toEqual(sent);
  });

  it('fails, naming the topic, when a partition is never acknowledged (the caller then sends the file again)', async () => {
    const c = fakeCluster(() => [1]);
    await expect(sendBounded(c.producer, [{ topic: 'cdr.normalized', messages: cdrs(200) }])).rejects.toThrow(/did not acknowledge every partition after 6 sends: cdr\.normalized \(\d+ records\) left out/);
  });

  it('keeps each request under the byte bound, whatever the split among partitions', async () => {
    const c = fakeCluster(() => []);
    await sendBounded(c.producer, [{ topic: 'cdr.normalized', messages: cdrs(3000, 1000) }], 256 * 1024);
    expect(c.onBroker).toHaveLength(3000);
    expect(Math.max(...c.requests)).toBeLessThanOrEqual(256 * 1024);
    expect(c.requests.length).toBeGreaterThanOrEqual(12);
  });

  it('refuses a producer that does not record where its records went', async () => {
    const bare = { sendBatch: async () => [] } as unknown as Producer;
    await expect(sendBounded(bare, [{ topic: 't', messages: cdrs(1) }])).rejects.toThrow(/producer made by createProducer/);
  });
});
