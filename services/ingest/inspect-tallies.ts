/**
 * The bounded tallies behind `cdr inspect`: who the directory does not know, which routes the calls took,
 * which short numbers look like extensions and which digits look like an outside-line prefix. Each keeps
 * counts and a few examples per key, with a cap on the keys, never the records: a month of a large PBX
 * (a million lines) is inspected in the memory of a small one. What passes a cap is counted as `dropped`.
 */
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import type { ExportFormat } from './readers/detect-format.js';

/** A map of at most `cap` keys; a key that comes after the cap is only counted. */
export class BoundedTally<V> {
  private readonly map = new Map<string, V>();
  dropped = 0;

  constructor(
    private readonly cap: number,
    private readonly fresh: () => V,
  ) {}

  /** The entry of `key`, created if there is room; undefined when the cap is reached. */
  at(key: string): V | undefined {
    let v = this.map.get(key);
    if (v === undefined) {
      if (this.map.size >= this.cap) {
        this.dropped++;
        return undefined;
      }
      v = this.fresh();
      this.map.set(key, v);
    }
    return v;
  }

  entries(): [string, V][] {
    return [...this.map.entries()];
  }
}

/** Counts of up to `cap` distinct values: the most frequent first. */
export class TopCounts {
  private readonly counts = new Map<string, number>();

  constructor(private readonly cap: number) {}

  add(value: string, n = 1): void {
    const c = this.counts.get(value);
    if (c !== undefined) this.counts.set(value, c + n);
    else if (this.counts.size < this.cap) this.counts.set(value, n);
  }

  get size(): number {
    return this.counts.size;
  }

  top(n = this.cap): { value: string; count: number }[] {
    return [...this.counts.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, n)
      .map(([value, count]) => ({ value, count }));
  }
}

/** An account (or number) the directory does not know, as the refused calls show it. */
export class UnknownParty {
  calls = 0;
  /** Public numbers it presented (outbound) or was called on (inbound). */
  readonly numbers = new TopCounts(8);
  /** Short numbers it presented as caller: its extension. */
  readonly extensions = new TopCounts(4);
  /** The routes its calls came by (record.route), when the reader names them. */
  readonly channels = new TopCounts(4);
  readonly contexts = new TopCounts(4);
  readonly formats = new Set<ExportFormat>();
  outbound = 0;
  inbound = 0;

  /**
   * A trunk read as a phone: calls "from" a named account that present many outside numbers and never an
   * extension (a phone presents its own number, or its extension), or a name a provider gives its trunks.
   */
  looksLikeTrunk(account: string): boolean {
    if (account === '' || this.outbound === 0 || this.extensions.size > 0) return false;
    return this.numbers.size >= 2 || (PROVIDER_NAME.test(account) && this.numbers.size >= 1);
  }
}

/** Names SIP providers and carriers give trunks (French operators first), and the generic words. */
export const PROVIDER_NAME = /(ovh|orange|sfr|bouygues|bytel|free|keyyo|nordnet|completel|colt|twilio|telnyx|voxbone|sipgate|trunk|pstn|provider|operator|carrier|gateway|sbc|voip|h323|cube)|(^|[^a-z])gw([^a-z]|$)/i;

/** The device behind a channel name, without its per-call suffix: `PJSIP/ovh-0000000a` → `PJSIP/ovh`. */
export function routeName(channel: string): string {
  let c = channel.trim().replace(/<(ZOMBIE|MASQ)>/gi, '').replace(/;\d+$/, '').replace(/-[0-9a-f]{4,}$/i, '');
  if (/^sofia\//i.test(c)) c = c.replace(/@.*$/, '');
  return c;
}

/** Extensions one PBX's calls show, and the digits before its outside numbers. */
export class PbxEvidence {
  readonly ranges = new BoundedTally<ExtensionRange>(200, () => new ExtensionRange());
  /** Outbound numbers dialled with 7 digits or more, as the user typed them. */
  longDialled = 0;
  /** Of those, the ones that read as a number once a candidate prefix is taken off. */
  readonly prefixed = new Map<string, number>();
  /** Outbound calls whose callee is the number handed to the trunk (no prefix to take off). */
  calleeSent = 0;
  private prefixSamples = 0;

  extension(digits: string): void {
    const key = rangeOf(digits);
    const r = this.ranges.at(key);
    if (r === undefined) return;
    r.calls++;
    if (r.members.size < 1000) r.members.add(digits);
  }

  /** An outbound number as dialled (not one the trunk was given). */
  dialled(digits: string, country: string): void {
    if (!/^\d{7,}$/.test(digits)) return;
    this.longDialled++;
    // A sample is enough to guess a prefix, and parsing every number of a large file would cost seconds.
    if (this.prefixSamples >= PREFIX_SAMPLE && country !== 'FR') return;
    this.prefixSamples++;
    for (const p of OUTSIDE_PREFIXES) if (prefixedNumber(digits, p, country)) this.prefixed.set(p, (this.prefixed.get(p) ?? 0) + 1);
  }

  /** The prefix most outbound numbers carry, if at least half of them do. */
  outsidePrefix(country: string): { prefix: string; calls: number; of: number } | null {
    const of = country === 'FR' ? this.longDialled : Math.min(this.longDialled, PREFIX_SAMPLE);
    let best: { prefix: string; calls: number; of: number } | null = null;
    for (const [prefix, calls] of this.prefixed) if (calls * 2 >= of && calls > (best?.calls ?? 0)) best = { prefix, calls, of };
    return best;
  }
}

export class ExtensionRange {
  calls = 0;
  readonly members = new Set<string>();
}

const OUTSIDE_PREFIXES = ['0', '9'];
const PREFIX_SAMPLE = 5000;

/**
 * `3` digits → `100-199` from its first digit, `1001` → `1000-1099` from its first two: PBXs number
 * phones in blocks of a hundred. Feature codes (`*97`) and numbers of one digit stand alone.
 */
export function rangeOf(digits: string): string {
  if (!/^\d{2,}$/.test(digits)) return digits;
  const keep = Math.max(1, digits.length - 2);
  const head = digits.slice(0, keep);
  return `${head}${'0'.repeat(digits.length - keep)}-${head}${'9'.repeat(digits.length - keep)}`;
}

/** Whether `digits` is `prefix` + a number of `country` (national, or international with the country's exit code). */
function prefixedNumber(digits: string, prefix: string, country: string): boolean {
  if (!digits.startsWith(prefix)) return false;
  const rest = digits.slice(prefix.length);
  if (country === 'FR') return /^0[1-9]\d{8}$/.test(rest) || /^00[1-9]\d{6,14}$/.test(rest);
  return validIn(rest, country) && !validIn(digits, country);
}

function validIn(digits: string, country: string): boolean {
  return parsePhoneNumberFromString(digits, country as CountryCode)?.isValid() === true;
}
