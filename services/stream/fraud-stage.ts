/**
 * The fraud detectors in the streaming runtime, in one of two places:
 * - `cdr worker fraud`: cdr.rated → fraud alerts in PostgreSQL, published to fraud.alerts. It keeps, with
 *   its offsets, the cdr_ids it has counted (fraud_seen), so that after a restart it counts each call once,
 *   whatever the rater republished meanwhile;
 * - `cdr worker rater --with-fraud`: the rater's own batch, in the rater's transaction (rater-stage.ts).
 * Either way the detectors' recent windows per client (fraud_state) are written with the batch.
 */
import type { KafkaMessage, TopicMessages } from 'kafkajs';
import type { Alert } from '../core/alert.js';
import { fraudDetectorFor, type PipelineContext } from '../core/cdr-pipeline.js';
import type { FraudDetector, SavedFraudState } from '../core/fraud/fraud-detector.js';
import { Money } from '../core/money.js';
import { RatingStore, writeResults, type RatedRow } from '../store/rating-store.js';
import { rowsWithKeys, type PgSql } from '../store/sql.js';
import { codecs } from './avro-codec.js';
import { deadLetters, decodeBatch } from './dead-letters.js';
import { poisonIn } from './poison.js';
import type { Stage, StageOutput } from './exactly-once-consumer.js';
import type { Topics } from './kafka-setup.js';
import { SharedSubscribers } from './shared-subscribers.js';
import { PgFraudState } from './stage-state.js';

/** Clients whose windows stay in memory between batches. */
const MAX_CLIENTS = 20_000;

/** The detectors over a worker's batches of newly rated calls, with their state fetched per batch. */
export class BatchDetection {
  private detector: FraudDetector;
  private readonly state: PgFraudState;
  private clients = new Set<string>();

  constructor(
    private readonly ctx: PipelineContext,
    store: RatingStore,
  ) {
    this.state = new PgFraudState(store);
    this.detector = this.newDetector();
  }

  /** Forgets every window: they are fetched again from fraud_state. */
  reset(): void {
    this.state.settled();
    this.clients = new Set();
    this.detector = this.newDetector();
  }

  /** Watches calls rated for the first time, each once, in the order rated. */
  async observe(rows: readonly RatedRow[]): Promise<{ alerts: Alert[]; fraudStates: { clientId: string; saved: SavedFraudState }[] }> {
    await this.state.prefetch(rows.map((r) => r.cdr.subscriber.clientId).filter((c) => this.detector.needsState(c)));
    for (const row of rows) {
      this.clients.add(row.cdr.subscriber.clientId);
      this.detector.observe({ cdr: row.cdr, dest: this.ctx.numbering.classify(row.cdr.callee), amount: new Money(row.amount) });
    }
    const alerts = this.detector.drain();
    const fraudStates = this.detector.drainStates();
    this.state.settled();
    if (this.clients.size > MAX_CLIENTS) {
      this.detector.forget();
      this.clients = new Set();
    }
    return { alerts, fraudStates };
  }

  private newDetector(): FraudDetector {
    return fraudDetectorFor({ ...this.ctx, fraudState: this.state });
  }
}

export class FraudStage implements Stage {
  private readonly detection: BatchDetection;
  private readonly subscribers = new SharedSubscribers();

  constructor(
    private readonly ctx: PipelineContext,
    private readonly sql: PgSql,
    private readonly topics: Topics,
    private readonly groupId: string,
  ) {
    this.detection = new BatchDetection(ctx, new RatingStore(sql));
  }

  reset(): void {
    this.detection.reset();
  }

  async process(messages: KafkaMessage[], topic: string, partition: number): Promise<StageOutput> {
    const { values: rows, dead } = decodeBatch((value) => [codecs.ratedCdr.decode(value)], messages, { topic, partition, groupId: this.groupId }, (row) => poisonIn(row.cdr, this.ctx.limits));
    const seen = await this.seen(rows.map((r) => r.cdr.cdrId));
    const fresh: RatedRow[] = [];
    for (const row of rows) {
      // The rater publishes at least once: a call seen before is not counted twice.
      if (seen.has(row.cdr.cdrId)) continue;
      seen.add(row.cdr.cdrId);
      this.subscribers.share(row.cdr);
      fresh.push(row);
    }
    const { alerts, fraudStates } = await this.detection.observe(fresh);
    const publish: TopicMessages[] = [
      { topic: this.topics.alerts, messages: alerts.map((a) => ({ key: a.clientId, value: codecs.alert.encode(a) })) },
      deadLetters.publishTo(this.topics.deadLetter, dead),
    ];
    return {
      processed: messages.length,
      publish,
      write: async (tx) => {
        // Copied, not upserted: `fresh` holds no cdr_id the store has, and only this partition's owner writes
        // them (a zombie's copy fails on the key, and its batch with it, as its offset update would).
        await tx.copy('fraud_seen', ['cdr_id'], fresh.map((r) => [r.cdr.cdrId]));
        await writeResults(tx, { alerts, fraudStates });
        await deadLetters.write(tx, dead);
      },
    };
  }

  private async seen(ids: string[]): Promise<Set<string>> {
    const rows = await rowsWithKeys<{ cdr_id: string }>(this.sql, 'fraud_seen', 'cdr_id', ['cdr_id'], ids);
    return new Set(rows.map((r) => r.cdr_id));
  }
}
