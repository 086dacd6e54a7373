/**
 * Kamailio / OpenSIPS accounting (`kamailio-acc`): the acc module's log lines and its acc, missed_calls
 * and acc_cdrs tables exported as CSV. Which call is billed (an INVITE and its BYE, whichever side hung
 * up), for how long, to which account, what a busy, cancelled or missed call gives, and which rows are
 * rejected and why. Fixtures under test/fixtures/switch-exports/kamailio, with the C-PME subscribers of
 * the PBX fixtures; kamailio-5.6-stderr.log is what Kamailio 5.6.3 wrote for four SIPp calls through the
 * kamailio.cfg beside it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { screenCdrIds } from '../../services/ingest/cdr-identity.js';
import { detectFormat, readExport, readFirstLines } from '../../services/ingest/readers/detect-format.js';
import { readSipAccounting } from '../../services/ingest/readers/sip-accounting.js';
import type { SourceRecord } from '../../services/ingest/source-record.js';
import { tempDir } from '../support/tmp.js';
import { collect, line, normalizeAll, rate } from './pbx-helpers.js';

const K = 'test/fixtures/switch-exports/kamailio';
const LOG = `${K}/kamailio-acc-syslog.log`;
const ACC = `${K}/acc.csv`;
const MISSED = `${K}/missed_calls.csv`;
const CDRS = `${K}/acc_cdrs.csv`;
const REAL = `${K}/kamailio-5.6-stderr.log`;
/** The operator's SIP trunk: calls from it are inbound. */
const TRUNK = /^192\.0\.2\.10$/;

const tempFile = tempDir();

/** A record as a user checks it: line, id, account, caller, callee, start, answer, end, outcome, direction, rows it was built from. */
const compact = (r: SourceRecord): string =>
  [r.line, r.cdrId, r.account, r.caller, r.callee, r.start, r.answer || '-', r.end, r.disposition, r.direction, r.raw.split('\n').length].join(' | ');

describe('format detection', () => {
  it.each([LOG, REAL, ACC, MISSED, CDRS])('recognises %s', async (file) => {
    expect(detectFormat(file, await readFirstLines(file))).toBe('kamailio-acc');
  });
});

describe('acc log lines (syslog)', () => {
  it('pairs each answered INVITE with its BYE, keeps failed and missed INVITEs at 0, rejects what has no pair', async () => {
    const { records, rejects } = await collect(readExport(LOG, { trunks: TRUNK }));
    expect(records.map(compact)).toEqual([
      // 101 hangs up: INVITE at 09:00:05 Paris, BYE at 09:03:05.
      '1 | c1-4f1a@10.0.0.21;a1x;b1y | 101 | 101 | 0612345678 | 2026-02-04T08:00:05Z | 2026-02-04T08:00:05Z | 2026-02-04T08:03:05Z | answered | out | 2',
      // The same BYE logged twice: the same call again, same cdr_id (a duplicate for the run).
      '5 | c1-4f1a@10.0.0.21;a1x;b1y | 101 | 101 | 0612345678 | 2026-02-04T08:00:05Z | 2026-02-04T08:00:05Z | 2026-02-04T08:03:05Z | answered | out | 1',
      // The callee hangs up (detect_direction: the caller's tag first, src_user the callee): still 102's call.
      '6 | c2-5e2b@10.0.0.21;a2x;b2y | 102 | 102 | 0478123456 | 2026-02-04T08:10:00Z | 2026-02-04T08:10:00Z | 2026-02-04T08:12:00Z | answered | out | 2',
      // The callee hangs up without detect_direction (tags swapped); the re-INVITE at 09:13 is part of the call.
      '7 | c3-6d3c@10.0.0.21;a3x;b3y | 103 | 103 | 0145678901 | 2026-02-04T08:11:00Z | 2026-02-04T08:11:00Z | 2026-02-04T08:16:00Z | answered | out | 3',
      // Busy: `call missed` and `transaction answered` of the same 486, one record.
      '12 | c4-7c4d@10.0.0.21;a4x;486 | 101 | 101 | 0698765432 | 2026-02-04T08:20:00Z | - | 2026-02-04T08:20:00Z | busy | out | 2',
      // Cancelled while ringing (487).
      '14 | c5-8b5e@10.0.0.21;a5x;487 | 112 | 112 | 0145000000 | 2026-02-04T08:21:10Z | - | 2026-02-04T08:21:10Z | no_answer | out | 2',
      // A missed call alone (480, missed-call flag only).
      '16 | c11-9a6f@10.0.0.21;a11x;480 | 112 | 112 | 0687654321 | 2026-02-04T08:25:00Z | - | 2026-02-04T08:25:00Z | no_answer | out | 1',
      '17 | c6-1a7a@10.0.0.21;a6x;b6y | 102 | 102 | 103 | 2026-02-04T08:30:00Z | 2026-02-04T08:30:00Z | 2026-02-04T08:31:00Z | answered | out | 2',
      // From the trunk (src_ip 192.0.2.10): inbound, for the subscriber of the number called.
      '19 | c12-2b8b@192.0.2.10;a12x;b12y |  | 0698112233 | +33478000112 | 2026-02-04T08:40:00Z | 2026-02-04T08:40:00Z | 2026-02-04T08:42:30Z | answered | in | 2',
      '21 | c13-4d0d@10.0.0.21;a13x;b13y | 101 | 101 | 0012125550100 | 2026-02-04T08:45:00Z | 2026-02-04T08:45:00Z | 2026-02-04T08:47:00Z | answered | out | 2',
    ]);
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([
      [3, 'missing_field'],
      [23, 'missing_field'],
    ]);
    // A BYE whose INVITE was in an earlier file; an INVITE whose BYE never came: what to do, in words.
    expect(rejects[0]!.detail).toMatch(/^a BYE \(Call-ID c9-77aa@10\.0\.0\.21\) whose INVITE is not in the file/);
    expect(rejects[1]!.detail).toMatch(/^an answered INVITE \(Call-ID c10-3c9c@10\.0\.0\.21, from 103 to 0612000000, .*no BYE for it in the file/);
    for (const r of rejects) expect(r.detail).toContain('detect_direction');
    expect(rejects[1]!.raw).toContain('call_id=c10-3c9c@10.0.0.21');
  });

  it('gives the bill: the forfait covers France, New York is priced, busy and cancelled calls cost nothing', async () => {
    const { cdrs, rejects } = normalizeAll((await collect(readExport(LOG, { trunks: TRUNK }))).records);
    expect(rejects).toEqual([]);
    expect(cdrs.map(line)).toEqual([
      '1 | 101 | ext:101 | +33612345678 | fr_mobile | out | originating | answered | 180',
      '5 | 101 | ext:101 | +33612345678 | fr_mobile | out | originating | answered | 180',
      '6 | 102 | ext:102 | +33478123456 | fr_fixed | out | originating | answered | 120',
      '7 | 103 | ext:103 | +33145678901 | fr_fixed | out | originating | answered | 300',
      '12 | 101 | ext:101 | +33698765432 | fr_mobile | out | originating | busy | 0',
      '14 | 112 | ext:112 | +33145000000 | fr_fixed | out | originating | no_answer | 0',
      '16 | 112 | ext:112 | +33687654321 | fr_mobile | out | originating | no_answer | 0',
      // 103 is an extension of the same PBX: internal.
      '17 | 102 | ext:102 | ext:103 | internal | out | originating | answered | 60',
      '19 | 112 | +33698112233 | +33478000112 | fr_fixed | in | originating | answered | 150',
      '21 | 101 | ext:101 | +12125550100 | international | out | originating | answered | 120',
    ]);
    // Line 5 is the repeated BYE: the same cdr_id as line 1, billed once.
    expect(rate(cdrs).bill).toEqual([
      '1 | +33612345678 | bundle | 0.0000',
      '6 | +33478123456 | bundle | 0.0000',
      '7 | +33145678901 | bundle | 0.0000',
      '12 | +33698765432 | not_answered | 0.0000',
      '14 | +33145000000 | not_answered | 0.0000',
      '16 | +33687654321 | not_answered | 0.0000',
      '17 | ext:103 | internal | 0.0000',
      '19 | +33478000112 | inbound | 0.0000',
      '21 | +12125550100 | out_of_plan_destination | 0.0600',
    ]);
  });

  it('without --trunk every call is the caller\'s: the trunk call is then an unknown subscriber, not a lost call', async () => {
    const { records } = await collect(readExport(LOG));
    const fromTrunk = records.find((r) => r.line === 19)!;
    expect([fromTrunk.account, fromTrunk.direction]).toEqual(['0698112233', 'out']);
    expect(normalizeAll([fromTrunk]).rejects.map((r) => r.reason)).toEqual(['unknown_subscriber']);
  });

  it('gives the same bill for the file read twice (a log concatenated with itself): every second copy has a cdr_id already seen', async () => {
    const once = (await collect(readExport(LOG, { trunks: TRUNK }))).records;
    const twicePath = tempFile('twice.log', readFileSync(LOG, 'utf8').repeat(2));
    const { records, rejects } = await collect(readExport(twicePath, { trunks: TRUNK }));
    const { cdrs } = normalizeAll(records);
    const screened = screenCdrIds(cdrs, () => undefined);
    expect(screened.fresh.map((c) => c.cdrId)).toEqual(normalizeAll(once).cdrs.filter((c) => c.line !== 5).map((c) => c.cdrId));
    expect(screened.duplicates).toBe(cdrs.length - screened.fresh.length);
    expect(rate(cdrs).bill.map((b) => b.replace(/^\d+ \| /, ''))).toEqual(rate(normalizeAll(once).cdrs).bill.map((b) => b.replace(/^\d+ \| /, '')));
    // The orphan BYE twice; the INVITE without BYE once, its second copy kept in the same reject.
    expect(rejects.map((r) => [r.line, r.reason, r.raw.split('\n').length])).toEqual([
      [3, 'missing_field', 1],
      [26, 'missing_field', 1],
      [23, 'missing_field', 2],
    ]);
  });
});

describe('acc and missed_calls tables exported as CSV', () => {
  it('gives the same calls as the log, times read in the server zone', async () => {
    const fromLog = normalizeAll((await collect(readExport(LOG, { trunks: TRUNK }))).records).cdrs;
    const { records, rejects } = await collect(readExport(ACC, { trunks: TRUNK }));
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([
      [3, 'missing_field'],
      [19, 'missing_field'],
    ]);
    const fromTable = normalizeAll(records).cdrs;
    const view = (c: (typeof fromLog)[number]): string => [c.cdrId, c.subscriber.account, c.callee, c.startMs, c.endMs, c.billableSeconds, c.disposition, c.direction].join(' ');
    // The acc table has no `call missed` rows: the log's 480 is only in missed_calls.
    expect(fromTable.map(view)).toEqual(fromLog.filter((c) => c.disposition !== 'no_answer' || c.cdrId.endsWith(';487')).map(view));
  });

  it('reads missed_calls: a failed INVITE in both tables is one call (same cdr_id), the missed-only 480 is its own', async () => {
    const acc = normalizeAll((await collect(readExport(ACC, { trunks: TRUNK }))).records).cdrs;
    const { records, rejects } = await collect(readExport(MISSED));
    expect(rejects).toEqual([]);
    expect(records.map(compact)).toEqual([
      '2 | c4-7c4d@10.0.0.21;a4x;486 | 101 | 101 | 0698765432 | 2026-02-04 09:20:00 | - | 2026-02-04 09:20:00 | busy | out | 1',
      '3 | c5-8b5e@10.0.0.21;a5x;487 | 112 | 112 | 0145000000 | 2026-02-04 09:21:10 | - | 2026-02-04 09:21:10 | no_answer | out | 1',
      '4 | c11-9a6f@10.0.0.21;a11x;480 | 112 | 112 | 0687654321 | 2026-02-04 09:25:00 | - | 2026-02-04 09:25:00 | no_answer | out | 1',
    ]);
    const screened = screenCdrIds([...acc, ...normalizeAll(records).cdrs], () => undefined);
    // The repeated BYE of the acc table, and the 486 and 487 found in both tables.
    expect(screened.duplicates).toBe(3);
    expect(screened.fresh.filter((c) => c.disposition !== 'answered').map((c) => c.cdrId)).toEqual([
      'c4-7c4d@10.0.0.21;a4x;486',
      'c5-8b5e@10.0.0.21;a5x;487',
      'c11-9a6f@10.0.0.21;a11x;480',
    ]);
  });

  it('reads epoch times, and rejects a time it cannot read with the column named', async () => {
    const head = readFileSync(ACC, 'utf8').split('\n')[0]!;
    const path = tempFile('acc-epoch.csv', [
      head,
      '1,INVITE,t1,t2,e1@h,200,OK,1770192005,101,d,10.0.0.21,0612345678,0612345678,gw',
      '2,BYE,t1,t2,e1@h,200,OK,1770192065,101,d,10.0.0.21,0612345678,,gw',
      '3,INVITE,t3,t4,e2@h,200,OK,04/02/2026 09:00,101,d,10.0.0.21,0612345678,0612345678,gw',
    ].join('\n'));
    const { records, rejects } = await collect(readExport(path));
    expect(records.map((r) => [r.start, r.end])).toEqual([['2026-02-04T08:00:05Z', '2026-02-04T08:01:05Z']]);
    expect(rejects.map((r) => [r.line, r.reason, r.detail])).toEqual([[4, 'bad_time', 'time "04/02/2026 09:00" is neither YYYY-MM-DD HH:MM:SS nor epoch seconds']]);
  });
});

describe('acc_cdrs (dialog CDRs) exported as CSV', () => {
  it('reads one row per call: duration above 0 answered, 0 a failed dialog', async () => {
    const { records, rejects } = await collect(readExport(CDRS));
    expect(rejects).toEqual([]);
    expect(records.map(compact)).toEqual([
      '2 | c1-4f1a@10.0.0.21;a1x | 101 | 101 | 0612345678 | 2026-02-04 09:00:05 | 2026-02-04 09:00:05 | 2026-02-04 09:03:05 | answered | out | 1',
      '3 | c2-5e2b@10.0.0.21;a2x | 102 | 102 | 0478123456 | 2026-02-04 09:10:00 | 2026-02-04 09:10:00 | 2026-02-04 09:12:00 | answered | out | 1',
      '4 | c4-7c4d@10.0.0.21;a4x | 101 | 101 | 0698765432 | 2026-02-04 09:20:00 | - | 2026-02-04 09:20:00 | no_answer | out | 1',
    ]);
    expect(normalizeAll(records).cdrs.map((c) => c.billableSeconds)).toEqual([180, 120, 0]);
  });
});

describe('what Kamailio 5.6 itself wrote (kamailio.cfg and sipp/ beside the fixture)', () => {
  it('bills the two answered calls (caller and callee hang up), the 486 and the 487 at 0; the CDR lines beside them are not billed twice', async () => {
    const { records, rejects } = await collect(readExport(REAL));
    expect(rejects).toEqual([]);
    const { cdrs } = normalizeAll(records);
    expect(cdrs.map(line)).toEqual([
      '7 | 101 | ext:101 | +33612345678 | fr_mobile | out | originating | answered | 3',
      '10 | 101 | ext:101 | +33478123456 | fr_fixed | out | originating | answered | 2',
      '13 | 101 | ext:101 | +33698765432 | fr_mobile | out | originating | busy | 0',
      '16 | 101 | ext:101 | +33145678901 | fr_fixed | out | originating | no_answer | 0',
    ]);
    // The callee's BYE names the callee (src_user=service): the call stays 101's, from the INVITE.
    expect(records[1]!.raw).toContain('method=BYE;from_tag=21262SIPpTag001;to_tag=21259SIPpTag011');
    expect(records[1]!.raw).toContain('src_user=service');
  });

  it('refuses a log of dialog CDR lines only, saying what to turn on', async () => {
    const cdrOnly = readFileSync(REAL, 'utf8').split('\n').filter((l) => !l.includes('ACC:')).join('\n');
    const { records, rejects } = await collect(readSipAccounting(tempFile('cdr-only.log', cdrOnly)));
    expect(records).toEqual([]);
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([[0, 'unknown_format']]);
    expect(rejects[0]!.detail).toMatch(/^4 dialog CDR lines .* and no "ACC:" line.*log_extra/);
  });
});

describe('rows that make no call', () => {
  const acc = (attrs: string): string => `Feb  4 10:00:00 sip1 kamailio[1]: NOTICE: acc [acc.c:287]: acc_log_request(): ACC: transaction answered: ${attrs}`;

  it('holds a bounded number of open calls: beyond it the oldest is rejected, saying why', async () => {
    const lines = [1, 2, 3].map((i) => acc(`timestamp=177019200${i};method=INVITE;from_tag=f${i};to_tag=t${i};call_id=o${i};code=200;reason=OK;src_user=101;dst_ouser=0612345678`));
    lines.push(acc('timestamp=1770192100;method=BYE;from_tag=f3;to_tag=t3;call_id=o3;code=200;reason=OK;src_user=101'));
    const { records, rejects } = await collect(readSipAccounting(tempFile('open.log', lines.join('\n')), { maxOpenCalls: 2 }));
    expect(records.map((r) => r.cdrId)).toEqual(['o3;f3;t3']);
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([
      [1, 'missing_field'],
      [2, 'missing_field'],
    ]);
    expect(rejects[0]!.detail).toContain('more than 2 calls were open at once');
    expect(rejects[1]!.detail).toContain('no BYE for it in the file');
  });

  it('rejects an INVITE without caller or callee (no log_extra), a bad timestamp, and a MESSAGE outside any call', async () => {
    const path = tempFile('bare.log', [
      acc('timestamp=1770192000;method=INVITE;from_tag=f1;to_tag=t1;call_id=b1;code=200;reason=OK'),
      acc('timestamp=yesterday;method=INVITE;from_tag=f2;to_tag=t2;call_id=b2;code=200;reason=OK;src_user=101;dst_ouser=0612345678'),
      acc('timestamp=1770192000;method=MESSAGE;from_tag=f3;to_tag=;call_id=b3;code=202;reason=Accepted;src_user=101;dst_ouser=102'),
    ].join('\n'));
    const { records, rejects } = await collect(readSipAccounting(path));
    expect(records).toEqual([]);
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([
      [1, 'missing_field'],
      [2, 'bad_field'],
      [3, 'bad_field'],
    ]);
    expect(rejects[0]!.detail).toContain('log_extra');
    expect(rejects[1]!.detail).toContain('timestamp "yesterday"');
    expect(rejects[2]!.detail).toMatch(/^a MESSAGE outside any call/);
  });

  it('folds an accounted CANCEL into the 487 it led to', async () => {
    const path = tempFile('cancel.log', [
      acc('timestamp=1770192000;method=CANCEL;from_tag=f1;to_tag=;call_id=x1;code=200;reason=OK;src_user=101;dst_ouser=0612345678'),
      acc('timestamp=1770192001;method=INVITE;from_tag=f1;to_tag=t1;call_id=x1;code=487;reason=Request Terminated;src_user=101;dst_ouser=0612345678'),
    ].join('\n'));
    const { records, rejects } = await collect(readSipAccounting(path));
    expect(rejects).toEqual([]);
    expect(records.map(compact)).toEqual(['1 | x1;f1;487 | 101 | 101 | 0612345678 | 2026-02-04T08:00:01Z | - | 2026-02-04T08:00:01Z | no_answer | out | 2']);
  });

  it('folds an early-media row (183, acc early_media) into the call it became', async () => {
    const path = tempFile('early.log', [
      acc('timestamp=1770192000;method=INVITE;from_tag=f1;to_tag=t1;call_id=e1;code=183;reason=Session Progress;src_user=101;dst_ouser=0612345678'),
      acc('timestamp=1770192010;method=INVITE;from_tag=f1;to_tag=t1;call_id=e1;code=200;reason=OK;src_user=101;dst_ouser=0612345678'),
      acc('timestamp=1770192070;method=BYE;from_tag=f1;to_tag=t1;call_id=e1;code=200;reason=OK;src_user=101'),
    ].join('\n'));
    const { records, rejects } = await collect(readSipAccounting(path));
    expect(rejects).toEqual([]);
    expect(records.map(compact)).toEqual(['2 | e1;f1;t1 | 101 | 101 | 0612345678 | 2026-02-04T08:00:10Z | 2026-02-04T08:00:10Z | 2026-02-04T08:01:10Z | answered | out | 3']);
  });
});

describe('OpenSIPS', () => {
  it('reads a `call ended` CDR line: created is the start, call_start_time the answer, duration the billed seconds', async () => {
    const path = tempFile('opensips.log', [
      'Feb  4 10:00:00 sip1 opensips[9]: ACC: call ended: created=1770192000;call_start_time=1770192008;duration=62;ms_duration=61420;setuptime=8;method=INVITE;from_tag=f1;to_tag=t1;call_id=os1;code=200;reason=OK;src_user=101;dst_ouser=0612345678',
    ].join('\n'));
    const { records, rejects } = await collect(readExport(path));
    expect(rejects).toEqual([]);
    expect(records.map(compact)).toEqual(['1 | os1;f1;t1 | 101 | 101 | 0612345678 | 2026-02-04T08:00:00Z | 2026-02-04T08:00:08Z | 2026-02-04T08:01:10Z | answered | out | 1']);
    expect(normalizeAll(records).cdrs.map((c) => c.billableSeconds)).toEqual([62]);
  });

  it('reads an acc table with the CDR columns (cdr_flag): one row is the whole call, its BYE row a duplicate of it', async () => {
    const path = tempFile('opensips-acc.csv', [
      'id,method,from_tag,to_tag,callid,sip_code,sip_reason,time,duration,ms_duration,setuptime,created,src_user,dst_ouser',
      '1,INVITE,f1,t1,os2,200,OK,2026-02-04 09:00:08,62,61420,8,2026-02-04 09:00:00,101,0612345678',
      '2,BYE,f1,t1,os2,200,OK,2026-02-04 09:01:10,0,0,0,,101,0612345678',
    ].join('\n'));
    const { records, rejects } = await collect(readExport(path));
    expect(rejects).toEqual([]);
    expect(records.map(compact)).toEqual([
      '2 | os2;f1;t1 | 101 | 101 | 0612345678 | 2026-02-04 09:00:00 | 2026-02-04 09:00:08 | 2026-02-04 09:01:10 | answered | out | 1',
      '3 | os2;f1;t1 | 101 | 101 | 0612345678 | 2026-02-04 09:00:00 | 2026-02-04 09:00:08 | 2026-02-04 09:01:10 | answered | out | 1',
    ]);
  });
});
