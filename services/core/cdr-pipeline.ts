/**
 * What happens to one CDR, in both runtimes: the caller-ID rewrite, rating against the forfait, then the
 * fraud detectors on the priced call. Pure over its per-client state; the embedded run and the Kafka
 * workers only feed it, restore it and write what it drains.
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
}

export class CdrPipeline {
  readonly rater: Rater;
  private readonly fraud: FraudDetector;

  constructor(private readonly ctx: PipelineContext) {
    this.rater = new Rater(ctx);
    this.fraud = new FraudDetector({ config: ctx.fraud, numbering: ctx.numbering, zone: ctx.zone, numbersOf: ctx.numbersOf });
  }

  /** Rates and watches a CDR; null if it was processed before. */
  process(cdr: Cdr): RatedCall | null {
    const billed = rewritePremiumCallerId(cdr, settingsFor(this.ctx.fraud, 'premium_cli', cdr.subscriber.clientId));
    const call = this.rater.rate(billed);
    if (call !== null) this.fraud.observe(call);
    return call;
  }

  has(clientId: string, cdrId: string): boolean {
    return this.rater.has(clientId, cdrId);
  }

  /** Rebuilds state from a call already billed at `billed`; what it would raise is known already. */
  restore(cdr: Cdr, billed: Money): void {
    const call = this.rater.restore(cdr, billed);
    if (call !== null) this.fraud.observe(call);
  }

  /** Ends a restore: alerts rebuilt from stored calls are in the store already. */
  restored(): void {
    this.rater.forgetAlertChanges();
    this.fraud.drain();
  }

  drain(): { changes: PriceChange[]; alerts: Alert[] } {
    const { changes, alerts } = this.rater.drain();
    return { changes, alerts: [...alerts, ...this.fraud.drain()] };
  }
}
