import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../services/core/alert.js';
import { DIRECTIONS, DISPOSITIONS, FORWARD_REASONS, LEGS, LINE_TYPES, type Cdr } from '../../services/core/cdr.js';
import type { Reject } from '../../services/ingest/source-record.js';
import type { AdjustmentRow, RatedRow } from '../../services/store/rating-store.js';
import {
  AvroCodec,
  AvroCodecError,
  canonicalForm,
  codecs,
  crc64Avro,
  createCodecs,
  defaultSchemaDir,
  loadSchemas,
  SCHEMA_NAMES,
  type AvroCodecErrorCode,
} from '../../services/stream/avro-codec.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'avro');
const V2_FIXTURE = join(fixtures, 'normalized-cdr.v2.avsc');

const cdr: Cdr = {
  cdrId: 'cucm-0001',
  account: 'sip-100',
  caller: '+33142000001',
  callerOriginal: '',
  callee: '+33612345678',
  startMs: Date.parse('2026-03-02T08:12:03Z'),
  answerMs: Date.parse('2026-03-02T08:12:10Z'),
  endMs: Date.parse('2026-03-02T08:15:40Z'),
  billableSeconds: 210,
  disposition: 'answered',
  direction: 'out',
  leg: 'originating',
  forwardReason: null,
  device: 'desk-1',
  subscriber: {
    account: 'sip-100', clientId: 'C-1', siteId: 'S-1', userId: 'U-1', planId: 'technicophone_centrex',
    lineType: 'centrex_user', channels: 1, automated: false, numbers: ['+33142000001', '+33142000002'],
  },
  source: 'exports/cucm-2026-03-02.csv',
  line: 17,
};
// The other shape of each optional field: unanswered, forwarded, with a reason.
const forwarded: Cdr = { ...cdr, cdrId: 'cucm-0002', callerOriginal: '+33899123456', answerMs: null, billableSeconds: 0, disposition: 'no_answer', leg: 'forwarded', forwardReason: 'busy' };

const rated: RatedRow = {
  cdr, period: '2026-03', destinationClass: 'mobile_fr', country: 'FR', inBundle: false, pricedSeconds: 240,
  amount: '0.0960', currency: 'EUR', reason: 'out of bundle: tariff FR-mobile 0.024/min, 60/60',
};
const adjustment: AdjustmentRow = {
  cdrId: 'cucm-0001', period: '2026-03', previousAmount: '0.0000', newAmount: '0.0960', delta: '0.0960',
  reason: 'R-FAIR-150: 151st distinct number in the month', inBundle: false, pricedSeconds: 240,
  clientId: 'C-1', siteId: 'S-1', userId: 'U-1', planId: 'technicophone_centrex', shares: '0:240',
};
const alert: Alert = {
  alertId: 'al-0123456789abcdef0123', rule: 'R-FRAUD-CPS', severity: 'critical', clientId: 'C-1', siteId: 'S-1', userId: 'U-1',
  firstSeenMs: Date.parse('2026-03-02T08:12:03Z'), lastSeenMs: Date.parse('2026-03-02T08:12:04Z'), value: 11.5, threshold: 10,
  cdrIds: ['cucm-0001', 'cucm-0002'], message: '11.5 call setups per second, limit 10',
};
// A money threshold travels as an exact decimal string, a count as a number.
const moneyAlert: Alert = { ...alert, alertId: 'al-money', rule: 'R-FRAUD-SPEND', value: '152.3700', threshold: '150.00', message: 'spend 152.37 EUR, limit 150' };
const reject: Reject = { source: 'exports/cucm.csv', line: 3, reason: 'bad_encoding', detail: 'a NUL byte at column 2', raw: 'YSwALGM=', rawEncoding: 'base64' };

function codecError(fn: () => unknown): AvroCodecError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AvroCodecError);
    return err as AvroCodecError;
  }
  throw new Error('expected an AvroCodecError');
}

function expectCode(fn: () => unknown, code: AvroCodecErrorCode): AvroCodecError {
  const err = codecError(fn);
  expect(err.code, err.message).toBe(code);
  return err;
}

describe('Avro codec: round trips', () => {
  it.each([
    ['normalized CDR', codecs.normalizedCdr, cdr],
    ['normalized CDR, unanswered and forwarded', codecs.normalizedCdr, forwarded],
    ['rated CDR', codecs.ratedCdr, rated],
    ['adjustment', codecs.adjustment, adjustment],
    ['alert with counts', codecs.alert, alert],
    ['alert with money', codecs.alert, moneyAlert],
    ['reject', codecs.reject, reject],
  ] as const)('%s comes back equal, money still an exact string', (_, codec, value) => {
    const buf = (codec as AvroCodec<typeof value>).encode(value);
    expect(codec.decode(buf)).toEqual(value);
  });

  it('writes the single-object header: C3 01 and the writer fingerprint, little-endian', () => {
    const buf = codecs.reject.encode(reject);
    expect(buf.subarray(0, 2)).toEqual(Buffer.from([0xc3, 0x01]));
    expect(buf.toString('hex', 2, 10)).toBe(codecs.reject.reader.fingerprint);
    expect(buf.toString('hex', 2, 10)).toBe(crc64Avro(canonicalForm(codecs.reject.reader.type)).toString('hex'));
  });
});

describe('Avro codec: fingerprints agree with the Avro reference implementation', () => {
  // Vectors from the Avro specification's test suite and from Apache Avro 1.12.0 (Java,
  // SchemaNormalization.parsingFingerprint64 and BinaryMessageEncoder).
  it('CRC-64-AVRO of primitive schemas', () => {
    expect(crc64Avro('"int"').toString('hex')).toBe('8f5c393f1ad57572');
    expect(crc64Avro('"string"').toString('hex')).toBe('c70345637248018f');
  });

  it('canonical form of a record with namespaces, docs, defaults, logical types, enums and unions', () => {
    const registry = loadSchemas(defaultSchemaDir());
    const v2 = registry.add(JSON.parse(readFileSync(V2_FIXTURE, 'utf8')), V2_FIXTURE, false);
    expect(v2.fingerprint).toBe('ed1e817205bbf82c');
  });

  it('reads a message written by Java Avro', () => {
    const registry = loadSchemas(defaultSchemaDir(), [join(fixtures, 'reject.v1.avsc')]);
    const javaWritten = Buffer.from(
      'c3014cb6f5d4d098a89f106375636d2e63737654106261645f74696d652273746172743a206e6f74206120646174650a612c622c63',
      'hex',
    );
    expect(createCodecs(registry).reject.decode(javaWritten)).toEqual({
      source: 'cucm.csv', line: 42, reason: 'bad_time', detail: 'start: not a date', raw: 'a,b,c', rawEncoding: '',
    });
  });
});

describe('Avro codec: schema evolution', () => {
  type CdrV2 = Cdr & { roamingCountry: string | null; switchKind: string };
  const registry = loadSchemas(defaultSchemaDir());
  const v2 = registry.add(JSON.parse(readFileSync(V2_FIXTURE, 'utf8')), V2_FIXTURE, false);
  const v1Codec = createCodecs(registry).normalizedCdr;
  const v2Codec = new AvroCodec<CdrV2>(registry, v2);

  it('a reader of the new version reads records of the old one, filling the defaults', () => {
    expect(v2Codec.decode(v1Codec.encode(cdr))).toEqual({ ...cdr, roamingCountry: null, switchKind: 'unknown' });
    expect(v2Codec.decode(v1Codec.encode(forwarded))).toEqual({ ...forwarded, roamingCountry: null, switchKind: 'unknown' });
  });

  it('a reader of the old version reads records of the new one, ignoring the added fields', () => {
    const written = v2Codec.encode({ ...cdr, roamingCountry: 'ES', switchKind: 'cucm' });
    expect(v1Codec.decode(written)).toEqual(cdr);
  });

  it('keeps reading the old version when both are known, whichever is current', () => {
    expect(v1Codec.decode(v1Codec.encode(cdr))).toEqual(cdr);
    expect(v2Codec.decode(v2Codec.encode({ ...cdr, roamingCountry: 'BE', switchKind: 'asterisk' }))).toMatchObject({ roamingCountry: 'BE' });
  });
});

describe('Avro codec: what a worker sends to the dead-letter topic', () => {
  it('an unknown writer fingerprint', () => {
    const buf = Buffer.from(codecs.normalizedCdr.encode(cdr));
    buf.fill(0xab, 2, 10);
    const err = expectCode(() => codecs.normalizedCdr.decode(buf), 'unknown_fingerprint');
    expect(err.fingerprint).toBe('abababababababab');
    expect(err.schemaName).toBe(SCHEMA_NAMES.normalizedCdr);
  });

  it('a version only a newer deployment knows (the new schema is not in this registry)', () => {
    const withV2 = loadSchemas(defaultSchemaDir());
    const v2 = withV2.add(JSON.parse(readFileSync(V2_FIXTURE, 'utf8')), V2_FIXTURE, false);
    const written = new AvroCodec<Cdr & { roamingCountry: null; switchKind: string }>(withV2, v2).encode({ ...cdr, roamingCountry: null, switchKind: 'x' });
    expectCode(() => codecs.normalizedCdr.decode(written), 'unknown_fingerprint');
  });

  it('a truncated payload', () => {
    const buf = codecs.normalizedCdr.encode(cdr);
    expectCode(() => codecs.normalizedCdr.decode(buf.subarray(0, buf.length - 7)), 'corrupt_payload');
  });

  it('trailing bytes after the record', () => {
    const buf = codecs.reject.encode(reject);
    expectCode(() => codecs.reject.decode(Buffer.concat([buf, Buffer.from([1, 2, 3])])), 'corrupt_payload');
  });

  it('a body of garbage behind a valid header', () => {
    const header = codecs.alert.encode(alert).subarray(0, 10);
    expectCode(() => codecs.alert.decode(Buffer.concat([header, Buffer.from('ffffffffffffffff7f', 'hex')])), 'corrupt_payload');
  });

  it('something that is not single-object Avro at all', () => {
    expectCode(() => codecs.alert.decode(Buffer.from('{"alertId":"x"}')), 'bad_header');
    expectCode(() => codecs.alert.decode(Buffer.alloc(0)), 'bad_header');
    expectCode(() => codecs.alert.decode(Buffer.from([0xc3, 0x01, 0x00])), 'bad_header');
  });

  it('another record kind on the wrong topic', () => {
    expectCode(() => codecs.normalizedCdr.decode(codecs.alert.encode(alert)), 'incompatible_schema');
  });

  it('encode refuses a value outside the schema, naming the field', () => {
    const err = expectCode(() => codecs.normalizedCdr.encode({ ...cdr, disposition: 'hung_up' as Cdr['disposition'] }), 'invalid_value');
    expect(err.message).toContain('disposition');
  });
});

describe('Avro schemas stay in step with the TypeScript types', () => {
  const registry = loadSchemas(defaultSchemaDir());
  const symbols = (schema: unknown, field: string): unknown => {
    const f = (schema as { fields: { name: string; type: unknown }[] }).fields.find((x) => x.name === field);
    const t = Array.isArray(f?.type) ? f.type.find((b) => b !== 'null') : f?.type;
    return (t as { symbols?: string[] }).symbols;
  };

  it('enum symbols are the core constants', () => {
    const cdrSchema = registry.currentOf(SCHEMA_NAMES.normalizedCdr).type.schema();
    expect(symbols(cdrSchema, 'disposition')).toEqual([...DISPOSITIONS]);
    expect(symbols(cdrSchema, 'direction')).toEqual([...DIRECTIONS]);
    expect(symbols(cdrSchema, 'leg')).toEqual([...LEGS]);
    expect(symbols(cdrSchema, 'forwardReason')).toEqual([...FORWARD_REASONS]);
    const subscriberSchema = (cdrSchema as { fields: { name: string; type: unknown }[] }).fields.find((f) => f.name === 'subscriber')!.type;
    expect(symbols(subscriberSchema, 'lineType')).toEqual([...LINE_TYPES]);
    expect(symbols(registry.currentOf(SCHEMA_NAMES.alert).type.schema(), 'severity')).toEqual(['info', 'warning', 'critical'] satisfies Alert['severity'][]);
  });

  it('the CDR embedded in a rated CDR is the normalized CDR, field for field', () => {
    const ratedSchema = registry.currentOf(SCHEMA_NAMES.ratedCdr).type.schema() as { fields: { name: string; type: unknown }[] };
    const embedded = ratedSchema.fields.find((f) => f.name === 'cdr')!.type;
    expect(JSON.stringify(embedded)).toBe(canonicalForm(registry.currentOf(SCHEMA_NAMES.normalizedCdr).type));
  });
});
