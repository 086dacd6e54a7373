/**
 * `cdr serve`, `cdr token`, `cdr invoice` and `cdr close`: the fraud desk and invoicing, over the
 * embedded data directory (--data) or PostgreSQL (--database-url).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { loadConfig, loadPlans } from '../config/load-config.js';
import { PERIOD } from '../core/invoice/billing-month.js';
import { openStore, type StoreFlags } from './data-dir.js';
import { buildServer } from '../api/server.js';
import type { Sql } from '../store/sql.js';
import { deskLogger } from '../api/log-masking.js';
import { ROLES, createToken, listTokens, revokeToken, type Role } from '../store/desk/api-tokens.js';
import { clientInStore, clientsBilledOn } from '../store/desk/invoice-rows.js';
import { closeMonth, makeInvoice } from '../invoice/make-invoice.js';
import { invoiceCsv } from '../invoice/invoice-csv.js';
import { InvoicingTerms } from '../config/invoicing-file.js';
import { loadNotifications } from '../api/notify/notify-config.js';
import type { Invoice } from '../core/invoice/compose-invoice.js';
import type { Plan } from '../core/plan.js';
import { makeStatement } from '../invoice/make-statement.js';
import { statementHtml } from '../invoice/statement-html.js';
import { ChromiumMissing, DEFAULT_CHROMIUM, openPdfPrinter, type PdfPrinter } from '../invoice/statement-pdf.js';

const INVOICE_FORMATS = ['csv', 'json', 'html', 'pdf'] as const;
type InvoiceFormat = (typeof INVOICE_FORMATS)[number];

interface StoreOptions extends StoreFlags {
  config: string;
  subscribers?: string;
}

export const withStore = (c: Command) =>
  c
    .option('--data <dir>', 'embedded state directory (as given to cdr rate)', '.cdr-data')
    .option('--database-url <url>', 'PostgreSQL instead of the embedded store (e.g. postgres://127.0.0.1:5432/cdr)');

/** Who ran a CLI command, for the audit trail. */
const cliActor = () => `cli:${process.env.USER ?? 'unknown'}`;

export function addDeskCommands(program: Command): void {
  withStore(program.command('serve'))
    .description('the fraud desk and invoicing: HTTP API (/api/v1, /api/openapi.json), the web page (/), /metrics')
    .option('--config <dir>', 'configuration directory (subscriber directory for locks and the barring feed)', 'config')
    .option('--subscribers <file>', 'subscriber directory to use instead of <config>/subscribers.csv')
    .option('--port <n>', 'port to listen on', toPort, 8080)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .action(async (o: StoreOptions & { port: number; host: string }) => {
      const config = loadConfig(o.config, o.subscribers);
      const sql = await openStore(o);
      const log = deskLogger(process.env.LOG_LEVEL ?? 'info', pino.destination(2));
      const app = await buildServer({ sql, store: o, directory: config.directory, plans: config.plans, invoicing: InvoicingTerms.load(o.config), logger: log, numbering: config.numbering, fraud: config.fraud, notifications: loadNotifications(o.config), autoGroupEveryMs: 60_000, reactEveryMs: 1_000 });
      const address = await listenOrExplain(app, o.port, o.host, () => sql.close());
      process.stdout.write(`fraud desk on ${address}/ (API ${address}/api/v1, OpenAPI ${address}/api/openapi.json); Ctrl-C stops\n`);
      const stop = async () => {
        await app.close();
        await sql.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
    });

  const token = program.command('token').description('API bearer tokens (only their SHA-256 is stored)');
  withStore(token.command('create'))
    .description('create a token and print it, once')
    .addOption(new Option('--role <role>', 'analyst: alerts, subscribers, locks; invoicing: usage, invoices, month close; admin: everything and tokens; switch: /api/v1/authorize only (the switch asking before each call)').choices([...ROLES]).makeOptionMandatory())
    .requiredOption('--name <name>', 'who holds it (shown in the audit trail)')
    .action(async (o: StoreFlags & { role: Role; name: string }) => {
      if (!/^[A-Za-z0-9._@-]{1,64}$/.test(o.name)) throw new UsageError(`--name "${o.name}": use 1 to 64 letters, digits, . _ @ -`);
      const sql = await openStore(o);
      try {
        const t = await createToken(sql, o.name, o.role, cliActor(), Date.now());
        process.stdout.write(`${t}\n`);
        process.stderr.write(`token for ${o.name} (role ${o.role}); it is shown only now: keep it. Use it as: Authorization: Bearer <token>\n`);
      } finally {
        await sql.close();
      }
    });
  withStore(token.command('list')).description('list tokens (names, roles; never the tokens)').action(async (o: StoreFlags) => {
    const sql = await openStore(o);
    try {
      for (const t of await listTokens(sql)) process.stdout.write(`${t.name}\t${t.role}\t${t.created_at}${t.revoked_at ? `\trevoked ${t.revoked_at}` : ''}\n`);
    } finally {
      await sql.close();
    }
  });
  withStore(token.command('revoke')).description('revoke a token by name').requiredOption('--name <name>', 'the token to revoke').action(async (o: StoreFlags & { name: string }) => {
    const sql = await openStore(o);
    try {
      if (!(await revokeToken(sql, o.name, cliActor(), Date.now()))) throw new UsageError(`no live token named "${o.name}" (cdr token list)`);
      process.stdout.write(`revoked ${o.name}\n`);
    } finally {
      await sql.close();
    }
  });

  withStore(program.command('invoice'))
    .description('invoice lines and totals of a month, per client: CSV (formula-safe) or JSON files under --out; html or pdf: the detailed statement (relevé détaillé des communications)')
    .requiredOption('--period <YYYY-MM>', 'the month', toPeriod)
    .option('--client <id>', 'one client (default: every client with something billed on the month)')
    .option('--config <dir>', 'configuration directory (invoicing.yaml: VAT rates, invoice number prefix; plans/ for the statement)', 'config')
    .addOption(new Option('--format <f>', 'csv or json: the invoice; html or pdf: the detailed statement (statement-<client>-<period>.html|pdf)').choices([...INVOICE_FORMATS]).default('csv'))
    .option('--chromium <path>', 'the Chromium that prints --format pdf', process.env.CHROMIUM_PATH ?? DEFAULT_CHROMIUM)
    .option('--out <dir>', 'output directory', 'out/invoices')
    .action(async (o: StoreFlags & { period: string; client?: string; config: string; format: InvoiceFormat; chromium: string; out: string }) => {
      const terms = InvoicingTerms.load(o.config);
      const statement = o.format === 'html' || o.format === 'pdf';
      const plans = statement ? loadPlans(o.config).plans : new Map<string, Plan>();
      // Said before any work: a missing browser is not found after the store was read.
      if (o.format === 'pdf' && !existsSync(o.chromium)) throw new UsageError(new ChromiumMissing(o.chromium).message);
      const sql = await openStore(o);
      let printer: PdfPrinter | undefined;
      try {
        const clients = await clientsToBill(sql, o, 'invoice');
        mkdirSync(o.out, { recursive: true });
        if (o.format === 'pdf' && clients.length > 0) printer = await openPdfPrinter(o.chromium);
        for (const client of clients) {
          let invoice: Billed;
          let file: string;
          if (statement) {
            const s = await makeStatement(sql, terms, plans, client, o.period);
            invoice = { status: s.status, invoice_number: s.invoiceNumber, currency: s.currency, totals: s.totals };
            file = join(o.out, `statement-${client}-${o.period}.${o.format}`);
            const html = statementHtml(s);
            writeFileSync(file, printer ? await printer.print(html, `Relevé détaillé ${client} ${o.period}${s.invoiceNumber ? ` — facture ${s.invoiceNumber}` : ''}`) : html);
          } else {
            const full = await makeInvoice(sql, terms, client, o.period);
            invoice = full;
            file = join(o.out, `invoice-${client}-${o.period}.${o.format}`);
            writeFileSync(file, o.format === 'csv' ? invoiceCsv(full) : JSON.stringify(full, null, 2) + '\n');
          }
          process.stdout.write(`${client} ${o.period} ${invoice.status}${invoice.invoice_number === null ? '' : ` ${invoice.invoice_number}`}: ${amounts(invoice)} → ${file}\n`);
        }
        if (clients.length === 0) process.stdout.write(`no client has calls in ${o.period}\n`);
      } finally {
        await printer?.close();
        await sql.close();
      }
    });

  withStore(program.command('close'))
    .description('close a month: its invoice never changes after; late calls and adjustments go on the next open month')
    .requiredOption('--period <YYYY-MM>', 'the month', toPeriod)
    .option('--client <id>', 'one client (default: every client with something billed on the month)')
    .option('--config <dir>', 'configuration directory (invoicing.yaml: VAT rates, invoice number prefix)', 'config')
    .action(async (o: StoreFlags & { period: string; client?: string; config: string }) => {
      const terms = InvoicingTerms.load(o.config);
      const sql = await openStore(o);
      try {
        const clients = await clientsToBill(sql, o, 'close');
        for (const client of clients) {
          const r = await closeMonth(sql, terms, client, o.period, cliActor(), Date.now());
          process.stdout.write(r.closed ? `closed ${client} ${o.period}: invoice ${r.invoice.invoice_number}, ${amounts(r.invoice)}\n` : `${client} ${o.period} was already closed at ${r.close.closedAt} by ${r.close.closedBy}\n`);
        }
      } finally {
        await sql.close();
      }
    });
}

/** What `cdr invoice` prints of a document it wrote. */
type Billed = Pick<Invoice, 'status' | 'invoice_number' | 'currency' | 'totals'>;

/** "1.00 EUR HT, VAT 20 % 0.20, 1.20 EUR TTC (exact HT 1.0012)" */
function amounts(i: Billed): string {
  const t = i.totals;
  return `${t.total_ht} ${i.currency} HT, VAT ${t.vat_rate} % ${t.vat}, ${t.total_ttc} ${i.currency} TTC (exact HT ${t.total_ht_exact})`;
}

/** The --client named (if the store has billed it), else every client with something billed on the month. */
async function clientsToBill(sql: Sql, o: StoreFlags & { period: string; client?: string }, command: 'invoice' | 'close'): Promise<string[]> {
  if (o.client === undefined) return clientsBilledOn(sql, o.period);
  if (!(await clientInStore(sql, o.client))) {
    throw new UsageError(`no client "${o.client}" in ${storeName(o)}: no call of it was ever rated there (check the id, or run cdr ${command} --period ${o.period} without --client for every client billed that month)`);
  }
  return [o.client];
}

/** The store named as the user gave it, with the password of a URL hidden. */
function storeName(o: StoreFlags): string {
  if (o.databaseUrl === undefined) return `the data directory ${o.data ?? '.cdr-data'}`;
  const u = new URL(o.databaseUrl);
  u.password = '';
  return `the database ${u.toString()}`;
}

/** Listens, or says in words why it cannot (a port taken, an address this machine does not have). */
async function listenOrExplain(app: FastifyInstance, port: number, host: string, release: () => Promise<void>): Promise<string> {
  try {
    return await app.listen({ port, host });
  } catch (e) {
    await release();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new UsageError(`port ${port} on ${host} is already in use (another cdr serve?): stop it or choose another port with --port`);
    if (code === 'EADDRNOTAVAIL') throw new UsageError(`--host ${host} is not an address of this machine: use 127.0.0.1, or 0.0.0.0 for every interface`);
    if (code === 'EACCES') throw new UsageError(`port ${port} needs privileges this user lacks: choose a port above 1023 with --port`);
    throw e;
  }
}

/** A mistake in the command line: exit code 2, as configuration errors. */
export class UsageError extends Error {}

function toPort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--port "${v}": expected a port number 0-65535`);
  return n;
}

function toPeriod(v: string): string {
  if (!PERIOD.test(v)) throw new UsageError(`--period "${v}": expected a month as YYYY-MM, e.g. 2026-03`);
  return v;
}
