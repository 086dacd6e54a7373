/**
 * What a mapping profile computes and how it frames a fixed-width file: end = start + duration,
 * answer = end − billable, a timestamp from a date column and a time column, at their boundaries (a zero
 * duration, an unanswered call, midnight, both DST changes in Europe/Paris); page headers, blank lines,
 * records of another length and a declared 8-bit encoding; and the profile errors a user gets on load.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFixedWidthLines } from '../../services/ingest/fixed-width-lines.js';
import { detectFormat, readExport, readFirstLines } from '../../services/ingest/readers/detect-format.js';
import { loadMappingProfile } from '../../services/ingest/readers/mapping-profile.js';
import { PBX, collect, normalizeAll } from './pbx-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'profile-computed-'));
let n = 0;
const file = (content: string | Buffer, name = `f${++n}.txt`): string => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const profileOf = (yaml: string) => loadMappingProfile(file(yaml, `p${++n}.yaml`));

describe('computed times', () => {
  const profile = profileOf(`name: split
delimiter: ";"
columns:
  account: Poste
  callee: Numéro
  start_time: { date: Date, time: Heure }
  duration: Durée
  billable_seconds: Facturé
time: { format: DD/MM/YY HH:MM, zone: Europe/Paris }
`);
  const csv = file(
    [
      'Date;Heure;Poste;Numéro;Durée;Facturé',
      '04/02/26;09:00;101;00612345678;0;0', // zero duration
      '04/02/26;09:10;101;00612345678;0:00:25;0', // rang 25 s, never answered
      '31/01/26;23:59;102;00145000000;0:03:00;180', // across midnight
      '29/03/26;01:59;102;00145000000;0:02:00;120', // across the spring change (02:00 → 03:00)
      '25/10/26;02:59;103;00145000000;0:02:00;120', // in the autumn overlap (03:00 → 02:00)
      '04/02/26;10:00;103;00145000000;0:01:30;60', // 30 s of ringing before the answer
      '04/02/26;11:00;103;00145000000;1 min;60',
    ].join('\n'),
  );

  it('ends a call at start + duration and answers it at end − billable, from a date column and a time column', async () => {
    const { records, rejects } = await collect(readExport(csv, { profile, format: 'profile' }));
    expect(records.map((r) => [r.line, r.start, r.answer, r.end, r.billableSeconds])).toEqual([
      [2, '2026-02-04T09:00:00+01:00', '', '2026-02-04T09:00:00+01:00', '0'],
      [3, '2026-02-04T09:10:00+01:00', '', '2026-02-04T09:10:25+01:00', '0'],
      [4, '2026-01-31T23:59:00+01:00', '2026-01-31T23:59:00+01:00', '2026-02-01T00:02:00+01:00', '180'],
      [5, '2026-03-29T01:59:00+01:00', '2026-03-29T01:59:00+01:00', '2026-03-29T03:01:00+02:00', '120'],
      [6, '2026-10-25T02:59:00+02:00', '2026-10-25T02:59:00+02:00', '2026-10-25T02:01:00+01:00', '120'],
      [7, '2026-02-04T10:00:00+01:00', '2026-02-04T10:00:30+01:00', '2026-02-04T10:01:30+01:00', '60'],
    ]);
    expect(rejects.map((r) => [r.line, r.reason, r.detail])).toEqual([[8, 'bad_field', 'duration column Durée "1 min" is not seconds or h:mm:ss (profile split)']]);
    const { cdrs, rejects: refused } = normalizeAll(records);
    expect(refused).toEqual([]);
    // A call billed 0 s has no answer time: it is not answered, whatever it lasted.
    expect(cdrs.map((c) => `${c.line} ${c.disposition} ${c.billableSeconds} ${(c.endMs - c.startMs) / 1000}`)).toEqual([
      '2 no_answer 0 0',
      '3 no_answer 0 25',
      '4 answered 180 180',
      '5 answered 120 120',
      '6 answered 120 120',
      '7 answered 60 90',
    ]);
  });

  it('adds a duration to an epoch start without a zone', async () => {
    const epoch = profileOf(`name: epoch
columns: { account: a, callee: b, start_time: s, duration: d }
time: { format: epoch_seconds }
`);
    const { records } = await collect(readExport(file('a,b,s,d\n101,00612345678,1770192000,61\n'), { profile: epoch, format: 'profile' }));
    expect([records[0]!.start, records[0]!.end]).toEqual(['2026-02-04T08:00:00Z', '2026-02-04T08:01:01Z']);
  });
});

describe('fixed-width layouts', () => {
  const rec = (date: string, time: string, ext: string, number: string, duration: string, name: string): string =>
    `${date.padEnd(8)} ${time.padEnd(5)} ${ext.padEnd(4)} ${number.padEnd(16)} ${duration.padEnd(8)} ${name.padEnd(10)}`;
  const profile = profileOf(`name: printer-smdr
layout: fixed
encoding: windows-1252
skip_lines_matching: ["^\\\\s*SMDR REPORT", "^DATE "]
fields:
  date: { at: 1, width: 8 }
  time: { at: 10, to: 14 }
  ext: { at: 16, width: 4 }
  number: { at: 21, width: 16 }
  duration: { at: 38, width: 8 }
  name: { at: 47, width: 10 }
columns:
  account: ext
  callee: number
  start_time: { date: date, time: time }
  duration: duration
  billable_seconds: duration
time: { format: DD/MM/YY HH:MM, zone: Europe/Paris }
`);
  const page = (k: number) => `\fSMDR REPORT                         PAGE ${k}\r\nDATE     TIME  EXT  NUMBER           DURATION NAME\r\n`;
  const good = rec('04/02/26', '09:00', '101', '00612345678', '00:01:00', 'Renée');
  const bytes = Buffer.concat([
    Buffer.from(page(1) + good + '\r\n\r\n' + rec('04/02/26', '09:30', '102', '00145000000', '00:02:00', 'Bruno') + '\r\n' + page(2), 'latin1'),
    Buffer.from(rec('04/02/26', '10:00', '103', '00145000000', '00:00:30', 'Chloé') + '\r\n', 'latin1'),
    Buffer.from(good.trimEnd() + '\r\n' + good + 'X\r\n', 'latin1'),
    Buffer.from(good.slice(0, 20) + '\u0000' + good.slice(21) + '\r\n', 'latin1'),
  ]);
  const smdr = file(bytes, 'smdr.txt');

  it('yields each field as cut at its columns, blanks kept', async () => {
    const lines = [];
    for await (const batch of readFixedWidthLines(smdr, { fields: Object.values(profile.fields), encoding: 'windows-1252' })) lines.push(...batch);
    expect(lines.find((l) => l.raw === good)!.fields).toEqual(['04/02/26', '09:00', '101 ', '00612345678     ', '00:01:00', 'Renée     ']);
  });

  it('skips page headers and blank lines, reads 8-bit text, rejects a record of another length or with a control byte', async () => {
    const { records, rejects } = await collect(readExport(smdr, { profile, format: 'profile' }));
    expect(records.map((r) => [r.line, r.account, r.callee, r.start, r.end])).toEqual([
      [3, '101', '00612345678', '2026-02-04T09:00:00+01:00', '2026-02-04T09:01:00+01:00'],
      [5, '102', '00145000000', '2026-02-04T09:30:00+01:00', '2026-02-04T09:32:00+01:00'],
      [8, '103', '00145000000', '2026-02-04T10:00:00+01:00', '2026-02-04T10:00:30+01:00'],
    ]);
    expect(records[2]!.raw.endsWith('Chloé     ')).toBe(true);
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([
      [9, 'column_count'],
      [10, 'column_count'],
      [11, 'bad_encoding'],
    ]);
    expect(rejects[0]!.detail).toContain('51 characters where every record of this layout has 56');
    expect(rejects[1]!.detail).toContain('57 characters where every record of this layout has 56');
    expect(rejects[2]!.rawEncoding).toBe('base64');
  });

  it('is detected from its record length and the time at its columns', async () => {
    const mitel = loadMappingProfile('config/profiles/mitel-mivoice-smdr.yaml');
    expect(detectFormat(smdr, await readFirstLines(smdr), { profile })).toBe('profile');
    expect(detectFormat(`${PBX}/mitel-smdr.txt`, await readFirstLines(`${PBX}/mitel-smdr.txt`), { profile: mitel })).toBe('profile');
    expect(detectFormat(smdr, await readFirstLines(smdr), { profile: mitel })).toBeNull();
  });
});

describe('profile errors, named on load', () => {
  const base = 'name: x\nheader: true\n';
  const cases: [string, RegExp][] = [
    ['layout: fixed\nfields: { a: { at: 1, width: 3 } }\ncolumns: { account: a, callee: b, start_time: a, end_time: a }', /columns\.callee.*"b" is not one of the fields/],
    ['layout: fixed\nfields: { a: { at: 1 } }\ncolumns: { account: a, callee: a, start_time: a, end_time: a }', /fields\.a.*either width or to/],
    ['layout: fixed\nrecord_length: 2\nfields: { a: { at: 1, to: 3 } }\ncolumns: { account: a, callee: a, start_time: a, end_time: a }', /record_length.*ends at column 3/],
    ['columns: { account: A, callee: B, start_time: C, duration: D }', /time\.zone.*DST/],
    ['columns: { account: A, callee: B, start_time: C }', /columns\.end_time.*or duration/],
    ['columns: { account: A, callee: [B, C], start_time: D, end_time: E }', /columns\.callee.*duration only/],
    ['columns: { account: { date: A, time: B }, callee: B, start_time: D, end_time: E }', /columns\.account.*start_time, answer_time and end_time/],
    ['encoding: klingon\ncolumns: { account: A, callee: B, start_time: C, end_time: D }', /encoding.*"klingon"/],
    ['quoting: loose\ncolumns: { account: A, callee: B, start_time: C, end_time: D }', /quoting/],
    ['internal_when: [{ column: A }]\ncolumns: { account: A, callee: B, start_time: C, end_time: D }', /internal_when\.0.*exactly one of equals or matches/],
    ['time: { format: "DD/MM/YYYY HH", zone: Europe/Paris }\ncolumns: { account: A, callee: B, start_time: C, end_time: D }', /time\.format/],
  ];
  it.each(cases.map(([yaml, message]) => ({ yaml, message, title: message.source })))('refuses with $title', ({ yaml, message }) => {
    expect(() => profileOf(base + yaml)).toThrow(message);
  });

  it('accepts what the reference profiles use', () => {
    for (const p of ['avaya-ip-office-smdr', 'mitel-mivoice-smdr', 'alcatel-oxe-tickets', 'bicom-pbxware-cdr', '3cx-cdr', '3cx-call-log', 'example-pbx']) {
      expect(loadMappingProfile(`config/profiles/${p}.yaml`).name).toBe(p);
    }
  });
});

describe('an 8-bit export', () => {
  it('is recognised by its header names though its accented letters are not UTF-8', async () => {
    const profile = profileOf('name: latin\nencoding: windows-1252\ndelimiter: ";"\ncolumns: { account: Poste, callee: Appelé, start_time: Début, end_time: Fin }\n');
    const path = file(Buffer.from('Poste;Appelé;Début;Fin\n101;00612345678;2026-02-04 09:00:00;2026-02-04 09:01:00\n', 'latin1'));
    expect(detectFormat(path, await readFirstLines(path), { profile })).toBe('profile');
    expect(detectFormat(path, await readFirstLines(path), { profile: { ...profile, encoding: 'utf-8' } })).toBeNull();
  });
});
