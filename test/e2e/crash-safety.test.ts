/**
 * No user action can lose or double a bill (issue 13): `cdr rate` killed with SIGKILL at every phase of a
 * run and re-run, two runs started at once on one data directory, and a re-run into the same --out. The
 * invariant is checked on what invoicing reads — every run folder's rated.csv and adjustments.csv — not
 * only on the store: every CDR billed exactly once, month totals equal to a clean run to the cent.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Papa from 'papaparse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Money } from '../../services/core/money.js';
import { generateWorkload, type GenerateResult } from '../../services/generator/generate-workload.js';
import { tempDir } from '../support/tmp.js';

const run = promisify(execFile);
const CLI = 'dist/services/cli/main.js';
const dir = tempDir();
const monthDir = mkdtempSync(join(tmpdir(), 'cdr-crash-'));
let month: GenerateResult;
let clean: Invoiced;

interface Invoiced {
  /** cdr_id → how many rated.csv rows bill it, over every run folder. */
  billed: Map<string, number>;
  /** client|period → first prices + adjustments, exact. */
  totals: Map<string, string>;
}

/** What invoicing sums: every run folder under `out`. */
function invoiced(out: string): Invoiced {
  const billed = new Map<string, number>();
  const totals = new Map<string, Money>();
  const add = (key: string, amount: string) => totals.set(key, (totals.get(key) ?? new Money(0)).plus(amount));
  for (const folder of readdirSync(out).filter((n) => n.startsWith('run-'))) {
    const rows = (file: string) => Papa.parse<Record<string, string>>(readFileSync(join(out, folder, file), 'utf8'), { header: true, skipEmptyLines: true }).data;
    for (const r of rows('rated.csv')) {
      billed.set(r.cdr_id!, (billed.get(r.cdr_id!) ?? 0) + 1);
      add(`${r.client_id}|${r.period}`, r.amount!);
    }
    for (const a of rows('adjustments.csv')) add(`${a.client_id}|${a.period}`, a.delta!);
  }
  return { billed, totals: new Map([...totals].map(([k, v]) => [k, v.toFixed(4)])) };
}

function rate(data: string, out: string, env: NodeJS.ProcessEnv = {}) {
  return run('node', [CLI, 'rate', '--subscribers', month.subscribersFile, '--data', data, '--out', out, '--chunk-size', '700', ...month.files], { env: { ...process.env, ...env } });
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "make build" first`);
  month = await generateWorkload({ subscribers: 40, days: 6, seed: 11, startDate: '2026-03-02', outDir: monthDir, inject: ['distinct_numbers', 'pool_exhausted', 'concurrent_calls'] });
  await rate(join(monthDir, 'state'), join(monthDir, 'out'));
  clean = invoiced(join(monthDir, 'out'));
  expect(clean.billed.size).toBe(month.cdrs);
}, 120_000);

afterAll(() => rmSync(monthDir, { recursive: true, force: true }));

describe('a killed cdr rate, re-run', () => {
  // Each phase of a run, and which pass of it the kill happens on.
  const phases = [
    ['read', 1500], // reading the files, a chunk committed already
    ['rate', 900], // rating a chunk, nothing of it committed
    ['commit', 2], // inside the second chunk's transaction
    ['committed', 3], // right after the third chunk's commit
    ['export', 1], // writing the run's folder
    ['exported', 1], // the folder in place, the run not yet marked finished
  ] as const;

  it.each(phases)('at %s (pass %i) still invoices every CDR exactly once, totals to the cent', async (phase, at) => {
    const work = dir();
    const data = join(work, 'state');
    const out = join(work, 'out');
    const killed = await rate(data, out, { CDR_FAULT: `${phase}:${at}` }).catch((e: { signal?: string }) => e);
    expect(killed).toMatchObject({ signal: 'SIGKILL' });
    const again = await rate(data, out);
    expect(again.stdout).toMatch(/run 2: outputs in/);
    expect(readdirSync(out).filter((n) => n.startsWith('.staging'))).toEqual([]);
    const got = invoiced(out);
    expect([...got.billed.values()].every((n) => n === 1)).toBe(true);
    expect(got.billed.size).toBe(month.cdrs);
    expect(Object.fromEntries(got.totals)).toEqual(Object.fromEntries(clean.totals));
  }, 60_000);
});

describe('one writer per data directory', () => {
  it('refuses a second cdr rate with the holder named, and the first bills everything once', async () => {
    const work = dir();
    const data = join(work, 'state');
    // A month long enough (about 50,000 CDRs) for the second run to find the first still running.
    const busy = await generateWorkload({ subscribers: 150, days: 10, seed: 12, startDate: '2026-03-02', outDir: join(work, 'busy') });
    const first = spawn('node', [CLI, 'rate', '--subscribers', busy.subscribersFile, '--data', data, '--out', join(work, 'out'), ...busy.files], { stdio: 'ignore' });
    const done = new Promise<number | null>((resolve) => first.on('exit', resolve));
    // The first holds the lock once its holder file names it.
    for (let i = 0; i < 100 && !existsSync(join(data, 'writer-holder.json')); i++) await new Promise((r) => setTimeout(r, 50));
    // Held still while the second starts: on a busy machine the first could otherwise finish before the
    // second even asks for the lock, and the test would see no conflict at all.
    first.kill('SIGSTOP');
    const second = await run('node', [CLI, 'rate', '--subscribers', busy.subscribersFile, '--data', data, '--out', join(work, 'out2'), ...busy.files]).catch((e: { code: number; stderr: string }) => e);
    first.kill('SIGCONT');
    expect(second).toMatchObject({ code: 3 });
    expect((second as { stderr: string }).stderr).toMatch(/data directory .* is in use by "cdr rate .*" \(pid \d+ on .*, since .*\)/);
    expect(await done).toBe(0);
    expect(existsSync(join(work, 'out2'))).toBe(false);
    const got = invoiced(join(work, 'out'));
    expect(got.billed.size).toBe(busy.cdrs);
    expect([...got.billed.values()].every((n) => n === 1)).toBe(true);
  }, 60_000);

  it('takes over the lock of a run killed -9 without waiting for a person', async () => {
    const work = dir();
    const data = join(work, 'state');
    await rate(data, join(work, 'out'), { CDR_FAULT: 'committed:1' }).catch(() => undefined);
    const started = Date.now();
    const again = await rate(data, join(work, 'out'));
    expect(again.stdout).toMatch(/recovered the outputs of interrupted run\(s\) 1/);
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 60_000);
});

describe('re-running into the same --out', () => {
  it('leaves the first run’s files as they were and says there is nothing new', async () => {
    const work = dir();
    const out = join(work, 'out');
    await rate(join(work, 'state'), out);
    const before = readFileSync(join(out, 'run-000001', 'rated.csv'), 'utf8');
    const again = await rate(join(work, 'state'), out);
    expect(again.stdout).toMatch(/nothing new to bill/);
    expect(readFileSync(join(out, 'run-000001', 'rated.csv'), 'utf8')).toBe(before);
    expect(readFileSync(join(out, 'run-000002', 'rated.csv'), 'utf8').trim().split('\n')).toHaveLength(1); // the header only
    expect(invoiced(out).billed.size).toBe(month.cdrs);
  }, 60_000);
});
