/**
 * Thresholds of the fraud detectors (config/fraud.yaml), with the contract line or the software-default
 * note each comes from, and per-client overrides.
 */
import { z } from 'zod';
import { DECIMAL_TEXT } from '../money.js';
import { DESTINATION_CLASSES } from '../numbering.js';
import { provenanceSchema } from '../plan.js';
import { LOCK_LEVELS } from './lock-levels.js';
import type { HighRiskRanges } from './high-risk-ranges.js';

const money = z.union([z.string(), z.number()]).transform((v) => String(v)).refine((v) => DECIMAL_TEXT.test(v), 'must be a decimal amount such as "15.00"');
const severity = z.enum(['info', 'warning', 'critical']);

const callSetupRate = z.object({
  max_per_second: z.number().int().positive(),
  scope: z.enum(['client', 'line', 'account']),
  severity,
  provenance: provenanceSchema,
});
const premiumCli = z.object({
  banned_classes: z.array(z.enum(DESTINATION_CLASSES)),
  rewrite_prefixes: z.array(z.string().regex(/^\d+$/)),
  severity,
  provenance: provenanceSchema,
});
const cliPolicy = z.object({
  severity,
  /** client id → caller IDs it may present besides its own numbers. */
  consented: z.record(z.string(), z.array(z.string())),
  provenance: provenanceSchema,
});
const hyperShortCalls = z.object({
  below_seconds: z.number().positive(),
  window_minutes: z.number().int().positive(),
  min_count: z.number().int().positive(),
  min_ratio: z.number().min(0).max(1),
  severity,
  provenance: provenanceSchema,
});
const premiumDestination = z.object({
  classes: z.array(z.enum(DESTINATION_CLASSES)),
  /** Replaces the high-risk ranges file for this detector (E.164 digits without "+"); the file when absent. */
  irsf_prefixes: z.array(z.string().regex(/^\d+$/)).optional(),
  window_minutes: z.number().int().positive(),
  max_calls: z.number().int().positive(),
  max_spend: money,
  severity,
  provenance: provenanceSchema,
});
/**
 * Bursts of failed outgoing attempts (not answered: no answer, busy, failed, rejected) to international,
 * premium or high-risk destinations, per account, in a sliding window: toll-fraud probing.
 */
const failedAttempts = z.object({
  /** Destination classes counted besides the high-risk ranges; numbers abroad that no metadata knows count as international. */
  classes: z.array(z.enum(DESTINATION_CLASSES)),
  window_minutes: z.number().int().positive(),
  /** Alert from this many failed attempts within window_minutes (first to last strictly less than the window apart). */
  min_attempts: z.number().int().min(2),
  severity,
  provenance: provenanceSchema,
});
/**
 * Wangiri: short inbound rings from abroad, then call-backs from the client to the ringing numbers
 * within a window; the alert is on the call-backs.
 */
const wangiri = z.object({
  /** Classes of the calling number that count as from abroad, besides the high-risk ranges. */
  classes: z.array(z.enum(DESTINATION_CLASSES)),
  /** An unanswered inbound call is a lure when it rang less than this (set-up to hang-up). */
  ring_below_seconds: z.number().positive(),
  /** An answered inbound call is a lure when it lasted less than this after the answer. */
  answered_below_seconds: z.number().min(0),
  window_hours: z.number().positive().max(168),
  /** Alert from this many call-backs (attempts, answered or not) per client and day. */
  min_callbacks: z.number().int().positive(),
  severity,
  provenance: provenanceSchema,
});
const spendVelocity = z.object({
  hour_ceiling: money,
  day_ceiling: money,
  baseline_multiplier: z.number().positive(),
  baseline_days: z.number().int().positive(),
  baseline_min_day: money,
  severity,
  provenance: provenanceSchema,
});

const detectors = {
  call_setup_rate: callSetupRate,
  premium_cli: premiumCli,
  cli_policy: cliPolicy,
  hyper_short_calls: hyperShortCalls,
  premium_destination: premiumDestination,
  spend_velocity: spendVelocity,
  failed_attempts: failedAttempts,
  wangiri,
};

/**
 * What the switch is told at call setup (core/fraud/call-authorization.ts, POST/GET /api/v1/authorize).
 * The setup rate is call_setup_rate's (its max_per_second and scope); the high-risk ranges are
 * premium_destination's (its irsf_prefixes, else config/high-risk-ranges.yaml).
 */
const callAuthorization = z
  .object({
    /** Refuse the setups above call_setup_rate.max_per_second, in its scope. */
    setup_rate: z.boolean(),
    /** At most this many calls in progress per account: `channels` (the directory's column), a number, or `off`. */
    simultaneous_calls: z.union([z.enum(['channels', 'off']), z.number().int().positive()]),
    /** A call whose end notice never came stops counting after this many minutes. */
    lost_end_minutes: z.number().int().positive().max(24 * 60),
    /** Refuse calls to the high-risk ranges (premium_destination's; never a French fixed number). */
    refuse_high_risk: z.boolean(),
    /** Destination classes refused at setup (e.g. fr_premium); emergency can never be refused. */
    refuse_classes: z.array(z.enum(DESTINATION_CLASSES).exclude(['emergency'])),
    /** Refuse calls abroad to countries the subscriber's plan does not include (its bundle). */
    refuse_abroad_outside_plan: z.boolean().default(false),
    provenance: provenanceSchema.optional(),
  })
  .strict();
export type CallAuthorizationConfig = z.infer<typeof callAuthorization>;
const CALL_AUTHORIZATION_DEFAULT: CallAuthorizationConfig = {
  setup_rate: true, simultaneous_calls: 'channels', lost_end_minutes: 240, refuse_high_risk: false, refuse_classes: [], refuse_abroad_outside_plan: false,
};

/**
 * How the desk groups alerts into cases (services/store/desk/case-grouping.ts): open alerts of the same
 * client (and user) whose windows overlap or lie at most gap_minutes apart are one incident.
 */
/**
 * What an alert of a rule does at once (core/fraud/lock-policy.ts): a lock level on the accounts in its
 * scope, lifted by a person (review) or by itself after for_minutes (expiry).
 */
const lockPolicy = z
  .object({
    lock: z.enum(LOCK_LEVELS),
    lift: z.enum(['review', 'expiry']).default('review'),
    for_minutes: z.number().int().positive().max(366 * 24 * 60).optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.lift === 'expiry' && p.for_minutes === undefined) ctx.addIssue({ code: 'custom', path: ['for_minutes'], message: 'lift: expiry needs for_minutes (how long the lock lasts)' });
    if (p.lift === 'review' && p.for_minutes !== undefined) ctx.addIssue({ code: 'custom', path: ['for_minutes'], message: 'for_minutes applies to lift: expiry only; a lock lifted on review lasts until a person lifts it' });
  });
const DETECTOR_RULES = ['call_setup_rate', 'premium_cli', 'cli_policy', 'hyper_short_calls', 'premium_destination', 'spend_velocity', 'failed_attempts', 'wangiri'].map((d) => `fraud.${d}`) as [string, ...string[]];

const caseGrouping = z.object({ gap_minutes: z.number().int().min(0).max(1440) }).strict();

/** What config/fraud.yaml holds; loadConfig adds the high-risk ranges it names (FraudConfig). */
export const fraudConfigSchema = z.object({
  ...detectors,
  /** The high-risk ranges file (config/high-risk-ranges.yaml), relative to the configuration directory. */
  high_risk_ranges: z.string().min(1).default('high-risk-ranges.yaml'),
  case_grouping: caseGrouping.default({ gap_minutes: 30 }),
  call_authorization: callAuthorization.default(CALL_AUTHORIZATION_DEFAULT),
  /** Per alert rule (fraud.premium_destination, …): the lock its alerts set at once. Rules not named set none. */
  policies: z.partialRecord(z.enum(DETECTOR_RULES), lockPolicy).default({}),
  overrides: z
    .record(
      z.string(),
      z.object({
        call_setup_rate: callSetupRate.partial().optional(),
        premium_cli: premiumCli.partial().optional(),
        cli_policy: cliPolicy.partial().optional(),
        hyper_short_calls: hyperShortCalls.partial().optional(),
        premium_destination: premiumDestination.partial().optional(),
        spend_velocity: spendVelocity.partial().optional(),
        call_authorization: callAuthorization.partial().optional(),
        failed_attempts: failedAttempts.partial().optional(),
        wangiri: wangiri.partial().optional(),
      }),
    )
    .default({}),
});
export type FraudFile = z.infer<typeof fraudConfigSchema>;
/** The detectors' settings with the high-risk ranges loaded from the file fraud.yaml names. */
export type FraudConfig = FraudFile & { highRisk: HighRiskRanges };
export type DetectorName = keyof typeof detectors;
export type DetectorConfig<K extends DetectorName> = FraudConfig[K];

/** A detector's settings for one client: the defaults, with the client's overrides on top. */
export function settingsFor<K extends DetectorName>(config: FraudConfig, detector: K, clientId: string): DetectorConfig<K> {
  const override = config.overrides[clientId]?.[detector];
  return override === undefined ? config[detector] : ({ ...config[detector], ...override } as DetectorConfig<K>);
}

/** The call-authorization policy for one client: the defaults, with the client's overrides on top. */
export function authorizationSettingsFor(config: FraudConfig, clientId: string): CallAuthorizationConfig {
  const override = config.overrides[clientId]?.call_authorization;
  return override === undefined ? config.call_authorization : { ...config.call_authorization, ...override };
}
