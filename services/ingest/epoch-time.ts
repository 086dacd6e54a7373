/**
 * Epoch seconds as the switches write them (FreeSWITCH *_epoch, CUCM dateTime*) → ISO 8601 in UTC,
 * for the normaliser to read. A number beyond what a date can hold (a corrupted field, 40 digits) is
 * passed on as it is, so that the normaliser rejects it as a `bad_time` instead of the conversion
 * throwing and stopping the run.
 */

/** 9999-12-31T23:59:59Z: the last instant ISO 8601 writes with four year digits. */
const LAST_EPOCH_SECOND = 253_402_300_799;

export function epochSecondsToIso(seconds: number, text: string): string {
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > LAST_EPOCH_SECOND) return text;
  return new Date(Math.round(seconds * 1000)).toISOString().replace('.000Z', 'Z');
}
