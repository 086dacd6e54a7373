/**
 * The fuzz harness of the readers: valid switch exports (the fixtures written from each switch's own
 * documentation), mutated line by line with fast-check, read and normalised as a run reads them. An
 * input fails when reading throws, hangs, or leaves a line accounted for by nothing (neither a record,
 * nor a reject, nor a whole-file reject). Failing inputs are kept under test/fixtures/fuzz/ as
 * `<format>-<hash>.bin.gz` (gzip: a 1 MB field is a few bytes) and replayed by the fuzz test ever after.
 */
import { Buffer, isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { gunzipSync, gzipSync } from 'node:zlib';
import { join } from 'node:path';
import fc from 'fast-check';
import { Zone } from '../../services/core/calendar.js';
import type { Subscriber } from '../../services/core/cdr.js';
import { normalizeRecord } from '../../services/ingest/normalize.js';
import { readExport, type ExportFormat, type ReadExportOptions } from '../../services/ingest/readers/detect-format.js';
import { loadMappingProfile } from '../../services/ingest/readers/mapping-profile.js';
import { SubscriberDirectory } from '../../services/ingest/subscriber-directory.js';
import { numbering } from './numbering.js';

export const FUZZ_FIXTURES = 'test/fixtures/fuzz';
const DIR = 'test/fixtures/switch-exports';

export interface FuzzFormat {
  name: ExportFormat;
  seed: Buffer;
  options: ReadExportOptions;
  /** Leading lines left alone: a header (and CUCM's types line, a profile's title line). */
  fixedLines: number;
  delimiter: number;
}

export const FUZZ_FORMATS: FuzzFormat[] = [
  { name: 'canonical', seed: readFileSync(`${DIR}/canonical.csv`), options: {}, fixedLines: 1, delimiter: 0x2c },
  { name: 'asterisk', seed: readFileSync(`${DIR}/asterisk-Master.csv`), options: {}, fixedLines: 0, delimiter: 0x2c },
  { name: 'freeswitch', seed: readFileSync(`${DIR}/freeswitch-Master.csv`), options: { freeswitchTemplate: `${DIR}/freeswitch-cdr_csv.conf.xml` }, fixedLines: 0, delimiter: 0x2c },
  { name: 'cucm', seed: readFileSync(`${DIR}/cdr_StandAloneCluster_01_202601152305_1.txt`), options: {}, fixedLines: 2, delimiter: 0x2c },
  { name: 'profile', seed: readFileSync(`${DIR}/example-pbx.csv`), options: { profile: loadMappingProfile('config/profiles/example-pbx.yaml') }, fixedLines: 2, delimiter: 0x3b },
  { name: 'kamailio-acc', seed: readFileSync(`${DIR}/kamailio/acc.csv`), options: {}, fixedLines: 1, delimiter: 0x2c },
];

const subscriber = (account: string, number: string): Subscriber => ({
  account, clientId: 'c-acme', siteId: 's-paris', userId: `u-${account}`, planId: 'technicophone_centrex',
  lineType: 'centrex_user', channels: 1, automated: false, numbers: [number],
});
/** The subscribers of the fixtures. */
export const FUZZ_SUBSCRIBERS = [subscriber('alice', '+33145000001'), subscriber('bob', '+33145000002'), subscriber('carol', '+33145000003')];
const ctx = { numbering, sourceZone: new Zone('Europe/Paris'), directory: new SubscriberDirectory(FUZZ_SUBSCRIBERS) };

// ---- mutations ----

type Mutation = (line: Buffer, delimiter: number) => Buffer;

const INSERTS: Buffer[] = [[0], [0, 0, 0, 0], [0xff], [0xc3], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0x0d], [0x1b], [0x7f], [0xef, 0xbb, 0xbf], [0x22], [0x22, 0x22], [0x2c], [0x3b], [0x0a]].map((b) => Buffer.from(b));
const VALUES = [
  '-5', '-1', '0', '3000000000', '10000000', '86401', '9'.repeat(40), '1'.repeat(40), '', ' ', '"', '""', '=1+1', '@SUM(A1)', '+33 6', 'é', '\u00a0',
  '1970-01-01 00:00:00', '9999-12-31 23:59:59', '0050-03-02 10:00:00', '2026-13-45 25:61:61', '2026-01-15T10:00:00+99:99', '2026-01-15T10:00:00-12:60',
  '0', '253402300800', '99999999999999999999', '1768467600', '01/01/1970 00:00:00', '31/12/9999 23:59:59', '99:99:99',
];
const YEARS = ['1970', '9999', '0050', '1999', '2000', '0000'];

const at = (line: Buffer, pos: number) => (line.length === 0 ? 0 : pos % (line.length + 1));

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([pos, byte]): Mutation => (line) => {
    if (line.length === 0) return Buffer.from([byte]);
    const out = Buffer.from(line);
    out[pos % line.length] = byte;
    return out;
  }),
  fc.nat().map((pos): Mutation => (line) => line.subarray(0, at(line, pos))),
  fc.tuple(fc.nat(), fc.constantFrom(...INSERTS)).map(([pos, bytes]): Mutation => (line) => {
    const p = at(line, pos);
    return Buffer.concat([line.subarray(0, p), bytes, line.subarray(p)]);
  }),
  fc.tuple(fc.nat(), fc.constantFrom(...VALUES), fc.boolean()).map(([k, value, quoted]): Mutation => (line, d) => {
    const fields = splitBytes(line, d);
    fields[k % fields.length] = Buffer.from(quoted ? `"${value.replace(/"/g, '""')}"` : value);
    return joinBytes(fields, d);
  }),
  fc.tuple(fc.nat(), fc.constantFrom(1 << 20, 5000, 4097)).map(([k, size]): Mutation => (line, d) => {
    const fields = splitBytes(line, d);
    fields[k % fields.length] = Buffer.alloc(size, 0x78);
    return joinBytes(fields, d);
  }),
  fc.constantFrom(100_000, 1000, 3).map((n): Mutation => (line, d) => Buffer.concat([line, Buffer.alloc(n, d)])),
  fc.constantFrom(...YEARS).map((year): Mutation => (line) => Buffer.from(line.toString('latin1').replace(/20\d\d/g, year), 'latin1')),
  fc.uint8Array({ maxLength: 300 }).map((bytes): Mutation => () => Buffer.from(bytes)),
  fc.constant<Mutation>((line) => Buffer.concat([line, Buffer.from('\n'), line])),
);

export interface FuzzInput {
  format: FuzzFormat;
  bytes: Buffer;
  /**
   * The file's header (if any) is intact and its other records are valid: no whole-file reject may stand
   * for its lines (a damaged first record, blank lines at the top).
   */
  readable?: boolean;
  /** Where the format's fixed lines (its header) are, when blank lines were put before them: 0 otherwise. */
  headerAt?: number;
}

/** One to four of a seed export's lines mutated, each by one to three mutations; one edit in ten may hit the header lines too. */
const lineEdits: fc.Arbitrary<FuzzInput> = fc
  .tuple(
    fc.constantFrom(...FUZZ_FORMATS),
    fc.array(fc.tuple(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.integer({ min: 0, max: 9 })), { minLength: 1, maxLength: 4 }),
  )
  .map(([format, edits]) => {
    const lines = splitBytes(format.seed, 0x0a);
    const data = lines.length - format.fixedLines;
    for (const [i, ms, anywhere] of edits) {
      if (data <= 0) break;
      const k = anywhere === 0 ? i % lines.length : format.fixedLines + (i % data);
      lines[k] = ms.reduce((l, m) => m(l, format.delimiter), lines[k]!);
    }
    return { format, bytes: joinBytes(lines, 0x0a) };
  });

/** The first record damaged (a bad time, a quoted integer, a column more, a cut…): it alone may be refused. */
const damagedFirstRecord: fc.Arbitrary<FuzzInput> = fc.tuple(fc.constantFrom(...FUZZ_FORMATS), fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([format, ms]) => {
  const lines = splitBytes(format.seed, 0x0a);
  lines[format.fixedLines] = ms.reduce((l, m) => m(l, format.delimiter), lines[format.fixedLines]!);
  return { format, bytes: joinBytes(lines, 0x0a), readable: true };
});

/** A run of blank lines (LF or CRLF, maybe spaces) at the top, or after a profile's title and header lines. */
const blankRun: fc.Arbitrary<FuzzInput> = fc
  .tuple(fc.constantFrom(...FUZZ_FORMATS), fc.integer({ min: 1, max: 300 }), fc.constantFrom('', '\r', ' ', '\t'))
  .map(([format, n, filler]) => {
    const lines = splitBytes(format.seed, 0x0a);
    const at = format.name === 'profile' ? format.fixedLines : 0;
    lines.splice(at, 0, ...Array.from({ length: n }, () => Buffer.from(filler)));
    return { format, bytes: joinBytes(lines, 0x0a), readable: true, headerAt: at === 0 ? n : 0 };
  });

/** What the fuzz campaign reads: mostly line edits anywhere, and the two shapes that once hid whole files. */
export const fuzzInput: fc.Arbitrary<FuzzInput> = fc.oneof({ weight: 8, arbitrary: lineEdits }, { weight: 1, arbitrary: damagedFirstRecord }, { weight: 1, arbitrary: blankRun });

// ---- the check ----

export interface FuzzOutcome {
  items: number;
  records: number;
  rejects: number;
  /** Physical lines (1-based) that no record or reject accounts for. */
  unaccounted: number[];
}

const WHOLE_FILE = new Set(['unknown_format', 'bad_header', 'empty_file']);

/** Reads and normalises `input` as a run does; throws if that throws or takes longer than `timeoutMs`. */
export async function runFuzzInput(input: FuzzInput, timeoutMs = 20_000): Promise<FuzzOutcome> {
  const dir = mkdtempSync(join(tmpdir(), 'cdr-fuzz-'));
  const path = join(dir, `export-${input.format.name}.csv`);
  writeFileSync(path, input.bytes);
  let timer: NodeJS.Timeout | undefined;
  try {
    const work = (async () => {
      const lines = new Set<number>();
      const raws: string[] = [];
      let records = 0;
      let rejects = 0;
      let items = 0;
      let wholeFile = false;
      for await (const item of readExport(path, input.format.options)) {
        items++;
        const n = item.kind === 'reject' ? ({ ok: false, reject: item.reject } as const) : normalizeRecord(item.record, ctx);
        if (n.ok) {
          records++;
          lines.add(n.cdr.line);
          if (item.kind === 'record') raws.push(item.record.raw);
        } else {
          rejects++;
          lines.add(n.reject.line);
          raws.push(n.reject.raw);
          if (WHOLE_FILE.has(n.reject.reason)) wholeFile = true;
        }
      }
      const unaccounted = wholeFile && input.readable !== true ? [] : dataLines(input).filter((l) => !lines.has(l.line) && !raws.some((r) => r.includes(l.text))).map((l) => l.line);
      return { items, records, rejects, unaccounted };
    })();
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`reading did not finish within ${timeoutMs} ms`)), timeoutMs);
    });
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The lines a reader must account for: after the fixed lines, not blank as a reader sees blank. */
function dataLines(input: FuzzInput): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  splitBytes(input.bytes, 0x0a).forEach((bytes, i) => {
    const b = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.subarray(0, -1) : bytes;
    const headerAt = input.headerAt ?? 0;
    if (i >= headerAt && i < headerAt + input.format.fixedLines) return;
    const text = isUtf8(b) ? b.toString('utf8') : null;
    if (text !== null && text.trim() === '' && !/[\x00-\x08\x0a-\x1f\x7f]/.test(text)) return;
    out.push({ line: i + 1, text: text ?? '\u0000never-matches' });
  });
  // A file ends with LF: the empty "line" after it is not one.
  return out;
}

/** Keeps a failing input where the fuzz test replays it: `<format>-<sha256 prefix>.bin.gz`. */
export function keepFailingInput(input: FuzzInput): string {
  mkdirSync(FUZZ_FIXTURES, { recursive: true });
  const path = join(FUZZ_FIXTURES, `${input.format.name}-${createHash('sha256').update(input.bytes).digest('hex').slice(0, 16)}.bin.gz`);
  writeFileSync(path, gzipSync(input.bytes));
  return path;
}

/** The inputs kept by `keepFailingInput`, by file name. */
export function keptInputs(): { name: string; input: FuzzInput }[] {
  if (!existsSync(FUZZ_FIXTURES)) return [];
  return readdirSync(FUZZ_FIXTURES)
    .filter((f) => f.endsWith('.bin.gz'))
    .map((name) => {
      const format = FUZZ_FORMATS.find((f) => name.startsWith(`${f.name}-`));
      if (format === undefined) throw new Error(`${FUZZ_FIXTURES}/${name}: the name must start with a format (${FUZZ_FORMATS.map((f) => f.name).join(', ')})`);
      return { name, input: { format, bytes: gunzipSync(readFileSync(join(FUZZ_FIXTURES, name))) } };
    });
}

export function splitBytes(buf: Buffer, byte: number): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (let i = buf.indexOf(byte, from); i >= 0; i = buf.indexOf(byte, from)) {
    out.push(buf.subarray(from, i));
    from = i + 1;
  }
  out.push(buf.subarray(from));
  return out;
}

function joinBytes(parts: Buffer[], byte: number): Buffer {
  const sep = Buffer.from([byte]);
  return Buffer.concat(parts.flatMap((p, i) => (i === 0 ? [p] : [sep, p])));
}
