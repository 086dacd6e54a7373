/**
 * `cdr worker rater`: cdr.normalized → rated CDRs, adjustments and fair-use alerts in PostgreSQL,
 * published to cdr.rated, cdr.adjustments and fraud.alerts. Runs the same RatingStage as the embedded
 * runtime over counters kept in PostgreSQL: a batch fetches the counters of the client months it
 * touches (those not already in memory), and, for the rare call that moves other calls' prices, the
 * calls of that one scope's month. Clients least recently seen are evicted past the memory budget.
 *
 * With `--with-fraud` it also runs the fraud detectors on the calls it has just rated, in the same
 * transaction (and then no `cdr worker fraud` runs): a call is counted once because it is rated once, no
 * cdr_id is kept for the purpose, and the call's alert is one hop nearer.
 */
import type { KafkaMessage, TopicMessages } from 'kafkajs';
import { RatingStage, type PipelineContext } from '../core/cdr-pipeline.js';
import type { Cdr } from '../core/cdr.js';
import { UnknownPlan } from '../core/rating/rater.js';
import { StateNeeded } from '../core/rating/rating-state.js';
import { screenCdrIds } from '../ingest/cdr-identity.js';
import type { Reject } from '../ingest/source-record.js';
import { RatingStore, adjustmentOf, ratedRowOf, writeResults } from '../store/rating-store.js';
import type { PgSql } from '../store/sql.js';
import { codecs } from './avro-codec.js';
import { deadLetters, decodeBatch } from './dead-letters.js';
import { cdrsOfRecord } from './normalized-records.js';
import { poisonIn } from './poison.js';
import type { Stage, StageOutput } from './exactly-once-consumer.js';
import type { Topics } from './kafka-setup.js';
import { SharedSubscribers } from './shared-subscribers.js';
import { BatchDetection } from './fraud-stage.js';
import { BYTES_PER_CACHED_CALL, BYTES_PER_COUNTER, ClientRecency, PgRatingState } from './stage-state.js';

export class RaterStage implements Stage {
  private stage: RatingStage;
  private readonly store: RatingStore;
  private readonly state: PgRatingState;
  private readonly recency = new ClientRecency();
  private readonly subscribers = new SharedSubscribers();
  private readonly maxCounters: number;
  /** The fraud detectors, when they run here. */
  private readonly fraud: BatchDetection | null;

  constructor(
    private readonly ctx: PipelineContext,
    sql: PgSql,
    private readonly topics: Topics,
    private readonly groupId: string,
    /** Memory the rating state may take, in MB: three quarters for counters, a quarter for calls kept for late CDRs. */
    budgetMb = 512,
    detectFraud = false,
  ) {
    const budget = budgetMb * 1024 * 1024;
    this.store = new RatingStore(sql);
    this.state = new PgRatingState(this.store, Math.max(10_000, Math.floor(budget / 4 / BYTES_PER_CACHED_CALL)));
    this.stage = this.newStage();
    this.maxCounters = Math.max(1000, Math.floor((budget * 3) / 4 / BYTES_PER_COUNTER));
    this.fraud = detectFraud ? new BatchDetection(ctx, this.store) : null;
  }

  reset(): void {
    this.state.reset();
    this.recency.clear();
    this.stage = this.newStage();
    this.fraud?.reset();
  }

  async process(messages: KafkaMessage[], topic: string, partition: number): Promise<StageOutput> {
    const { values: cdrs, dead } = decodeBatch(cdrsOfRecord, messages, { topic, partition, groupId: this.groupId }, (cdr) => poisonIn(cdr, this.ctx.limits));
    for (const cdr of cdrs) this.subscribers.share(cdr);
    const known = await this.store.knownCdrIds(cdrs.map((c) => c.cdrId));
    const { fresh, conflicts } = screenCdrIds(cdrs, (id) => known.get(id));
    const rejects: Reject[] = [...conflicts];
    await this.state.prefetch(this.clientPeriods(fresh));
    let lastClient = '';
    for (const cdr of fresh) {
      if (cdr.subscriber.clientId !== lastClient) this.recency.touch((lastClient = cdr.subscriber.clientId));
      try {
        // Most calls need nothing from the store: rated without waiting for a promise each.
        const needed = this.rateAtHand(cdr);
        if (needed !== null) await this.fetchAndRate(cdr, needed);
      } catch (err) {
        // One CDR this worker cannot rate must not hold up its partition: it goes to the rejects.
        if (!(err instanceof UnknownPlan)) throw err;
        rejects.push({ source: cdr.source, line: cdr.line, reason: 'unknown_plan', detail: `${err.message}: update the worker's configuration and replay`, raw: JSON.stringify({ ...cdr, subscriber: cdr.subscriber.account }) });
      }
    }
    const drained = this.stage.drain();
    this.state.settled();
    this.state.absorb([...drained.changes.map((c) => c.call), ...drained.restated]);
    this.evict();
    const rated = drained.changes.filter((c) => c.previous === null).map((c) => ratedRowOf(c.call));
    const adjustments = drained.changes.filter((c) => c.previous !== null).map((c) => adjustmentOf(c.call, c.previous!));
    const restated = drained.restated.map(ratedRowOf);
    const { counters } = drained;
    const detected = this.fraud === null ? { alerts: [], fraudStates: [] } : await this.fraud.observe(rated);
    const alerts = [...drained.alerts, ...detected.alerts];
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
        await writeResults(tx, { rated, adjustments, restated, alerts, rejects, counters, fraudStates: detected.fraudStates });
        await deadLetters.write(tx, dead);
      },
    };
  }

  /** Rates one CDR with the state at hand, or says what the rater asked for (nothing has changed then). */
  private rateAtHand(cdr: Cdr): StateNeeded | null {
    try {
      this.stage.process(cdr);
      return null;
    } catch (err) {
      if (err instanceof StateNeeded) return err;
      throw err;
    }
  }

  /** Fetches what the rater asked for, then rates the CDR again. */
  private async fetchAndRate(cdr: Cdr, needed: StateNeeded): Promise<void> {
    for (let attempt = 1; attempt <= 2; attempt++) {
      if (needed.counters.length > 0) await this.state.prefetch(this.clientPeriods([cdr]));
      if (needed.scopes.length > 0) await this.state.fetchScopes(needed.scopes);
      const still = this.rateAtHand(cdr);
      if (still === null) return;
      needed = still;
    }
    throw new Error(`rating ${cdr.cdrId} still needs state after it was fetched: ${needed.message}`);
  }

  /** Past the budget, the clients seen least recently leave memory; their counters are in the store. */
  private evict(): void {
    const rater = this.stage.rater;
    if (rater.counterCount <= this.maxCounters) return;
    const perClient = rater.countersPerClient();
    let left = rater.counterCount;
    const gone = new Set<string>();
    for (const clientId of this.recency.oldest()) {
      if (left <= this.maxCounters * 0.8) break;
      gone.add(clientId);
      left -= perClient.get(clientId) ?? 0;
    }
    rater.forget((c) => !gone.has(c));
    for (const c of gone) {
      this.state.cool(c);
      this.recency.drop(c);
    }
  }

  private clientPeriods(cdrs: Cdr[]): { clientId: string; period: string }[] {
    const out = new Map<string, { clientId: string; period: string }>();
    for (const cdr of cdrs) {
      const plan = this.ctx.plans.get(cdr.subscriber.planId);
      if (plan === undefined) continue; // rating reports it
      const period = plan.calendar.period(cdr.startMs);
      out.set(`${cdr.subscriber.clientId}|${period}`, { clientId: cdr.subscriber.clientId, period });
    }
    return [...out.values()];
  }

  private newStage(): RatingStage {
    // Only drained prices leave this stage: late calls of a batch visit their month once, at the drain.
    return new RatingStage({ ...this.ctx, ratingState: this.state }, { deferVisits: true });
  }
}
