/**
 * What was dialled, read in the PBX's dial plan: an extension (internal), an outside number with its
 * outside-line prefix taken off, or a national number of the source's country put in E.164.
 *
 * The order, for a call that is not inbound:
 * 1. the export says the call stayed inside (`internal`), or the caller typed an extension of the PBX
 *    (dial-plan.yaml ranges, the directory's `extensions`) and the export does not say it left: internal;
 * 2. the declared outside-line prefix is taken off (when the remainder is still a number: `0` + `0612…`);
 * 3. on a PBX that needs a prefix, a short number dialled without it never left the PBX (emergency
 *    numbers aside, which PBXs route out directly): internal;
 * 4. a number of the same client, reached without a trunk: internal.
 */
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { internalParty } from '../core/internal-party.js';
import { InvalidNumber, type NumberingPlan } from '../core/numbering.js';
import type { Subscriber } from '../core/cdr.js';
import type { SourceRecord } from './source-record.js';
import type { SubscriberDirectory } from './subscriber-directory.js';

export const DEFAULT_COUNTRY = 'FR';

/**
 * A dialled or presented number in E.164 (or the digits of a short number). National numbers are read
 * in `country`: the numbering plan's own rules for its home country (DROM blocks included), libphonenumber
 * for any other. Throws InvalidNumber.
 */
export function toE164(raw: string, country: string, numbering: NumberingPlan): string {
  const digits = withoutSeparators(raw);
  if (country === numbering.homeCountry || digits.startsWith('+') || digits.startsWith('00') || digits.length <= 6) return numbering.normalize(raw);
  const parsed = parsePhoneNumberFromString(digits, country as CountryCode);
  if (parsed === undefined || !parsed.isValid()) throw new InvalidNumber(`not a valid number of ${country} (the source's --country): ${digits}`);
  return numbering.normalize(parsed.number);
}

/** The callee of a call made inside the PBX or toward its trunks. */
export function readCallee(r: SourceRecord, subscriber: Subscriber | undefined, directory: SubscriberDirectory, numbering: NumberingPlan): string {
  const dialled = withoutSeparators(r.callee);
  const country = r.country ?? DEFAULT_COUNTRY;
  const plan = subscriber === undefined ? directory.dialPlan.of('', '') : directory.dialPlan.of(subscriber.clientId, subscriber.siteId);
  if (r.direction === 'internal' || r.internal === true) return inside(dialled, country, numbering);
  if (r.internal !== false && !r.calleeSent && (plan.isExtension(dialled) || (subscriber !== undefined && directory.isExtensionOfClient(subscriber.clientId, dialled)))) {
    return inside(dialled, country, numbering);
  }

  let number = dialled;
  let tookLine = r.calleeSent === true;
  const prefix = plan.outsidePrefix;
  if (!r.calleeSent && prefix !== '' && dialled.startsWith(prefix) && dialled.length > prefix.length) {
    const rest = dialled.slice(prefix.length);
    if (readable(rest, country, numbering)) {
      number = rest;
      tookLine = true;
    }
  }
  const callee = toE164(number, country, numbering);
  if (r.internal === undefined && !tookLine && prefix !== '' && !callee.startsWith('+') && !numbering.isEmergency(callee)) return internalParty(callee);
  if (r.internal !== false && subscriber !== undefined && callee.startsWith('+') && directory.numbersOfClient(subscriber.clientId).has(callee)) {
    return internalParty(callee);
  }
  return callee;
}

/** A party inside the PBX, in E.164 when it is a number. */
function inside(dialled: string, country: string, numbering: NumberingPlan): string {
  try {
    return internalParty(dialled.length > 6 ? toE164(dialled, country, numbering) : dialled);
  } catch (e) {
    if (e instanceof InvalidNumber) return internalParty(dialled);
    throw e;
  }
}

/** The caller: an extension of the PBX is marked as such, any other number put in E.164 (kept as written if it is not one). */
export function readCaller(r: SourceRecord, subscriber: Subscriber | undefined, directory: SubscriberDirectory, numbering: NumberingPlan): string {
  if (r.caller === '') return '';
  const presented = withoutSeparators(r.caller);
  if (subscriber !== undefined && r.direction !== 'in') {
    const plan = directory.dialPlan.of(subscriber.clientId, subscriber.siteId);
    const short = SHORT_NUMBER.test(presented);
    if (plan.isExtension(presented) || directory.isExtensionOfClient(subscriber.clientId, presented) || (short && (r.callerInside === true || presented === r.account))) {
      return internalParty(presented);
    }
  }
  try {
    return toE164(r.caller, r.country ?? DEFAULT_COUNTRY, numbering);
  } catch (e) {
    // An unusable presented number is a caller-ID matter for the fraud desk, not a reason to lose the call.
    if (e instanceof InvalidNumber) return r.caller;
    throw e;
  }
}

const SEPARATORS = /[\s.\-()/]/g;
/** Module-level: a regex literal in a function is a new RegExp each time it runs. */
const SHORT_NUMBER = /^[*#]?\d{1,6}$/;

/** The number without the spaces, dots, dashes, brackets and slashes people write in numbers; most have none. */
function withoutSeparators(raw: string): string {
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if ((c < 0x30 || c > 0x39) && c !== 0x2b) return raw.replace(SEPARATORS, '');
  }
  return raw;
}

function readable(n: string, country: string, numbering: NumberingPlan): boolean {
  try {
    toE164(n, country, numbering);
    return true;
  } catch (e) {
    if (e instanceof InvalidNumber) return false;
    throw e;
  }
}
