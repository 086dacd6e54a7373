/**
 * kafkajs against @platformatic/kafka on our own records (issue 22: "less work per message in the client,
 * measured on our topics"). The records are `cdr.rated`'s, as the raters just published them during the
 * streaming figures: each client produces them to a topic of its own (4 partitions, as ours), idempotent
 * and acknowledged by every in-sync replica as the stages produce, in sends of a rater's batch; then reads
 * them back from the start. Both run in this process, one after the other, `ROUNDS` times alternated;
 * the figures are medians of the CPU this process spent per record and of the records per second.
 *
 * kafkajs goes through the stages' own path (`createProducer`, `sendBounded`: the partition recorded per
 * record and the acknowledgement checked); @platformatic/kafka through its plain `send`, which does less.
 * @platformatic/kafka is pinned to 1.22.0: the later releases depend on packages that need Node 22.
 * (@confluentinc/kafka-javascript does not install here: its prebuilt binary comes from github.com, and
 * building it from source downloads zlib, OpenSSL, zstd and curl from their sites.)
 */
import { randomUUID } from 'node:crypto';
import { Consumer as PlatformaticConsumer, Producer as PlatformaticProducer } from '@platformatic/kafka';
import { Kafka, logLevel, type KafkaMessage, type Message } from 'kafkajs';
import { createProducer, sendBounded } from '../services/stream/bounded-send.js';
import { fmt, median, type Report } from './report.js';

const ROUNDS = 3;
const PARTITIONS = 4;
/** Records a send: about what a rater publishes for one batch of its partitions on this bench. */
const PER_SEND = 2_000;

interface Figures {
  produceMicros: number;
  producePerSecond: number;
  consumeMicros: number;
  consumePerSecond: number;
}

export async function kafkaClients(report: Report, brokers: string[], sourceTopic: string, count = 200_000): Promise<void> {
  const kafka = new Kafka({ clientId: 'bench-clients', brokers, logLevel: logLevel.NOTHING });
  const records = await readRecords(kafka, sourceTopic, count);
  const bytes = records.reduce((n, r) => n + r.value.length, 0);
  report.line(`${fmt(records.length)} ${sourceTopic} records (${fmt(bytes / records.length)} B a value on average), sends of ${fmt(PER_SEND)}, ${ROUNDS} rounds alternated`);
  const runs = { kafkajs: [] as Figures[], platformatic: [] as Figures[] };
  for (let round = 0; round < ROUNDS; round++) {
    runs.kafkajs.push(await withKafkajs(kafka, records));
    runs.platformatic.push(await withPlatformatic(kafka, brokers, records));
  }
  for (const [name, figures] of [['kafkajs 2.2.4', runs.kafkajs], ['@platformatic/kafka 1.22.0', runs.platformatic]] as const) {
    const m = (f: (x: Figures) => number) => median(figures.map(f));
    report.add(`${name}: produce, CPU a record`, `${m((x) => x.produceMicros).toFixed(1)} µs`);
    report.add(`${name}: produce`, `${fmt(m((x) => x.producePerSecond))} records/s`);
    report.add(`${name}: consume, CPU a record`, `${m((x) => x.consumeMicros).toFixed(1)} µs`);
    report.add(`${name}: consume`, `${fmt(m((x) => x.consumePerSecond))} records/s`);
  }
}

interface RawRecord {
  key: Buffer;
  value: Buffer;
}

async function readRecords(kafka: Kafka, topic: string, count: number): Promise<RawRecord[]> {
  const out: RawRecord[] = [];
  await readFromStart(kafka, topic, (messages) => {
    for (const m of messages) if (out.length < count && m.key !== null && m.value !== null) out.push({ key: m.key, value: m.value });
    return out.length >= count;
  });
  return out;
}

/**
 * Reads `topic` from its start in a group of its own, as the stages fetch (4 MB a partition), handing each
 * batch's messages to `enough` until it says so.
 */
export async function readFromStart(kafka: Kafka, topic: string, enough: (messages: KafkaMessage[]) => boolean): Promise<void> {
  const consumer = kafka.consumer({ groupId: `bench-read-${randomUUID()}`, maxBytesPerPartition: 4 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        if (enough(batch.messages)) resolve();
      },
    });
  });
  await consumer.disconnect();
}

async function freshTopic(kafka: Kafka): Promise<string> {
  const topic = `bench-clients-${randomUUID()}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: PARTITIONS }] });
  await admin.disconnect();
  return topic;
}

/** CPU microseconds of this process per record, and records per second, while `work` runs. */
async function measured(records: number, work: () => Promise<void>): Promise<[number, number]> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await work();
  const spent = process.cpuUsage(cpu);
  return [(spent.user + spent.system) / records, records / ((performance.now() - started) / 1000)];
}

async function withKafkajs(kafka: Kafka, records: RawRecord[]): Promise<Figures> {
  const topic = await freshTopic(kafka);
  const producer = createProducer(kafka);
  await producer.connect();
  const [produceMicros, producePerSecond] = await measured(records.length, async () => {
    for (let i = 0; i < records.length; i += PER_SEND) {
      const messages: Message[] = records.slice(i, i + PER_SEND).map((r) => ({ key: r.key, value: r.value }));
      await sendBounded(producer, [{ topic, messages }]);
    }
  });
  await producer.disconnect();
  let seen = 0;
  const [consumeMicros, consumePerSecond] = await measured(records.length, () => readFromStart(kafka, topic, (messages) => (seen += messages.length) >= records.length));
  return { produceMicros, producePerSecond, consumeMicros, consumePerSecond };
}

async function withPlatformatic(kafka: Kafka, brokers: string[], records: RawRecord[]): Promise<Figures> {
  const topic = await freshTopic(kafka);
  const producer = new PlatformaticProducer({ clientId: 'bench-clients', bootstrapBrokers: brokers, idempotent: true, acks: -1 });
  const [produceMicros, producePerSecond] = await measured(records.length, async () => {
    for (let i = 0; i < records.length; i += PER_SEND) {
      await producer.send({ messages: records.slice(i, i + PER_SEND).map((r) => ({ topic, key: r.key, value: r.value })) });
    }
  });
  await producer.close();
  const consumer = new PlatformaticConsumer({ clientId: 'bench-clients', groupId: `bench-clients-${randomUUID()}`, bootstrapBrokers: brokers });
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false });
  let seen = 0;
  const [consumeMicros, consumePerSecond] = await measured(records.length, () =>
    new Promise<void>((resolve) => {
      stream.on('data', () => {
        if (++seen >= records.length) resolve();
      });
    }),
  );
  await stream.close();
  await consumer.close();
  return { produceMicros, producePerSecond, consumeMicros, consumePerSecond };
}
