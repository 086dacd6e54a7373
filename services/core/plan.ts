/**
 * Plans (forfaits) as data: what the monthly fee includes, the fair-use clauses that take calls out
 * of it, and what happens then. One YAML file per offer under config/plans/, validated here; every
 * threshold carries the contract line it comes from.
 */
import { z } from 'zod';
import { DIRECTIONS, FORWARD_REASONS, LEGS, LINE_TYPES } from './cdr.js';
import type { Zone } from './calendar.js';
import { DESTINATION_CLASSES } from './numbering.js';
import type { Tariff } from './tariff.js';

export const provenanceSchema = z.object({
  provider: z.string().min(1),
  seed: z.string().min(1),
  section: z.string().min(1),
  lines: z.string().regex(/^\d+(-\d+)?(, ?\d+(-\d+)?)*$/, 'lines are "4232-4233" or "536, 631"'),
  quote: z.string().optional(),
  /** Where the contract is silent or ambiguous, the reading this file takes (contract-rules ⚠). */
  interpretation: z.string().optional(),
});
export type Provenance = z.infer<typeof provenanceSchema>;

const countrySchema = z.object({
  country: z.string().regex(/^[A-Z]{2}$/, 'ISO 3166 alpha-2 code, e.g. DE'),
  /** Which lines of the country are included: fixed, mobile or both. */
  lines: z.array(z.enum(['fixed', 'mobile'])).min(1),
});

/** Which calls a fair-use counter counts (contract-rules §5: "which calls count"). */
const countsSchema = z
  .object({
    answered_only: z.boolean().default(true),
    directions: z.array(z.enum(DIRECTIONS)).default(['out']),
    legs: z.array(z.enum(LEGS)).default(['originating']),
    /** Restrict to these destination classes; by default every destination the bundle includes. */
    classes: z.array(z.enum(DESTINATION_CLASSES)).optional(),
    /** Only forwarded legs with these reasons (e.g. [unconditional] for « renvoi permanent »). */
    forward_reasons: z.array(z.enum(FORWARD_REASONS)).optional(),
    /** Concurrency: a call occupies the line from answer (default) or from setup to its end. */
    interval: z.enum(['answer', 'setup']).default('answer'),
  })
  .default({ answered_only: true, directions: ['out'], legs: ['originating'], interval: 'answer' });

export const SANCTION_SCOPES = ['excess_only', 'suspend_unlimited', 'retroactive_month'] as const;
export type SanctionScope = (typeof SANCTION_SCOPES)[number];

const sanctionSchema = z.object({
  /**
   * excess_only: only what lies beyond the threshold is priced (calls to the 151st and later new
   * numbers, seconds past 40 h, the 4th simultaneous call);
   * suspend_unlimited: from the crossing on, every counted call of the month is priced;
   * retroactive_month: once crossed, every counted call of the month is priced, earlier ones by
   * adjustment lines (« facturer ces minutes rétroactivement »).
   */
  scope: z.enum(SANCTION_SCOPES),
  /** Contractual penalty on top of the per-minute price, e.g. ProgetCom 400 %. */
  penalty: z
    .object({
      percent: z.number().positive(),
      /** additive: price × (1 + percent/100) (« majoré des pénalités »); total: price × percent/100. */
      mode: z.enum(['additive', 'total']).default('additive'),
      provenance: provenanceSchema,
    })
    .optional(),
});

export const METRICS = ['distinct_numbers', 'outbound_seconds', 'forwarded_seconds', 'concurrent_calls'] as const;
export type Metric = (typeof METRICS)[number];

/** The rule id a metric's crossing is reported under (in `reason` and in alerts). */
export const METRIC_RULE_IDS: Record<Metric, string> = {
  distinct_numbers: 'fair_use.distinct_numbers',
  outbound_seconds: 'fair_use.duration',
  forwarded_seconds: 'fair_use.forwarding',
  concurrent_calls: 'fair_use.concurrent_calls',
};

const fairUseSchema = z.object({
  metric: z.enum(METRICS),
  scope: z.enum(['user', 'line', 'site', 'client']),
  /** Crossed when the counter goes above it (the contracts say « plus de 150 »). Seconds for durations. */
  threshold: z.number().int().positive(),
  /** Per-line-type thresholds (VGA: 150 per analog line, 400 per T0 access). */
  threshold_by_line_type: z.partialRecord(z.enum(LINE_TYPES), z.number().int().positive()).optional(),
  /** Threshold × the line's subscribed channels (Trunk SIP « par canal »). */
  per_channel: z.boolean().default(false),
  counts: countsSchema,
  sanction: sanctionSchema,
  provenance: provenanceSchema,
});
export type FairUseRule = z.infer<typeof fairUseSchema>;

const bundleSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('unlimited') }),
  z.object({
    mode: z.literal('pooled'),
    /** Orange WTE: 500 minutes per user, pooled per site per calendar month, no rollover. */
    minutes_per_user: z.number().int().positive(),
    scope: z.enum(['site', 'client']),
    provenance: provenanceSchema,
  }),
  z.object({ mode: z.literal('metered') }),
]);

export const planSchema = z.object({
  id: z.string().regex(/^[a-z0-9_]+$/, 'plan ids are lower_snake_case'),
  name: z.string().min(1),
  provider: z.string().min(1),
  zone: z.string().default('Europe/Paris'),
  /** Id of the tariff (config/tariffs/<id>.yaml) that prices what the bundle does not cover. */
  tariff: z.string().min(1),
  bill_inbound: z.boolean().default(false),
  bundle: bundleSchema,
  /** National classes the bundle includes (fr_fixed, fr_mobile, fr_drom_fixed …). */
  included_classes: z.array(z.enum(DESTINATION_CLASSES)).default([]),
  /** International destinations included, with fixed vs mobile per country. */
  included_countries: z.array(countrySchema).default([]),
  /** How a number the metadata cannot place (NANP: fixed or mobile) counts against a country's lines. */
  fixed_or_mobile_counts_as: z.enum(['fixed', 'mobile', 'excluded']).default('fixed'),
  inclusion_provenance: provenanceSchema,
  /** Forwarded and transferred legs that the bundle does not cover (R-FAIR-FWD, per provider). */
  forwarding: z
    .object({
      excluded_legs: z.array(z.enum(['forwarded', 'transferred'])).default([]),
      /** Limit the exclusion to these diversion reasons; absent = every reason. */
      excluded_forward_reasons: z.array(z.enum(FORWARD_REASONS)).optional(),
      provenance: provenanceSchema.optional(),
    })
    .default({ excluded_legs: [] }),
  fair_use: z.array(fairUseSchema).default([]),
  notes: z.array(z.string()).default([]),
});
export type PlanConfig = z.infer<typeof planSchema>;

/** A loaded plan: its configuration with its calendar and tariff resolved. */
export interface Plan extends PlanConfig {
  calendar: Zone;
  tariffTable: Tariff;
  /** The file it was read from, for explanations. */
  file: string;
}
