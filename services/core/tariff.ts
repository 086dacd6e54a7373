/**
 * Tariffs as prefix tables, in the manner of CGRateS destinations and rates: an entry for the
 * destination class wins (premium, special and short numbers are priced as a class whatever their
 * prefix), then the longest matching E.164 prefix, then the tariff's default.
 * Charging rules (first period, increment, minimum, connection fee, rounding, cap) are per entry,
 * because no seed fixes them (R-BILL-GRANULARITY): they come from each operator's price list.
 */
import { z } from 'zod';
import { DESTINATION_CLASSES, type DestinationClass } from './numbering.js';
import { DECIMAL_TEXT, Money, ROUNDING_MODES, ZERO, money, type RoundingMode } from './money.js';

const decimalText = z
  .union([z.string(), z.number()])
  .transform((v) => (typeof v === 'number' ? String(v) : v.trim()))
  .refine((v) => DECIMAL_TEXT.test(v), 'must be a decimal amount such as "0.0250"');

const chargingShape = {
  connection_fee: decimalText.optional(),
  first_period: z.number().int().min(0).optional(),
  increment: z.number().int().min(1).optional(),
  minimum: z.number().int().min(0).optional(),
  rounding: z.enum(Object.keys(ROUNDING_MODES) as [RoundingMode, ...RoundingMode[]]).optional(),
  decimals: z.number().int().min(0).max(8).optional(),
  cap: decimalText.optional(),
};

const entrySchema = z
  .object({
    prefix: z.string().regex(/^\d+$/, 'prefix is the E.164 digits without "+", e.g. "336"').optional(),
    class: z.enum(DESTINATION_CLASSES).optional(),
    name: z.string().min(1),
    per_minute: decimalText,
    valid_from: z.iso.date().optional(),
    valid_until: z.iso.date().optional(),
    ...chargingShape,
  })
  .refine((e) => (e.prefix === undefined) !== (e.class === undefined), 'an entry has either a prefix or a class, not both');

export const tariffSchema = z.object({
  id: z.string().regex(/^[a-z0-9_]+$/),
  currency: z.string().length(3),
  /** True when the prices are invented for the example: the seeds give none. */
  example_prices: z.boolean(),
  note: z.string().optional(),
  charging: z.object(chargingShape).default({}),
  default: z.object({ name: z.string(), per_minute: decimalText, ...chargingShape }),
  entries: z.array(entrySchema),
});
export type TariffConfig = z.infer<typeof tariffSchema>;

/** A priced destination with its charging rules resolved. */
export interface TariffEntry {
  /** What the rated CDR cites: "prefix 336", "class fr_premium" or "default". */
  key: string;
  name: string;
  perMinute: Money;
  connectionFee: Money;
  firstPeriod: number;
  increment: number;
  minimum: number;
  rounding: RoundingMode;
  decimals: number;
  cap: Money | null;
  /** Calendar days (YYYY-MM-DD) in the zone of the plan that prices the call: from included, until excluded. */
  validFrom: string;
  validUntil: string;
}

export class Tariff {
  readonly id: string;
  readonly currency: string;
  readonly exampleOnly: boolean;
  /** By prefix, keyed by prefixKey: a lookup reads the callee's digits as numbers, without slicing it. */
  private readonly byPrefix = new Map<number, TariffEntry[]>();
  private readonly byClass = new Map<DestinationClass, TariffEntry[]>();
  private readonly fallback: TariffEntry;
  private readonly longestPrefix: number;

  constructor(config: TariffConfig) {
    this.id = config.id;
    this.currency = config.currency;
    this.exampleOnly = config.example_prices;
    const base = config.charging;
    const resolve = (key: string, e: z.infer<typeof entrySchema> | TariffConfig['default']): TariffEntry => ({
      key,
      name: e.name,
      perMinute: money(e.per_minute),
      connectionFee: money(e.connection_fee ?? base.connection_fee ?? '0'),
      firstPeriod: e.first_period ?? base.first_period ?? 60,
      increment: e.increment ?? base.increment ?? 60,
      minimum: e.minimum ?? base.minimum ?? 0,
      rounding: e.rounding ?? base.rounding ?? 'half_up',
      decimals: e.decimals ?? base.decimals ?? 4,
      cap: e.cap !== undefined ? money(e.cap) : base.cap !== undefined ? money(base.cap) : null,
      validFrom: 'valid_from' in e && e.valid_from ? e.valid_from : '0000-01-01',
      validUntil: 'valid_until' in e && e.valid_until ? e.valid_until : '9999-12-31',
    });
    for (const e of config.entries) {
      if (e.prefix !== undefined) push(this.byPrefix, prefixKey(e.prefix.length, Number(e.prefix)), resolve(`prefix ${e.prefix}`, e));
      else push(this.byClass, e.class!, resolve(`class ${e.class}`, e));
    }
    this.fallback = resolve('default', config.default);
    this.longestPrefix = Math.max(0, ...config.entries.map((e) => e.prefix?.length ?? 0));
  }

  /**
   * Entry for a callee on the call's day (`day`, YYYY-MM-DD in the plan's zone: a price list changes at
   * local midnight, not at UTC midnight): class, then longest prefix, then default.
   */
  lookup(callee: string, cls: DestinationClass, day: string): TariffEntry {
    const byClass = effective(this.byClass.get(cls), day);
    if (byClass) return byClass;
    if (callee.startsWith('+')) {
      // The callee's first digits as a number, then one digit fewer at a time: longest prefix first.
      // An E.164 number has 15 digits at most, which a double holds exactly.
      let len = 0;
      let value = 0;
      while (len < Math.min(this.longestPrefix, 15) && 1 + len < callee.length) {
        const d = callee.charCodeAt(1 + len) - 48;
        if (d < 0 || d > 9) break;
        value = value * 10 + d;
        len++;
      }
      for (; len > 0; len--, value = Math.floor(value / 10)) {
        const hit = effective(this.byPrefix.get(prefixKey(len, value)), day);
        if (hit) return hit;
      }
    }
    return this.fallback;
  }
}

/** A prefix of `len` digits whose value is `value`: one number per prefix ("33" and "033" differ). */
function prefixKey(len: number, value: number): number {
  return 10 ** len + value;
}

function push<K>(map: Map<K, TariffEntry[]>, key: K, entry: TariffEntry): void {
  const list = map.get(key);
  if (list) list.push(entry);
  else map.set(key, [entry]);
}

function effective(entries: TariffEntry[] | undefined, day: string): TariffEntry | undefined {
  return entries?.find((e) => day >= e.validFrom && day < e.validUntil);
}

/** Seconds actually charged: the first period, then whole increments, never below the minimum. */
export function chargedSeconds(entry: TariffEntry, seconds: number): number {
  if (seconds <= 0) return 0;
  let charged = entry.firstPeriod;
  if (seconds > entry.firstPeriod) charged += Math.ceil((seconds - entry.firstPeriod) / entry.increment) * entry.increment;
  return Math.max(charged, entry.minimum);
}

/**
 * Price of `seconds` of a call. The connection fee is charged with the whole call, not with the
 * remainder of a call that a bundle or pool covered in part. `multiplier` carries a contractual
 * penalty (ProgetCom 400 %: ×5). Rounded once, at the end, as the tariff says.
 */
export function priceSeconds(entry: TariffEntry, seconds: number, wholeCall: boolean, multiplier: Money | null = null): Money {
  if (seconds <= 0) return ZERO;
  let amount = entry.perMinute.times(chargedSeconds(entry, seconds)).dividedBy(60);
  if (wholeCall) amount = amount.plus(entry.connectionFee);
  if (entry.cap !== null && amount.greaterThan(entry.cap)) amount = entry.cap;
  if (multiplier !== null) amount = amount.times(multiplier);
  return amount.toDecimalPlaces(entry.decimals, ROUNDING_MODES[entry.rounding]) as Money;
}

export { Money };
