/**
 * `cdr worker fraud`: cdr.rated → fraud alerts in PostgreSQL, published to fraud.alerts. The fraud stage
 * keeps its own state store (fraud_call): the rated calls it has observed, written with its offsets,
 * so that after a restart it counts each call once, whatever the rater did meanwhile.
 */
import type { KafkaMessage, TopicMessages } from 'kafkajs';
import { fraudDetectorFor, type PipelineContext } from '../core/cdr-pipeline.js';
import type { FraudDetector } from '../core/fraud/fraud-detector.js';
import { Money } from '../core/money.js';
import { writeResults, type RatedRow } from '../store/rating-store.js';
import type { Sql } from '../store/sql.js';
import { codecs } from './avro-codec.js';
import { deadLetters, decodeBatch } from './dead-letters.js';
import type { Stage, StageOutput } from './exactly-once-consumer.js';
import type { Topics } from './kafka-setup.js';

export class FraudStage implements Stage {
  private detector: FraudDetector;
  private readonly loaded = new Set<string>();
  private readonly observed = new Set<string>();

  constructor(
    private readonly ctx: PipelineContext,
    private readonly sql: Sql,
    private readonly topics: Topics,
    private readonly groupId: string,
  ) {
    this.detector = fraudDetectorFor(ctx);
  }

  reset(): void {
    this.detector = fraudDetectorFor(this.ctx);
    this.loaded.clear();
    this.observed.clear();
  }

  async process(messages: KafkaMessage[], topic: string, partition: number): Promise<StageOutput> {
    const { values: rows, dead } = decodeBatch(codecs.ratedCdr, messages, { topic, partition, groupId: this.groupId });
    await this.restoreMonths(rows);
    const seenElsewhere = await this.knownCalls(rows.map((r) => r.cdr.cdrId));
    const fresh: RatedRow[] = [];
    for (const row of rows) {
      // The rater publishes at least once: a call seen before is not counted twice.
      if (this.observed.has(row.cdr.cdrId) || seenElsewhere.has(row.cdr.cdrId)) continue;
      this.observe(row);
      fresh.push(row);
    }
    const alerts = this.detector.drain();
    const publish: TopicMessages[] = [
      { topic: this.topics.alerts, messages: alerts.map((a) => ({ key: a.clientId, value: codecs.alert.encode(a) })) },
      deadLetters.publishTo(this.topics.deadLetter, dead),
    ];
    return {
      processed: messages.length,
      publish,
      write: async (tx) => {
        if (fresh.length > 0) {
          await tx.query(
            `INSERT INTO fraud_call (cdr_id, client_id, period, start_time, call)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::jsonb[])`,
            [
              fresh.map((r) => r.cdr.cdrId),
              fresh.map((r) => r.cdr.subscriber.clientId),
              fresh.map((r) => r.period),
              fresh.map((r) => new Date(r.cdr.startMs).toISOString()),
              fresh.map((r) => JSON.stringify(r)),
            ],
          );
        }
        await writeResults(tx, { alerts });
        await deadLetters.write(tx, dead);
      },
    };
  }

  private observe(row: RatedRow): void {
    this.observed.add(row.cdr.cdrId);
    this.detector.observe({ cdr: row.cdr, dest: this.ctx.numbering.classify(row.cdr.callee), amount: new Money(row.amount) });
  }

  private async restoreMonths(rows: RatedRow[]): Promise<void> {
    const wanted = [...new Set(rows.map((r) => `${r.cdr.subscriber.clientId}|${r.period}`))].filter((k) => !this.loaded.has(k));
    if (wanted.length === 0) return;
    const stored = await this.sql.query<{ call: RatedRow | string }>(
      `SELECT f.call FROM fraud_call f JOIN unnest($1::text[], $2::text[]) AS k(client_id, period)
         ON f.client_id = k.client_id AND f.period = k.period
       ORDER BY f.start_time, f.cdr_id`,
      [wanted.map((k) => k.split('|')[0]), wanted.map((k) => k.split('|')[1])],
    );
    for (const { call } of stored) this.observe(typeof call === 'string' ? (JSON.parse(call) as RatedRow) : call);
    this.detector.drain(); // alerts of calls observed before are in the store already
    for (const k of wanted) this.loaded.add(k);
  }

  private async knownCalls(ids: string[]): Promise<Set<string>> {
    const unseen = ids.filter((id) => !this.observed.has(id));
    if (unseen.length === 0) return new Set();
    const rows = await this.sql.query<{ cdr_id: string }>('SELECT cdr_id FROM fraud_call WHERE cdr_id = ANY($1::text[])', [unseen]);
    return new Set(rows.map((r) => r.cdr_id));
  }
}
