/**
 * Called numbers as a detailed statement prints them: the last four digits replaced by X, as French
 * operators print the « relevé détaillé » (the subscriber recognises the calls of the line without the
 * document carrying the full number of the person called).
 *
 * One readable form: the international format of libphonenumber (« +33 1 45 67 XX XX »), whatever the
 * country, so a French and a foreign number read alike. A number libphonenumber cannot format (an
 * extension, a short number kept as dialled) loses its last four digits as written. Numbers of four
 * digits or fewer are kept: they are emergency (15, 17, 112), short service (3179) or internal numbers,
 * not a person's line, and masking all of their digits would leave nothing to recognise the call by.
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

const KEPT_DIGITS_AT_MOST = 4;

export function maskCalledNumber(number: string): string {
  const digits = number.replace(/\D/g, '').length;
  if (digits <= KEPT_DIGITS_AT_MOST) return number;
  const parsed = number.startsWith('+') ? parsePhoneNumberFromString(number) : undefined;
  const readable = parsed?.isPossible() ? parsed.formatInternational() : number;
  return maskLastDigits(readable, 4);
}

/** Replaces the last `count` digits of `text` with X, leaving spaces and signs where they are. */
function maskLastDigits(text: string, count: number): string {
  const chars = [...text];
  let left = count;
  for (let i = chars.length - 1; i >= 0 && left > 0; i--) {
    if (chars[i]! >= '0' && chars[i]! <= '9') {
      chars[i] = 'X';
      left -= 1;
    }
  }
  return chars.join('');
}

/**
 * Masks every called number once: a month repeats the same numbers many times, and libphonenumber's
 * parse is the costly part of a statement of thousands of calls.
 */
export function numberMasker(): (number: string) => string {
  const seen = new Map<string, string>();
  return (number) => {
    let masked = seen.get(number);
    if (masked === undefined) {
      masked = maskCalledNumber(number);
      seen.set(number, masked);
    }
    return masked;
  };
}
