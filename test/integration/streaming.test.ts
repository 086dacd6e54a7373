/**
 * The streaming runtime against a real broker and PostgreSQL: same results as the embedded runtime, and
 * exactly once through a kill -9, a rebalance, broker and database restarts, duplicate files and a
 * poison message.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateWorkload, type GenerateResult } from '../../services/generator/generate-workload.js';
import { BROKERS, count, embeddedResult, environment, ingest, startWorker, streamingResult, total, waitFor, type Environment, type Settled } from '../support/streaming.js';

const dir = mkdtempSync(join(tmpdir(), 'cdr-stream-'));
let small: GenerateResult;
let smallExpected: Settled;
let large: GenerateResult;
let largeExpected: Settled;
let env: Environment | undefined;

beforeAll(async () => {
  small = await generateWorkload({ subscribers: 60, days: 5, seed: 3, startDate: '2026-03-02', outDir: join(dir, 'small'), inject: ['distinct_numbers', 'pool_exhausted', 'premium_cli', 'setup_burst', 'concurrent_calls'] });
  smallExpected = await embeddedResult(small.subscribersFile, small.files);
  // About 100,000 CDRs: long enough to kill a worker in the middle.
  large = await generateWorkload({ subscribers: 400, days: 22, seed: 5, startDate: '2026-03-02', outDir: join(dir, 'large') });
  largeExpected = await embeddedResult(large.subscribersFile, large.files);
}, 300_000);

afterEach(async () => {
  await env?.cleanup();
  env = undefined;
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rated = (e: Environment) => count(e, 'SELECT count(*) FROM rated_cdr');

describe('streaming runtime', () => {
  it('gives the embedded runtime’s rated rows, amounts and alerts', async () => {
    env = await environment(small.subscribersFile);
    await ingest(env, ...small.files);
    startWorker(env, 'rater');
    startWorker(env, 'fraud');
    const e = env;
    await waitFor('every CDR rated and watched', async () => (await rated(e)) === small.cdrs && (await count(e, 'SELECT count(*) FROM fraud_seen')) === small.cdrs);
    await new Promise((r) => setTimeout(r, 1500)); // the last alerts commit with their batch
    const got = await streamingResult(env);
    expect(got.amounts.size).toBe(smallExpected.amounts.size);
    expect(total(got.amounts)).toBe(total(smallExpected.amounts));
    expect(Object.fromEntries(got.amounts)).toEqual(Object.fromEntries(smallExpected.amounts));
    expect(got.alerts).toEqual(smallExpected.alerts);
    expect(got.alerts.map((a) => a.split('|')[0])).toEqual(expect.arrayContaining(['fair_use.distinct_numbers', 'pool_exhausted', 'fraud.premium_cli', 'fraud.call_setup_rate']));
  });

  it('bills every CDR exactly once when a rater is killed -9 in the middle of the stream', async () => {
    env = await environment(large.subscribersFile);
    await ingest(env, ...large.files);
    const e = env;
    const first = startWorker(e, 'rater');
    await waitFor('a third of the stream rated', async () => (await rated(e)) > large.cdrs / 3);
    first.kill('SIGKILL');
    const atKill = await rated(e);
    expect(atKill).toBeLessThan(large.cdrs);
    startWorker(e, 'rater');
    await waitFor('the whole stream rated', async () => (await rated(e)) === large.cdrs, 240_000);
    const got = await streamingResult(e);
    expect(got.amounts.size).toBe(largeExpected.amounts.size);
    expect(total(got.amounts)).toBe(total(largeExpected.amounts));
    expect(Object.fromEntries(got.amounts)).toEqual(Object.fromEntries(largeExpected.amounts));
  }, 300_000);

  it('stays exact when a second rater joins, the broker restarts and PostgreSQL restarts mid-stream', async () => {
    env = await environment(large.subscribersFile);
    await ingest(env, ...large.files);
    const e = env;
    startWorker(e, 'rater');
    await waitFor('a fifth of the stream rated', async () => (await rated(e)) > large.cdrs / 5);
    startWorker(e, 'rater'); // rebalance: partitions move while batches are in flight
    await waitFor('two fifths rated', async () => (await rated(e)) > (2 * large.cdrs) / 5);
    execFileSync('bash', ['scripts/kafka.sh', 'restart'], { stdio: 'ignore' });
    await waitFor('three fifths rated', async () => (await rated(e)) > (3 * large.cdrs) / 5, 180_000);
    execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', pgVersion(), 'main', 'restart'], { stdio: 'ignore' });
    await waitFor('the whole stream rated', async () => (await rated(e)) === large.cdrs, 240_000);
    // Both workers rode out the restarts themselves: none had to be started again.
    expect(e.workers.map((w) => w.exitCode)).toEqual([null, null]);
    const got = await streamingResult(e);
    expect(total(got.amounts)).toBe(total(largeExpected.amounts));
    expect(Object.fromEntries(got.amounts)).toEqual(Object.fromEntries(largeExpected.amounts));
  }, 420_000);

  it('skips a file ingested twice and bills once the CDRs of an overlapping file', async () => {
    env = await environment(small.subscribersFile);
    const e = env;
    const out1 = await ingest(e, small.files[0]!);
    const out2 = await ingest(e, small.files[0]!);
    expect(out1).toMatch(/: ingested, \d+ CDRs/);
    expect(out2).toMatch(/: already ingested/);
    // The same export saved again under another name (a re-sent daily file): same checksum, skipped.
    const copy = join(dir, 'copy-of-day-1.csv');
    copyFileSync(small.files[0]!, copy);
    expect(await ingest(e, copy)).toMatch(/already ingested/);
    // An export that repeats day 1 and adds day 2: day 1's CDRs are recognised by their cdr_id.
    const both = join(dir, 'days-1-and-2.csv');
    execFileSync('bash', ['-c', `cat '${small.files[0]}' > '${both}' && tail -n +2 '${small.files[1]}' >> '${both}'`]);
    await ingest(e, both);
    startWorker(e, 'rater');
    const expected = [...smallExpected.amounts.keys()].filter((id) => /^g3-2026030[23]-/.test(id)).length;
    await waitFor('days 1 and 2 rated', async () => (await rated(e)) >= expected);
    await waitFor('the rater caught up', async () => (await count(e, `SELECT count(*) FROM consumer_offset WHERE group_id LIKE '%cdr-rater'`)) > 0);
    await new Promise((r) => setTimeout(r, 2000)); // time for a double billing to show, if there were one
    expect(await rated(e)).toBe(expected);
    expect(await count(e, 'SELECT count(DISTINCT cdr_id) FROM rated_cdr')).toBe(expected);
  });

  it('sets a poison message aside in the dead-letter table and topic and goes on', async () => {
    env = await environment(small.subscribersFile);
    const e = env;
    const kafka = new Kafka({ clientId: 'poison-test', brokers: BROKERS.split(','), logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await ingest(e, small.files[0]!); // creates the topics
    await producer.send({ topic: `${e.topicPrefix}cdr.normalized`, messages: [{ key: 'C-0001', value: Buffer.from('not an avro message') }] });
    await producer.disconnect();
    await ingest(e, small.files[1]!);
    startWorker(e, 'rater');
    const expected = [...smallExpected.amounts.keys()].filter((id) => /^g3-2026030[23]-/.test(id)).length;
    await waitFor('days 1 and 2 rated around the poison message', async () => (await rated(e)) === expected);
    const dead = await e.db.query<{ error: string; payload: Buffer }>('SELECT error, payload FROM dead_letter');
    expect(dead.rows).toHaveLength(1);
    expect(dead.rows[0]!.error).toMatch(/^bad_header/);
    expect(dead.rows[0]!.payload.toString()).toBe('not an avro message');
  });
});

function pgVersion(): string {
  return execFileSync('bash', ['-c', 'ls /etc/postgresql | head -1'], { encoding: 'utf8' }).trim();
}
