/**
 * The streaming runtime against a real broker and PostgreSQL: same results as the embedded runtime, and
 * exactly once through a kill -9, a rebalance, broker and database restarts, duplicate files and a
 * poison message.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Cdr } from '../../services/core/cdr.js';
import { generateWorkload, type GenerateResult } from '../../services/generator/generate-workload.js';
import { codecs } from '../../services/stream/avro-codec.js';
import { normalizedRecords } from '../../services/stream/normalized-records.js';
import { BROKERS, count, embeddedResult, environment, ingest, startWorker, streamingResult, total, waitFor, type Environment, type Settled } from '../support/streaming.js';

const execFileAsync = promisify(execFile);
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

  it('runs the fraud detectors inside the rater (--with-fraud): the embedded runtime’s alerts, across a kill -9, with no fraud worker', async () => {
    env = await environment(small.subscribersFile);
    const e = env;
    const [firstDays, lastDays] = [small.files.slice(0, 2), small.files.slice(2)];
    await ingest(e, ...firstDays);
    const first = startWorker(e, 'rater', '--with-fraud');
    // Killed once it has committed some batches: the windows it leaves must be picked up, not counted again.
    await waitFor('a first batch committed', async () => (await count(e, `SELECT count(*) FROM consumer_offset WHERE group_id LIKE '%cdr-rater'`)) > 0);
    first.kill('SIGKILL');
    await ingest(e, ...lastDays);
    startWorker(e, 'rater', '--with-fraud');
    await waitFor('every CDR rated', async () => (await rated(e)) === small.cdrs);
    await waitFor('the alerts of the last batch', async () => (await streamingResult(e)).alerts.length === smallExpected.alerts.length);
    const got = await streamingResult(e);
    expect(Object.fromEntries(got.amounts)).toEqual(Object.fromEntries(smallExpected.amounts));
    expect(got.alerts).toEqual(smallExpected.alerts);
    expect(got.alerts.map((a) => a.split('|')[0])).toEqual(expect.arrayContaining(['fraud.premium_cli', 'fraud.call_setup_rate', 'fair_use.distinct_numbers']));
    // Counted once because rated once: nothing kept per cdr_id for the detectors.
    expect(await count(e, 'SELECT count(*) FROM fraud_seen')).toBe(0);
    expect(await count(e, 'SELECT count(*) FROM fraud_state')).toBeGreaterThan(0);
  });

  it('gives the same final amounts when the days arrive last first (every call late: months visited again, adjustments)', async () => {
    env = await environment(small.subscribersFile);
    const e = env;
    // One day at a time, each before the days already rated: the rater keeps the scope months it read.
    const [last, ...earlier] = [...small.files].reverse();
    await ingest(e, last!); // creates the schema and topics
    startWorker(e, 'rater');
    for (const file of earlier) {
      await waitFor('the day rated', async () => (await count(e, `SELECT count(*) FROM consumer_offset WHERE group_id LIKE '%cdr-rater'`)) > 0);
      const before = await rated(e);
      await ingest(e, file);
      await waitFor('the day rated', async () => (await rated(e)) > before);
    }
    await waitFor('every CDR rated', async () => (await rated(e)) === small.cdrs);
    await waitFor('the last adjustments written', async () => {
      const got = await streamingResult(e);
      return total(got.amounts) === total(smallExpected.amounts);
    });
    const got = await streamingResult(e);
    expect(Object.fromEntries(got.amounts)).toEqual(Object.fromEntries(smallExpected.amounts));
    expect(await count(e, 'SELECT count(*) FROM adjustment')).toBeGreaterThan(0);
  }, 240_000);

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

  it('ingests and rates a day on which one client dials 12,000 calls, more than a produce request may carry to one partition', async () => {
    // A dialler's burst: every call keyed by the same client, so one partition's record batch. It failed the
    // whole ingest with "message larger than the max message size" (1 MB) before requests were cut by bytes.
    const burst = await generateWorkload({ subscribers: 10, days: 1, seed: 7, startDate: '2026-03-02', outDir: join(dir, 'burst'), inject: ['dialler_burst'] });
    expect(burst.cdrs).toBeGreaterThan(10_000);
    const want = await embeddedResult(burst.subscribersFile, burst.files);
    env = await environment(burst.subscribersFile);
    const e = env;
    expect(await ingest(e, ...burst.files)).toMatch(/: ingested, \d+ CDRs/);
    startWorker(e, 'rater');
    startWorker(e, 'fraud');
    await waitFor('every CDR rated and watched', async () => (await rated(e)) === burst.cdrs && (await count(e, 'SELECT count(*) FROM fraud_seen')) === burst.cdrs);
    await new Promise((r) => setTimeout(r, 1500)); // the last alerts commit with their batch
    const got = await streamingResult(e);
    expect(Object.fromEntries(got.amounts)).toEqual(Object.fromEntries(want.amounts));
    expect(got.alerts).toEqual(want.alerts);
    expect(got.alerts.map((a) => a.split('|')[0])).toContain('fraud.call_setup_rate');
  });

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

  it('sets aside records holding NUL, bytes that were not UTF-8 or values out of range, whoever produced them, and the partition moves on', async () => {
    env = await environment(small.subscribersFile);
    const e = env;
    await ingest(e, small.files[0]!); // creates the topics
    const call: Cdr = {
      cdrId: 'poison-ok', account: 'acc-poison', caller: '+33142000001', callerOriginal: '', callee: '+33247010000',
      startMs: Date.parse('2026-03-02T10:00:00+01:00'), answerMs: Date.parse('2026-03-02T10:00:05+01:00'), endMs: Date.parse('2026-03-02T10:01:05+01:00'),
      billableSeconds: 60, disposition: 'answered', direction: 'out', leg: 'originating', forwardReason: null, device: 'desk',
      subscriber: { account: 'acc-poison', clientId: 'C-0001', siteId: 'S-1', userId: 'U-poison', planId: 'technicophone_centrex', lineType: 'centrex_user', channels: 1, automated: false, numbers: [] },
      source: 'producer-x', line: 1,
    };
    // Bytes that are not UTF-8 cannot be written by the encoder: they are patched into an encoded message.
    const notUtf8 = codecs.normalizedCdr.encode({ ...call, cdrId: 'poison-latin1', device: 'cafe-XX' });
    const at = notUtf8.indexOf(Buffer.from('XX'));
    notUtf8[at] = 0xe9;
    notUtf8[at + 1] = 0x28;
    const poison = [
      codecs.normalizedCdr.encode({ ...call, cdrId: 'poison-nul', account: 'acc\u0000x', subscriber: { ...call.subscriber, account: 'acc\u0000x' } }),
      notUtf8,
      codecs.normalizedCdr.encode({ ...call, cdrId: 'poison-seconds', billableSeconds: 2_000_000_000 }),
      codecs.normalizedCdr.encode({ ...call, cdrId: 'poison-year', startMs: Date.parse('9999-01-01T00:00:00Z'), answerMs: null, endMs: Date.parse('9999-01-01T00:01:00Z') }),
      codecs.normalizedCdr.encode(call),
      // A record of several calls, as `cdr ingest` writes them: its poison call is set aside, the other rated.
      ...normalizedRecords([{ ...call, cdrId: 'poison-in-batch', caller: '+3314\u0007' }, { ...call, cdrId: 'poison-ok-2' }]).map((r) => r.value as Buffer),
    ];
    const kafka = new Kafka({ clientId: 'poison-values', brokers: BROKERS.split(','), logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: `${e.topicPrefix}cdr.normalized`, messages: poison.map((value) => ({ key: 'C-0001', value })) });
    await producer.disconnect();
    await ingest(e, small.files[1]!);
    startWorker(e, 'rater');
    startWorker(e, 'fraud');
    const expected = [...smallExpected.amounts.keys()].filter((id) => /^g3-2026030[23]-/.test(id)).length + 2;
    await waitFor('both days and the good records rated, and watched, around the poison', async () => (await rated(e)) === expected && (await count(e, 'SELECT count(*) FROM fraud_seen')) === expected);
    const dead = await e.db.query<{ error: string }>('SELECT error FROM dead_letter ORDER BY "offset"');
    expect(dead.rows.map((r) => r.error)).toEqual([
      expect.stringMatching(/^poison_value: account holds a control character/),
      expect.stringMatching(/^poison_value: device holds a control character or bytes that were not UTF-8/),
      expect.stringMatching(/^poison_value: billableSeconds is not 0 \.\. 86400/),
      expect.stringMatching(/^poison_value: startMs or endMs outside/),
      'poison_value: value 1 of 2: caller holds a control character or bytes that were not UTF-8',
    ]);
    expect(await count(e, "SELECT count(*) FROM rated_cdr WHERE cdr_id IN ('poison-ok', 'poison-ok-2')")).toBe(2);
  });

  it('replays through Kafka the records of an account the directory did not know, once it is declared, billing each CDR once', async () => {
    // The directory without one account: its calls are rejected at ingest.
    const lines = readFileSync(small.subscribersFile, 'utf8').trimEnd().split('\n');
    const missing = lines[1]!.split(',')[0]!;
    const partial = join(dir, 'subscribers-partial.csv');
    writeFileSync(partial, [lines[0], ...lines.slice(2)].join('\n') + '\n');
    env = await environment(partial);
    const e = env;
    const day = join(dir, 'replay-day.csv');
    copyFileSync(small.files[0]!, day);
    await ingest(e, day);
    const rejected = await count(e, "SELECT count(*) FROM rejected_record WHERE reason = 'unknown_subscriber'");
    expect(rejected).toBeGreaterThan(0);
    startWorker(e, 'rater');
    const dayIds = [...smallExpected.amounts.keys()].filter((id) => /^g3-20260302-/.test(id));
    await waitFor('the known accounts rated', async () => (await rated(e)) === dayIds.length - rejected);
    // Declared now: the replay sends the file again; what was rated is a duplicate, the rest is billed.
    const { stdout } = await execFileAsync('node', ['dist/services/cli/main.js', 'ingest', '--replay', '--subscribers', small.subscribersFile], { env: e.env });
    expect(stdout).toMatch(/replay-day\.csv: replayed, \d+ CDRs, 0 still rejected/);
    await waitFor('every CDR of the day rated once', async () => (await rated(e)) === dayIds.length);
    expect(await count(e, "SELECT count(*) FROM rejected_record WHERE reason = 'unknown_subscriber'")).toBe(0);
    expect(await count(e, `SELECT count(*) FROM rated_cdr WHERE account = '${missing}'`)).toBe(rejected);
  });
});

function pgVersion(): string {
  return execFileSync('bash', ['-c', 'ls /etc/postgresql | head -1'], { encoding: 'utf8' }).trim();
}
