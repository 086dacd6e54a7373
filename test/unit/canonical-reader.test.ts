import { describe, expect, it } from 'vitest';
import { Zone } from '../../services/core/calendar.js';
import type { Subscriber } from '../../services/core/cdr.js';
import { readCanonicalCsv } from '../../services/ingest/canonical-csv.js';
import { normalizeRecord, type Normalized } from '../../services/ingest/normalize.js';
import { SubscriberDirectory } from '../../services/ingest/subscriber-directory.js';
import { numbering } from '../support/numbering.js';
import { tempDir } from '../support/tmp.js';

const HEADER = 'cdr_id,account,caller,callee,start_time,answer_time,end_time,billable_seconds,disposition,direction,leg,forward_reason,device';
const alice: Subscriber = {
  account: 'acc-1', clientId: 'C-1', siteId: 'S-1', userId: 'U-1', planId: 'technicophone_centrex',
  lineType: 'centrex_user', channels: 1, automated: false, numbers: ['+33142000001'],
};
const ctx = { numbering, sourceZone: new Zone('Europe/Paris'), directory: new SubscriberDirectory([alice]) };
const file = tempDir();

async function readAll(content: string): Promise<{ ok: Normalized[]; all: Normalized[] }> {
  const path = file('in.csv', content);
  const all: Normalized[] = [];
  for await (const item of readCanonicalCsv(path)) {
    all.push(item.kind === 'reject' ? { ok: false, reject: item.reject } : normalizeRecord(item.record, ctx));
  }
  return { ok: all.filter((n) => n.ok), all };
}

function rejectOf(n: Normalized | undefined) {
  if (n === undefined || n.ok) throw new Error('expected a reject');
  return n.reject;
}

describe('canonical CSV reader', () => {
  it('reads a call field by field, numbers to E.164, times to UTC instants', async () => {
    const { all } = await readAll(`${HEADER}\nx-1,acc-1,01 42 00 00 01,0612345678,2026-03-02T09:12:03+01:00,2026-03-02T09:12:10+01:00,2026-03-02T09:15:40+01:00,210,ANSWERED,out,originating,,desk-1\n`);
    expect(all).toHaveLength(1);
    const n = all[0]!;
    if (!n.ok) throw new Error(n.reject.detail);
    expect(n.cdr).toMatchObject({
      cdrId: 'x-1', account: 'acc-1', caller: '+33142000001', callee: '+33612345678',
      startMs: Date.parse('2026-03-02T08:12:03Z'), answerMs: Date.parse('2026-03-02T08:12:10Z'), endMs: Date.parse('2026-03-02T08:15:40Z'),
      billableSeconds: 210, disposition: 'answered', direction: 'out', leg: 'originating', forwardReason: null, device: 'desk-1', line: 2,
    });
    expect(n.cdr.subscriber.clientId).toBe('C-1');
  });

  it('handles a BOM, CRLF line ends, columns in another order and blank lines', async () => {
    const { all } = await readAll(`\uFEFFcallee,account,start_time,end_time,disposition\r\n0142000002,acc-1,2026-03-02 10:00:00,2026-03-02 10:01:00,answered\r\n\r\n`);
    expect(all).toHaveLength(1);
    const n = all[0]!;
    expect(n.ok && n.cdr.billableSeconds).toBe(60);
    expect(n.ok && n.cdr.startMs).toBe(Date.parse('2026-03-02T09:00:00Z'));
  });

  it('gives a call without a switch id a stable content id', async () => {
    const row = 'acc-1,0142000002,2026-03-02 10:00:00,2026-03-02 10:01:00';
    const a = await readAll(`account,callee,start_time,end_time\n${row}\n`);
    const b = await readAll(`account,callee,start_time,end_time\n${row}\n${row.replace('10:01:00', '10:02:00')}\n`);
    const ids = (r: { ok: Normalized[] }) => r.ok.map((n) => (n.ok ? n.cdr.cdrId : ''));
    expect(ids(a)[0]).toMatch(/^h-[0-9a-f]{24}$/);
    expect(ids(b)[0]).toBe(ids(a)[0]);
    expect(ids(b)[1]).not.toBe(ids(a)[0]);
  });

  it('reads an autumn end time after the change as its second occurrence', async () => {
    // started 02:50 CEST, ended 02:10 CET (after the clocks went back): 20 minutes
    const { all } = await readAll(`account,callee,start_time,answer_time,end_time\nacc-1,0142000002,2026-10-25 02:50:00,2026-10-25 02:50:05,2026-10-25 02:10:00\n`);
    const n = all[0]!;
    if (!n.ok) throw new Error(n.reject.detail);
    expect(n.cdr.billableSeconds).toBe(20 * 60 - 5);
  });

  it.each([
    ['unparseable time', 'r1,acc-1,,0142000002,yesterday,,2026-03-02T10:00:00Z,,answered,,,,', 'bad_time', /start_time/],
    ['end before start', 'r2,acc-1,,0142000002,2026-03-02T10:00:00Z,,2026-03-02T09:00:00Z,,answered,,,,', 'end_before_start', /before/],
    ['missing callee', 'r3,acc-1,,,2026-03-02T10:00:00Z,,2026-03-02T10:01:00Z,,answered,,,,', 'missing_callee', /callee/],
    ['wrong column count', 'r4,acc-1,,0142000002,2026-03-02T10:00:00Z', 'column_count', /5 columns where the header has 13/],
    ['garbage', 'r5,"acc-1,,0142000002,2026"-03-02,,,,,,,,', 'malformed_csv', /quot/i],
    ['invalid callee', 'r6,acc-1,,01420,2026-03-02T10:00:00Z,,2026-03-02T10:01:00Z,,answered,,,,', 'invalid_number', /callee/],
    ['unknown subscriber', 'r7,acc-404,,0142000002,2026-03-02T10:00:00Z,,2026-03-02T10:01:00Z,,answered,,,,', 'unknown_subscriber', /acc-404.*subscribers\.csv/],
    ['unknown disposition', 'r8,acc-1,,0142000002,2026-03-02T10:00:00Z,,2026-03-02T10:01:00Z,,maybe,,,,', 'bad_field', /disposition/],
    ['billable longer than the call', 'r9,acc-1,,0142000002,2026-03-02T10:00:00Z,,2026-03-02T10:01:00Z,600,answered,,,,', 'bad_field', /billable_seconds/],
    ['no account nor caller', 'r10,,,0142000002,2026-03-02T10:00:00Z,,2026-03-02T10:01:00Z,,answered,,,,', 'missing_field', /account/],
  ])('rejects %s with its line, reason and raw row, and goes on', async (_label, row, reason, detail) => {
    const good = 'ok-1,acc-1,,0142000002,2026-03-02T10:00:00Z,,2026-03-02T10:01:00Z,,answered,,,,';
    const { all, ok } = await readAll(`${HEADER}\n${row}\n${good}\n`);
    const r = rejectOf(all[0]);
    expect(r).toMatchObject({ line: 2, reason, raw: row });
    expect(r.source).toMatch(/in\.csv$/);
    expect(r.detail).toMatch(detail);
    expect(ok).toHaveLength(1); // the next line is still read
  });

  it('rejects an empty file as a whole', async () => {
    const { all } = await readAll('');
    expect(rejectOf(all[0])).toMatchObject({ line: 0, reason: 'empty_file' });
  });

  it('rejects a file whose header lacks required columns, naming them', async () => {
    const { all } = await readAll('foo,bar\n1,2\n');
    expect(rejectOf(all[0])).toMatchObject({ line: 1, reason: 'bad_header' });
    expect(rejectOf(all[0]).detail).toMatch(/account, callee, start_time, end_time/);
  });

  it('does not let an unbalanced quote swallow the following lines', async () => {
    const good = (i: number) => `ok-${i},acc-1,,0142000002,2026-03-02T10:0${i}:00Z,,2026-03-02T10:0${i}:30Z,,answered,,,,`;
    const { all, ok } = await readAll(`${HEADER}\n${good(1)}\n"broken,acc-1\n${good(2)}\n${good(3)}\n`);
    expect(all).toHaveLength(4);
    expect(rejectOf(all[1]).line).toBe(3);
    expect(ok).toHaveLength(3);
  });
});
