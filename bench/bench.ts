/**
 * `make bench`: throughput and memory of the embedded runtime on 1,000,000 generated CDRs, reported as
 * ratios to the limits of this machine measured in the same run (raw CSV parsing of the same file by the
 * fastest parser we have), so that the figures mean something on a noisy 2-core box.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse as csvParse } from 'csv-parse';
import Papa from 'papaparse';
import { generateWorkload } from '../services/generator/generate-workload.js';
import { loadConfig } from '../services/config/load-config.js';
import { streamBench } from './stream-bench.js';

const WORK = 'bench/work';
const TARGET = Number(process.env.BENCH_CDRS ?? 1_000_000);
const SUBSCRIBERS = Math.max(10, Math.round(TARGET / 367)); // measured: ~367 CDRs per subscriber over 31 days
const DAYS = 31;

async function main(): Promise<void> {
  const workload = await workloadFiles();
  const bytes = workload.files.reduce((n, f) => n + statSync(f).size, 0);
  console.log(`workload: ${workload.cdrs.toLocaleString('en')} CDRs in ${workload.files.length} daily files, ${(bytes / 1e6).toFixed(0)} MB`);

  const papa = await timed('papaparse (stream)', () => countPapa(workload.files));
  const csvp = await timed('csv-parse (stream)', () => countCsvParse(workload.files));
  const raw = papa.perSecond >= csvp.perSecond ? papa : csvp;
  console.log(`raw parsing limit: ${raw.name}, ${fmt(raw.perSecond)} rows/s`);

  const classifier = classifierBench(workload.files[0]!);
  console.log(`classifier: ${fmt(classifier.cold)} callees/s first sight, ${fmt(classifier.warm)} callees/s cached`);

  rmSync(join(WORK, 'state'), { recursive: true, force: true });
  const child = JSON.parse(
    execFileSync('node', ['dist/bench/rate-once.js', join(WORK, 'state'), join(WORK, 'out'), join(WORK, 'gen', 'subscribers.csv'), ...workload.files], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  ) as { seconds: number; maxRssMB: number; rated: number; rejected: number; read: number };
  const perSecond = child.read / child.seconds;
  console.log(
    `embedded rate: ${fmt(perSecond)} CDRs/s end to end (read → rated rows in PGlite and out/), ${child.seconds.toFixed(1)} s, ` +
      `peak RSS ${child.maxRssMB.toFixed(0)} MB, rated ${child.rated}, rejected ${child.rejected}`,
  );
  console.log(`ratio to raw parsing: ${(perSecond / raw.perSecond).toFixed(3)} (1.0 would be "as fast as reading the CSV")`);
  const summary = JSON.parse(readFileSync(join(WORK, 'out', 'summary.json'), 'utf8')) as { alerts: { byRule: Record<string, number> } };
  const fraud = Object.entries(summary.alerts.byRule).filter(([rule]) => rule.startsWith('fraud.'));
  console.log(`alerts on this ordinary workload (no injected scenario): ${JSON.stringify(summary.alerts.byRule)}; fraud alerts: ${fraud.reduce((n, [, c]) => n + c, 0)}`);

  if (process.env.BENCH_STREAMING !== '0') await streamBench(workload.files, join(WORK, 'gen', 'subscribers.csv'), workload.cdrs);
}

async function workloadFiles() {
  const manifest = join(WORK, 'gen', 'bench.json');
  if (existsSync(manifest)) {
    const cached = JSON.parse(readFileSync(manifest, 'utf8'));
    if (cached.target === TARGET) return cached as { files: string[]; cdrs: number };
  }
  rmSync(join(WORK, 'gen'), { recursive: true, force: true });
  const started = performance.now();
  const result = await generateWorkload({ subscribers: SUBSCRIBERS, days: DAYS, seed: 42, startDate: '2026-03-01', outDir: join(WORK, 'gen') });
  console.log(`generated in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const out = { target: TARGET, files: result.files, cdrs: result.cdrs };
  (await import('node:fs')).writeFileSync(manifest, JSON.stringify(out));
  return out;
}

async function timed(name: string, work: () => Promise<number>) {
  const started = performance.now();
  const rows = await work();
  const seconds = (performance.now() - started) / 1000;
  console.log(`${name}: ${fmt(rows / seconds)} rows/s`);
  return { name, perSecond: rows / seconds };
}

async function countPapa(files: string[]): Promise<number> {
  let rows = 0;
  for (const f of files) {
    await new Promise<void>((resolve, reject) => {
      Papa.parse(createReadStream(f), { step: () => void rows++, complete: () => resolve(), error: reject });
    });
  }
  return rows;
}

async function countCsvParse(files: string[]): Promise<number> {
  let rows = 0;
  for (const f of files) for await (const _ of createReadStream(f).pipe(csvParse())) rows++;
  return rows;
}

function classifierBench(file: string) {
  const config = loadConfig('config', join(WORK, 'gen', 'subscribers.csv'));
  const callees = readFileSync(file, 'utf8').split('\n').slice(1).map((l) => l.split(',')[3] ?? '').filter((c) => c !== '').map((c) => config.numbering.normalize(c));
  let t = performance.now();
  for (const c of callees) config.numbering.classify(c);
  const cold = callees.length / ((performance.now() - t) / 1000);
  t = performance.now();
  for (let i = 0; i < 5; i++) for (const c of callees) config.numbering.classify(c);
  const warm = (5 * callees.length) / ((performance.now() - t) / 1000);
  return { cold, warm };
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en');
}

await main();
