/**
 * A party inside the customer's own PBX: an extension, a ring group, a voicemail box, or a number of the
 * same client reached without leaving the PBX. Such a callee or caller is written `ext:<what was dialled>`
 * in a CDR, so that every stage tells it from a public number: the numbering plan classes it `internal`
 * (free, never counted, never seen by a fraud detector), and the caller-ID rules know that an extension
 * is not a number presented to the network.
 */

export const INTERNAL_PREFIX = 'ext:';

export function internalParty(dialled: string): string {
  return dialled.startsWith(INTERNAL_PREFIX) ? dialled : INTERNAL_PREFIX + dialled;
}

export function isInternalParty(number: string): boolean {
  return number.startsWith(INTERNAL_PREFIX);
}
