/**
 * VAT (TVA) on an invoice. The tariffs' prices are excluding VAT (« € HT »), so an invoice's rows add up
 * to its total HT; the VAT is computed once, on that total rounded to the cent, at the client's rate, and
 * rounded half up to the cent; the total including VAT (TTC) is their sum. Computing it on the total
 * rather than per line is what French invoices do (one VAT amount per rate), and it makes
 * HT + VAT = TTC exact on the printed figures.
 */
import { Money, type Money as MoneyValue } from '../money.js';

/** A VAT rate in percent as configuration writes it: "20", "5.5", "2.1", "0". */
export const VAT_RATE_TEXT = /^\d{1,2}(\.\d{1,3})?$/;

/** The French standard rate (CGI art. 278), used for a client the configuration does not name. */
export const STANDARD_VAT_RATE = '20';

export interface VatTotals {
  /** The total excluding VAT, to the cent: what the VAT is computed on. */
  total_ht: string;
  vat_rate: string;
  vat: string;
  total_ttc: string;
}

export function vatTotals(totalHtExact: MoneyValue, rate: string): VatTotals {
  const ht = new Money(totalHtExact.toFixed(2));
  const vat = new Money(ht.times(rate).div(100).toFixed(2));
  return { total_ht: ht.toFixed(2), vat_rate: new Money(rate).toFixed(), vat: vat.toFixed(2), total_ttc: ht.plus(vat).toFixed(2) };
}
