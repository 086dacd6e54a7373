/**
 * The desk's commands as a user runs them, over both stores: `cdr token create|list|revoke`,
 * `cdr invoice` (CSV and JSON files), `cdr close`, and clear errors with exit code 2 for bad options.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
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
    expect(csv.stdout).toContain(`${CLIENT} ${PERIOD} open: 1.37 EUR HT, VAT 20 % 0.27, 1.64 EUR TTC (exact HT 1.37)`);
    const rows = Papa.parse<Record<string, string>>(readFileSync(join(out, `invoice-${CLIENT}-${PERIOD}.csv`), 'utf8'), { header: true, skipEmptyLines: true }).data;
    expect(rows.map((r) => r.kind)).toEqual(['usage', 'usage', 'sanction', 'adjustment', 'total_usage', 'total_sanctions', 'total_late_calls', 'total_adjustments', 'total_ht_exact', 'total_ht', 'vat', 'total_ttc']);
    expect(run(['invoice', '--period', PERIOD, '--format', 'json', '--out', out, ...store.flags]).status).toBe(0);
    const json = JSON.parse(readFileSync(join(out, `invoice-${CLIENT}-${PERIOD}.json`), 'utf8'));
    expect(json.totals).toMatchObject({ total_ht: '1.37', vat_rate: '20', vat: '0.27', total_ttc: '1.64' });

    expect(run(['close', '--period', PERIOD, '--client', CLIENT, ...store.flags]).stdout).toBe(`closed ${CLIENT} ${PERIOD}: invoice FAC-000001, 1.37 EUR HT, VAT 20 % 0.27, 1.64 EUR TTC (exact HT 1.37)\n`);
    expect(run(['close', '--period', PERIOD, '--client', CLIENT, ...store.flags]).stdout).toContain('already closed');
    expect(run(['invoice', '--period', PERIOD, '--client', CLIENT, '--out', out, ...store.flags]).stdout).toContain(`${CLIENT} ${PERIOD} closed FAC-000001: 1.37 EUR HT`);

    const bad = run(['close', '--period', '2026-3', ...store.flags]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--period "2026-3": expected a month as YYYY-MM');
  });

  it('refuses an unknown --client with exit code 2 (no 0.00 invoice, no close)', () => {
    for (const command of ['invoice', 'close']) {
      const r = run([command, '--period', PERIOD, '--client', 'C-TYPO', ...(command === 'invoice' ? ['--out', join(out, 'typo')] : []), ...store.flags]);
      expect(r.status, command).toBe(2);
      expect(r.stderr, command).toContain('no client "C-TYPO" in the');
    }
    expect(existsSync(join(out, 'typo'))).toBe(false);
  });

  it('says a port is taken in words, and stops quietly when its reader goes away (cdr token list | head)', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as AddressInfo).port;
    const serve = run(['serve', '--port', String(port), '--subscribers', 'samples/subscribers.csv', ...store.flags]);
    taken.close();
    expect(serve.status).toBe(2);
    expect(serve.stderr).toBe(`error: port ${port} on 127.0.0.1 is already in use (another cdr serve?): stop it or choose another port with --port\n`);

    // A reader that exits at once: every write after that gets EPIPE.
    const piped = spawnSync('bash', ['-c', `"${process.execPath}" "${CLI}" token list ${store.flags.map((f) => `'${f}'`).join(' ')} | true; echo "exit \${PIPESTATUS[0]}" >&2`], { encoding: 'utf8' });
    expect(piped.stderr).toBe('exit 0\n');
  });
});
