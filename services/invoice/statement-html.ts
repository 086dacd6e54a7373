/**
 * The detailed statement as one HTML document, in French as the customer reads it: `cdr serve` sends it
 * and `cdr invoice --format pdf` prints this same text through Chromium, so the two cannot disagree.
 *
 * Every value from the store or the configuration goes through escapeHtml(): a CDR field is data from a
 * switch, never markup. Dates and times are in Europe/Paris; amounts use the French number format
 * (Intl, « 1 234,56 € »). Totals are to the cent; a call's amount is printed exactly as billed (a tariff
 * may give 4 decimals), so that the column adds up to the section's total and the invoice's.
 */
import { Money } from '../core/money.js';
import type { CallSection, CounterMetric, Statement, StatementCounter } from '../core/invoice/statement.js';
import type { InvoiceLine } from '../core/invoice/compose-invoice.js';

const ZONE = 'Europe/Paris';
const dateTime = new Intl.DateTimeFormat('fr-FR', { timeZone: ZONE, dateStyle: 'short', timeStyle: 'medium' });
const integer = new Intl.NumberFormat('fr-FR', { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat('fr-FR', { maximumFractionDigits: 3 });
const monthName = new Intl.DateTimeFormat('fr-FR', { month: 'long', year: 'numeric', timeZone: 'UTC' });
const regions = new Intl.DisplayNames(['fr'], { type: 'region' });

export function escapeHtml(value: string | number): string {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Money formatters per currency and decimals; Intl formats the decimal string exactly (no float on the way). */
const moneyFormats = new Map<string, Intl.NumberFormat>();
function moneyFormat(currency: string, decimals: number): Intl.NumberFormat {
  const key = `${currency}|${decimals}`;
  let f = moneyFormats.get(key);
  if (f === undefined) {
    f = new Intl.NumberFormat('fr-FR', { style: 'currency', currency, minimumFractionDigits: decimals, maximumFractionDigits: decimals });
    moneyFormats.set(key, f);
  }
  return f;
}

/** To the cent, half up (decimal.js), then formatted: « 1 234,56 € ». */
function cents(amount: string, currency: string): string {
  return moneyFormat(currency, 2).format(new Money(amount).toFixed(2) as Intl.StringNumericLiteral);
}

/**
 * As billed, with `decimals` places (the most any listed amount has, at least two), so the column reads
 * evenly: « 0,0333 € », « 3,2400 € ».
 */
function exact(amount: string, currency: string, decimals: number): string {
  return moneyFormat(currency, decimals).format(new Money(amount).toFixed(decimals) as Intl.StringNumericLiteral);
}

/** The decimals that print every amount of a list exactly: 2, or more where a tariff gives more. */
function decimalsOf(amounts: readonly string[]): number {
  let most = 2;
  for (const a of amounts) most = Math.max(most, new Money(a).decimalPlaces());
  return most;
}

/** « 1:02:05 » */
export function hms(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  return `${h}:${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}`;
}

/** « 40:00 »: hours and minutes, for counters of seconds. */
export function hm(seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  return `${Math.floor(minutes / 60)}:${String(minutes % 60).padStart(2, '0')}`;
}

function when(iso: string): string {
  return dateTime.format(new Date(iso));
}

export function monthLabel(period: string): string {
  const [y, m] = period.split('-').map(Number) as [number, number];
  return monthName.format(Date.UTC(y, m - 1, 1));
}

function countryName(code: string): string {
  if (!/^[A-Z]{2}$/.test(code)) return code;
  try {
    return regions.of(code) ?? code;
  } catch {
    return code;
  }
}

const CLASSES: Record<string, string> = {
  fr_fixed: 'Fixe France', fr_mobile: 'Mobile France', fr_drom_fixed: 'Fixe Outre-mer', fr_drom_mobile: 'Mobile Outre-mer',
  fr_special: 'Numéro spécial (08)', fr_freephone: 'Numéro vert (0800-0805)', fr_special_normal: 'Numéro spécial, prix d’un appel normal',
  fr_shared_cost: 'Numéro à coût partagé', fr_premium: 'Numéro surtaxé', fr_short: 'Numéro court', fr_short_free: 'Numéro court gratuit',
  fr_directory: 'Renseignements (118)', emergency: 'Urgence', internal: 'Appel interne', international: 'International', unknown: 'Inconnue',
};

const RULES: Record<string, string> = {
  'fair_use.distinct_numbers': 'Numéros distincts appelés',
  'fair_use.duration': 'Durée des appels sortants',
  'fair_use.concurrent_calls': 'Appels simultanés',
  'fair_use.forwarding': 'Renvois et transferts d’appels',
  pool_exhausted: 'Minutes du forfait mutualisé',
};

const REASONS: Record<string, string> = {
  bundle: 'Inclus au forfait', metered: 'Facturé à la minute', out_of_plan_destination: 'Hors forfait', emergency: 'Urgence, gratuit',
  internal: 'Interne, gratuit', inbound: 'Entrant, non facturé', not_answered: 'Non répondu, gratuit', pool_exhausted: 'Forfait mutualisé épuisé',
};

const ruleLabel = (rule: string) => RULES[rule] ?? rule;
const reasonLabel = (reason: string) => REASONS[reason] ?? (RULES[reason] ? `Dépassement : ${RULES[reason]!.toLowerCase()}` : reason);
const destination = (cls: string, country: string) => `${CLASSES[cls] ?? cls}${cls === 'international' || (country !== 'FR' && country !== '') ? ` — ${countryName(country)}` : ''}`;

/** A counter's value or threshold in its unit: h:mm for durations, a count otherwise. */
function counterValue(metric: CounterMetric, value: number): string {
  switch (metric) {
    case 'outbound_seconds':
    case 'forwarded_seconds':
    case 'pooled_seconds':
      return hm(value);
    case 'distinct_numbers':
      return `${integer.format(value)} numéros`;
    case 'concurrent_calls':
      return `${integer.format(value)} appels`;
    default:
      return decimal.format(value);
  }
}

function scopeLabel(c: StatementCounter): string {
  switch (c.scope) {
    case 'user':
    case 'line':
      return `Utilisateur ${c.userId} (site ${c.siteId})`;
    case 'site':
      return `Site ${c.siteId}`;
    default:
      return 'Tout le client';
  }
}

const KINDS: Record<InvoiceLine['kind'], string> = { usage: 'Consommation', sanction: 'Dépassement', late_calls: 'Appels tardifs', adjustment: 'Régularisation' };

const e = escapeHtml;

export function statementHtml(s: Statement): string {
  const cur = s.currency;
  const t = s.totals;
  const vatRate = `${decimal.format(Number(t.vat_rate))} %`;
  const out: string[] = [];
  out.push(`<!doctype html>
<html lang="fr"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Relevé détaillé des communications — ${e(s.clientId)} — ${e(monthLabel(s.period))}</title>
<style>${STYLE}</style></head><body>
<h1>Relevé détaillé des communications</h1>
<table class="head"><tbody>
<tr><th>Client</th><td id="client">${e(s.clientId)}</td></tr>
<tr><th>Période</th><td id="period">${e(monthLabel(s.period))} (${e(s.period)})</td></tr>
<tr><th>Facture</th><td id="invoice-number">${s.invoiceNumber !== null ? `n° ${e(s.invoiceNumber)}` : 'mois non clos : relevé provisoire, sans numéro de facture'}</td></tr>
${s.closedAt !== null ? `<tr><th>Clôturé le</th><td>${e(when(s.closedAt))}</td></tr>` : ''}
</tbody></table>`);
  out.push(totalsTable(s, 'totals-head'));

  out.push('<h2>Forfait</h2><table id="plans"><thead><tr><th>Forfait</th><th>Fournisseur</th><th>Identifiant</th><th class="n">Utilisateurs</th></tr></thead><tbody>');
  for (const p of s.plans) {
    out.push(`<tr><td>${p.name !== null ? e(p.name) : '<em>absent de la configuration</em>'}</td><td>${e(p.provider ?? '')}</td><td>${e(p.id)}</td><td class="n">${e(integer.format(p.users))}</td></tr>`);
  }
  out.push('</tbody></table>');

  out.push('<h2>Compteurs du mois</h2>');
  if (s.counters.length === 0) out.push('<p>Aucun compteur d’usage raisonnable pour ce mois.</p>');
  else {
    out.push('<table id="counters"><thead><tr><th>Compteur</th><th>Périmètre</th><th class="n">Consommé</th><th class="n">Seuil</th><th>État</th><th>Clause du contrat</th></tr></thead><tbody>');
    for (const c of s.counters) {
      const state = c.crossed ? `<strong>Dépassé</strong>${c.crossedAt ? ` le ${e(when(c.crossedAt))}` : ''}` : 'Sous le seuil';
      out.push(`<tr class="counter"><td>${e(ruleLabel(c.rule))}</td><td>${e(scopeLabel(c))}</td><td class="n">${e(counterValue(c.metric, c.value))}</td><td class="n">${e(counterValue(c.metric, c.threshold))}</td><td>${state}</td><td class="clause">${e(c.clause ?? 'clause introuvable dans la configuration')}</td></tr>`);
    }
    out.push('</tbody></table>');
  }

  out.push('<h2>Dépassements facturés</h2>');
  if (s.sanctions.length === 0) out.push('<p>Aucun appel facturé pour dépassement d’un seuil d’usage raisonnable.</p>');
  else {
    out.push('<table id="sanctions"><thead><tr><th>Règle</th><th class="n">Appels</th><th class="n">Minutes</th><th class="n">Montant HT</th><th>Clause du contrat</th></tr></thead><tbody>');
    for (const x of s.sanctions) {
      out.push(`<tr class="sanction"><td>${e(ruleLabel(x.rule))}</td><td class="n">${e(integer.format(x.calls))}</td><td class="n">${e(decimal.format(Number(x.minutes)))}</td><td class="n">${e(cents(x.amount, cur))}</td><td class="clause">${x.clauses.length === 0 ? 'clause introuvable dans la configuration' : x.clauses.map((c) => `<div>${e(c)}</div>`).join('')}</td></tr>`);
    }
    out.push('</tbody></table>');
  }

  out.push('<h2>Récapitulatif de la facture</h2><table id="summary"><thead><tr><th>Ligne</th><th>Mois</th><th>Détail</th><th class="n">Appels</th><th class="n">Minutes</th><th class="n">Montant HT</th></tr></thead><tbody>');
  for (const l of s.summary) {
    const detail = l.kind === 'usage' ? destination(l.destination_class, l.country) : l.kind === 'late_calls' ? `mois clos de ${monthLabel(l.corrects_period)}` : ruleLabel(l.rule);
    out.push(`<tr><td>${e(KINDS[l.kind])}</td><td>${e(l.corrects_period)}</td><td>${e(detail)}</td><td class="n">${e(integer.format(l.calls))}</td><td class="n">${e(decimal.format(Number(l.minutes)))}</td><td class="n">${e(cents(l.amount, cur))}</td></tr>`);
  }
  out.push('</tbody></table>');

  const places = decimalsOf([...s.sections.flatMap((x) => x.calls.map((c) => c.amount)), ...s.adjustments.map((a) => a.amount)]);
  out.push('<h2>Détail des appels</h2>');
  if (s.sections.length === 0) out.push('<p>Aucun appel facturé sur ce mois.</p>');
  for (const section of s.sections) out.push(callSection(section, s, places));

  out.push('<h2>Régularisations</h2>');
  if (s.adjustments.length === 0) out.push('<p>Aucune régularisation sur ce mois.</p>');
  else {
    out.push('<table id="adjustments"><thead><tr><th>Mois corrigé</th><th>Appel du</th><th>Numéro appelé</th><th>Motif</th><th class="n">Montant HT</th></tr></thead><tbody>');
    for (const a of s.adjustments) {
      out.push(`<tr class="adjustment"><td>${e(a.correctsPeriod)}</td><td>${a.startTime ? e(when(a.startTime)) : ''}</td><td class="num">${e(a.callee ?? '')}</td><td>${e(reasonLabel(a.reason))}</td><td class="n" data-amount="${e(a.amount)}">${e(exact(a.amount, cur, places))}</td></tr>`);
    }
    out.push(`</tbody><tfoot><tr><th colspan="4">Total des régularisations</th><td class="n">${e(cents(s.adjustmentsAmount, cur))}</td></tr></tfoot></table>`);
  }

  out.push('<h2>Totaux</h2>');
  out.push(`<table class="totals" id="totals-foot"><tbody>
<tr><th>Appels facturés</th><td class="n">${e(cents(s.callsAmount, cur))}</td></tr>
<tr><th>Régularisations</th><td class="n">${e(cents(s.adjustmentsAmount, cur))}</td></tr>
</tbody></table>`);
  out.push(totalsTable(s, 'totals'));
  out.push(`<p class="notes">Montants hors taxes sauf mention contraire ; TVA à ${e(vatRate)} calculée une fois sur le total HT arrondi au centime.
Le montant de chaque appel est celui facturé, à la précision du tarif ; les totaux sont arrondis au centime.
Dates et heures en heure de Paris. Les quatre derniers chiffres des numéros appelés sont masqués ; les numéros de quatre chiffres
ou moins (urgences, numéros courts) sont affichés tels quels.</p>
</body></html>
`);
  return out.join('\n');
}

function totalsTable(s: Statement, id: string): string {
  const t = s.totals;
  const cur = s.currency;
  return `<table class="totals" id="${id}"><tbody>
<tr><th>Total HT</th><td class="n total-ht">${e(cents(t.total_ht, cur))}</td></tr>
<tr><th>TVA ${e(decimal.format(Number(t.vat_rate)))} %</th><td class="n vat">${e(cents(t.vat, cur))}</td></tr>
<tr><th>Total TTC</th><td class="n total-ttc">${e(cents(t.total_ttc, cur))}</td></tr>
</tbody></table>`;
}

function callSection(section: CallSection, s: Statement, places: number): string {
  const cur = s.currency;
  const title = section.correctsPeriod === null
    ? `Appels de ${monthLabel(s.period)}`
    : `Appels tardifs de ${monthLabel(section.correctsPeriod)} (mois clos), facturés sur ce relevé`;
  const rows = section.calls.map((c) =>
    `<tr><td>${e(when(c.startTime))}</td><td>${e(c.userId)}</td><td class="num">${e(c.callee)}</td><td>${e(destination(c.destinationClass, c.country))}</td><td class="n">${e(hms(c.seconds))}</td><td>${e(reasonLabel(c.reason))}</td><td class="n" data-amount="${e(c.amount)}">${e(exact(c.amount, cur, places))}</td></tr>`);
  return `<h3>${e(title)}</h3>
<table class="calls" data-corrects-period="${e(section.correctsPeriod ?? '')}"><thead><tr><th>Date et heure</th><th>Utilisateur</th><th>Numéro appelé</th><th>Destination</th><th class="n">Durée</th><th>Motif</th><th class="n">Montant HT</th></tr></thead><tbody>
${rows.join('\n')}
</tbody><tfoot><tr><th colspan="4">${e(integer.format(section.calls.length))} appels</th><td class="n">${e(hms(section.seconds))}</td><td></td><td class="n">${e(cents(section.amount, cur))}</td></tr></tfoot></table>`;
}

const STYLE = `
@page { size: A4; margin: 14mm 12mm 16mm; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-size: 9pt; color: #111; font-variant-ligatures: none; }
/* No ligatures: a PDF reader searching or copying « Identifiant » must find the letters, not an ﬁ glyph. */
h1 { font-size: 16pt; margin: 0 0 8pt; }
h2 { font-size: 12pt; margin: 14pt 0 4pt; border-bottom: 1px solid #999; }
h3 { font-size: 10pt; margin: 10pt 0 4pt; }
table { border-collapse: collapse; width: 100%; margin-bottom: 6pt; }
th, td { text-align: left; padding: 2pt 4pt; vertical-align: top; }
thead th { border-bottom: 1px solid #444; }
thead { display: table-header-group; }
tfoot th, tfoot td { border-top: 1px solid #444; font-weight: bold; }
tr { page-break-inside: avoid; }
.n { text-align: right; white-space: nowrap; }
.num { white-space: nowrap; font-family: "DejaVu Sans Mono", monospace; }
table.head, table.totals { width: auto; }
table.totals th { padding-right: 16pt; }
table.totals td { font-weight: bold; }
.clause { font-size: 7.5pt; color: #333; }
.notes { font-size: 7.5pt; color: #333; margin-top: 12pt; }
`;
