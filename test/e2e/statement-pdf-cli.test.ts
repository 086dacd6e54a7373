/**
 * `cdr invoice --format pdf` end to end: a generated month rated by `cdr rate`, closed by `cdr close`,
 * printed as the detailed statement of its busiest client (thousands of calls) by Debian's chromium; the
 * PDF's text, extracted with pdfjs-dist, carries the invoice number and totals, the number of calls, and
 * never the full number of anyone called.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import Papa from 'papaparse';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Invoice } from '../../services/core/invoice/compose-invoice.js';

const CLI = resolve('dist/services/cli/main.js');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const missing = !existsSync(CHROMIUM);
if (missing) {
  // Printed, never silent, as the desk's browser tests do (scripts/ensure-chromium.sh installs it where it can).
  console.warn(`SKIPPING the PDF statement test: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`);
}

function cdr(args: string[]): string {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'warn' } });
  if (r.status !== 0) throw new Error(`cdr ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** Every text item of every page, joined, every kind of space as one space. */
async function pdfText(file: string): Promise<{ text: string; pages: number }> {
  const pdf = await getDocument({ data: new Uint8Array(readFileSync(file)), useSystemFonts: true }).promise;
  const parts: string[] = [];
  for (let i = 1; i <= pdf.numPages; i++) {
    const content = await (await pdf.getPage(i)).getTextContent();
    for (const item of content.items) if ('str' in item) parts.push(item.str);
  }
  const pages = pdf.numPages;
  await pdf.destroy();
  return { text: parts.join(' ').replace(/\s+/g, ' '), pages };
}

/** As a French document prints an amount: « 1 234,56 € » (spaces of any kind as one). */
const euros = (amount: string) => new Intl.NumberFormat('fr-FR', { style: 'currency', currency: 'EUR' }).format(amount as Intl.StringNumericLiteral).replace(/\s/g, ' ');

describe.skipIf(missing)('cdr invoice --format pdf over a generated month', () => {
  let work: string;
  let data: string;
  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run make build (npx tsc -p tsconfig.build.json) first`);
    work = mkdtempSync(join(tmpdir(), 'cdr-statement-'));
    data = join(work, 'data');
    const gen = join(work, 'gen');
    cdr(['generate', '--subscribers', '20', '--days', '30', '--start', '2026-03-01', '--inject', 'duration_40h', 'distinct_numbers', 'premium_destination', '--out', gen]);
    const days = readdirSync(gen).filter((f) => f.startsWith('cdrs-')).map((f) => join(gen, f));
    cdr(['rate', '--data', data, '--out', join(work, 'out'), '--subscribers', join(gen, 'subscribers.csv'), ...days]);
    cdr(['close', '--data', data, '--period', '2026-03']);
  }, 180_000);
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('prints the busiest client month as a PDF with the invoice number, totals and calls, and no full called number', async () => {
    cdr(['invoice', '--data', data, '--period', '2026-03', '--format', 'json', '--out', join(work, 'json')]);
    const invoices = readdirSync(join(work, 'json')).map((f) => JSON.parse(readFileSync(join(work, 'json', f), 'utf8')) as Invoice);
    const callsOf = (i: Invoice) => i.lines.filter((l) => l.kind !== 'adjustment').reduce((n, l) => n + l.calls, 0);
    const invoice = invoices.sort((a, b) => callsOf(b) - callsOf(a))[0]!;
    const calls = callsOf(invoice);
    expect(calls).toBeGreaterThan(2000);
    expect(invoice.invoice_number).toMatch(/^FAC-\d{6}$/);

    const started = Date.now();
    const printed = cdr(['invoice', '--data', data, '--period', '2026-03', '--client', invoice.client_id, '--format', 'pdf', '--out', join(work, 'pdf')]);
    const seconds = (Date.now() - started) / 1000;
    const file = join(work, 'pdf', `statement-${invoice.client_id}-2026-03.pdf`);
    expect(printed).toContain(`${invoice.client_id} 2026-03 closed ${invoice.invoice_number}: ${invoice.totals.total_ht} EUR HT`);
    expect(readFileSync(file).subarray(0, 5).toString('latin1')).toBe('%PDF-');

    const { text, pages } = await pdfText(file);
    console.info(`statement of ${invoice.client_id}: ${calls} calls, ${pages} pages, printed in ${seconds.toFixed(1)} s`);
    expect(text).toContain('Relevé détaillé des communications');
    expect(text).toContain(`Facture n° ${invoice.invoice_number}`);
    const t = invoice.totals;
    expect(text).toContain(`Total HT ${euros(t.total_ht)} TVA ${t.vat_rate} % ${euros(t.vat)} Total TTC ${euros(t.total_ttc)}`);
    expect(text).toContain(`${new Intl.NumberFormat('fr-FR').format(calls).replace(/\s/g, ' ')} appels`);
    expect(text).toMatch(/\+33 [1-9] \d\d \d\d XX XX/);

    // No callee of the client in full: its national number never appears, however grouped.
    const rated = Papa.parse<Record<string, string>>(readFileSync(join(work, 'out', readdirSync(join(work, 'out')).find((d) => d.startsWith('run-'))!, 'rated.csv'), 'utf8'), { header: true, skipEmptyLines: true }).data;
    const callees = new Set(rated.filter((r) => r.client_id === invoice.client_id).map((r) => r.callee!.replace(/^'/, '')));
    const squeezed = text.replace(/[\s.()-]/g, '');
    let checked = 0;
    for (const callee of callees) {
      const national = parsePhoneNumberFromString(callee)?.nationalNumber ?? callee.replace(/\D/g, '');
      if (national.length <= 4) continue; // short and emergency numbers are printed as dialled
      expect(squeezed, callee).not.toContain(national);
      checked += 1;
    }
    expect(checked).toBeGreaterThan(10);
  }, 240_000);

  it('refuses --format pdf without a Chromium, saying how to get one', () => {
    const r = spawnSync(process.execPath, [CLI, 'invoice', '--data', data, '--period', '2026-03', '--format', 'pdf', '--chromium', join(work, 'no-chromium'), '--out', join(work, 'none')], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`no Chromium at ${join(work, 'no-chromium')}`);
    expect(r.stderr).toContain('apt-get install -y chromium');
    expect(existsSync(join(work, 'none'))).toBe(false);
  });
});
