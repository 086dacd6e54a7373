/**
 * Switch exports we have no reader for, read through the mapping profiles of config/profiles: Avaya IP
 * Office SMDR, Mitel MiVoice Business SMDR (fixed width), Alcatel-Lucent OXE tickets (fixed width,
 * Windows-1252), Bicom PBXware's CDR report and the 3CX CDR service. Each fixture follows the vendor's
 * documented shape; the golden lines say who is charged for what, the golden bills what it costs.
 */
import { copyFileSync, mkdtempSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readExport } from '../../services/ingest/readers/detect-format.js';
import { loadMappingProfile, type MappingProfile } from '../../services/ingest/readers/mapping-profile.js';
import { PBX, collect, line, normalizeAll, rate } from './pbx-helpers.js';

const read = async (file: string, profile: MappingProfile) => {
  const { records, rejects } = await collect(readExport(file, { profile, format: 'profile' }));
  const normalized = normalizeAll(records);
  return { records, rejects, cdrs: normalized.cdrs, refused: normalized.rejects };
};

describe('Avaya IP Office SMDR', () => {
  const profile = loadMappingProfile('config/profiles/avaya-ip-office-smdr.yaml');
  const FILE = `${PBX}/avaya-ipo-smdr.csv`;

  it('charges each segment to the phone that held it, keeps internal calls (Is Internal = 1) internal, and bills', async () => {
    const { rejects, cdrs, refused } = await read(FILE, profile);
    expect(rejects).toEqual([]);
    expect(refused).toEqual([]);
    expect(cdrs.map(line)).toEqual([
      '1 | 101 | ext:101 | ext:102 | internal | out | originating | answered | 120',
      '2 | 101 | ext:101 | +33612345678 | fr_mobile | out | originating | answered | 300',
      // Inbound: the DDI called (Dialled Number), answered by the reception's extension E112.
      '3 | 112 | +33698112233 | +33478000112 | fr_fixed | in | originating | answered | 180',
      // Lost call: Connected Time 00:00:00.
      '4 | 112 | +33698445566 | +33478000112 | fr_fixed | in | originating | no_answer | 0',
      // One call, transferred by 102 to 103: two segments of Call ID 1000005, each billed its own connected time.
      '5 | 102 | ext:102 | +33145000000 | fr_fixed | out | originating | answered | 60',
      '6 | 103 | ext:102 | +33145000000 | fr_fixed | out | originating | answered | 120',
      // "Voice Mail" and the ring group 600 are internal because the SMDR says so (Is Internal = 1).
      '7 | 103 | ext:103 | ext:VoiceMail | internal | out | originating | answered | 25',
      '8 | 103 | ext:103 | ext:600 | internal | out | originating | answered | 40',
      '9 | 102 | ext:102 | +33467123456 | fr_fixed | out | originating | answered | 180',
      '10 | 101 | ext:101 | 3949 | fr_short | out | originating | answered | 60',
      '11 | 103 | ext:103 | +4930123456 | international | out | originating | answered | 120',
    ]);
    const { bill, alerts } = rate(cdrs);
    expect(bill).toEqual([
      '1 | ext:102 | internal | 0.0000',
      '2 | +33612345678 | bundle | 0.0000',
      '3 | +33478000112 | inbound | 0.0000',
      '4 | +33478000112 | inbound | 0.0000',
      '5 | +33145000000 | bundle | 0.0000',
      '6 | +33145000000 | bundle | 0.0000',
      '7 | ext:VoiceMail | internal | 0.0000',
      '8 | ext:600 | internal | 0.0000',
      '9 | +33467123456 | bundle | 0.0000',
      '10 | 3949 | out_of_plan_destination | 0.3500',
      '11 | +4930123456 | bundle | 0.0000',
    ]);
    expect(alerts).toEqual([]);
  });

  it('gives continuation segments distinct ids that a re-export repeats, and bills the trunk time once', async () => {
    const first = await read(FILE, profile);
    const again = await read(FILE, profile);
    const segments = first.cdrs.filter((c) => c.cdrId.startsWith('1000005#'));
    expect(segments.map((c) => c.cdrId)).toEqual(['1000005#1', '1000005#2']);
    // Ring 5 s, 60 s talking, 15 s on hold, then 120 s after the transfer: 180 s on the trunk, billed once.
    expect(segments.reduce((s, c) => s + c.billableSeconds, 0)).toBe(180);
    expect(again.cdrs.map((c) => c.cdrId)).toEqual(first.cdrs.map((c) => c.cdrId));
    expect(new Set(first.cdrs.map((c) => c.cdrId)).size).toBe(first.cdrs.length);
  });

  it('ends a record at start + ring + connected + hold + park, across midnight', async () => {
    const { cdrs } = await read(FILE, profile);
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    expect([5, 9].map((n) => cdrs.find((c) => c.line === n)!).map((c) => [iso(c.startMs), iso(c.answerMs), iso(c.endMs)])).toEqual([
      ['2026-02-04T09:00:00.000Z', '2026-02-04T09:00:20.000Z', '2026-02-04T09:01:20.000Z'],
      ['2026-02-04T22:58:30.000Z', '2026-02-04T22:58:35.000Z', '2026-02-04T23:01:35.000Z'],
    ]);
  });
});

describe('Mitel MiVoice Business SMDR (fixed width)', () => {
  const profile = loadMappingProfile('config/profiles/mitel-mivoice-smdr.yaml');
  // Dates are mm/dd: the year comes from when the capture was written; pin it.
  const captured = (): string => {
    const path = join(mkdtempSync(join(tmpdir(), 'mitel-')), 'smdr.txt');
    copyFileSync(`${PBX}/mitel-smdr.txt`, path);
    utimesSync(path, new Date('2026-02-10T12:00:00Z'), new Date('2026-02-10T12:00:00Z'));
    return path;
  };

  it('reads the columns of the vendor table, skips incoming trunk calls, rejects a cut record, and bills', async () => {
    const { rejects, cdrs, refused } = await read(captured(), profile);
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([
      [3, 'skipped_by_profile'],
      [7, 'column_count'],
    ]);
    expect(rejects[1]!.detail).toContain('61 characters where every record of this layout has 90');
    expect(refused).toEqual([]);
    expect(cdrs.map(line)).toEqual([
      '1 | 101 | ext:101 | +33612345678 | fr_mobile | out | originating | answered | 270',
      '2 | 102 | ext:102 | +33145000000 | fr_fixed | out | originating | answered | 430',
      '4 | 103 | ext:103 | +33467123456 | fr_fixed | out | originating | busy | 0',
      // The digits dialled on the trunk: 3949 is the short number, not an extension.
      '5 | 101 | ext:101 | 3949 | fr_short | out | originating | answered | 60',
      '8 | 102 | ext:102 | +33612345678 | fr_mobile | out | originating | answered | 120',
    ]);
    expect(rate(cdrs).bill).toEqual([
      '1 | +33612345678 | bundle | 0.0000',
      '2 | +33145000000 | bundle | 0.0000',
      '4 | +33467123456 | not_answered | 0.0000',
      '5 | 3949 | out_of_plan_destination | 0.3500',
      '8 | +33612345678 | bundle | 0.0000',
    ]);
  });

  it('puts a 31 December call of a capture written in February in the year before, ending after midnight', async () => {
    const { cdrs } = await read(captured(), profile);
    const nye = cdrs.find((c) => c.line === 8)!;
    expect([new Date(nye.startMs).toISOString(), new Date(nye.endMs).toISOString()]).toEqual(['2025-12-31T22:59:00.000Z', '2025-12-31T23:01:00.000Z']);
  });
});

describe('Alcatel-Lucent OXE tickets (fixed width, Windows-1252)', () => {
  const profile = loadMappingProfile('config/profiles/alcatel-oxe-tickets.yaml');

  it('reads the ticket fields, its accented user names, its call types, and bills', async () => {
    const { records, rejects, cdrs, refused } = await read(`${PBX}/oxe-tickets.tax`, profile);
    expect(rejects).toEqual([]);
    expect(refused).toEqual([]);
    expect(records[0]!.raw.slice(65, 85).trim()).toBe('Hélène Dupré');
    expect(cdrs.map(line)).toEqual([
      '1 | 101 | ext:101 | +33612345678 | fr_mobile | out | originating | answered | 300',
      // CallType 3, local network: between two sets of the node.
      '2 | 102 | ext:102 | ext:103 | internal | out | originating | answered | 60',
      '3 | 112 | +33698112233 | +33478000112 | fr_fixed | in | originating | answered | 120',
      // EffectiveCallDuration 0: the far end never answered, 20 s of ringing are not billed.
      '4 | 102 | ext:102 | +33145000000 | fr_fixed | out | originating | no_answer | 0',
      '5 | 103 | ext:103 | +4930123456 | international | out | originating | answered | 120',
    ]);
    expect(cdrs.map((c) => c.cdrId)).toEqual(['4711#1', '4712#1', '4713#1', '4714#1', '4715#1']);
    expect(rate(cdrs).bill).toEqual([
      '1 | +33612345678 | bundle | 0.0000',
      '2 | ext:103 | internal | 0.0000',
      '3 | +33478000112 | inbound | 0.0000',
      '4 | +33145000000 | not_answered | 0.0000',
      '5 | +4930123456 | bundle | 0.0000',
    ]);
  });
});

describe('Bicom PBXware CDR report', () => {
  const profile = loadMappingProfile('config/profiles/bicom-pbxware-cdr.yaml');

  it('reads From / To / Date/Time / Duration / Billing / Status, tells an incoming call by its caller, and bills', async () => {
    const { rejects, cdrs, refused } = await read(`${PBX}/pbxware-cdr.csv`, profile);
    expect(rejects).toEqual([]);
    expect(refused).toEqual([]);
    expect(cdrs.map(line)).toEqual([
      '2 | 1001 | ext:1001 | ext:1002 | internal | out | originating | answered | 120',
      '3 | 1001 | ext:1001 | +33612345678 | fr_mobile | out | originating | answered | 300',
      '4 | 1003 | +33698112233 | 1003 | fr_short | in | originating | answered | 180',
      '5 | 1002 | ext:1002 | +33899123456 | fr_premium | out | originating | answered | 40',
      '6 | 1002 | ext:1002 | +33145000000 | fr_fixed | out | originating | no_answer | 0',
      '7 | 1003 | ext:1003 | 3949 | fr_short | out | originating | answered | 60',
      '8 | 1003 | ext:1003 | +33467123456 | fr_fixed | out | originating | busy | 0',
    ]);
    expect(cdrs[1]!.endMs - cdrs[1]!.startMs).toBe(307_000);
    expect(rate(cdrs).bill).toEqual([
      '2 | ext:1002 | internal | 0.0000',
      '3 | +33612345678 | bundle | 0.0000',
      '4 | 1003 | inbound | 0.0000',
      '5 | +33899123456 | out_of_plan_destination | 0.6533',
      '6 | +33145000000 | not_answered | 0.0000',
      '7 | 3949 | out_of_plan_destination | 0.3500',
      '8 | +33467123456 | not_answered | 0.0000',
    ]);
  });
});

describe('3CX CDR service output', () => {
  const profile = loadMappingProfile('config/profiles/3cx-cdr.yaml');
  const FILE = `${PBX}/3cx-cdr.log`;

  it('keeps Extension-to-Extension calls internal from from-type / to-type, even to a colleague’s DID, and bills', async () => {
    const { records, rejects, cdrs, refused } = await read(FILE, profile);
    expect(rejects).toEqual([]);
    expect(refused).toEqual([]);
    expect(records.map((r) => r.internal)).toEqual([true, false, undefined, true, false, false, undefined]);
    expect(cdrs.map(line)).toEqual([
      '1 | 201 | ext:201 | ext:202 | internal | out | originating | answered | 120',
      '2 | 201 | ext:201 | +33612345678 | fr_mobile | out | originating | answered | 300',
      '3 | 202 | +33698112233 | +33320000202 | fr_fixed | in | originating | answered | 180',
      '4 | 202 | ext:202 | ext:+33320000201 | internal | out | originating | answered | 90',
      '5 | 202 | ext:202 | +4930123456 | international | out | originating | no_answer | 0',
      '6 | 202 | ext:202 | +33899123456 | fr_premium | out | originating | answered | 40',
      '7 | 201 | ext:201 | ext:800 | internal | out | originating | answered | 30',
    ]);
    const { bill, alerts } = rate(cdrs);
    expect(bill).toEqual([
      '1 | ext:202 | internal | 0.0000',
      '2 | +33612345678 | bundle | 0.0000',
      '3 | +33320000202 | inbound | 0.0000',
      '4 | ext:+33320000201 | internal | 0.0000',
      '5 | +4930123456 | not_answered | 0.0000',
      '6 | +33899123456 | out_of_plan_destination | 0.6533',
      '7 | ext:800 | internal | 0.0000',
    ]);
    expect(alerts).toEqual([]);
  });
});

describe('3CX call log export', () => {
  it('keeps its Internal calls internal: priced nothing, no alert', async () => {
    const { cdrs } = await read(`${PBX}/3cx-call-log.csv`, loadMappingProfile('config/profiles/3cx-call-log.yaml'));
    const { bill, alerts } = rate(cdrs);
    expect(bill.filter((b) => b.includes('internal'))).toEqual(['2 | ext:202 | internal | 0.0000']);
    expect(alerts).toEqual([]);
  });
});
