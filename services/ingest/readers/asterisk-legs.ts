/**
 * Turns the cdr_csv records of one call (one linkedid, or one Local channel pair) into the legs to bill.
 *
 * - Local channel halves: a record whose far end is `Local/X;1` and the record of `Local/X;2` describe
 *   one hop through the dialplan. When the `;2` record reaches a trunk, it is the leg and the `;1` record
 *   is folded into it; the leg is `forwarded` when the near record was an inbound call or was for another
 *   number (follow-me or call forwarding to an outside number), its caller then the forwarding line.
 *   When it reaches a phone, voicemail or a queue (a ring group, a queue, a follow-me ringing internal
 *   phones), the hop is no forwarding: the `;2` records are folded into the near record, which stays the
 *   one leg of the call (inbound, or internal).
 * - Originate (AMI, call files): `Local/X;1` rings the first party, `Local/X;2` runs the dialplan to the
 *   destination, and no record dials `Local/X;1`. The `;2` record is the leg, charged to the phone the
 *   `;1` half rang.
 * - Transfers: a record whose own channel was already an external party of the call (the far end of an
 *   earlier outbound record, or the caller of an earlier inbound record) connects that party to a new
 *   destination, which only a transfer does: it is `transferred`, charged to the account of the record
 *   that handed the party over, with that party's line as caller. A new call from the transferring user
 *   (the consultation call) starts from the user's own channel and stays `originating`.
 *
 * Each record also says whether the call stayed inside the PBX (`internal`): it left when its far end is
 * a trunk or a Dial() handed a number to one; it stayed inside when its far end is a phone, a Local hop
 * that reached no trunk, or a PBX application (voicemail, queue, conference…).
 *
 * Linear in the number of records: a conference or a call centre's linkedid can hold thousands.
 */
import { createHash } from 'node:crypto';
import type { SourceRecord } from '../source-record.js';
import type { AsteriskRow } from './asterisk-csv.js';
import { PBX_APPLICATIONS, channelKey, wallMs, deviceOf, dialTarget, isLocal, isTrunkChannel, localHalf, numberFromClid, peerOf } from './asterisk-channels.js';

/** Fields the account is read from, in a configurable order: `channel` is the calling phone's peer name. */
export type AccountSource = 'accountcode' | 'channel' | 'src';
export const ACCOUNT_SOURCES: readonly AccountSource[] = ['accountcode', 'channel', 'src'];

export interface LegRules {
  inbound: RegExp;
  trunks: RegExp;
  accountFrom: readonly AccountSource[];
}

const DISPOSITIONS: Record<string, string> = {
  ANSWERED: 'answered',
  'NO ANSWER': 'no_answer',
  BUSY: 'busy',
  FAILED: 'failed',
  CONGESTION: 'failed',
};

type Reach = 'trunk' | 'inside' | 'unknown';

export function resolveAsteriskGroup(source: string, rows: AsteriskRow[], rules: LegRules): SourceRecord[] {
  if (rows.length === 1) return resolveLegs(source, rows, rules);
  // A record written twice (a file appended to itself, an export concatenated with a re-export) is one
  // record: the legs are made of the first copy, and each later copy comes out as a copy of the leg that
  // holds it, with that leg's cdr_id, so that it is counted as a duplicate and bills nothing.
  const first = new Map<string, AsteriskRow>();
  const repeats: AsteriskRow[] = [];
  for (const r of rows) {
    if (first.has(r.raw)) repeats.push(r);
    else first.set(r.raw, r);
  }
  const legs = resolveLegs(source, repeats.length === 0 ? rows : [...first.values()], rules);
  for (const r of repeats) {
    const holder = legs.find((l) => l.raw.split('\n').includes(r.raw));
    legs.push(holder === undefined ? resolveLegs(source, [r], rules)[0]! : { ...holder, line: r.line, raw: r.raw });
  }
  return legs;
}

function resolveLegs(source: string, rows: AsteriskRow[], rules: LegRules): SourceRecord[] {
  const ordered = rows.length === 1 ? rows : [...rows].sort((a, b) => (a.sequence ?? a.line) - (b.sequence ?? b.line) || a.line - b.line);
  const isInbound = (r: AsteriskRow): boolean => rules.inbound.test(r.dcontext) || isTrunkChannel(r.channel, rules.trunks);

  // Local halves by base name: the `;2` records, the `;1` records, and the records that dial `;1`.
  const farHalves = new Map<string, AsteriskRow[]>();
  const firstHalf = new Map<string, AsteriskRow>();
  const dialsLocal = new Set<string>();
  for (const r of ordered) {
    const own = localHalf(r.channel);
    if (own?.half === '2') push(farHalves, own.base, r);
    if (own?.half === '1' && !firstHalf.has(own.base)) firstHalf.set(own.base, r);
    const far = localHalf(r.dstchannel);
    if (far?.half === '1') dialsLocal.add(far.base);
  }

  // Where a record's call went: a trunk, somewhere inside, or the export does not say.
  const reachMemo = new Map<AsteriskRow, Reach>();
  const reach = (r: AsteriskRow, depth = 0): Reach => {
    const known = reachMemo.get(r);
    if (known !== undefined) return known;
    let result: Reach = 'unknown';
    const dial = dialTarget(r.lastapp, r.lastdata);
    const far = localHalf(r.dstchannel);
    if (isTrunkChannel(r.dstchannel, rules.trunks) || (dial !== null && (dial.number !== '' || (dial.device !== '' && rules.trunks.test(dial.device))))) result = 'trunk';
    else if (far !== null) {
      const halves = farHalves.get(far.base) ?? [];
      const reaches = depth > 8 ? [] : halves.filter((h) => h !== r).map((h) => reach(h, depth + 1));
      result = reaches.includes('trunk') ? 'trunk' : reaches.length > 0 || far.half === '1' ? 'inside' : 'unknown';
    } else if (r.dstchannel !== '' && !isLocal(r.dstchannel)) result = 'inside';
    else if (dial !== null && dial.device !== '') result = 'inside';
    else if (r.dstchannel === '' && PBX_APPLICATIONS.test(r.lastapp.trim())) result = 'inside';
    reachMemo.set(r, result);
    return result;
  };

  // Local hops: a `;2` record reaching a trunk is the leg (its near record folded into it); otherwise
  // the `;2` records are folded into the near record.
  const nearOf = new Map<AsteriskRow, AsteriskRow>();
  const folded = new Set<AsteriskRow>();
  const extraRaw = new Map<AsteriskRow, AsteriskRow[]>();
  const reachedPhone = new Map<AsteriskRow, AsteriskRow>();
  const nearTaken = new Set<AsteriskRow>();
  for (const r of ordered) {
    const h = localHalf(r.dstchannel);
    if (h?.half !== '1') continue;
    for (const far of farHalves.get(h.base) ?? []) {
      if (far === r || nearOf.has(far) || folded.has(far)) continue;
      if (reach(far) === 'trunk' && !nearTaken.has(r)) {
        nearOf.set(far, r);
        nearTaken.add(r);
        folded.add(r);
      } else if (reach(far) !== 'trunk') {
        folded.add(far);
        push(extraRaw, r, far);
        if (!reachedPhone.has(r) || (far.disposition.toUpperCase() === 'ANSWERED' && reachedPhone.get(r)!.disposition.toUpperCase() !== 'ANSWERED')) reachedPhone.set(r, far);
      }
    }
  }
  // Originate halves, when nothing dialled `;1`: the half that reaches a trunk is the leg (else `;2`),
  // the other one rang the phone that asked for the call.
  const originatedBy = new Map<AsteriskRow, AsteriskRow>();
  for (const [base, halves] of farHalves) {
    const first = firstHalf.get(base);
    if (first === undefined || dialsLocal.has(base) || folded.has(first)) continue;
    const far = halves.find((h) => !nearOf.has(h) && !folded.has(h));
    if (far === undefined) continue;
    const [leg, starter] = reach(first) === 'trunk' && reach(far) !== 'trunk' ? [first, far] : [far, first];
    originatedBy.set(leg, starter);
    folded.add(starter);
  }
  // A ring group or queue dials one Local channel per member, each from its own record of the same
  // channel and number: those records are one call, kept once (the answered one).
  const kept = new Map<string, AsteriskRow>();
  for (const r of ordered) {
    if (!reachedPhone.has(r) || folded.has(r)) continue;
    const key = `${channelKey(r.channel)}|${r.dst}`;
    const first = kept.get(key);
    if (first === undefined) {
      kept.set(key, r);
      continue;
    }
    const [keep, drop] = r.disposition.toUpperCase() === 'ANSWERED' && first.disposition.toUpperCase() !== 'ANSWERED' ? [r, first] : [first, r];
    folded.add(drop);
    push(extraRaw, keep, drop, ...(extraRaw.get(drop) ?? []));
    kept.set(key, keep);
  }

  // Transfers, found in one pass: the latest earlier record that made a channel an external party.
  const externalParty = new Map<string, { row: AsteriskRow; line: string }>();

  const out: SourceRecord[] = [];
  /** The record billed for each row of a chain, for the rows that continue its call. */
  const recordOfRow = new Map<AsteriskRow, SourceRecord>();
  for (const row of ordered) {
    const handedOver = folded.has(row) ? undefined : transferorOf(row, externalParty);
    const continued = folded.has(row) ? undefined : outsidePartyKept(row, externalParty, isInbound, reach, (c) => isTrunkChannel(c, rules.trunks));
    const held = continued === undefined ? undefined : recordOfRow.get(continued);
    if (held !== undefined) {
      // The party is still the one that call reached: it is not made a party of this record.
      holdTrunkLonger(held, row);
      continue;
    }
    noteExternalParty(row, isInbound, reach, externalParty);
    if (folded.has(row)) continue;

    const chain: AsteriskRow[] = [row];
    for (let n = nearOf.get(row); n !== undefined && !chain.includes(n); n = nearOf.get(n)) chain.push(n);
    const origin = chain[chain.length - 1]!;
    const starter = originatedBy.get(row);
    const goesOut = reach(row) === 'trunk';
    const dial = goesOut ? dialTarget(row.lastapp, row.lastdata) : null;
    const sent = dial !== null && dial.number !== '' ? dial.number : '';

    let leg = 'originating';
    let direction = isInbound(row) ? 'in' : 'out';
    let account = accountOf(row, direction === 'in', rules, reachedPhone.get(row));
    let caller = row.src || numberFromClid(row.clid);
    let callerInside = direction === 'out' && !isLocal(row.channel) && !isTrunkChannel(row.channel, rules.trunks);

    if (origin !== row) {
      const originInbound = isInbound(origin);
      account ||= accountOf(origin, originInbound, rules, undefined);
      if (!caller) {
        caller = origin.src || numberFromClid(origin.clid);
        callerInside = !originInbound && !isTrunkChannel(origin.channel, rules.trunks);
      }
      direction = 'out';
      if (originInbound || !sameNumber(origin.dst, sent || row.dst)) {
        leg = 'forwarded';
        caller = origin.dst || caller;
        callerInside = false;
      } else if (hasTransferMark(row) || hasTransferMark(origin)) {
        leg = 'transferred';
      } else {
        callerInside = !originInbound && !isTrunkChannel(origin.channel, rules.trunks);
      }
    } else if (starter !== undefined) {
      // Click-to-call: the phone the first half rang is the one calling.
      account ||= rules.accountFrom.includes('channel') ? peerOf(starter.dstchannel) || starter.accountcode : starter.accountcode;
      caller = caller || starter.dst;
      callerInside = true;
      direction = 'out';
    } else if (handedOver !== undefined || hasTransferMark(row)) {
      leg = 'transferred';
      direction = 'out';
      if (handedOver !== undefined) {
        // The user who handed the party over pays, not the phone or trunk the party now talks to.
        account = row.accountcode || accountOf(handedOver.row, isInbound(handedOver.row), rules, undefined);
        caller = handedOver.line || caller;
        callerInside = false;
      }
      account ||= ordered[0]!.accountcode;
    }

    const lines = [...chain, ...(starter ? [starter] : []), ...(extraRaw.get(row) ?? [])].sort((a, b) => a.line - b.line);
    const record: SourceRecord = {
      source,
      line: row.line,
      raw: lines.map((r) => r.raw).join('\n'),
      cdrId: recordId(row),
      account,
      caller,
      // An inbound call is for the number the network called: FreePBX logs it as `did`, dst being where the dialplan sent it.
      callee: sent || (direction === 'in' && row.did !== undefined ? row.did : row.dst),
      start: row.start,
      answer: row.answer,
      end: row.end,
      billableSeconds: row.billsec,
      disposition: DISPOSITIONS[row.disposition.toUpperCase()] ?? row.disposition,
      direction,
      leg,
      forwardReason: '',
      device: deviceOf(row.channel) || (starter ? deviceOf(starter.dstchannel) : ''),
      route: { context: row.dcontext, channel: row.channel, peerChannel: row.dstchannel, ...(trunkOf(row, rules) ? { trunk: trunkOf(row, rules) } : {}) },
    };
    if (row.end === '') record.durationSeconds = row.duration;
    const notes = lines.flatMap((r) => r.notes ?? []);
    if (notes.length > 0) record.notes = [...new Set(notes)];
    if (direction === 'out') {
      // A forwarded leg reaches a trunk by construction; a transfer may hand the caller to another phone.
      const where = leg === 'forwarded' ? 'trunk' : reach(row);
      if (where !== 'unknown') record.internal = where === 'inside';
      if (sent !== '') record.calleeSent = true;
      if (callerInside) record.callerInside = true;
    }
    out.push(record);
    for (const r of chain) recordOfRow.set(r, record);
  }
  return out;
}

/**
 * The outbound record whose outside party `row` still talks to, when `row` reached no other trunk: the
 * party was transferred to a phone (its channel is `row`'s own) or parked and picked up (its channel is
 * `row`'s far end). The trunk stays held meanwhile, and the carrier bills it: the time is that call's.
 */
function outsidePartyKept(
  row: AsteriskRow,
  externalParty: Map<string, { row: AsteriskRow; line: string }>,
  isInbound: (r: AsteriskRow) => boolean,
  reach: (r: AsteriskRow) => Reach,
  isTrunk: (channel: string) => boolean,
): AsteriskRow | undefined {
  const own = externalParty.get(channelKey(row.channel));
  if (own !== undefined && !isInbound(own.row) && reach(row) !== 'trunk') return own.row;
  // Picked up from the park by another phone: a phone's record whose far end is the party's channel.
  const far = row.dstchannel === '' ? undefined : externalParty.get(channelKey(row.dstchannel));
  if (far === undefined || isInbound(far.row) || isTrunk(row.channel) || channelKey(row.channel) === channelKey(far.row.channel)) return undefined;
  return far.row;
}

/** Adds the time a later record kept the outside party on the trunk to the call that reached it. */
function holdTrunkLonger(record: SourceRecord, row: AsteriskRow): void {
  record.billableSeconds = String(Number(record.billableSeconds) + Number(row.billsec));
  if (record.durationSeconds !== undefined) {
    const endMs = Math.max(wallMs(record.start) + Number(record.durationSeconds) * 1000, wallMs(row.start) + Number(row.duration) * 1000);
    record.durationSeconds = String(Math.round((endMs - wallMs(record.start)) / 1000));
  } else if (row.end > record.end) {
    record.end = row.end;
  }
  record.raw = `${record.raw}\n${row.raw}`;
  record.notes = [...(record.notes ?? []), `outside party kept on the trunk after a transfer or park: line ${row.line}, ${row.billsec} s billed with this call`];
}


/**
 * A record's identity. Asterisk gives a CDR a uniqueid per channel, not per record: a channel that
 * dials a first trunk (FAILED) and then a second (ANSWERED), or rings busy then goes to voicemail,
 * leaves several records with one uniqueid. With the `sequence` of newcdrcolumns (and its linkedid) the
 * pair is unique; without it, the record's own content tells a record of the same channel from the
 * same record exported twice, in any export of it (Master.csv, a table export, a dump: the fields
 * hashed are the ones every export writes alike).
 */
function recordId(row: AsteriskRow): string {
  const own = row.uniqueid || row.linkedid;
  if (own === '') return '';
  if (row.sequence !== null && row.linkedid !== '') return `${own}#${row.sequence}`;
  const content = [row.start.replace('T', ' '), row.duration, row.billsec, row.src, row.dst, row.dcontext, row.channel, row.dstchannel, row.lastapp, row.lastdata, row.disposition].join('\u0001');
  return `${own}#${createHash('sha256').update(content).digest('base64url').slice(0, 12)}`;
}

/** The trunk a record's call used: its own channel when it came from one, else its far end when that is one. */
function trunkOf(row: AsteriskRow, rules: LegRules): string {
  if (isTrunkChannel(row.channel, rules.trunks)) return deviceOf(row.channel);
  if (isTrunkChannel(row.dstchannel, rules.trunks)) return deviceOf(row.dstchannel);
  const dial = dialTarget(row.lastapp, row.lastdata);
  return dial !== null && dial.device !== '' && (dial.number !== '' || rules.trunks.test(dial.device)) ? dial.device : '';
}

/** The account of a record, from the fields in the configured order; an inbound call belongs to the phone it reached. */
function accountOf(row: AsteriskRow, inbound: boolean, rules: LegRules, reached: AsteriskRow | undefined): string {
  for (const from of rules.accountFrom) {
    let v = '';
    if (from === 'accountcode') v = row.accountcode;
    else if (from === 'channel') {
      const phone = inbound ? (reached?.dstchannel ?? row.dstchannel) : row.channel;
      v = isLocal(phone) || isTrunkChannel(phone, rules.trunks) ? '' : peerOf(phone);
    } else if (!inbound && !/^\+?\d{7,}$/.test(row.src)) v = row.src; // a full number is matched on the subscribers' numbers instead
    if (v !== '') return v;
  }
  return '';
}

/** The record that made `row.channel` an external party of the call, and the line of the user who handed it over. */
function transferorOf(row: AsteriskRow, externalParty: Map<string, { row: AsteriskRow; line: string }>): { row: AsteriskRow; line: string } | undefined {
  const key = channelKey(row.channel);
  if (key === '' || localHalf(row.channel) !== null) return undefined;
  return externalParty.get(key);
}

function noteExternalParty(e: AsteriskRow, isInbound: (r: AsteriskRow) => boolean, reach: (r: AsteriskRow) => Reach, externalParty: Map<string, { row: AsteriskRow; line: string }>): void {
  if (isInbound(e)) {
    const key = channelKey(e.channel);
    if (key !== '') externalParty.set(key, { row: e, line: e.dst });
  } else if (isExternalNumber(e.dst) && e.dstchannel !== '' && reach(e) === 'trunk') {
    externalParty.set(channelKey(e.dstchannel), { row: e, line: e.src || numberFromClid(e.clid) });
  }
}

/** Transfer traces that Asterisk ≤ 11 leaves on the record itself. */
function hasTransferMark(row: AsteriskRow): boolean {
  return /<(ZOMBIE|MASQ)>/i.test(row.channel) || /<(ZOMBIE|MASQ)>/i.test(row.dstchannel) || /^Transferred\//i.test(row.channel) || /transfer/i.test(row.lastapp);
}

/** The same line written with or without a trunk prefix or country code (0612…, 00612…, +33612…). */
function sameNumber(a: string, b: string): boolean {
  const x = a.replace(/\D/g, '');
  const y = b.replace(/\D/g, '');
  if (x.length >= 9 && y.length >= 9) return x.slice(-9) === y.slice(-9);
  return x === y;
}

/** Extensions are short; a number of 8 digits or more is reached through a trunk, i.e. someone outside. */
function isExternalNumber(n: string): boolean {
  return n.replace(/\D/g, '').length >= 8;
}

function push<K, V>(map: Map<K, V[]>, key: K, ...values: V[]): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [...values]);
  else list.push(...values);
}
