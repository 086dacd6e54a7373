/**
 * Amounts as the page shows them: the exact decimal text, and beside it the amount to the cent
 * (decimal.js, half up), so the browser never rounds money in floating point.
 */
import { Money } from '../core/money.js';

export function toCents(amount: string): string {
  return new Money(amount).toFixed(2);
}

export function withDisplayAmounts<T extends object>(row: T, fields: readonly (keyof T & string)[]): T & Record<string, string> {
  const out: Record<string, unknown> = { ...(row as Record<string, unknown>) };
  for (const f of fields) out[`${f}_display`] = toCents(String(row[f]));
  return out as T & Record<string, string>;
}
