/**
 * From SIP accounting rows to calls. A proxy accounts transactions: a call is its INVITE answered (200)
 * and the BYE that ended it, found by Call-ID and the two tags (in either order: without acc's
 * detect_direction the callee's BYE has the tags swapped). acc's `timestamp` is when the final response
 * went out, so the INVITE row is the answer; acc has no ringing time, and the call starts at its answer.
 *
 * - An INVITE that failed (a code of 300 or more), or a row of missed_calls, is an unanswered call,
 *   rated at 0. Kamailio writes a failed INVITE twice (`call missed` and `transaction answered`), one
 *   after the other: the twin is folded into the same record.
 * - A row of the same dialog while it is open (a re-INVITE, an ACK, a duplicated row) belongs to the call
 *   and is kept in its raw text; after the call ended, such a row (the same file read twice, a repeated
 *   BYE) gives the call's record again, with the same cdr_id: the run counts it a duplicate.
 * - An answered INVITE whose BYE is not in the file, a BYE without its INVITE: rejected (`missing_field`)
 *   with what to turn on in Kamailio.
 *
 * Memory: the open calls (INVITEs waiting for their BYE) are held, at most `maxOpenCalls` (50,000 by
 * default: more calls than a proxy carries at once); beyond it the oldest is rejected. The ended calls
 * are remembered for duplicates, the last `rememberEnded` (50,000).
 */
import type { ReadItem, SourceRecord } from '../source-record.js';

export interface AccRow {
  line: number;
  raw: string;
  /** acc: a transaction (acc table, `transaction answered`); missed: missed_calls, `call missed`; cdr: acc_cdrs. */
  kind: 'acc' | 'missed' | 'cdr';
  method: string;
  fromTag: string;
  toTag: string;
  callId: string;
  code: string;
  reason: string;
  /** When acc wrote the row (the final response, the BYE's answer): ISO with Z, or local `YYYY-MM-DD HH:MM:SS`. */
  time: string;
  /** The row is a whole call by itself (OpenSIPS CDR, acc_cdrs); end '' means answer + billable. */
  whole?: { start: string; answer: string; end: string; billable: string };
  /** The first non-empty, non-NULL of the named attributes (core or extra). */
  attrs: { get(...names: string[]): string };
}

export interface PairingOptions {
  /** src_ip or src_domain of the trunks and gateways whose calls are inbound. */
  trunks?: RegExp;
  maxOpenCalls?: number;
  rememberEnded?: number;
}

export const DEFAULT_MAX_OPEN_CALLS = 50_000;
/** Rows kept in the raw text of one call (a call with a re-INVITE every 15 minutes has a few dozen). */
const MAX_RAW_ROWS = 50;

const ENABLE_BYE =
  'in Kamailio, account the BYE of both sides: setflag(FLT_ACC) on in-dialog BYEs (the stock kamailio.cfg does it in route[WITHINDLG]), ' +
  'with rr append_fromtag and acc detect_direction=1; if the call ended after the log was rotated, rate this file and the next one together (cat them)';

interface OpenCall {
  invite: AccRow;
  raws: string[];
  /** Rows of the call beyond MAX_RAW_ROWS, counted rather than kept. */
  more: number;
}

export class SipPairing {
  private readonly open = new Map<string, OpenCall>();
  private readonly ended = new Map<string, SourceRecord>();
  /** CANCEL and provisional rows of an INVITE not yet answered, by Call-ID and from-tag: raw text of its record. */
  private readonly early = new Map<string, { line: number; raws: string[] }>();
  /** The last unanswered record, held one row to fold its `call missed` twin into it. */
  private held: { key: string; kind: AccRow['kind']; record: SourceRecord } | null = null;
  private readonly maxOpen: number;
  private readonly maxEnded: number;

  constructor(
    private readonly source: string,
    private readonly opts: PairingOptions = {},
  ) {
    this.maxOpen = opts.maxOpenCalls ?? DEFAULT_MAX_OPEN_CALLS;
    this.maxEnded = opts.rememberEnded ?? DEFAULT_MAX_OPEN_CALLS;
  }

  /** The items a row completes (none while a call is open). */
  add(row: AccRow): ReadItem[] {
    const out: ReadItem[] = [];
    const twin = this.held;
    if (twin !== null) {
      this.held = null;
      if (row.kind !== twin.kind && row.kind !== 'cdr' && unansweredKey(row) === twin.key && row.method === 'INVITE') {
        twin.record.raw += `\n${row.raw}`;
        out.push({ kind: 'record', record: twin.record });
        return out;
      }
      out.push({ kind: 'record', record: twin.record });
    }
    const key = dialogKey(row);
    const call = this.open.get(key);
    const code = Number(row.code);
    if (row.callId === '' && row.whole === undefined) {
      out.push(this.reject(row, 'the row has no Call-ID (call_id / callid): its call cannot be found; the row is not as acc writes it', 'bad_field'));
    } else if (row.method === 'INVITE' && call === undefined && row.attrs.get('src_user', 'caller', 'from_user', 'account', 'accountcode') === '' && row.attrs.get('dst_ouser', 'dst_user', 'callee', 'to_user') === '') {
      out.push(this.reject(row, `the row names neither caller nor callee: acc writes only the transaction unless told; add them in kamailio.cfg (modparam("acc", "log_extra" or "db_extra", "src_user=$fU;src_domain=$fd;src_ip=$si;dst_ouser=$tU;dst_user=$rU")) and export again`));
    } else if (row.whole !== undefined) {
      out.push(this.whole(row));
    } else if (call !== undefined && !(row.method === 'BYE')) {
      // In the dialog: a re-INVITE, an UPDATE, its ACK, or the same row again.
      if (call.raws.length < MAX_RAW_ROWS) call.raws.push(row.raw);
      else call.more++;
    } else if (row.method === 'INVITE' && row.code.startsWith('2')) {
      const again = this.ended.get(key);
      if (again !== undefined) out.push(this.copy(again, row));
      else out.push(...this.openCall(key, row));
    } else if (row.method === 'INVITE' && code >= 300 && code <= 699) {
      this.held = { key: unansweredKey(row), kind: row.kind, record: this.unanswered(row, code) };
    } else if (row.method === 'BYE') {
      if (call !== undefined) {
        this.open.delete(key);
        const record = this.answered(call, row);
        this.remember(key, record);
        out.push({ kind: 'record', record });
      } else {
        const again = this.ended.get(key);
        out.push(again !== undefined ? this.copy(again, row) : this.reject(row, `a BYE (Call-ID ${row.callId}) whose INVITE is not in the file: the call cannot be billed without its answer; ${ENABLE_BYE}`));
      }
    } else if (row.method === 'CANCEL' || (row.method === 'INVITE' && code >= 100 && code < 200)) {
      // Accounted CANCELs (report_cancels) and early media (early_media) go with the INVITE's final row.
      const k = earlyKey(row);
      const early = this.early.get(k) ?? { line: row.line, raws: [] };
      if (early.raws.length < MAX_RAW_ROWS) early.raws.push(row.raw);
      this.early.set(k, early);
      if (this.early.size > this.maxOpen) out.push(this.dropOldestEarly());
    } else if (this.ended.has(key)) {
      out.push(this.copy(this.ended.get(key)!, row));
    } else if (row.method === 'INVITE') {
      out.push(this.reject(row, `sip_code "${row.code}" of an INVITE is not a SIP status (100-699); the row is not as acc writes it`, 'bad_field'));
    } else {
      out.push(this.reject(row, `a ${row.method || 'row without method'} outside any call of the file: only INVITE and BYE make calls; leave the acc flags off for ${row.method || 'it'} in kamailio.cfg, or add the file that holds its call`, 'bad_field'));
    }
    return out;
  }

  /** What is left at the end of the file: the calls whose BYE never came, rejected. */
  end(): ReadItem[] {
    const out: ReadItem[] = [];
    if (this.held !== null) out.push({ kind: 'record', record: this.held.record });
    this.held = null;
    for (const call of this.open.values()) out.push(this.unpaired(call, 'no BYE for it in the file'));
    this.open.clear();
    for (const e of this.early.values()) out.push(this.earlyReject(e));
    this.early.clear();
    return out;
  }

  private openCall(key: string, row: AccRow): ReadItem[] {
    const early = this.early.get(earlyKey(row));
    this.early.delete(earlyKey(row));
    this.open.set(key, { invite: row, raws: [...(early?.raws ?? []), row.raw], more: 0 });
    if (this.open.size <= this.maxOpen) return [];
    const [oldestKey, oldest] = this.open.entries().next().value as [string, OpenCall];
    this.open.delete(oldestKey);
    return [this.unpaired(oldest, `more than ${this.maxOpen} calls were open at once when it was read (the limit of open calls held in memory)`)];
  }

  private answered(call: OpenCall, bye: AccRow): SourceRecord {
    const inv = call.invite;
    return {
      ...this.parties(inv),
      source: this.source,
      line: inv.line,
      raw: [...call.raws, ...(call.more > 0 ? [`(${call.more} more rows of this call)`] : []), bye.raw].join('\n'),
      cdrId: `${inv.callId};${inv.fromTag};${inv.toTag}`,
      start: inv.time,
      answer: inv.time,
      end: bye.time,
      billableSeconds: '',
      disposition: 'answered',
    };
  }

  private unanswered(row: AccRow, code: number): SourceRecord {
    const early = this.early.get(earlyKey(row));
    this.early.delete(earlyKey(row));
    return {
      ...this.parties(row),
      source: this.source,
      line: early?.line ?? row.line,
      raw: [...(early?.raws ?? []), row.raw].join('\n'),
      cdrId: unansweredKey(row),
      start: row.time,
      answer: '',
      end: row.time,
      billableSeconds: '',
      disposition: dispositionOf(code),
    };
  }

  private whole(row: AccRow): ReadItem {
    const w = row.whole!;
    const answered = w.answer !== '';
    const id = row.callId !== '' ? `${row.callId};${row.fromTag}${row.toTag !== '' ? `;${row.toTag}` : ''}` : row.attrs.get('id') !== '' ? `acc_cdrs#${row.attrs.get('id')}` : '';
    const record: SourceRecord = {
      ...this.parties(row),
      source: this.source,
      line: row.line,
      raw: row.raw,
      cdrId: id,
      start: w.start,
      answer: w.answer,
      end: w.end !== '' ? w.end : plusSeconds(w.answer, Number(w.billable)),
      billableSeconds: answered ? w.billable : '',
      disposition: answered ? 'answered' : row.code !== '' && Number(row.code) >= 300 ? dispositionOf(Number(row.code)) : 'no_answer',
    };
    if (row.callId !== '') this.remember(dialogKey(row), record);
    return { kind: 'record', record };
  }

  /** Caller, callee, account and direction, from the row of the INVITE. */
  private parties(row: AccRow): Omit<SourceRecord, 'source' | 'line' | 'raw' | 'cdrId' | 'start' | 'answer' | 'end' | 'billableSeconds' | 'disposition'> {
    const a = row.attrs;
    const caller = a.get('src_user', 'caller', 'from_user');
    const callee = a.get('dst_ouser', 'dst_user', 'callee', 'to_user');
    const inbound = this.opts.trunks !== undefined && [a.get('src_ip'), a.get('src_domain')].some((v) => v !== '' && this.opts.trunks!.test(v));
    return {
      // Inbound: the subscriber of the number called (the normaliser finds it); outbound: the authenticated user.
      account: inbound ? a.get('account', 'accountcode') : a.get('account', 'accountcode', 'src_user', 'from_user'),
      caller,
      callee,
      direction: inbound ? 'in' : 'out',
      leg: '',
      forwardReason: '',
      device: a.get('user_agent', 'src_ip'),
    };
  }

  private copy(record: SourceRecord, row: AccRow): ReadItem {
    return { kind: 'record', record: { ...record, line: row.line, raw: row.raw } };
  }

  private remember(key: string, record: SourceRecord): void {
    this.ended.set(key, record);
    if (this.ended.size > this.maxEnded) this.ended.delete(this.ended.keys().next().value as string);
  }

  private unpaired(call: OpenCall, why: string): ReadItem {
    const i = call.invite;
    const detail =
      `an answered INVITE (Call-ID ${i.callId}, from ${i.attrs.get('src_user') || '?'} to ${i.attrs.get('dst_ouser', 'dst_user') || '?'}, answered ${i.time}) whose end is not known: ${why}; ` +
      `the call is not billed rather than billed for a guessed length; ${ENABLE_BYE}`;
    return { kind: 'reject', reject: { source: this.source, line: i.line, reason: 'missing_field', detail, raw: call.raws.join('\n') } };
  }

  private earlyReject(e: { line: number; raws: string[] }): ReadItem {
    const detail = 'a CANCEL or provisional (1xx) row whose INVITE has no final row in the file: the call cannot be told answered or not; rate it with the file that holds the rest of the call';
    return { kind: 'reject', reject: { source: this.source, line: e.line, reason: 'missing_field', detail, raw: e.raws.join('\n') } };
  }

  private dropOldestEarly(): ReadItem {
    const [k, e] = this.early.entries().next().value as [string, { line: number; raws: string[] }];
    this.early.delete(k);
    return this.earlyReject(e);
  }

  private reject(row: AccRow, detail: string, reason: 'missing_field' | 'bad_field' = 'missing_field'): ReadItem {
    return { kind: 'reject', reject: { source: this.source, line: row.line, reason, detail, raw: row.raw } };
  }
}

/** SIP final responses of an unanswered INVITE, as a disposition. */
export function dispositionOf(code: number): string {
  if (code === 486 || code === 600) return 'busy';
  if (code === 603) return 'rejected';
  if (code === 408 || code === 480 || code === 487) return 'no_answer';
  return 'failed';
}

/** The dialog: Call-ID and both tags, whichever side sent the row. */
function dialogKey(row: AccRow): string {
  const [a, b] = row.fromTag < row.toTag ? [row.fromTag, row.toTag] : [row.toTag, row.fromTag];
  return `${row.callId}\n${a}\n${b}`;
}

/** An unanswered INVITE: one per final response (a 407 challenge and the call that followed differ). */
function unansweredKey(row: AccRow): string {
  return `${row.callId};${row.fromTag};${row.code}`;
}

function earlyKey(row: AccRow): string {
  return `${row.callId}\n${row.fromTag}`;
}

/** A time text plus whole seconds, in the same form (ISO with Z, or wall clock `YYYY-MM-DD HH:MM:SS`). */
function plusSeconds(time: string, seconds: number): string {
  if (!Number.isFinite(seconds)) return time;
  const wall = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(time);
  const ms = Date.parse(wall ? `${time.replace(' ', 'T')}Z` : time);
  if (Number.isNaN(ms)) return time;
  const iso = new Date(ms + seconds * 1000).toISOString().replace('.000Z', 'Z');
  return wall ? iso.slice(0, 19).replace('T', ' ') : iso;
}
