/**
 * The real broker started by `make kafka-up` (scripts/kafka.sh), with the client and the encoding the
 * streaming runtime uses: partitions keyed by client id keep each client's CDRs in order on one
 * partition, and Avro single-object messages come back as the values that were sent.
 */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, Partitioners, type Admin, type Consumer, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cdr } from '../../services/core/cdr.js';
import { codecs } from '../../services/stream/avro-codec.js';

const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',').map((b) => b.trim());
const CLIENTS = 20;
const PER_CLIENT = 50;
const TOTAL = CLIENTS * PER_CLIENT;
const PARTITIONS = 4;

const run = randomUUID().slice(0, 8);
const topic = `test.cdr.normalized.${run}`;
const groupId = `test-kafka-broker-${run}`;

function cdrOf(client: number, seq: number): Cdr {
  const clientId = `C-${String(client).padStart(3, '0')}`;
  const startMs = Date.parse('2026-03-02T08:00:00Z') + seq * 60_000 + client * 1000;
  const answered = seq % 5 !== 0;
  return {
    cdrId: `${clientId}-${seq}`,
    account: `sip-${client}`,
    caller: `+3314200${String(client).padStart(4, '0')}`,
    callerOriginal: '',
    callee: `+336${String(10_000_000 + client * 1000 + seq)}`,
    startMs,
    answerMs: answered ? startMs + 5000 : null,
    endMs: startMs + (answered ? 65_000 : 20_000),
    billableSeconds: answered ? 60 : 0,
    disposition: answered ? 'answered' : 'no_answer',
    direction: 'out',
    leg: seq % 7 === 0 ? 'forwarded' : 'originating',
    forwardReason: seq % 7 === 0 ? 'unconditional' : null,
    device: `desk-${client}`,
    subscriber: {
      account: `sip-${client}`, clientId, siteId: `${clientId}-S1`, userId: `${clientId}-U1`, planId: 'technicophone_centrex',
      lineType: 'centrex_user', channels: 1, automated: false, numbers: [`+3314200${String(client).padStart(4, '0')}`],
    },
    source: 'kafka-broker.test',
    // Per-client sequence number: what the ordering check reads back.
    line: seq,
  };
}

// kafkajs logs retried, harmless errors at ERROR level (the coordinator is still loading the
// internal topics on a fresh broker); kept here and shown only when the test fails.
const kafkaLog: string[] = [];
const logCreator = () => ({ namespace, label, log }: { namespace: string; label: string; log: { message: string; error?: string } }) => {
  kafkaLog.push(`${label} [${namespace}] ${log.message}${log.error ? `: ${log.error}` : ''}`);
};
const recentLog = (): string => (kafkaLog.length ? `\nlast kafkajs log lines:\n${kafkaLog.slice(-15).join('\n')}` : '');

let kafka: Kafka;
let admin: Admin | undefined;
let producer: Producer | undefined;
let consumer: Consumer | undefined;

async function connectAdmin(): Promise<Admin> {
  // A short probe first, so that a missing broker fails in seconds with the fix, not after kafkajs'
  // default retries with a bare ECONNREFUSED.
  const probe = new Kafka({ clientId: 'kafka-broker-test-probe', brokers: BROKERS, logLevel: logLevel.NOTHING, connectionTimeout: 3000, retry: { retries: 1 } }).admin();
  try {
    await probe.connect();
    await probe.describeCluster();
  } catch (err) {
    throw new Error(
      `No Kafka broker answers at ${BROKERS.join(',')} (${(err as Error).message}). ` +
        'Start the local one with `make kafka-up` (bash scripts/kafka.sh up), or set KAFKA_BROKERS, then run the tests again.',
    );
  } finally {
    await probe.disconnect().catch(() => {});
  }
  const a = kafka.admin();
  await a.connect();
  return a;
}

// Kept and thrown by the test rather than by this hook: a failing hook reports the test as
// "skipped", and a missing broker must read as a failure.
let unreachable: Error | undefined;

beforeAll(async () => {
  kafka = new Kafka({ clientId: `kafka-broker-test-${run}`, brokers: BROKERS, logLevel: logLevel.WARN, logCreator });
  admin = await connectAdmin().catch((err: Error) => {
    unreachable = err;
    return undefined;
  });
});

afterAll(async () => {
  await consumer?.disconnect().catch(() => {});
  await producer?.disconnect().catch(() => {});
  if (admin) {
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.disconnect();
  }
});

describe('Kafka broker (scripts/kafka.sh)', () => {
  it('carries 1,000 Avro CDRs keyed by client: all arrive, in order per client, one partition per client, decoded', async () => {
    if (unreachable || !admin) throw unreachable ?? new Error('no Kafka admin client');
    const a = admin;
    expect(await a.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true })).toBe(true);
    const meta = await a.fetchTopicMetadata({ topics: [topic] });
    expect(meta.topics[0]!.partitions).toHaveLength(PARTITIONS);

    // Interleaved across clients, as a switch export is: per-key order must survive the mixing.
    const sent: Cdr[] = [];
    for (let seq = 0; seq < PER_CLIENT; seq++) for (let c = 0; c < CLIENTS; c++) sent.push(cdrOf(c, seq));

    // One request in flight: a retried batch can then never overtake the next one.
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    for (let i = 0; i < sent.length; i += 100) {
      await producer.send({
        topic,
        messages: sent.slice(i, i + 100).map((cdr) => ({ key: cdr.subscriber.clientId, value: codecs.normalizedCdr.encode(cdr) })),
      });
    }

    const received: { key: string; partition: number; offset: bigint; cdr: Cdr }[] = [];
    consumer = kafka.consumer({ groupId });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${received.length} of ${TOTAL} messages consumed in 45 s${recentLog()}`)), 45_000);
      consumer!.on(consumer!.events.CRASH, (e) => {
        clearTimeout(timer);
        reject(new Error(`consumer crashed: ${e.payload.error.message}${recentLog()}`));
      });
      consumer!
        .run({
          eachMessage: async ({ partition, message }) => {
            received.push({ key: message.key!.toString(), partition, offset: BigInt(message.offset), cdr: codecs.normalizedCdr.decode(message.value!) });
            if (received.length === TOTAL) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });

    expect(received).toHaveLength(TOTAL);
    expect(new Set(received.map((r) => r.cdr.cdrId)).size).toBe(TOTAL);

    const byKey = new Map<string, typeof received>();
    for (const r of received) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r]);
    expect(byKey.size).toBe(CLIENTS);
    for (const [key, rows] of byKey) {
      expect(new Set(rows.map((r) => r.partition)), `partitions of ${key}`).toHaveLength(1);
      expect(rows.map((r) => r.cdr.line), `order of ${key}`).toEqual([...Array(PER_CLIENT).keys()]);
      expect(rows.every((r) => r.cdr.subscriber.clientId === key)).toBe(true);
    }
    // 20 keys over 4 partitions: the keying actually spreads the load.
    expect(new Set(received.map((r) => r.partition)).size).toBeGreaterThan(1);

    const sentById = new Map(sent.map((c) => [c.cdrId, c]));
    for (const r of received) expect(r.cdr).toEqual(sentById.get(r.cdr.cdrId));
  });
});
