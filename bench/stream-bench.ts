/**
 * Streaming figures for `make bench` (the shared or local broker, local PostgreSQL), on a month-end store:
 * - end to end: rater and fraud workers run while `cdr ingest` streams days 1–30, until every rated row is
 *   in PostgreSQL, as CDRs/s and as a ratio to raw consumption of the same topic by the same client (kafkajs);
 * - alert latency: day 31, in time order, produced at a fixed 5,000 CDRs/s through the same workers onto
 *   the days 1–30 store, with a 089 caller ID planted on a fresh account 50 times a second; p50 / p99 of
 *   produce → alert row committed, for the day's first half alone on the machine and for its second half
 *   while a CPU-bound process (started and stopped here) holds one of the two cores;
 * - the worst case, without a goal: 15 s of day 31's calls again under new ids, every one late for its scope,
 *   through raters just restarted (how soon their first batch commits is a figure of its own).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { Zone } from '../services/core/calendar.js';
import type { Cdr } from '../services/core/cdr.js';
import { loadConfig } from '../services/config/load-config.js';
import { normalizeRecord } from '../services/ingest/normalize.js';
import { readExport } from '../services/ingest/readers/detect-format.js';
import { ensureTopics, topicsFor } from '../services/stream/kafka-setup.js';
import { normalizedRecords } from '../services/stream/normalized-records.js';
import { CpuSampler } from './cpu-sampler.js';
import { topSelfTime } from './cpu-profile.js';
import { kafkaClients, readFromStart } from './kafka-clients.js';
import { STREAM_NODE_FLAGS } from './node-flags.js';
import { fmt, type Report } from './report.js';

const run = promisify(execFile);
const ADMIN_URL = process.env.DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const CLI = 'dist/services/cli/main.js';
/** A count that has not moved for this long will not reach its target: the bench says so and goes on. */
const STALL_MS = 60_000;
/**
 * Workers of each consumer group (BENCH_RATERS, BENCH_FRAUD_WORKERS; the topics have 4 partitions): two
 * of each, as a deployment scales a group (a worker already handles its partitions side by side).
 */
const RATERS = Number(process.env.BENCH_RATERS ?? 2);
/**
 * BENCH_FRAUD=inline runs the fraud detectors inside the raters (`cdr worker rater --with-fraud`) and no
 * fraud worker; by default they run as fraud workers on cdr.rated.
 */
const FRAUD_INLINE = process.env.BENCH_FRAUD === 'inline';
const FRAUD_WORKERS = FRAUD_INLINE ? 0 : Number(process.env.BENCH_FRAUD_WORKERS ?? 2);

/**
 * `dayCounts[i]` is the number of CDRs in `files[i]`; the last file is day 31. With `profileDir`, the
 * workers run under --cpu-prof and their top self-time functions are printed.
 */
export async function streamBench(report: Report, files: string[], dayCounts: number[], subscribers: string, profileDir?: string): Promise<void> {
  await withEnvironment(async (env) => {
    await ensureTopics(new Kafka({ clientId: 'bench-admin', brokers: BROKERS, logLevel: logLevel.NOTHING }), topicsFor(env.prefix), 4);
    if (profileDir !== undefined) {
      rmSync(profileDir, { recursive: true, force: true });
      mkdirSync(profileDir, { recursive: true });
    }
    for (let i = 0; i < RATERS; i++) worker(env, 'rater', subscribers, profileDir);
    for (let i = 0; i < FRAUD_WORKERS; i++) worker(env, 'fraud', subscribers, profileDir);
    await groupsStable(`${env.prefix}cdr-rater`, ...(FRAUD_WORKERS > 0 ? [`${env.prefix}cdr-fraud`] : []));

    report.line(`${FRAUD_INLINE ? `${RATERS} rater(s) with the fraud detectors inside (--with-fraud)` : `${RATERS} rater(s) and ${FRAUD_WORKERS} fraud worker(s)`}, topics of 4 partitions`);
    const history = dayCounts.slice(0, -1).reduce((a, b) => a + b, 0);
    const cpu = new CpuSampler(processKind);
    cpu.start();
    const started = performance.now();
    await ingest(env, subscribers, files.slice(0, -1));
    const stored = await untilRated(env);
    const seconds = (performance.now() - started) / 1000;
    const perSecond = stored / seconds;
    report.line(`days 1–${files.length - 1}: ${fmt(stored)} of ${fmt(history)} CDRs rated into PostgreSQL in ${seconds.toFixed(1)} s; waiting for the fraud worker`);
    report.add(`streaming days 1–${files.length - 1}, end to end`, `${fmt(perSecond)} CDRs/s`, '≥ 50,000 CDRs/s', perSecond >= 50_000);
    await fraudSettled(env);
    const postgresPerCdr = reportCpu(report, cpu.stop(), stored, (performance.now() - started) / 1000);

    const raw = await rawConsumption(`${env.prefix}cdr.normalized`, stored);
    report.line(`raw kafkajs consumption of the same topic (${fmt(raw.records)} records carrying ${fmt(stored)} CDRs): ${fmt(raw.cdrsPerSecond)} CDRs/s`);
    report.add(`streaming days 1–${files.length - 1} / raw kafkajs consumption`, (perSecond / raw.cdrsPerSecond).toFixed(3));

    // Day 31 as a switch sends it, in time order, at 5,000 CDRs/s, with 089 caller IDs planted on fresh accounts:
    // its first half on a machine the pipeline has to itself, its second half while a CPU-bound process holds
    // one of the two cores (a noisy neighbour: a backup, a report, another tenant).
    const load = await loadOf(files[files.length - 1]!, subscribers);
    // A month-end store has been vacuumed and checkpointed many times over; days 1–30 written in two minutes
    // have not (and this machine's PostgreSQL runs without autovacuum): without this, day 31's first
    // seconds paid for the checkpoint of the whole month's writes, and no query had statistics.
    await env.db.query('VACUUM (ANALYZE)');
    await env.db.query('CHECKPOINT');
    const ms = (v: number) => (Number.isFinite(v) ? `${fmt(v)} ms` : 'no alert in time');
    const half = Math.floor(load.cdrs.length / 2);
    const quiet = await alertLatency(env, load, (i) => (i < half ? load.cdrs[i]! : null), load.accounts.slice(0, 200), 5);
    const hog = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
    let noisy: Awaited<ReturnType<typeof alertLatency>>;
    try {
      noisy = await alertLatency(env, load, (i) => (half + i < load.cdrs.length ? load.cdrs[half + i]! : null), load.accounts.slice(200, 400), 5);
    } finally {
      hog.kill('SIGKILL');
    }
    for (const [name, run, goal] of [['', quiet, 500], [', a CPU-bound neighbour on one core', noisy, 1000]] as const) {
      report.line(`day 31${name}: ${fmt(run.sent)} CDRs produced at ${fmt(run.offered)} CDRs/s on the days 1–30 store, ${run.planted} alerts planted, ${run.missing} not there 120 s after the load (produce → alert row committed, through rater and fraud)`);
      report.add(`alert latency p50, day 31 in time order${name}`, ms(run.p50));
      report.add(`alert latency p99, day 31 in time order${name}`, ms(run.p99), `≤ ${fmt(goal)} ms`, run.p99 <= goal);
      report.line(`alert latency max${name} ${ms(run.max)}`);
    }
    await fraudSettled(env);
    reportRss(report, env, 'after day 31');

    // The worst case: 15 s of day 31's calls again under new ids, every one of them late for its scope.
    if (process.env.BENCH_LATE !== '0') {
      // New rater processes (the old ones stopped with SIGTERM, as a deployment does) start with nothing in
      // memory: how soon their first batch commits says how much a restart costs on a month-end store.
      const restartedAt = await restartWorkers(env, 'rater', subscribers, profileDir);
      const firstCommit = firstCommitAfter(env, `${env.prefix}cdr-rater`, await committed(env, `${env.prefix}cdr-rater`));
      const LATE = 15 * 5000;
      const late = await alertLatency(env, load, (i) => (i < LATE ? { ...load.originating[i % load.originating.length]!, cdrId: `late-${i}` } : null), load.accounts.slice(400), 1);
      report.line(`late calls: ${fmt(late.sent)} CDRs at ${fmt(late.offered)} CDRs/s, all earlier than what their scopes hold, ${late.planted} alerts planted, ${late.missing} missing: p50 ${ms(late.p50)}, p99 ${ms(late.p99)}`);
      report.add('alert latency p99, late calls only (no goal)', ms(late.p99));
      const restart = (await firstCommit) - restartedAt;
      report.add('raters restarted: first batch committed after', `${(restart / 1000).toFixed(1)} s`, 'within seconds', restart <= 10_000);
      reportRss(report, env, 'after the late calls');
    }
    if (profileDir !== undefined) await printProfiles(env, profileDir);
    const floor = await postgresFloor(env, 200_000, FLOOR_ROWS_PER_TRANSACTION);
    report.line(`PostgreSQL floor: ${fmt(floor.rows)} rated rows copied again into a table shaped like rated_cdr (its columns and all its indexes), ${fmt(FLOOR_ROWS_PER_TRANSACTION)} a transaction, by one connection: ${fmt(floor.microseconds)} µs of PostgreSQL CPU a row`);
    report.add('PostgreSQL CPU per CDR in the pipeline / its floor (writing the rated row alone)', (postgresPerCdr / floor.microseconds).toFixed(2));
    if (process.env.BENCH_CLIENTS !== '0') {
      report.section('Kafka clients on the records of cdr.rated (produce as the stages do, then consume)');
      await kafkaClients(report, BROKERS, topicsFor(env.prefix).rated);
    }
  });
}

/** Rows a transaction of the PostgreSQL floor: about what a rater's batch of a partition writes on this bench. */
const FLOOR_ROWS_PER_TRANSACTION = 1000;

/**
 * PostgreSQL's floor for a CDR: rated rows the raters wrote, copied again into a table shaped like
 * rated_cdr (same columns, every index) in transactions of `perTransaction` rows by one connection, and
 * nothing else; the CPU of every PostgreSQL process meanwhile, per row. What PostgreSQL spends per CDR in
 * the pipeline beyond it is its other work: the duplicate probes, counters, fraud state and offsets.
 */
async function postgresFloor(env: Env, rows: number, perTransaction: number): Promise<{ rows: number; microseconds: number }> {
  const client = new pg.Client({ connectionString: env.url });
  await client.connect();
  try {
    await client.query('CREATE TABLE bench_floor_rated (LIKE rated_cdr INCLUDING ALL)');
    const columns = (await client.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'rated_cdr' AND column_name <> 'seq' ORDER BY ordinal_position`,
    )).rows.map((r) => r.column_name).join(', ');
    // Copied out first, in the raters' order, so that the measured phase is the writing alone.
    let text = '';
    await pipeline(client.query(copyTo(`COPY (SELECT ${columns} FROM rated_cdr ORDER BY seq LIMIT ${rows}) TO STDOUT`)), async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) text += chunk.toString('utf8');
    });
    const lines = text.split('\n').filter((l) => l !== '');
    const batches: string[] = [];
    for (let i = 0; i < lines.length; i += perTransaction) batches.push(lines.slice(i, i + perTransaction).join('\n') + '\n');
    const cpu = new CpuSampler((cmdline) => (processKind(cmdline) === 'PostgreSQL' ? 'PostgreSQL' : null));
    cpu.start();
    for (const batch of batches) {
      await client.query('BEGIN');
      await pipeline(Readable.from([batch]), client.query(copyFrom(`COPY bench_floor_rated (${columns}) FROM STDIN`)));
      await client.query('COMMIT');
    }
    const seconds = cpu.stop().get('PostgreSQL') ?? 0;
    return { rows: lines.length, microseconds: (seconds / lines.length) * 1e6 };
  } finally {
    await client.query('DROP TABLE IF EXISTS bench_floor_rated').catch(() => {});
    await client.end();
  }
}

/** Stops the workers cleanly (a profile is written at exit) and prints each one's top self time. */
async function printProfiles(env: Env, dir: string): Promise<void> {
  await Promise.all(env.workers.map(([, w]) => new Promise<void>((resolve) => {
    w.once('exit', () => resolve());
    w.kill('SIGTERM');
  })));
  env.workers = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    console.log(`${file}:`);
    for (const t of topSelfTime(join(dir, file), 25)) console.log(`  ${fmt(t.ms)} ms ${(t.share * 100).toFixed(1)} % ${t.name} ${t.where}`);
  }
}

async function ingest(env: Env, subscribers: string, files: string[]): Promise<void> {
  await run('node', ['--max-old-space-size=8192', ...STREAM_NODE_FLAGS, CLI, 'ingest', '--subscribers', subscribers, ...files], { env: env.env, maxBuffer: 1 << 26 });
}

/**
 * Waits until the raters have stored the offsets of the end of every partition of cdr.normalized (ingest
 * has returned: the topic is complete), or until they stop moving; then counts the rated rows once. The
 * wait reads a few offsets: a count(*) of rated_cdr five times a second scanned the growing table each
 * time, and PostgreSQL's CPU per CDR paid for the bench's own polling.
 */
async function untilRated(env: Env): Promise<number> {
  const admin = new Kafka({ clientId: 'bench-admin', brokers: BROKERS, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const topic = `${env.prefix}cdr.normalized`;
  const end = (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + BigInt(p.high), 0n);
  await admin.disconnect();
  let last = '';
  let movedAt = Date.now();
  for (;;) {
    const { rows } = await env.db.query<{ n: string | null }>('SELECT sum(next_offset)::text AS n FROM consumer_offset WHERE group_id = $1 AND topic = $2', [`${env.prefix}cdr-rater`, topic]);
    const n = rows[0]?.n ?? '0';
    if (BigInt(n) >= end) break;
    if (n !== last) [last, movedAt] = [n, Date.now()];
    else if (Date.now() - movedAt > STALL_MS) {
      console.log(`   (the raters stalled at offset sum ${n} of ${end} for ${STALL_MS / 1000} s: going on)`);
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const { rows } = await env.db.query<{ n: string }>('SELECT count(*) AS n FROM rated_cdr');
  return Number(rows[0]!.n);
}

/** The fraud worker has caught up when its committed offsets stop moving for 3 s. */
async function fraudSettled(env: Env): Promise<void> {
  if (FRAUD_WORKERS === 0) return; // the raters' own transactions hold the alerts
  const deadline = Date.now() + 20 * 60_000;
  let last = '';
  let still = 0;
  while (Date.now() < deadline && still < 3) {
    const { rows } = await env.db.query<{ n: string | null }>(`SELECT sum(next_offset)::text AS n FROM consumer_offset WHERE group_id = $1`, [`${env.prefix}cdr-fraud`]);
    const now = rows[0]?.n ?? '';
    still = now === last && now !== '' ? still + 1 : 0;
    last = now;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

interface Env {
  url: string;
  prefix: string;
  db: pg.Pool;
  workers: [stage: string, process: ChildProcess][];
  env: NodeJS.ProcessEnv;
}

async function withEnvironment<T>(work: (env: Env) => Promise<T>): Promise<T> {
  const id = randomUUID().replaceAll('-', '').slice(0, 10);
  const name = `cdr_bench_${id}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  const env: Env = { url, prefix: `bench${id}.`, db: new pg.Pool({ connectionString: url, max: 2 }), workers: [], env: {} };
  // Dropping the database at the end ends the pool's last connections: that must not crash the bench.
  env.db.on('error', () => {});
  env.env = { ...process.env, DATABASE_URL: url, CDR_TOPIC_PREFIX: env.prefix, LOG_LEVEL: 'warn' };
  try {
    return await work(env);
  } finally {
    for (const [, w] of env.workers) w.kill('SIGKILL');
    await env.db.end();
    const a = new pg.Client({ connectionString: ADMIN_URL });
    await a.connect();
    await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await a.end();
  }
}

function worker(env: Env, stage: string, subscribers: string, profileDir?: string): void {
  const profile = profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${stage}-${env.workers.length}.cpuprofile`];
  const fraud = stage === 'rater' && FRAUD_INLINE ? ['--with-fraud'] : [];
  env.workers.push([stage, spawn('node', ['--max-old-space-size=8192', ...STREAM_NODE_FLAGS, ...profile, CLI, 'worker', stage, '--subscribers', subscribers, ...fraud], { env: env.env, stdio: 'ignore' })]);
}

/** What each kind of process on the machine is, for the CPU figures. */
function processKind(cmdline: string): string | null {
  if (cmdline.includes('main.js worker rater')) return 'rater';
  if (cmdline.includes('main.js worker fraud')) return 'fraud';
  if (cmdline.includes('main.js ingest')) return 'ingest';
  if (cmdline.startsWith('postgres') || cmdline.includes('bin/postgres')) return 'PostgreSQL';
  if (cmdline.includes('kafka.Kafka') || cmdline.includes('kafka-server')) return 'Kafka broker';
  return null;
}

/**
 * CPU per CDR of each process of the pipeline while days 1–30 went through (ingest to the fraud worker's
 * last batch): their sum against the machine's cores bounds the end-to-end rate, whatever one process
 * does alone.
 */
function reportCpu(report: Report, spent: Map<string, number>, cdrs: number, seconds: number): number {
  const total = [...spent.values()].reduce((a, b) => a + b, 0);
  const parts = [...spent].sort((a, b) => b[1] - a[1]).map(([kind, s]) => `${kind} ${fmt((s / cdrs) * 1e6)} µs`);
  report.line(`CPU per CDR for days 1–30, until the last alert was written: ${parts.join(', ')}; ${fmt((total / cdrs) * 1e6)} µs in all, ${(total / seconds).toFixed(2)} of ${availableParallelism()} cores busy`);
  report.add('streaming CPU per CDR, all processes', `${fmt((total / cdrs) * 1e6)} µs`, '≤ 60 µs', (total / cdrs) * 1e6 <= 60);
  return ((spent.get('PostgreSQL') ?? 0) / cdrs) * 1e6;
}

/**
 * Stops every worker of a stage with SIGTERM (each finishes its batch and leaves the group) and starts as
 * many new ones, with nothing in memory; returns when they started.
 */
async function restartWorkers(env: Env, stage: string, subscribers: string, profileDir?: string): Promise<number> {
  const old = env.workers.filter(([s]) => s === stage).map(([, w]) => w);
  await Promise.all(old.map((w) => new Promise<void>((resolve) => {
    w.once('exit', () => resolve());
    w.kill('SIGTERM');
  })));
  env.workers = env.workers.filter(([s]) => s !== stage);
  const started = performance.now();
  for (let i = 0; i < old.length; i++) worker(env, stage, subscribers, profileDir);
  return started;
}

async function committed(env: Env, group: string): Promise<string> {
  const { rows } = await env.db.query<{ n: string | null }>('SELECT sum(next_offset)::text AS n FROM consumer_offset WHERE group_id = $1', [group]);
  return rows[0]?.n ?? '';
}

/** When the group's committed offsets first move past `before` (Infinity if not within 5 minutes). */
async function firstCommitAfter(env: Env, group: string, before: string): Promise<number> {
  const deadline = performance.now() + 300_000;
  while (performance.now() < deadline) {
    if ((await committed(env, group)) !== before) return performance.now();
    await new Promise((r) => setTimeout(r, 50));
  }
  return Infinity;
}

/** Each worker's peak RSS so far, numbered within its stage. */
function reportRss(report: Report, env: Env, when: string): void {
  const seen = new Map<string, number>();
  for (const [stage, w] of env.workers) {
    const n = (seen.get(stage) ?? 0) + 1;
    seen.set(stage, n);
    report.add(`worker ${stage} #${n}, peak RSS ${when}`, `${fmt(peakRssMb(w))} MB`);
  }
}

/** The highest resident set a running process has had (Linux). */
function peakRssMb(child: ChildProcess): number {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

/**
 * The same client (kafkajs) reading the same topic from the start, doing nothing with the records: the
 * CDRs they carry per second (`cdrs` of them in all; a record carries several since they are batched).
 */
async function rawConsumption(topic: string, cdrs: number): Promise<{ records: number; cdrsPerSecond: number }> {
  const kafka = new Kafka({ clientId: 'bench-raw', brokers: BROKERS, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const expected = (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  await admin.disconnect();
  let seen = 0;
  let [first, last] = [0, 0];
  await readFromStart(kafka, topic, (messages) => {
    if (first === 0) first = performance.now();
    seen += messages.length;
    last = performance.now();
    return seen >= expected;
  });
  return { records: expected, cdrsPerSecond: cdrs / ((last - first) / 1000) };
}

interface Load {
  /** Every CDR of the file that normalises, in file order. */
  cdrs: Cdr[];
  /** The outgoing originating ones the detectors look at: templates for planted and late calls. */
  originating: Cdr[];
  accounts: string[];
  config: ReturnType<typeof loadConfig>;
}

async function loadOf(file: string, subscribers: string): Promise<Load> {
  const config = loadConfig('config', subscribers);
  const ctx = { numbering: config.numbering, sourceZone: new Zone('Europe/Paris'), directory: config.directory };
  const cdrs: Cdr[] = [];
  for await (const item of readExport(file)) {
    if (item.kind !== 'record') continue;
    const n = normalizeRecord(item.record, ctx);
    if (n.ok) cdrs.push(n.cdr);
  }
  // Fraud detectors never look at emergency or internal calls: a trigger copied from one would raise nothing.
  const watched = (c: Cdr) => !['emergency', 'internal'].includes(config.numbering.classify(c.callee).cls);
  const originating = cdrs.filter((c) => c.direction === 'out' && c.leg === 'originating' && watched(c));
  return { cdrs, originating, accounts: [...new Set(originating.map((c) => c.account))], config };
}

/**
 * Produces `next(0)`, `next(1)`, … at 5,000 CDRs/s in ticks of 100 ms, the first `perTick` calls of each
 * tick copied onto an account of `accounts` not used before with a 089 caller ID (a premium-CLI alert of
 * its own each), and measures produce → alert row committed for each of them.
 */
async function alertLatency(env: Env, load: Load, next: (i: number) => Cdr | null, accounts: string[], perTick: number) {
  const OFFERED = 5000;
  const { directory } = load.config;
  // Alerts of the same rule raised before are not counted.
  const { rows: before } = await env.db.query<{ n: string }>(`SELECT count(*) AS n FROM alert WHERE rule = 'fraud.premium_cli'`);
  const earlier = Number(before[0]!.n);
  const visible = await alertVisibility(env);
  const kafka = new Kafka({ clientId: 'bench-load', brokers: BROKERS, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const producedAt = new Map<string, number>();
  // A tick's calls go out as `cdr ingest` sends them: a client's calls several to a record.
  const tickMs = 100;
  const tickCdrs = (OFFERED * tickMs) / 1000;
  let sent = 0;
  const start = performance.now();
  const wallStart = Date.now();
  for (let tick = 0; ; tick++) {
    const calls: Cdr[] = [];
    for (let i = 0; i < tickCdrs; i++) {
      let cdr = next(sent);
      if (cdr === null) break;
      if (i < perTick && producedAt.size < accounts.length) {
        const account = accounts[producedAt.size]!;
        const template = load.originating[sent % load.originating.length]!;
        // At the time of the call it rides with, so that it is in time order too.
        const shift = cdr.startMs - template.startMs;
        const trigger: Cdr = {
          ...template, startMs: cdr.startMs, answerMs: template.answerMs === null ? null : template.answerMs + shift, endMs: template.endMs + shift,
          account, subscriber: directory.resolve(account, '')!, caller: '+33899123456', cdrId: `${cdr.cdrId}-trigger`,
        };
        producedAt.set(trigger.cdrId, Date.now());
        calls.push(trigger);
      }
      calls.push(cdr);
      sent++;
    }
    if (calls.length === 0) break;
    await producer.send({ topic: `${env.prefix}cdr.normalized`, messages: normalizedRecords(calls) });
    const due = start + (tick + 1) * tickMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  const offered = sent / ((performance.now() - start) / 1000);
  await producer.disconnect();
  // Wait for the last alerts, then read when each alert row appeared.
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const { rows } = await env.db.query<{ n: string }>(`SELECT count(*) AS n FROM alert WHERE rule = 'fraud.premium_cli'`);
    if (Number(rows[0]!.n) >= earlier + producedAt.size) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  // A notification travels after its commit: the last ones are let in before listening stops.
  await new Promise((r) => setTimeout(r, 500));
  await visible.stop();
  // Each planted call opens its account's alert for the month: the alert row lists it among its calls.
  const delays: number[] = [];
  const { rows: sample } = await env.db.query<{ alert_id: string; cdr_ids: string[] }>(
    `SELECT alert_id, cdr_ids FROM alert WHERE rule = 'fraud.premium_cli' AND created_at >= to_timestamp($1::double precision / 1000)`,
    [wallStart],
  );
  for (const r of sample) {
    const id = r.cdr_ids.find((c) => producedAt.has(c));
    const at = visible.at.get(r.alert_id);
    if (id !== undefined && at !== undefined) delays.push(at - producedAt.get(id)!);
  }
  // An alert that never came counts as slower than any that did.
  const missing = producedAt.size - delays.length;
  for (let i = 0; i < missing; i++) delays.push(Infinity);
  delays.sort((a, b) => a - b);
  const pct = (p: number) => delays[Math.min(delays.length - 1, Math.ceil((p / 100) * delays.length) - 1)] ?? NaN;
  return { sent, offered, planted: producedAt.size, missing, p50: pct(50), p99: pct(99), max: delays[delays.length - 1] ?? NaN };
}

/**
 * When each new alert row became visible to a reader of the store: PostgreSQL delivers a notification at
 * the commit of the transaction that raised it (the row's created_at is that transaction's start, earlier).
 */
async function alertVisibility(env: Env): Promise<{ at: Map<string, number>; stop: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: env.url });
  await client.connect();
  await client.query(`CREATE OR REPLACE FUNCTION bench_alert_visible() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN PERFORM pg_notify('bench_alert', NEW.alert_id); RETURN NULL; END $$`);
  await client.query(`CREATE OR REPLACE TRIGGER bench_alert_visible AFTER INSERT ON alert FOR EACH ROW EXECUTE FUNCTION bench_alert_visible()`);
  const at = new Map<string, number>();
  client.on('notification', (n) => {
    if (n.payload !== undefined && !at.has(n.payload)) at.set(n.payload, Date.now());
  });
  await client.query('LISTEN bench_alert');
  return {
    at,
    stop: async () => {
      await client.query('DROP TRIGGER bench_alert_visible ON alert');
      await client.end();
    },
  };
}

/** Waits until both consumer groups have joined with their partitions assigned. */
async function groupsStable(...groups: string[]): Promise<void> {
  const admin = new Kafka({ clientId: 'bench-admin', brokers: BROKERS, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    for (let i = 0; i < 240; i++) {
      const { groups: described } = await admin.describeGroups(groups);
      if (described.every((g) => g.state === 'Stable' && g.members.length > 0)) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`consumer groups ${groups.join(', ')} did not settle in 60 s`);
  } finally {
    await admin.disconnect();
  }
}
