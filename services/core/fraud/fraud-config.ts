/**
 * Thresholds of the fraud detectors (config/fraud.yaml), with the contract line or the software-default
 * note each comes from, and per-client overrides.
 */
import { z } from 'zod';
import { DECIMAL_TEXT } from '../money.js';
import { DESTINATION_CLASSES } from '../numbering.js';
import { provenanceSchema } from '../plan.js';

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
  irsf_prefixes: z.array(z.string().regex(/^\d+$/)),
  window_minutes: z.number().int().positive(),
  max_calls: z.number().int().positive(),
  max_spend: money,
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
};

/**
 * How the desk groups alerts into cases (services/store/desk/case-grouping.ts): open alerts of the same
 * client (and user) whose windows overlap or lie at most gap_minutes apart are one incident.
 */
/**
 * What the switch is told at call setup (core/fraud/call-authorization.ts, POST/GET /api/v1/authorize).
 * The setup rate is call_setup_rate's (its max_per_second and scope); the high-risk ranges are
 * premium_destination's irsf_prefixes.
 */
const callAuthorization = z
  .object({
    /** Refuse the setups above call_setup_rate.max_per_second, in its scope. */
    setup_rate: z.boolean(),
    /** At most this many calls in progress per account: `channels` (the directory's column), a number, or `off`. */
    simultaneous_calls: z.union([z.enum(['channels', 'off']), z.number().int().positive()]),
    /** A call whose end notice never came stops counting after this many minutes. */
    lost_end_minutes: z.number().int().positive().max(24 * 60),
    /** Refuse calls to premium_destination.irsf_prefixes (never a French fixed number). */
    refuse_high_risk: z.boolean(),
    /** Destination classes refused at setup (e.g. fr_premium); emergency can never be refused. */
    refuse_classes: z.array(z.enum(DESTINATION_CLASSES).exclude(['emergency'])),
    provenance: provenanceSchema.optional(),
  })
  .strict();
export type CallAuthorizationConfig = z.infer<typeof callAuthorization>;
const CALL_AUTHORIZATION_DEFAULT: CallAuthorizationConfig = {
  setup_rate: true, simultaneous_calls: 'channels', lost_end_minutes: 240, refuse_high_risk: false, refuse_classes: [],
};

const caseGrouping = z.object({ gap_minutes: z.number().int().min(0).max(1440) }).strict();

export const fraudConfigSchema = z.object({
  ...detectors,
  case_grouping: caseGrouping.default({ gap_minutes: 30 }),
  call_authorization: callAuthorization.default(CALL_AUTHORIZATION_DEFAULT),
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
      }),
    )
    .default({}),
});
export type FraudConfig = z.infer<typeof fraudConfigSchema>;
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
