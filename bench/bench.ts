/**
 * `make bench`: every figure issue 9 asks for, in one run, each against its goal and, for rates, as a
 * ratio to a limit of this machine measured in the same run (raw CSV parsing of the same files by the
 * faster of uDSV and papaparse), so that the figures mean something on a noisy shared 2-core box.
 *
 * BENCH_CDRS (default 1,000,000) sizes the month; BENCH_BIG=0 skips the 5 M-CDR month; BENCH_STREAMING=0
 * skips the streaming part; BENCH_PROFILE=1 runs the whole month under --cpu-prof and prints its top lines.
 * BENCH_ONLY=streaming runs the streaming part alone (BENCH_WORKER_PROFILE=1 runs its workers under --cpu-prof);
 * BENCH_LATE=0 skips the streaming part's late-call worst case; BENCH_CLIENTS=0 its Kafka client comparison.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateWorkload } from '../services/generator/generate-workload.js';
import { bigMonth, dayThirtyOne, stages, wholeMonth, type Workload } from './embedded-bench.js';
import { deskBench } from './desk-bench.js';
import { authorizeBench } from './authorize-bench.js';
import { countPapa, countUdsv, parseRate } from './raw-parse.js';
import { fmt, Report } from './report.js';
import { streamBench } from './stream-bench.js';

const WORK = 'bench/work';
const TARGET = Number(process.env.BENCH_CDRS ?? 1_000_000);
const BIG = 5_000_000;
const CDRS_PER_SUBSCRIBER = 367; // measured: ~367 CDRs per subscriber over 31 days
const DAYS = 31;

async function main(): Promise<void> {
  const report = new Report();
  const month = await workload(join(WORK, 'gen'), TARGET);
  report.section(`Workload: ${fmt(month.cdrs)} CDRs, ${fmt(subscribersFor(TARGET))} subscribers, ${month.files.length} daily files`);
  const only = process.env.BENCH_ONLY;
  if (only !== undefined && only !== 'streaming') throw new Error(`BENCH_ONLY=${only}: only "streaming" can run alone`);
  if (only !== 'streaming') await embedded(report, month);
  if (process.env.BENCH_STREAMING !== '0' || only === 'streaming') {
    report.section('Streaming on a month-end store (rater and fraud workers, PostgreSQL, Kafka)');
    const dayCounts: number[] = [];
    for (const f of month.files) dayCounts.push(await countUdsv(f));
    await streamBench(report, month.files, dayCounts, month.subscribers, process.env.BENCH_WORKER_PROFILE === '1' ? join(WORK, 'stream-profile') : undefined);
  }
  report.table();
}

async function embedded(report: Report, month: Workload): Promise<void> {
  report.section('Raw parse of the same files (the limit)');
  const udsv = await parseRate('uDSV (streaming)', month.files, countUdsv);
  const papa = await parseRate('papaparse (stream)', month.files, countPapa);
  for (const p of [udsv, papa]) report.add(`raw parse, ${p.name}`, `${fmt(p.perSecond)} rows/s`);
  const raw = udsv.perSecond >= papa.perSecond ? udsv : papa;
  report.line(`limit: ${raw.name}; ${fmt(udsv.rows)} rows by uDSV, ${fmt(papa.rows)} by papaparse`);

  report.section('Whole month in one `cdr rate` run (child process)');
  await wholeMonth(report, month, WORK, raw.perSecond, process.env.BENCH_PROFILE === '1');

  report.section('Day 31 after days 1–30 vs the same file into a fresh state (3 runs each, medians)');
  await dayThirtyOne(report, month, WORK);

  report.section('Stages without the store (child process, --expose-gc)');
  await stages(report, month);

  if (process.env.BENCH_DESK !== '0') {
    report.section('The fraud desk on the whole month (cdr serve, 50 concurrent clients)');
    await deskBench(report, join(WORK, 'month-state'), month.subscribers);
  }

  if (process.env.BENCH_AUTHORIZE !== '0') {
    report.section('Authorization at call setup (cdr serve asked by a switch at 2,000 requests/s)');
    await authorizeBench(report, month.subscribers);
  }

  if (process.env.BENCH_BIG !== '0') {
    const big = await workload(join(WORK, 'gen-big'), BIG);
    report.section(`Big month: ${fmt(big.cdrs)} CDRs, ${fmt(subscribersFor(BIG))} subscribers, in one run`);
    await bigMonth(report, big, WORK);
  }
}

function subscribersFor(cdrs: number): number {
  return Math.max(10, Math.round(cdrs / CDRS_PER_SUBSCRIBER));
}

/** A generated month, kept under bench/work between runs of the same size. */
async function workload(dir: string, target: number): Promise<Workload> {
  const manifest = join(dir, 'bench.json');
  if (existsSync(manifest)) {
    const cached = JSON.parse(readFileSync(manifest, 'utf8')) as Workload & { target: number };
    if (cached.target === target) return cached;
  }
  rmSync(dir, { recursive: true, force: true });
  const started = performance.now();
  const result = await generateWorkload({ subscribers: subscribersFor(target), days: DAYS, seed: 42, startDate: '2026-03-01', outDir: dir });
  console.log(`generated ${fmt(result.cdrs)} CDRs in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const out = { target, dir, files: result.files, cdrs: result.cdrs, subscribers: result.subscribersFile };
  writeFileSync(manifest, JSON.stringify(out));
  return out;
}

await main();
