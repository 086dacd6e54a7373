/**
 * The byte and value layer under every reader: what a corrupted or hostile export holds becomes a
 * reject with its own reason, the original bytes recoverable, and the good lines around it are read.
 */
import { Buffer } from 'node:buffer';
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Zone } from '../../services/core/calendar.js';
import type { Subscriber } from '../../services/core/cdr.js';
import { readCsvLines } from '../../services/ingest/csv-lines.js';
import { ingestLimits } from '../../services/ingest/input-limits.js';
import { normalizeRecord, type Normalized } from '../../services/ingest/normalize.js';
import { readExport, type ReadExportOptions } from '../../services/ingest/readers/detect-format.js';
import type { ReadItem, Reject } from '../../services/ingest/source-record.js';
import { SubscriberDirectory } from '../../services/ingest/subscriber-directory.js';
import { numbering } from '../support/numbering.js';
import { tempDir } from '../support/tmp.js';

const file = tempDir();
const alice: Subscriber = {
  account: 'acc-1', clientId: 'C-1', siteId: 'S-1', userId: 'U-1', planId: 'technicophone_centrex',
  lineType: 'centrex_user', channels: 1, automated: false, numbers: ['+33142000001'],
};
const NOW = Date.parse('2026-03-10T12:00:00Z');
const ctx = { numbering, sourceZone: new Zone('Europe/Paris'), directory: new SubscriberDirectory([alice]), nowMs: NOW };
const HEADER = 'cdr_id,account,caller,callee,start_time,answer_time,end_time,billable_seconds';
const row = (id: string, over: Partial<Record<'start' | 'answer' | 'end' | 'billsec' | 'account', string>> = {}): string =>
  `${id},${over.account ?? 'acc-1'},0142000001,0612345678,${over.start ?? '2026-03-02T09:00:00+01:00'},${over.answer ?? '2026-03-02T09:00:05+01:00'},${over.end ?? '2026-03-02T09:03:05+01:00'},${over.billsec ?? '180'}`;

// One record of each switch format, as their own documentation writes them (see switch-readers.test.ts).
const ASTERISK = '"acc-1","0142000001","0612345678","from-internal","""Alice"" <0142000001>","PJSIP/alice-00000001","PJSIP/trunk-00000002","Dial","PJSIP/0612345678@trunk","2026-03-02 09:00:00","2026-03-02 09:00:05","2026-03-02 09:03:05",185,180,"ANSWERED","DOCUMENTATION","1709366400.1",""';

const CUCM_HEAD =
  'cdrRecordType,globalCallID_callManagerId,globalCallID_callId,origLegCallIdentifier,dateTimeOrigination,callingPartyNumber,originalCalledPartyNumber,finalCalledPartyNumber,dateTimeConnect,dateTimeDisconnect,origDeviceName,duration\n' +
  'INTEGER,INTEGER,INTEGER,INTEGER,INTEGER,VARCHAR(50),VARCHAR(50),VARCHAR(50),INTEGER,INTEGER,VARCHAR(129),INTEGER\n';

async function collect(items: AsyncIterable<ReadItem>): Promise<{ records: number; rejects: Reject[] }> {
  let records = 0;
  const rejects: Reject[] = [];
  for await (const item of items) {
    if (item.kind === 'reject') rejects.push(item.reject);
    else records++;
  }
  return { records, rejects };
}

async function normalized(content: string | Buffer, options: ReadExportOptions = {}): Promise<Normalized[]> {
  const out: Normalized[] = [];
  for await (const item of readExport(writeTo(content), options)) {
    out.push(item.kind === 'reject' ? { ok: false, reject: item.reject } : normalizeRecord(item.record, ctx));
  }
  return out;
}

function writeTo(content: string | Buffer): string {
  const path = file('in.csv');
  writeFileSync(path, content);
  return path;
}

const rejected = (n: Normalized): Reject => {
  if (n.ok) throw new Error(`expected a reject, got ${n.cdr.cdrId}`);
  return n.reject;
};

describe('bytes that are not text', () => {
  it('rejects a line with a NUL byte as bad_encoding, keeps its exact bytes in base64, and reads the lines around it', async () => {
    const bad = Buffer.concat([Buffer.from(row('x-2').slice(0, 20)), Buffer.from([0, 0, 0]), Buffer.from(row('x-2').slice(20))]);
    const content = Buffer.concat([Buffer.from(`${HEADER}\n${row('x-1')}\n`), bad, Buffer.from(`\n${row('x-3')}\n`)]);
    const all = await normalized(content);
    expect(all.map((n) => (n.ok ? n.cdr.cdrId : n.reject.reason))).toEqual(['x-1', 'bad_encoding', 'x-3']);
    const r = rejected(all[1]!);
    expect(r.line).toBe(3);
    expect(r.rawEncoding).toBe('base64');
    expect(Buffer.from(r.raw, 'base64').equals(bad)).toBe(true);
    expect(r.detail).toMatch(/NUL byte \(0x00\) at byte 21 of the line \(about column 3\)/);
  });

  it('rejects invalid UTF-8 and says how to convert the file; two ids differing only in invalid bytes do not merge', async () => {
    const a = Buffer.from(`x-\xe9,acc-1,0142000001,0612345678,2026-03-02T09:00:00+01:00,,2026-03-02T09:01:00+01:00,60`, 'latin1');
    const b = Buffer.from(`x-\xe8,acc-1,0142000001,0612345678,2026-03-02T09:00:00+01:00,,2026-03-02T09:01:00+01:00,60`, 'latin1');
    const all = await normalized(Buffer.concat([Buffer.from(`${HEADER}\n`), a, Buffer.from('\n'), b, Buffer.from('\n')]));
    expect(all.map((n) => (n.ok ? 'rated' : n.reject.reason))).toEqual(['bad_encoding', 'bad_encoding']);
    expect(rejected(all[0]!).detail).toMatch(/invalid UTF-8 at byte 3 .*iconv -f WINDOWS-1252 -t UTF-8/);
    expect(Buffer.from(rejected(all[0]!).raw, 'base64').equals(a)).toBe(true);
    expect(Buffer.from(rejected(all[1]!).raw, 'base64').equals(b)).toBe(true);
  });

  it('treats a lone CR, ESC or DEL inside a line as a control byte, but a CRLF line end and a TAB as text', async () => {
    const all = await normalized(`${HEADER}\r\n${row('x-1')}\r\n${row('x\r1')}\n${row('x\u001b1')}\n${row('x\u007f1')}\n${row('x\t2')}\n`);
    expect(all.map((n) => (n.ok ? n.cdr.cdrId : n.reject.reason))).toEqual(['x-1', 'bad_encoding', 'bad_encoding', 'bad_encoding', 'x\t2']);
    expect(rejected(all[1]!).detail).toMatch(/carriage return/);
  });

  it('makes a file whose header is not clean text one bad_header reject, its bytes kept', async () => {
    const header = Buffer.concat([Buffer.from(HEADER.slice(0, 10)), Buffer.from([0xff]), Buffer.from(HEADER.slice(10))]);
    const all = await normalized(Buffer.concat([header, Buffer.from(`\n${row('x-1')}\n${row('x-2')}\n`)]), { format: 'canonical' });
    expect(all).toHaveLength(1);
    const r = rejected(all[0]!);
    expect([r.line, r.reason, r.rawEncoding]).toEqual([1, 'bad_header', 'base64']);
    expect(r.detail).toMatch(/^the header line cannot be read \(bad_encoding\): invalid UTF-8 at byte 11 .* no line of the file is read until the header is fixed$/);
    expect(Buffer.from(r.raw, 'base64').equals(header)).toBe(true);
  });

  it('rejects a NUL-padded line in every switch format', async () => {
    const padded = (line: string) => Buffer.concat([Buffer.alloc(64), Buffer.from(line + '\n')]);
    const asterisk = await collect(readExport(writeTo(Buffer.concat([Buffer.from(ASTERISK + '\n'), padded(ASTERISK.replace('1709366400.1', '1709366400.2'))]))));
    expect(asterisk.records).toBe(1);
    expect(asterisk.rejects.map((r) => r.reason)).toEqual(['bad_encoding']);
    const cucm = await collect(readExport(writeTo(Buffer.concat([Buffer.from(CUCM_HEAD), padded('1,1,100,200,1772438400,0142000001,0612345678,0612345678,1772438405,1772438585,acc-1,180')]))));
    expect(cucm.rejects.map((r) => r.reason)).toEqual(['bad_encoding']);
    const freeswitch = await collect(readExport(writeTo(padded('x')), { format: 'freeswitch' }));
    expect(freeswitch.rejects.map((r) => r.reason)).toEqual(['bad_encoding']);
  });
});

describe('sizes', () => {
  it('rejects a line over max_line_bytes without holding it, keeps its head and where it starts, and reads on', async () => {
    const limits = ingestLimits({ max_line_bytes: 2048 });
    const huge = row('x-2', { account: 'a'.repeat(3_000_000) });
    const path = writeTo(`${HEADER}\n${row('x-1')}\n${huge}\n${row('x-3')}\n`);
    const lines: { line: number; reason?: string; raw: string; detail?: string }[] = [];
    for await (const batch of readCsvLines(path, ',', limits)) for (const l of batch) lines.push({ line: l.line, reason: l.refused?.reason, raw: l.raw, detail: l.refused?.detail });
    expect(lines.map((l) => l.reason ?? 'ok')).toEqual(['ok', 'ok', 'too_large', 'ok']);
    expect(lines[2]!.raw).toBe(huge.slice(0, 256));
    expect(lines[2]!.detail).toContain(`the line is ${huge.length} bytes, over the limit of 2048`);
    expect(lines[2]!.detail).toContain(`starts at byte ${HEADER.length + 1 + row('x-1').length + 1} of the file`);
  });

  it('reads a line of exactly max_line_bytes, with or without its CR, and rejects one byte more', async () => {
    const limits = ingestLimits({ max_line_bytes: 1024 });
    const line = (n: number) => row('x-1', { account: 'a'.repeat(n - row('x-1', { account: '' }).length) });
    const path = writeTo(`${HEADER}\n${line(1024)}\n${line(1024)}\r\n${line(1025)}\n${line(1025)}\r\n`);
    const seen: string[] = [];
    for await (const batch of readCsvLines(path, ',', limits)) for (const l of batch.slice(l0(batch))) seen.push(l.refused?.reason ?? String(Buffer.byteLength(l.raw)));
    expect(seen).toEqual(['1024', '1024', 'too_large', 'too_large']);
  });

  it('rejects a field over max_field_bytes (4096 by default): 4096 bytes pass, 4097 do not', async () => {
    const all = await normalized(`${HEADER}\n${row('x-1', { account: 'é'.repeat(2048) })}\n${row('x-2', { account: 'a'.repeat(4097) })}\n`);
    // 2048 × "é" is 4096 bytes: read (the account is unknown, the caller's number finds the subscriber).
    expect(all.map((n) => (n.ok ? 'rated' : n.reject.reason))).toEqual(['rated', 'too_large']);
    expect(rejected(all[1]!).detail).toMatch(/column 2 is 4097 bytes, over the limit of 4096/);
  });

  it('rejects a cdr_id over max_cdr_id_bytes (255) before the store, which indexes it', async () => {
    const all = await normalized(`${HEADER}\n${row('i'.repeat(255))}\n${row('i'.repeat(256))}\n`);
    expect(all[0]!.ok).toBe(true);
    expect(rejected(all[1]!).reason).toBe('bad_field');
    expect(rejected(all[1]!).detail).toMatch(/cdr_id is 256 bytes, over the limit of 255/);
  });

  it('reads 100,000 columns and a 1 MB field as one reject each', async () => {
    const all = await normalized(`${HEADER}\n${row('x-1')}\n${','.repeat(100_000)}\n${row('x-2', { account: 'a'.repeat(1 << 20) })}\n`);
    expect(all.map((n) => (n.ok ? 'rated' : n.reject.reason))).toEqual(['rated', 'too_large', 'too_large']);
  });
});

/** Index of the first data line in the first batch (the header is line 1). */
const l0 = (batch: { line: number }[]) => (batch[0]?.line === 1 ? 1 : 0);

describe('values', () => {
  const reasons = async (...rows: string[]) => (await normalized(`${HEADER}\n${rows.join('\n')}\n`)).map((n) => (n.ok ? 'rated' : `${n.reject.reason}: ${n.reject.detail}`));

  it('accepts times from 2000-01-01T00:00:00Z to one day after the run, and rejects the second before and after', async () => {
    const at = (t: string) => row(`t-${t}`, { start: t, answer: '', end: t, billsec: '' });
    const r = await reasons(at('2000-01-01T00:00:00Z'), at('1999-12-31T23:59:59Z'), at('2026-03-11T12:00:00Z'), at('2026-03-11T12:00:01Z'));
    expect(r[0]).toBe('rated');
    expect(r[1]).toMatch(/^bad_time: start_time 1999-12-31T23:59:59Z is outside the accepted window 2000-01-01T00:00:00.000Z .. 2026-03-11T12:00:00.000Z/);
    expect(r[2]).toBe('rated');
    expect(r[3]).toMatch(/^bad_time/);
  });

  it('rejects years 0050, 1970 and 9999 as bad_time, not as 1950', async () => {
    const at = (t: string) => row(`t-${t}`, { start: t, answer: '', end: t, billsec: '' });
    const r = await reasons(at('0050-03-02T09:00:00Z'), at('1970-01-01T00:00:00Z'), at('9999-12-31T23:59:59Z'));
    expect(r[0]).toMatch(/^bad_time: start_time 0050-03-02T09:00:00Z is outside/);
    expect(r[1]).toMatch(/^bad_time/);
    expect(r[2]).toMatch(/^bad_time/);
  });

  it('rejects impossible offsets: +99:99, +14:01 and -12:60; accepts +14:00', async () => {
    const at = (tz: string) => row(`o${tz}`, { start: `2026-03-02T09:00:00${tz}`, answer: '', end: `2026-03-02T09:00:00${tz}`, billsec: '' });
    const r = await reasons(at('+99:99'), at('+14:01'), at('-12:60'), at('+14:00'));
    expect(r.slice(0, 3).every((x) => /^bad_time: start_time: impossible UTC offset/.test(x))).toBe(true);
    expect(r[3]).toBe('rated');
  });

  it('rejects a call longer than max_call_seconds (24 h) as bad_field: 86,400 s pass, 86,401 s, 10,000,000 s and 3,000,000,000 s do not', async () => {
    const long = (id: string, seconds: number, billsec = String(seconds)) =>
      row(id, { start: '2026-03-02T00:00:00Z', answer: '2026-03-02T00:00:00Z', end: new Date(Date.parse('2026-03-02T00:00:00Z') + seconds * 1000).toISOString(), billsec });
    const r = await reasons(long('d-1', 86_400), long('d-2', 86_401), row('d-3', { billsec: '10000000' }), row('d-4', { billsec: '3000000000' }), row('d-5', { billsec: '9'.repeat(40) }), row('d-6', { billsec: '-5' }));
    expect(r[0]).toBe('rated');
    expect(r[1]).toMatch(/^bad_field: the call lasts 86401 s from start_time to end_time, more than the 86400 s/);
    expect(r[2]).toMatch(/^bad_field: billable_seconds 10000000 is more than the 86400 s/);
    expect(r[3]).toMatch(/^bad_field: billable_seconds 3000000000/);
    expect(r[4]).toMatch(/^bad_field: billable_seconds 9{20}… is more than/);
    expect(r[5]).toMatch(/^bad_field: billable_seconds "-5" is not a whole number/);
  });

  it('turns a 40-digit epoch into a bad_time, not a crash (FreeSWITCH, CUCM, epoch profiles)', async () => {
    const cucm = `${CUCM_HEAD}1,1,100,200,${'9'.repeat(40)},0142000001,0612345678,0612345678,0,${'9'.repeat(40)},acc-1,0\n`;
    const all = await normalized(cucm);
    expect(all).toHaveLength(1);
    expect(rejected(all[0]!).reason).toBe('bad_time');
  });
});

describe('subscriber directory ids', () => {
  const HEAD = 'account,client_id,site_id,user_id,plan_id,line_type,channels,automated,numbers\n';
  const load = (rows: string) => () => SubscriberDirectory.load(file('subscribers.csv', HEAD + rows), numbering);

  it('accepts letters of any script, digits, . _ @ : - / and an account that is an E.164 number', () => {
    const d = load('+33612345678,C-1,S.1,josé@pbx:5060,technicophone_centrex,centrex_user,1,false,\nsip/acc_2,C-1,S-1,U/2,technicophone_centrex,centrex_user,1,false,\n')();
    expect(d.all.map((s) => s.account)).toEqual(['+33612345678', 'sip/acc_2']);
  });

  it.each([
    ['account', '=cmd|/c calc,C-1,S-1,U-1,technicophone_centrex,centrex_user,1,false,', /line 3, field account: account "=cmd\|\/c calc" holds a character an id may not hold/],
    ['client_id', 'acc-1,"=HYPERLINK(""http://x"")",S-1,U-1,technicophone_centrex,centrex_user,1,false,', /field client_id: client_id "=HYPERLINK\("http:\/\/x"\)"/],
    ['site_id', 'acc-1,C-1,-S1,U-1,technicophone_centrex,centrex_user,1,false,', /field site_id/],
    ['user_id', 'acc-1,C-1,S-1,@U1,technicophone_centrex,centrex_user,1,false,', /field user_id/],
    ['plan_id', 'acc-1,C-1,S-1,U-1,plan|x,centrex_user,1,false,', /field plan_id/],
    ['a control character', 'acc\u00071,C-1,S-1,U-1,technicophone_centrex,centrex_user,1,false,', /account "acc\\x071"/],
    ['a client id starting with +', 'acc-1,+C1,S-1,U-1,technicophone_centrex,centrex_user,1,false,', /field client_id/],
  ])('refuses %s outside the character set, naming the file, line and field', (_what, rows, message) => {
    expect(load(`acc-0,C-0,S-0,U-0,technicophone_centrex,centrex_user,1,false,\n${rows}\n`)).toThrow(message);
    expect(load(`acc-0,C-0,S-0,U-0,technicophone_centrex,centrex_user,1,false,\n${rows}\n`)).toThrow(/subscribers\.csv/);
  });

  // Without `numbers` no line presents a number of its own: every outgoing call then broke the caller-ID
  // policy (302 false fraud.cli_policy alerts on one day). Every column is required alike.
  it.each(['numbers', 'automated', 'channels', 'account'])('refuses a directory without its %s column, naming it', (column) => {
    const columns = HEAD.trim().split(',');
    const keep = columns.map((c, i) => (c === column ? -1 : i)).filter((i) => i >= 0);
    const row = 'acc-0,C-0,S-0,U-0,technicophone_centrex,centrex_user,1,false,0145000000'.split(',');
    const text = `${keep.map((i) => columns[i]).join(',')}\n${keep.map((i) => row[i]).join(',')}\n`;
    const loadIt = () => SubscriberDirectory.load(file('subscribers.csv', text), numbering);
    expect(loadIt).toThrow(new RegExp(`subscribers\\.csv.*header.*missing column\\(s\\) ${column};`));
  });
});
