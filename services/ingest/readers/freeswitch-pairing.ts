/**
 * Pairs the legs of FreeSWITCH calls as they are read, whatever the export: an A leg names the B leg
 * it bridged to (`bleg_uuid`, from its originatee profile), a B leg names its A leg (`originator`).
 * A CSV written with `legs=ab` has one or the other; JSON and XML documents have both. B legs that
 * failed before the one that answered (a gateway refused, the next one took the call) name the same
 * A leg: they are attempts of its call, folded into it rather than counted as calls of their own.
 *
 * Legs wait for their partner a bounded number of records (`window`), so memory does not grow with
 * the file; a call comes out at the place of its first leg, so records keep the order of the file.
 */
import type { SourceRecord } from '../source-record.js';
import { recordsOfCall, type FsLeg } from './freeswitch-legs.js';

interface Call {
  first: FsLeg;
  a?: FsLeg;
  b?: FsLeg;
  attempts: FsLeg[];
  /** Merged into another call: nothing of its own to give. */
  gone: boolean;
}

export class FsLegPairer {
  private readonly waiting: Call[] = [];
  private readonly byUuid = new Map<string, Call>();
  private readonly byBleg = new Map<string, Call>();
  private readonly byOriginator = new Map<string, Call[]>();

  /**
   * @param window how many records (by `seq`) a leg waits for its partner
   * @param holdAll keep even paired calls until the window passes or the end: for input whose order is
   *   not the switch's (files of a directory by name), so that a late failed attempt still finds its call
   */
  constructor(
    private readonly window: number,
    private readonly holdAll = false,
  ) {}

  /** Takes a leg; returns the records of the calls that are now complete, in order. */
  add(leg: FsLeg): SourceRecord[] {
    if (leg.uuid === '' && leg.bleg === '' && leg.originator === '') return [...this.due(leg.seq), leg.record];
    if (!this.joinAsB(leg) && !this.joinAsA(leg)) this.open(leg);
    return this.due(leg.seq);
  }

  /** The records of every call still waiting, in order. */
  flush(): SourceRecord[] {
    return this.due(Infinity, true);
  }

  /** The leg is a B leg (or a failed attempt) of a waiting A leg. */
  private joinAsB(leg: FsLeg): boolean {
    const byBleg = leg.uuid !== '' ? this.live(this.byBleg.get(leg.uuid)) : undefined;
    const byOriginator = leg.originator !== '' ? this.live(this.byUuid.get(leg.originator)) : undefined;
    const call = byBleg ?? byOriginator;
    if (call === undefined || call.first === leg) return false;
    const a = call.a ?? call.first;
    const awaited = a.bleg === '' || a.bleg === leg.uuid;
    if (call.b === undefined && (awaited || answered(leg))) {
      call.a = a;
      call.b = leg;
      return true;
    }
    if (!answered(leg) && leg.originator === a.uuid) {
      call.attempts.push(leg);
      return true;
    }
    return false;
  }

  /** The leg is the A leg of waiting B legs: the one it bridged to is its partner, the others attempts. */
  private joinAsA(leg: FsLeg): boolean {
    const found = new Set<Call>();
    const named = leg.bleg !== '' ? this.live(this.byUuid.get(leg.bleg)) : undefined;
    if (named !== undefined && named.b === undefined && named.first.originator !== '' && named.first.originator !== leg.uuid) {
      // The leg it names belongs to another A leg: not ours.
    } else if (named !== undefined && named.b === undefined) found.add(named);
    if (leg.uuid !== '') for (const c of this.byOriginator.get(leg.uuid) ?? []) if (!c.gone && c.b === undefined) found.add(c);
    if (found.size === 0) return false;
    const calls = [...found].sort((x, y) => x.first.seq - y.first.seq);
    const legs = calls.map((c) => c.first);
    const partner = legs.find((l) => l.uuid === leg.bleg) ?? [...legs].reverse().find(answered) ?? legs[legs.length - 1]!;
    const kept = calls[0]!;
    kept.a = leg;
    kept.b = partner;
    kept.attempts = calls.flatMap((c) => [c.first, ...c.attempts]).filter((l) => l !== partner);
    for (const c of calls.slice(1)) c.gone = true;
    // The A leg may still be named by a late failed attempt.
    this.byUuid.set(leg.uuid, kept);
    return true;
  }

  private open(leg: FsLeg): void {
    const call: Call = { first: leg, attempts: [], gone: false };
    this.waiting.push(call);
    if (leg.uuid !== '') this.byUuid.set(leg.uuid, call);
    if (leg.bleg !== '') this.byBleg.set(leg.bleg, call);
    if (leg.originator !== '') {
      const list = this.byOriginator.get(leg.originator);
      if (list === undefined) this.byOriginator.set(leg.originator, [call]);
      else list.push(call);
    }
  }

  private due(seq: number, all = false): SourceRecord[] {
    const out: SourceRecord[] = [];
    while (this.waiting.length > 0) {
      const head = this.waiting[0]!;
      if (!(all || head.gone || (head.b !== undefined && !this.holdAll) || head.first.seq <= seq - this.window)) break;
      this.waiting.shift();
      this.forget(head);
      if (head.gone) continue;
      if (head.a !== undefined && head.b !== undefined) out.push(...recordsOfCall(head.a, head.b, head.attempts));
      else if (head.attempts.length === 0) out.push(head.first.record);
      else out.push({ ...head.first.record, raw: [head.first, ...head.attempts].sort((x, y) => x.seq - y.seq).map((l) => l.raw).join('\n') });
    }
    return out;
  }

  private forget(call: Call): void {
    for (const leg of [call.first, call.a, call.b, ...call.attempts]) {
      if (leg === undefined) continue;
      if (this.byUuid.get(leg.uuid) === call) this.byUuid.delete(leg.uuid);
      if (this.byBleg.get(leg.bleg) === call) this.byBleg.delete(leg.bleg);
      const list = this.byOriginator.get(leg.originator);
      if (list !== undefined) {
        const rest = list.filter((c) => c !== call);
        if (rest.length === 0) this.byOriginator.delete(leg.originator);
        else this.byOriginator.set(leg.originator, rest);
      }
    }
  }

  private live(call: Call | undefined): Call | undefined {
    return call === undefined || call.gone ? undefined : call;
  }
}

function answered(leg: FsLeg): boolean {
  return leg.record.answer !== '';
}
