/**
 * The options `cdr inspect` suggests, each with the evidence behind it: `--trunk` for a provider's channel
 * read as a phone, `--inbound-context` for the context its calls arrive in, `--tz UTC` / `--asterisk-utc`
 * when the times look written in UTC, `--country` when the national numbers are not of the country given.
 * Suggestions keep what the reader already does: a `--trunk` replaces the format's default, so the
 * suggested one is the default (or the one given) with the new names added.
 */
import { getCountries, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { exactInstant, parseTimestamp, type Zone } from '../core/calendar.js';
import { ASTERISK_DEFAULT_TRUNKS } from './readers/asterisk-channels.js';
import { CUCM_DEFAULT_TRUNKS } from './readers/cucm-cdr.js';
import type { ExportFormat, ReadExportOptions } from './readers/detect-format.js';
import { FREESWITCH_DEFAULT_TRUNKS } from './readers/freeswitch-csv.js';

export interface OptionSuggestion {
  /** The command-line option, e.g. `--trunk`. */
  option: string;
  /** Its value; absent for a flag (`--asterisk-utc`). */
  value?: string;
  /** Why, in words an operator checks against the PBX. */
  why: string;
}

/** A provider's trunk seen as an account or a channel, and the formats it was read in. */
export interface TrunkEvidence {
  name: string;
  /** The device as the reader names it (`PJSIP/ovh`), when the export's route gave it. */
  device?: string;
  contexts: string[];
  calls: number;
  formats: ExportFormat[];
}

export function trunkSuggestions(trunks: TrunkEvidence[], read: ReadExportOptions): OptionSuggestion[] {
  const out: OptionSuggestion[] = [];
  const families = [...new Set(trunks.flatMap((t) => t.formats).map(readerOf))].filter((f): f is TrunkReader => f !== null);
  for (const family of families) {
    const of = trunks.filter((t) => t.formats.some((f) => readerOf(f) === family));
    const added = [...new Set(of.map((t) => (t.device !== undefined ? `^${escape(t.device)}$` : trunkPattern(family, t.name))))];
    const base = read.trunks?.source ?? DEFAULT_TRUNKS[family].source;
    out.push({
      option: '--trunk',
      value: `${base}|${added.join('|')}`,
      why: `${of.map((t) => `"${t.name}" (${t.calls} call${t.calls === 1 ? '' : 's'})`).join(', ')} presented outside numbers and never an extension: a trunk read as a phone (${family}; the default trunks are kept)`,
    });
    // No --inbound-context with it: a call from a declared trunk is inbound whatever its context.
  }
  return out;
}

/** The readers whose trunks `--trunk` names: a table export or an SQL dump is read by the Asterisk rules, CDR documents by FreeSWITCH's. */
type TrunkReader = 'asterisk' | 'freeswitch' | 'cucm';
const DEFAULT_TRUNKS: Record<TrunkReader, RegExp> = { asterisk: ASTERISK_DEFAULT_TRUNKS, freeswitch: FREESWITCH_DEFAULT_TRUNKS, cucm: CUCM_DEFAULT_TRUNKS };

function readerOf(format: ExportFormat): TrunkReader | null {
  if (format === 'asterisk' || format === 'sql-dump') return 'asterisk';
  if (format === 'freeswitch' || format === 'freeswitch-doc') return 'freeswitch';
  return format === 'cucm' ? 'cucm' : null;
}

/** What each reader tests `--trunk` against, for an account named after the trunk's peer. */
function trunkPattern(format: TrunkReader, account: string): string {
  const a = escape(account);
  if (format === 'asterisk') return `/${a}$`; // the device: PJSIP/ovh
  if (format === 'freeswitch') return `/${a}(@|$)`; // the channel: sofia/internal/ovh@…
  return `^${a}$`; // a CUCM device name
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Whether the times were written in UTC while read in `zone`: a wall-clock time that does not exist in
 * the zone (the spring change's gap) proves it; otherwise office calls (08:00–18:59) that fit the office
 * day far better once shifted by the zone's offset point to it.
 */
export class TimeEvidence {
  /** Calls started at each hour, as written and as they would be if the text were UTC. */
  private readonly asWritten = new Array<number>(24).fill(0);
  private readonly ifUtc = new Array<number>(24).fill(0);
  private gaps = 0;
  private counted = 0;

  constructor(private readonly zone: Zone) {}

  /** A start time as the record wrote it. */
  observe(text: string): void {
    const m = WALL_TIME.exec(text);
    if (m === null) return;
    const hour = Number(m[1]);
    const startMs = exactInstant(text, this.zone);
    if (!Number.isNaN(startMs)) {
      const offsetHours = Math.round(this.zone.offsetAt(startMs) / 3_600_000);
      if (offsetHours === 0) return;
      this.counted++;
      this.asWritten[hour]!++;
      this.ifUtc[(((hour + offsetHours) % 24) + 24) % 24]!++;
      return;
    }
    const parsed = parseTimestamp(text, this.zone);
    if (parsed.ok && parsed.resolution.kind === 'gap') this.gaps++;
  }

  suggestion(formats: ExportFormat[]): OptionSuggestion | null {
    const option = formats.includes('asterisk') ? { option: '--asterisk-utc' } : { option: '--tz', value: 'UTC' };
    if (this.gaps > 0) return { ...option, why: `${this.gaps} start time(s) fall in the hour that ${this.zone.name} skips at the spring change: the switch writes UTC` };
    if (this.counted < 50) return null;
    const office = (h: number[]): number => h.slice(8, 19).reduce((a, b) => a + b, 0) / this.counted;
    const written = office(this.asWritten);
    const utc = office(this.ifUtc);
    if (utc - written < 0.15) return null;
    return { ...option, why: `${pct(written)} of the calls start in office hours (08:00–18:59) read in ${this.zone.name}, ${pct(utc)} if the times are UTC` };
  }
}

/** `HH` of a time written without an offset (with one, the time is exact and the zone does not matter). */
const WALL_TIME = /^\d{4}-\d{2}-\d{2}[T ](\d{2}):\d{2}(?::\d{2}(?:[.,]\d+)?)?$/;

function pct(share: number): string {
  return `${Math.round(share * 100)} %`;
}

/** National numbers that did not read in the `--country` given: a sample, and the country most of them fit. */
export class CountryEvidence {
  private readonly sample: string[] = [];
  failed = 0;

  constructor(private readonly country: string) {}

  observe(digits: string): void {
    this.failed++;
    if (this.sample.length < 60 && /^\d{6,15}$/.test(digits) && !digits.startsWith('00')) this.sample.push(digits);
  }

  suggestion(): OptionSuggestion | null {
    if (this.sample.length < 3) return null;
    let best: { cc: string; valid: number } | null = null;
    for (const cc of getCountries()) {
      if (cc === this.country) continue;
      // Countries sharing a calling code (+1) parse each other's numbers: the number must be of `cc` itself,
      // and written as people there write it nationally (4158675309 is a US number, not Iran's 041 5867 5309).
      const valid = this.sample.filter((d) => {
        const parsed = parsePhoneNumberFromString(d, cc as CountryCode);
        return parsed?.isValid() === true && parsed.country === cc && parsed.formatNational().replace(/\D/g, '') === d;
      }).length;
      if (valid > (best?.valid ?? 0)) best = { cc, valid };
    }
    if (best === null || best.valid * 10 < this.sample.length * 6) return null;
    return { option: '--country', value: best.cc, why: `${this.failed} number(s) are not valid numbers of ${this.country}; ${best.valid} of a sample of ${this.sample.length} are valid national numbers of ${best.cc}` };
  }
}
