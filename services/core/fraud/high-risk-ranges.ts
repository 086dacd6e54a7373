/**
 * High-risk number ranges as data (config/high-risk-ranges.yaml): ranges abused for international
 * revenue share fraud (IRSF), international premium rate (+979), satellite and global networks (+870,
 * +881, +882, +883). Each range has a category and where it comes from; the file is validated on load,
 * and the fraud detectors match a called (or calling) number against it by longest prefix.
 */
import { z } from 'zod';

export const HIGH_RISK_CATEGORIES = [
  /** Geographic ranges often seen as IRSF or wangiri destinations (high termination rates). */
  'irsf',
  /** ITU international premium rate service (+979, UIPRN). */
  'international_premium_rate',
  /** Satellite services: Inmarsat (+870), Global Mobile Satellite Systems (+881). */
  'satellite',
  /** ITU shared codes for international networks (+882, +883). */
  'international_network',
] as const;
export type HighRiskCategory = (typeof HIGH_RISK_CATEGORIES)[number];

const sourceSchema = z.object({ title: z.string().min(1), url: z.string().url() }).strict();

const rangeSchema = z
  .object({
    /** E.164 digits without "+": a country code, or a country code and the first digits of a range. */
    prefix: z.string().regex(/^[1-9]\d{0,7}$/, 'prefix is E.164 digits without "+", e.g. "882" or "3712"'),
    category: z.enum(HIGH_RISK_CATEGORIES),
    name: z.string().min(1),
    sources: z.array(sourceSchema).min(1),
    note: z.string().optional(),
  })
  .strict();
export type HighRiskRange = z.infer<typeof rangeSchema>;

export const highRiskRangesSchema = z
  .object({
    /** When the list was last checked against its sources (YYYY-MM-DD). */
    reviewed: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'reviewed is a date, YYYY-MM-DD'),
    ranges: z.array(rangeSchema).min(1),
  })
  .strict()
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.ranges.forEach((r, i) => {
      if (seen.has(r.prefix)) ctx.addIssue({ code: 'custom', path: ['ranges', i, 'prefix'], message: `prefix "${r.prefix}" is listed twice` });
      seen.add(r.prefix);
    });
  });

export class HighRiskRanges {
  private readonly byPrefix: Map<string, HighRiskRange>;
  private readonly lengths: number[];

  constructor(readonly ranges: readonly HighRiskRange[]) {
    this.byPrefix = new Map(ranges.map((r) => [r.prefix, r]));
    this.lengths = [...new Set(ranges.map((r) => r.prefix.length))].sort((a, b) => b - a);
  }

  /** A list of bare prefixes (a per-detector or per-client override): category irsf, no source. */
  static ofPrefixes(prefixes: readonly string[]): HighRiskRanges {
    return new HighRiskRanges(prefixes.map((prefix) => ({ prefix, category: 'irsf' as const, name: `+${prefix}`, sources: [] })));
  }

  static readonly NONE = new HighRiskRanges([]);

  /** The longest listed range an E.164 number (`+…`) falls in; undefined for any other number. */
  match(e164: string): HighRiskRange | undefined {
    if (!e164.startsWith('+')) return undefined;
    for (const len of this.lengths) {
      const r = this.byPrefix.get(e164.slice(1, 1 + len));
      if (r !== undefined) return r;
    }
    return undefined;
  }

  get prefixes(): string[] {
    return [...this.byPrefix.keys()];
  }
}
