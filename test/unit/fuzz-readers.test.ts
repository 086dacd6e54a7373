/**
 * Property tests over every reader: mutated valid exports (byte flips, truncation, NUL, invalid UTF-8,
 * lone CR, quotes, 1 MB fields, 100k columns, years 1970 / 9999 / 0050, negative and huge durations,
 * 40-digit numbers, impossible offsets) are read and normalised without a throw or a hang, and every
 * line is accounted for. `make fuzz` runs the same with FUZZ_RUNS inputs and keeps each failing one
 * under test/fixtures/fuzz/, which this file replays on every run.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import Papa from 'papaparse';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../services/config/load-config.js';
import { rateFiles } from '../../services/embedded/rate-files.js';
import { FUZZ_FORMATS, FUZZ_SUBSCRIBERS, fuzzInput, keepFailingInput, keptInputs, runFuzzInput, splitBytes, type FuzzInput } from '../support/fuzz.js';
import { tempDir } from '../support/tmp.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const KEEP = process.env.FUZZ_KEEP === '1';
/** Full `cdr rate` runs, each on one file per format of several mutated exports and the hostile lines. */
const RATE_RUNS = Number(process.env.FUZZ_RATE_RUNS ?? 1);
const CAMPAIGN_TIMEOUT = Math.max(60_000, RUNS * 1000);
const dir = tempDir();

async function check(input: FuzzInput): Promise<string | null> {
  try {
    const outcome = await runFuzzInput(input);
    return outcome.unaccounted.length === 0 ? null : `lines ${outcome.unaccounted.join(', ')} accounted for by no record or reject`;
  } catch (e) {
    return `crash: ${(e as Error).stack ?? String(e)}`;
  }
}

describe('fuzzing the readers', () => {
  it(`reads ${RUNS} mutated exports (seed ${SEED}) without a crash, a hang or a lost line`, async () => {
    const failures: string[] = [];
    let crashes = 0;
    let unaccountedLines = 0;
    let records = 0;
    let rejects = 0;
    for (const input of fc.sample(fuzzInput, { numRuns: RUNS, seed: SEED })) {
      const problem = await check(input);
      if (problem === null) continue;
      if (problem.startsWith('crash')) crashes++;
      else unaccountedLines += problem.split(',').length;
      failures.push(`${input.format.name}${KEEP ? ` (kept as ${keepFailingInput(input)})` : ''}: ${problem}`);
    }
    for (const input of fc.sample(fuzzInput, { numRuns: Math.min(RUNS, 20), seed: SEED + 1 })) {
      const o = await runFuzzInput(input);
      records += o.records;
      rejects += o.rejects;
    }
    console.log(`fuzz: ${RUNS} inputs tried (seed ${SEED}), ${crashes} crashes, ${unaccountedLines} lines unaccounted for, ${failures.length} failing inputs; sample of 20: ${records} records, ${rejects} rejects`);
    expect(failures).toEqual([]);
  }, CAMPAIGN_TIMEOUT);

  const kept = keptInputs();
  it.runIf(kept.length > 0).each(kept)('replays the kept failing input $name', async ({ input }) => {
    expect(await check(input)).toBeNull();
  });

  it(`rates mutated exports of every format in ${RATE_RUNS} cdr rate run(s): read = rated + rejected + duplicates, outputs parse back`, async () => {
    const totals = { read: 0, rated: 0, rejected: 0, duplicates: 0 };
    for (let run = 0; run < RATE_RUNS; run++) {
      const s = await rateRun(SEED + 2 + run);
      totals.read += s.read;
      totals.rated += s.rated;
      totals.rejected += s.rejected.total;
      totals.duplicates += s.duplicates;
    }
    console.log(`fuzz: ${RATE_RUNS} cdr rate run(s): ${totals.read} records read = ${totals.rated} rated + ${totals.rejected} rejected + ${totals.duplicates} duplicates`);
    expect(totals.rated + totals.rejected + totals.duplicates).toBe(totals.read);
  }, 60_000 * RATE_RUNS);
});

async function rateRun(seed: number) {
  const files: string[] = [];
  for (const format of FUZZ_FORMATS) {
    // Several inputs of one format, concatenated after the first one's header lines: many bad lines in one file.
    const inputs = fc.sample(fuzzInput.filter((i) => i.format.name === format.name), { numRuns: 3, seed });
    const bodies = inputs.map((i, k) => (k === 0 ? i.bytes : dropLines(i.bytes, format.fixedLines)));
    bodies.push(...hostileLines(format));
    const path = dir(`fuzz-${format.name}.csv`);
    writeFileSync(path, Buffer.concat(bodies.flatMap((b) => [b, Buffer.from('\n')])));
    files.push(path);
  }
  const subscribers = dir('subscribers.csv', 'account,client_id,site_id,user_id,plan_id,line_type,channels,automated,numbers\n' + FUZZ_SUBSCRIBERS.map((s) => `${s.account},${s.clientId},${s.siteId},${s.userId},${s.planId},${s.lineType},1,false,${s.numbers[0]}`).join('\n') + '\n');
  const base = loadConfig('config', subscribers);
  const summary = await rateFiles({
    config: base, dataDir: join(dir(), 'state'), outDir: join(dir(), 'out'), sourceZone: 'Europe/Paris', files,
    read: { freeswitchTemplate: FUZZ_FORMATS.find((f) => f.name === 'freeswitch')!.options.freeswitchTemplate },
  });
  const out = dirname(summary.outputs['rated.csv']!);
  expect(summary.read).toBeGreaterThan(0);
  expect(summary.rated + summary.rejected.total + summary.duplicates).toBe(summary.read);
  for (const f of ['rated.csv', 'rejected.csv']) {
    const parsed = Papa.parse<string[]>(readFileSync(join(out, f), 'utf8'), { skipEmptyLines: true });
    expect(parsed.errors, f).toEqual([]);
  }
  const rejected = Papa.parse<string[]>(readFileSync(join(out, 'rejected.csv'), 'utf8'), { skipEmptyLines: true }).data;
  expect(rejected.length - 1).toBe(summary.rejected.total);
  return summary;
}

/**
 * What made whole runs fail before (issue 12), on a valid line of each format: a NUL byte, invalid
 * UTF-8, and each field in turn set to 3,000,000,000 (seconds: integer overflow in the store), a
 * 300-byte id (the store's index), year 9999 and a 40-digit number.
 */
function hostileLines(format: (typeof FUZZ_FORMATS)[number]): Buffer[] {
  const lines = splitBytes(format.seed, 0x0a);
  const line = lines[format.fixedLines]!;
  const out = [Buffer.concat([Buffer.from([0]), line]), Buffer.concat([line.subarray(0, 5), Buffer.from([0xff, 0xfe]), line.subarray(5)])];
  const fields = splitBytes(line, format.delimiter);
  for (const value of ['3000000000', 'x'.repeat(300), '9999-12-31 23:59:59', '9'.repeat(40)]) {
    for (let k = 0; k < fields.length; k++) {
      const f = [...fields];
      f[k] = Buffer.from(value);
      out.push(Buffer.concat(f.flatMap((p, i) => (i === 0 ? [p] : [Buffer.from([format.delimiter]), p]))));
    }
  }
  return out.flatMap((l) => [l, Buffer.from('\n')]);
}

function dropLines(bytes: Buffer, n: number): Buffer {
  let at = 0;
  for (let i = 0; i < n; i++) at = bytes.indexOf(0x0a, at) + 1;
  return bytes.subarray(at);
}
