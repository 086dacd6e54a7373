/**
 * One CSV line (RFC 4180) that is safe to open in a spreadsheet: a field starting with `=`, `+`, `-`,
 * `@`, tab or carriage return is prefixed with `'` so that it is read as text, not a formula (OWASP).
 * A `+` that starts an E.164 number and a `-` that starts a decimal amount (a negative adjustment) stay:
 * a spreadsheet reads them as numbers, never as formulas.
 */
const FORMULA_START = /^[=+\-@\t\r]/;
const PLAIN_NUMBER = /^(\+\d{1,15}|-\d+(\.\d+)?)$/;
const NEEDS_QUOTES = /[",\r\n]/;

export function csvField(value: string): string {
  const safe = FORMULA_START.test(value) && !PLAIN_NUMBER.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function csvLine(fields: readonly string[]): string {
  let line = '';
  for (let i = 0; i < fields.length; i++) line += (i === 0 ? '' : ',') + csvField(fields[i]!);
  return line + '\n';
}
