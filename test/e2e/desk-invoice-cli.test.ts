/**
 * `cdr invoice` and `cdr close` over a generated month rated by `cdr rate` (the embedded store): every
 * client's invoice total is exactly the sum of what rated.csv billed and adjustments.csv corrected; after
 * the close, a later day's CDRs of the same month land on the next month's invoice and the closed one
 * does not move.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Papa from 'papaparse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Money, ZERO } from '../../services/core/money.js';
import type { Invoice } from '../../services/core/invoice/compose-invoice.js';

const CLI = resolve('dist/services/cli/main.js');

function cdr(args: string[]): string {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'warn' } });
  if (r.status !== 0) throw new Error(`cdr ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

const csv = (file: string) => Papa.parse<Record<string, string>>(readFileSync(file, 'utf8'), { header: true, skipEmptyLines: true }).data;

/** The folder a run wrote its files to (`<out>/run-NNNNNN/`). */
function runDir(out: string): string {
  const runs = readdirSync(out).filter((d) => d.startsWith('run-'));
  expect(runs).toHaveLength(1);
  return join(out, runs[0]!);
}

/** Per client: Σ amount of rated.csv + Σ delta of adjustments.csv over the given runs' outputs. */
function expectedTotals(outs: string[], clientOf: Map<string, string>): Map<string, Money> {
  const totals = new Map<string, Money>();
  const add = (client: string, amount: string) => totals.set(client, (totals.get(client) ?? ZERO).plus(new Money(amount)));
  for (const out of outs.map(runDir)) {
    for (const r of csv(join(out, 'rated.csv'))) {
      clientOf.set(r.cdr_id!, r.client_id!);
      add(r.client_id!, r.amount!.replace(/^'/, ''));
    }
    for (const a of csv(join(out, 'adjustments.csv'))) add(clientOf.get(a.cdr_id!)!, a.delta!.replace(/^'/, ''));
  }
  return totals;
}

function invoices(dir: string): Map<string, Invoice> {
  return new Map(readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => {
    const inv = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Invoice;
    return [inv.client_id, inv];
  }));
}

describe('cdr invoice and cdr close over a generated month', () => {
  let work: string;
  let data: string;
  let days: string[];
  const clientOf = new Map<string, string>();

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'cdr-invoice-'));
    data = join(work, 'data');
    const gen = join(work, 'gen');
    cdr(['generate', '--subscribers', '30', '--days', '3', '--start', '2026-03-02', '--inject', 'duration_40h', 'distinct_numbers', 'premium_destination', '--out', gen]);
    days = readdirSync(gen).filter((f) => f.startsWith('cdrs-')).sort().map((f) => join(gen, f));
    for (const [i, day] of days.slice(0, 2).entries()) cdr(['rate', '--data', data, '--out', join(work, `out-${i}`), '--subscribers', join(gen, 'subscribers.csv'), day]);
  }, 120_000);
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('bills every client exactly what rated.csv and adjustments.csv say, and a closed month never moves', () => {
    const expected = expectedTotals([join(work, 'out-0'), join(work, 'out-1')], clientOf);
    cdr(['invoice', '--data', data, '--period', '2026-03', '--format', 'json', '--out', join(work, 'inv-1')]);
    const march = invoices(join(work, 'inv-1'));
    expect([...march.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [client, total] of expected) {
      expect(march.get(client)!.totals.total_ht_exact, client).toBe(total.toFixed());
      expect(march.get(client)!.totals.total_ht, client).toBe(total.toFixed(2));
    }
    cdr(['invoice', '--data', data, '--period', '2026-03', '--format', 'csv', '--out', join(work, 'inv-csv')]);
    for (const [client, total] of expected) {
      const rows = csv(join(work, 'inv-csv', `invoice-${client}-2026-03.csv`));
      expect(rows.find((r) => r.kind === 'total_ht')!.amount, client).toBe(total.toFixed(2));
    }

    expect(cdr(['close', '--data', data, '--period', '2026-03'])).toContain('closed');
    // The third day's CDRs are March's too, but arrive after the close (R-MOB-LATE-CDR).
    const lateRun = cdr(['rate', '--data', data, '--out', join(work, 'out-2'), '--subscribers', join(work, 'gen', 'subscribers.csv'), days[2]!]);
    const late = expectedTotals([join(work, 'out-2')], clientOf);
    // The run says where its calls of the closed month are billed, next to the month's new total.
    for (const client of late.keys()) expect(lateRun, client).toMatch(new RegExp(`${client} 2026-03 \\(closed: late calls billed on 2026-04\\): `));
    cdr(['invoice', '--data', data, '--period', '2026-03', '--format', 'json', '--out', join(work, 'inv-2')]);
    const marchAgain = invoices(join(work, 'inv-2'));
    for (const [client, inv] of march) expect({ ...marchAgain.get(client), status: 'open', invoice_number: null, closed_at: null, closed_by: null }, client).toEqual(inv);
    // An all-clients run of April (no --client), as a billing batch does it, bills every late call, although
    // none of these clients has a call dated April.
    expect(late.size).toBeGreaterThan(0);
    cdr(['invoice', '--data', data, '--period', '2026-04', '--format', 'json', '--out', join(work, 'inv-april')]);
    const april = invoices(join(work, 'inv-april'));
    expect([...april.keys()].sort()).toEqual([...late.keys()].sort());
    for (const [client, total] of late) {
      expect(april.get(client)!.totals.total_ht_exact, client).toBe(total.toFixed());
      expect(april.get(client)!.lines.every((l) => l.corrects_period === '2026-03' && (l.kind === 'late_calls' || l.kind === 'adjustment')), client).toBe(true);
    }
    // Closing April without --client closes the late clients' April: their late calls are then issued.
    const closedApril = cdr(['close', '--data', data, '--period', '2026-04']);
    for (const [client, total] of late) expect(closedApril).toMatch(new RegExp(`closed ${client} 2026-04: invoice FAC-\\d{6}, ${total.toFixed(2)} EUR HT`));
    expect(cdr(['close', '--data', data, '--period', '2026-03'])).toContain('already closed');
  }, 120_000);

  it('refuses a client the store has never billed instead of writing a 0.00 invoice', () => {
    const r = spawnSync(process.execPath, [CLI, 'invoice', '--data', data, '--period', '2026-03', '--client', 'NO-SUCH-CLIENT', '--out', join(work, 'inv-none')], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('no client "NO-SUCH-CLIENT" in');
    expect(r.stderr).toContain('cdr invoice --period 2026-03 without --client');
    expect(readdirSync(work)).not.toContain('inv-none');
  });
});
