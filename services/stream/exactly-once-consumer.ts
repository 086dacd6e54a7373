/**
 * A consumer group whose results are exactly once: for each batch of one partition, the stage computes
 * its results, publishes them (at least once, with stable ids) while writing them to PostgreSQL in one
 * transaction, which commits with the partition's next offset once both are done. The offset in
 * PostgreSQL is the truth:
 *
 * - messages below it were processed already (a crash after the commit, a redelivery) and are skipped;
 * - the offset is advanced only if it still holds the value this worker read, so a worker that lost its
 *   partition in a rebalance (a zombie) fails its commit instead of double-billing;
 * - a batch's transaction holds its partition's lock, and a new owner terminates the session of a
 *   previous owner frozen with that lock (partition-fence.ts), so that a zombie cannot stop a partition;
 * - after a rebalance or any failure the stage drops its in-memory state and rebuilds it from the
 *   store, lazily, client month by client month.
 *
 * Kafka's own committed offsets only follow, so that lag is visible with the usual tools.
 *
 * The partitions of one fetch are handled side by side: the stage computes one batch at a time (its
 * state is shared), while the batches it has computed publish, write and commit. A batch's write is
 * mostly waiting on PostgreSQL and the broker, and that wait is on the path from a call to its alert.
 * Partitions hold disjoint clients (the key is the client), so what one batch computes never depends on
 * another partition's batch still in flight.
 */
import { Mutex } from 'async-mutex';
import type { Consumer, Kafka, KafkaMessage, Producer, TopicMessages } from 'kafkajs';
import type { Logger } from 'pino';
import type { PgSql, PgTx } from '../store/sql.js';
import { createProducer, sendBounded } from './bounded-send.js';
import { takePartition } from './partition-fence.js';
import type { WorkerMetrics } from './metrics.js';

/** What a stage makes of a batch: rows to write with the offsets, messages to publish before. */
export interface StageOutput {
  write(tx: PgTx): Promise<void>;
  publish: TopicMessages[];
  processed: number;
}

export interface Stage {
  /** Computes the results of fresh messages of one partition (in arrival order). */
  process(messages: KafkaMessage[], topic: string, partition: number): Promise<StageOutput>;
  /** Forgets in-memory state: it is rebuilt from the store on demand. */
  reset(): void;
}

export interface WorkerOptions {
  kafka: Kafka;
  sql: PgSql;
  groupId: string;
  topic: string;
  stage: Stage;
  log: Logger;
  metrics?: WorkerMetrics;
}

class FencedError extends Error {}

/** Partitions of one fetch whose batches are handled at the same time (a topic has 4 by default). */
const PARTITIONS_AT_ONCE = 4;

export class ExactlyOnceWorker {
  private consumer: Consumer | null = null;
  private producer: Producer | null = null;
  /** Next offset to process per partition, as stored in PostgreSQL. */
  private readonly next = new Map<number, bigint>();
  private stopping = false;
  /** Held while the stage computes a batch or forgets its state: never both, never two batches at once. */
  private readonly stageLock = new Mutex();

  constructor(private readonly o: WorkerOptions) {}

  /** Safe to call again after a failure (the broker was away): it starts what is not running yet. */
  async start(): Promise<void> {
    this.producer ??= createProducer(this.o.kafka);
    await this.producer.connect();
    await this.startConsumer();
  }

  private async startConsumer(): Promise<void> {
    const { kafka, groupId, topic, log } = this.o;
    await this.consumer?.disconnect().catch(() => {});
    this.consumer = kafka.consumer({ groupId, sessionTimeout: 30_000, heartbeatInterval: 3000, maxBytesPerPartition: 4 * 1024 * 1024 });
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      log.info({ group: groupId, assignment: e.payload.memberAssignment }, 'partitions assigned');
      void this.forget();
    });
    this.consumer.on(this.consumer.events.CRASH, (e) => {
      log.warn({ group: groupId, err: e.payload.error?.message, restart: e.payload.restart }, 'consumer crashed');
      void this.forget();
      // kafkajs gives up on some errors (the broker restarting, a database that stays away): a worker
      // that stopped consuming is no worker, so it starts a new consumer itself, and keeps trying.
      if (!e.payload.restart && !this.stopping) void this.restartConsumer();
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic, fromBeginning: true });
    await this.consumer.run({
      partitionsConsumedConcurrently: PARTITIONS_AT_ONCE,
      eachBatchAutoResolve: false,
      autoCommit: true,
      eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
        if (!isRunning() || isStale() || batch.messages.length === 0) return;
        const started = performance.now();
        try {
          const done = await this.processBatch(batch.partition, batch.messages);
          resolveOffset(batch.lastOffset());
          await commitOffsetsIfNecessary();
          await heartbeat();
          this.o.metrics?.batch(batch.partition, done, Number(batch.offsetLag()), performance.now() - started);
        } catch (err) {
          // State may hold the effects of a batch that did not commit: rebuild it from the store.
          await this.forget();
          log.warn({ group: groupId, partition: batch.partition, err: (err as Error).message }, 'batch failed, retrying from the stored offset');
          throw err;
        }
      },
    });
  }

  private async restartConsumer(): Promise<void> {
    const { groupId, log } = this.o;
    for (let attempt = 1; !this.stopping; attempt++) {
      await new Promise((r) => setTimeout(r, Math.min(30_000, 1000 * attempt)));
      try {
        await this.startConsumer();
        log.info({ group: groupId, attempt }, 'consumer restarted');
        return;
      } catch (err) {
        log.warn({ group: groupId, attempt, err: (err as Error).message }, 'consumer restart failed, retrying');
      }
    }
  }

  /** Graceful stop (SIGTERM): the batch in hand finishes and commits, then the consumer leaves the group. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.consumer?.disconnect();
    await this.producer?.disconnect();
  }

  /** Once the batch being computed, if any, is done: a stage reset in the middle of one would lose part of it. */
  private forget(): Promise<void> {
    return this.stageLock.runExclusive(() => {
      this.next.clear();
      this.o.stage.reset();
    });
  }

  private async processBatch(partition: number, messages: KafkaMessage[]): Promise<number> {
    const { sql, groupId, topic, stage } = this.o;
    const stored = await this.storedNext(partition);
    const fresh = messages.filter((m) => BigInt(m.offset) >= stored);
    if (fresh.length === 0) return 0;
    const output = await this.stageLock.runExclusive(() => stage.process(fresh, topic, partition));
    const next = BigInt(fresh[fresh.length - 1]!.offset) + 1n;
    await sql.transaction(async (tx) => {
      // One writer per partition in the store: a previous owner frozen with its transaction open would
      // otherwise hold this partition's rows, and the partition, for as long as it sleeps (partition-fence.ts).
      await takePartition(tx, { groupId, topic, partition, log: this.o.log });
      // Publishing and writing wait on different servers: they overlap. The offset moves only once both
      // are done, so a committed batch is always a published one; and a failed one is rolled back only
      // after the other has finished with the connection (nothing of it may run outside the transaction).
      const done = await Promise.allSettled([sendBounded(this.producer!, output.publish), output.write(tx)]);
      for (const d of done) if (d.status === 'rejected') throw d.reason;
      const rows =
        stored < 0n
          ? await tx.query(
              `INSERT INTO consumer_offset (group_id, topic, partition, next_offset) VALUES ($1, $2, $3, $4)
               ON CONFLICT DO NOTHING RETURNING next_offset`,
              [groupId, topic, partition, next.toString()],
            )
          : await tx.query(
              `UPDATE consumer_offset SET next_offset = $4
                WHERE group_id = $1 AND topic = $2 AND partition = $3 AND next_offset = $5 RETURNING next_offset`,
              [groupId, topic, partition, next.toString(), stored.toString()],
            );
      if (rows.length !== 1) throw new FencedError(`offset of ${topic}/${partition} moved under this worker (rebalance): batch abandoned`);
    });
    this.next.set(partition, next);
    return output.processed;
  }

  private async storedNext(partition: number): Promise<bigint> {
    let n = this.next.get(partition);
    if (n === undefined) {
      const rows = await this.o.sql.query<{ next_offset: string }>(
        'SELECT next_offset FROM consumer_offset WHERE group_id = $1 AND topic = $2 AND partition = $3',
        [this.o.groupId, this.o.topic, partition],
      );
      n = rows.length === 0 ? -1n : BigInt(rows[0]!.next_offset);
      this.next.set(partition, n);
    }
    return n;
  }
}
