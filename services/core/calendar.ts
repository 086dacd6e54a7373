/**
 * Event time and the contractual calendar: « mois calendaire » in Europe/Paris (or the plan's zone).
 * Offsets come from the IANA database through luxon; this module only decides what to do with
 * local times that a DST change makes missing or doubled, and caches offsets for the hot path.
 */
import { IANAZone } from 'luxon';

export type LocalTimeResolution =
  | { kind: 'exact'; ms: number }
  /** Wall-clock time skipped by the spring change (02:30 on the last Sunday of March in Paris). */
  | { kind: 'gap'; ms: number }
  /** Wall-clock time that occurs twice in autumn: `ms` is the first occurrence, `laterMs` the second. */
  | { kind: 'overlap'; ms: number; laterMs: number };

const OFFSET_BUCKET_MS = 15 * 60_000;

/** A time zone with a cache of UTC offsets per quarter hour (every real DST change is on one). */
export class Zone {
  readonly name: string;
  private readonly zone: IANAZone;
  private readonly offsets = new Map<number, number>();

  constructor(name: string) {
    const zone = IANAZone.create(name);
    if (!zone.isValid) throw new Error(`unknown time zone "${name}" (expected an IANA name such as Europe/Paris)`);
    this.name = name;
    this.zone = zone;
  }

  /** Offset from UTC in milliseconds at the instant `ms`. */
  offsetAt(ms: number): number {
    const bucket = Math.floor(ms / OFFSET_BUCKET_MS);
    let offset = this.offsets.get(bucket);
    if (offset === undefined) {
      offset = this.zone.offset(bucket * OFFSET_BUCKET_MS) * 60_000;
      this.offsets.set(bucket, offset);
    }
    return offset;
  }

  /**
   * Instant of a wall-clock time given as if it were UTC (`Date.UTC(...)` of the local fields).
   * Follows the `compatible` rule of Temporal and java.time: a skipped time is moved forward by the
   * length of the gap, a doubled time takes its first occurrence (and says so, so that a reader can
   * pick the second one for an end time that would otherwise fall before the start).
   */
  resolveLocal(wallAsUtcMs: number): LocalTimeResolution {
    const exact = this.exactLocal(wallAsUtcMs);
    if (!Number.isNaN(exact)) return { kind: 'exact', ms: exact };
    const before = this.offsetAt(wallAsUtcMs - 86_400_000);
    const after = this.offsetAt(wallAsUtcMs + 86_400_000);
    const candidates = [before, after]
      .filter((o, i, all) => all.indexOf(o) === i)
      .map((o) => wallAsUtcMs - o)
      .filter((ms) => wallAsUtcMs - this.offsetAt(ms) === ms);
    if (candidates.length === 1) return { kind: 'exact', ms: candidates[0]! };
    if (candidates.length === 2) {
      const [a, b] = candidates.sort((x, y) => x - y) as [number, number];
      return { kind: 'overlap', ms: a, laterMs: b };
    }
    // In the gap neither offset round-trips: the old offset carries the time past the jump.
    return { kind: 'gap', ms: wallAsUtcMs - before };
  }

  /**
   * The instant of a wall-clock time far from any change (one offset on both sides of it, which
   * round-trips): what resolveLocal says of nearly every time, as a number. NaN near a change, where
   * resolveLocal decides.
   */
  exactLocal(wallAsUtcMs: number): number {
    const around = this.offsetAt(wallAsUtcMs - 86_400_000);
    return this.offsetAt(wallAsUtcMs + 86_400_000) === around && this.offsetAt(wallAsUtcMs - around) === around ? wallAsUtcMs - around : NaN;
  }

  /** Calendar month "YYYY-MM" of an instant in this zone. */
  period(ms: number): string {
    const d = new Date(ms + this.offsetAt(ms));
    const m = d.getUTCMonth() + 1;
    return `${d.getUTCFullYear()}-${m < 10 ? '0' : ''}${m}`;
  }

  /** The first instant of the calendar month after the one containing `ms`, in this zone. */
  monthEnd(ms: number): number {
    const d = new Date(ms + this.offsetAt(ms));
    return this.resolveLocal(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)).ms;
  }

  /** Calendar day "YYYY-MM-DD" of an instant in this zone. */
  day(ms: number): string {
    return new Date(ms + this.offsetAt(ms)).toISOString().slice(0, 10);
  }

  /** ISO 8601 with this zone's offset, e.g. 2026-03-29T03:10:00+02:00. */
  iso(ms: number): string {
    // rated.csv writes a time a call, in time order per client: the quarter hour's "YYYY-MM-DDTHH:" and
    // offset are made once, and only the minutes and seconds per call (a Date and its ISO text cost more).
    const bucket = Math.floor(ms / OFFSET_BUCKET_MS);
    if (bucket !== this.isoQuarter.bucket) this.isoQuarter = this.quarterOf(bucket);
    const q = this.isoQuarter;
    if (q.hour === '') return this.slowIso(ms);
    const seconds = Math.floor((ms - bucket * OFFSET_BUCKET_MS) / 1000);
    return `${q.hour}${pad2(q.minute + Math.floor(seconds / 60))}:${pad2(seconds % 60)}${q.offset}`;
  }

  private isoQuarter: IsoQuarter = { bucket: NaN, hour: '', minute: 0, offset: '' };

  /** A quarter hour's fixed parts of iso(); `hour` '' where they are not fixed (an offset off the quarter hour, a year past 9999). */
  private quarterOf(bucket: number): IsoQuarter {
    const start = bucket * OFFSET_BUCKET_MS;
    const offset = this.offsetAt(start);
    const text = this.slowIso(start);
    if (offset % OFFSET_BUCKET_MS !== 0 || text.length !== 25) return { bucket, hour: '', minute: 0, offset: '' };
    return { bucket, hour: text.slice(0, 14), minute: Number(text.slice(14, 16)), offset: text.slice(19) };
  }

  private slowIso(ms: number): string {
    const offset = this.offsetAt(ms);
    const local = new Date(ms + offset).toISOString().slice(0, 19);
    const sign = offset < 0 ? '-' : '+';
    const abs = Math.abs(offset) / 60_000;
    return `${local}${sign}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
  }
}

interface IsoQuarter {
  bucket: number;
  /** "YYYY-MM-DDTHH:" in the zone. */
  hour: string;
  /** The quarter hour's first minute. */
  minute: number;
  /** "+HH:MM". */
  offset: string;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

const GREGORIAN_CYCLE_MS = 146_097 * 86_400_000;

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?\s*(Z|[+-]\d{2}:?\d{2})?$/;

export type ParsedTimestamp =
  | { ok: true; resolution: LocalTimeResolution; hadOffset: boolean }
  | { ok: false; error: string };

/**
 * Parses `YYYY-MM-DD[T ]HH:MM:SS[.fff][Z|±HH:MM]`. With an offset the instant is exact; without one it
 * is a wall-clock time in `zone`.
 */
export function parseTimestamp(text: string, zone: Zone): ParsedTimestamp {
  return parseCommonTimestamp(text, zone) ?? parseAnyTimestamp(text, zone);
}

/**
 * The instant of `text` when parseTimestamp would read it as one exact instant (an offset, or a local
 * time far from a DST change) in a shape switches write, else NaN, and parseTimestamp says what it is.
 * Allocates nothing: the normaliser reads three times per call.
 */
export function exactInstant(text: string, zone: Zone): number {
  const wall = commonWall(text);
  if (Number.isNaN(wall)) return NaN;
  return text.length === 19 ? zone.exactLocal(wall) : wall - commonOffsetMs(text);
}

/**
 * The shapes switches write, `YYYY-MM-DD[T ]HH:MM:SS` then nothing, `Z` or `±HH:MM`, read by position
 * without a regex, a Date or a substring. Anything else, and any value that is out of range, is left
 * to parseAnyTimestamp (undefined), which words the error; for what this accepts both give the same
 * result (test/unit/timestamp-fast-path.test.ts checks it).
 */
function parseCommonTimestamp(text: string, zone: Zone): ParsedTimestamp | undefined {
  const wall = commonWall(text);
  if (Number.isNaN(wall)) return undefined;
  if (text.length === 19) return { ok: true, resolution: zone.resolveLocal(wall), hadOffset: false };
  const offsetMs = commonOffsetMs(text);
  return Number.isNaN(offsetMs) ? undefined : { ok: true, resolution: { kind: 'exact', ms: wall - offsetMs }, hadOffset: true };
}

/** The date and time of a common-shape timestamp as if UTC (ms), or NaN for another shape or an impossible value. */
function commonWall(text: string): number {
  const n = text.length;
  if (n !== 19 && n !== 20 && n !== 25) return NaN;
  const year = digits4(text, 0);
  const month = digits2(text, 5);
  const day = digits2(text, 8);
  const hour = digits2(text, 11);
  const minute = digits2(text, 14);
  const second = digits2(text, 17);
  const sep = text.charCodeAt(10);
  if (
    (year | month | day | hour | minute | second) < 0 ||
    text.charCodeAt(4) !== 0x2d ||
    text.charCodeAt(7) !== 0x2d ||
    (sep !== 0x54 && sep !== 0x20) ||
    text.charCodeAt(13) !== 0x3a ||
    text.charCodeAt(16) !== 0x3a
  ) {
    return NaN;
  }
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) return NaN;
  return daysFromCivil(year, month, day) * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1000;
}

/** The offset after a common-shape date and time (`Z` or `±HH:MM`, 20 or 25 characters) in ms, or NaN. */
function commonOffsetMs(text: string): number {
  const sign = text.charCodeAt(19);
  if (text.length === 20) return sign === 0x5a ? 0 : NaN;
  const offsetHours = digits2(text, 20);
  const offsetMinutes = digits2(text, 23);
  if ((sign !== 0x2b && sign !== 0x2d) || text.charCodeAt(22) !== 0x3a || (offsetHours | offsetMinutes) < 0) return NaN;
  // Real offsets run from -12:00 to +14:00; beyond is parseAnyTimestamp's error.
  if (offsetMinutes > 59 || offsetHours * 60 + offsetMinutes > 14 * 60) return NaN;
  return (sign === 0x2d ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
}

/** The value of two ASCII digits at `at`, or -1. */
function digits2(text: string, at: number): number {
  const a = text.charCodeAt(at) - 0x30;
  const b = text.charCodeAt(at + 1) - 0x30;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

function digits4(text: string, at: number): number {
  const high = digits2(text, at);
  const low = digits2(text, at + 2);
  return high < 0 || low < 0 ? -1 : high * 100 + low;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil): what Date.UTC counts, without its call. */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

function daysInMonth(year: number, month: number): number {
  if (month !== 2) return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
}

/** Every form the README accepts, with the error that says what is wrong. */
function parseAnyTimestamp(text: string, zone: Zone): ParsedTimestamp {
  const m = TIMESTAMP.exec(text.trim());
  if (m === null) return { ok: false, error: `unparseable time "${text}" (expected YYYY-MM-DDTHH:MM:SS with an optional offset)` };
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  const year = Number(y), month = Number(mo), day = Number(d), hour = Number(h), minute = Number(mi), second = Number(s);
  const ms = frac === undefined ? 0 : Math.floor(Number(`0.${frac}`) * 1000);
  // Date.UTC reads years 0–99 as 1900–1999: shift by a 400-year Gregorian cycle and back, so 0050 stays 0050.
  const wall = year < 100 ? Date.UTC(year + 400, month - 1, day, hour, minute, second, ms) - GREGORIAN_CYCLE_MS : Date.UTC(year, month - 1, day, hour, minute, second, ms);
  const back = new Date(wall);
  if (back.getUTCDate() !== day || back.getUTCMonth() !== month - 1 || hour > 23 || minute > 59 || second > 59) {
    return { ok: false, error: `impossible date or time "${text}"` };
  }
  if (tz === undefined) return { ok: true, resolution: zone.resolveLocal(wall), hadOffset: false };
  if (tz === 'Z') return { ok: true, resolution: { kind: 'exact', ms: wall }, hadOffset: true };
  const sign = tz.startsWith('-') ? -1 : 1;
  const digits = tz.slice(1).replace(':', '');
  const offsetHours = Number(digits.slice(0, 2));
  const offsetMinutes = Number(digits.slice(2, 4));
  // Real offsets run from -12:00 to +14:00 (Kiribati); anything else is a corrupted field, not a zone.
  if (offsetMinutes > 59 || offsetHours * 60 + offsetMinutes > 14 * 60) {
    return { ok: false, error: `impossible UTC offset "${tz}" in "${text}" (offsets run from -12:00 to +14:00)` };
  }
  const offsetMs = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
  return { ok: true, resolution: { kind: 'exact', ms: wall - offsetMs }, hadOffset: true };
}
