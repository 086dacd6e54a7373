/**
 * Authorization at call setup under load (issue 21): `cdr serve` asked by a switch at 2,000 requests a
 * second (autocannon at a fixed rate: each setup followed by its end-of-call notice on the same
 * connection, so 1,000 calls a second) over 4 connections as a switch's workers would hold them, the
 * callers drawn over every account of the directory.
 * The goal is p99 ≤ 5 ms; /health at the same rate, in the same run, is the
 * floor (what fastify and the load tool cost on this machine without our work). The load tool runs on
 * the same two cores as the server, as a switch would not.
 *
 * Alone: node dist/bench/authorize-bench.js [subscribers.csv]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { fmt, Report } from './report.js';
import { openSqlite, sqliteSql } from '../services/store/sqlite.js';
import { createToken } from '../services/store/desk/api-tokens.js';

const CLI = 'dist/services/cli/main.js';
const PORT = Number(process.env.BENCH_AUTHORIZE_PORT ?? 18092);
const RATE = 2000;
const SECONDS = Number(process.env.BENCH_AUTHORIZE_SECONDS ?? 15);
// As many as a switch's workers hold (the Kamailio config runs 4).
const CONNECTIONS = Number(process.env.BENCH_AUTHORIZE_CONNECTIONS ?? 4);

export async function authorizeBench(report: Report, subscribers: string): Promise<void> {
  // A store of its own: the setups refused and the calls in progress it writes stay out of the month's.
  const data = mkdtempSync(join(tmpdir(), 'cdr-authorize-bench-'));
  const store = sqliteSql(openSqlite(data));
  const token = await createToken(store, 'bench-switch', 'switch', 'bench', Date.now());
  await store.close();
  const server = spawn('node', [CLI, 'serve', '--data', data, '--subscribers', subscribers, '--port', String(PORT)], { env: { ...process.env, LOG_LEVEL: 'warn' }, stdio: 'ignore' });
  const base = `http://127.0.0.1:${PORT}`;
  const headers = { authorization: `Bearer ${token}` };
  try {
    await until(async () => (await fetch(`${base}/health`).catch(() => null))?.ok === true, 30_000);
    const accounts = accountsOf(subscribers);
    const floor = await autocannon({ url: `${base}/health`, connections: CONNECTIONS, overallRate: RATE, duration: SECONDS });
    let n = 0;
    const setups = { allow: 0, deny: 0 };
    const r = await autocannon({
      url: base, connections: CONNECTIONS, overallRate: RATE, duration: SECONDS, headers,
      requests: [
        {
          method: 'GET',
          // The context is the connection's: its end notice names its own call.
          setupRequest: (req, context: { callId?: string }) => {
            n += 1;
            context.callId = `bench-${n}`;
            const account = accounts[n % accounts.length]!;
            // Mostly French numbers, one in ten abroad.
            const callee = n % 10 === 0 ? `+4930${String(n % 9_000_000).padStart(7, '0')}` : `+331${String(n % 100_000_000).padStart(8, '0')}`;
            return { ...req, path: `/api/v1/authorize?account=${encodeURIComponent(account)}&callee=${encodeURIComponent(callee)}&call_id=${context.callId}` };
          },
          onResponse: (status) => {
            setups[status === 200 ? 'allow' : 'deny'] += 1;
          },
        },
        { method: 'GET', setupRequest: (req, context: { callId?: string }) => ({ ...req, path: `/api/v1/call-end?call_id=${String(context.callId)}` }) },
      ],
    });
    // A refusal is a 403 by design; only errors and time-outs are failures here.
    const failed = r.errors + r.timeouts + r['5xx'];
    report.line(`${fmt(r.requests.total)} requests in ${SECONDS} s (${fmt(r.requests.average)}/s: setups and their end notices over ${fmt(accounts.length)} accounts), ` +
      `${fmt(setups.allow)} setups allowed, ${fmt(setups.deny)} refused${failed > 0 ? `, ${failed} failed` : ''}`);
    report.line(`p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, max ${r.latency.max} ms; /health at the same rate: p50 ${floor.latency.p50} ms, p99 ${floor.latency.p99} ms`);
    report.add('authorize + call-end at 2,000 requests/s, p99', `${r.latency.p99} ms`, '≤ 5 ms', failed === 0 && r.latency.p99 <= 5);
    report.add('authorize p99 / /health p99 (same rate)', (r.latency.p99 / Math.max(floor.latency.p99, 1)).toFixed(2));
  } finally {
    server.kill('SIGTERM');
    rmSync(data, { recursive: true, force: true });
  }
}

function accountsOf(subscribers: string): string[] {
  const [header, ...rows] = readFileSync(subscribers, 'utf8').trim().split('\n');
  const at = header!.split(',').indexOf('account');
  return rows.map((row) => row.split(',')[at]!);
}

async function until(done: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error('cdr serve did not answer /health in time');
    await new Promise((r) => setTimeout(r, 200));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const report = new Report();
  report.section('Authorization at call setup (cdr serve asked by a switch)');
  await authorizeBench(report, process.argv[2] ?? 'config/subscribers.csv');
  report.table();
}
