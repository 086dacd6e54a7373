import { describe, expect, it } from 'vitest';
import { parseTimestamp, Zone } from '../../services/core/calendar.js';

const paris = new Zone('Europe/Paris');
const at = (text: string) => {
  const p = parseTimestamp(text, paris);
  if (!p.ok) throw new Error(p.error);
  return p.resolution;
};

describe('timestamps', () => {
  it('takes an explicit offset as it is', () => {
    expect(at('2026-03-02T09:00:00+01:00')).toEqual({ kind: 'exact', ms: Date.parse('2026-03-02T08:00:00Z') });
    expect(at('2026-03-02T08:00:00Z').ms).toBe(Date.parse('2026-03-02T08:00:00Z'));
    expect(at('2026-03-02 09:00:00.250-0500').ms).toBe(Date.parse('2026-03-02T14:00:00.250Z'));
  });

  it('reads a local time in the source zone, winter and summer', () => {
    expect(at('2026-01-15 10:00:00').ms).toBe(Date.parse('2026-01-15T09:00:00Z'));
    expect(at('2026-07-15 10:00:00').ms).toBe(Date.parse('2026-07-15T08:00:00Z'));
  });

  it('moves a time skipped by the spring change forward (29 March 2026, 02:00 → 03:00)', () => {
    const r = at('2026-03-29 02:30:00');
    expect(r.kind).toBe('gap');
    expect(new Date(r.ms).toISOString()).toBe('2026-03-29T01:30:00.000Z'); // 03:30 CEST
  });

  it('takes the first occurrence of a doubled autumn time and knows the second (25 October 2026)', () => {
    const r = at('2026-10-25 02:30:00');
    expect(r).toEqual({ kind: 'overlap', ms: Date.parse('2026-10-25T00:30:00Z'), laterMs: Date.parse('2026-10-25T01:30:00Z') });
  });

  it.each(['2026-02-30 10:00:00', '2026-03-02 24:00:00', 'yesterday', '02/03/2026 10:00', ''])('refuses %j', (text) => {
    expect(parseTimestamp(text, paris).ok).toBe(false);
  });
});

describe('calendar months in Europe/Paris', () => {
  it('puts 31 March 23:59:30 Paris in March although it is already 21:59:30 UTC… and 1 April 00:30 Paris in April though UTC is still 31 March', () => {
    expect(paris.period(Date.parse('2026-03-31T21:59:30Z'))).toBe('2026-03');
    expect(paris.period(Date.parse('2026-03-31T22:30:00Z'))).toBe('2026-04');
  });

  it('puts 1 January 00:10 Paris in January while UTC is still in December', () => {
    expect(paris.period(Date.parse('2025-12-31T23:10:00Z'))).toBe('2026-01');
  });

  it('writes instants with the offset in force', () => {
    expect(paris.iso(Date.parse('2026-03-29T00:59:59Z'))).toBe('2026-03-29T01:59:59+01:00');
    expect(paris.iso(Date.parse('2026-03-29T01:00:00Z'))).toBe('2026-03-29T03:00:00+02:00');
    expect(paris.iso(Date.parse('2026-10-25T00:30:00Z'))).toBe('2026-10-25T02:30:00+02:00');
    expect(paris.iso(Date.parse('2026-10-25T01:30:00Z'))).toBe('2026-10-25T02:30:00+01:00');
  });

  it('refuses an unknown zone with its name', () => {
    expect(() => new Zone('Europe/Pariss')).toThrow(/Europe\/Pariss/);
  });
});
