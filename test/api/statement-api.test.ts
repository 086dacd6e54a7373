/**
 * The detailed statement (« relevé détaillé des communications ») served by `cdr serve`, over both
 * stores: what a customer reads on it — the plan, each counter against its threshold in its unit, the
 * sanctions with their contract clause, every billed call with the called number masked, the totals of
 * the invoice to the cent — and that a CDR field cannot inject markup.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Money, ZERO } from '../../services/core/money.js';
import { STORE_KINDS, openTestStore, type TestStore } from './support/stores.js';
import { ACCOUNT, CLIENT, PERIOD, seedWorld, startWorld, type World } from './support/desk-world.js';
import { insertCounter, insertRated } from './support/desk-rows.js';

/** The text a reader sees: tags dropped, entities decoded, every kind of space as one space. */
function visibleText(html: string): string {
  return html
    .replace(/<style>[\s\S]*?<\/style>/g, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
    .replace(/\s+/g, ' ');
}

/** The exact amounts the call tables (or the adjustments table) list, from their data-amount cells. */
function listedAmounts(html: string, table: RegExp): Money {
  let sum = ZERO;
  for (const t of html.match(table) ?? []) for (const m of t.matchAll(/data-amount="([^"]*)"/g)) sum = sum.plus(new Money(m[1]!));
  return sum;
}
const CALL_TABLES = /<table class="calls"[\s\S]*?<\/table>/g;
const ADJUSTMENT_TABLE = /<table id="adjustments"[\s\S]*?<\/table>/g;

/** The national significant number must not appear, in whatever grouping or with whatever prefix. */
function expectNoFullNumber(html: string, e164: string): void {
  const squeezed = html.replace(/[\s\u00a0\u202f.()-]/g, '');
  const national = e164.replace(/^\+(33|34|44|1)/, '');
  expect(squeezed, e164).not.toContain(national);
}

const CALLEES = ['+33145000001', '+33145000002', '+442079460000', '+33612345678'];

describe.each(STORE_KINDS)('detailed statement over %s', (kind) => {
  let store: TestStore;
  let w: World;
  beforeAll(async () => {
    store = await openTestStore(kind);
    await seedWorld(store);
    // A counter as the rater writes it: its key names the plan and the clause (#2: three simultaneous calls).
    await insertCounterWithKey(store, `technicophone_centrex#2|${CLIENT}/S-TOURS/U1001|${PERIOD}`);
    w = await startWorld(store.sql, store.origin);
  }, 60_000);
  afterAll(async () => {
    await w?.app.close();
    await store?.close();
  });
  const get = (url: string, role: 'invoicing' | 'analyst' = 'invoicing') => w.app.inject({ method: 'GET', url, headers: w.auth(role) });

  async function insertCounterWithKey(s: TestStore, key: string): Promise<void> {
    await s.sql.query(
      `INSERT INTO counter_state (key, client_id, site_id, user_id, scope, scope_key, period, rule, value, threshold, crossed_at, state)
       VALUES ($1, $2, 'S-TOURS', 'U1001', 'user', $3, $4, 'fair_use.concurrent_calls', 4, 3, $5, '')`,
      [key, CLIENT, `${CLIENT}/S-TOURS/U1001`, PERIOD, new Date('2026-03-10T09:30:00Z')],
    );
  }

  it('shows the plan, the counters against their thresholds, the sanctions with their clause, masked numbers and the invoice totals', async () => {
    const r = await get(`/api/v1/statements/${CLIENT}/${PERIOD}`);
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['content-security-policy']).toContain("default-src 'none'");
    const text = visibleText(r.body);
    expect(text).toContain('Relevé détaillé des communications');
    expect(text).toContain('Client C-TCX-01');
    expect(text).toContain('Période mars 2026 (2026-03)');
    expect(text).toContain('mois non clos : relevé provisoire, sans numéro de facture');
    expect(text).toContain('TECHNICOPHONE Téléphonie Hébergée (Centrex) — forfait illimité TECHNICOPHONE technicophone_centrex 1');

    // Counters: value against threshold, durations in h:mm, counts in numbers; the clause they come from.
    expect(text).toMatch(/Numéros distincts appelés Utilisateur U1001 \(site S-TOURS\) 151 numéros 150 numéros Dépassé le 11\/03\/2026 11:00:00 clause « L’utilisateur appelle au cours du mois plus de 150 numéros différents par utilisateur ;[^»]*», TECHNICOPHONE CP V Téléphonie Hébergée \(Centrex\), §8 l\.4232-4233, 4244-4248/);
    expect(text).toMatch(/Durée des appels sortants Utilisateur U1001 \(site S-TOURS\) 0:18 40:00 Sous le seuil clause « L’utilisateur n’appelle pas au cours du mois plus de 40h par canal/);
    expect(text).toContain('Durée des appels sortants Utilisateur U1002 (site S-TOURS) 0:01 40:00 Sous le seuil');
    // Found by the rater's key (plan#clause): the three-simultaneous-calls clause, crossed at 10:30 Paris time.
    expect(text).toMatch(/Appels simultanés Utilisateur U1001 \(site S-TOURS\) 4 appels 3 appels Dépassé le 10\/03\/2026 10:30:00 clause « Un utilisateur utilise plus de trois appels simultanés/);
    // The seeded plan has no pool: the pool counter is shown without a clause, said so.
    expect(text).toContain('Minutes du forfait mutualisé Site S-TOURS 116:40 166:40 Sous le seuil clause introuvable dans la configuration');

    // The sanction line of the invoice (two calls priced under fair_use.duration, 0.50 €) and its clause.
    expect(text).toMatch(/Dépassements facturés Règle Appels Minutes Montant HT Clause du contrat Durée des appels sortants 2 11 0,50 € clause « L’utilisateur n’appelle pas[^»]*», TECHNICOPHONE CP V Téléphonie Hébergée \(Centrex\), §8 l\.4235, 4244-4248/);

    // Each call: Paris time, masked number, destination, h:mm:ss, reason, the amount billed.
    expect(text).toContain('10/03/2026 09:00:00 U1001 +33 1 45 00 XX XX Fixe France 0:02:00 Inclus au forfait 0,00 €');
    expect(text).toContain('10/03/2026 11:00:00 U1001 +44 20 7946 XXXX International — Royaume-Uni 0:05:00 Hors forfait 0,75 €');
    expect(text).toContain('11/03/2026 11:00:00 U1001 +33 6 12 34 XX XX Mobile France 0:10:00 Dépassement : durée des appels sortants 0,50 €');
    expect(text).toContain('4 appels 0:18:00 1,25 €');
    // The adjustment, with the call it corrects.
    expect(text).toContain('2026-03 10/03/2026 10:00:00 +33 1 45 00 XX XX Dépassement : durée des appels sortants 0,12 €');
    for (const n of CALLEES) expectNoFullNumber(r.body, n);

    // Totals equal the invoice's, to the cent; the listed calls add up to total HT minus adjustments.
    const inv = (await get(`/api/v1/invoices/${CLIENT}/${PERIOD}`)).json();
    expect(text).toContain('Total HT 1,37 € TVA 20 % 0,27 € Total TTC 1,64 €');
    expect([inv.totals.total_ht, inv.totals.vat, inv.totals.total_ttc]).toEqual(['1.37', '0.27', '1.64']);
    const calls = listedAmounts(r.body, CALL_TABLES);
    const adjustments = listedAmounts(r.body, ADJUSTMENT_TABLE);
    expect(calls.toFixed()).toBe(new Money(inv.totals.total_ht_exact).minus(inv.totals.adjustments).toFixed());
    expect(adjustments.toFixed()).toBe(new Money(inv.totals.adjustments).toFixed());
  });

  it('escapes a CDR field that carries markup, and the document runs no script', async () => {
    const other = { account: 'tcx02-u2001', clientId: 'C-TCX-02', siteId: 'S-PARIS', userId: 'U2001', period: PERIOD };
    await insertRated(store, { ...other, cdrId: 'x-inject', start: '2026-03-03T08:00:00Z', callee: '+33145000009', destinationClass: '<script>alert(1)</script>', country: '"><img src=x onerror=alert(2)>', seconds: 60, inBundle: false, amount: '1.0000', reason: '<b>bold</b>' });
    const r = await get(`/api/v1/statements/C-TCX-02/${PERIOD}`);
    expect(r.statusCode).toBe(200);
    expect(r.body).not.toMatch(/<script|<img|<b>/i);
    expect(r.body).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(visibleText(r.body)).toContain('<script>alert(1)</script> — "><img src=x onerror=alert(2)> 0:01:00 <b>bold</b> 1,00 €');
  });

  it('answers 404 for a client the directory does not know, and 403 to the analyst role', async () => {
    const unknown = await get(`/api/v1/statements/C-NOBODY/${PERIOD}`);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ error: 'not_found', message: 'no client C-NOBODY in the subscriber directory' });
    expect((await get(`/api/v1/statements/${CLIENT}/${PERIOD}`, 'analyst')).statusCode).toBe(403);
    expect((await get(`/api/v1/statements/${CLIENT}/2026-13`)).statusCode).toBe(400);
  });

  it('after the close: the closed month shows its invoice number and its calls only; a late call goes on the next month under its own heading', async () => {
    const close = await w.app.inject({ method: 'POST', url: `/api/v1/months/${CLIENT}/${PERIOD}/close`, headers: w.auth('invoicing') });
    expect(close.statusCode).toBe(201);
    const number = close.json().invoice_number as string;
    const base = { account: ACCOUNT, clientId: CLIENT, siteId: 'S-TOURS', userId: 'U1001', period: PERIOD };
    await insertRated(store, { ...base, cdrId: 'r5-late', start: '2026-03-30T21:30:00Z', callee: '+34911000001', destinationClass: 'international', country: 'ES', seconds: 3725, inBundle: false, amount: '0.1900', reason: 'out_of_plan_destination' });

    const march = await get(`/api/v1/statements/${CLIENT}/${PERIOD}`);
    const marchText = visibleText(march.body);
    expect(marchText).toContain(`Facture n° ${number}`);
    expect(marchText).toContain('Total HT 1,37 € TVA 20 % 0,27 € Total TTC 1,64 €');
    expect(marchText).not.toContain('+34 911 00 XX XX');

    const april = await get(`/api/v1/statements/${CLIENT}/2026-04`);
    const aprilText = visibleText(april.body);
    const inv = (await get(`/api/v1/invoices/${CLIENT}/2026-04`)).json();
    expect(inv.totals).toMatchObject({ total_ht: '0.19', vat: '0.04', total_ttc: '0.23' });
    expect(aprilText).toContain('Appels tardifs de mars 2026 (mois clos), facturés sur ce relevé');
    // 23:30 in Paris on 30 March (summer time since the 29th); 1 h 02 min 05 s.
    expect(aprilText).toContain('30/03/2026 23:30:00 U1001 +34 911 00 XX XX International — Espagne 1:02:05 Hors forfait 0,19 €');
    expect(aprilText).toContain('Total HT 0,19 € TVA 20 % 0,04 € Total TTC 0,23 €');
    expectNoFullNumber(april.body, '+34911000001');
    expect(listedAmounts(april.body, CALL_TABLES).toFixed()).toBe('0.19');
  });
});
