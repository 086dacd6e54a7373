/**
 * Avro encoding of the messages on the Kafka topics, in Avro single-object encoding:
 * `C3 01` + the 8-byte little-endian CRC-64-AVRO fingerprint of the writer schema's Parsing
 * Canonical Form + the Avro binary body. The fingerprint travels with every message, so that a
 * consumer deployed with a newer (or older) schema still knows how each record was written and
 * resolves it into its own schema, without a schema-registry server.
 *
 * Schemas live in `schemas/avro/*.avsc` (the current versions). Before changing one in a way that
 * alters its canonical form, copy the old file into `schemas/avro/history/` (any file name ending
 * in `.avsc`): records written with it may still sit in a topic, and without it their fingerprint
 * is unknown. Evolve by adding fields with defaults (optional ones as `["null", T]` with
 * `"default": null`); adding an enum symbol requires deploying the readers first.
 */
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import avro from 'avsc';
import { findUp } from '../config/project-files.js';
import type { Cdr } from '../core/cdr.js';
import type { Alert } from '../core/alert.js';
import type { Reject } from '../ingest/source-record.js';
import type { AdjustmentRow, RatedRow } from '../store/rating-store.js';

type AvroType = avro.Type;
type Resolver = ReturnType<AvroType['createResolver']>;

export type AvroCodecErrorCode =
  /** Too short or not starting with C3 01: not a single-object-encoded Avro message. */
  | 'bad_header'
  /** A writer schema this process has never seen (missing from schemas/avro and its history). */
  | 'unknown_fingerprint'
  /** The writer schema is known but cannot be read as the reader schema (another record kind, or an incompatible change). */
  | 'incompatible_schema'
  /** Header fine, body does not decode (truncated, trailing bytes, out-of-range values). */
  | 'corrupt_payload'
  /** encode() was given a value that does not match the schema. */
  | 'invalid_value';

/** Thrown for any message that cannot be turned into a value: a worker sends it to a dead-letter topic. */
export class AvroCodecError extends Error {
  override readonly name = 'AvroCodecError';
  constructor(
    readonly code: AvroCodecErrorCode,
    /** Full name of the schema the codec reads or writes, e.g. `fr.cdr.NormalizedCdr`. */
    readonly schemaName: string,
    message: string,
    /** Hex of the writer fingerprint as it appears in the message (little-endian bytes), when there was one. */
    readonly fingerprint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const MAGIC = Buffer.from([0xc3, 0x01]);
const HEADER_LENGTH = MAGIC.length + 8;

// CRC-64-AVRO (a Rabin fingerprint), as in the Avro specification. avsc 5 offers only the hashes of
// node:crypto (md5, sha256), and Java, Python or Kafka Connect consumers expect this one.
const CRC64_EMPTY = 0xc15d213aa4d7a795n;
const CRC64_TABLE: bigint[] = Array.from({ length: 256 }, (_, i) => {
  let fp = BigInt(i);
  for (let j = 0; j < 8; j++) fp = (fp >> 1n) ^ (CRC64_EMPTY & -(fp & 1n));
  return fp;
});

/** The 8 bytes of CRC-64-AVRO of `text`, little-endian, as single-object encoding writes them. */
export function crc64Avro(text: string): Buffer {
  let fp = CRC64_EMPTY;
  for (const byte of Buffer.from(text, 'utf8')) {
    fp = (fp >> 8n) ^ CRC64_TABLE[Number((fp ^ BigInt(byte)) & 0xffn)]!;
  }
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(fp);
  return out;
}

/** avsc's `schema()` without options is the Parsing Canonical Form (full names, no doc/default/logicalType). */
export function canonicalForm(type: AvroType): string {
  return JSON.stringify(type.schema());
}

export function fingerprintOf(type: AvroType): Buffer {
  return crc64Avro(canonicalForm(type));
}

function parse(schema: unknown): AvroType {
  // 'auto': a ["null", T] union reads and writes as `T | null`, exactly the TypeScript shape.
  return avro.Type.forSchema(schema as avro.Schema, { wrapUnions: 'auto' });
}

export interface KnownSchema {
  type: AvroType;
  /** Full record name, e.g. `fr.cdr.NormalizedCdr`. */
  name: string;
  /** Hex of the fingerprint bytes as they appear in a message. */
  fingerprint: string;
  file: string;
}

/** Every schema version this process can read, by fingerprint, and the current one of each record. */
export class SchemaRegistry {
  private readonly byFingerprint = new Map<string, KnownSchema>();
  private readonly current = new Map<string, KnownSchema>();

  /** Registers a version; `current` ones are those that writers use and readers resolve into. */
  add(schema: unknown, file: string, current: boolean): KnownSchema {
    let type: AvroType;
    try {
      type = parse(schema);
    } catch (err) {
      throw new Error(`${file}: not a valid Avro schema: ${(err as Error).message}`);
    }
    if (!type.name) throw new Error(`${file}: the top-level Avro schema must be a named record`);
    const known: KnownSchema = { type, name: type.name, fingerprint: fingerprintOf(type).toString('hex'), file };
    if (current) {
      const clash = this.current.get(known.name);
      if (clash && clash.fingerprint !== known.fingerprint) {
        throw new Error(`${file}: ${known.name} is already defined by ${clash.file}; older versions belong in history/`);
      }
      this.current.set(known.name, known);
    }
    // Identical canonical forms are the same schema to a decoder: keep the first file named.
    if (!this.byFingerprint.has(known.fingerprint)) this.byFingerprint.set(known.fingerprint, known);
    return known;
  }

  lookup(fingerprintHex: string): KnownSchema | undefined {
    return this.byFingerprint.get(fingerprintHex);
  }

  /** The current version of a record, e.g. `currentOf('fr.cdr.Alert')`. */
  currentOf(name: string): KnownSchema {
    const known = this.current.get(name);
    if (!known) throw new Error(`no current Avro schema named ${name} (known: ${[...this.current.keys()].join(', ')})`);
    return known;
  }

  get size(): number {
    return this.byFingerprint.size;
  }
}

function avscFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.avsc'))
    .sort()
    .map((f) => join(dir, f))
    .filter((p) => statSync(p).isFile());
}

function readSchemaFile(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * Loads the current schemas of `dir` and the older versions of `dir/history/`, plus the files of
 * `extraVersions` (known writer versions that are not current, e.g. a test fixture) into one registry.
 */
export function loadSchemas(dir: string, extraVersions: string[] = []): SchemaRegistry {
  const registry = new SchemaRegistry();
  const current = avscFiles(dir);
  if (current.length === 0) throw new Error(`${dir}: no .avsc files`);
  for (const file of current) registry.add(readSchemaFile(file), file, true);
  for (const file of [...avscFiles(join(dir, 'history')), ...extraVersions]) registry.add(readSchemaFile(file), file, false);
  return registry;
}

/** Encodes values of one record kind with its current schema, and decodes any known version of it. */
export class AvroCodec<T> {
  readonly reader: KnownSchema;
  private readonly header: Buffer;
  /** The header, then the last record encoded; grown for a record that does not fit. */
  private scratch: Buffer;
  private readonly resolvers = new Map<string, Resolver>();

  constructor(
    readonly registry: SchemaRegistry,
    /** Full record name, or a schema to read into (a newer one than the registry's current, say). */
    reader: string | KnownSchema,
  ) {
    this.reader = typeof reader === 'string' ? registry.currentOf(reader) : reader;
    this.header = Buffer.concat([MAGIC, Buffer.from(this.reader.fingerprint, 'hex')]);
    this.scratch = Buffer.allocUnsafe(64 * 1024);
    this.header.copy(this.scratch);
  }

  get schemaName(): string {
    return this.reader.name;
  }

  encode(value: T): Buffer {
    const type = this.reader.type;
    let end: number;
    try {
      // Written after the header in a buffer kept for the purpose, then copied out once: avsc's toBuffer
      // and a concatenation with the header made two copies and two buffers a record.
      end = type.encode(value, this.scratch, HEADER_LENGTH);
      if (end < 0) {
        this.scratch = Buffer.allocUnsafe(2 * (this.scratch.length - end));
        this.header.copy(this.scratch);
        end = type.encode(value, this.scratch, HEADER_LENGTH);
      }
    } catch (err) {
      const paths: string[] = [];
      type.isValid(value, { errorHook: (path) => paths.push(path.join('.') || '(root)') });
      throw new AvroCodecError(
        'invalid_value',
        this.schemaName,
        `cannot encode ${this.schemaName}: ${paths.length ? `invalid field(s) ${paths.join(', ')}` : (err as Error).message}`,
        undefined,
        { cause: err },
      );
    }
    return Buffer.from(this.scratch.subarray(0, end));
  }

  /** Whether `buf` was written with a known version of this codec's record (another kind on a shared topic is not). */
  wrote(buf: Buffer): boolean {
    if (buf.length < HEADER_LENGTH || buf[0] !== MAGIC[0] || buf[1] !== MAGIC[1]) return false;
    const fingerprint = buf.toString('hex', MAGIC.length, HEADER_LENGTH);
    return fingerprint === this.reader.fingerprint || this.registry.lookup(fingerprint)?.name === this.reader.name;
  }

  decode(buf: Buffer): T {
    if (buf.length < HEADER_LENGTH || buf[0] !== MAGIC[0] || buf[1] !== MAGIC[1]) {
      throw new AvroCodecError('bad_header', this.schemaName, `not an Avro single-object message (${buf.length} bytes, starts ${buf.subarray(0, 2).toString('hex')})`);
    }
    const fingerprint = buf.toString('hex', MAGIC.length, HEADER_LENGTH);
    const resolver = fingerprint === this.reader.fingerprint ? undefined : this.resolverFor(fingerprint);
    try {
      return this.reader.type.fromBuffer(buf.subarray(HEADER_LENGTH), resolver) as T;
    } catch (err) {
      throw new AvroCodecError('corrupt_payload', this.schemaName, `corrupt ${this.schemaName} payload: ${(err as Error).message}`, fingerprint, { cause: err });
    }
  }

  private resolverFor(fingerprint: string): Resolver {
    const cached = this.resolvers.get(fingerprint);
    if (cached) return cached;
    const writer = this.registry.lookup(fingerprint);
    if (!writer) {
      throw new AvroCodecError(
        'unknown_fingerprint',
        this.schemaName,
        `unknown writer schema ${fingerprint} for ${this.schemaName}: not in schemas/avro or schemas/avro/history`,
        fingerprint,
      );
    }
    let resolver: Resolver;
    try {
      resolver = this.reader.type.createResolver(writer.type);
    } catch (err) {
      throw new AvroCodecError(
        'incompatible_schema',
        this.schemaName,
        `${writer.name} written with ${writer.file} cannot be read as ${this.schemaName}: ${(err as Error).message}`,
        fingerprint,
        { cause: err },
      );
    }
    this.resolvers.set(fingerprint, resolver);
    return resolver;
  }
}

/** Full Avro names of the record kinds on the topics. */
export const SCHEMA_NAMES = {
  normalizedCdr: 'fr.cdr.NormalizedCdr',
  normalizedCdrBatch: 'fr.cdr.NormalizedCdrBatch',
  ratedCdr: 'fr.cdr.RatedCdr',
  adjustment: 'fr.cdr.Adjustment',
  alert: 'fr.cdr.Alert',
  reject: 'fr.cdr.Reject',
} as const;

export interface Codecs {
  normalizedCdr: AvroCodec<Cdr>;
  normalizedCdrBatch: AvroCodec<{ cdrs: Cdr[] }>;
  ratedCdr: AvroCodec<RatedRow>;
  adjustment: AvroCodec<AdjustmentRow>;
  alert: AvroCodec<Alert>;
  reject: AvroCodec<Reject>;
}

export function createCodecs(registry: SchemaRegistry): Codecs {
  return {
    normalizedCdr: new AvroCodec<Cdr>(registry, SCHEMA_NAMES.normalizedCdr),
    normalizedCdrBatch: new AvroCodec<{ cdrs: Cdr[] }>(registry, SCHEMA_NAMES.normalizedCdrBatch),
    ratedCdr: new AvroCodec<RatedRow>(registry, SCHEMA_NAMES.ratedCdr),
    adjustment: new AvroCodec<AdjustmentRow>(registry, SCHEMA_NAMES.adjustment),
    alert: new AvroCodec<Alert>(registry, SCHEMA_NAMES.alert),
    reject: new AvroCodec<Reject>(registry, SCHEMA_NAMES.reject),
  };
}

/**
 * The project's `schemas/avro`: CDR_AVRO_SCHEMAS if set, else found upwards from this module, which
 * runs both from `services/stream/` (tests, tsx) and from `dist/services/stream/` (built).
 */
export function defaultSchemaDir(): string {
  const fromEnv = process.env.CDR_AVRO_SCHEMAS;
  if (fromEnv) return resolve(fromEnv);
  return findUp(join('schemas', 'avro'), import.meta.url);
}

let shared: Codecs | undefined;

/** The codecs of the project's schemas, loaded on first use (a missing or broken schema fails there, naming the file). */
export const codecs: Codecs = {
  get normalizedCdr() {
    return sharedCodecs().normalizedCdr;
  },
  get normalizedCdrBatch() {
    return sharedCodecs().normalizedCdrBatch;
  },
  get ratedCdr() {
    return sharedCodecs().ratedCdr;
  },
  get adjustment() {
    return sharedCodecs().adjustment;
  },
  get alert() {
    return sharedCodecs().alert;
  },
  get reject() {
    return sharedCodecs().reject;
  },
};

function sharedCodecs(): Codecs {
  shared ??= createCodecs(loadSchemas(defaultSchemaDir()));
  return shared;
}
