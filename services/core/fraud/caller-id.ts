/**
 * Caller-ID rules (contract-rules §7): premium numbers may not be presented (R-CLI-NO-PREMIUM), a 089B
 * caller ID is replaced by the account's own number (R-CLI-089B-REWRITE), automated systems present
 * 0ZAB numbers and never a mobile (R-CLI-AUTO-0ZAB, R-CLI-AUTO-NO-MOBILE), and a client presents only
 * its own numbers or numbers it has consent for (R-CLI-ASSIGNEE-CONSENT).
 */
import type { Cdr } from '../cdr.js';
import { isInternalParty } from '../internal-party.js';
import type { NumberingPlan } from '../numbering.js';
import type { FraudConfig } from './fraud-config.js';

/** The CDR as it is billed: a 089B caller ID replaced by the installation number, the original kept. */
export function rewritePremiumCallerId(cdr: Cdr, config: FraudConfig['premium_cli']): Cdr {
  if (cdr.direction !== 'out' || cdr.caller === '' || cdr.subscriber.numbers.length === 0) return cdr;
  const digits = cdr.caller.startsWith('+') ? cdr.caller.slice(1) : '';
  if (!config.rewrite_prefixes.some((p) => digits.startsWith(p))) return cdr;
  return { ...cdr, caller: cdr.subscriber.numbers[0]!, callerOriginal: cdr.caller };
}

/** The caller ID the switch presented, before any rewrite. */
export function presentedCallerId(cdr: Cdr): string {
  return cdr.callerOriginal !== '' ? cdr.callerOriginal : cdr.caller;
}

/** Is the presented caller ID one of the banned premium forms? */
export function isPremiumCallerId(cdr: Cdr, numbering: NumberingPlan, config: FraudConfig['premium_cli']): boolean {
  const presented = presentedCallerId(cdr);
  if (presented === '') return false;
  return config.banned_classes.includes(numbering.classify(presented).cls);
}

export type CliViolation = 'automated_outside_0zab' | 'automated_mobile' | 'platform_outside_range' | 'not_owned';

/** The first caller-ID policy an outbound originating call breaks, if any. */
export function cliPolicyViolation(cdr: Cdr, numbering: NumberingPlan, clientNumbers: ReadonlySet<string>, consented: readonly string[], platform: boolean): CliViolation | null {
  const presented = presentedCallerId(cdr);
  // An extension is what the PBX knows the phone by; the network sees the number the PBX presents for it.
  if (presented === '' || isInternalParty(presented)) return null;
  const dest = numbering.classify(presented);
  if (cdr.subscriber.automated) {
    if (dest.cls === 'fr_mobile') return 'automated_mobile';
    if (!dest.automatedRange) return 'automated_outside_0zab';
  }
  if (platform && !dest.platformRange) return 'platform_outside_range';
  if (!clientNumbers.has(presented) && !consented.includes(presented)) return 'not_owned';
  return null;
}

export const CLI_VIOLATION_WORDS: Record<CliViolation, string> = {
  automated_outside_0zab: 'an automated calling system presents a number outside the 0ZAB ranges (0162, 0163, 0270, 0271, 0377, 0378, 0424, 0425, 0568, 0569, 0948-0949)',
  automated_mobile: 'an automated calling system presents a 06/07 mobile number',
  platform_outside_range: 'a technical platform presents a number outside 0937, 0938 and 09390-09394',
  not_owned: 'a presented number that is neither the client’s nor on its consented list',
};
