/**
 * The desk under load (issue 20): `cdr serve` on the whole month's store (the 1 M-CDR month rated by
 * the embedded part), and autocannon's 50 connections on each read endpoint an analyst's page calls,
 * one endpoint at a time, 10 s each. Every answer must be a 200; p50 and p99 are the figures, against
 * the goals (≤ 50 ms and ≤ 250 ms). The load tool runs on the same two cores as the server, as the
 * page's users would not: the figures are a bound on what they would see.
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import { fmt, type Report } from './report.js';

const run = promisify(execFile);
const CLI = 'dist/services/cli/main.js';
const PORT = Number(process.env.BENCH_DESK_PORT ?? 18091);
const CONNECTIONS = 50;
const SECONDS = Number(process.env.BENCH_DESK_SECONDS ?? 10);

export async function deskBench(report: Report, dataDir: string, subscribers: string): Promise<void> {
  const { stdout: token } = await run('node', [CLI, 'token', 'create', '--role', 'admin', '--name', `bench-${Date.now()}`, '--data', dataDir]);
  const server = spawn('node', [CLI, 'serve', '--data', dataDir, '--subscribers', subscribers, '--port', String(PORT)], { env: { ...process.env, LOG_LEVEL: 'warn' }, stdio: 'ignore' });
  const base = `http://127.0.0.1:${PORT}`;
  const headers = { authorization: `Bearer ${token.trim()}` };
  try {
    await until(async () => (await fetch(`${base}/health`).catch(() => null))?.ok === true, 30_000);
    const { client, number } = busiest(subscribers);
    const period = '2026-03';
    // The search's answer is shared while the store is unchanged (analysts on one incident search the same
    // number); a number nobody searched yet is read from the ledger: both are measured.
    const numbers = everyNumber(subscribers);
    let next = 0;
    const paths: [string, string | (() => string)][] = [
      ['alert list', '/api/v1/alerts?status=open&sort=severity&limit=50'],
      ['barring feed', '/api/v1/barring.txt'],
      ['subscriber view (client)', `/api/v1/subscribers/${client}?period=${period}&calls=20`],
      ['usage (client month)', `/api/v1/usage/${client}/${period}`],
      ['client months', `/api/v1/months/${client}`],
      ['invoice (client month)', `/api/v1/invoices/${client}/${period}`],
      ['search by number', `/api/v1/search?q=${encodeURIComponent(number)}`],
      ['search, a new number each time', () => `/api/v1/search?q=${encodeURIComponent(numbers[next++ % numbers.length]!)}`],
      ['cases', '/api/v1/cases'],
      ['daily chart', '/api/v1/charts/daily?days=31'],
    ];
    report.line(`cdr serve on ${dataDir}; ${CONNECTIONS} connections for ${SECONDS} s on each endpoint (client ${client}, the busiest)`);
    for (const [name, path] of paths) {
      const pathOf = typeof path === 'string' ? () => path : path;
      const first = await fetch(base + pathOf(), { headers });
      if (!first.ok) {
        report.add(`desk ${name}`, `HTTP ${first.status}`, '200', false);
        continue;
      }
      const r = await autocannon({ url: base, connections: CONNECTIONS, duration: SECONDS, headers, requests: [{ setupRequest: (req) => ({ ...req, path: pathOf() }) }] });
      // Requests still queued at the server when the load stops would be counted against the next endpoint.
      await until(async () => (await fetch(`${base}/health`).catch(() => null))?.ok === true, 120_000);
      const bad = r.non2xx + r.errors + r.timeouts;
      report.line(`${name}: ${fmt(r.requests.total)} answers (${fmt(r.requests.average)}/s)${bad > 0 ? `, ${bad} not 200` : ''}; p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, max ${r.latency.max} ms`);
      report.add(`desk ${name}, p50`, `${r.latency.p50} ms`, '≤ 50 ms', bad === 0 && r.latency.p50 <= 50);
      report.add(`desk ${name}, p99`, `${r.latency.p99} ms`, '≤ 250 ms', bad === 0 && r.latency.p99 <= 250);
    }
  } finally {
    server.kill('SIGTERM');
  }
}

/** Every number of the directory, in file order: a search for each is a first search. */
function everyNumber(subscribers: string): string[] {
  const [header, ...rows] = readFileSync(subscribers, 'utf8').trim().split('\n');
  const at = header!.split(',').indexOf('numbers');
  return rows.flatMap((row) => row.split(',')[at]!.split(/[ ;|]/).filter((n) => n !== ''));
}

/** The client with the most subscribers, and its first number: the heaviest page an analyst opens. */
function busiest(subscribers: string): { client: string; number: string } {
  const [header, ...rows] = readFileSync(subscribers, 'utf8').trim().split('\n');
  const cols = header!.split(',');
  const [ci, ni] = [cols.indexOf('client_id'), cols.indexOf('numbers')];
  const count = new Map<string, number>();
  const numberOf = new Map<string, string>();
  for (const row of rows) {
    const f = row.split(',');
    count.set(f[ci]!, (count.get(f[ci]!) ?? 0) + 1);
    if (!numberOf.has(f[ci]!)) numberOf.set(f[ci]!, f[ni]!.split(/[ ;|]/)[0]!);
  }
  const client = [...count].sort((a, b) => b[1] - a[1])[0]![0];
  return { client, number: numberOf.get(client)! };
}

async function until(done: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error('cdr serve did not answer /health in time');
    await new Promise((r) => setTimeout(r, 200));
  }
}
