/**
 * What a worker will not let into its state or its store, whatever a producer put on the topic: a CDR
 * that did not come through `cdr ingest`'s checks (or through an older one) can hold a NUL byte, text that
 * was not UTF-8, or values the store cannot hold. Such a message is set aside as a dead letter, with its
 * offset and the reason, and the partition moves on.
 */
import type { Cdr } from '../core/cdr.js';
import { DEFAULT_INGEST_LIMITS, type IngestLimits } from '../ingest/input-limits.js';

const INT32_MAX = 2_147_483_647;
// Control characters (PostgreSQL refuses NUL in text), and U+FFFD, which is what bytes that were not
// UTF-8 become once decoded: the record's original text is already lost, so it is not billed.
// eslint-disable-next-line no-control-regex
const UNSAFE_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufffd]/;
/** Half of a UTF-16 surrogate pair without its other half: text no encoder can write. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why this CDR cannot be rated or stored, or null when it can. */
export function poisonIn(cdr: Cdr, limits: IngestLimits = DEFAULT_INGEST_LIMITS, nowMs = Date.now()): string | null {
  const s = cdr.subscriber;
  const texts: [string, string][] = [
    ['cdrId', cdr.cdrId], ['account', cdr.account], ['caller', cdr.caller], ['callerOriginal', cdr.callerOriginal], ['callee', cdr.callee],
    ['device', cdr.device], ['source', cdr.source], ['clientId', s.clientId], ['siteId', s.siteId], ['userId', s.userId], ['planId', s.planId],
  ];
  for (const [field, value] of texts) {
    if (UNSAFE_TEXT.test(value) || LONE_SURROGATE.test(value)) return `${field} holds a control character or bytes that were not UTF-8`;
    if (Buffer.byteLength(value) > limits.maxFieldBytes) return `${field} is over ${limits.maxFieldBytes} bytes`;
  }
  if (Buffer.byteLength(cdr.cdrId) > limits.maxCdrIdBytes) return `cdrId is over ${limits.maxCdrIdBytes} bytes`;
  const latest = nowMs + limits.latestAheadMs;
  const inWindow = (ms: number) => Number.isSafeInteger(ms) && ms >= limits.earliestMs && ms <= latest;
  if (!inWindow(cdr.startMs) || !inWindow(cdr.endMs)) return `startMs or endMs outside ${new Date(limits.earliestMs).toISOString()} .. now + ${limits.latestAheadMs / 3_600_000} h`;
  if (cdr.endMs < cdr.startMs || cdr.endMs - cdr.startMs > limits.maxCallSeconds * 1000) return `the call lasts beyond ${limits.maxCallSeconds} s or ends before it starts`;
  if (cdr.answerMs !== null && (!Number.isSafeInteger(cdr.answerMs) || cdr.answerMs < cdr.startMs || cdr.answerMs > cdr.endMs)) return 'answerMs is outside the call';
  if (!Number.isInteger(cdr.billableSeconds) || cdr.billableSeconds < 0 || cdr.billableSeconds > limits.maxCallSeconds) return `billableSeconds is not 0 .. ${limits.maxCallSeconds}`;
  if (!Number.isInteger(cdr.line) || cdr.line < 0 || cdr.line > INT32_MAX) return 'line is not a line number';
  if (!Number.isInteger(s.channels) || s.channels < 1 || s.channels > 100_000) return 'channels is not a channel count';
  return null;
}
