/**
 * Phone numbers never reach the desk's logs in clear: URLs carry accounts and numbers
 * (/api/v1/locks/+33612345678), and people write numbers in many ways. A number keeps its head (the
 * operator and area, useful when reading a log) and loses its last 4 digits, in whatever form it was
 * written: +33612345678, 06.12.34.56.78, 06-12-34-56-78, 06 12 34 56 78, +33 (0)6 12 34 56 78, and
 * URL-encoded (%2B33612345678, 06%2012%2034…, 06+12+34… in a query string).
 */
import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Read on the text with %XX escapes as one character each. A number written in groups: up to 4 digits
 * each, joined by one separator (space, dot, hyphen, '+' for an encoded space, "(0)"), optionally after
 * a '+', 9 digits or more (a French national number has 10; a date such as 2026-03-20 has 8, and an id
 * followed by a count, "U1001 12345", has a group of 5). Either way, never next to a digit or a mask
 * ('*'): masking twice leaves the same text.
 */
const GROUPED = /(?<![\d*])\+?\d{1,4}(?:(?:[ .+-]|[ ]?\(0\)[ ]?)\d{1,4})+(?![\d*])(?![ .+-]\*)/g;
/** A plain run of 6 digits or more (as before): identifiers that long are numbers more often than not. */
const RUN = /(?<![\d*])\d{6,}(?![\d*])/g;
const MIN_GROUPED_DIGITS = 9;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

export function maskPhoneNumbers(text: string): string {
  if (!/\d/.test(text)) return text;
  // One unit per %XX escape or character; `plain` has one UTF-16 character per unit, so that a match's
  // positions are units' positions. An escape of a non-ASCII byte, or an astral character, is a neutral '~'.
  const units = text.match(/%[0-9A-Fa-f]{2}|[\s\S]/gu) ?? [];
  const plain = units
    .map((u) => {
      if (u.length === 3 && u[0] === '%') {
        const code = parseInt(u.slice(1), 16);
        return code < 0x80 ? String.fromCharCode(code) : '~';
      }
      return u.length === 1 ? u : '~';
    })
    .join('');
  let changed = false;
  const maskTail = (start: number, end: number) => {
    let left = 4;
    for (let i = end - 1; i >= start && left > 0; i--) {
      if (/\d/.test(plain[i]!)) {
        units[i] = '*';
        left--;
        changed = true;
      }
    }
  };
  for (const m of plain.matchAll(GROUPED)) {
    if (m[0].replace(/\D/g, '').length >= MIN_GROUPED_DIGITS && !IPV4.test(m[0])) maskTail(m.index, m.index + m[0].length);
  }
  for (const m of plain.matchAll(RUN)) maskTail(m.index, m.index + m[0].length);
  return changed ? units.join('') : text;
}

/** Every string in a log record masked, errors turned into their masked type, message and stack. */
export function maskLogValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskPhoneNumbers(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return maskLogValue(pino.stdSerializers.err(value), depth + 1);
  if (Array.isArray(value)) return value.map((v) => maskLogValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = maskLogValue(v, depth + 1);
  return out;
}

/**
 * The logger of `cdr serve`: JSON lines in which every string (message, URL, error, anything a route
 * logs) is masked, and tokens and call parties redacted. Tests log through it too, so that what they
 * check is what an operator's log holds.
 */
export function deskLogger(level: string, destination: DestinationStream): Logger {
  return pino(
    {
      level,
      formatters: { log: (record) => maskLogValue(record) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => (typeof a === 'string' ? maskPhoneNumbers(a) : a)) as Parameters<typeof method>);
        },
      },
      redact: { paths: ['*.caller', '*.callee', '*.numbers', '*.token', 'req.headers.authorization'], censor: '[redacted]' },
    },
    destination,
  );
}
