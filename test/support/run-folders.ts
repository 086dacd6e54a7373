/**
 * What invoicing reads (every run folder's rated.csv and adjustments.csv under an --out) and what the
 * store bills (its month totals), compared to the cent by the tests of "no bill hidden".
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import Papa from 'papaparse';
import { Money } from '../../services/core/money.js';

export interface Invoiced {
  /** cdr_id → how many rated.csv rows bill it, over every run folder. */
  billed: Map<string, number>;
  /** client|period → first prices + adjustments, exact, 4 decimals. */
  totals: Record<string, string>;
}

function csv(path: string): Record<string, string>[] {
  return Papa.parse<Record<string, string>>(readFileSync(path, 'utf8'), { header: true, skipEmptyLines: true }).data;
}

export function invoiced(...outs: string[]): Invoiced {
  const billed = new Map<string, number>();
  const totals = new Map<string, Money>();
  const add = (key: string, amount: string) => totals.set(key, (totals.get(key) ?? new Money(0)).plus(amount));
  for (const out of outs.filter((o) => existsSync(o))) {
    for (const folder of readdirSync(out).filter((n) => /^run-\d+$/.test(n))) {
      for (const r of csv(join(out, folder, 'rated.csv'))) {
        billed.set(r.cdr_id!, (billed.get(r.cdr_id!) ?? 0) + 1);
        add(`${r.client_id}|${r.period}`, r.amount!);
      }
      for (const a of csv(join(out, folder, 'adjustments.csv'))) add(`${a.client_id}|${a.period}`, a.delta!);
    }
  }
  return { billed, totals: Object.fromEntries([...totals].map(([k, v]) => [k, v.toFixed(4)])) };
}

/** The store's bill: its month totals after adjustments, client|period → amount, and its count of billed calls. */
export function storeBill(dataDir: string): { totals: Record<string, string>; calls: number } {
  const db = new Database(join(dataDir, 'cdr.sqlite'), { readonly: true });
  try {
    const rows = db.prepare('SELECT client_id, period, amount FROM month_total').all() as { client_id: string; period: string; amount: string }[];
    const calls = db.prepare('SELECT count(*) FROM rated_call').pluck().get() as number;
    return { totals: Object.fromEntries(rows.map((r) => [`${r.client_id}|${r.period}`, new Money(r.amount).toFixed(4)])), calls };
  } finally {
    db.close();
  }
}
