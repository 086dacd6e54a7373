import { describe, expect, it } from 'vitest';
import type { Cdr } from '../../services/core/cdr.js';
import { canonicalForm, codecs, defaultSchemaDir, loadSchemas, SCHEMA_NAMES } from '../../services/stream/avro-codec.js';
import { decodeBatch } from '../../services/stream/dead-letters.js';
import { CDRS_PER_RECORD, cdrsOfRecord, normalizedRecords } from '../../services/stream/normalized-records.js';
import { poisonIn } from '../../services/stream/poison.js';

function call(i: number, clientId: string, extra: Partial<Cdr> = {}): Cdr {
  const startMs = Date.parse('2026-03-02T08:00:00Z') + i * 1000;
  return {
    cdrId: `${clientId}-${i}`, account: `acc-${clientId}`, caller: '+33142000001', callerOriginal: '', callee: '+33612345678',
    startMs, answerMs: startMs + 5000, endMs: startMs + 65_000, billableSeconds: 60, disposition: 'answered', direction: 'out',
    leg: 'originating', forwardReason: null, device: 'desk',
    subscriber: { account: `acc-${clientId}`, clientId, siteId: 'S-1', userId: 'U-1', planId: 'technicophone_centrex', lineType: 'centrex_user', channels: 1, automated: false, numbers: ['+33142000001'] },
    source: 'day.csv', line: i + 2, ...extra,
  };
}

const at = { topic: 'cdr.normalized', partition: 0, groupId: 'cdr-rater' };
const asMessages = (records: { key?: unknown; value: unknown }[]) =>
  records.map((r, i) => ({ key: Buffer.from(String(r.key)), value: r.value as Buffer, offset: String(i), timestamp: '0', attributes: 0, headers: {} }));

describe('cdr.normalized records: a client\'s calls several to a record', () => {
  it('puts each client\'s calls in records of their own, keyed by the client, in the order read', () => {
    const cdrs = [call(1, 'C-1'), call(2, 'C-2'), call(3, 'C-1'), call(4, 'C-3'), call(5, 'C-1')];
    const records = normalizedRecords(cdrs);
    expect(records.map((r) => r.key)).toEqual(['C-1', 'C-2', 'C-3']);
    expect(records.map((r) => cdrsOfRecord(r.value as Buffer).map((c) => c.cdrId))).toEqual([['C-1-1', 'C-1-3', 'C-1-5'], ['C-2-2'], ['C-3-4']]);
    expect(cdrsOfRecord(records[0]!.value as Buffer)[1]).toEqual(cdrs[2]);
  });

  it(`starts a new record past ${CDRS_PER_RECORD} calls, and past 256 KB whatever the count`, () => {
    const many = Array.from({ length: CDRS_PER_RECORD + 1 }, (_, i) => call(i, 'C-9'));
    expect(normalizedRecords(many).map((r) => cdrsOfRecord(r.value as Buffer).length)).toEqual([CDRS_PER_RECORD, 1]);
    // 300 calls of 1,000-byte device names are about 300 KB: two records, none over the limit, none lost.
    const wide = Array.from({ length: 300 }, (_, i) => call(i, 'C-8', { device: 'd'.repeat(1000) }));
    const records = normalizedRecords(wide);
    expect(records.length).toBe(2);
    for (const r of records) expect((r.value as Buffer).length).toBeLessThanOrEqual(256 * 1024);
    expect(records.flatMap((r) => cdrsOfRecord(r.value as Buffer).map((c) => c.cdrId))).toEqual(wide.map((c) => c.cdrId));
  });

  it('still reads a single NormalizedCdr record, as an older ingest wrote it', () => {
    const one = call(7, 'C-1');
    expect(cdrsOfRecord(codecs.normalizedCdr.encode(one))).toEqual([one]);
  });

  it('sets aside the poison call of a record and lets its other calls through, naming which one in the dead letter', () => {
    const nul = call(2, 'C-1', { device: 'desk\u0000' });
    const records = normalizedRecords([call(1, 'C-1'), nul, call(3, 'C-1')]);
    const { values, dead } = decodeBatch(cdrsOfRecord, asMessages(records), at, (c) => poisonIn(c));
    expect(values.map((c) => c.cdrId)).toEqual(['C-1-1', 'C-1-3']);
    expect(dead.map((d) => d.error)).toEqual(['poison_value: value 2 of 3: device holds a control character or bytes that were not UTF-8']);
    expect(dead[0]!.payload).toEqual(records[0]!.value);
  });

  it('sets aside a whole record that does not decode', () => {
    const records = normalizedRecords([call(1, 'C-1'), call(2, 'C-1')]);
    const cut = (records[0]!.value as Buffer).subarray(0, 40);
    const { values, dead } = decodeBatch(cdrsOfRecord, asMessages([{ key: 'C-1', value: cut }]), at);
    expect(values).toEqual([]);
    expect(dead.map((d) => d.error)).toEqual([expect.stringMatching(/^corrupt_payload: /)]);
  });

  it('the call inside a batch record is the normalized CDR, field for field', () => {
    const registry = loadSchemas(defaultSchemaDir());
    const batch = registry.currentOf(SCHEMA_NAMES.normalizedCdrBatch).type.schema() as { fields: { name: string; type: { items: unknown } }[] };
    expect(JSON.stringify(batch.fields.find((f) => f.name === 'cdrs')!.type.items)).toBe(canonicalForm(registry.currentOf(SCHEMA_NAMES.normalizedCdr).type));
  });
});
