/**
 * Invoice numbers and VAT, over both stores. French invoices carry numbers from one chronological
 * sequence without gaps, never reused: a close takes the next one, a refused or failed close takes none,
 * concurrent closes never share or skip one, and the counter cannot be moved by hand. VAT is computed on
 * the total HT at the client's rate (config/invoicing.yaml), half up to the cent.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvoicingTerms } from '../../services/config/invoicing-file.js';
import { ConfigError } from '../../services/config/config-error.js';
import { vatTotals } from '../../services/core/invoice/vat.js';
import { Money } from '../../services/core/money.js';
import { timeParam } from '../../services/store/row-values.js';
import { closeMonth, makeInvoice } from '../../services/invoice/make-invoice.js';
import { STORE_KINDS, openTestStore, type TestStore } from './support/stores.js';
import { ACCOUNT, CLIENT, PERIOD, seedWorld } from './support/desk-world.js';
import { insertRated } from './support/desk-rows.js';

const terms = InvoicingTerms.defaults();
const CLI = resolve('dist/services/cli/main.js');
const execFileAsync = promisify(execFile);
const AT = Date.parse('2026-04-02T09:00:00Z');

describe('VAT on an invoice total', () => {
  it.each([
    // total HT exact, rate, HT, VAT, TTC
    ['1.37', '20', '1.37', '0.27', '1.64'], // 0.274 down
    ['0.025', '20', '0.03', '0.01', '0.04'], // HT half up first, then 0.006 up
    ['0.0249', '20', '0.02', '0.00', '0.02'],
    ['10.00', '5.5', '10.00', '0.55', '10.55'],
    ['0.09', '5.5', '0.09', '0.00', '0.09'], // 0.00495 down
    ['0.10', '5.5', '0.10', '0.01', '0.11'], // 0.0055 half up
    ['123.4567', '8.5', '123.46', '10.49', '133.95'], // 10.4941
    ['-1.375', '20', '-1.38', '-0.28', '-1.66'], // a credit: half away from zero, like the debit
    ['99.99', '0', '99.99', '0.00', '99.99'],
  ])('%s HT at %s %% gives %s HT, %s VAT, %s TTC', (exact, rate, ht, vat, ttc) => {
    expect(vatTotals(new Money(exact), rate)).toEqual({ total_ht: ht, vat_rate: rate, vat, total_ttc: ttc });
  });
});

describe('invoicing.yaml', () => {
  let dir: string;
  beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), 'cdr-invoicing-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const load = (yaml: string) => {
    writeFileSync(join(dir, 'invoicing.yaml'), yaml);
    return InvoicingTerms.load(dir);
  };

  it('gives each client its rate, the default to the others, and numbers with the prefix', () => {
    const t = load('vat:\n  default: "20"\n  clients:\n    C-REUNION: "8.5"\n    C-EXPORT: "0"\ninvoice_number_prefix: "F2026-"\n');
    expect([t.vatRate('C-REUNION'), t.vatRate('C-EXPORT'), t.vatRate('C-OTHER')]).toEqual(['8.5', '0', '20']);
    expect(t.invoiceNumber(42)).toBe('F2026-000042');
  });

  it('defaults to 20 % and FAC- without the file', () => {
    const t = InvoicingTerms.load(join(dir, 'nowhere'));
    expect([t.vatRate('C-ANY'), t.invoiceNumber(1)]).toEqual(['20', 'FAC-000001']);
  });

  it.each([
    ['vat:\n  default: "20%"\n', 'vat.default'],
    ['vat:\n  clients:\n    C-1: "100"\n', 'vat.clients.C-1'],
    ['vat:\n  clients:\n    C-1: "5,5"\n', 'vat.clients.C-1'],
    ['vat:\n  standard: "20"\n', 'vat'],
    ['invoice_number_prefix: "=1+1"\n', 'invoice_number_prefix'],
  ])('refuses %j naming the file and the field', (yaml, field) => {
    expect(() => load(yaml)).toThrow(ConfigError);
    expect(() => load(yaml)).toThrow(new RegExp(`invoicing\\.yaml.*${field.replace(/\./g, '\\.')}`));
  });
});

describe.each(STORE_KINDS)('invoice numbers over %s', (kind) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await openTestStore(kind);
    await seedWorld(store);
    // One call a month from January to June, so that there is a month to close for each test.
    for (const m of ['01', '02', '04', '05', '06']) {
      await insertRated(store, { account: ACCOUNT, clientId: CLIENT, siteId: 'S-TOURS', userId: 'U1001', period: `2026-${m}`, cdrId: `n-${m}`, start: `2026-${m}-10T09:00:00Z`, callee: '+34911000000', destinationClass: 'international', country: 'ES', seconds: 60, inBundle: false, amount: '0.1500', reason: 'out_of_plan_destination' });
    }
  }, 60_000);
  afterAll(async () => {
    await store?.close();
  });
  const numbers = async () => (await store.sql.query<{ invoice_number: unknown }>('SELECT invoice_number FROM month_close ORDER BY invoice_number')).map((r) => Number(r.invoice_number));

  it('numbers closes 1, 2, 3 in the order they happen; an open month has none; a refused re-close takes none', async () => {
    expect((await makeInvoice(store.sql, terms, CLIENT, '2026-01')).invoice_number).toBeNull();
    const first = await closeMonth(store.sql, terms, CLIENT, '2026-01', 'ines', AT);
    const again = await closeMonth(store.sql, terms, CLIENT, '2026-01', 'ines', AT);
    const second = await closeMonth(store.sql, terms, CLIENT, PERIOD, 'ines', AT);
    expect(first.closed && first.invoice.invoice_number).toBe('FAC-000001');
    expect(again.closed).toBe(false);
    expect(second.closed && second.invoice.invoice_number).toBe('FAC-000002');
    expect((await makeInvoice(store.sql, terms, CLIENT, '2026-01')).invoice_number).toBe('FAC-000001');
    expect(await numbers()).toEqual([1, 2]);
  });

  it('gives concurrent closes of one month one number, and the next close the next one', async () => {
    // Six `cdr close` processes at once, as a billing batch started twice or two people would.
    const closes = await Promise.all(Array.from({ length: 6 }, () => execFileAsync(process.execPath, [CLI, 'close', '--period', '2026-02', '--client', CLIENT, ...store.flags], { env: { ...process.env, LOG_LEVEL: 'warn' } }).catch((e: { stderr?: string }) => ({ stdout: `failed: ${e.stderr}` }))));
    const outputs = closes.map((c) => c.stdout);
    expect(outputs.filter((o) => o.startsWith('failed'))).toEqual([]);
    expect(outputs.filter((o) => o.startsWith(`closed ${CLIENT} 2026-02: invoice FAC-000003,`))).toHaveLength(1);
    expect(outputs.filter((o) => o.includes('was already closed'))).toHaveLength(5);
    expect((await closeMonth(store.sql, terms, CLIENT, '2026-04', 'ines', AT)).closed).toBe(true);
    expect(await numbers()).toEqual([1, 2, 3, 4]);
  }, 60_000);

  it('rolls the number back with a close that fails, leaving no gap', async () => {
    // A close whose invoice cannot be composed (two currencies in one month) fails inside its transaction.
    await insertRated(store, { account: ACCOUNT, clientId: CLIENT, siteId: 'S-TOURS', userId: 'U1001', period: '2026-05', cdrId: 'n-05-usd', start: '2026-05-11T09:00:00Z', callee: '+34911000000', destinationClass: 'international', country: 'ES', seconds: 60, inBundle: false, amount: '0.1500', reason: 'out_of_plan_destination', currency: 'USD' });
    await expect(closeMonth(store.sql, terms, CLIENT, '2026-05', 'ines', AT)).rejects.toThrow(/several currencies/);
    const june = await closeMonth(store.sql, terms, CLIENT, '2026-06', 'ines', AT);
    expect(june.closed && june.invoice.invoice_number).toBe('FAC-000005');
    expect(await numbers()).toEqual([1, 2, 3, 4, 5]);
  });

  it('shows a month closed before VAT and numbers as it was issued: its total HT, no number, no VAT added', async () => {
    const legacy = {
      client_id: CLIENT, period: '2025-12', currency: 'EUR', status: 'closed', closed_at: '2026-01-05T09:00:00.000Z', closed_by: 'ines', lines: [],
      totals: { usage: '12.3456', sanctions: '0', late_calls: '0', adjustments: '0', total_exact: '12.3456', total: '12.35' },
    };
    await store.sql.query(
      `INSERT INTO month_close (client_id, period, closed_at, closed_by, last_rated_seq, last_adjustment_seq, invoice) VALUES ($1, $2, $3, 'ines', 0, 0, $4)`,
      [CLIENT, '2025-12', timeParam(Date.parse(legacy.closed_at)), JSON.stringify(legacy)],
    );
    const shown = await makeInvoice(store.sql, terms, CLIENT, '2025-12');
    expect(shown.invoice_number).toBeNull();
    expect(shown.totals).toEqual({ usage: '12.3456', sanctions: '0', late_calls: '0', adjustments: '0', total_ht_exact: '12.3456', total_ht: '12.35', vat_rate: '0', vat: '0.00', total_ttc: '12.35' });
  });

  it('refuses moving the counter by hand (back, forward by two, deleting it)', async () => {
    await expect(store.sql.query('UPDATE invoice_sequence SET last_number = 1')).rejects.toThrow(/never skipped or reused/);
    await expect(store.sql.query('UPDATE invoice_sequence SET last_number = last_number + 2')).rejects.toThrow(/never skipped or reused/);
    await expect(store.sql.query('DELETE FROM invoice_sequence')).rejects.toThrow(/never (skipped or )?reused/);
    if (kind === 'postgres') await expect(store.sql.query('TRUNCATE invoice_sequence')).rejects.toThrow(/never skipped or reused/);
    expect((await store.sql.query<{ last_number: unknown }>('SELECT last_number FROM invoice_sequence')).map((r) => Number(r.last_number))).toEqual([5]);
  });
});
