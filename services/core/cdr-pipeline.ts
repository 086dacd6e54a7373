/**
 * What happens to one CDR, in both runtimes: the rating stage (caller-ID rewrite, then the price against
 * the forfait) and the fraud stage (detectors on the priced call). Each stage is pure over its
 * per-scope state, which the shell loads from its store and takes back at each drain. The embedded run
 * chains them in one process; the streaming runtime runs them as two consumer groups
 * (cdr.normalized → rater → cdr.rated → fraud), each with its own state store.
 */
import type { Alert } from './alert.js';
import type { Zone } from './calendar.js';
import type { Cdr } from './cdr.js';
import { rewritePremiumCallerId } from './fraud/caller-id.js';
import { settingsFor, type FraudConfig } from './fraud/fraud-config.js';
import { FraudDetector, type FraudStateSource, type SavedFraudState } from './fraud/fraud-detector.js';
import type { NumberingPlan } from './numbering.js';
import type { Plan } from './plan.js';
import type { IngestLimits } from '../ingest/input-limits.js';
import { Rater, type Drained, type RatedCall, type RatingContext } from './rating/rater.js';
import type { RatingState } from './rating/rating-state.js';

export interface PipelineContext {
  plans: ReadonlyMap<string, Plan>;
  numbering: NumberingPlan;
  fraud: FraudConfig;
  /** Zone of fraud windows and alert times. */
  zone: Zone;
  usersOf(clientId: string, siteId: string | null): number;
  numbersOf(clientId: string): ReadonlySet<string>;
  isPlatform(account: string): boolean;
  /** Saved counters and billed calls; in memory when absent. */
  ratingState?: RatingState;
  /** Saved detector states; none when absent. */
  fraudState?: FraudStateSource;
  /** What a record may hold (config/ingest.yaml): the workers set aside what exceeds it. */
  limits?: IngestLimits;
}

/** Caller-ID rewrite and rating. */
export class RatingStage {
  readonly rater: Rater;

  constructor(
    private readonly ctx: Pick<PipelineContext, 'plans' | 'numbering' | 'fraud' | 'usersOf' | 'ratingState'>,
    options: Pick<RatingContext, 'deferVisits'> = {},
  ) {
    this.rater = new Rater({ plans: ctx.plans, numbering: ctx.numbering, usersOf: ctx.usersOf, state: ctx.ratingState, ...options });
  }

  /** Rates a CDR; null if it was rated before. */
  process(cdr: Cdr): RatedCall | null {
    return this.rater.rate(withPresentedCallerId(cdr, this.ctx.fraud));
  }

  drain(): Drained {
    return this.rater.drain();
  }
}

/** The CDR as it is billed: a premium caller ID rewritten to the installation number (R-CLI-089B-REWRITE). */
export function withPresentedCallerId(cdr: Cdr, fraud: FraudConfig): Cdr {
  return rewritePremiumCallerId(cdr, settingsFor(fraud, 'premium_cli', cdr.subscriber.clientId));
}

export function fraudDetectorFor(ctx: PipelineContext): FraudDetector {
  return new FraudDetector({ config: ctx.fraud, numbering: ctx.numbering, zone: ctx.zone, numbersOf: ctx.numbersOf, isPlatform: ctx.isPlatform, state: ctx.fraudState });
}

export interface PipelineDrained extends Drained {
  fraudStates: { clientId: string; saved: SavedFraudState }[];
}

/** Both stages in one process (the embedded runtime). */
export class CdrPipeline {
  readonly rating: RatingStage;
  readonly fraud: FraudDetector;

  constructor(ctx: PipelineContext) {
    this.rating = new RatingStage(ctx);
    this.fraud = fraudDetectorFor(ctx);
  }

  get rater(): Rater {
    return this.rating.rater;
  }

  process(cdr: Cdr): RatedCall | null {
    const call = this.rating.process(cdr);
    if (call !== null) this.fraud.observe(call);
    return call;
  }

  drain(): PipelineDrained {
    const drained = this.rating.drain();
    const alerts: Alert[] = [...drained.alerts, ...this.fraud.drain()];
    return { ...drained, alerts, fraudStates: this.fraud.drainStates() };
  }
}
