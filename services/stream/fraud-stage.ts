/**
 * `cdr worker fraud`: cdr.rated → fraud alerts in PostgreSQL, published to fraud.alerts. The fraud stage
 * keeps its own state store: per client, the detectors' recent windows (fraud_state), and the cdr_ids it
 * has counted (fraud_seen), written with its offsets, so that after a restart it counts each call once,
 * whatever the rater republished meanwhile.
 */
import type { KafkaMessage, TopicMessages } from 'kafkajs';
import { fraudDetectorFor, type PipelineContext } from '../core/cdr-pipeline.js';
import type { FraudDetector } from '../core/fraud/fraud-detector.js';
import { Money } from '../core/money.js';
import { RatingStore, writeResults, type RatedRow } from '../store/rating-store.js';
import type { PgSql } from '../store/sql.js';
import { codecs } from './avro-codec.js';
import { deadLetters, decodeBatch } from './dead-letters.js';
import { poisonIn } from './poison.js';
import type { Stage, StageOutput } from './exactly-once-consumer.js';
import type { Topics } from './kafka-setup.js';
import { SharedSubscribers } from './shared-subscribers.js';
import { PgFraudState } from './stage-state.js';

/** Clients whose windows stay in memory between batches. */
const MAX_CLIENTS = 20_000;

export class FraudStage implements Stage {
  private detector: FraudDetector;
  private readonly state: PgFraudState;
  private clients = new Set<string>();
  private readonly subscribers = new SharedSubscribers();

  constructor(
    private readonly ctx: PipelineContext,
    private readonly sql: PgSql,
    private readonly topics: Topics,
    private readonly groupId: string,
  ) {
    this.state = new PgFraudState(new RatingStore(sql));
    this.detector = this.newDetector();
  }

  reset(): void {
    this.state.settled();
    this.clients = new Set();
    this.detector = this.newDetector();
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
    await this.state.prefetch(fresh.map((r) => r.cdr.subscriber.clientId).filter((c) => this.detector.needsState(c)));
    for (const row of fresh) {
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
    const rows = await this.sql.query<{ cdr_id: string }>('SELECT cdr_id FROM fraud_seen WHERE cdr_id = ANY($1::text[])', [ids]);
    return new Set(rows.map((r) => r.cdr_id));
  }

  private newDetector(): FraudDetector {
    return fraudDetectorFor({ ...this.ctx, fraudState: this.state });
  }
}
