/**
 * A chunk's billed calls as the run's thread sends them to the ledger's writer: packed column-wise into
 * one string and three typed arrays for the whole chunk, not an array of values a call. Sent as rows,
 * the whole month's calls were 27 million values that the run's thread cloned one by one into the
 * message, that the writer thread made again as objects, and that lived just long enough to be
 * promoted: the writer spent more time collecting them than SQLite took to insert them. The typed
 * arrays are transferred (moved, not copied) and the string is copied in one piece.
 *
 * Few-valued texts (period, destination class, reason…) travel as ids in the writer's text table, so
 * the writer binds the same string every time instead of a copy per call; free texts (ids, numbers,
 * device names, amounts) travel in `strings`.
 */

/** Free texts of a call, in this order in `strings`. */
export const STRING = { cdr_id: 0, caller: 1, caller_original: 2, callee: 3, device: 4, amount: 5, shares: 6 } as const;
/** Few-valued texts of a call, as ids in the writer's text table (NO_TEXT: null). */
export const TEXT = {
  period: 0, destination_class: 1, country: 2, disposition: 3, direction: 4, leg: 5, forward_reason: 6, currency: 7, reason: 8,
  /** rated.csv's explanation and the plan calendar's zone name (its times are written in it). */
  explanation: 9, zone: 10,
} as const;
/** Numbers of a call (NaN: null); party_id and source_id are the run's refs. */
export const NUMBER = { party_id: 0, source_id: 1, start_time: 2, answer_time: 3, end_time: 4, billable_seconds: 5, in_bundle: 6, priced_seconds: 7, source_line: 8 } as const;

const STRINGS = Object.keys(STRING).length;
const TEXTS = Object.keys(TEXT).length;
const NUMBERS = Object.keys(NUMBER).length;
export const NO_TEXT = -1;

export interface RatedCalls {
  count: number;
  /** Every call's free texts, one after another. */
  strings: string;
  /** Where each free text ends in `strings`: STRINGS a call. */
  ends: Uint32Array;
  /** TEXTS ids a call. */
  texts: Int32Array;
  /** NUMBERS a call. */
  numbers: Float64Array;
}

/** The buffers to transfer with a message holding these calls. */
export function transferablesOf(calls: RatedCalls): ArrayBuffer[] {
  return [calls.ends.buffer as ArrayBuffer, calls.texts.buffer as ArrayBuffer, calls.numbers.buffer as ArrayBuffer];
}

/** Packs `count` calls, added in order (each call's strings, texts and numbers once). */
export class RatedCallsPacker {
  /** Grown call by call and flattened once, by postMessage's copy (an array of parts joined cost 2.5 s on the month). */
  private all = '';
  private readonly ends: Uint32Array;
  private readonly texts: Int32Array;
  private readonly numbers: Float64Array;
  /** Per few-valued field, the last text and its id: consecutive calls mostly repeat them, and a Map look-up a field a call cost ~0.8 s on the month. */
  private readonly lastText: (string | undefined)[] = new Array(TEXTS);
  private readonly lastId: number[] = new Array<number>(TEXTS).fill(NO_TEXT);

  /** `textId`: the id of a few-valued text in the writer's table (sent with the chunk when new). */
  constructor(
    private readonly count: number,
    private readonly textId: (text: string) => number,
  ) {
    this.ends = new Uint32Array(count * STRINGS);
    this.texts = new Int32Array(count * TEXTS);
    this.numbers = new Float64Array(count * NUMBERS);
  }

  setStrings(i: number, cdrId: string, caller: string, callerOriginal: string, callee: string, device: string, amount: string, shares: string): void {
    const at = i * STRINGS;
    this.string(at + STRING.cdr_id, cdrId);
    this.string(at + STRING.caller, caller);
    this.string(at + STRING.caller_original, callerOriginal);
    this.string(at + STRING.callee, callee);
    this.string(at + STRING.device, device);
    this.string(at + STRING.amount, amount);
    this.string(at + STRING.shares, shares);
  }

  setTexts(
    i: number, period: string, destinationClass: string, country: string, disposition: string, direction: string, leg: string,
    forwardReason: string | null, currency: string, reason: string, explanation: string, zone: string,
  ): void {
    const t = this.texts;
    const at = i * TEXTS;
    t[at + TEXT.period] = this.id(TEXT.period, period);
    t[at + TEXT.destination_class] = this.id(TEXT.destination_class, destinationClass);
    t[at + TEXT.country] = this.id(TEXT.country, country);
    t[at + TEXT.disposition] = this.id(TEXT.disposition, disposition);
    t[at + TEXT.direction] = this.id(TEXT.direction, direction);
    t[at + TEXT.leg] = this.id(TEXT.leg, leg);
    t[at + TEXT.forward_reason] = forwardReason === null ? NO_TEXT : this.id(TEXT.forward_reason, forwardReason);
    t[at + TEXT.currency] = this.id(TEXT.currency, currency);
    t[at + TEXT.reason] = this.id(TEXT.reason, reason);
    t[at + TEXT.explanation] = this.id(TEXT.explanation, explanation);
    t[at + TEXT.zone] = this.id(TEXT.zone, zone);
  }

  setNumbers(
    i: number, partyRef: number, sourceRef: number, startMs: number, answerMs: number | null, endMs: number, billableSeconds: number,
    inBundle: boolean, pricedSeconds: number, sourceLine: number,
  ): void {
    const n = this.numbers;
    const at = i * NUMBERS;
    n[at + NUMBER.party_id] = partyRef;
    n[at + NUMBER.source_id] = sourceRef;
    n[at + NUMBER.start_time] = startMs;
    n[at + NUMBER.answer_time] = answerMs ?? NaN;
    n[at + NUMBER.end_time] = endMs;
    n[at + NUMBER.billable_seconds] = billableSeconds;
    n[at + NUMBER.in_bundle] = inBundle ? 1 : 0;
    n[at + NUMBER.priced_seconds] = pricedSeconds;
    n[at + NUMBER.source_line] = sourceLine;
  }

  finish(): RatedCalls {
    return { count: this.count, strings: this.all, ends: this.ends, texts: this.texts, numbers: this.numbers };
  }

  private id(field: number, text: string): number {
    if (this.lastText[field] === text) return this.lastId[field]!;
    const id = this.textId(text);
    this.lastText[field] = text;
    this.lastId[field] = id;
    return id;
  }

  private string(index: number, value: string): void {
    this.all += value;
    this.ends[index] = this.all.length;
  }
}

/** Reads packed calls back, call by call, field by field. */
export class RatedCallsReader {
  constructor(
    readonly calls: RatedCalls,
    /** The writer's text table. */
    private readonly textTable: readonly string[],
  ) {}

  get count(): number {
    return this.calls.count;
  }

  string(i: number, field: number): string {
    const index = i * STRINGS + field;
    const ends = this.calls.ends;
    return this.calls.strings.slice(index === 0 ? 0 : ends[index - 1]!, ends[index]!);
  }

  /** A few-valued text; null where none was sent. */
  text(i: number, field: number): string | null {
    const id = this.calls.texts[i * TEXTS + field]!;
    return id === NO_TEXT ? null : this.textTable[id]!;
  }

  number(i: number, field: number): number | null {
    const v = this.calls.numbers[i * NUMBERS + field]!;
    return Number.isNaN(v) ? null : v;
  }
}
