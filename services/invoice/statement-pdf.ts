/**
 * The detailed statement as PDF: the HTML of statement-html.ts printed on A4 by Chromium (Debian's
 * `chromium`, driven by playwright-core as the browser tests drive it), so the PDF and the page served
 * by `cdr serve` are one document. One browser serves every statement of a batch.
 */
import { existsSync } from 'node:fs';
import { escapeHtml } from './statement-html.js';

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/** The launch flags of test/e2e/desk-browser.test.ts: no sandbox (root in containers), nothing fetched. */
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

export class ChromiumMissing extends Error {
  constructor(readonly path: string) {
    super(`no Chromium at ${path}: PDF statements are printed by Chromium; install it (apt-get install -y chromium, or bash scripts/ensure-chromium.sh) or give its path with --chromium PATH or CHROMIUM_PATH`);
  }
}

export interface PdfPrinter {
  /** `footer` is plain text (escaped here), printed with the page number on every page. */
  print(html: string, footer: string): Promise<Buffer>;
  close(): Promise<void>;
}

export async function openPdfPrinter(chromiumPath: string): Promise<PdfPrinter> {
  if (!existsSync(chromiumPath)) throw new ChromiumMissing(chromiumPath);
  // Loaded only here: every other command runs without the browser driver.
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ARGS });
  return {
    async print(html, footer) {
      const page = await browser.newPage({ javaScriptEnabled: false });
      try {
        // A month of tens of thousands of calls is a large document: give its layout time.
        await page.setContent(html, { waitUntil: 'load', timeout: 300_000 });
        return await page.pdf({
          format: 'A4',
          printBackground: true,
          displayHeaderFooter: true,
          headerTemplate: '<span></span>',
          footerTemplate: `<div style="font-size:7pt;width:100%;padding:0 12mm;font-family:sans-serif;color:#444">${escapeHtml(footer)} — page <span class="pageNumber"></span> / <span class="totalPages"></span></div>`,
          margin: { top: '14mm', bottom: '16mm', left: '12mm', right: '12mm' },
        });
      } finally {
        await page.close();
      }
    },
    close: () => browser.close(),
  };
}
