/**
 * `cdr serve` and `cdr rate` on the same data directory at the same time: the desk keeps reading and
 * writing (locks, audited) while a run commits; nothing is lost or corrupted on either side, and the
 * invoices then agree to the cent with what the runs' rated.csv and adjustments.csv billed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import Papa from 'papaparse';
import { afterAll, describe, expect, it } from 'vitest';
import { Money, ZERO } from '../../services/core/money.js';
import { changesOf, readEvents } from '../api/support/event-reader.js';

const CLI = resolve('dist/services/cli/main.js');
const cdr = (args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'warn' } });
  if (r.status !== 0) throw new Error(`cdr ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
};
const csv = (file: string) => Papa.parse<Record<string, string>>(readFileSync(file, 'utf8'), { header: true, skipEmptyLines: true }).data;

describe('cdr serve while cdr rate writes the same data directory', () => {
  const work = mkdtempSync(join(tmpdir(), 'cdr-desk-concurrent-'));
  let server: ChildProcess | undefined;
  afterAll(() => {
    server?.kill('SIGTERM');
    rmSync(work, { recursive: true, force: true });
  });

  it('serves and records desk changes during a run, and the invoices match the runs exactly', async () => {
    const gen = join(work, 'gen');
    const data = join(work, 'data');
    cdr(['generate', '--subscribers', '150', '--days', '4', '--start', '2026-03-02', '--inject', 'duration_40h', 'distinct_numbers', '--out', gen]);
    const days = readdirSync(gen).filter((f) => f.startsWith('cdrs-')).sort().map((f) => join(gen, f));
    const subscribers = join(gen, 'subscribers.csv');
    cdr(['rate', '--data', data, '--out', join(work, 'out-0'), '--subscribers', subscribers, days[0]!]);
    const token = cdr(['token', 'create', '--role', 'admin', '--name', 'desk', '--data', data]).trim();
    server = spawn(process.execPath, [CLI, 'serve', '--data', data, '--subscribers', subscribers, '--port', '0'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const base = await new Promise<string>((ok) => {
      let out = '';
      server!.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /fraud desk on (http:\/\/\S+?)\//.exec(out);
        if (m) ok(m[1]!);
      });
    });
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const account = csv(subscribers)[0]!.account!;

    // An open page's live stream: the run's alerts and the desk's lock changes must all be announced on it.
    const stream = await readEvents(`${base}/api/v1/events`, token);
    await stream.waitFor((e) => e.event === 'hello', 2_000);
    const runStartMs = Date.now();
    const rate = spawn(process.execPath, [CLI, 'rate', '--data', data, '--out', join(work, 'out-1'), '--subscribers', subscribers, ...days.slice(1)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let rateErr = '';
    rate.stderr!.on('data', (c: Buffer) => (rateErr += c.toString()));
    const rateDone = new Promise<number>((ok) => rate.once('exit', (code) => ok(code ?? -1)));
    let running = true;
    void rateDone.then(() => (running = false));
    const levels = ['foreign', 'outgoing', 'all', 'none'] as const;
    let writes = 0;
    let reads = 0;
    let writesDuringRun = 0;
    while (running || writes < 4) {
      // At most 200 lock changes (the account's history page holds 500); reads go on until the run ends.
      if (writes >= 200) {
        expect((await fetch(`${base}/api/v1/alerts?limit=5`, { headers })).status).toBe(200);
        continue;
      }
      const put = await fetch(`${base}/api/v1/locks/${account}`, { method: 'PUT', headers, body: JSON.stringify({ level: levels[writes % 4], reason: `during the run, change ${writes}` }) });
      expect(put.status).toBe(200);
      if (running) writesDuringRun += 1;
      writes += 1;
      const list = await fetch(`${base}/api/v1/alerts?limit=5`, { headers });
      expect(list.status).toBe(200);
      reads += 1;
    }
    expect(await rateDone, rateErr).toBe(0);
    expect(writes).toBeGreaterThanOrEqual(4);
    expect(writesDuringRun, 'the desk wrote while the run was committing').toBeGreaterThan(0);

    // Within 2 s of the run's end, every alert it raised or changed has been announced (or a reload asked).
    const db0 = new Database(join(data, 'cdr.sqlite'), { readonly: true });
    const runAlerts = (db0.prepare('SELECT alert_id FROM alert WHERE updated_at >= ?').all(runStartMs) as { alert_id: string }[]).map((r) => r.alert_id);
    db0.close();
    expect(runAlerts.length, 'the run raised or changed alerts').toBeGreaterThan(0);
    const announced = () => new Set(stream.events.flatMap(changesOf).map((c) => c.alert_id ?? c.type));
    const deadline = Date.now() + 2_000;
    while (!announced().has('resync') && runAlerts.some((id) => !announced().has(id)) && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 100));
    expect(announced().has('resync') || runAlerts.every((id) => announced().has(id)), 'every alert of the run announced').toBe(true);
    const lockEvents = stream.events.flatMap(changesOf).filter((c) => c.type === 'audit' && c.subject_type === 'lock' && c.subject_id === account);
    expect(announced().has('resync') || lockEvents.length === writes, 'every lock change announced').toBe(true);
    stream.close();

    const history = await (await fetch(`${base}/api/v1/locks/${account}`, { headers })).json() as { audit: { comment: string }[] };
    expect(history.audit).toHaveLength(writes);
    expect(history.audit.at(-1)!.comment).toBe(`during the run, change ${writes - 1}`);

    // Every client month: the invoice is exactly Σ rated.csv amount + Σ adjustments.csv delta of both runs.
    const expected = new Map<string, Money>();
    for (const out of ['out-0', 'out-1']) {
      const run = readdirSync(join(work, out)).find((d) => d.startsWith('run-'))!;
      for (const r of csv(join(work, out, run, 'rated.csv'))) expected.set(r.client_id!, (expected.get(r.client_id!) ?? ZERO).plus(new Money(r.amount!.replace(/^'/, ''))));
      for (const a of csv(join(work, out, run, 'adjustments.csv'))) expected.set(a.client_id!, (expected.get(a.client_id!) ?? ZERO).plus(new Money(a.delta!.replace(/^'/, ''))));
    }
    const invoicing = cdr(['token', 'create', '--role', 'invoicing', '--name', 'billing', '--data', data]).trim();
    for (const [client, total] of expected) {
      const inv = await (await fetch(`${base}/api/v1/invoices/${client}/2026-03`, { headers: { authorization: `Bearer ${invoicing}` } })).json() as { totals: { total_ht_exact: string } };
      expect(inv.totals.total_ht_exact, client).toBe(total.toFixed());
    }
    const db = new Database(join(data, 'cdr.sqlite'), { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
    expect(reads).toBe(writes);
    expect(writes).toBeLessThanOrEqual(200);
  }, 180_000);
});
