/**
 * `cdr worker rater`: cdr.normalized → rated CDRs, adjustments and fair-use alerts in PostgreSQL,
 * published to cdr.rated, cdr.adjustments and fraud.alerts. Runs the same RatingStage as the embedded
 * runtime; a client month's counters are rebuilt from its rated calls the first time the worker sees it.
 */
import type { KafkaMessage, TopicMessages } from 'kafkajs';
import { RatingStage, type PipelineContext } from '../core/cdr-pipeline.js';
import type { Cdr } from '../core/cdr.js';
import { Money } from '../core/money.js';
import { RatingStore, adjustmentOf, ratedRowOf, writeResults } from '../store/rating-store.js';
import type { Sql } from '../store/sql.js';
import { codecs } from './avro-codec.js';
import { deadLetters, decodeBatch } from './dead-letters.js';
import { UnknownPlan } from '../core/rating/rater.js';
import { screenCdrIds } from '../ingest/cdr-identity.js';
import type { Reject } from '../ingest/source-record.js';
import type { Stage, StageOutput } from './exactly-once-consumer.js';
import type { Topics } from './kafka-setup.js';

export class RaterStage implements Stage {
  private stage: RatingStage;
  private readonly loaded = new Set<string>();
  private readonly store: RatingStore;

  constructor(
    private readonly ctx: PipelineContext,
    sql: Sql,
    private readonly topics: Topics,
    private readonly groupId: string,
  ) {
    this.stage = new RatingStage(ctx);
    this.store = new RatingStore(sql);
  }

  reset(): void {
    this.stage = new RatingStage(this.ctx);
    this.loaded.clear();
  }

  async process(messages: KafkaMessage[], topic: string, partition: number): Promise<StageOutput> {
    const { values: cdrs, dead } = decodeBatch(codecs.normalizedCdr, messages, { topic, partition, groupId: this.groupId });
    await this.restoreMonths(cdrs);
    const known = await this.store.knownCdrIds(cdrs.map((c) => c.cdrId));
    const { fresh, conflicts } = screenCdrIds(cdrs, (id) => known.get(id));
    const rejects: Reject[] = [...conflicts];
    for (const cdr of fresh) {
      try {
        this.stage.process(cdr);
      } catch (err) {
        // One CDR this worker cannot rate must not hold up its partition: it goes to the rejects.
        if (!(err instanceof UnknownPlan)) throw err;
        rejects.push({ source: cdr.source, line: cdr.line, reason: 'unknown_plan', detail: `${err.message}: update the worker's configuration and replay`, raw: JSON.stringify({ ...cdr, subscriber: cdr.subscriber.account }) });
      }
    }
    const { changes, alerts } = this.stage.drain();
    const rated = changes.filter((c) => c.previous === null).map((c) => ratedRowOf(c.call));
    const adjustments = changes.filter((c) => c.previous !== null).map((c) => adjustmentOf(c.call, c.previous!));
    const publish: TopicMessages[] = [
      { topic: this.topics.rated, messages: rated.map((r) => ({ key: r.cdr.subscriber.clientId, value: codecs.ratedCdr.encode(r) })) },
      // Keyed by what the adjustment is, so that one republished after a crash is recognised as the same.
      { topic: this.topics.adjustments, messages: adjustments.map((a) => ({ key: `${a.cdrId}|${a.previousAmount}|${a.newAmount}`, value: codecs.adjustment.encode(a) })) },
      { topic: this.topics.alerts, messages: alerts.map((a) => ({ key: a.clientId, value: codecs.alert.encode(a) })) },
      { topic: this.topics.rejected, messages: rejects.map((r) => ({ key: r.source, value: codecs.reject.encode(r) })) },
      deadLetters.publishTo(this.topics.deadLetter, dead),
    ];
    return {
      processed: messages.length,
      publish,
      write: async (tx) => {
        await writeResults(tx, { rated, adjustments, alerts, rejects });
        await deadLetters.write(tx, dead);
      },
    };
  }

  private async restoreMonths(cdrs: Cdr[]): Promise<void> {
    const wanted = new Map<string, { clientId: string; period: string }>();
    for (const cdr of cdrs) {
      const plan = this.ctx.plans.get(cdr.subscriber.planId);
      if (plan === undefined) continue; // rating reports it
      const period = plan.calendar.period(cdr.startMs);
      const key = `${cdr.subscriber.clientId}|${period}`;
      if (!this.loaded.has(key)) wanted.set(key, { clientId: cdr.subscriber.clientId, period });
    }
    if (wanted.size === 0) return;
    for await (const stored of this.store.loadMonths([...wanted.values()])) {
      // A month billed under a plan since removed cannot be re-rated: its calls keep their stored prices.
      if (this.ctx.plans.has(stored.cdr.subscriber.planId)) this.stage.restore(stored.cdr, new Money(stored.amount));
    }
    this.stage.restored();
    for (const key of wanted.keys()) this.loaded.add(key);
  }
}
