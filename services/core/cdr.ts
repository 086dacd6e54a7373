/**
 * The canonical call-detail record: what every switch export is turned into before rating.
 * Field names follow contract-rules §1 so that a rule's text and its code read alike.
 */

export const DISPOSITIONS = ['answered', 'no_answer', 'busy', 'failed', 'rejected'] as const;
export type Disposition = (typeof DISPOSITIONS)[number];

export const DIRECTIONS = ['out', 'in'] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** Kind of leg: several plans price forwarded and transferred legs differently (R-FAIR-FWD). */
export const LEGS = ['originating', 'forwarded', 'transferred'] as const;
export type Leg = (typeof LEGS)[number];

/** Diversion reason; `unconditional` is the « renvoi permanent / immédiat » of the contracts. */
export const FORWARD_REASONS = ['unconditional', 'busy', 'no_answer', 'unreachable'] as const;
export type ForwardReason = (typeof FORWARD_REASONS)[number];

export const LINE_TYPES = ['analog', 't0', 'sip_trunk', 'centrex_user', 'mobile'] as const;
export type LineType = (typeof LINE_TYPES)[number];

/** The voice fields a switch gives us, already validated and normalised. */
export interface CallFields {
  /** Stable identity: the switch's unique id, else a hash of the normalised fields. */
  cdrId: string;
  /** SIP account, trunk or line the call used. */
  account: string;
  /** Presented caller ID (E.164 or national short form), empty when absent. */
  caller: string;
  /** The caller ID the switch presented before a rewrite (089B → the account's number), else empty. */
  callerOriginal: string;
  /** Called number in E.164 (`+33…`) or, for short numbers (15, 3949, 118712), the dialled digits. */
  callee: string;
  /** Epoch milliseconds (UTC). */
  startMs: number;
  answerMs: number | null;
  endMs: number;
  /** Seconds from answer to end; 0 when not answered. */
  billableSeconds: number;
  disposition: Disposition;
  direction: Direction;
  leg: Leg;
  forwardReason: ForwardReason | null;
  device: string;
}

/** Who the call belongs to, from the subscriber directory. */
export interface Subscriber {
  account: string;
  clientId: string;
  siteId: string;
  userId: string;
  planId: string;
  lineType: LineType;
  /** Subscribed channels (SIP trunk); 1 for a single-user line. */
  channels: number;
  /** Declared automated calling system (R-CLI-AUTO-0ZAB). */
  automated: boolean;
  /** The subscriber's own numbers in E.164, first one is the installation number. */
  numbers: readonly string[];
}

/** A CDR ready for rating: call fields plus the resolved subscriber. */
export interface Cdr extends CallFields {
  subscriber: Subscriber;
  /** Where it came from, for explanations and rejects. */
  source: string;
  line: number;
}
