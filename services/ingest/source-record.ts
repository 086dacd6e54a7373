/**
 * The meeting point of every switch-export reader: a record still in text, with where it came from.
 * Each reader (canonical CSV, Asterisk, FreeSWITCH, CUCM, mapping profiles) fills one of these; one
 * normaliser turns it into a validated call or a reject, so every format gets the same checks.
 */

export interface SourceRecord {
  source: string;
  line: number;
  raw: string;
  /** The switch's unique id, if it has one. */
  cdrId: string;
  account: string;
  caller: string;
  callee: string;
  /** Timestamps as text: ISO 8601 with or without offset (without: read in the source zone). */
  start: string;
  answer: string;
  end: string;
  /** Integer seconds as text; empty means "compute from answer and end". */
  billableSeconds: string;
  /**
   * Whole seconds from start to end, for an export that gives a duration instead of an end time (a
   * database's Asterisk CDRs): with `end` empty, the end is the start's instant plus this, exact across a
   * change of clock, and an answered call's answer is the end minus its billable seconds.
   */
  durationSeconds?: string;
  disposition: string;
  direction: string;
  leg: string;
  forwardReason: string;
  device: string;
  /**
   * What the export itself says about where the call went: true, it stayed inside the PBX (to a phone,
   * a ring group, voicemail); false, it left toward a trunk; absent, the export does not say, and the
   * dial plan and the directory decide.
   */
  internal?: boolean;
  /** The callee is the number the trunk was given (Asterisk lastdata), without an outside-line prefix to strip. */
  calleeSent?: boolean;
  /** The caller is a phone of the PBX: its number is an extension, not one presented to the network. */
  callerInside?: boolean;
  /** ISO 3166 country of national numbers written without a country code (`--country`, default FR). */
  country?: string;
  /**
   * Where the call passed, as the export names it (Asterisk dcontext and channels, FreeSWITCH context,
   * channel and gateway, CUCM devices): what `cdr inspect` shows an operator and number rewriting keys on.
   */
  route?: CallRoute;
  /** What reading had to mend without refusing the call (a caller name decoded with replacement characters…). */
  notes?: string[];
}

export interface CallRoute {
  context?: string;
  /** The calling side's channel or device. */
  channel?: string;
  /** The called side's channel or device. */
  peerChannel?: string;
  /** The trunk or gateway the call used, when it used one. */
  trunk?: string;
}

export const REJECT_REASONS = [
  'empty_file',
  'bad_header',
  'malformed_csv',
  'column_count',
  'truncated_record',
  'missing_field',
  'missing_callee',
  'bad_time',
  'end_before_start',
  'bad_field',
  'invalid_number',
  'unknown_subscriber',
  'unknown_format',
  'unknown_plan',
  'cdr_id_conflict',
  'skipped_by_profile',
  'bad_encoding',
  'too_large',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** A record we could not use: kept whole so that it can be fixed and replayed. */
export interface Reject {
  source: string;
  /** 1-based line; 0 for a whole-file problem. */
  line: number;
  reason: RejectReason;
  /** Plain words: the field and what to do. */
  detail: string;
  /** The record as read; base64 of its bytes when `rawEncoding` says so (it was not clean UTF-8 text). */
  raw: string;
  /** Absent: `raw` is the text itself. */
  rawEncoding?: 'base64';
}

export type ReadItem = { kind: 'record'; record: SourceRecord } | { kind: 'reject'; reject: Reject };
