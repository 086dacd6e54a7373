/**
 * Spreadsheet formula injection (OWASP "CSV Injection"): a cell starting with =, +, -, @, tab or
 * carriage return is prefixed with a single quote so that it is shown as text, not evaluated.
 * Amounts are exempt when they are plain decimal numbers ("-1.50" must stay a number for the
 * accountant). Local stand-in until the project's shared safe CSV writer (issue 12) is in main.
 */
const DANGEROUS_FIRST = new Set(['=', '+', '-', '@', '\t', '\r']);
const PLAIN_NUMBER = /^-?\d+(\.\d+)?$/;

export function safeCsvCell(value: string): string {
  if (value === '' || PLAIN_NUMBER.test(value)) return value;
  return DANGEROUS_FIRST.has(value[0]!) ? `'${value}` : value;
}
