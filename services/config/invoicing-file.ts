/**
 * `invoicing.yaml` in the configuration directory (optional): the VAT rate of each client and the
 * prefix of invoice numbers. Without the file every client is invoiced at the French standard rate
 * (20 %) and numbers read FAC-000001, FAC-000002…
 *
 * ```yaml
 * vat:
 *   default: "20"          # percent, for every client not listed below
 *   clients:
 *     C-REUNION-01: "8.5"  # DOM rate
 *     C-EXPORT-02: "0"     # reverse charge (autoliquidation): no VAT charged
 * invoice_number_prefix: "FAC-"
 * ```
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { STANDARD_VAT_RATE, VAT_RATE_TEXT } from '../core/invoice/vat.js';
import { loadYamlFile } from './yaml-file.js';

const rate = z
  .union([z.string(), z.number()])
  .transform(String)
  .refine((r) => VAT_RATE_TEXT.test(r) && Number(r) < 100, { message: 'a VAT rate is a percentage below 100 with at most 3 decimals, written as text: "20", "5.5", "0"' });

const invoicingSchema = z
  .object({
    vat: z.object({ default: rate.default(STANDARD_VAT_RATE), clients: z.record(z.string().min(1), rate).default({}) }).strict().default({ default: STANDARD_VAT_RATE, clients: {} }),
    invoice_number_prefix: z.string().regex(/^[A-Za-z0-9_-]{0,12}$/, 'a prefix of up to 12 letters, digits, _ or -, e.g. FAC-').default('FAC-'),
  })
  .strict();

export class InvoicingTerms {
  constructor(private readonly file: z.infer<typeof invoicingSchema>) {}

  /** `<dir>/invoicing.yaml` if present, else the defaults. */
  static load(configDir: string): InvoicingTerms {
    const path = join(configDir, 'invoicing.yaml');
    return existsSync(path) ? new InvoicingTerms(loadYamlFile(path, invoicingSchema)) : InvoicingTerms.defaults();
  }

  /** Every client at the standard rate, numbers FAC-000001… */
  static defaults(): InvoicingTerms {
    return new InvoicingTerms(invoicingSchema.parse({}));
  }

  vatRate(clientId: string): string {
    return this.file.vat.clients[clientId] ?? this.file.vat.default;
  }

  /** The printed invoice number of the n-th invoice ever issued by this store. */
  invoiceNumber(n: number): string {
    return `${this.file.invoice_number_prefix}${String(n).padStart(6, '0')}`;
  }
}
