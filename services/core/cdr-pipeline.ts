/**
 * What happens to one CDR, in both runtimes: the rating stage (caller-ID rewrite, then the price against
 * the forfait) and the fraud stage (detectors on the priced call). Each stage is pure over its
 * per-client state. The embedded run chains them in one process; the streaming runtime runs them as
 * two consumer groups (cdr.normalized → rater → cdr.rated → fraud), each with its own state store.
 */
import type { Alert } from './alert.js';
import type { Zone } from './calendar.js';
import type { Cdr } from './cdr.js';
import { rewritePremiumCallerId } from './fraud/caller-id.js';
import { settingsFor, type FraudConfig } from './fraud/fraud-config.js';
import { FraudDetector } from './fraud/fraud-detector.js';
import type { Money } from './money.js';
import type { NumberingPlan } from './numbering.js';
import type { Plan } from './plan.js';
import { Rater, type PriceChange, type RatedCall } from './rating/rater.js';

export interface PipelineContext {
  plans: ReadonlyMap<string, Plan>;
  numbering: NumberingPlan;
  fraud: FraudConfig;
  /** Zone of fraud windows and alert times. */
  zone: Zone;
  usersOf(clientId: string, siteId: string | null): number;
  numbersOf(clientId: string): ReadonlySet<string>;
  isPlatform(account: string): boolean;
}

/** Caller-ID rewrite and rating. */
export class RatingStage {
  readonly rater: Rater;

  constructor(private readonly ctx: Pick<PipelineContext, 'plans' | 'numbering' | 'fraud' | 'usersOf'>) {
    this.rater = new Rater(ctx);
  }

  /** Rates a CDR; null if it was rated before. */
  process(cdr: Cdr): RatedCall | null {
    return this.rater.rate(rewritePremiumCallerId(cdr, settingsFor(this.ctx.fraud, 'premium_cli', cdr.subscriber.clientId)));
  }

  has(clientId: string, cdrId: string): boolean {
    return this.rater.has(clientId, cdrId);
  }

  /** Rebuilds state from a call already billed at `billed` (its stored form, rewrite included). */
  restore(cdr: Cdr, billed: Money): RatedCall | null {
    return this.rater.restore(cdr, billed);
  }

  /** Ends a restore: alerts rebuilt from stored calls are in the store already. */
  restored(): void {
    this.rater.forgetAlertChanges();
  }

  drain(): { changes: PriceChange[]; alerts: Alert[] } {
    return this.rater.drain();
  }
}

export function fraudDetectorFor(ctx: PipelineContext): FraudDetector {
  return new FraudDetector({ config: ctx.fraud, numbering: ctx.numbering, zone: ctx.zone, numbersOf: ctx.numbersOf, isPlatform: ctx.isPlatform });
}

/** Both stages in one process (the embedded runtime). */
export class CdrPipeline {
  readonly rating: RatingStage;
  private readonly fraud: FraudDetector;

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

  has(clientId: string, cdrId: string): boolean {
    return this.rating.has(clientId, cdrId);
  }

  restore(cdr: Cdr, billed: Money): void {
    const call = this.rating.restore(cdr, billed);
    if (call !== null) this.fraud.observe(call);
  }

  restored(): void {
    this.rating.restored();
    this.fraud.drain();
  }

  drain(): { changes: PriceChange[]; alerts: Alert[] } {
    const { changes, alerts } = this.rating.drain();
    return { changes, alerts: [...alerts, ...this.fraud.drain()] };
  }
}
