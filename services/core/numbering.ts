/**
 * Numbering plan: normalises dialled numbers to E.164 and tells which destination class a callee is in.
 * French ranges come from config/numbering.yaml; everything outside +33 goes to libphonenumber-js metadata,
 * never to hand-written country tables.
 */
import { z } from 'zod';
import { parsePhoneNumberFromString, type NumberType } from 'libphonenumber-js/max';
import { isInternalParty } from './internal-party.js';

export const DESTINATION_CLASSES = [
  'fr_fixed',
  'fr_mobile',
  'fr_drom_fixed',
  'fr_drom_mobile',
  /** 08 SVA not otherwise told apart (083–088). */
  'fr_special',
  /** 0800–0805: free to the caller (ARCEP « numéro vert »). */
  'fr_freephone',
  /** 0806–0809: SVA at the price of an ordinary call. */
  'fr_special_normal',
  /** 081, 082 (but 0825): shared-cost SVA. */
  'fr_shared_cost',
  /** 089 and 0825: premium rate (« tarification majorée »). */
  'fr_premium',
  /** 3BPQ with B = 2–9, and 1XY short numbers: paid. */
  'fr_short',
  /** 30PQ and 31PQ: free to the caller. */
  'fr_short_free',
  'fr_directory',
  'emergency',
  'internal',
  'international',
  'unknown',
] as const;
export type DestinationClass = (typeof DESTINATION_CLASSES)[number];

/** Whether a number reaches a fixed line or a mobile; NANP numbers often cannot be told apart. */
export type LineKind = 'fixed' | 'mobile' | 'fixed_or_mobile' | 'other';

export interface Destination {
  cls: DestinationClass;
  /** ISO 3166 alpha-2, empty for short numbers and unknown ranges. */
  country: string;
  kind: LineKind;
  /** French sub-ranges the caller-ID rules look at. */
  automatedRange: boolean;
  platformRange: boolean;
}

export const numberingSchema = z.object({
  country_code: z.string().regex(/^\d{1,3}$/),
  country: z.string().length(2),
  national_blocks_abroad: z.array(
    z.object({ blocks: z.array(z.string().regex(/^\d+$/)).min(1), country_code: z.string().regex(/^\d{1,3}$/) }),
  ),
  drom_countries: z.array(z.string().length(2)),
  classes: z.array(z.object({ prefix: z.string().regex(/^\d+$/), class: z.enum(DESTINATION_CLASSES) })).min(1),
  automated_ranges: z.array(z.string().regex(/^\d+$/)),
  platform_ranges: z.array(z.string().regex(/^\d+$/)),
  emergency: z.array(z.string().regex(/^\d+$/)),
  short_numbers: z.array(z.object({ pattern: z.string(), class: z.enum(DESTINATION_CLASSES) })),
});
export type NumberingConfig = z.infer<typeof numberingSchema>;

/** Why a number could not be normalised; becomes the reject reason `invalid_number`. */
export class InvalidNumber extends Error {}

const CACHE_LIMIT = 200_000;
/** Longest national prefix that classes may look at for the table by prefix (10^n entries at most). */
const PREFIX_TABLE_MAX_DIGITS = 5;

export class NumberingPlan {
  private readonly home: string;
  /** ISO 3166 code of the plan's own country: national numbers are read in it. */
  readonly homeCountry: string;
  private readonly abroad = new Map<string, string>();
  private readonly classes: Map<string, DestinationClass>;
  private readonly classPrefixLengths: number[];
  private readonly drom: Set<string>;
  private readonly automated: string[];
  private readonly platform: string[];
  private readonly emergency: string[];
  private readonly shortNumbers: { re: RegExp; cls: DestinationClass }[];
  private readonly cache = new Map<string, Destination>();
  /**
   * A home number's destination depends only on its first national digits (classes, 0ZAB and platform
   * ranges are prefixes): the destination of each such prefix, indexed by its digits, so that the
   * numbers of the home country (most of the traffic) skip the cache by whole number.
   */
  private readonly prefixDigits: number;
  private readonly byPrefix: (Destination | undefined)[];

  constructor(config: NumberingConfig) {
    this.home = config.country_code;
    this.homeCountry = config.country;
    for (const group of config.national_blocks_abroad) {
      for (const block of group.blocks) this.abroad.set(block, group.country_code);
    }
    this.classes = new Map(config.classes.map((c) => [c.prefix, c.class]));
    this.classPrefixLengths = [...new Set(config.classes.map((c) => c.prefix.length))].sort((a, b) => b - a);
    this.drom = new Set(config.drom_countries);
    this.automated = config.automated_ranges;
    this.platform = config.platform_ranges;
    this.emergency = config.emergency;
    this.shortNumbers = config.short_numbers.map((s) => ({ re: new RegExp(s.pattern), cls: s.class }));
    const digits = Math.max(...this.classPrefixLengths, ...this.automated.map((p) => p.length), ...this.platform.map((p) => p.length));
    this.prefixDigits = digits <= PREFIX_TABLE_MAX_DIGITS ? digits : 0;
    this.byPrefix = new Array<Destination | undefined>(this.prefixDigits === 0 ? 0 : 10 ** this.prefixDigits);
  }

  /**
   * Dialled or presented number → E.164 (`+33142…`), or the digits of a short number (`3949`, `15`).
   * Accepts national (0X…), international (00…, +…) and E.164 without its plus (11 digits or more).
   * Throws InvalidNumber for anything else: a number we cannot place is never billed by guess.
   */
  normalize(raw: string): string {
    const digits = raw.replace(/[\s.\-()/]/g, '');
    if (digits === '') throw new InvalidNumber('empty number');
    if (digits.startsWith('+')) return this.checkE164(digits);
    if (!/^\d+$/.test(digits)) throw new InvalidNumber(`not a phone number: ${JSON.stringify(raw)}`);
    if (digits.startsWith('00')) return this.checkE164('+' + digits.slice(2));
    if (digits.startsWith('0')) {
      if (digits.length !== 10) throw new InvalidNumber(`national number must have 10 digits: ${digits}`);
      const nsn = digits.slice(1);
      const abroad = this.abroad.get(nsn.slice(0, 3));
      return abroad ? `+${abroad}${nsn}` : `+${this.home}${nsn}`;
    }
    if (digits.length <= 6) return digits;
    if (digits.length >= 11) return this.checkE164('+' + digits);
    throw new InvalidNumber(`ambiguous number (neither national, international nor short): ${digits}`);
  }

  private checkE164(n: string): string {
    if (!/^\+[1-9]\d{6,14}$/.test(n)) throw new InvalidNumber(`not a valid E.164 number: ${n}`);
    if (n.startsWith('+' + this.home) && n.length !== this.home.length + 10) {
      throw new InvalidNumber(`French number must have 9 digits after +${this.home}: ${n}`);
    }
    return n;
  }

  /** Destination of a normalised callee. Cached: the classifier is on the rating hot path. */
  classify(callee: string): Destination {
    const prefix = this.homePrefix(callee);
    if (prefix >= 0) {
      let home = this.byPrefix[prefix];
      if (home === undefined) this.byPrefix[prefix] = home = this.classifyUncached(callee);
      return home;
    }
    let d = this.cache.get(callee);
    if (d === undefined) {
      d = this.classifyUncached(callee);
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(callee, d);
    }
    return d;
  }

  /** The first national digits of a home E.164 number as an integer (see byPrefix); -1 for any other number. */
  private homePrefix(n: string): number {
    const start = 1 + this.home.length;
    if (this.prefixDigits === 0 || n.length < start + this.prefixDigits || n.charCodeAt(0) !== 43 /* + */ || !n.startsWith(this.home, 1)) return -1;
    let key = 0;
    for (let i = start; i < start + this.prefixDigits; i++) {
      const d = n.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return -1;
      key = key * 10 + d;
    }
    return key;
  }

  /** Whether a normalised number is outside the plan's own country code (DROM numbers included). */
  isAbroad(e164: string): boolean {
    return e164.startsWith('+') && !e164.startsWith(this.home, 1);
  }

  /** The country calling code of an E.164 number (`+882…` → "882"), from libphonenumber-js; '' when none. */
  callingCode(e164: string): string {
    return parsePhoneNumberFromString(e164)?.countryCallingCode ?? '';
  }

  /** True for numbers that must never be blocked or sanctioned (R-NUM-11X-EMERG, C20). */
  isEmergency(callee: string): boolean {
    return this.classify(callee).cls === 'emergency';
  }

  private classifyUncached(callee: string): Destination {
    if (isInternalParty(callee)) return dest('internal', '', 'other');
    if (!callee.startsWith('+')) return this.classifyShort(callee);
    if (callee.startsWith('+' + this.home)) return this.classifyHome(callee.slice(1 + this.home.length));
    return this.classifyAbroad(callee);
  }

  private classifyShort(digits: string): Destination {
    const emergency = this.emergency.some((e) => digits === e || (e.length === 3 && digits.length === 6 && digits.startsWith(e)));
    if (emergency) return dest('emergency', this.homeCountry, 'other');
    for (const s of this.shortNumbers) if (s.re.test(digits)) return dest(s.cls, this.homeCountry, 'other');
    return dest('unknown', '', 'other');
  }

  private classifyHome(nsn: string): Destination {
    let cls: DestinationClass = 'unknown';
    for (const len of this.classPrefixLengths) {
      const c = this.classes.get(nsn.slice(0, len));
      if (c !== undefined) {
        cls = c;
        break;
      }
    }
    const kind: LineKind = cls === 'fr_mobile' ? 'mobile' : cls === 'fr_fixed' ? 'fixed' : 'other';
    return {
      cls,
      country: this.homeCountry,
      kind,
      automatedRange: this.automated.some((p) => nsn.startsWith(p)),
      platformRange: this.platform.some((p) => nsn.startsWith(p)),
    };
  }

  private classifyAbroad(callee: string): Destination {
    const parsed = parsePhoneNumberFromString(callee);
    if (parsed === undefined || !parsed.isValid()) {
      return dest('unknown', parsed?.country ?? '', 'other');
    }
    const country = parsed.country ?? '';
    const kind = lineKind(parsed.getType());
    if (this.drom.has(country)) {
      return dest(kind === 'mobile' ? 'fr_drom_mobile' : 'fr_drom_fixed', country, kind);
    }
    return dest('international', country, kind);
  }
}

function dest(cls: DestinationClass, country: string, kind: LineKind): Destination {
  return { cls, country, kind, automatedRange: false, platformRange: false };
}

function lineKind(type: NumberType): LineKind {
  switch (type) {
    case 'FIXED_LINE':
      return 'fixed';
    case 'MOBILE':
      return 'mobile';
    case 'FIXED_LINE_OR_MOBILE':
      return 'fixed_or_mobile';
    default:
      return 'other';
  }
}
