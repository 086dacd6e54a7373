import { describe, expect, it } from 'vitest';
import { InvalidNumber } from '../../services/core/numbering.js';
import { numbering } from '../support/numbering.js';

describe('normalising dialled numbers to E.164', () => {
  it.each([
    ['0142685300', '+33142685300'],
    ['01 42 68 53 00', '+33142685300'],
    ['01.42.68.53.00', '+33142685300'],
    ['0612345678', '+33612345678'],
    ['+33612345678', '+33612345678'],
    ['0033612345678', '+33612345678'],
    ['0049301234567', '+49301234567'],
    ['33142685300', '+33142685300'],
    // DROM dialled in national format take their own country codes (R-NUM-DROM)
    ['0262201234', '+262262201234'],
    ['0692123456', '+262692123456'],
    ['0269611234', '+262269611234'],
    ['0590123456', '+590590123456'],
    ['0694123456', '+594694123456'],
    ['0596123456', '+596596123456'],
    ['0696123456', '+596696123456'],
    // short numbers stay as dialled
    ['112', '112'],
    ['3949', '3949'],
    ['118712', '118712'],
  ])('%s → %s', (raw, e164) => {
    expect(numbering.normalize(raw)).toBe(e164);
  });

  it.each(['', 'abc', '01426853', '014268530012', '+3314268530', '1234567', '+0123456789'])('rejects %j', (raw) => {
    expect(() => numbering.normalize(raw)).toThrow(InvalidNumber);
  });
});

describe('destination classes', () => {
  const cls = (raw: string) => numbering.classify(numbering.normalize(raw));

  it.each([
    ['0142685300', 'fr_fixed', 'FR'],
    ['0512345678', 'fr_fixed', 'FR'],
    ['0912345678', 'fr_fixed', 'FR'],
    ['0612345678', 'fr_mobile', 'FR'],
    ['0712345678', 'fr_mobile', 'FR'],
    ['0800123456', 'fr_freephone', 'FR'],
    ['0805123456', 'fr_freephone', 'FR'],
    ['0806123456', 'fr_special_normal', 'FR'],
    ['0809123456', 'fr_special_normal', 'FR'],
    ['0810123456', 'fr_shared_cost', 'FR'],
    ['0820123456', 'fr_shared_cost', 'FR'],
    ['0836123456', 'fr_special', 'FR'],
    ['0899123456', 'fr_premium', 'FR'],
    ['0825123456', 'fr_premium', 'FR'],
    ['0262201234', 'fr_drom_fixed', 'RE'],
    ['0692123456', 'fr_drom_mobile', 'RE'],
    ['0269611234', 'fr_drom_fixed', 'YT'],
    ['0590821234', 'fr_drom_fixed', 'GP'],
    ['0590271234', 'international', 'BL'], // Saint-Barthélemy shares +590 but is not a DROM
    ['0694201234', 'fr_drom_mobile', 'GF'],
    ['0596601234', 'fr_drom_fixed', 'MQ'],
    ['15', 'emergency', 'FR'],
    ['112', 'emergency', 'FR'],
    ['116000', 'emergency', 'FR'],
    ['118712', 'fr_directory', 'FR'],
    ['3949', 'fr_short', 'FR'],
    ['3200', 'fr_short', 'FR'],
    ['3015', 'fr_short_free', 'FR'],
    ['3179', 'fr_short_free', 'FR'],
  ])('%s is %s (%s)', (raw, expected, country) => {
    const d = cls(raw);
    expect(d.cls).toBe(expected);
    expect(d.country).toBe(country);
  });

  it('tells fixed from mobile abroad with the metadata library', () => {
    expect(cls('+49301234567')).toMatchObject({ cls: 'international', country: 'DE', kind: 'fixed' });
    expect(cls('+4915112345678')).toMatchObject({ cls: 'international', country: 'DE', kind: 'mobile' });
    expect(cls('+12125551234')).toMatchObject({ cls: 'international', country: 'US', kind: 'fixed_or_mobile' });
  });

  it('calls a well-formed number outside any allocated range unknown', () => {
    expect(cls('+999123456789').cls).toBe('unknown');
  });

  it('flags the automated-system and platform sub-ranges', () => {
    expect(cls('0162123456').automatedRange).toBe(true);
    expect(cls('0948123456').automatedRange).toBe(true);
    expect(cls('0142123456').automatedRange).toBe(false);
    expect(cls('0937123456').platformRange).toBe(true);
    expect(cls('0939412345').platformRange).toBe(true);
    expect(cls('0939512345').platformRange).toBe(false);
  });
});
