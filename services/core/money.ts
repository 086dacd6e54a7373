/**
 * Money is decimal.js, never a JS number: amounts are read from text, computed exactly and leave
 * the system as decimal strings.
 */
import { Decimal } from 'decimal.js';

/** Our own Decimal: 40 significant digits, rounding only where a tariff says so. */
export const Money = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_UP });
export type Money = Decimal;

export const ZERO = new Money(0);

export const ROUNDING_MODES = {
  half_up: Decimal.ROUND_HALF_UP,
  half_even: Decimal.ROUND_HALF_EVEN,
  up: Decimal.ROUND_UP,
  down: Decimal.ROUND_DOWN,
} as const;
export type RoundingMode = keyof typeof ROUNDING_MODES;

/** A decimal amount as configuration writes it: "0.0250" (preferred) or a YAML number. */
export const DECIMAL_TEXT = /^-?\d+(\.\d+)?$/;

export function money(text: string | number): Money {
  return new Money(typeof text === 'number' ? String(text) : text);
}

/** Canonical text of an amount: fixed decimals, no exponent. */
export function formatAmount(m: Money, decimals: number): string {
  return m.toFixed(decimals);
}
