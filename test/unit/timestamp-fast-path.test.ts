/**
 * parseTimestamp reads the common shapes by position (its fast path) and everything else with a regex.
 * Here it is checked, on generated inputs, against the regex-and-Date implementation it replaced (kept
 * below as the reference, verbatim) and against luxon's own reading of the same wall-clock time, with
 * the DST changes of Europe/Paris (and of a zone with a half-hour change) generated on purpose.
 */
import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { exactInstant, parseTimestamp, Zone, type LocalTimeResolution, type ParsedTimestamp } from '../../services/core/calendar.js';

const ZONES = ['Europe/Paris', 'Australia/Lord_Howe', 'America/Sao_Paulo'].map((n) => new Zone(n));
const paris = ZONES[0]!;
const zoneIndex = fc.integer({ min: 0, max: ZONES.length - 1 });

// ---- the reference: the implementation before the fast path, unchanged ----
function referenceResolve(zone: Zone, wallAsUtcMs: number): LocalTimeResolution {
  const before = zone.offsetAt(wallAsUtcMs - 86_400_000);
  const after = zone.offsetAt(wallAsUtcMs + 86_400_000);
  const candidates = [before, after]
    .filter((o, i, all) => all.indexOf(o) === i)
    .map((o) => wallAsUtcMs - o)
    .filter((ms) => wallAsUtcMs - zone.offsetAt(ms) === ms);
  if (candidates.length === 1) return { kind: 'exact', ms: candidates[0]! };
  if (candidates.length === 2) {
    const [a, b] = candidates.sort((x, y) => x - y) as [number, number];
    return { kind: 'overlap', ms: a, laterMs: b };
  }
  return { kind: 'gap', ms: wallAsUtcMs - before };
}

const GREGORIAN_CYCLE_MS = 146_097 * 86_400_000;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?\s*(Z|[+-]\d{2}:?\d{2})?$/;

function referenceParse(text: string, zone: Zone): ParsedTimestamp {
  const m = TIMESTAMP.exec(text.trim());
  if (m === null) return { ok: false, error: `unparseable time "${text}" (expected YYYY-MM-DDTHH:MM:SS with an optional offset)` };
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  const year = Number(y), month = Number(mo), day = Number(d), hour = Number(h), minute = Number(mi), second = Number(s);
  const ms = frac === undefined ? 0 : Math.floor(Number(`0.${frac}`) * 1000);
  const wall = year < 100 ? Date.UTC(year + 400, month - 1, day, hour, minute, second, ms) - GREGORIAN_CYCLE_MS : Date.UTC(year, month - 1, day, hour, minute, second, ms);
  const back = new Date(wall);
  if (back.getUTCDate() !== day || back.getUTCMonth() !== month - 1 || hour > 23 || minute > 59 || second > 59) {
    return { ok: false, error: `impossible date or time "${text}"` };
  }
  if (tz === undefined) return { ok: true, resolution: referenceResolve(zone, wall), hadOffset: false };
  if (tz === 'Z') return { ok: true, resolution: { kind: 'exact', ms: wall }, hadOffset: true };
  const sign = tz.startsWith('-') ? -1 : 1;
  const digits = tz.slice(1).replace(':', '');
  const offsetHours = Number(digits.slice(0, 2));
  const offsetMinutes = Number(digits.slice(2, 4));
  if (offsetMinutes > 59 || offsetHours * 60 + offsetMinutes > 14 * 60) {
    return { ok: false, error: `impossible UTC offset "${tz}" in "${text}" (offsets run from -12:00 to +14:00)` };
  }
  const offsetMs = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
  return { ok: true, resolution: { kind: 'exact', ms: wall - offsetMs }, hadOffset: true };
}
// ---- end of the reference ----

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** The DST days of the zones above, the hours around their changes, and two-digit years come up often. */
const year = fc.oneof(fc.integer({ min: 1999, max: 2031 }), fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 120 }));
const month = fc.oneof(fc.constantFrom(3, 10, 4, 9, 2), fc.integer({ min: 0, max: 13 }));
const day = fc.oneof(fc.integer({ min: 24, max: 31 }), fc.integer({ min: 0, max: 32 }));
const hour = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 25 }));
const minute = fc.oneof(fc.constantFrom(0, 15, 30, 45, 59), fc.integer({ min: 0, max: 61 }));
const isoOffset = fc.oneof(
  fc.constant(''),
  fc.constant(''),
  fc.constant('Z'),
  fc.tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 15 }), fc.constantFrom(0, 30, 45, 59, 60, 99)).map(([s, h, m]) => `${s}${pad(h, 2)}:${pad(m, 2)}`),
  fc.tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 60 })).map(([s, h, m]) => `${s}${pad(h, 2)}${pad(m, 2)}`),
  fc.constantFrom('.250', '.5+01:00', '.123456789Z'),
);
/** Spellings the regex accepts beside ISO 8601's (luxon reads none of them). */
const offset = fc.oneof(isoOffset, fc.constantFrom(' Z', ',123456789Z', ' +02:00'));
const stamp = (sep: fc.Arbitrary<string>, tail: fc.Arbitrary<string>) =>
  fc
    .record({ year, month, day, hour, minute, second: fc.integer({ min: 0, max: 61 }), sep, tail })
    .map((t) => `${pad(t.year, 4)}-${pad(t.month, 2)}-${pad(t.day, 2)}${t.sep}${pad(t.hour, 2)}:${pad(t.minute, 2)}:${pad(t.second, 2)}${t.tail}`);
const timestamp = stamp(fc.constantFrom('T', ' '), offset);
const isoTimestamp = stamp(fc.constant('T'), isoOffset);
/** One character replaced, inserted or removed: the near misses of the fixed positions. */
const damaged = fc
  .tuple(timestamp, fc.nat(), fc.constantFrom('0', '9', '-', ':', ' ', 'T', 'Z', '+', 'x', '\t', '٣', ''), fc.constantFrom('replace', 'insert'))
  .map(([t, i, c, how]) => {
    const at = i % (t.length + 1);
    return how === 'replace' ? t.slice(0, at) + c + t.slice(at + 1) : t.slice(0, at) + c + t.slice(at);
  });
const anyText = fc.oneof(timestamp, damaged, fc.string({ maxLength: 30 }), timestamp.map((t) => ` ${t} `));

describe('parseTimestamp, fast path against the reference implementation', () => {
  it('gives the same result for every input, in every zone', () => {
    fc.assert(
      fc.property(anyText, zoneIndex, (text, z) => {
        const zone = ZONES[z]!;
        expect(parseTimestamp(text, zone)).toEqual(referenceParse(text, zone));
      }),
      { numRuns: 50_000 },
    );
  });

  it('exactInstant is the instant of an exact reading or NaN (then parseTimestamp decides), and reads every common shape with an offset', () => {
    fc.assert(
      fc.property(anyText, zoneIndex, (text, z) => {
        const zone = ZONES[z]!;
        const reference = referenceParse(text, zone);
        const exact = reference.ok && reference.resolution.kind === 'exact' ? reference.resolution.ms : NaN;
        const ms = exactInstant(text, zone);
        if (!Number.isNaN(ms)) expect(ms).toBe(exact);
        if (reference.ok && /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$/.test(text)) expect(ms).toBe(exact);
      }),
      { numRuns: 50_000 },
    );
  });

  it('every wall-clock minute of the Paris DST days of 2000–2030, without offset', () => {
    for (let y = 2000; y <= 2030; y++) {
      for (const m of [3, 10]) {
        const lastSunday = 31 - new Date(Date.UTC(y, m - 1, 31)).getUTCDay();
        for (let h = 0; h < 24; h++) {
          for (let mi = 0; mi < 60; mi++) {
            const text = `${y}-${pad(m, 2)}-${lastSunday}T${pad(h, 2)}:${pad(mi, 2)}:30`;
            const reference = referenceParse(text, paris);
            expect(parseTimestamp(text, paris)).toEqual(reference);
            // Within a day of the change exactInstant leaves even an exact time to parseTimestamp; it never gives another instant.
            const ms = exactInstant(text, paris);
            if (!Number.isNaN(ms)) expect(reference.ok && reference.resolution).toEqual({ kind: 'exact', ms });
          }
        }
      }
    }
  });

  it('agrees with luxon: the same instant for a plain or skipped time, one of the two for a doubled time', () => {
    fc.assert(
      fc.property(isoTimestamp, zoneIndex, (text, z) => {
        const zone = ZONES[z]!;
        const ours = parseTimestamp(text, zone);
        const luxon = DateTime.fromISO(text, { zone: zone.name });
        if (!ours.ok) return;
        expect(luxon.isValid).toBe(true);
        const r = ours.resolution;
        // For a doubled time luxon takes one of the two occurrences (which one depends on the zone); ours are both known.
        if (r.kind === 'overlap') expect([r.ms, r.laterMs]).toContain(luxon.toMillis());
        else expect(r.ms).toBe(luxon.toMillis());
      }),
      { numRuns: 20_000 },
    );
  });
});
