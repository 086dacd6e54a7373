/**
 * The fault suite (`make test-faults`, issue 23): the streaming runtime on a three-broker KRaft cluster
 * shaped like production (replication factor 3, min.insync.replicas 2), while a month streams in day by
 * day. Each campaign breaks one thing — the leader of the busiest partitions killed, workers and ingest
 * killed -9 at random moments, PostgreSQL restarted, a broker's disk filled, workers frozen past their
 * session time-out into zombies — and then checks what invoicing and the fraud desk would: every CDR
 * billed exactly once, every amount and the totals equal to the embedded run's to the cent, the ledger's
 * first prices plus adjustments equal to the amounts, every alert there once. Each fault's time to
 * recover (fault → every partition committing again) is printed.
 *
 * FAULT_SEED picks the random moments (printed, to replay a run); KAFKA_BROKERS the cluster.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateWorkload, SCENARIOS, type GenerateResult } from '../../services/generator/generate-workload.js';
import { Money } from '../../services/core/money.js';
import { topicsFor } from '../../services/stream/kafka-setup.js';
import { embeddedResult, environment, streamingResult, total, type Environment, type Settled } from '../support/streaming.js';
import {
  cluster, ensurePostgresUp, killed, logSummary, MonthFeed, nodeRunning, postgres, Probe, random, say, sleep, spawnWorker, type Kind, type Snapshot, type Worker,
} from '../support/faults.js';

const BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:29092,127.0.0.1:29094,127.0.0.1:29096';
const SEED = Number(process.env.FAULT_SEED ?? Date.now() % 1_000_000);
const dir = mkdtempSync(join(tmpdir(), 'cdr-faults-'));
let month: GenerateResult;
let expected: Settled;
const recoveries: string[] = [];

beforeAll(async () => {
  // The cluster is started by `make test-faults`; without it every campaign would only time out.
  expect(() => cluster('status'), 'the three-node cluster is not up: run `make test-faults` (or bash scripts/kafka-cluster.sh up)').not.toThrow();
  say(`seed ${SEED} (FAULT_SEED=${SEED} replays these moments); brokers ${BROKERS}`);
  // A whole month (March 2026, across the DST change) with every fair-use and fraud case planted, so
  // that alerts of every rule are at stake; about 90,000 CDRs.
  month = await generateWorkload({ subscribers: 250, days: 31, seed: 23, startDate: '2026-03-01', outDir: join(dir, 'month'), inject: [...SCENARIOS] });
  expected = await embeddedResult(month.subscribersFile, month.files);
  say(`month generated and rated embedded: ${month.cdrs} CDRs, ${expected.alerts.length} alerts, total ${total(expected.amounts)} EUR`);
}, 300_000);

afterAll(() => {
  ensurePostgresUp();
  for (const n of [1, 2, 3]) if (!nodeRunning(n)) cluster('free-disk', String(n));
  rmSync(dir, { recursive: true, force: true });
  if (recoveries.length > 0) say(`times to recover:\n  ${recoveries.join('\n  ')}`);
});

interface Campaign {
  name: string;
  e: Environment;
  probe: Probe;
  feed: MonthFeed;
  workers: Worker[];
  rnd: () => number;
  /** Starts a worker of `kind` as a supervisor would. */
  spawn(kind: Kind): Worker;
  /** Times the recovery from a fault made at `at`, prints it and keeps it for the summary. */
  recovered(what: string, at: number, before: Snapshot): Promise<number>;
}

const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * One campaign on a fresh database and topic prefix: the month is fed day by day (`paceMs` apart)
 * to `raters` raters and `frauds` fraud workers, `fault` breaks things meanwhile, then the pipeline
 * must drain and equal the embedded run.
 */
async function campaign(name: string, o: { paceMs: number; raters: number; frauds: number }, fault: (c: Campaign) => Promise<void>): Promise<void> {
  const t0 = Date.now();
  const e = await environment(month.subscribersFile);
  Object.assign(e.env, { KAFKA_BROKERS: BROKERS, CDR_REPLICATION_FACTOR: '3' });
  const probe = new Probe(e, BROKERS.split(','), topicsFor(e.topicPrefix));
  const workers: Worker[] = [];
  const counts = { rater: 0, fraud: 0 };
  const feed = new MonthFeed(e, month.files, join(dir, `spool-${name}`), o.paceMs);
  const c: Campaign = {
    name, e, probe, feed, workers,
    rnd: random(SEED + name.length * 7919),
    spawn(kind) {
      const w = spawnWorker(e, kind, `${kind}-${++counts[kind]}`);
      workers.push(w);
      return w;
    },
    async recovered(what, at, before) {
      const ms = await probe.recovery(at, before, feed);
      say(`${name}: ${what}: recovered in ${sec(ms)}`);
      recoveries.push(`${name.padEnd(18)} ${what.padEnd(58)} ${sec(ms).padStart(7)}`);
      return ms;
    },
  };
  try {
    say(`${name}: starting (${month.files.length} days into the spool of a \`cdr ingest --watch\`, one every ${sec(o.paceMs)}; ${o.raters} raters, ${o.frauds} fraud workers)`);
    // The first day creates the schema and the topics (replication factor 3); the workers join then.
    await until('the first day ingested', () => feed.ingested >= 1, 120_000);
    await probe.connect();
    for (let i = 0; i < o.raters; i++) c.spawn('rater');
    for (let i = 0; i < o.frauds; i++) c.spawn('fraud');
    await fault(c);
    await feed.done;
    say(`${name}: month ingested (the watcher was started again ${feed.failures.length} times); draining`);
    await drained(c);
    await verify(c);
    const restarts = workers.length - o.raters - o.frauds;
    say(`${name}: exact after ${sec(Date.now() - t0)}: ${month.cdrs} CDRs billed once, ${expected.alerts.length} alerts, total ${total(expected.amounts)} EUR; ${restarts} worker restarts`);
    for (const w of workers) if (w.log.length > 0) say(`${name}: ${w.name} logged ${logSummary(w)}`);
    for (const f of feed.failures) say(`${name}: cdr ingest --watch exited on ${f}`);
  } finally {
    for (const w of workers) {
      w.child.kill('SIGCONT');
      w.child.kill('SIGKILL');
    }
    feed.stop();
    await Promise.all(workers.map((w) => killed(w.child)));
    await probe.deleteTopics();
    await probe.close();
    ensurePostgresUp();
    await until('PostgreSQL back for the clean-up', async () => (await e.db.query('SELECT 1').then(() => true, () => false)), 60_000);
    await e.cleanup();
  }
}

async function until(what: string, done: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/** Every partition of both groups committed up to its topic's end, twice a second apart (nothing in flight). */
async function drained(c: Campaign): Promise<void> {
  const t = Date.now();
  let last = 0;
  let streak = 0;
  await until(
    'the pipeline to drain',
    async () => {
      const s = await c.probe.snapshot().catch(() => null);
      streak = s !== null && c.probe.caughtUp(s) ? streak + 1 : 0;
      if (Date.now() - last > 10_000) {
        last = Date.now();
        const rated = await c.e.db.query<{ n: string }>('SELECT count(*) AS n FROM rated_cdr').catch(() => ({ rows: [{ n: '?' }] }));
        say(`${c.name}: draining, ${rated.rows[0]!.n}/${month.cdrs} rated`);
      }
      return streak >= 4;
    },
    300_000,
  );
  say(`${c.name}: drained ${sec(Date.now() - t)} after the last day was sent`);
}

/** What invoicing and the fraud desk would check, against the embedded run of the same month. */
async function verify(c: Campaign): Promise<void> {
  const { e } = c;
  const got = await streamingResult(e);
  if (got.amounts.size !== expected.amounts.size) {
    const missing = new Set([...expected.amounts.keys()].filter((id) => !got.amounts.has(id)));
    say(`${c.name}: ${missing.size} CDRs not billed: ${await c.probe.locate(BROKERS.split(','), missing).catch((err: Error) => `not located (${err.message})`)}`);
  }
  // Every CDR billed, once (cdr_id is the ledger's key), at the embedded run's price, to the cent.
  expect(got.amounts.size, 'CDRs billed').toBe(expected.amounts.size);
  expect(total(got.amounts), 'month total').toBe(total(expected.amounts));
  const wrong = [...expected.amounts].filter(([id, a]) => got.amounts.get(id) !== a);
  expect(wrong.slice(0, 5), `${wrong.length} CDRs priced differently or missing`).toEqual([]);
  // Invoicing reads each call's first price plus its adjustments: none lost, none doubled.
  const ledger = await e.db.query<{ cdr_id: string; client_id: string; period: string; invoiced: string }>(
    `SELECT r.cdr_id, r.client_id, r.period, (r.first_amount + coalesce(a.delta, 0))::text AS invoiced
       FROM rated_cdr r LEFT JOIN (SELECT cdr_id, sum(delta) AS delta FROM adjustment GROUP BY cdr_id) a USING (cdr_id)`,
  );
  const invoiced = new Map<string, Money>();
  const embedded = new Map<string, Money>();
  for (const r of ledger.rows) {
    const key = `${r.client_id} ${r.period}`;
    invoiced.set(key, (invoiced.get(key) ?? new Money(0)).plus(new Money(r.invoiced)));
    embedded.set(key, (embedded.get(key) ?? new Money(0)).plus(new Money(expected.amounts.get(r.cdr_id) ?? '0')));
  }
  const months = [...embedded].filter(([k, m]) => invoiced.get(k)!.toFixed(2) !== m.toFixed(2)).map(([k, m]) => `${k}: ${invoiced.get(k)!.toFixed(2)} ≠ ${m.toFixed(2)}`);
  expect(months, 'client months whose invoice (first prices + adjustments) differs from the embedded run').toEqual([]);
  // The fraud stage counted every rated call once, and raised exactly the embedded run's alerts.
  const seen = await e.db.query<{ n: string }>('SELECT count(*) AS n FROM fraud_seen');
  expect(Number(seen.rows[0]!.n), 'CDRs counted by the fraud stage').toBe(month.cdrs);
  expect(got.alerts, 'alerts').toEqual(expected.alerts);
}

/** The broker leading the partitions that carry the most records of this campaign. */
async function busiestLeader(c: Campaign): Promise<{ node: number; why: string }> {
  const load = await c.probe.leaderLoad();
  const [node, l] = [...load].sort((a, b) => (a[1].records === b[1].records ? 0 : a[1].records > b[1].records ? -1 : 1))[0]!;
  return { node, why: `leads ${l.partitions} partitions holding ${l.records} of the records` };
}

/** Until every partition is on three in-sync replicas again: the broker that came back has caught up. */
async function replicasBack(c: Campaign, what: string, since: number): Promise<void> {
  await until(`${what}: replicas in sync again`, async () => (await c.probe.underReplicated().catch(() => 1)) === 0, 180_000);
  say(`${c.name}: ${what}: every partition on 3 in-sync replicas again ${sec(Date.now() - since)} after its restart`);
}

describe('the streaming runtime on a three-broker cluster, under faults', () => {
  it('loses and doubles nothing when the leader of the busiest partitions is killed -9 and comes back', async () => {
    await campaign('leader-kill', { paceMs: 2000, raters: 2, frauds: 1 }, async (c) => {
      await until('a few days streamed', () => c.feed.ingested >= 5 + Math.floor(c.rnd() * 5), 180_000);
      const { node, why } = await busiestLeader(c);
      const before = await c.probe.snapshot();
      const at = Date.now();
      cluster('kill', String(node));
      say(`${c.name}: kill -9 broker ${node}, which ${why}`);
      await c.recovered(`broker ${node} (busiest leader) killed -9`, at, before);
      await sleep(Math.max(0, 20_000 - (Date.now() - at))); // it stays away a while: the cluster runs on two
      cluster('start', String(node));
      const back = Date.now();
      say(`${c.name}: broker ${node} restarted after ${sec(back - at)}`);
      await replicasBack(c, `broker ${node}`, back);
    });
  }, 600_000);

  it('loses and doubles nothing when raters, fraud workers and ingest are killed -9 at random moments', async () => {
    await campaign('worker-kill', { paceMs: 4500, raters: 2, frauds: 2 }, async (c) => {
      // Each kind twice, in a random order, at random moments; a supervisor restarts each worker a second later.
      const victims: (Kind | 'ingest')[] = ['rater', 'fraud', 'ingest', 'rater', 'fraud'];
      for (let i = victims.length - 1; i > 0; i--) {
        const j = Math.floor(c.rnd() * (i + 1));
        [victims[i], victims[j]] = [victims[j]!, victims[i]!];
      }
      for (const kind of victims) {
        await sleep(2000 + c.rnd() * 8000);
        if (kind === 'ingest') {
          // Somewhere in the next day's file: the watcher picks it up within a second and sends it in one or two.
          const dropped = c.feed.dropped;
          await until('the next day dropped', () => c.feed.dropped > dropped || c.feed.dropped === month.files.length, 60_000);
          await sleep(500 + c.rnd() * 1500);
          const before = await c.probe.snapshot();
          const ingested = c.feed.ingested;
          const at = Date.now();
          c.feed.current?.kill('SIGKILL');
          say(`${c.name}: kill -9 cdr ingest --watch (${ingested} days recorded as ingested, ${c.feed.dropped} dropped)`);
          await c.recovered('cdr ingest --watch killed -9, restarted 1 s later', at, before);
          continue;
        }
        const alive = c.workers.filter((w) => w.kind === kind && w.child.exitCode === null && w.child.signalCode === null);
        const victim = alive[Math.floor(c.rnd() * alive.length)]!;
        const before = await c.probe.snapshot();
        const at = Date.now();
        victim.child.kill('SIGKILL');
        say(`${c.name}: kill -9 ${victim.name}`);
        await killed(victim.child);
        await sleep(1000);
        const next = c.spawn(kind);
        say(`${c.name}: ${next.name} started in its place`);
        await c.recovered(`${kind} killed -9, restarted 1 s later`, at, before);
      }
    });
  }, 900_000);

  it('loses and doubles nothing when PostgreSQL restarts mid-stream', async () => {
    await campaign('postgres-restart', { paceMs: 2000, raters: 2, frauds: 1 }, async (c) => {
      await until('a few days streamed', () => c.feed.ingested >= 6 + Math.floor(c.rnd() * 6), 180_000);
      const before = await c.probe.snapshot();
      const at = Date.now();
      try {
        postgres('stop');
        say(`${c.name}: PostgreSQL stopped (fast: open transactions rolled back)`);
        await sleep(5000);
      } finally {
        postgres('start');
      }
      say(`${c.name}: PostgreSQL started again after ${sec(Date.now() - at)}`);
      await c.recovered('PostgreSQL stopped 5 s, started', at, before);
    });
  }, 600_000);

  it('loses and doubles nothing when one broker’s disk fills up, and that broker comes back once it is freed', async () => {
    await campaign('disk-full', { paceMs: 2000, raters: 2, frauds: 1 }, async (c) => {
      await until('a few days streamed', () => c.feed.ingested >= 5 + Math.floor(c.rnd() * 5), 180_000);
      const { node, why } = await busiestLeader(c);
      const before = await c.probe.snapshot();
      const at = Date.now();
      cluster('fill-disk', String(node));
      say(`${c.name}: broker ${node}'s disk filled; it ${why}`);
      try {
        // Kafka takes a log dir that cannot be written offline; with its only one gone, the broker stops.
        await until(`broker ${node} to give up its full disk`, () => !nodeRunning(node), 60_000);
        say(`${c.name}: broker ${node} shut itself down ${sec(Date.now() - at)} after its disk filled`);
        await c.recovered(`broker ${node}'s disk full (the broker shuts down)`, at, before);
        await sleep(Math.max(0, 20_000 - (Date.now() - at)));
      } finally {
        cluster('free-disk', String(node));
      }
      cluster('start', String(node));
      const back = Date.now();
      say(`${c.name}: broker ${node}'s disk freed and the broker restarted after ${sec(back - at)}`);
      await replicasBack(c, `broker ${node}`, back);
    });
  }, 600_000);

  it('fences workers frozen past their session time-out: the group moves on without them, and the zombies double nothing when they wake', async () => {
    const PAUSE_MS = 60_000; // the consumers' session time-out is 30 s; rebalance and fence take 5–10 s more
    await campaign('zombie', { paceMs: 2500, raters: 2, frauds: 2 }, async (c) => {
      await until('a few days streamed', () => c.feed.ingested >= 4 + Math.floor(c.rnd() * 4), 180_000);
      // Frozen with a transaction open where we can: its locks are what a zombie could hold others up with.
      const freeze = async (kind: Kind): Promise<{ w: Worker; at: number; inTx: boolean }> => {
        const w = c.workers.filter((x) => x.kind === kind)[Math.floor(c.rnd() * 2)]!;
        const app = `cdr worker ${kind} pid ${w.child.pid}`;
        const deadline = Date.now() + 20_000;
        let inTx = false;
        while (!inTx && Date.now() < deadline) {
          // In a batch's transaction, having written its rows: what the partition's next owner will write too.
          const r = await c.e.db.query(
            `SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
              WHERE a.application_name = $1 AND l.locktype = 'relation' AND l.mode = 'RowExclusiveLock'
                AND l.relation IN ('rated_cdr'::regclass, 'fraud_seen'::regclass)`,
            [app],
          );
          inTx = r.rows.length > 0;
          if (inTx) w.child.kill('SIGSTOP');
          else await sleep(5);
        }
        if (!inTx) w.child.kill('SIGSTOP');
        say(`${c.name}: SIGSTOP ${w.name}${inTx ? ' in the middle of a batch’s transaction, its rows written' : ' (not caught inside a batch’s transaction)'}`);
        return { w, at: Date.now(), inTx };
      };
      // Both at once, each at its own moment; the fault is whole once both sleep. Where the pipeline
      // stands is taken then: catching a worker inside a transaction can take seconds, during which both
      // still commit, and a snapshot from before would count that progress as the recovery.
      const frozen = await Promise.all([freeze('rater'), freeze('fraud')]);
      const zombies = frozen.map((f) => f.w);
      const at = Math.max(...frozen.map((f) => f.at));
      const before = await c.probe.snapshot();
      const ms = await c.recovered('a rater and a fraud worker frozen (SIGSTOP) 60 s', at, before);
      // The group must not wait for the zombies to wake: their partitions go to the others.
      expect(ms, 'the pipeline moved on while the zombies slept').toBeLessThan(PAUSE_MS);
      // A zombie frozen with its rows written held its partition's lock: the new owner had to fence it.
      const fencesLogged = () => c.workers.filter((w) => !zombies.includes(w)).flatMap((w) => w.log).filter((l) => l.includes('zombie fenced'));
      // The fence is committed before its log line reaches us through the worker's stderr.
      if (frozen.some((f) => f.inTx)) await until('the fence logged', () => fencesLogged().length > 0, 5000).catch(() => {});
      const fences = fencesLogged();
      say(`${c.name}: ${fences.length} zombie session(s) terminated by the partitions' new owners`);
      if (frozen.some((f) => f.inTx)) expect(fences.length, 'the new owners fenced the frozen sessions').toBeGreaterThan(0);
      for (const f of frozen) {
        await sleep(Math.max(0, f.at + PAUSE_MS - Date.now()));
        f.w.child.kill('SIGCONT');
        say(`${c.name}: SIGCONT ${f.w.name} after ${sec(Date.now() - f.at)}: a zombie now`);
      }
      await sleep(10_000);
      for (const z of zombies) say(`${c.name}: ${z.name} after waking: ${logSummary(z)}`);
    });
  }, 600_000);
});
