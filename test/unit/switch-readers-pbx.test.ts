/**
 * A real small-business PBX, as its Asterisk writes it (test/fixtures/switch-exports/pbx): internal
 * calls, ring groups and a queue through Local channels, a follow-me to a mobile, transfers, a
 * click-to-call Originate, an emergency call, two trunks (an OVH SIP trunk with a custom context and
 * an ISDN PRI), and an outside-line prefix `0`. Golden canonical CDRs and a golden bill: only the calls
 * that left the PBX cost something, to the number the trunk received, charged to the phone that made
 * them, and no fraud alert is raised.
 */
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readAsteriskCsv } from '../../services/ingest/readers/asterisk-csv.js';
import { readExport, type ReadExportOptions } from '../../services/ingest/readers/detect-format.js';
import { PBX, PBX_TRUNKS, collect, line, normalizeAll, rate } from './pbx-helpers.js';

const ASTERISK_OPTIONS: ReadExportOptions = { trunks: PBX_TRUNKS };

describe('an Asterisk month of a small business PBX', () => {
  it('gives one canonical CDR per leg: internal calls, inbound calls once, the number the trunk was given, the phone that called', async () => {
    const { records, rejects } = await collect(readExport(`${PBX}/asterisk-Master.csv`, ASTERISK_OPTIONS));
    expect(rejects).toEqual([]);
    const n = normalizeAll(records);
    expect(n.rejects).toEqual([]);
    // line | charged to | caller | callee | class | direction | leg | outcome | billable seconds
    expect(n.cdrs.map(line)).toEqual([
      '1 | 101 | ext:101 | ext:102 | internal | out | originating | answered | 120',
      // 112 is the reception desk of this PBX: an extension, not the emergency number.
      '2 | 103 | ext:103 | ext:112 | internal | out | originating | answered | 60',
      // Dialled 00612345678: the trunk was given 0612345678.
      '3 | 101 | ext:101 | +33612345678 | fr_mobile | out | originating | answered | 300',
      // 112 dialled and sent to the PRI: this one is the emergency number.
      '4 | 102 | ext:102 | 112 | emergency | out | originating | answered | 90',
      // Ring group 600 rang 112 and 101 through Local channels: one inbound call, charged to the phone that answered.
      '5 | 112 | +33698112233 | +33478000100 | fr_fixed | in | originating | answered | 180',
      // Follow-me to 102's mobile leaves the PBX: the one forwarded leg, charged to 102's line.
      '10 | 102 | +33478000102 | +33687654321 | fr_mobile | out | forwarded | answered | 240',
      '11 | 101 | +33698445566 | +33478000101 | fr_fixed | in | originating | answered | 60',
      // 101 transferred the caller to 103: a transfer inside the PBX costs nothing.
      '12 | 101 | +33478000101 | ext:103 | internal | out | transferred | answered | 120',
      '13 | 103 | +33698778899 | +33478000103 | fr_fixed | in | originating | answered | 90',
      // 103 transferred the caller to an outside number: a transferred leg, charged to 103.
      '14 | 103 | +33478000103 | +33556123456 | fr_fixed | out | transferred | answered | 200',
      // Click-to-call: the Originate's two halves are one call from 101.
      '16 | 101 | ext:101 | +33467123456 | fr_fixed | out | originating | answered | 150',
      // Sales queue 400 answered by 102 through a Local member.
      '17 | 102 | +33612000111 | +33478000100 | fr_fixed | in | originating | answered | 320',
      '19 | 102 | ext:102 | ext:*97 | internal | out | originating | answered | 40',
      // 101 called ring group 600; 103 answered: one internal call.
      '21 | 101 | ext:101 | ext:600 | internal | out | originating | answered | 70',
      '24 | 103 | ext:103 | 3949 | fr_short | out | originating | answered | 60',
      '25 | 101 | ext:101 | +4930123456 | international | out | originating | answered | 120',
      '26 | 102 | ext:102 | ext:101 | internal | out | originating | no_answer | 0',
      '27 | 101 | ext:101 | +33612345678 | fr_mobile | out | originating | no_answer | 0',
      // The fax has no accountcode nor src: its chan_sip peer name 123654987 is the account.
      '28 | 123654987 |  | +33142685300 | fr_fixed | out | originating | answered | 90',
    ]);
    // Every line of the file is in exactly one record.
    const lines = records.flatMap((r) => r.raw.split('\n'));
    expect(lines).toHaveLength(28);
    expect(new Set(lines).size).toBe(28);
  });

  it('bills only the calls that left the PBX, and raises no alert', async () => {
    const { records } = await collect(readExport(`${PBX}/asterisk-Master.csv`, ASTERISK_OPTIONS));
    const { bill, alerts } = rate(normalizeAll(records).cdrs);
    expect(bill).toEqual([
      '1 | ext:102 | internal | 0.0000',
      '2 | ext:112 | internal | 0.0000',
      '3 | +33612345678 | bundle | 0.0000',
      '4 | 112 | emergency | 0.0000',
      '5 | +33478000100 | inbound | 0.0000',
      // 240 s to a mobile at 0.06/min: the forwarded leg is out of the Centrex bundle.
      '10 | +33687654321 | fair_use.forwarding | 0.2400',
      '11 | +33478000101 | inbound | 0.0000',
      '12 | ext:103 | internal | 0.0000',
      '13 | +33478000103 | inbound | 0.0000',
      // 200 s to a fixed line at 0.02/min.
      '14 | +33556123456 | fair_use.forwarding | 0.0667',
      '16 | +33467123456 | bundle | 0.0000',
      '17 | +33478000100 | inbound | 0.0000',
      '19 | ext:*97 | internal | 0.0000',
      '21 | ext:600 | internal | 0.0000',
      // 3949 reached through the prefix: a short number priced at 0.35/min.
      '24 | 3949 | out_of_plan_destination | 0.3500',
      '25 | +4930123456 | bundle | 0.0000',
      '26 | ext:101 | internal | 0.0000',
      '27 | +33612345678 | not_answered | 0.0000',
      '28 | +33142685300 | bundle | 0.0000',
    ]);
    expect(alerts).toEqual([]);
  });

  it('refuses the calls from an undeclared trunk rather than billing them, and says how to declare it', async () => {
    const { records } = await collect(readExport(`${PBX}/asterisk-Master.csv`));
    const { rejects } = normalizeAll(records);
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([
      [5, 'unknown_subscriber'],
      [11, 'unknown_subscriber'],
      [12, 'unknown_subscriber'],
      [13, 'unknown_subscriber'],
      [14, 'unknown_subscriber'],
      [17, 'unknown_subscriber'],
    ]);
    expect(rejects[0]!.detail).toContain('"ovh" is a trunk');
    expect(rejects[0]!.detail).toContain('--trunk');
  });

  it('reads an 18-column file: Originate halves folded without linkedid, Local names reused after a restart kept apart', async () => {
    const { records, rejects } = await collect(readAsteriskCsv(`${PBX}/asterisk-18col-Master.csv`, { trunks: PBX_TRUNKS }));
    expect(rejects).toEqual([]);
    const { cdrs } = normalizeAll(records);
    expect(cdrs.map(line).sort()).toEqual([
      '2 | 101 | ext:101 | +33142685300 | fr_fixed | out | originating | answered | 111',
      '3 | 102 | ext:102 | ext:103 | internal | out | originating | answered | 90',
      // Same Local channel name two weeks later: another call, not folded into the first one.
      '5 | 101 | ext:101 | +33467123456 | fr_fixed | out | originating | answered | 52',
      '6 | 103 | ext:103 | +33698765432 | fr_mobile | out | originating | answered | 180',
    ]);
  });
});

describe('internal calls without a dial plan', () => {
  it('are found from the channels alone: a phone calling a phone is internal, its extension caller ID raises no alert', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pbx-')), 'Master.csv');
    // Extensions 3949 and 118712 look like a French short number and a directory enquiry service.
    const row = (i: number, src: string, dst: string, peer: string, start: string) =>
      `"","${src}","${dst}","from-internal","""x"" <${src}>","PJSIP/${src}-0000${i}","PJSIP/${peer}-0001${i}","Dial","PJSIP/${peer},20","${start}","${start}","2026-02-02 09:59:00",60,60,"ANSWERED","DOCUMENTATION","1770019200.${i}","","","1770019200.${i}",${i}`;
    writeFileSync(file, [row(1, '101', '3949', '3949', '2026-02-02 09:58:00'), row(2, '101', '118712', '118712', '2026-02-02 09:58:00')].join('\n'));
    const { records } = await collect(readAsteriskCsv(file));
    const { cdrs } = normalizeAll(records);
    expect(cdrs.map((c) => [c.caller, c.callee])).toEqual([
      ['ext:101', 'ext:3949'],
      ['ext:101', 'ext:118712'],
    ]);
    expect(rate(cdrs)).toEqual({ bill: ['1 | ext:3949 | internal | 0.0000', '2 | ext:118712 | internal | 0.0000'], alerts: [] });
  });
});

describe('Asterisk grouping stays linear', () => {
  it('reads 50,000 records of one linkedid (a call centre day) in a few seconds, losing none', async () => {
    const n = 50_000;
    const rows: string[] = [];
    for (let i = 0; i < n; i++) {
      const ext = 100 + (i % 90);
      const peer = 100 + ((i + 1) % 90);
      rows.push(
        `"","${ext}","${peer}","from-internal","""x"" <${ext}>","PJSIP/${ext}-${i.toString(16).padStart(8, '0')}","PJSIP/${peer}-${(i + n).toString(16).padStart(8, '0')}","Dial","PJSIP/${peer},20","2026-02-02 09:00:00","2026-02-02 09:00:01","2026-02-02 09:01:01",61,60,"ANSWERED","DOCUMENTATION","1770019200.${i}","","","1770019200.0",${i}`,
      );
    }
    const file = join(mkdtempSync(join(tmpdir(), 'pbx-')), 'Master.csv');
    writeFileSync(file, rows.join('\n'));
    const started = performance.now();
    const { records, rejects } = await collect(readAsteriskCsv(file, { groupWindow: n * 2 }));
    const ms = performance.now() - started;
    expect(rejects).toEqual([]);
    expect(records).toHaveLength(n);
    expect(records.every((r) => r.internal === true && r.leg === 'originating')).toBe(true);
    // 20,000 such records took 44 s when each record looked back over all the earlier ones.
    expect(ms).toBeLessThan(8000);
  });
});

/** A month of ordinary traffic of the PBX, as its Asterisk would write it (21 columns, one linkedid per call). */
function ordinaryMonth(): string {
  let seed = 42;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const users = ['101', '102', '103', '112'];
  const outside = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? `01426853${String(i).padStart(2, '0')}` : `06123456${String(i).padStart(2, '0')}`));
  const rows: string[] = [];
  let id = 0;
  const pad = (n: number): string => String(n).padStart(2, '0');
  const stamp = (day: number, s: number): string => `2026-02-${pad(day)} ${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
  const record = (src: string, dst: string, ctxName: string, chan: string, dchan: string, data: string, day: number, at: number, talk: number, linked: number): void => {
    id++;
    rows.push(
      `"","${src}","${dst}","${ctxName}","""x"" <${src}>","${chan.startsWith('Local/') ? chan : `${chan}-${id.toString(16).padStart(8, '0')}`}","${dchan}","Dial","${data}","${stamp(day, at)}","${stamp(day, at + 5)}","${stamp(day, at + 5 + talk)}",${talk + 5},${talk},"ANSWERED","DOCUMENTATION","1770000000.${id}","","","1770000000.${linked}",${id}`,
    );
  };
  for (let day = 2; day <= 27; day++) {
    if ([7, 8, 14, 15, 21, 22].includes(day)) continue; // weekends
    for (const user of users) {
      for (let i = 0; i < 25; i++) {
        const peer = users[(users.indexOf(user) + 1 + rand(3)) % 4]!;
        const at = 8 * 3600 + rand(9 * 3600);
        record(user, peer, 'from-internal', `PJSIP/${user}`, `PJSIP/${peer}-0000${pad(i)}`, `PJSIP/${peer},20`, day, at, 30 + rand(600), id + 1);
      }
      for (let i = 0; i < 8; i++) {
        const n = outside[rand(outside.length)]!;
        record(user, `0${n}`, 'from-internal', `PJSIP/${user}`, `PJSIP/ovh-0001${pad(i)}`, `PJSIP/${n}@ovh,60`, day, 8 * 3600 + rand(9 * 3600), 60 + rand(900), id + 1);
      }
    }
    for (let i = 0; i < 6; i++) {
      const at = 9 * 3600 + rand(8 * 3600);
      const linked = id + 1;
      record('0698112233', '0478000100', 'from-ovh', 'PJSIP/ovh', `Local/112@from-internal-${linked};1`, 'Local/112@from-internal/n,25', day, at, 120, linked);
      record('0698112233', '112', 'from-internal', `Local/112@from-internal-${linked};2`, `PJSIP/112-${linked}`, 'PJSIP/112,,tr', day, at, 120, linked);
    }
  }
  // A training morning: 101 holds 41 hours of internal conference calls, four at a time, then calls out.
  for (let i = 0; i < 41; i++) record('101', '102', 'from-internal', 'PJSIP/101', `PJSIP/102-0002${pad(i)}`, 'PJSIP/102,20', 2 + Math.floor(i / 4), 7 * 3600, 3600, id + 1);
  record('101', '00142685300', 'from-internal', 'PJSIP/101', 'PJSIP/ovh-00030000', 'PJSIP/0142685300@ovh,60', 27, 17 * 3600, 60, id + 1);
  // A busy hour: 80 internal calls between 10:00 and 11:00 on the 16th.
  for (let i = 0; i < 80; i++) record(users[i % 4]!, users[(i + 1) % 4]!, 'from-internal', `PJSIP/${users[i % 4]}`, `PJSIP/${users[(i + 1) % 4]}-0004${pad(i)}`, 'PJSIP/x,20', 16, 10 * 3600 + i * 40, 35, id + 1);
  return rows.join('\n');
}

describe('a month of ordinary PBX traffic', () => {
  it('raises no fraud or fair-use alert: internal calls count toward nothing, even 41 hours of them, four at a time', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pbx-month-')), 'Master.csv');
    writeFileSync(file, ordinaryMonth());
    const { records, rejects } = await collect(readExport(file, ASTERISK_OPTIONS));
    expect(rejects).toEqual([]);
    const { cdrs, rejects: refused } = normalizeAll(records);
    expect(refused).toEqual([]);
    const internal = cdrs.filter((c) => c.callee.startsWith('ext:'));
    expect(internal).toHaveLength(20 * 4 * 25 + 41 + 80);
    const { bill, alerts } = rate(cdrs);
    expect(alerts).toEqual([]);
    const reasons = new Map<string, number>();
    for (const b of bill) reasons.set(b.split(' | ')[2]!, (reasons.get(b.split(' | ')[2]!) ?? 0) + 1);
    expect(Object.fromEntries(reasons)).toEqual({ internal: internal.length, bundle: 20 * 4 * 8 + 1, inbound: 20 * 6 });
    // Nothing is priced: the outbound call after 41 hours of internal calls is still in the bundle.
    expect(bill.every((b) => b.endsWith('| 0.0000'))).toBe(true);
  });
});
