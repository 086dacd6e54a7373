/**
 * Exports as real PBXs write them, in the shapes that lost calls before the rater saw them: the
 * database-style Asterisk exports (a start and two durations, no answer and no end), quotes the
 * writer did not escape, a foreign byte in a caller name, a channel's uniqueid repeated on every
 * record of that channel, blank lines and a damaged first record, and contexts that only look inbound.
 * Fixtures are ours, written in the shapes of FreePBX's asteriskcdrdb.cdr table and cdr_csv.
 */
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../services/config/load-config.js';
import { Zone } from '../../services/core/calendar.js';
import { screenCdrIds } from '../../services/ingest/cdr-identity.js';
import { normalizeRecord } from '../../services/ingest/normalize.js';
import { readExport, type ReadExportOptions } from '../../services/ingest/readers/detect-format.js';
import { loadMappingProfile } from '../../services/ingest/readers/mapping-profile.js';
import { tempDir } from '../support/tmp.js';
import { PBX, PBX_TRUNKS, collect, line, normalizeAll, rate } from './pbx-helpers.js';

const file = tempDir();
const OPTIONS: ReadExportOptions = { trunks: PBX_TRUNKS };
const REPORT = `${PBX}/freepbx-cdr-report.csv`;
const reportLines = readFileSync(REPORT, 'utf8').trimEnd().split('\n');

describe('a FreePBX "CDR Reports" export (the asteriskcdrdb.cdr table with its header)', () => {
  it('bills every call that left through a trunk, for its billsec, to the phone that made it', async () => {
    const { records, rejects } = await collect(readExport(REPORT, OPTIONS));
    expect(rejects).toEqual([]);
    const n = normalizeAll(records);
    expect(n.rejects).toEqual([]);
    // line | charged to | caller | callee | class | direction | leg | outcome | billable seconds
    expect(n.cdrs.map(line)).toEqual([
      // `"Alice Martin" <101>` unquoted and unescaped: read as text, the call billed (it was a malformed_csv reject).
      '2 | 101 | ext:101 | +33612345678 | fr_mobile | out | originating | answered | 180',
      '3 | 102 | ext:102 | ext:103 | internal | out | originating | answered | 90',
      '4 | 101 | +33698112233 | +33478000101 | fr_fixed | in | originating | answered | 60',
      // The ring group's member answered through from-did-direct: one inbound call, for the DID the network called.
      '5 | 102 | +33698445566 | +33478000100 | fr_fixed | in | originating | answered | 80',
      // Trunk failover under one uniqueid: the first trunk FAILED, the second ANSWERED; both kept, the second billed.
      '7 | 103 | ext:103 | +33142685300 | fr_fixed | out | originating | failed | 0',
      '8 | 103 | ext:103 | +33142685300 | fr_fixed | out | originating | answered | 118',
      // NULL (as MySQL writes it) in accountcode and userfield is an empty value.
      '9 | 101 | ext:101 | +493012345678 | international | out | originating | no_answer | 0',
      '10 | 102 | ext:102 | ext:*97 | internal | out | originating | answered | 40',
      '11 | 103 | ext:103 | +33467123456 | fr_fixed | out | originating | answered | 3590',
    ]);
    // Every data line is in exactly one record: the Local half (line 6) is folded into its inbound call.
    expect(records.flatMap((r) => r.raw.split('\n')).sort()).toEqual(reportLines.slice(1).sort());
    expect(records.filter((r) => r.notes?.some((t) => t.includes('quotes'))).length).toBe(records.length);
    const bill = rate(n.cdrs);
    expect(bill.bill.filter((b) => !b.endsWith('| 0.0000'))).toEqual([]);
    expect(bill.bill.map((b) => b.split(' | ')[2])).toEqual(['bundle', 'internal', 'inbound', 'inbound', 'not_answered', 'bundle', 'not_answered', 'internal', 'bundle']);
    expect(bill.alerts).toEqual([]);
  });

  it("reads a caller name holding a comma as FreePBX's download writes it (wrapped in quotes, inner quotes not escaped)", async () => {
    // cdr_export_csv wraps a value in quotes when it holds a comma and escapes nothing: `""Martin, Alice" <101>"`.
    const header = 'calldate,clid,src,dst,dcontext,channel,dstchannel,lastapp,lastdata,duration,billsec,disposition,amaflags,accountcode,uniqueid,userfield';
    const row = '2026-03-10 09:00:00,""Martin, Alice" <101>",101,00612345678,from-internal,PJSIP/101-00000001,PJSIP/ovh-00000002,Dial,"PJSIP/0612345678@ovh,300,Tt",185,180,ANSWERED,3,,1773129600.1,';
    const broken = '2026-03-10 09:05:00,Martin, Alice <101>,101,00612345678,from-internal,PJSIP/101-00000003,PJSIP/ovh-00000004,Dial,PJSIP/0612345678@ovh,185,180,ANSWERED,3,,1773129900.3,';
    const { records, rejects } = await collect(readExport(file('cdr.csv', [header, row, broken].join('\n') + '\n'), OPTIONS));
    expect(normalizeAll(records).cdrs.map(line)).toEqual(['2 | 101 | ext:101 | +33612345678 | fr_mobile | out | originating | answered | 180']);
    expect(records[0]!.raw).toBe(row);
    // A line no reading gives the header's width is refused, never read with its columns shifted.
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([[3, 'column_count']]);
  });

  it('computes the end from the start and the duration in Europe/Paris, exact across the spring change', async () => {
    const cdrs = normalizeAll((await collect(readExport(REPORT, OPTIONS))).records).cdrs;
    const night = cdrs.find((c) => c.line === 11)!;
    // 01:59 CET + 3600 s is 03:59 CEST on the wall clock: one hour of call, not two.
    expect(new Date(night.startMs).toISOString()).toBe('2026-03-29T00:59:00.000Z');
    expect((night.endMs - night.startMs) / 1000).toBe(3600);
    expect(new Date(night.answerMs!).toISOString()).toBe('2026-03-29T00:59:10.000Z');
  });

  it('reads the same table without a header, after a leading id column, with \\N for NULL', async () => {
    const rows = reportLines.slice(1).map((l, i) => `${i + 1},${l.replace(/,NULL,/g, ',\\N,')}`);
    const headerless = file('cdr-table.csv', rows.join('\n') + '\n');
    const a = normalizeAll((await collect(readExport(REPORT, OPTIONS))).records).cdrs.map(line);
    const b = normalizeAll((await collect(readExport(headerless, OPTIONS))).records).cdrs.map((c) => line({ ...c, line: c.line + 1 }));
    expect(b).toEqual(a);
  });

  it('gives each record the same id in every export of it, so that a re-export is all duplicates', async () => {
    const first = normalizeAll((await collect(readExport(REPORT, OPTIONS))).records).cdrs;
    const shuffled = file('again.csv', [reportLines[0], ...reportLines.slice(1).reverse()].join('\n') + '\n');
    const again = normalizeAll((await collect(readExport(shuffled, OPTIONS))).records).cdrs;
    const billed = new Map(first.map((c) => [c.cdrId, c.subscriber.clientId]));
    expect(new Set(first.map((c) => c.cdrId)).size).toBe(first.length);
    expect(screenCdrIds(again, (id) => billed.get(id))).toMatchObject({ fresh: [], duplicates: first.length, conflicts: [] });
  });
});

describe('the same calls from other Asterisk-based PBXs: Bicom PBXware and Grandstream UCM', () => {
  // The FreePBX fixture's rows by column name (unescaped quotes read as text, as the reader reads them).
  const columns = reportLines[0]!.split(',');
  const rows = reportLines.slice(1).map((l) => {
    const fields = (l.match(/("[^"]*"(?=,|$)|[^,]*)(,|$)/g) ?? []).map((f) => f.replace(/,$/, '').replace(/^"(.*)"$/, '$1'));
    return Object.fromEntries(columns.map((c, i) => [c, fields[i] ?? ''])) as Record<string, string>;
  });
  const outbound = async (path: string) =>
    normalizeAll((await collect(readExport(path, OPTIONS))).records)
      .cdrs.filter((c) => c.direction === 'out')
      .map((c) => [c.line, c.subscriber.account, c.callee, c.disposition, c.billableSeconds].join(' | '));
  const wall = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

  it('reads a PBXware cdr table export without header (AcctId and tenant first, calldate after lastdata, unescaped quotes)', async () => {
    // `1,NULL,""Ramana Ulsa" <1115>",1115,…`: the shape of a real PBXware export.
    const lines = rows.map((r, i) =>
      [i + 1, 'NULL', `"${r.clid}"`, r.src, r.dst, r.dcontext, r.channel, r.dstchannel, r.lastapp, `"${r.lastdata}"`, r.calldate, r.duration, r.billsec, '0.00', r.disposition, 'DOCUMENTATION', r.accountcode, r.uniqueid, r.userfield].join(','),
    );
    expect(lines[0]).toMatch(/^1,NULL,""Alice Martin" <101>",101,00612345678,/);
    expect(await outbound(file('pbxware-cdr.csv', lines.join('\n') + '\n'))).toEqual((await outbound(REPORT)).map((l) => l.replace(/^\d+/, (n) => String(Number(n) - 1))));
  });

  it("reads Grandstream UCM's CSV download, whose header names the columns in words", async () => {
    const header = 'Account Code,Caller Number,Callee Number,Context,CallerID,Source Channel,Dest Channel,Lastapp,Lastdata,Start time,Answer Time,End time,Call time,Talk time,Disposition,Amaflags,Uniqueid,Userfield,Dest Channel Extension,Caller Name';
    const lines = rows.map((r) => {
      const start = Date.parse(r.calldate!.replace(' ', 'T') + 'Z');
      const end = start + Number(r.duration) * 1000;
      const answer = Number(r.billsec) > 0 ? wall(end - Number(r.billsec) * 1000) : '';
      return [r.accountcode, r.src, r.dst, r.dcontext, `"${r.clid!.replace(/"/g, '""')}"`, r.channel, r.dstchannel, r.lastapp, `"${r.lastdata}"`, r.calldate, answer, wall(end), r.duration, r.billsec, r.disposition, 'DOCUMENTATION', r.uniqueid, '', '', r.cnam].join(',');
    });
    const got = await outbound(file('ucm-cdr.csv', [header, ...lines].join('\n') + '\n'));
    // Wall-clock end times: the night call of the spring change is read from its written end (an hour longer).
    expect(got.filter((l) => !l.startsWith('11 '))).toEqual((await outbound(REPORT)).filter((l) => !l.startsWith('11 ')));
  });
});

describe("cdr_custom with the mapping of Asterisk's sample cdr_custom.conf", () => {
  // clid first, every value quoted but the sequence, seconds with decimals (CDR(billsec,f)), a callid added after.
  const rec = (clid: string, src: string, dst: string, context: string, channel: string, dstchannel: string, app: string, data: string, start: string, answer: string, end: string, duration: string, billsec: string, disposition: string, uniqueid: string, seq: number) =>
    [clid, src, dst, context, channel, dstchannel, app, data, start, answer, end, duration, billsec, disposition, 'DOCUMENTATION', '', uniqueid, ''].map((v) => `"${v.replace(/"/g, '""')}"`).join(',') + `,${seq},"a84f0c1e@10.0.0.5"`;

  it('bills the call that left and not the extension-to-extension call of context default (it was priced 0.75)', async () => {
    const lines = [
      rec('"Alice" <101>', '101', '102', 'default', 'SIP/101-00000001', 'SIP/102-00000002', 'Dial', 'SIP/102,30', '2026-02-10 09:00:00', '2026-02-10 09:00:04', '2026-02-10 09:05:04', '304.221', '300.118', 'ANSWERED', '1770710400.1', 1),
      rec('"Alice" <101>', '101', '00612345678', 'default', 'SIP/101-00000003', 'SIP/ovh-00000004', 'Dial', 'SIP/ovh/0612345678,60', '2026-02-10 10:00:00', '2026-02-10 10:00:06', '2026-02-10 10:02:06', '126.480', '119.502', 'ANSWERED', '1770714000.3', 2),
    ];
    const { records, rejects } = await collect(readExport(file('Master.csv', lines.join('\n') + '\n'), OPTIONS));
    expect(rejects).toEqual([]);
    const cdrs = normalizeAll(records).cdrs;
    expect(cdrs.map(line)).toEqual([
      '1 | 101 | ext:101 | ext:102 | internal | out | originating | answered | 300',
      '2 | 101 | ext:101 | +33612345678 | fr_mobile | out | originating | answered | 120',
    ]);
    expect(rate(cdrs).bill.map((b) => b.split(' | ').slice(2).join(' | '))).toEqual(['internal | 0.0000', 'bundle | 0.0000']);
  });
});

describe('an SQL dump of asteriskcdrdb (what a backup hands over)', () => {
  const DUMP = `${PBX}/asteriskcdrdb-dump.sql`;
  const csvBill = async () => normalizeAll((await collect(readExport(REPORT, OPTIONS))).records).cdrs.map((c) => [c.cdrId, c.subscriber.account, c.callee, c.billableSeconds, c.direction, c.disposition].join(' | '));

  it('bills the rows of its extended INSERTs like the same table exported as CSV, the other tables passed over', async () => {
    const { records, rejects } = await collect(readExport(DUMP, OPTIONS));
    expect(rejects).toEqual([]);
    const cdrs = normalizeAll(records).cdrs;
    expect(cdrs.map((c) => [c.cdrId, c.subscriber.account, c.callee, c.billableSeconds, c.direction, c.disposition].join(' | '))).toEqual(await csvBill());
    // mysqldump's \" in the caller name is the quote it stands for.
    expect(records[0]!.raw).toContain(`'\\"Alice Martin\\" <101>'`);
  });

  it("reads pg_dump's COPY … FROM stdin, and an INSERT that names its columns in another order", async () => {
    const rows = reportLines.slice(1).map((l) => (l.match(/("[^"]*"(?=,|$)|[^,]*)(,|$)/g) ?? []).map((f) => f.replace(/,$/, '').replace(/^"(.*)"$/, '$1')).slice(0, 26));
    const columns = reportLines[0]!.split(',');
    const copy = ['-- PostgreSQL database dump', "SET standard_conforming_strings = on;", `COPY public.cdr (${columns.join(', ')}) FROM stdin;`, ...rows.map((r) => r.map((v) => (v === 'NULL' ? '\\N' : v)).join('\t')), '\\.', ''].join('\n');
    const viaCopy = normalizeAll((await collect(readExport(file('cdr.sql', copy), OPTIONS))).records).cdrs;
    const reordered = [...columns].reverse();
    const insert = `INSERT INTO cdr (${reordered.join(',')}) VALUES ${rows.map((r) => `(${[...r].reverse().map((v) => (v === 'NULL' ? 'NULL' : `'${v.replace(/'/g, "''")}'`)).join(',')})`).join(',\n')};\n`;
    const viaInsert = normalizeAll((await collect(readExport(file('cdr2.sql', insert), OPTIONS))).records).cdrs;
    const bill = await csvBill();
    expect(viaCopy.map((c) => [c.cdrId, c.subscriber.account, c.callee, c.billableSeconds, c.direction, c.disposition].join(' | '))).toEqual(bill);
    expect(viaInsert.map((c) => [c.cdrId, c.subscriber.account, c.callee, c.billableSeconds, c.direction, c.disposition].join(' | '))).toEqual(bill);
  });

  it('numbers the rows of an extended INSERT: two bad rows on one line are two rejects, each with its row', async () => {
    const columns = reportLines[0]!;
    const good = `('2026-03-10 09:00:00','\\"A\\" <101>','101','00612345678','from-internal','PJSIP/101-1','PJSIP/ovh-2','Dial','PJSIP/0612345678@ovh,300',185,180,'ANSWERED',3,'','1773129600.1','','','','101','A','','','','1773129600.1','',1)`;
    const badTime = good.replace("'2026-03-10 09:00:00'", "'2026-03-10 9h'").replace(/1773129600\.1/g, '1773129600.2');
    const badSeconds = good.replace('185,180', "185,'x'").replace(/1773129600\.1/g, '1773129600.3');
    const dump = `INSERT INTO cdr (${columns}) VALUES ${good},${badTime},${badSeconds};\n`;
    const { records, rejects } = await collect(readExport(file('cdr.sql', dump), OPTIONS));
    expect(records.map((r) => r.line)).toEqual([1]);
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([[2, 'bad_time'], [3, 'bad_field']]);
  });

  it('refuses a dump without a CDR table as one reject that says what to dump', async () => {
    const { records, rejects } = await collect(readExport(file('other.sql', "-- MySQL dump 10.13\nINSERT INTO `users` VALUES (1,'a'),(2,'b');\n")));
    expect(records).toEqual([]);
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([[0, 'unknown_format']]);
    expect(rejects[0]!.detail).toMatch(/dump the cdr table of asteriskcdrdb/);
  });
});

describe("a channel's uniqueid repeated on each of its records (cdr_csv without sequence)", () => {
  // 18 columns: uniqueid and userfield, no linkedid nor sequence (Asterisk 1.8–11 defaults).
  const rec = (dst: string, dstchannel: string, lastdata: string, start: string, answer: string, end: string, duration: number, billsec: number, disposition: string, uniqueid: string) =>
    `"","101","${dst}","from-internal","""Alice"" <101>","SIP/101-00000001","${dstchannel}","Dial","${lastdata}","${start}","${answer}","${end}",${duration},${billsec},"${disposition}","DOCUMENTATION","${uniqueid}",""`;
  const failover = [
    rec('00142685300', 'SIP/orange-00000002', 'SIP/orange/0142685300,60', '2026-02-10 09:00:00', '', '2026-02-10 09:00:04', 4, 0, 'FAILED', '1770710400.1'),
    rec('00142685300', 'SIP/ovh-00000003', 'SIP/ovh/0142685300,60', '2026-02-10 09:00:04', '2026-02-10 09:00:10', '2026-02-10 09:03:10', 186, 180, 'ANSWERED', '1770710400.1'),
    rec('00612345678', 'SIP/ovh-00000004', 'SIP/ovh/0612345678,60', '2026-02-10 10:00:00', '', '2026-02-10 10:00:20', 20, 0, 'BUSY', '1770714000.4'),
    rec('00612345678', 'SIP/ovh-00000005', 'SIP/ovh/0612345678,60', '2026-02-10 10:01:00', '2026-02-10 10:01:05', '2026-02-10 10:02:05', 65, 60, 'ANSWERED', '1770714000.4'),
  ];

  it('keeps the answered retry on the second trunk, which was dropped as a duplicate of the failed first try', async () => {
    const path = file('Master.csv', failover.join('\n') + '\n');
    const cdrs = normalizeAll((await collect(readExport(path, OPTIONS))).records).cdrs;
    const { fresh, duplicates } = screenCdrIds(cdrs, () => undefined);
    expect(duplicates).toBe(0);
    expect(fresh.map(line)).toEqual([
      '1 | 101 | ext:101 | +33142685300 | fr_fixed | out | originating | failed | 0',
      '2 | 101 | ext:101 | +33142685300 | fr_fixed | out | originating | answered | 180',
      '3 | 101 | ext:101 | +33612345678 | fr_mobile | out | originating | busy | 0',
      '4 | 101 | ext:101 | +33612345678 | fr_mobile | out | originating | answered | 60',
    ]);
  });

  it('still counts the same file rated again, or a copy with its lines in another order, as duplicates', async () => {
    const once = normalizeAll((await collect(readExport(file('a.csv', failover.join('\n') + '\n'), OPTIONS))).records).cdrs;
    const twice = normalizeAll((await collect(readExport(file('b.csv', [...failover].reverse().join('\n') + '\n'), OPTIONS))).records).cdrs;
    const billed = new Map(once.map((c) => [c.cdrId, c.subscriber.clientId]));
    expect(screenCdrIds(twice, (id) => billed.get(id))).toMatchObject({ fresh: [], duplicates: 4 });
  });
});

describe('a byte that is not UTF-8', () => {
  const master = (clid: Buffer, dst: Buffer | string) =>
    Buffer.concat([
      Buffer.from('"","101","'),
      typeof dst === 'string' ? Buffer.from(dst) : dst,
      Buffer.from('","from-internal","'),
      clid,
      Buffer.from('","SIP/101-00000001","SIP/ovh-00000002","Dial","SIP/ovh/0612345678,60","2026-02-10 09:00:00","2026-02-10 09:00:05","2026-02-10 09:03:05",185,180,"ANSWERED","DOCUMENTATION","1770710400.1",""\n'),
    ]);
  // "Ирина <101>" in Windows-1251, and a Latin-1 yen sign (0xA5) as in a real production file.
  const cyrillic = Buffer.from([0xc8, 0xf0, 0xe8, 0xed, 0xe0, 0x20, 0x3c, 0x31, 0x30, 0x31, 0x3e]);
  const latin1 = Buffer.from([0x4a, 0x6f, 0xa5, 0x20, 0x3c, 0x31, 0x30, 0x31, 0x3e]);

  it('in a caller name bills the call, the name decoded with a replacement character and the fact noted', async () => {
    const { records, rejects } = await collect(readExport(file('Master.csv', master(latin1, '00612345678')), OPTIONS));
    expect(rejects).toEqual([]);
    expect(normalizeAll(records).cdrs.map(line)).toEqual(['1 | 101 | ext:101 | +33612345678 | fr_mobile | out | originating | answered | 180']);
    expect(records[0]!.raw).toContain('Jo\uFFFD <101>');
    expect(records[0]!.notes).toEqual(['column 5 not UTF-8: decoded with replacement characters (declare the export\'s encoding to read it exactly)']);
  });

  it('in the declared encoding reads the name exactly', async () => {
    const { records } = await collect(readExport(file('Master.csv', master(cyrillic, '00612345678')), { ...OPTIONS, encoding: 'windows-1251' }));
    expect(records[0]!.raw).toContain('"Ирина <101>"');
    expect(records[0]!.notes).toBeUndefined();
  });

  it('in a number still refuses the record, its bytes kept', async () => {
    const bad = Buffer.from([0x30, 0x30, 0x36, 0x31, 0x32, 0x33, 0x34, 0xa5, 0x36, 0x37, 0x38]);
    const { records, rejects } = await collect(readExport(file('Master.csv', master(Buffer.from('Jo <101>'), bad)), OPTIONS));
    expect(records).toEqual([]);
    expect(rejects.map((r) => [r.line, r.reason, r.rawEncoding])).toEqual([[1, 'bad_encoding', 'base64']]);
    expect(rejects[0]!.detail).toMatch(/invalid UTF-8 at byte 18 of the line \(about column 3\)/);
  });

  it('in the device of a canonical file bills the call; in its callee refuses it', async () => {
    const head = 'cdr_id,account,caller,callee,start_time,answer_time,end_time,billable_seconds,device\n';
    const row = (id: string, callee: Buffer, device: Buffer) =>
      Buffer.concat([Buffer.from(`${id},101,,`), callee, Buffer.from(',2026-02-10T09:00:00+01:00,2026-02-10T09:00:05+01:00,2026-02-10T09:03:05+01:00,180,'), device, Buffer.from('\n')]);
    const content = Buffer.concat([Buffer.from(head), row('c-1', Buffer.from('0612345678'), Buffer.from([0x50, 0x6f, 0xa5])), row('c-2', Buffer.from([0x30, 0x36, 0xa5]), Buffer.from('Polycom'))]);
    const { records, rejects } = await collect(readExport(file('calls.csv', content)));
    expect(records.map((r) => [r.cdrId, r.device])).toEqual([['c-1', 'Po\uFFFD']]);
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([[3, 'bad_encoding']]);
  });
});

describe('blank lines and a damaged first record never hide the records of a file', () => {
  const canonical = readFileSync('test/fixtures/switch-exports/canonical.csv', 'utf8');
  const asterisk = readFileSync(`${PBX}/asterisk-Master.csv`, 'utf8');
  const freeswitch = readFileSync(`${PBX}/freeswitch-example-Master.csv`, 'utf8');
  const recordsOf = async (content: string, options: ReadExportOptions = {}) => (await collect(readExport(file('export.csv', content), options))).records.length;

  it.each([9, 10, 11, 100, 5000])('%i blank lines at the top (canonical, Asterisk, FreeSWITCH)', async (blanks) => {
    const pad = '\n'.repeat(blanks);
    expect(await recordsOf(pad + canonical)).toBe(await recordsOf(canonical));
    expect(await recordsOf(pad + asterisk, OPTIONS)).toBe(await recordsOf(asterisk, OPTIONS));
    expect(await recordsOf(pad + freeswitch)).toBe(await recordsOf(freeswitch));
    expect(await recordsOf(canonical)).toBeGreaterThan(0);
  });

  const first = asterisk.split('\n')[0]!;
  const rest = asterisk.split('\n').slice(1).join('\n');
  it.each([
    ['a bad start time', first.replace('"2026-02-02 09:00:00"', '"2026-02-31 9h"'), 'bad_time'],
    // cdr_csv never quotes an integer, but the record is whole: it is read like the others.
    ['a quoted duration', first.replace(/,(\d+),(\d+),"ANSWERED"/, ',"$1",$2,"ANSWERED"'), 'rated'],
    ['22 columns', first + ',"x"', 'column_count'],
    ['a line cut short', first.slice(0, 60), 'malformed_csv'],
  ])('an Asterisk Master.csv whose first record has %s: that record alone is refused', async (_what, damaged, outcome) => {
    expect(damaged).not.toBe(first);
    const whole = (await collect(readExport(file('Master.csv', asterisk), OPTIONS))).records;
    const { records, rejects } = await collect(readExport(file('Master.csv', `${damaged}\n${rest}`), OPTIONS));
    if (outcome === 'rated') {
      expect(rejects).toEqual([]);
      expect(records.map((r) => r.line)).toEqual(whole.map((r) => r.line));
    } else {
      expect(rejects.map((r) => [r.line, r.reason])).toEqual([[1, outcome]]);
      expect(records.map((r) => r.line)).toEqual(whole.map((r) => r.line).filter((l) => l !== 1));
    }
  });
});

describe('contexts: only the stock inbound contexts, whole names, make a call inbound', () => {
  // A phone's channel (not a trunk), so the context alone decides.
  const record = (context: string) =>
    `"","0698112233","101","${context}","""x"" <0698112233>","PJSIP/101-00000001","PJSIP/102-00000002","Dial","PJSIP/102,20","2026-02-10 09:00:00","2026-02-10 09:00:05","2026-02-10 09:01:05",65,60,"ANSWERED","DOCUMENTATION","1770710400.1",""`;
  it.each([
    ['from-pstn', 'in'], ['from-pstn-toheader', 'in'], ['from-pstn-e164-us', 'in'], ['from-trunk', 'in'], ['from-trunk-pjsip-ovh', 'in'],
    ['from-sip-external', 'in'], ['from-digital', 'in'], ['from-analog', 'in'], ['ext-did', 'in'], ['ext-did-0002', 'in'], ['ext-did-catchall', 'in'],
    ['from-extern', 'in'], ['from-outside', 'in'], ['inbound', 'in'],
    ['from-did-direct', 'out'], ['from-did-direct-ivr', 'out'], ['from-internal', 'out'], ['from-internal-xfer', 'out'], ['ext-local', 'out'],
    ['ext-group', 'out'], ['from-queue', 'out'], ['default', 'out'], ['from-pstnx', 'out'], ['my-from-trunk', 'out'],
  ])('%s → %s', async (context, direction) => {
    const { records } = await collect(readExport(file('Master.csv', record(context) + '\n')));
    expect(records.map((r) => r.direction)).toEqual([direction]);
  });
});

describe('a CUCM cluster whose PRI is behind an H.323 gateway, named by its IP address', () => {
  const head =
    'cdrRecordType,globalCallID_callManagerId,globalCallID_callId,origLegCallIdentifier,dateTimeOrigination,origSpan,callingPartyNumber,originalCalledPartyNumber,finalCalledPartyNumber,dateTimeConnect,dateTimeDisconnect,destSpan,duration,origDeviceName,destDeviceName\n';
  // The PRI is a line of the directory (a T0 trunk of the client): inbound calls must not be read as its outgoing calls.
  const subscribers = readFileSync(`${PBX}/subscribers.csv`, 'utf8') + '10.20.30.1,C-CISCO,S-NANTES,U-PRI,technicophone_trunk_sip,t0,30,false,+33240002000,,\n';

  it('reads a call from the gateway as inbound, charged to the phone that answered, and raises no caller-ID alert', async () => {
    const export_ = file('cdr_cluster.txt', head + '1,1,5001,50002,1770192000,0,"0698112233","2002","2002",1770192004,1770192124,0,120,"10.20.30.1","SEP0011AABB2002"\n');
    const config = loadConfig('config', file('subscribers.csv', subscribers));
    const ctx = { numbering: config.numbering, sourceZone: new Zone('Europe/Paris'), directory: config.directory };
    const { records } = await collect(readExport(export_));
    const cdrs = records.map((r) => normalizeRecord(r, ctx)).flatMap((n) => (n.ok ? [n.cdr] : []));
    expect(cdrs.map((c) => [c.direction, c.subscriber.account, c.caller, c.billableSeconds])).toEqual([['in', 'SEP0011AABB2002', '+33698112233', 120]]);
    expect(rate(cdrs).alerts).toEqual([]);
  });
});

describe('an outside party that stays on the trunk after the phone that called it let go', () => {
  // 21 columns (newcdrcolumns): the records of one call share a linkedid.
  const rec = (src: string, dst: string, context: string, channel: string, dstchannel: string, app: string, data: string, start: string, answer: string, end: string, billsec: number, uniqueid: string, seq: number) =>
    `"","${src}","${dst}","${context}","""x"" <${src}>","${channel}","${dstchannel}","${app}","${data}","${start}","${answer}","${end}",${billsec + 5},${billsec},"ANSWERED","DOCUMENTATION","${uniqueid}","","","1770710400.1",${seq}`;
  const dialOut = rec('101', '00612345678', 'from-internal', 'PJSIP/101-00000001', 'PJSIP/ovh-00000002', 'Dial', 'PJSIP/0612345678@ovh,300', '2026-02-10 09:00:00', '2026-02-10 09:00:05', '2026-02-10 09:01:05', 60, '1770710400.1', 1);

  it('bills a blind transfer to a phone for the whole time the trunk was held, as one call of the transferring user', async () => {
    const transferred = rec('0612345678', '102', 'from-internal-xfer', 'PJSIP/ovh-00000002', 'PJSIP/102-00000003', 'Dial', 'PJSIP/102,20', '2026-02-10 09:01:05', '2026-02-10 09:01:08', '2026-02-10 09:03:08', 120, '1770710400.2', 2);
    const { records } = await collect(readExport(file('Master.csv', [dialOut, transferred].join('\n') + '\n'), OPTIONS));
    const cdrs = normalizeAll(records).cdrs;
    expect(cdrs.map(line)).toEqual(['1 | 101 | ext:101 | +33612345678 | fr_mobile | out | originating | answered | 180']);
    expect(records[0]!.raw.split('\n')).toHaveLength(2);
  });

  it('bills a park and its pick-up by another phone the same way, park time included', async () => {
    const parked = rec('0612345678', '701', 'parkedcalls', 'PJSIP/ovh-00000002', '', 'Park', '', '2026-02-10 09:01:05', '2026-02-10 09:01:05', '2026-02-10 09:01:35', 30, '1770710400.2', 2);
    const pickedUp = rec('102', '701', 'from-internal', 'PJSIP/102-00000004', 'PJSIP/ovh-00000002', 'ParkedCall', '701', '2026-02-10 09:01:35', '2026-02-10 09:01:35', '2026-02-10 09:05:35', 240, '1770710495.4', 3);
    const { records } = await collect(readExport(file('Master.csv', [dialOut, parked, pickedUp].join('\n') + '\n'), OPTIONS));
    expect(normalizeAll(records).cdrs.map(line)).toEqual(['1 | 101 | ext:101 | +33612345678 | fr_mobile | out | originating | answered | 330']);
  });

  it('still bills a transfer to another outside number as a transferred leg of its own', async () => {
    const onward = rec('0612345678', '0145000009', 'from-internal-xfer', 'PJSIP/ovh-00000002', 'PJSIP/ovh-00000005', 'Dial', 'PJSIP/0145000009@ovh,300', '2026-02-10 09:01:05', '2026-02-10 09:01:10', '2026-02-10 09:03:10', 120, '1770710400.2', 2);
    const { records } = await collect(readExport(file('Master.csv', [dialOut, onward].join('\n') + '\n'), OPTIONS));
    expect(normalizeAll(records).cdrs.map(line)).toEqual([
      '1 | 101 | ext:101 | +33612345678 | fr_mobile | out | originating | answered | 60',
      '2 | 101 | ext:101 | +33145000009 | fr_fixed | out | transferred | answered | 120',
    ]);
  });
});

describe('a mapping profile: a foreign byte in an unmapped or device column, and in a number', () => {
  it('rates the call whose device name is Latin-1, refuses the one whose callee is', async () => {
    const profile = loadMappingProfile('config/profiles/example-pbx.yaml');
    const lines = readFileSync('test/fixtures/switch-exports/example-pbx.csv').toString('latin1').split('\r\n');
    const good = Buffer.from(lines[2]!.replace('P-101', 'Poste d\u00e9cor'), 'latin1');
    const bad = Buffer.from(lines[2]!.replace('EX-0001', 'EX-0002').replace('0142685300', '014268\u00e95300'), 'latin1');
    const content = Buffer.concat([Buffer.from(lines.slice(0, 2).join('\r\n') + '\r\n', 'latin1'), good, Buffer.from('\r\n'), bad, Buffer.from('\r\n')]);
    const { records, rejects } = await collect(readExport(file('appels.csv', content), { profile }));
    expect(records.map((r) => [r.cdrId, r.device, r.notes?.length])).toEqual([['EX-0001', 'Poste d\uFFFDcor', 1]]);
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([[4, 'bad_encoding']]);
  });
});

describe('FreeSWITCH mod_cdr_csv: a caller name in Latin-1', () => {
  it('bills the call, the name decoded with a replacement character', async () => {
    const first = readFileSync(`${PBX}/freeswitch-example-Master.csv`, 'latin1').split('\n')[1]!;
    const content = Buffer.from(first.replace('"Ext 1002"', '"Ext Andr\u00e9"') + '\n', 'latin1');
    const { records, rejects } = await collect(readExport(file('Master.csv', content), OPTIONS));
    expect(rejects).toEqual([]);
    expect(normalizeAll(records).cdrs.map(line)).toEqual(['1 | 1002 | ext:1002 | +33467123456 | fr_fixed | out | originating | answered | 120']);
    expect(records[0]!.notes?.[0]).toMatch(/^column 1 not UTF-8/);
  });
});

describe('FreeSWITCH contexts: whole names only', () => {
  // The example template's context column (4th); the caller is a user of the PBX, not a gateway.
  const line = readFileSync(`${PBX}/freeswitch-example-Master.csv`, 'utf8').split('\n')[1]!;
  it.each([['public', 'in'], ['inbound', 'in'], ['default', 'out'], ['public-fax', 'out'], ['inbound-queue', 'out']])('%s → %s', async (context, direction) => {
    const { records } = await collect(readExport(file('Master.csv', line.replace('"default"', `"${context}"`) + '\n')));
    expect(records.map((r) => r.direction)).toEqual([direction]);
  });
});
