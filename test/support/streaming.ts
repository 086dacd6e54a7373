/**
 * The streaming runtime as an operator runs it, for integration tests: the built `cdr` command as
 * separate processes (so that they can be killed -9), the local Kafka broker (scripts/kafka.sh) and the
 * local PostgreSQL, each test on a database and topic prefix of its own.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../../services/config/load-config.js';
import { Money } from '../../services/core/money.js';
import { rateFiles } from '../../services/embedded/rate-files.js';
import { openSqlite } from '../../services/store/sqlite.js';

const run = promisify(execFile);
const CLI = 'dist/services/cli/main.js';
const ADMIN_URL = process.env.DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:19092';

export interface Environment {
  databaseUrl: string;
  topicPrefix: string;
  env: NodeJS.ProcessEnv;
  db: pg.Pool;
  workers: ChildProcess[];
  cleanup(): Promise<void>;
}

/** A fresh database and topic prefix; `cleanup` stops the workers and drops the database. */
export async function environment(subscribers: string): Promise<Environment> {
  const id = randomUUID().replaceAll('-', '').slice(0, 10);
  const name = `cdr_it_${id}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const databaseUrl = ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  const db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  db.on('error', () => {});
  const e: Environment = {
    databaseUrl,
    topicPrefix: `it${id}.`,
    env: { ...process.env, DATABASE_URL: databaseUrl, CDR_TOPIC_PREFIX: `it${id}.`, KAFKA_BROKERS: BROKERS, LOG_LEVEL: 'warn' },
    db,
    workers: [],
    async cleanup() {
      for (const w of e.workers) w.kill('SIGKILL');
      await db.end();
      const a = new pg.Client({ connectionString: ADMIN_URL });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
  e.env.CDR_SUBSCRIBERS = subscribers;
  return e;
}

export async function ingest(e: Environment, ...files: string[]): Promise<string> {
  const { stdout } = await run('node', [CLI, 'ingest', '--subscribers', e.env.CDR_SUBSCRIBERS!, ...files], { env: e.env });
  return stdout;
}

/** `options`: more of the worker's command line, e.g. `--with-fraud`. */
export function startWorker(e: Environment, stage: 'rater' | 'fraud', ...options: string[]): ChildProcess {
  const child = spawn('node', [CLI, 'worker', stage, '--subscribers', e.env.CDR_SUBSCRIBERS!, ...options], { env: e.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => void (stderr = (stderr + d.toString()).slice(-4000)));
  child.on('exit', (code, signal) => {
    if (code !== 0 && code !== null && signal === null) process.stderr.write(`${stage} worker exited ${code}:\n${stderr}\n`);
  });
  e.workers.push(child);
  return child;
}

export async function count(e: Environment, sql: string): Promise<number> {
  const r = await e.db.query(sql);
  return Number(Object.values(r.rows[0] as Record<string, unknown>)[0]);
}

/** Polls until `done` holds; fails with `what` after `timeoutMs`. */
export async function waitFor(what: string, done: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await done()) return;
    } catch {
      /* the database may be restarting */
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

export interface Settled {
  amounts: Map<string, string>;
  /** rule|client|user|value|threshold of every alert. */
  alerts: string[];
}

/** The embedded runtime's final state on the same files: what the streaming run must equal. */
export async function embeddedResult(subscribers: string, files: string[]): Promise<Settled> {
  const dir = mkdtempSync(join(tmpdir(), 'cdr-embedded-'));
  try {
    await rateFiles({ config: loadConfig('config', subscribers), dataDir: join(dir, 'state'), outDir: join(dir, 'out'), sourceZone: 'Europe/Paris', files });
    const db = openSqlite(join(dir, 'state'));
    try {
      return settled(
        db.prepare('SELECT cdr_id, amount FROM rated_cdr').all() as { cdr_id: string; amount: string }[],
        db.prepare('SELECT rule, client_id, user_id, value, threshold FROM alert').all() as AlertRow[],
      );
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function streamingResult(e: Environment): Promise<Settled> {
  return settled(
    (await e.db.query<{ cdr_id: string; amount: string }>('SELECT cdr_id, amount::text FROM rated_cdr')).rows,
    (await e.db.query<AlertRow>('SELECT rule, client_id, user_id, value::text, threshold::text FROM alert')).rows,
  );
}

type AlertRow = { rule: string; client_id: string; user_id: string; value: string; threshold: string };

function settled(rated: { cdr_id: string; amount: string }[], alerts: AlertRow[]): Settled {
  return {
    amounts: new Map(rated.map((r) => [r.cdr_id, new Money(r.amount).toFixed(4)])),
    alerts: alerts.map((a) => `${a.rule}|${a.client_id}|${a.user_id}|${Number(a.value)}|${Number(a.threshold)}`).sort(),
  };
}

/** Sum of amounts to the cent, in exact decimal arithmetic. */
export function total(amounts: Map<string, string>): string {
  let cents = 0n;
  for (const a of amounts.values()) cents += BigInt(a.replace('.', ''));
  const s = cents.toString().padStart(5, '0');
  return `${s.slice(0, -4)}.${s.slice(-4)}`;
}
