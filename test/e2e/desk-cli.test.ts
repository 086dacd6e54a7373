/**
 * The desk's commands as a user runs them, over both stores: `cdr token create|list|revoke`,
 * `cdr invoice` (CSV and JSON files), `cdr close`, and clear errors with exit code 2 for bad options.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Papa from 'papaparse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORE_KINDS, openTestStore, type TestStore } from '../api/support/stores.js';
import { CLIENT, PERIOD, seedWorld } from '../api/support/desk-world.js';
import { hashToken } from '../../services/store/desk/api-tokens.js';

const CLI = resolve('dist/services/cli/main.js');
const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'warn' } });

describe.each(STORE_KINDS)('desk commands over %s', (kind) => {
  let store: TestStore;
  let out: string;
  beforeAll(async () => {
    store = await openTestStore(kind);
    await seedWorld(store);
    // The test keeps its connection open while the commands run: the embedded store (SQLite, WAL) takes both.
    out = mkdtempSync(join(tmpdir(), 'cdr-desk-cli-'));
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    rmSync(out, { recursive: true, force: true });
  });

  it('creates a token printed once (only its hash kept), lists and revokes it', () => {
    const created = run(['token', 'create', '--role', 'invoicing', '--name', 'billing-bot', ...store.flags]);
    expect(created.status, created.stderr).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^cdr_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toContain('shown only now');
    const list = run(['token', 'list', ...store.flags]);
    expect(list.stdout).toMatch(/^billing-bot\tinvoicing\t/m);
    expect(list.stdout).not.toContain(token);
    expect(list.stdout).not.toContain(hashToken(token));
    expect(run(['token', 'create', '--role', 'invoicing', '--name', 'billing-bot', ...store.flags]).stderr).toContain('already exists');
    expect(run(['token', 'create', '--role', 'boss', '--name', 'x', ...store.flags]).stderr).toContain("Allowed choices are analyst, invoicing, admin");
    expect(run(['token', 'revoke', '--name', 'billing-bot', ...store.flags]).stdout).toContain('revoked billing-bot');
    expect(run(['token', 'list', ...store.flags]).stdout).toMatch(/^billing-bot\tinvoicing\t\S+\trevoked /m);
  });

  it('writes invoice files, closes the month once, and refuses a malformed period with exit code 2', () => {
    const csv = run(['invoice', '--period', PERIOD, '--client', CLIENT, '--out', out, ...store.flags]);
    expect(csv.status, csv.stderr).toBe(0);
    expect(csv.stdout).toContain(`${CLIENT} ${PERIOD} open: 1.37 EUR (exact 1.37)`);
    const rows = Papa.parse<Record<string, string>>(readFileSync(join(out, `invoice-${CLIENT}-${PERIOD}.csv`), 'utf8'), { header: true, skipEmptyLines: true }).data;
    expect(rows.map((r) => r.kind)).toEqual(['usage', 'usage', 'sanction', 'adjustment', 'total_usage', 'total_sanctions', 'total_late_calls', 'total_adjustments', 'total_exact', 'total']);
    expect(run(['invoice', '--period', PERIOD, '--format', 'json', '--out', out, ...store.flags]).status).toBe(0);
    const json = JSON.parse(readFileSync(join(out, `invoice-${CLIENT}-${PERIOD}.json`), 'utf8'));
    expect(json.totals.total).toBe('1.37');

    expect(run(['close', '--period', PERIOD, '--client', CLIENT, ...store.flags]).stdout).toBe(`closed ${CLIENT} ${PERIOD}: 1.37 EUR\n`);
    expect(run(['close', '--period', PERIOD, '--client', CLIENT, ...store.flags]).stdout).toContain('already closed');
    expect(run(['invoice', '--period', PERIOD, '--client', CLIENT, '--out', out, ...store.flags]).stdout).toContain(`${CLIENT} ${PERIOD} closed: 1.37 EUR`);

    const bad = run(['close', '--period', '2026-3', ...store.flags]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--period "2026-3": expected a month as YYYY-MM');
  });
});
