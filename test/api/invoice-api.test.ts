/**
 * Invoices and month close over both stores: lines by destination class and country, sanctions and
 * adjustments as their own lines, totals to the cent; a closed month never changes and what comes
 * late goes on the next open month, saying which month and calls it corrects; CSV is formula-safe.
 */
import Papa from 'papaparse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORE_KINDS, openTestStore, type TestStore } from './support/stores.js';
import { ACCOUNT, CLIENT, PERIOD, seedWorld, startWorld, type World } from './support/desk-world.js';
import { insertAdjustment, insertRated } from './support/desk-rows.js';

describe.each(STORE_KINDS)('invoices and month close over %s', (kind) => {
  let store: TestStore;
  let w: World;
  beforeAll(async () => {
    store = await openTestStore(kind);
    await seedWorld(store);
    w = await startWorld(store.sql, store.origin);
  }, 60_000);
  afterAll(async () => {
    await w?.app.close();
    await store?.close();
  });
  const get = (url: string) => w.app.inject({ method: 'GET', url, headers: w.auth('invoicing') });
  const late = { account: ACCOUNT, clientId: CLIENT, siteId: 'S-TOURS', userId: 'U1001', period: PERIOD };

  it('groups usage by destination class and country, sanctions by rule, adjustments by month corrected; totals exact and to the cent', async () => {
    const inv = (await get(`/api/v1/invoices/${CLIENT}/${PERIOD}`)).json();
    expect(inv).toMatchObject({ client_id: CLIENT, period: PERIOD, currency: 'EUR', status: 'open' });
    const lines = inv.lines.map((l: Record<string, unknown>) => [l.kind, l.corrects_period, l.destination_class, l.country, l.rule, l.calls, l.minutes, l.in_bundle_calls, l.out_of_bundle_calls, l.amount]);
    expect(lines).toEqual([
      ['usage', PERIOD, 'fr_fixed', 'FR', '', 1, '2.00', 1, 0, '0'],
      ['usage', PERIOD, 'international', 'GB', '', 1, '5.00', 0, 1, '0.75'],
      ['sanction', PERIOD, '', '', 'fair_use.duration', 2, '11.00', 0, 2, '0.5'],
      ['adjustment', PERIOD, '', '', 'fair_use.duration', 1, '0.00', 0, 0, '0.12'],
    ]);
    expect(inv.lines[3].cdr_ids).toEqual(['r2']);
    // first_amount of the rated rows (0 + 0 + 0.75 + 0.50) + the adjustment's delta (0.12)
    // VAT at the standard 20 % (no invoicing.yaml): 1.37 × 20 % = 0.274, half up to 0.27; TTC 1.37 + 0.27.
    expect(inv.totals).toEqual({ usage: '0.75', sanctions: '0.5', late_calls: '0', adjustments: '0.12', total_ht_exact: '1.37', total_ht: '1.37', vat_rate: '20', vat: '0.27', total_ttc: '1.64' });
    expect(inv.invoice_number).toBeNull();
    const usage = (await get(`/api/v1/usage/${CLIENT}/${PERIOD}`)).json();
    expect(usage.lines.map((l: { kind: string }) => l.kind)).toEqual(['usage', 'usage', 'sanction']);
    expect(usage.totals.total_ht).toBe('1.37');
  });

  it('exports the invoice as CSV, with totals rows', async () => {
    const r = await get(`/api/v1/invoices/${CLIENT}/${PERIOD}?format=csv`);
    expect(r.headers['content-type']).toContain('text/csv');
    const rows = Papa.parse<Record<string, string>>(r.body, { header: true, skipEmptyLines: true }).data;
    expect(rows.find((x) => x.kind === 'total_ht')).toMatchObject({ amount: '1.37', currency: 'EUR' });
    expect(rows.find((x) => x.kind === 'vat')).toMatchObject({ rule: '20%', amount: '0.27' });
    expect(rows.find((x) => x.kind === 'total_ttc')).toMatchObject({ amount: '1.64', currency: 'EUR', invoice_number: '' });
    expect(rows.find((x) => x.kind === 'usage' && x.country === 'GB')).toMatchObject({ destination_class: 'international', calls: '1', minutes: '5.00', amount: '0.75' });
  });

  it('neutralises spreadsheet formulas in invoice CSV and keeps negative amounts numbers', async () => {
    const other = { account: 'tcx02-u2001', clientId: 'C-TCX-02', siteId: 'S-PARIS', userId: 'U2001', period: PERIOD };
    await insertRated(store, { ...other, cdrId: 'x1', start: '2026-03-03T08:00:00Z', callee: '+33145000009', destinationClass: '=HYPERLINK("http://evil","x")', country: '+FR', seconds: 60, inBundle: false, amount: '1.0000', reason: '@SUM(A1)' });
    await insertAdjustment(store, { cdrId: 'x1', clientId: 'C-TCX-02', period: PERIOD, previous: '1.0000', next: '0.8800', delta: '-0.1200', reason: '-2+3' });
    const body = (await get(`/api/v1/invoices/C-TCX-02/${PERIOD}?format=csv`)).body;
    const rows = Papa.parse<Record<string, string>>(body, { header: true, skipEmptyLines: true }).data;
    const usage = rows.find((x) => x.kind === 'usage')!;
    expect(usage.destination_class).toBe(`'=HYPERLINK("http://evil","x")`);
    expect(usage.country).toBe("'+FR");
    const adjustment = rows.find((x) => x.kind === 'adjustment')!;
    expect(adjustment.rule).toBe("'-2+3");
    expect(adjustment.amount).toBe('-0.12');
    for (const row of rows) for (const v of Object.values(row)) expect(v, v).not.toMatch(/^[=+@\t\r]/);
    expect(rows.find((x) => x.kind === 'total_ht')!.amount).toBe('0.88');
  });

  it('closes a month once; afterwards its invoice never changes and late rows go on the next open month', async () => {
    const before = (await get(`/api/v1/invoices/${CLIENT}/${PERIOD}`)).json();
    const close = await w.app.inject({ method: 'POST', url: `/api/v1/months/${CLIENT}/${PERIOD}/close`, headers: w.auth('invoicing') });
    expect(close.statusCode).toBe(201);
    // The first invoice this store issues: FAC-000001; the refused second close takes no number.
    expect(close.json()).toMatchObject({ closed_by: 'ines', invoice_number: 'FAC-000001', total_ht: '1.37', vat: '0.27', total_ttc: '1.64' });
    expect((await w.app.inject({ method: 'POST', url: `/api/v1/months/${CLIENT}/${PERIOD}/close`, headers: w.auth('invoicing') })).statusCode).toBe(409);

    // A late CDR of March and a later threshold crossing re-pricing a March call, both after the close.
    await insertRated(store, { ...late, cdrId: 'r5-late', start: '2026-03-30T20:00:00Z', callee: '+34911000000', destinationClass: 'international', country: 'ES', seconds: 120, inBundle: false, amount: '0.3000', reason: 'out_of_plan_destination' });
    await insertAdjustment(store, { cdrId: 'r1', clientId: CLIENT, period: PERIOD, previous: '0.0000', next: '0.0400', delta: '0.0400', reason: 'fair_use.distinct_numbers' });

    const after = (await get(`/api/v1/invoices/${CLIENT}/${PERIOD}`)).json();
    expect(after.status).toBe('closed');
    expect(after.invoice_number).toBe('FAC-000001');
    expect({ ...after, status: 'open', invoice_number: null, closed_at: null, closed_by: null }).toEqual(before);

    const april = (await get(`/api/v1/invoices/${CLIENT}/2026-04`)).json();
    expect(april.lines).toEqual([
      expect.objectContaining({ kind: 'late_calls', corrects_period: PERIOD, calls: 1, amount: '0.3', cdr_ids: ['r5-late'] }),
      expect.objectContaining({ kind: 'adjustment', corrects_period: PERIOD, rule: 'fair_use.distinct_numbers', amount: '0.04', cdr_ids: ['r1'] }),
    ]);
    expect(april.totals).toMatchObject({ late_calls: '0.3', adjustments: '0.04', total_ht: '0.34', vat: '0.07', total_ttc: '0.41' });

    // Once April is closed too, the next late March call goes on May's invoice.
    const aprilClose = await w.app.inject({ method: 'POST', url: `/api/v1/months/${CLIENT}/2026-04/close`, headers: w.auth('invoicing') });
    expect(aprilClose.statusCode).toBe(201);
    expect(aprilClose.json().invoice_number).toBe('FAC-000002');
    await insertRated(store, { ...late, cdrId: 'r6-later', start: '2026-03-31T20:00:00Z', callee: '+34911000001', destinationClass: 'international', country: 'ES', seconds: 60, inBundle: false, amount: '0.1500', reason: 'out_of_plan_destination' });
    expect((await get(`/api/v1/invoices/${CLIENT}/2026-04`)).json().totals.total_ht).toBe('0.34');
    const may = (await get(`/api/v1/invoices/${CLIENT}/2026-05`)).json();
    expect(may.lines).toEqual([expect.objectContaining({ kind: 'late_calls', corrects_period: PERIOD, cdr_ids: ['r6-later'], amount: '0.15' })]);

    const months = (await get(`/api/v1/months/${CLIENT}`)).json();
    expect(months.closed.map((c: { period: string }) => c.period)).toEqual([PERIOD, '2026-04']);
    const trail = (await get(`/api/v1/audit?subject_type=month&subject_id=${CLIENT}/${PERIOD}`)).json().events;
    expect(trail).toEqual([expect.objectContaining({ actor: 'ines', action: 'close_month', from: 'open', to: 'closed', detail: expect.stringContaining('invoice FAC-000001') })]);
  });
});
