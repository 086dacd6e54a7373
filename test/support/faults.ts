/**
 * The fault suite's tools: the three-node cluster (scripts/kafka-cluster.sh), PostgreSQL's own start and
 * stop, workers and `cdr ingest` as processes that can be killed or frozen, a month sent day by day as a
 * switch's exports arrive, and the probe that times a recovery.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, renameSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import type { Environment } from './streaming.js';
import type { Topics } from '../../services/stream/kafka-setup.js';
import { cdrsOfRecord } from '../../services/stream/normalized-records.js';

const CLI = 'dist/services/cli/main.js';
const started = Date.now();

/** One progress line, with the time since the suite started: a campaign lasts minutes. */
export function say(message: string): void {
  console.log(`[faults +${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${message}`);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** scripts/kafka-cluster.sh COMMAND…, its report on stderr kept for the failure message. */
export function cluster(...args: string[]): string {
  return execFileSync('bash', ['scripts/kafka-cluster.sh', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export function nodeRunning(node: number): boolean {
  try {
    cluster('pid', String(node));
    return true;
  } catch {
    return false;
  }
}

const pgVersion = () => execFileSync('bash', ['-c', 'ls /etc/postgresql | head -1'], { encoding: 'utf8' }).trim();

/** PostgreSQL as this machine runs it (DESIGN.md §5): a Debian cluster, started by pg_ctlcluster. */
export function postgres(action: 'stop' | 'start'): void {
  const args = ['--skip-systemctl-redirect', pgVersion(), 'main', action, ...(action === 'stop' ? ['--', '-m', 'fast'] : [])];
  execFileSync('pg_ctlcluster', args, { stdio: 'ignore' });
}

/** Whatever a campaign did, PostgreSQL is left running: other suites and people share it. */
export function ensurePostgresUp(): void {
  execFileSync('bash', ['scripts/ensure-postgres.sh'], { stdio: 'inherit' });
}

export type Kind = 'rater' | 'fraud';

/** A worker process and what it logged (LOG_LEVEL=warn: failures and retries only). */
export interface Worker {
  name: string;
  kind: Kind;
  child: ChildProcess;
  log: string[];
}

export function spawnWorker(e: Environment, kind: Kind, name: string): Worker {
  const child = spawn('node', [CLI, 'worker', kind, '--subscribers', e.env.CDR_SUBSCRIBERS!], { env: e.env, stdio: ['ignore', 'ignore', 'pipe'] });
  const w: Worker = { name, kind, child, log: [] };
  let rest = '';
  child.stderr!.on('data', (d: Buffer) => {
    const lines = (rest + d.toString()).split('\n');
    rest = lines.pop()!;
    for (const line of lines) if (w.log.push(line) > 400) w.log.shift();
  });
  e.workers.push(child);
  return w;
}

export function killed(child: ChildProcess): Promise<void> {
  return new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
}

/** The `msg` of each pino line a worker logged, with its error, counted: what it went through. */
export function logSummary(w: Worker): string {
  const counts = new Map<string, number>();
  for (const line of w.log) {
    let text = line;
    try {
      const j = JSON.parse(line) as { msg?: string; err?: string };
      text = `${j.msg ?? ''}${j.err ? `: ${j.err.slice(0, 90)}` : ''}`;
    } catch {
      /* not pino's: kept as is */
    }
    counts.set(text, (counts.get(text) ?? 0) + 1);
  }
  return [...counts].map(([t, n]) => `${n}× ${t}`).join('; ') || 'nothing';
}

/**
 * The month as switches deliver it: each daily export dropped into a spool directory `paceMs` after the
 * previous one, and one `cdr ingest --watch` on that directory, as an operator runs it. When the watcher
 * exits (a broker or the database away) or is killed, a supervisor starts it again a second later: the
 * file it was sending was not recorded as ingested, so it is sent whole again, and the rater bills each
 * CDR once.
 */
export class MonthFeed {
  /** Days recorded as ingested (ingested_file), polled. */
  ingested = 0;
  /** Days dropped into the spool, and when the last one was. */
  dropped = 0;
  lastDropAt = 0;
  current: ChildProcess | null = null;
  readonly failures: string[] = [];
  readonly done: Promise<void>;
  private stopped = false;

  constructor(
    private readonly e: Environment,
    private readonly files: string[],
    private readonly spool: string,
    private readonly paceMs: number,
  ) {
    mkdirSync(spool, { recursive: true });
    this.done = Promise.all([this.drop(), this.supervise(), this.poll()]).then(() => {});
    this.done.catch(() => {}); // awaited by the campaign; a failure before then must not count as unhandled
  }

  get finished(): boolean {
    return this.ingested === this.files.length;
  }

  /** Stops the watcher for good (the campaign is over or failed). */
  stop(): void {
    this.stopped = true;
    this.current?.kill('SIGKILL');
  }

  private async drop(): Promise<void> {
    for (const [i, file] of this.files.entries()) {
      if (this.stopped) return;
      // Written under a name the watcher skips, then renamed: it never reads half a file.
      const target = join(this.spool, basename(file));
      copyFileSync(file, `${target}.tmp`);
      renameSync(`${target}.tmp`, target);
      this.dropped++;
      this.lastDropAt = Date.now();
      if (i < this.files.length - 1) await sleep(this.paceMs);
    }
  }

  private async poll(): Promise<void> {
    const deadline = Date.now() + 900_000;
    while (!this.stopped && !this.finished) {
      if (Date.now() > deadline) throw new Error(`the month was not ingested within 15 minutes: ${this.failures.slice(-3).join(' | ')}`);
      try {
        const r = await this.e.db.query<{ n: string }>('SELECT count(*) AS n FROM ingested_file');
        this.ingested = Number(r.rows[0]!.n);
      } catch {
        /* the schema is not made yet, or the database restarts */
      }
      await sleep(250);
    }
    this.stop();
  }

  private async supervise(): Promise<void> {
    while (!this.stopped && !this.finished) {
      const child = spawn('node', [CLI, 'ingest', '--watch', '1', '--subscribers', this.e.env.CDR_SUBSCRIBERS!, this.spool], { env: this.e.env, stdio: ['ignore', 'ignore', 'pipe'] });
      this.current = child;
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => void (stderr = (stderr + d.toString()).slice(-2000)));
      const how = await new Promise<string>((r) => child.once('exit', (code, signal) => r(signal ?? String(code))));
      this.current = null;
      if (this.stopped || this.finished) return;
      const last = stderr.split('\n').filter((l) => l !== '').pop() ?? '';
      let why = last;
      try {
        const j = JSON.parse(last) as { msg?: string; err?: { message?: string } };
        why = `${j.msg ?? ''}: ${j.err?.message ?? ''}`;
      } catch {
        /* not pino's */
      }
      this.failures.push(`day ${this.ingested + 1}: ${how}${why === '' ? '' : ` (${why.slice(0, 140)})`}`);
      if (this.failures.length > 60) throw new Error(`cdr ingest --watch failed 60 times: ${this.failures.slice(-3).join(' | ')}`);
      await sleep(1000);
    }
  }
}

/** Per partition (`group|topic|partition` for the stored offsets, `topic|partition` for the ends). */
export interface Snapshot {
  stored: Map<string, bigint>;
  ends: Map<string, bigint>;
}

/**
 * What the pipeline has committed, and how far the topics go: the stored offsets in PostgreSQL (the
 * truth, DESIGN.md "exactly once") and the topics' ends from the cluster.
 */
export class Probe {
  private readonly admin: Admin;

  constructor(
    private readonly e: Environment,
    brokers: string[],
    private readonly topics: Topics,
  ) {
    // No retries of its own: the probe polls, and a poll that fails is simply not a recovery yet.
    this.admin = new Kafka({ clientId: 'fault-probe', brokers, logLevel: logLevel.NOTHING, connectionTimeout: 1500, requestTimeout: 3000, retry: { retries: 1 } }).admin();
  }

  async connect(): Promise<void> {
    await this.admin.connect();
  }

  async close(): Promise<void> {
    await this.admin.disconnect().catch(() => {});
  }

  private groups(): [group: string, topic: string][] {
    return [
      [`${this.e.topicPrefix}cdr-rater`, this.topics.normalized],
      [`${this.e.topicPrefix}cdr-fraud`, this.topics.rated],
    ];
  }

  async snapshot(): Promise<Snapshot> {
    const [rows, ends] = await withTimeout(
      Promise.all([
        this.e.db.query<{ group_id: string; topic: string; partition: number; next_offset: string }>('SELECT group_id, topic, partition, next_offset FROM consumer_offset'),
        Promise.all(this.groups().map(async ([, topic]) => ({ topic, offsets: await this.admin.fetchTopicOffsets(topic) }))),
      ]),
      5000,
    );
    const stored = new Map(rows.rows.map((r) => [`${r.group_id}|${r.topic}|${r.partition}`, BigInt(r.next_offset)]));
    const endMap = new Map<string, bigint>();
    for (const { topic, offsets } of ends) for (const o of offsets) endMap.set(`${topic}|${o.partition}`, BigInt(o.high));
    return { stored, ends: endMap };
  }

  /** Every partition of both groups has consumed its topic to the end. */
  caughtUp(s: Snapshot): boolean {
    for (const [group, topic] of this.groups()) {
      for (const [key, end] of s.ends) {
        if (!key.startsWith(`${topic}|`)) continue;
        const stored = s.stored.get(`${group}|${key}`) ?? 0n;
        if (stored < end) return false;
      }
    }
    return true;
  }

  /**
   * Milliseconds from `faultAt` to the pipeline's next committed progress everywhere: every partition of
   * both groups has committed past where it stood at the fault (the month keeps coming, so every
   * partition gets records again), or, once the whole month is in, has consumed its topic to the end.
   * A partition merely idle does not count: what is measured includes the wait for the next day's
   * records, at most the feed's pace.
   */
  async recovery(faultAt: number, before: Snapshot, feed: MonthFeed, timeoutMs = 240_000): Promise<number> {
    for (;;) {
      if (Date.now() > faultAt + timeoutMs) throw new Error(`no recovery within ${(timeoutMs / 1000).toFixed(0)} s of the fault`);
      const monthIn = feed.finished;
      const s = await this.snapshot().catch(() => null);
      if (s !== null && this.moved(before, s, monthIn)) return Date.now() - faultAt;
      await sleep(200);
    }
  }

  private moved(before: Snapshot, s: Snapshot, monthIn: boolean): boolean {
    for (const [group, topic] of this.groups()) {
      for (const [key, end] of s.ends) {
        if (!key.startsWith(`${topic}|`)) continue;
        const id = `${group}|${key}`;
        const now = s.stored.get(id) ?? 0n;
        if (now > (before.stored.get(id) ?? 0n)) continue;
        if (monthIn && now >= end) continue;
        return false;
      }
    }
    return true;
  }

  /** The partitions of our topics whose leader is each broker, weighed by their records: who carries the load. */
  async leaderLoad(): Promise<Map<number, { partitions: number; records: bigint }>> {
    const topics = [this.topics.normalized, this.topics.rated];
    const md = await this.admin.fetchTopicMetadata({ topics });
    const load = new Map<number, { partitions: number; records: bigint }>();
    for (const t of md.topics) {
      const ends = await this.admin.fetchTopicOffsets(t.name);
      for (const p of t.partitions) {
        const records = BigInt(ends.find((o) => o.partition === p.partitionId)?.high ?? '0');
        const l = load.get(p.leader) ?? { partitions: 0, records: 0n };
        load.set(p.leader, { partitions: l.partitions + 1, records: l.records + records });
      }
    }
    return load;
  }

  /** Partitions of this campaign's topics whose in-sync replicas are fewer than 3. */
  async underReplicated(): Promise<number> {
    const md = await this.admin.fetchTopicMetadata({ topics: Object.values(this.topics) });
    return md.topics.reduce((n, t) => n + t.partitions.filter((p) => p.isr.length < 3).length, 0);
  }

  /**
   * Where the CDRs `missing` from the ledger are on cdr.normalized (partition and offset, read from the
   * start), against each partition's stored offset: a failure then says whether the producer lost them
   * (not on the topic) or the rater stepped over them (on the topic, below its stored offset).
   */
  async locate(brokers: string[], missing: Set<string>): Promise<string> {
    const kafka = new Kafka({ clientId: 'fault-locate', brokers, logLevel: logLevel.NOTHING });
    const ends = await this.admin.fetchTopicOffsets(this.topics.normalized);
    // Empty partitions have nothing to wait for.
    const left = new Map(ends.filter((o) => o.high !== '0').map((o) => [o.partition, BigInt(o.high)]));
    const found = new Map<number, bigint[]>();
    const consumer = kafka.consumer({ groupId: `fault-locate-${Date.now()}` });
    await consumer.connect();
    await consumer.subscribe({ topic: this.topics.normalized, fromBeginning: true });
    let seen = 0;
    await new Promise<void>((resolve) => {
      if (left.size === 0) return resolve();
      const timer = setTimeout(resolve, 60_000);
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          seen++;
          for (const cdr of cdrsOfRecord(message.value!)) {
            if (missing.has(cdr.cdrId)) (found.get(partition) ?? found.set(partition, []).get(partition)!).push(BigInt(message.offset));
          }
          if (BigInt(message.offset) + 1n >= left.get(partition)!) left.delete(partition);
          if (left.size === 0) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await consumer.disconnect();
    const stored = (await this.e.db.query<{ partition: number; next_offset: string }>(
      'SELECT partition, next_offset FROM consumer_offset WHERE topic = $1 ORDER BY partition', [this.topics.normalized])).rows;
    const onTopic = [...found].map(([p, offs]) => `partition ${p}: ${offs.length} at offsets ${offs[0]}…${offs[offs.length - 1]}`);
    const count = [...found.values()].reduce((n, o) => n + o.length, 0);
    return `${seen} records read; of ${missing.size} CDRs missing, ${count} are on ${this.topics.normalized} (${onTopic.join('; ') || 'none'}); ` +
      `stored offsets ${stored.map((r) => `${r.partition}:${r.next_offset}`).join(' ')}; ends ${ends.map((o) => `${o.partition}:${o.high}`).join(' ')}`;
  }

  async deleteTopics(): Promise<void> {
    await this.admin.deleteTopics({ topics: Object.values(this.topics), timeout: 10_000 }).catch(() => {});
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error('probe timed out')), ms)))]).finally(() => clearTimeout(timer));
}

/** mulberry32: the campaigns' random moments, reproducible from FAULT_SEED. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
